"""SQS queues: work queues with their dead-letter queue, and DLQs for other services."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Names, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .compliance import acknowledge
from .removal import stateful_removal_policy

#: Dead-letter queues keep messages for the longest time SQS allows.
DEAD_LETTER_RETENTION = Duration.days(14)
#: How long a work queue keeps a message nobody processed (SQS's own default, made
#: explicit).
DEFAULT_RETENTION = Duration.days(4)
#: Receives before a message is moved to the dead-letter queue.
DEFAULT_MAX_RECEIVE_COUNT = 5
#: SQS's recommendation: visibility timeout >= 6 x consumer timeout + batching window.
VISIBILITY_TIMEOUT_FACTOR = 6


@dataclass(frozen=True)
class QueueWithDeadLetterQueue:
    """A work queue and the dead-letter queue its poison messages end in."""

    queue: sqs.Queue
    dead_letter_queue: sqs.Queue


def minimum_visibility_timeout(
    consumer_timeout: Duration, batching_window: Duration | None = None
) -> Duration:
    """6 x the consumer's timeout plus the batching window, in seconds."""
    window = batching_window.to_seconds() if batching_window else 0
    return Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * consumer_timeout.to_seconds() + window)


def _encryption(
    encryption_key: kms.IKey | None,
) -> tuple[sqs.QueueEncryption, kms.IKey | None]:
    if encryption_key is None:
        return sqs.QueueEncryption.SQS_MANAGED, None
    return sqs.QueueEncryption.KMS, encryption_key


def dead_letter_queue_for_service(
    scope: Construct,
    construct_id: str,
    *,
    used_by: str,
    encryption_key: kms.IKey | None = None,
) -> sqs.Queue:
    """A DLQ for an EventBridge target, a Lambda function or an SNS subscription.

    No SQS queue may use it as its own dead-letter queue (redrive-allow DENY_ALL): it only
    collects what ``used_by`` could not deliver. cdk-nag's SQS3 cannot see that a
    service, not a queue, dead-letters into it, so that finding is acknowledged here,
    on this queue only.
    """
    sse, key = _encryption(encryption_key)
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sse,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
        redrive_allow_policy=sqs.RedriveAllowPolicy(
            redrive_permission=sqs.RedrivePermission.DENY_ALL
        ),
        removal_policy=stateful_removal_policy(scope),
    )
    acknowledge(
        queue,
        "AwsSolutions::AwsSolutions-SQS3",
        f"This queue is the dead-letter queue of {used_by}.",
    )
    acknowledge(
        queue,
        "Serverless::Serverless-SQSRedrivePolicy",
        f"This queue is the dead-letter queue of {used_by}; it has no DLQ of its own.",
    )
    acknowledge(
        queue,
        "cdk-validator-cfnguard::sqs_dlq_check",
        f"This queue is the dead-letter queue of {used_by} (a service, not a queue, "
        "dead-letters into it, so no redrive-allow policy can name the source); a DLQ of "
        "a DLQ would only move failures out of sight of its depth alarm.",
    )
    return queue


def queue_with_dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    visibility_timeout: Duration,
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
    encryption_key: kms.IKey | None = None,
    fifo: bool = False,
    content_based_deduplication: bool = False,
    retention_period: Duration = DEFAULT_RETENTION,
) -> QueueWithDeadLetterQueue:
    """A work queue whose messages move to a DLQ after ``max_receive_count`` receives.

    The DLQ's redrive-allow policy names the work queue only. To name it without a
    circular reference the work queue gets a deterministic physical name from CDK's
    own unique-name generator (stack + path, no randomness).
    """
    sse, key = _encryption(encryption_key)
    suffix = ".fifo" if fifo else ""
    queue_name = Names.unique_resource_name(
        _QueueNameAnchor(scope, f"{construct_id}Name"), max_length=80 - len(suffix)
    ) + suffix
    queue_arn = Stack.of(scope).format_arn(
        service="sqs", resource=queue_name, arn_format=ArnFormat.NO_RESOURCE_NAME
    )
    dead_letter_queue = sqs.Queue(
        scope,
        f"{construct_id}DeadLetterQueue",
        encryption=sse,
        encryption_master_key=key,
        enforce_ssl=True,
        fifo=fifo or None,
        retention_period=DEAD_LETTER_RETENTION,
        redrive_allow_policy=sqs.RedriveAllowPolicy(
            redrive_permission=sqs.RedrivePermission.BY_QUEUE,
            source_queues=[sqs.Queue.from_queue_arn(scope, f"{construct_id}Source", queue_arn)],
        ),
        removal_policy=stateful_removal_policy(scope),
    )
    acknowledge(
        dead_letter_queue,
        "Serverless::Serverless-SQSRedrivePolicy",
        "This queue is itself the dead-letter queue; a DLQ of a DLQ would hide poison messages.",
    )
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sse,
        encryption_master_key=key,
        enforce_ssl=True,
        fifo=fifo or None,
        content_based_deduplication=content_based_deduplication or None,
        visibility_timeout=visibility_timeout,
        retention_period=retention_period,
        dead_letter_queue=sqs.DeadLetterQueue(
            queue=dead_letter_queue, max_receive_count=max_receive_count
        ),
        removal_policy=stateful_removal_policy(scope),
    )
    return QueueWithDeadLetterQueue(queue=queue, dead_letter_queue=dead_letter_queue)


class _QueueNameAnchor(Construct):
    """An empty construct whose path gives the work queue a stable unique name."""
