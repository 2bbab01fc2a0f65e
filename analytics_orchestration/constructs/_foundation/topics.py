"""SNS topics encrypted with a customer-managed key, and their SQS subscriptions."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .queues import dead_letter_queue_for_service


def secure_topic(
    scope: Construct,
    construct_id: str,
    *,
    master_key: kms.IKey,
    publishers: tuple[str, ...] = (),
    fifo: bool = False,
    display_name: str | None = None,
    message_retention_period_in_days: int | None = None,
) -> sns.Topic:
    """A topic encrypted with ``master_key`` that refuses non-TLS publishing.

    ``publishers`` are service principals (e.g. ``events.amazonaws.com``) that publish to
    the topic; they are allowed to use the key, which an AWS-managed SNS key would never
    allow. ``message_retention_period_in_days`` (FIFO topics only) turns on SNS message
    archiving for replay; None (the default) leaves it off.
    """
    topic = sns.Topic(
        scope,
        construct_id,
        master_key=master_key,
        enforce_ssl=True,
        fifo=fifo or None,
        display_name=display_name,
        message_retention_period_in_days=message_retention_period_in_days,
    )
    for service in publishers:
        master_key.grant(iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*")
    return topic


def subscribe_queue(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    queue: sqs.IQueue,
    filter_policy: Mapping[str, sns.SubscriptionFilter] | None = None,
    filter_policy_with_message_body: Mapping[str, sns.FilterOrPolicy] | None = None,
) -> sqs.Queue:
    """Subscribe ``queue`` with raw delivery and a DLQ for messages SNS cannot deliver.

    Returns the subscription's dead-letter queue.
    """
    dead_letter_queue = dead_letter_queue_for_service(
        scope, f"{construct_id}DeadLetterQueue", used_by=f"the SNS subscription {construct_id}"
    )
    topic.add_subscription(
        subscriptions.SqsSubscription(
            queue,
            raw_message_delivery=True,
            dead_letter_queue=dead_letter_queue,
            filter_policy=dict(filter_policy) if filter_policy else None,
            filter_policy_with_message_body=(
                dict(filter_policy_with_message_body) if filter_policy_with_message_body else None
            ),
        )
    )
    return dead_letter_queue
