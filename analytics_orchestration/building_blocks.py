"""Secure building blocks for the resources an app keeps next to the patterns.

The pattern constructs build everything they own through the library's private
foundation. An app also has resources of its own around them: the queues its consumers
read, the buckets its jobs write, a platform key, the topic its alarms notify, its own
small workflows. These are
the same builders, public, so those resources get the same defaults as the patterns'
(README, "Secure and reliable defaults") instead of a hand-written copy of them::

    from analytics_orchestration import building_blocks as blocks

    key = blocks.secure_key(self, "PlatformKey", description="Encrypts the platform")
    alarms = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
    loader = blocks.queue_with_dead_letter_queue(
        self, "LoaderQueue", visibility_timeout=Duration.minutes(6), encryption_key=key)
"""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .constructs._foundation import (
    QueueWithDeadLetterQueue,
    access_log_bucket,
    log_group,
    observable_state_machine,
    private_vpc,
    queue_with_dead_letter_queue,
    secure_bucket,
    secure_key,
    secure_repository,
    secure_topic,
)

__all__ = [
    "QueueWithDeadLetterQueue",
    "access_log_bucket",
    "alarm_topic",
    "log_group",
    "observable_state_machine",
    "private_vpc",
    "queue_with_dead_letter_queue",
    "secure_bucket",
    "secure_key",
    "secure_repository",
    "secure_topic",
]

#: Services that publish to an alarm topic: CloudWatch alarms and EventBridge rules.
ALARM_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


def alarm_topic(scope: Construct, construct_id: str, *, encryption_key: kms.IKey) -> sns.Topic:
    """A KMS-encrypted, TLS-only topic that CloudWatch alarms and EventBridge can notify.

    Both services are allowed to use ``encryption_key`` for it: without that grant an alarm
    on an encrypted topic fails silently.
    """
    return secure_topic(
        scope, construct_id, master_key=encryption_key, publishers=ALARM_PUBLISHERS
    )
