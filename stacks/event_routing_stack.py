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
- Every alarm notifies the operations topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
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
            ],
            workflows=[WorkflowSubscription(
                remediation,
                filter_policy_with_message_body={"kind": sns.FilterOrPolicy.filter(
                    sns.SubscriptionFilter.string_filter(allowlist=[ETL_RUN_FAILED.detail_type])
                )},
                enrichment=PipeEnrichment.sqs_record_parser(),
            )],
            alarm_topic=operations_topic,
        )
        failure_input = detail_input(
            (ETL_RUN_FAILED, JOB_FAILED), {"error": "error", "finished_at": "finished_at"},
            envelope={"kind": "detail-type", "event_id": "id"},
            constants={"severity": "high"},
        )
        self.router = EventRouter(
            self,
            "Router",
            encryption_key=key,
            archive_retention=Duration.days(90),
            rules=[
                RoutingRule(
                    "LargeOrdersToWorkers",
                    events.EventPattern(
                        source=[ORDER_SOURCE],
                        detail_type=[ORDER_PLACED],
                        detail={
                            "amount": events.Match.greater_than_or_equal(1000),
                            "currency": events.Match.anything_but("TEST"),
                            "customer_tier": events.Match.exists(),
                            "order_id": events.Match.prefix("ord-"),
                        },
                    ),
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
            alarm_topic=operations_topic,
        )
        landing = self.ingestion.bucket.bucket_name
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
