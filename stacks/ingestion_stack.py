"""Scenario: sales and inventory extracts land in S3 and feed a loader and two teams.

Partners upload CSV and JSON-lines extracts under ``incoming/``. Each new object is
validated (suffix, size, not empty), recorded in the ingestion ledger and, if accepted,
sent to the loader's work queue; an SNS topic fans the same notification out to an audit
queue (everything) and to the sales team's queue (``incoming/sales/`` only). Rejected
objects are moved to ``quarantine/`` with the reason. Alarms notify the operations topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from analytics_orchestration import (
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    ObjectValidationRules,
)

EXTRACT_SUFFIXES = (".csv", ".json", ".jsonl")


class IngestionStack(Stack):
    """The ingestion pipeline of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = kms.Key(
            self, "PlatformKey", enable_key_rotation=True,
            description="Encrypts the example ingestion pipeline and its consumers",
        )
        operations_topic = sns.Topic(self, "OperationsAlarms", master_key=key, enforce_ssl=True)
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        # The consumers' queues use their own key: SNS subscriptions add the topic's ARN
        # to the queue key's policy, and the topic is encrypted with the pipeline key.
        consumer_key = kms.Key(
            self, "ConsumerKey", enable_key_rotation=True,
            description="Encrypts the example pipeline's consumer queues",
        )
        loader_queue = self._consumer_queue(
            "LoaderQueue", consumer_key, visibility=Duration.minutes(6)
        )
        audit_queue = self._consumer_queue("AuditQueue", consumer_key)
        sales_queue = self._consumer_queue("SalesTeamQueue", consumer_key)

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
            targets=[IngestionTarget.queue(loader_queue)],
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
            alarm_topic=operations_topic,
        )

    def _consumer_queue(
        self, construct_id: str, key: kms.IKey, visibility: Duration | None = None
    ) -> sqs.Queue:
        """A consumer's queue with its own DLQ, encrypted with the platform key."""
        dead_letters = sqs.Queue(
            self, f"{construct_id}DeadLetters", encryption_master_key=key,
            encryption=sqs.QueueEncryption.KMS, enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        Validations.of(dead_letters).acknowledge(Acknowledgment(
            id="Serverless::Serverless-SQSRedrivePolicy",
            reason="This queue is itself a dead-letter queue; it needs no DLQ of its own.",
        ))
        return sqs.Queue(
            self, construct_id, encryption_master_key=key,
            encryption=sqs.QueueEncryption.KMS, enforce_ssl=True,
            visibility_timeout=visibility or Duration.seconds(30),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=5),
        )
