"""SNS topics encrypted with a customer-managed key (subscriptions: ``subscriptions.py``)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


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
