"""SNS subscriptions, each with its own dead-letter queue for what SNS cannot deliver.

Every ``subscribe_*`` returns that dead-letter queue, so the caller can alarm on it.

Queues on an encrypted topic's path are encrypted too: the dead-letter queue of every
subscription to a topic with a customer-managed key, and the queues the library subscribes
to such a topic, use the scope's *subscriber key* (:func:`subscriber_key`). It cannot be the
topic's own key: a key policy that lets SNS use the key for this topic only names the
topic, which names the key, a cycle CloudFormation cannot deploy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .keys import secure_key
from .queues import dead_letter_queue_for_service

FilterPolicy = Mapping[str, sns.SubscriptionFilter]
BodyFilterPolicy = Mapping[str, sns.FilterOrPolicy]


#: The construct id of the key :func:`subscriber_key` creates in each scope.
SUBSCRIBER_KEY_ID = "SubscriberKey"


def topic_key(topic: sns.ITopic) -> kms.IKey | None:
    """The customer-managed key ``topic`` is encrypted with, None if none (or unknown)."""
    key: kms.IKey | None = getattr(topic, "master_key", None)
    return key


def subscriber_key(scope: Construct, topic: sns.ITopic) -> kms.IKey | None:
    """The key for the queues ``scope`` puts on ``topic``'s delivery path, None when the
    topic has no customer-managed key (SQS-managed encryption is then as strong).

    One key per scope, created on first use; its policy lets SNS use it for ``topic``
    only (``aws:SourceArn`` and ``aws:SourceAccount``), which is what SNS needs to deliver
    to an encrypted queue or dead-letter queue.
    """
    if topic_key(topic) is None:
        return None
    key = scope.node.try_find_child(SUBSCRIBER_KEY_ID)
    if not isinstance(key, kms.Key):
        key = secure_key(scope, SUBSCRIBER_KEY_ID, description=(
            f"Encrypts the queues subscribed to the topics of {scope.node.path} and the "
            "dead-letter queues of their subscriptions"))
    key.add_to_resource_policy(iam.PolicyStatement(
        sid=f"SnsDeliveryFrom{Stack.of(scope).resolve(_topic_logical_id(topic))}"[:128],
        principals=[iam.ServicePrincipal("sns.amazonaws.com")],
        actions=["kms:GenerateDataKey", "kms:Decrypt"],
        resources=["*"],
        conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
    ))
    return key


def _topic_logical_id(topic: sns.ITopic) -> str:
    child = topic.node.default_child
    if isinstance(child, sns.CfnTopic):
        return str(Stack.of(child).resolve(Stack.of(child).get_logical_id(child)))
    return "".join(c for c in topic.node.id if c.isalnum())


def _subscribe(
    scope: Construct,
    construct_id: str,
    topic: sns.ITopic,
    subscription: Callable[[sqs.IQueue], sns.ITopicSubscription],
) -> sqs.Queue:
    """Create the subscription's DLQ (with the subscriber key when the topic has a CMK),
    subscribe, and return the DLQ."""
    dead_letter_queue = dead_letter_queue_for_service(
        scope, f"{construct_id}DeadLetterQueue", used_by=f"the SNS subscription {construct_id}",
        encryption_key=subscriber_key(scope, topic),
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
    """Subscribe ``queue`` with raw delivery (the queue receives the message itself).

    A queue you bring that is not encrypted with a customer-managed key, on a topic that
    is, gets a warning: what the topic protects with its key would rest in the queue
    without one.
    """
    if (topic_key(topic) is not None and isinstance(queue, sqs.Queue)
            and queue.encryption_master_key is None):
        Annotations.of(queue).add_warning_v2(
            "analytics-orchestration:UnencryptedSubscriber",
            f"{queue.node.path} is subscribed to {topic.node.path}, which is encrypted with "
            "a customer-managed key; encrypt the queue with one too (a different key: the "
            "subscription adds the topic's ARN to the queue key's policy).")
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
