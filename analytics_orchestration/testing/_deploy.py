"""Creating a template's resources in moto, one handler per resource type.

Each handler receives resolved properties and returns the value of ``Ref`` and the
``Fn::GetAtt`` attributes. Types in :data:`NO_OP_TYPES` only matter for permissions or
operations on AWS (IAM policies, alarms, the CDK's own custom resources) and are recorded
without being created; any other unknown type raises :class:`UnsupportedResourceError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics_orchestration.testing import _analytics_services, _routing
from analytics_orchestration.testing._lambda_runtime import (
    FunctionRuntime,
    environment_of,
    inline_code_dir,
)
from analytics_orchestration.testing._template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    TemplateResolutionError,
    UnsupportedIntegrationError,
    UnsupportedResourceError,
)

if TYPE_CHECKING:
    from analytics_orchestration.testing.harness import OfflineAws

NO_OP_TYPES: frozenset[str] = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Logs::SubscriptionFilter",
        "AWS::KMS::Alias",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Events::Archive",
        "AWS::Lambda::LayerVersion",
        "Custom::S3AutoDeleteObjects",
        "Custom::LogRetention",
        # Every foundation table is in its stack's backup plan: recovery points are made
        # by AWS Backup on a schedule, outside anything a test observes.
        "AWS::Backup::BackupVault",
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
    }
)
"""Types deployed as no-ops: they change permissions, telemetry or deletion, not behaviour."""

_DUMMY_ZIP: bytes = b""


def _dummy_zip() -> bytes:
    """A tiny placeholder package for moto: the real code runs from the asset directory."""
    global _DUMMY_ZIP
    if not _DUMMY_ZIP:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("offline_placeholder.py", "")
        _DUMMY_ZIP = buffer.getvalue()
    return _DUMMY_ZIP


@dataclass
class DeployedResource:
    """One resource of a deployed stack, for lookups from tests."""

    stack_name: str
    logical_id: str
    resource_type: str
    physical_id: str
    path: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def arn(self) -> str | None:
        """The resource's ARN when it has one (``Arn``, ``TopicArn`` or an ARN ``Ref``)."""
        for key in ("Arn", "TopicArn", "StateMachineArn"):
            if key in self.attributes:
                return str(self.attributes[key])
        return self.physical_id if self.physical_id.startswith("arn:") else None


@dataclass
class EventSourceMapping:
    """An SQS event source mapping, polled by the harness (not by moto)."""

    uuid: str
    queue_arn: str
    queue_name: str
    function_name: str
    batch_size: int = 10
    enabled: bool = True
    report_batch_item_failures: bool = False
    filter_patterns: list[str] = field(default_factory=list)


@dataclass
class AsyncInvokeConfig:
    """What Lambda does after an asynchronous invocation (retries, destinations, DLQ)."""

    maximum_retry_attempts: int = 2
    on_failure: str | None = None
    on_success: str | None = None


def generated_name(stack: str, logical_id: str, max_len: int, *, lower: bool = False,
                   suffix: str = "") -> str:
    """A CloudFormation-style physical name: stack, logical id, stable hash; within limits."""
    digest = hashlib.sha1(f"{stack}/{logical_id}".encode()).hexdigest()[:12]
    digest = digest.lower() if lower else digest.upper()
    room = max_len - len(digest) - 1 - len(suffix)
    base = f"{stack}-{logical_id}"[:room]
    name = f"{base}-{digest}{suffix}"
    if lower:
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
    return name


def _s3_filter(cfn_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    if not cfn_filter:
        return {}
    rules = cfn_filter.get("S3Key", {}).get("Rules", [])
    return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]}
                                               for r in rules]}}}


def notification_from_cfn(config: Mapping[str, Any]) -> dict[str, Any]:
    """Convert ``AWS::S3::Bucket`` NotificationConfiguration to the S3 API shape."""
    out: dict[str, Any] = {}
    if config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        out["EventBridgeConfiguration"] = {}
    for cfn_key, api_key, target_key, arn_key in (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function",
         "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    ):
        items = config.get(cfn_key) or []
        if items:
            out[api_key] = [
                {"Events": [item["Event"]], arn_key: item[target_key],
                 **_s3_filter(item.get("Filter"))}
                for item in items
            ]
    return out


class Deployer:
    """Creates resources for one harness; holds the handler table."""

    def __init__(self, harness: OfflineAws) -> None:
        self.h = harness
        self.handlers: dict[str, Callable[[StackTemplate, str, dict[str, Any]],
                                          tuple[Any, dict[str, Any]]]] = {
            "AWS::S3::Bucket": self.bucket,
            "AWS::SQS::Queue": self.queue,
            "AWS::SNS::Topic": self.topic,
            "AWS::SNS::Subscription": self.subscription,
            "AWS::DynamoDB::Table": self.table,
            "AWS::DynamoDB::GlobalTable": self.table,
            "AWS::Lambda::Function": self.function,
            "AWS::Lambda::EventSourceMapping": self.event_source_mapping,
            "AWS::Lambda::EventInvokeConfig": self.event_invoke_config,
            "AWS::IAM::Role": self.role,
            "AWS::KMS::Key": self.kms_key,
            "AWS::StepFunctions::StateMachine": self.state_machine,
            "AWS::Events::EventBus": self.event_bus,
            "AWS::Events::Rule": self.rule,
            "AWS::SSM::Parameter": self.ssm_parameter,
            "Custom::S3BucketNotifications": self.bucket_notifications,
        }
        self.handlers.update(_routing.handlers(self))
        self.handlers.update(_analytics_services.resource_handlers(self))

    # -- helpers ----------------------------------------------------------------------
    @property
    def region(self) -> str:
        return self.h.region

    @property
    def account(self) -> str:
        return self.h.account_id

    def arn(self, service: str, resource: str, *, region: bool = True,
            account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")

    def create(self, stack: StackTemplate, logical_id: str, resource_type: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Create one resource; return its ``Ref`` value and attributes."""
        handler = self.handlers.get(resource_type)
        if handler is not None:
            return handler(stack, logical_id, props)
        if resource_type in NO_OP_TYPES or resource_type in self.h.ignore_resource_types:
            return self.no_op(stack, logical_id, resource_type, props)
        raise UnsupportedResourceError(resource_type, logical_id)

    def no_op(self, stack: StackTemplate, logical_id: str, resource_type: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        service = resource_type.split("::")[1].lower() if "::" in resource_type else "custom"
        arn = self.arn(service, f"{logical_id}")
        if resource_type == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName") or generated_name(stack.stack_name, logical_id, 512)
            arn = self.arn("logs", f"log-group:{name}:*")
            return name, {"Arn": arn}
        if resource_type == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName") or generated_name(stack.stack_name,
                                                                    logical_id, 128)
            arn = f"arn:aws:iam::{self.account}:policy/{name}"
            return arn, {"PolicyArn": arn}
        if resource_type == "AWS::Lambda::LayerVersion":
            name = props.get("LayerName") or logical_id
            arn = self.arn("lambda", f"layer:{name}:1")
            return arn, {"LayerVersionArn": arn}
        if resource_type == "AWS::Backup::BackupVault":
            name = props.get("BackupVaultName") or logical_id
            return name, {"BackupVaultName": name,
                          "BackupVaultArn": self.arn("backup", f"backup-vault:{name}")}
        if resource_type == "AWS::Backup::BackupPlan":
            return logical_id, {"BackupPlanId": logical_id, "BackupPlanArn": arn,
                                "VersionId": "1"}
        return logical_id, {"Arn": arn}

    # -- S3 ---------------------------------------------------------------------------
    def bucket(self, stack: StackTemplate, logical_id: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("BucketName") or generated_name(stack.stack_name, logical_id, 63,
                                                         lower=True)
        s3 = self.h.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name,
                             CreateBucketConfiguration={"LocationConstraint": self.region})
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name,
                                     VersioningConfiguration={"Status": "Enabled"})
        notification = notification_from_cfn(props.get("NotificationConfiguration") or {})
        if notification:
            self._put_notification(name, notification)
        return name, {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{self.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{self.region}.amazonaws.com",
        }

    def _put_notification(self, bucket: str, notification: dict[str, Any]) -> None:
        s3 = self.h.client("s3")
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        for key, value in notification.items():
            if isinstance(value, list):
                current[key] = [*current.get(key, []), *value]
            else:
                current[key] = value
        s3.put_bucket_notification_configuration(Bucket=bucket,
                                                 NotificationConfiguration=current)

    def bucket_notifications(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        config = dict(props.get("NotificationConfiguration") or {})
        if config:
            self._put_notification(props["BucketName"], config)
        return logical_id, {}

    # -- SQS / SNS --------------------------------------------------------------------
    def queue(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fifo = str(props.get("FifoQueue", "false")).lower() == "true"
        name = props.get("QueueName") or generated_name(
            stack.stack_name, logical_id, 80, suffix=".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize"):
            if key in props:
                attributes[key] = str(props[key])
        if fifo:
            attributes["FifoQueue"] = "true"
            if "ContentBasedDeduplication" in props:
                attributes["ContentBasedDeduplication"] = str(
                    props["ContentBasedDeduplication"]).lower()
        if props.get("RedrivePolicy"):
            policy = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = policy if isinstance(policy, str) else json.dumps(
                policy)
        # DelaySeconds and ReceiveMessageWaitTimeSeconds are left out on purpose: offline
        # they would only make a test wait in real time.
        url = self.h.client("sqs").create_queue(QueueName=name, Attributes=attributes)[
            "QueueUrl"]
        arn = self.arn("sqs", name)
        return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def topic(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fifo = str(props.get("FifoTopic", "false")).lower() == "true"
        name = props.get("TopicName") or generated_name(
            stack.stack_name, logical_id, 256, suffix=".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoTopic"] = "true"
            if "ContentBasedDeduplication" in props:
                attributes["ContentBasedDeduplication"] = str(
                    props["ContentBasedDeduplication"]).lower()
        sns = self.h.client("sns")
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for sub in props.get("Subscription") or []:
            sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
        return arn, {"TopicArn": arn, "TopicName": name}

    def subscription(self, stack: StackTemplate, logical_id: str,
                     props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        attributes: dict[str, str] = {}
        if "RawMessageDelivery" in props:
            attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
        for key in ("FilterPolicy", "RedrivePolicy"):
            if props.get(key) is not None:
                value = props[key]
                attributes[key] = value if isinstance(value, str) else json.dumps(value)
        if props.get("FilterPolicyScope"):
            attributes["FilterPolicyScope"] = props["FilterPolicyScope"]
        protocol = props["Protocol"]
        if protocol not in ("sqs", "lambda", "http", "https", "email", "email-json", "sms",
                            "firehose"):
            raise UnsupportedIntegrationError(f"SNS subscription protocol {protocol}")
        arn = self.h.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=protocol, Endpoint=props["Endpoint"],
            Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        return arn, {"Arn": arn}

    # -- DynamoDB ---------------------------------------------------------------------
    def table(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("TableName") or generated_name(stack.stack_name, logical_id, 255)
        billing = props.get("BillingMode") or (
            "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST")
        if props.get("WriteProvisionedThroughputSettings"):
            billing = "PROVISIONED"
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing,
        }
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = props.get("ProvisionedThroughput", throughput)

        def index(spec: Mapping[str, Any], gsi: bool) -> dict[str, Any]:
            out = {k: spec[k] for k in ("IndexName", "KeySchema", "Projection") if k in spec}
            if gsi and billing == "PROVISIONED":
                out["ProvisionedThroughput"] = spec.get("ProvisionedThroughput", throughput)
            return out

        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [index(g, True)
                                                 for g in props["GlobalSecondaryIndexes"]]
        if props.get("LocalSecondaryIndexes"):
            request["LocalSecondaryIndexes"] = [index(g, False)
                                                for g in props["LocalSecondaryIndexes"]]
        stream = props.get("StreamSpecification") or {}
        if stream.get("StreamViewType"):
            request["StreamSpecification"] = {"StreamEnabled": True,
                                              "StreamViewType": stream["StreamViewType"]}
        ddb = self.h.client("dynamodb")
        description = ddb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        attrs = {"Arn": description["TableArn"], "TableId": description.get("TableId", name)}
        if description.get("LatestStreamArn"):
            attrs["StreamArn"] = description["LatestStreamArn"]
        return name, attrs

    # -- IAM / KMS / SSM --------------------------------------------------------------
    def role(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("RoleName") or generated_name(stack.stack_name, logical_id, 64)
        document = props.get("AssumeRolePolicyDocument") or {}
        role = self.h.client("iam").create_role(
            RoleName=name, Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=document if isinstance(document, str)
            else json.dumps(document))["Role"]
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def kms_key(self, stack: StackTemplate, logical_id: str,
                props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        meta = self.h.client("kms").create_key(
            Description=str(props.get("Description", logical_id)))["KeyMetadata"]
        return meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]}

    def ssm_parameter(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or f"CFN-{logical_id}-{uuid.uuid4().hex[:12]}"
        self.h.client("ssm").put_parameter(Name=name, Value=str(props["Value"]),
                                           Type=props.get("Type", "String"))
        return name, {"Type": props.get("Type", "String"), "Value": props["Value"]}

    # -- Lambda -----------------------------------------------------------------------
    def _code_dir(self, stack: StackTemplate, logical_id: str, name: str,
                  props: dict[str, Any]) -> Path:
        code = props.get("Code") or {}
        if "ZipFile" in code:
            return inline_code_dir(self.h.work_dir, name, str(code["ZipFile"]),
                                   str(props.get("Handler", "index.handler")))
        if "ImageUri" in code:
            raise UnsupportedResourceError("AWS::Lambda::Function", logical_id,
                                           "container image functions cannot run offline")
        key = code.get("S3Key")
        path = stack.assets.get(str(key)) if key else None
        if path is None:
            raise TemplateResolutionError(
                f"function {logical_id}: no asset found for S3Key {key!r} in the cloud "
                f"assembly {stack.assembly_dir}")
        if path.is_file() and path.suffix == ".zip":
            target = self.h.work_dir / f"unzipped-{name}"
            with zipfile.ZipFile(path) as archive:
                archive.extractall(target)
            return target
        return path

    def function(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("FunctionName") or generated_name(stack.stack_name, logical_id, 64)
        runtime = str(props.get("Runtime", "python3.12"))
        handler = str(props.get("Handler", "index.handler"))
        env = environment_of(props)
        self.h._ensure_role(str(props["Role"]))
        request: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": props["Role"],
            "Handler": handler,
            "Code": {"ZipFile": _dummy_zip()},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Environment": {"Variables": env},
        }
        dlq = (props.get("DeadLetterConfig") or {}).get("TargetArn")
        if dlq:
            request["DeadLetterConfig"] = {"TargetArn": dlq}
        arn = self.h.client("lambda").create_function(**request)["FunctionArn"]
        code_dir = self._code_dir(stack, logical_id, name, props) if runtime.startswith(
            "python") else self.h.work_dir
        self.h._functions[name] = FunctionRuntime(
            function_name=name, function_arn=arn, handler=handler, runtime=runtime,
            code_dir=code_dir, environment=env, region=self.region,
            timeout=int(props.get("Timeout", 3)), memory_size=int(props.get("MemorySize", 128)))
        if dlq:
            self.h._function_dlq[name] = str(dlq)
        return name, {"Arn": arn}

    def event_invoke_config(self, stack: StackTemplate, logical_id: str,
                            props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = self.h._function_name(str(props["FunctionName"]))
        destinations = props.get("DestinationConfig") or {}
        self.h._async_configs[name] = AsyncInvokeConfig(
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
            on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
        )
        return logical_id, {}

    def event_source_mapping(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        source = str(props.get("EventSourceArn", ""))
        if not source.startswith("arn:aws:sqs:"):
            raise UnsupportedIntegrationError(
                f"event source mapping from {source.split(':')[2] if ':' in source else source}",
                "only SQS event sources are polled offline")
        mapping_id = str(uuid.uuid4())
        patterns = [f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters", [])]
        self.h._mappings.append(EventSourceMapping(
            uuid=mapping_id, queue_arn=source, queue_name=source.split(":")[-1],
            function_name=self.h._function_name(str(props["FunctionName"])),
            batch_size=int(props.get("BatchSize", 10)),
            enabled=props.get("Enabled", True) not in (False, "false"),
            report_batch_item_failures="ReportBatchItemFailures" in (
                props.get("FunctionResponseTypes") or []),
            filter_patterns=[p if isinstance(p, str) else json.dumps(p) for p in patterns],
        ))
        return mapping_id, {"Id": mapping_id}

    # -- Step Functions ---------------------------------------------------------------
    def state_machine(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("StateMachineName") or generated_name(stack.stack_name, logical_id, 80)
        if "DefinitionString" in props:
            definition = str(props["DefinitionString"])
        elif "Definition" in props:
            definition = json.dumps(props["Definition"])
        elif "DefinitionS3Location" in props:
            key = props["DefinitionS3Location"].get("Key")
            path = stack.assets.get(str(key))
            if path is None:
                raise TemplateResolutionError(f"state machine {logical_id}: asset {key} missing")
            definition = path.read_text()
        else:
            raise TemplateResolutionError(f"state machine {logical_id} has no definition")
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        self.h._ensure_role(str(props["RoleArn"]))
        arn = self.h.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"))["stateMachineArn"]
        return arn, {"Arn": arn, "Name": name}

    # -- EventBridge ------------------------------------------------------------------
    def event_bus(self, stack: StackTemplate, logical_id: str,
                  props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props["Name"]
        arn = self.h.client("events").create_event_bus(Name=name)["EventBusArn"]
        return name, {"Arn": arn, "Name": name}

    def rule(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        bus = str(props.get("EventBusName") or "default").split("/")[-1]
        request: dict[str, Any] = {"Name": name, "EventBusName": bus,
                                   "State": props.get("State", "ENABLED")}
        if props.get("EventPattern") is not None:
            pattern = props["EventPattern"]
            request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(
                pattern)
        if props.get("ScheduleExpression"):
            request["ScheduleExpression"] = props["ScheduleExpression"]
        events = self.h.client("events")
        arn = events.put_rule(**request)["RuleArn"]
        targets = []
        for target in props.get("Targets") or []:
            item = {k: v for k, v in target.items() if k in (
                "Id", "Arn", "Input", "InputPath", "InputTransformer", "RoleArn",
                "SqsParameters", "DeadLetterConfig", "RetryPolicy")}
            transformer = item.get("InputTransformer")
            if transformer and isinstance(transformer.get("InputPathsMap"), str):
                transformer["InputPathsMap"] = json.loads(transformer["InputPathsMap"])
            targets.append(item)
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        ref = name if bus == "default" else f"{bus}|{name}"
        return ref, {"Arn": arn}
