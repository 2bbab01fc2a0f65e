"""CloudWatch alarms: explicit dimensions, explicit missing-data treatment, one action."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

ALARM_PERIOD = Duration.minutes(1)


def alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    alarm_topic: sns.ITopic | None,
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    ),
    evaluation_periods: int = 1,
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
) -> cloudwatch.Alarm:
    """An alarm that notifies ``alarm_topic`` (when given) on ALARM and on OK.

    Missing data is NOT_BREACHING by default: these metrics are only published when
    something happens (an error, a message), so silence means healthy.
    """
    created = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        comparison_operator=comparison,
        treat_missing_data=treat_missing_data,
        alarm_description=description,
    )
    if alarm_topic is not None:
        action = cw_actions.SnsAction(alarm_topic)
        created.add_alarm_action(action)
        created.add_ok_action(action)
    return created


def dead_letter_queue_alarm(
    scope: Construct, construct_id: str, *, queue: sqs.IQueue, what: str,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM as soon as one message waits in a dead-letter queue."""
    return alarm(
        scope,
        construct_id,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=ALARM_PERIOD, statistic="Maximum"
        ),
        threshold=1,
        description=f"{what}: at least one message is in the dead-letter queue.",
        alarm_topic=alarm_topic,
    )


def function_errors_alarm(
    scope: Construct, construct_id: str, *, function: lambda_.IFunction,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM on any invocation error of ``function``."""
    return alarm(
        scope,
        construct_id,
        metric=function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
        threshold=1,
        description=f"{function.node.path}: invocations failed.",
        alarm_topic=alarm_topic,
    )


def function_throttles_alarm(
    scope: Construct, construct_id: str, *, function: lambda_.IFunction,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM on any throttled invocation of ``function``."""
    return alarm(
        scope,
        construct_id,
        metric=function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"),
        threshold=1,
        description=f"{function.node.path}: invocations were throttled.",
        alarm_topic=alarm_topic,
    )


def rule_failed_invocations_alarm(
    scope: Construct, construct_id: str, *, rule: events.Rule,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when EventBridge fails to deliver an event of ``rule`` to a target.

    EventBridge publishes a default-bus rule's metrics under ``RuleName`` alone and a
    custom-bus rule's under ``EventBusName`` and ``RuleName``; the alarm uses exactly the
    dimensions its metric is published with.
    """
    bus_name = _rule_bus_name(rule)
    dimensions = {"RuleName": rule.rule_name}
    if bus_name is not None:
        dimensions["EventBusName"] = bus_name
    return alarm(
        scope,
        construct_id,
        metric=cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="FailedInvocations",
            dimensions_map=dimensions,
            period=ALARM_PERIOD,
            statistic="Sum",
        ),
        threshold=1,
        description=f"{rule.node.path}: events could not be delivered to a target.",
        alarm_topic=alarm_topic,
    )


def _rule_bus_name(rule: events.Rule) -> str | None:
    """The rule's custom bus name, or None for the default bus."""
    cfn_rule = rule.node.default_child
    assert isinstance(cfn_rule, events.CfnRule)
    bus = cfn_rule.event_bus_name
    return bus if bus and bus != "default" else None
