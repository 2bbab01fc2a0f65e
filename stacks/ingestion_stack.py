"""Scenario: sales and inventory extracts land in S3 and feed a loader and two teams.

Partners upload CSV and JSON-lines extracts under ``incoming/``. Each new object is
validated (suffix, size, not empty), recorded in the ingestion ledger and, if accepted,
sent to the loader's work queue; an SNS topic fans the same notification out to an audit
queue (everything) and to the sales team's queue (``incoming/sales/`` only). The partner
integration is told about every accepted extract through its own encrypted notification
topic, which its systems subscribe to (here, the partner gateway's queue). Rejected
objects are moved to ``quarantine/`` with the reason. Partners' upload tools are not ours
to fix, so nothing relies on every S3 event arriving: an hourly reconciliation sweep
re-drives any extract that landed without reaching the ledger. Alarms notify the
operations topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_sns as sns
from constructs import Construct

from analytics_orchestration import (
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    NotificationFanOut,
    ObjectValidationRules,
    ReconciliationSweep,
    TopicSubscription,
)
from analytics_orchestration import building_blocks as blocks

EXTRACT_SUFFIXES = (".csv", ".json", ".jsonl")


class IngestionStack(Stack):
    """The ingestion pipeline of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "PlatformKey",
            description="Encrypts the example ingestion pipeline and its consumers",
        )
        operations_topic = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
        # The consumers' queues use their own key: SNS subscriptions add the topic's ARN
        # to the queue key's policy, and the topic is encrypted with the pipeline key.
        consumer_key = blocks.secure_key(
            self, "ConsumerKey", description="Encrypts the example pipeline's consumer queues"
        )
        loader_queue = blocks.queue_with_dead_letter_queue(
            self, "LoaderQueue", visibility_timeout=Duration.minutes(6),
            encryption_key=consumer_key,
        ).queue
        audit_queue, sales_queue, partner_gateway_queue = (
            blocks.queue_with_dead_letter_queue(
                self, name, visibility_timeout=Duration.seconds(30), encryption_key=consumer_key
            ).queue
            for name in ("AuditQueue", "SalesTeamQueue", "PartnerGatewayQueue")
        )
        # The partners' topic: only notifications, no archive (the ledger is the record).
        self.partner_notifications = NotificationFanOut(
            self, "PartnerNotifications", encryption_key=key,
            display_name="Accepted partner extracts",
            subscriptions=[TopicSubscription.queue(partner_gateway_queue)],
            enable_archive=False,
            alarm_topic=operations_topic,
        )

        self.ingestion = EventDrivenIngestion(
            self,
            "Ingestion",
            encryption_key=key,
            key_prefixes=["incoming/"],
            key_suffixes=EXTRACT_SUFFIXES,
            validation_rules=ObjectValidationRules(
                allowed_suffixes=EXTRACT_SUFFIXES,
                max_object_size_bytes=512 * 1024**2,
            ),
            targets=[IngestionTarget.queue(loader_queue),
                     IngestionTarget.topic(self.partner_notifications.topic)],
            fan_out_subscribers=[
                FanOutSubscriber(audit_queue),
                FanOutSubscriber(
                    sales_queue,
                    filter_policy_with_message_body={
                        "key": sns.FilterOrPolicy.filter(
                            sns.SubscriptionFilter.string_filter(
                                match_prefixes=["incoming/sales/"]
                            )
                        )
                    },
                ),
            ],
            reconciliation=ReconciliationSweep(),
            alarm_topic=operations_topic,
        )
