"""The architecture graph of a synthesized stack: the data flow between its resources.

Computed from the template, so the picture cannot drift from what is deployed. Nodes are the
resources that hold or move data (:data:`SERVICES`); IAM roles and policies, keys, log groups
and alarms are not drawn as nodes but read for what they say about the flow: a policy that
lets a function ``sqs:SendMessage`` to a queue is an edge function -> queue, an alarm is a
dotted edge from the resource it watches to the topic it notifies. Edges:

- S3 -> EventBridge rule (an ``aws.s3`` pattern naming the bucket), event bus -> rule (a
  rule on a bus of the stack, or on the default bus fed by whoever may ``events:PutEvents``
  there), rule -> each target, schedule -> its target;
- topic -> each subscription's endpoint (queue, function, delivery stream);
- event source mapping source (queue, stream, table stream) -> function; event-invoke
  destinations; pipe source -> pipe -> enrichment / target; Firehose source -> delivery
  stream -> destination (and its transform function); state machine -> every resource its
  definition names (the services its tasks call); REST API -> its integrations;
- function -> what its environment names, and what its role may write to;
- failure paths (dashed): queue redrive, function DLQs and on-failure destinations, rule,
  schedule and subscription DLQs.

Resources are grouped into clusters by the first segment of their construct path (the
construct under the stack that created them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from analytics_orchestration.diagrams.model import Cluster, Edge, EdgeKind, Graph, Node
from analytics_orchestration.diagrams.source import StackTemplate

#: Resource types drawn as nodes -> the service name shown under their label.
SERVICES: dict[str, str] = {
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::Events::EventBus": "EventBridge bus",
    "AWS::Events::ApiDestination": "API destination",
    "AWS::Scheduler::Schedule": "Scheduler schedule",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::DynamoDB::GlobalTable": "DynamoDB table",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::Kinesis::Stream": "Kinesis stream",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose stream",
    "AWS::Pipes::Pipe": "EventBridge pipe",
    "AWS::StepFunctions::StateMachine": "Step Functions",
    "AWS::ApiGateway::RestApi": "API Gateway",
    "AWS::Athena::WorkGroup": "Athena workgroup",
    "AWS::Glue::Job": "Glue job",
    "AWS::Glue::Crawler": "Glue crawler",
    "AWS::Glue::Database": "Glue database",
    "AWS::Glue::Table": "Glue table",
    "AWS::RedshiftServerless::Workgroup": "Redshift workgroup",
    "AWS::RedshiftServerless::Namespace": "Redshift namespace",
    "AWS::Redshift::Cluster": "Redshift cluster",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::Batch::JobQueue": "Batch job queue",
    "AWS::Batch::JobDefinition": "Batch job definition",
    "AWS::EMRServerless::Application": "EMR Serverless",
    "AWS::MSK::ServerlessCluster": "MSK Serverless",
    "AWS::MSK::Cluster": "MSK cluster",
    "AWS::OpenSearchServerless::Collection": "OpenSearch collection",
    "AWS::OpenSearchService::Domain": "OpenSearch domain",
    "AWS::OSIS::Pipeline": "OpenSearch Ingestion",
    "AWS::MWAA::Environment": "MWAA environment",
    "AWS::ECS::Service": "ECS service",
    "AWS::ECS::TaskDefinition": "ECS task",
    "AWS::SageMaker::Model": "SageMaker model",
}

DEFAULT_BUS = "default-event-bus"
"""The node standing for the account's default event bus (not a resource of the stack)."""

#: Properties naming the role a resource acts as (its IAM policies' actions are its own).
ROLE_PROPERTIES = ("Role", "RoleArn", "ExecutionRoleArn", "ServiceRole", "JobRoleArn",
                   "ExecutionRole", "TaskRoleArn", "ServiceAccessRole")

#: IAM actions that move data from the role's owner into the resource they name.
WRITE_ACTIONS = frozenset({
    "events:putevents", "sqs:sendmessage", "sns:publish", "s3:putobject",
    "dynamodb:putitem", "dynamodb:updateitem", "dynamodb:batchwriteitem",
    "firehose:putrecord", "firehose:putrecordbatch", "kinesis:putrecord",
    "kinesis:putrecords", "states:startexecution", "lambda:invokefunction",
})

#: Construct paths of resources the CDK adds for itself (custom-resource providers, log
#: retention, bucket deployment): plumbing, not the user's data flow.
_FRAMEWORK_PATH = re.compile(
    r"(^|/)(Custom::|AWS[0-9a-f]{32}|LogRetention[0-9a-f]{32}|BucketNotificationsHandler"
    r"|framework-(onEvent|isComplete|onTimeout)|waiter-state-machine)")
_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")
_SUB_REF = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def refs(value: Any) -> set[str]:
    """The logical ids ``value`` refers to through ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub``."""
    found: set[str] = set()
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if len(item) == 1:
                (key, arg), = item.items()
                if key == "Ref" and isinstance(arg, str):
                    if not arg.startswith("AWS::"):
                        found.add(arg)
                    continue
                if key == "Fn::GetAtt":
                    target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                    if isinstance(target, str):
                        found.add(target)
                    continue
                if key == "Fn::Sub":
                    text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
                    if isinstance(text, str):
                        found.update(_SUB_REF.findall(text))
                        found.difference_update(variables if isinstance(variables, Mapping)
                                                else ())
                    stack.append(variables)
                    continue
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def strings(value: Any) -> Iterator[str]:
    """Every literal string inside ``value`` (the pieces of a ``Fn::Join`` included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def is_framework(stack: StackTemplate, logical_id: str) -> bool:
    """Whether a resource is CDK plumbing (a custom-resource provider, log retention...)."""
    return bool(_FRAMEWORK_PATH.search(stack.path(logical_id))) or bool(
        _FRAMEWORK_PATH.search(logical_id))


def label_and_cluster(stack: StackTemplate, logical_id: str) -> tuple[str, str | None]:
    """A node's label (its construct's name) and cluster (the top-level construct)."""
    parts = [p for p in stack.path(logical_id).split("/") if p]
    while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
        parts.pop()
    if len(parts) == 1 and parts[0] == logical_id:
        return _HASH_SUFFIX.sub("", logical_id) or logical_id, None
    label = parts[-1] if len(parts) < 3 else "/".join(parts[1:])
    return label, (parts[0] if len(parts) > 1 else None)


class _Extractor:
    """One pass over a template building its :class:`Graph`."""

    def __init__(self, stack: StackTemplate) -> None:
        self.stack = stack
        self.resources = stack.resources
        self.graph = Graph(name=stack.name)
        self.log_buckets = self._access_log_buckets()
        self.owners = self._role_owners()

    # -- nodes -----------------------------------------------------------------------------

    def is_node(self, logical_id: str) -> bool:
        return logical_id in self.graph.nodes

    def build(self) -> Graph:
        for logical_id, resource in self.resources.items():
            service = SERVICES.get(str(resource.get("Type")))
            if (service is None or logical_id in self.log_buckets
                    or is_framework(self.stack, logical_id)):
                continue
            label, cluster = label_and_cluster(self.stack, logical_id)
            if cluster is not None and cluster not in self.graph.clusters:
                self.graph.clusters[cluster] = Cluster(id=cluster, label=cluster)
            detail = service
            schedule = resource.get("Properties", {}).get("ScheduleExpression")
            if isinstance(schedule, str):
                detail = f"{service}, {schedule}"
            self.graph.add_node(Node(id=logical_id, label=label, kind=str(resource["Type"]),
                                     cluster=cluster, detail=detail))
        for logical_id, node in list(self.graph.nodes.items()):
            # A construct's own resource (``Pipe/Resource``) joins its children's cluster.
            if node.cluster is None and logical_id != DEFAULT_BUS and \
                    node.label in self.graph.clusters:
                self.graph.nodes[logical_id] = replace(node, cluster=node.label)
        for logical_id, resource in self.resources.items():
            handler = getattr(self, "_" + str(resource.get("Type", "")).replace("::", "_"), None)
            properties = resource.get("Properties", {})
            if handler is not None:
                handler(logical_id, properties)
            elif self.is_node(logical_id):
                self._uses(logical_id, properties)
        self._prune_default_bus()
        failures = {(e.source, e.target) for e in self.graph.edges if e.kind is EdgeKind.FAILURE}
        self.graph.edges = [e for e in self.graph.edges if e.kind is not EdgeKind.DATA
                            or (e.source, e.target) not in failures]
        return self.graph

    # -- helpers -----------------------------------------------------------------------------

    def edge(self, sources: Iterable[str], targets: Iterable[str],
             kind: EdgeKind = EdgeKind.DATA, label: str = "") -> None:
        """Edges between every node of ``sources`` and of ``targets`` (others ignored)."""
        targets = list(targets)
        for source in sources:
            for target in targets:
                if source != target and self.is_node(source) and self.is_node(target):
                    self.graph.add_edge(Edge(source, target, kind, label))

    def _access_log_buckets(self) -> set[str]:
        """Buckets that only receive other buckets' server access logs (folded away)."""
        found: set[str] = set()
        for resource in self.resources.values():
            if resource.get("Type") == "AWS::S3::Bucket":
                logging = resource.get("Properties", {}).get("LoggingConfiguration", {})
                found |= refs(logging.get("DestinationBucketName"))
        return found

    def _role_owners(self) -> dict[str, set[str]]:
        """Role logical id -> the resources acting as it."""
        owners: dict[str, set[str]] = {}
        for logical_id, resource in self.resources.items():
            if str(resource.get("Type")) not in SERVICES:
                continue
            properties = resource.get("Properties", {})
            for name in ROLE_PROPERTIES:
                for role in refs(properties.get(name)):
                    owners.setdefault(role, set()).add(logical_id)
            target = properties.get("Target")
            if isinstance(target, Mapping):  # a Scheduler schedule's target role
                for role in refs(target.get("RoleArn")):
                    owners.setdefault(role, set()).add(logical_id)
        return owners

    def _uses(self, logical_id: str, properties: Mapping[str, Any],
              skip: Iterable[str] = ()) -> None:
        """node -> every node its properties name (roles and ``skip``ped keys aside)."""
        for key, value in properties.items():
            # A resource policy names who may call the resource: not where its data goes.
            if key in ROLE_PROPERTIES or key in skip or "Policy" in key:
                continue
            self.edge([logical_id], refs(value))

    def _prune_default_bus(self) -> None:
        if DEFAULT_BUS in self.graph.nodes and not any(
                DEFAULT_BUS in (e.source, e.target) for e in self.graph.edges):
            del self.graph.nodes[DEFAULT_BUS]

    def default_bus(self) -> str:
        self.graph.add_node(Node(id=DEFAULT_BUS, label="default", kind="AWS::Events::EventBus",
                                 detail="EventBridge bus"))
        return DEFAULT_BUS

    # -- per resource type -------------------------------------------------------------------

    def _AWS_Events_Rule(self, rule: str, properties: Mapping[str, Any]) -> None:
        pattern = properties.get("EventPattern") or {}
        bus = properties.get("EventBusName")
        if refs(bus):
            self.edge(refs(bus), [rule])
        elif "ScheduleExpression" not in properties and bus in (None, "default"):
            sources = pattern.get("source", []) if isinstance(pattern, Mapping) else []
            if "aws.s3" in sources and refs(pattern):
                self.edge(refs(pattern), [rule], label="object events")
            else:
                self.edge([self.default_bus()], [rule])
        for target in properties.get("Targets", []):
            self.edge([rule], refs(target.get("Arn")))
            dlq = target.get("DeadLetterConfig", {})
            self.edge([rule], refs(dlq.get("Arn")), EdgeKind.FAILURE, "DLQ")

    def _AWS_Scheduler_Schedule(self, schedule: str, properties: Mapping[str, Any]) -> None:
        target = properties.get("Target", {})
        self.edge([schedule], refs(target.get("Arn")) | refs(target.get("Input")))
        self.edge([schedule], refs(target.get("DeadLetterConfig")), EdgeKind.FAILURE, "DLQ")

    def _AWS_SNS_Subscription(self, _: str, properties: Mapping[str, Any]) -> None:
        topics = refs(properties.get("TopicArn"))
        label = "filtered" if properties.get("FilterPolicy") else ""
        self.edge(topics, refs(properties.get("Endpoint")), label=label)
        self.edge(topics, refs(properties.get("RedrivePolicy")), EdgeKind.FAILURE,
                  "subscription DLQ")

    def _AWS_SNS_Topic(self, topic: str, properties: Mapping[str, Any]) -> None:
        for subscription in properties.get("Subscription", []):
            self.edge([topic], refs(subscription.get("Endpoint")))

    def _AWS_SQS_Queue(self, queue: str, properties: Mapping[str, Any]) -> None:
        self.edge([queue], refs(properties.get("RedrivePolicy")), EdgeKind.FAILURE, "DLQ")

    def _AWS_Lambda_Function(self, function: str, properties: Mapping[str, Any]) -> None:
        self.edge([function], refs(properties.get("DeadLetterConfig")), EdgeKind.FAILURE, "DLQ")
        self.edge([function], refs(properties.get("Environment")))

    def _AWS_Lambda_EventSourceMapping(self, _: str, properties: Mapping[str, Any]) -> None:
        functions = refs(properties.get("FunctionName"))
        self.edge(refs(properties.get("EventSourceArn")), functions)
        self.edge(functions, refs(properties.get("DestinationConfig")), EdgeKind.FAILURE,
                  "on failure")

    def _AWS_Lambda_EventInvokeConfig(self, _: str, properties: Mapping[str, Any]) -> None:
        functions = refs(properties.get("FunctionName"))
        destinations = properties.get("DestinationConfig", {})
        self.edge(functions, refs(destinations.get("OnSuccess")), label="on success")
        self.edge(functions, refs(destinations.get("OnFailure")), EdgeKind.FAILURE, "on failure")

    def _AWS_Pipes_Pipe(self, pipe: str, properties: Mapping[str, Any]) -> None:
        self.edge(refs(properties.get("Source")), [pipe])
        self.edge([pipe], refs(properties.get("Enrichment")), label="enrich")
        self.edge([pipe], refs(properties.get("Target")))
        self.edge([pipe], refs(properties.get("SourceParameters")), EdgeKind.FAILURE, "DLQ")

    def _AWS_KinesisFirehose_DeliveryStream(self, stream: str,
                                            properties: Mapping[str, Any]) -> None:
        source = properties.get("KinesisStreamSourceConfiguration", {})
        self.edge(refs(source.get("KinesisStreamARN")), [stream])
        for key, value in properties.items():
            if key.endswith("DestinationConfiguration"):
                processing = value.get("ProcessingConfiguration") if isinstance(
                    value, Mapping) else None
                self.edge([stream], refs(processing), label="transform")
                rest = {k: v for k, v in value.items() if k != "ProcessingConfiguration"}
                self.edge([stream], refs(rest) - set(self.owners))

    def _AWS_StepFunctions_StateMachine(self, machine: str,
                                        properties: Mapping[str, Any]) -> None:
        named = (refs(properties.get("DefinitionString")) | refs(properties.get("Definition"))
                 | refs(properties.get("DefinitionSubstitutions")))
        self.edge([machine], sorted(named))

    def _AWS_ApiGateway_Method(self, _: str, properties: Mapping[str, Any]) -> None:
        integration = properties.get("Integration", {})
        rest = {k: v for k, v in integration.items() if k != "Credentials"}
        self.edge(refs(properties.get("RestApiId")), sorted(refs(rest)))

    def _AWS_Redshift_Integration(self, _: str, properties: Mapping[str, Any]) -> None:
        self.edge(refs(properties.get("SourceArn")), refs(properties.get("TargetArn")),
                  label="zero-ETL")

    #: Aurora's integration names its source and target as Redshift's does.
    _AWS_RDS_Integration = _AWS_Redshift_Integration

    def _AWS_S3_Bucket(self, _: str, properties: Mapping[str, Any]) -> None:
        """A bucket's own references are its key and log bucket: no data flow."""

    def _AWS_CloudWatch_Alarm(self, _: str, properties: Mapping[str, Any]) -> None:
        watched = refs(properties.get("Dimensions")) | refs(properties.get("Metrics"))
        actions = refs(properties.get("AlarmActions")) | refs(properties.get("OKActions"))
        self.edge(sorted(watched), sorted(actions), EdgeKind.ALARM, "alarm")

    def _AWS_IAM_Policy(self, _: str, properties: Mapping[str, Any]) -> None:
        owners = set().union(*(self.owners.get(r, set()) for r in refs(properties.get("Roles"))))
        if not owners:
            return
        for statement in properties.get("PolicyDocument", {}).get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if not any(str(a).lower() in WRITE_ACTIONS for a in actions):
                continue
            resource = statement.get("Resource")
            targets = refs(resource)
            if "events:putevents" in (str(a).lower() for a in actions) and any(
                    s.endswith("event-bus/default") for s in strings(resource)):
                targets.add(self.default_bus())
            self.edge(sorted(owners), sorted(targets))


def architecture_graph(stack: StackTemplate) -> Graph:
    """The data-flow graph of one synthesized stack (see the module's docs)."""
    return _Extractor(stack).build()
