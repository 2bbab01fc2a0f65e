"""SNS topics encrypted with a customer-managed key (subscriptions: ``subscriptions.py``).

A topic policy replaces SNS's default policy, so every service that publishes needs its own
Allow on the topic and its own use of the topic's key. Every such grant here names the
service principal with the confused-deputy conditions AWS documents for it
(``aws:SourceAccount``, ``aws:SourceArn``): the service may publish on behalf of this
account's resources only.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

#: The service principal CloudWatch alarms publish their notifications as.
CLOUDWATCH_ALARMS = "cloudwatch.amazonaws.com"
#: Marker child of a topic once CloudWatch alarms may publish to it (grants are added once).
_ALARMS_MAY_PUBLISH = "CloudWatchAlarmsMayPublish"


def source_account_principal(scope: IConstruct, service: str) -> iam.ServicePrincipal:
    """``service`` acting for ``scope``'s account only (``aws:SourceAccount``)."""
    return iam.ServicePrincipal(
        service, conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}
    )


def cloudwatch_alarms_principal(scope: IConstruct) -> iam.ServicePrincipal:
    """CloudWatch, acting for an alarm of ``scope``'s account and Region only.

    ``aws:SourceArn`` matches ``arn:<partition>:cloudwatch:<region>:<account>:alarm:*`` and
    ``aws:SourceAccount`` the account: the conditions AWS documents for alarms publishing to
    a topic (and using its key) without letting another account's alarms do the same.
    """
    stack = Stack.of(scope)
    alarms = stack.format_arn(
        service="cloudwatch", resource="alarm", resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return iam.ServicePrincipal(CLOUDWATCH_ALARMS, conditions={
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": alarms},
    })


def allow_cloudwatch_alarms(topic: sns.ITopic) -> None:
    """Let this account's CloudWatch alarms publish to ``topic`` and use its key.

    Without it an alarm whose action is the topic goes to ALARM and notifies nobody ("not
    authorized to perform SNS:Publish"), or, on an encrypted topic, fails on the key.
    Idempotent: every alarm builder calls it for its topic. On an imported topic CDK cannot
    change the topic or key policy; its owner has to add the same statements.
    """
    if topic.node.try_find_child(_ALARMS_MAY_PUBLISH) is not None:
        return
    if isinstance(topic, Construct):
        Construct(topic, _ALARMS_MAY_PUBLISH)
    topic.grant_publish(cloudwatch_alarms_principal(topic))


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

    ``publishers`` are service principals (e.g. ``s3.amazonaws.com``) that publish to the
    topic: each may publish and use the key (which an AWS-managed SNS key would never
    allow), for this account's resources only (``aws:SourceAccount``). CloudWatch alarms
    get their grant from the alarm builders (:func:`allow_cloudwatch_alarms`); EventBridge
    rules built by the library publish through a role of their own
    (:func:`.event_targets.topic_target`), because EventBridge does not support conditions
    in a topic policy. ``message_retention_period_in_days`` (FIFO topics only) turns on SNS
    message archiving for replay; None (the default) leaves it off.
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
        topic.grant_publish(source_account_principal(topic, service))
    return topic
