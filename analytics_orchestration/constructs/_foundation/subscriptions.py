"""SNS subscriptions other than SQS, each with its own dead-letter queue.

(SQS subscriptions are :func:`.topics.subscribe_queue`.) Private to the library; imported
by module path.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .queues import dead_letter_queue_for_service


def _dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    return dead_letter_queue_for_service(
        scope, f"{construct_id}DeadLetterQueue", used_by=f"the SNS subscription {construct_id}"
    )


def subscribe_function(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    function: lambda_.IFunction,
    filter_policy: Mapping[str, sns.SubscriptionFilter] | None = None,
    filter_policy_with_message_body: Mapping[str, sns.FilterOrPolicy] | None = None,
) -> sqs.Queue:
    """Subscribe ``function``; returns the DLQ of messages SNS could not deliver to it."""
    dead_letter_queue = _dead_letter_queue(scope, construct_id)
    topic.add_subscription(subscriptions.LambdaSubscription(
        function,
        dead_letter_queue=dead_letter_queue,
        filter_policy=dict(filter_policy) if filter_policy else None,
        filter_policy_with_message_body=(
            dict(filter_policy_with_message_body) if filter_policy_with_message_body else None
        ),
    ))
    return dead_letter_queue


def subscribe_email(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    address: str,
    filter_policy: Mapping[str, sns.SubscriptionFilter] | None = None,
    filter_policy_with_message_body: Mapping[str, sns.FilterOrPolicy] | None = None,
) -> sqs.Queue:
    """Subscribe an e-mail address (confirmed by its owner); returns the DLQ."""
    dead_letter_queue = _dead_letter_queue(scope, construct_id)
    topic.add_subscription(subscriptions.EmailSubscription(
        address,
        dead_letter_queue=dead_letter_queue,
        filter_policy=dict(filter_policy) if filter_policy else None,
        filter_policy_with_message_body=(
            dict(filter_policy_with_message_body) if filter_policy_with_message_body else None
        ),
    ))
    return dead_letter_queue


def subscribe_delivery_stream(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    delivery_stream: firehose.IDeliveryStream,
) -> sqs.Queue:
    """Subscribe a Firehose stream with raw delivery and its own role; returns the DLQ.

    The role SNS assumes may only put records into this stream.
    """
    dead_letter_queue = _dead_letter_queue(scope, construct_id)
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("sns.amazonaws.com"),
        description=f"Lets SNS deliver {construct_id} notifications to Firehose",
    )
    topic.add_subscription(subscriptions.FirehoseSubscription(
        delivery_stream, raw_message_delivery=True, role=role,
        dead_letter_queue=dead_letter_queue,
    ))
    return dead_letter_queue
