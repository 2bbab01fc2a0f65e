"""Alarms of event routing: throttled rules, undeliverable notifications, failing pipes.

Complements :mod:`.alarms` (DLQ depth, rule failed invocations, Lambda errors); private to
the library, imported by module path.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from .alarms import ALARM_PERIOD, alarm


def _rule_dimensions(rule: events.Rule) -> dict[str, str]:
    cfn_rule = rule.node.default_child
    assert isinstance(cfn_rule, events.CfnRule)
    dimensions = {"RuleName": rule.rule_name}
    bus = cfn_rule.event_bus_name
    if bus and bus != "default":
        dimensions["EventBusName"] = bus
    return dimensions


def rule_throttled_alarm(
    scope: Construct, construct_id: str, *, rule: events.Rule,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when EventBridge throttled invocations of ``rule``'s targets."""
    return alarm(
        scope,
        construct_id,
        metric=cloudwatch.Metric(
            namespace="AWS/Events", metric_name="ThrottledRules",
            dimensions_map=_rule_dimensions(rule), period=ALARM_PERIOD, statistic="Sum",
        ),
        threshold=1,
        description=f"{rule.node.path}: invocations of its targets were throttled.",
        alarm_topic=alarm_topic,
    )


def topic_notifications_failed_alarm(
    scope: Construct, construct_id: str, *, topic: sns.ITopic,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when SNS could not deliver a notification of ``topic`` to a subscriber."""
    return alarm(
        scope,
        construct_id,
        metric=topic.metric_number_of_notifications_failed(
            period=ALARM_PERIOD, statistic="Sum"
        ),
        threshold=1,
        description=f"{topic.node.path}: notifications could not be delivered.",
        alarm_topic=alarm_topic,
    )


def pipe_failures_alarm(
    scope: Construct, construct_id: str, *, pipe_name: str, what: str,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when an execution of the pipe ``pipe_name`` failed (enrichment or target)."""
    return alarm(
        scope,
        construct_id,
        metric=cloudwatch.Metric(
            namespace="AWS/EventBridge/Pipes", metric_name="ExecutionFailed",
            dimensions_map={"PipeName": pipe_name}, period=ALARM_PERIOD, statistic="Sum",
        ),
        threshold=1,
        description=f"{what}: pipe executions failed.",
        alarm_topic=alarm_topic,
    )
