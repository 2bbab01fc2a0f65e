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

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .constructs import _foundation as foundation
from .constructs._foundation import QueueWithDeadLetterQueue
from .constructs._foundation.topics import allow_cloudwatch_alarms
from .constructs._foundation.validation import (
    SERVICE_PRINCIPAL,
    Items,
    Number,
    ProblemCollector,
    Span,
    Text,
    validated_props,
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

# Each building block is the foundation builder itself, validated like the patterns: every
# prop checked against its annotation and the AWS limits below before anything is built,
# all problems in one ConfigurationError naming each prop.


def _fifo_only(*props: str) -> Any:
    def check(problems: ProblemCollector, values: Mapping[str, Any]) -> None:
        if values.get("fifo"):
            return
        for prop in props:
            value = values.get(prop)
            if value not in (None, False):
                problems.add(prop, value, "only applies to a FIFO resource (fifo=True)")
    return check


#: An IPv4 CIDR block with a /16 to /28 mask (what a VPC accepts); CDK splits it into
#: subnets while the app is built, so it cannot be a token.
_CIDR = Text(
    literal=True,
    pattern=r"((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)/(1[6-9]|2[0-8])",
    meaning="an IPv4 CIDR block with a /16 to /28 mask, e.g. '10.0.0.0/16'",
)

access_log_bucket = validated_props()(foundation.access_log_bucket)
log_group = validated_props()(foundation.log_group)
observable_state_machine = validated_props({
    # Standard workflows run up to a year, Express ones five minutes (checked by AWS).
    "timeout": Span(Duration.seconds(1), Duration.days(365)),
    "comment": Text(max_length=1024),
})(foundation.observable_state_machine)
private_vpc = validated_props({
    "max_azs": Number(1, 6, literal=True),
    "interface_endpoints": Items(min_items=0, unique=True),
    "cidr": _CIDR,
})(foundation.private_vpc)
queue_with_dead_letter_queue = validated_props(
    {
        "visibility_timeout": Span(Duration.seconds(0), Duration.hours(12), whole_seconds=True),
        "max_receive_count": Number(1, 1000),
        "retention_period": Span(Duration.minutes(1), Duration.days(14), whole_seconds=True),
    },
    checks=[_fifo_only("content_based_deduplication")],
)(foundation.queue_with_dead_letter_queue)
secure_bucket = validated_props({
    "server_access_logs_prefix": Text(non_empty=False, max_length=1024),
    "noncurrent_version_expiration": Span(Duration.days(1), unit="days"),
    "lifecycle_rules": Items(min_items=0, max_items=999),
})(foundation.secure_bucket)
secure_key = validated_props({"description": Text(max_length=8192)})(foundation.secure_key)
secure_repository = validated_props({
    # ECR lifecycle rules keep 1 to 10,000 images (the countNumber limit of the policy).
    "max_image_count": Number(1, 10_000),
})(foundation.secure_repository)
secure_topic = validated_props(
    {
        "publishers": Items(min_items=0, each=SERVICE_PRINCIPAL, unique=True),
        "display_name": Text(max_length=100),
        "message_retention_period_in_days": Number(1, 365),
    },
    checks=[_fifo_only("message_retention_period_in_days")],
)(foundation.secure_topic)


@validated_props()
def alarm_topic(scope: Construct, construct_id: str, *, encryption_key: kms.IKey) -> sns.Topic:
    """A KMS-encrypted, TLS-only topic that this account's CloudWatch alarms can notify.

    Its topic policy allows ``cloudwatch.amazonaws.com`` to publish and its key policy lets
    CloudWatch use ``encryption_key``, both only for alarms of this account and Region
    (``aws:SourceAccount``, ``aws:SourceArn``): a topic policy replaces SNS's default one,
    so without them every alarm would go to ALARM and notify nobody. EventBridge rules of
    the library that target it publish through a role of their own instead.
    """
    topic = secure_topic(scope, construct_id, master_key=encryption_key)
    allow_cloudwatch_alarms(topic)
    return topic
