"""SNS subscriptions, each with its own dead-letter queue for what SNS cannot deliver.

Every ``subscribe_*`` returns that dead-letter queue, so the caller can alarm on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .queues import dead_letter_queue_for_service

FilterPolicy = Mapping[str, sns.SubscriptionFilter]
BodyFilterPolicy = Mapping[str, sns.FilterOrPolicy]


def _subscribe(
    scope: Construct,
    construct_id: str,
    topic: sns.ITopic,
    subscription: Callable[[sqs.IQueue], sns.ITopicSubscription],
) -> sqs.Queue:
    """Create the subscription's DLQ, subscribe, and return the DLQ."""
    dead_letter_queue = dead_letter_queue_for_service(
        scope, f"{construct_id}DeadLetterQueue", used_by=f"the SNS subscription {construct_id}"
    )
    topic.add_subscription(subscription(dead_letter_queue))
    return dead_letter_queue


def _filters(
    filter_policy: FilterPolicy | None, filter_policy_with_message_body: BodyFilterPolicy | None
) -> dict[str, Any]:
    """The filter keyword arguments every filterable subscription type takes."""
    return {
        "filter_policy": dict(filter_policy) if filter_policy else None,
        "filter_policy_with_message_body": (
            dict(filter_policy_with_message_body) if filter_policy_with_message_body else None
        ),
    }


def subscribe_queue(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    queue: sqs.IQueue,
    filter_policy: FilterPolicy | None = None,
    filter_policy_with_message_body: BodyFilterPolicy | None = None,
) -> sqs.Queue:
    """Subscribe ``queue`` with raw delivery (the queue receives the message itself)."""
    filters = _filters(filter_policy, filter_policy_with_message_body)
    return _subscribe(scope, construct_id, topic, lambda dlq: subscriptions.SqsSubscription(
        queue, raw_message_delivery=True, dead_letter_queue=dlq, **filters))


def subscribe_function(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    function: lambda_.IFunction,
    filter_policy: FilterPolicy | None = None,
    filter_policy_with_message_body: BodyFilterPolicy | None = None,
) -> sqs.Queue:
    """Subscribe ``function``."""
    filters = _filters(filter_policy, filter_policy_with_message_body)
    return _subscribe(scope, construct_id, topic, lambda dlq: subscriptions.LambdaSubscription(
        function, dead_letter_queue=dlq, **filters))


def subscribe_email(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    address: str,
    filter_policy: FilterPolicy | None = None,
    filter_policy_with_message_body: BodyFilterPolicy | None = None,
) -> sqs.Queue:
    """Subscribe an e-mail address (confirmed by its owner)."""
    filters = _filters(filter_policy, filter_policy_with_message_body)
    return _subscribe(scope, construct_id, topic, lambda dlq: subscriptions.EmailSubscription(
        address, dead_letter_queue=dlq, **filters))


def subscribe_delivery_stream(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    delivery_stream: firehose.IDeliveryStream,
) -> sqs.Queue:
    """Subscribe a Firehose stream with raw delivery; the role SNS assumes may only put
    records into this stream."""
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("sns.amazonaws.com"),
        description=f"Lets SNS deliver {construct_id} notifications to Firehose",
    )
    return _subscribe(scope, construct_id, topic, lambda dlq: subscriptions.FirehoseSubscription(
        delivery_stream, raw_message_delivery=True, role=role, dead_letter_queue=dlq))
