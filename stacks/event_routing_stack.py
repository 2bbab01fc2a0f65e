"""Scenario: an event-driven analytics flow on one custom event bus.

- Partner extracts land in S3 (``incoming/``) and are validated by the ingestion
  pipeline, which announces ``ObjectAccepted`` / ``ObjectRejected`` on the platform's bus.
  Accepted sales extracts start the ETL workflow with a compact, transformed input.
- Manifest files (``manifests/``) are raw S3 events: the default bus forwards them to
  the platform's bus, which sends them to the worker queue.
- The shop application puts ``OrderPlaced`` events on the bus; large real orders
  (amount >= 1000, currency not ``TEST``, a customer tier present) go to the worker queue.
- Failed ETL runs and jobs, and rejected objects, become notifications on an encrypted
  topic: the on-call queue and e-mail receive the high-severity ones, every notification
  is archived to S3 through Firehose, and failed ETL runs start the remediation workflow
  through SQS and an EventBridge Pipe that parses each message.
- Failed ETL runs and jobs, and rejected objects, are also forwarded unchanged to the
  compliance team's audit bus, whose own rules (outside this example) keep them.
- Large orders are also screened by the stack's own ``order_screening`` function, which
  puts its verdict (``OrderScreened``) back on the bus for the fraud team.
- Accepted sales extracts are announced to the partner's webhook (an EventBridge API
  destination, authorized with the API key the partner issued, kept in Secrets Manager;
  deploy the stack in a Region that offers API destinations).
- High-severity notifications also open an incident document (``incident_recorder``,
  subscribed to the topic); rejected objects start the follow-up workflow through a second
  pipe whose enrichment (``rejection_triage``) says what to ask the partner for.
- Every alarm notifies the operations topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Duration, SecretValue, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration import (
    ETL_RUN_FAILED,
    JOB_FAILED,
    OBJECT_ACCEPTED,
    OBJECT_REJECTED,
    EventDrivenIngestion,
    EventRouter,
    NotificationFanOut,
    ObjectValidationRules,
    PipeEnrichment,
    RouteTarget,
    RoutingRule,
    TopicSubscription,
    WorkflowSubscription,
    detail_input,
)
from analytics_orchestration import building_blocks as blocks

ORDER_SOURCE = "analytics-platform.shop"
ORDER_PLACED = "OrderPlaced"
ONCALL_ADDRESS = "data-platform-oncall@example.com"
HANDLERS = Path(__file__).parent / "handlers"
#: The partner's webhook for accepted sales extracts, and the header its API key goes in.
PARTNER_WEBHOOK = "https://partner.example.com/hooks/extracts"
PARTNER_API_KEY_HEADER = "x-api-key"
#: A static header telling the partner which of our feeds a call belongs to.
PARTNER_FEED_HEADER = ("X-Feed", "accepted-sales-extracts")
INCIDENT_PREFIX = "incidents/"


class EventRoutingStack(Stack):
    """The event routing and notification layer of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "PlatformKey", description="Encrypts the example event-routing layer"
        )
        operations_topic = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
        consumer_key = blocks.secure_key(
            self, "ConsumerKey", description="Encrypts the example routing layer's consumer queues"
        )
        worker_queue, oncall_queue = (
            blocks.queue_with_dead_letter_queue(
                self, name, visibility_timeout=Duration.seconds(30), encryption_key=consumer_key
            ).queue
            for name in ("WorkerQueue", "OnCallQueue")
        )
        audit_bus = events.EventBus(
            self, "AuditBus", description="The compliance team's audit trail of failures")
        etl_workflow = self._workflow("EtlWorkflow", "Loads an accepted sales extract")
        remediation = self._workflow("RemediationWorkflow", "Triages a failed ETL run")

        follow_up = self._workflow("RejectionFollowUp", "Asks the partner to fix a rejection")
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.incident_log = blocks.secure_bucket(
            self, "IncidentLog", encryption_key=key, server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="incident-log/")
        recorder = self._own_function(
            "IncidentRecorder", "incident_recorder", key,
            "Opens an incident document per high-severity notification",
            {"INCIDENT_BUCKET": self.incident_log.bucket_name}, invoked_asynchronously=True)
        self._grant_write(recorder, self.incident_log, INCIDENT_PREFIX,
                          "One incident document per notification, named after its event id "
                          "(only known at run time), within incidents/ only.")
        key.grant(recorder.role, "kms:GenerateDataKey")
        triage = self._own_function(
            "RejectionTriage", "rejection_triage", key,
            "Says what to ask the partner for about each rejected object", {},
            invoked_asynchronously=False)
        for rule in ("Serverless::Serverless-LambdaDLQ",
                     "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ"):
            Validations.of(triage.function).acknowledge(Acknowledgment(
                id=rule, reason="The pipe invokes this enrichment synchronously: a failed "
                "batch stays in the source queue, is retried, then goes to that queue's DLQ."))

        high_severity = {"severity": sns.FilterOrPolicy.filter(
            sns.SubscriptionFilter.string_filter(allowlist=["high"]))}
        self.notifications = NotificationFanOut(
            self,
            "Notifications",
            encryption_key=key,
            display_name="Analytics platform",
            subscriptions=[
                TopicSubscription.queue(oncall_queue,
                                        filter_policy_with_message_body=high_severity),
                TopicSubscription.email(ONCALL_ADDRESS,
                                        filter_policy_with_message_body=high_severity),
                TopicSubscription.function(recorder.function,
                                           filter_policy_with_message_body=high_severity),
            ],
            workflows=[WorkflowSubscription(
                remediation,
                filter_policy_with_message_body={"kind": sns.FilterOrPolicy.filter(
                    sns.SubscriptionFilter.string_filter(allowlist=[ETL_RUN_FAILED.detail_type])
                )},
                enrichment=PipeEnrichment.sqs_record_parser(),
            ), WorkflowSubscription(
                follow_up,
                filter_policy_with_message_body={"kind": sns.FilterOrPolicy.filter(
                    sns.SubscriptionFilter.string_filter(
                        allowlist=[OBJECT_REJECTED.detail_type]))},
                enrichment=PipeEnrichment.function(triage.function),
            )],
            alarm_topic=operations_topic,
        )
        failure_input = detail_input(
            (ETL_RUN_FAILED, JOB_FAILED), {"error": "error", "finished_at": "finished_at"},
            envelope={"kind": "detail-type", "event_id": "id"},
            constants={"severity": "high"},
        )
        large_orders = events.EventPattern(
            source=[ORDER_SOURCE],
            detail_type=[ORDER_PLACED],
            detail={
                "amount": events.Match.greater_than_or_equal(1000),
                "currency": events.Match.anything_but("TEST"),
                "customer_tier": events.Match.exists(),
                "order_id": events.Match.prefix("ord-"),
            },
        )
        self.router = EventRouter(
            self,
            "Router",
            encryption_key=key,
            archive_retention=Duration.days(90),
            rules=[
                RoutingRule(
                    "LargeOrdersToWorkers",
                    large_orders,
                    targets=[RouteTarget.queue(worker_queue, input=(
                        events.RuleTargetInput.from_object({
                            "kind": "order",
                            "order_id": events.EventField.from_path("$.detail.order_id"),
                            "amount": events.EventField.from_path("$.detail.amount"),
                        })))],
                ),
                RoutingRule.for_events(
                    "FailuresToNotifications", ETL_RUN_FAILED, JOB_FAILED,
                    targets=[RouteTarget.topic(self.notifications.topic, input=failure_input)],
                ),
                RoutingRule.for_events(
                    "FailuresToAuditBus", ETL_RUN_FAILED, JOB_FAILED, OBJECT_REJECTED,
                    targets=[RouteTarget.event_bus(audit_bus)],
                ),
                RoutingRule.for_events(
                    "RejectsToNotifications", OBJECT_REJECTED,
                    targets=[RouteTarget.topic(self.notifications.topic, input=detail_input(
                        OBJECT_REJECTED, ["key", "reason"], envelope={"kind": "detail-type"},
                        constants={"severity": "low"}))],
                ),
            ],
            alarm_topic=operations_topic,
        )
        self.ingestion = EventDrivenIngestion(
            self,
            "Ingestion",
            encryption_key=key,
            key_prefixes=["incoming/"],
            key_suffixes=[".csv", ".json"],
            validation_rules=ObjectValidationRules(allowed_suffixes=[".csv", ".json"]),
            event_bus=self.router.event_bus,
            server_access_logs_bucket=logs_bucket,
            alarm_topic=operations_topic,
        )
        screener = self._own_function(
            "OrderScreening", "order_screening", key,
            "Screens large orders and puts the verdict on the platform's bus",
            {"EVENT_BUS_NAME": self.router.event_bus.event_bus_name},
            invoked_asynchronously=True)
        self.router.event_bus.grant_put_events_to(screener.function)
        self.router.add_rule(RoutingRule(
            "LargeOrdersToScreening", large_orders,
            targets=[RouteTarget.function(screener.function)]))
        landing = self.ingestion.bucket.bucket_name
        self.partner_webhook = self._partner_webhook(key)
        self.router.add_rule(RoutingRule.for_events(
            "SalesExtractsToPartner", OBJECT_ACCEPTED,
            detail={"bucket": [landing], "key": events.Match.prefix("incoming/sales/")},
            targets=[RouteTarget.api_destination(
                self.partner_webhook,
                input=detail_input(OBJECT_ACCEPTED, {"file": "key", "bytes": "size",
                                                     "object_id": "object_id"},
                                   envelope={"accepted_at": "time", "event_id": "id"}),
                header_parameters=dict([PARTNER_FEED_HEADER]),
            )],
        ))
        self.router.add_rule(RoutingRule.for_events(
            "SalesExtractsToEtl", OBJECT_ACCEPTED,
            detail={"bucket": [landing], "key": events.Match.prefix("incoming/sales/"),
                    "size": events.Match.greater_than(0)},
            targets=[RouteTarget.state_machine(etl_workflow, input=detail_input(
                OBJECT_ACCEPTED, ["bucket", "key", "size", "object_id"],
                envelope={"accepted_at": "time"}))],
        ))
        self.router.forward_from_default_bus(events.EventPattern(
            source=["aws.s3"], detail_type=["Object Created"],
            detail={"bucket": {"name": [landing]},
                    "object": {"key": events.Match.prefix("manifests/")}},
        ))
        self.router.add_rule(RoutingRule(
            "ManifestsToWorkers",
            events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [landing]},
                        "object": {"key": events.Match.suffix(".manifest.json")}},
            ),
            targets=[RouteTarget.queue(worker_queue, input=events.RuleTargetInput.from_object({
                "kind": "manifest",
                "bucket": events.EventField.from_path("$.detail.bucket.name"),
                "key": events.EventField.from_path("$.detail.object.key"),
            }))],
        ))

    def _workflow(self, construct_id: str, comment: str) -> sfn.StateMachine:
        """A small workflow standing in for the platform's real ones (logged, traced)."""
        start = sfn.Pass(self, f"{construct_id}Start", comment=comment)
        workflow, _ = blocks.observable_state_machine(
            self, construct_id,
            definition_body=sfn.DefinitionBody.from_chainable(
                start.next(sfn.Succeed(self, f"{construct_id}Done"))),
            comment=comment,
        )
        return workflow

    def _own_function(self, construct_id: str, handler: str, key: kms.IKey, description: str,
                      environment: dict[str, str], *, invoked_asynchronously: bool
                      ) -> blocks.PythonFunction:
        """One of the stack's own handlers (``handlers/<handler>``), with the library's
        function defaults; events invoking it asynchronously fail over to its queue."""
        return blocks.python_function(
            self, construct_id, code_path=HANDLERS / handler, handler=f"{handler}.handler",
            description=description, environment=environment,
            invoked_asynchronously=invoked_asynchronously,
            failure_queue_key=key if invoked_asynchronously else None, log_encryption_key=key)

    def _grant_write(self, function: blocks.PythonFunction, bucket: s3.IBucket, prefix: str,
                     reason: str) -> None:
        function.function.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{prefix}*")]))
        child = bucket.node.default_child
        assert isinstance(child, s3.CfnBucket)
        bucket_id = self.resolve(self.get_logical_id(child))
        Validations.of(function.role.node.find_child("DefaultPolicy")).acknowledge(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/"
                              f"{prefix}*]", reason=reason))

    def _partner_webhook(self, key: kms.IKey) -> events.ApiDestination:
        """The partner's webhook: an API destination whose connection sends the API key
        the partner issued (kept in Secrets Manager, encrypted with the platform key)."""
        api_key = secretsmanager.Secret(
            self, "PartnerApiKey", encryption_key=key,
            description="The API key the partner issued for its extract webhook")
        for rule in ("AwsSolutions::AwsSolutions-SMG4",
                     "NIST.800.53.R5::NIST.800.53.R5-SecretsManagerRotationEnabled"):
            Validations.of(api_key).acknowledge(Acknowledgment(
                id=rule, reason="The partner issues and rotates this API key on its side; "
                "operations put the new value here when it does (no rotation function can "
                "obtain one)."))
        connection = events.Connection(
            self, "PartnerConnection",
            description="Authorizes calls to the partner's webhook with its API key",
            authorization=events.Authorization.api_key(
                PARTNER_API_KEY_HEADER, SecretValue.secrets_manager(api_key.secret_arn)),
        )
        destination = events.ApiDestination(
            self, "PartnerWebhook", connection=connection, endpoint=PARTNER_WEBHOOK,
            http_method=events.HttpMethod.POST, rate_limit_per_second=10,
            description="The partner's webhook for accepted sales extracts")
        # EventBridge offers API destinations in most Regions, not all (cfn-lint's resource
        # specification lacks both types in, e.g., ca-west-1, il-central-1 and GovCloud):
        # the stack deploys where they exist, and cfn-lint still checks every other rule.
        for resource in (connection, destination):  # CDK names their L1s after the type
            [child] = [c for c in resource.node.children if isinstance(c, CfnResource)]
            child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3006"]}})
        return destination
