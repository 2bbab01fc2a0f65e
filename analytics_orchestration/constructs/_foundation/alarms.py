"""CloudWatch alarms: explicit dimensions, explicit missing-data treatment, one action.

Every alarm of the library is built here, so its defaults live in one place, including the
one that makes an alarm able to notify at all: its topic lets this account's CloudWatch
alarms publish and use the topic's key (:func:`.topics.allow_cloudwatch_alarms`)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .topics import allow_cloudwatch_alarms

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

    The topic is made to allow CloudWatch alarms of this account to publish, and to use
    its key: a topic policy replaces SNS's default one, so without that grant the alarm
    would fire and notify nobody.

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
        allow_cloudwatch_alarms(alarm_topic)
        action = cw_actions.SnsAction(alarm_topic)
        created.add_alarm_action(action)
        created.add_ok_action(action)
    return created


def alarm_on_any(
    scope: Construct, construct_id: str, *, metric: cloudwatch.IMetric, description: str,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM as soon as ``metric`` counts one (an error, a failure, a waiting message)."""
    return alarm(
        scope, construct_id, metric=metric, threshold=1, description=description,
        alarm_topic=alarm_topic,
    )


def dead_letter_queue_alarm(
    scope: Construct, construct_id: str, *, queue: sqs.IQueue, what: str,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM as soon as one message waits in a dead-letter queue."""
    return alarm_on_any(
        scope, construct_id,
        metric=queue.metric_approximate_number_of_messages_visible(
            period=ALARM_PERIOD, statistic="Maximum"
        ),
        description=f"{what}: at least one message is in the dead-letter queue.",
        alarm_topic=alarm_topic,
    )


def function_errors_alarm(
    scope: Construct, construct_id: str, *, function: lambda_.IFunction,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM on any invocation error of ``function``."""
    return alarm_on_any(
        scope, construct_id, metric=function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
        description=f"{function.node.path}: invocations failed.", alarm_topic=alarm_topic,
    )


def function_throttles_alarm(
    scope: Construct, construct_id: str, *, function: lambda_.IFunction,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM on any throttled invocation of ``function``."""
    return alarm_on_any(
        scope, construct_id,
        metric=function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"),
        description=f"{function.node.path}: invocations were throttled.", alarm_topic=alarm_topic,
    )


def rule_metric(rule: events.Rule, metric_name: str) -> cloudwatch.Metric:
    """An ``AWS/Events`` metric of ``rule`` (Sum per minute), with its real dimensions.

    EventBridge publishes a default-bus rule's metrics under ``RuleName`` alone and a
    custom-bus rule's under ``EventBusName`` and ``RuleName``.
    """
    cfn_rule = rule.node.default_child
    assert isinstance(cfn_rule, events.CfnRule)
    dimensions = {"RuleName": rule.rule_name}
    bus = cfn_rule.event_bus_name
    if bus and bus != "default":
        dimensions["EventBusName"] = bus
    return cloudwatch.Metric(
        namespace="AWS/Events", metric_name=metric_name, dimensions_map=dimensions,
        period=ALARM_PERIOD, statistic="Sum",
    )


def rule_failed_invocations_alarm(
    scope: Construct, construct_id: str, *, rule: events.Rule,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when EventBridge fails to deliver an event of ``rule`` to a target."""
    return alarm_on_any(
        scope, construct_id, metric=rule_metric(rule, "FailedInvocations"),
        description=f"{rule.node.path}: events could not be delivered to a target.",
        alarm_topic=alarm_topic,
    )


def rule_throttled_alarm(
    scope: Construct, construct_id: str, *, rule: events.Rule,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when EventBridge throttled invocations of ``rule``'s targets."""
    return alarm_on_any(
        scope, construct_id, metric=rule_metric(rule, "ThrottledRules"),
        description=f"{rule.node.path}: invocations of its targets were throttled.",
        alarm_topic=alarm_topic,
    )


def topic_notifications_failed_alarm(
    scope: Construct, construct_id: str, *, topic: sns.ITopic,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when SNS could not deliver a notification of ``topic`` to a subscriber."""
    return alarm_on_any(
        scope, construct_id,
        metric=topic.metric_number_of_notifications_failed(period=ALARM_PERIOD, statistic="Sum"),
        description=f"{topic.node.path}: notifications could not be delivered.",
        alarm_topic=alarm_topic,
    )


def pipe_failures_alarm(
    scope: Construct, construct_id: str, *, pipe_name: str, what: str,
    alarm_topic: sns.ITopic | None,
) -> cloudwatch.Alarm:
    """ALARM when an execution of the pipe ``pipe_name`` failed (enrichment or target)."""
    return alarm_on_any(
        scope, construct_id,
        metric=cloudwatch.Metric(
            namespace="AWS/EventBridge/Pipes", metric_name="ExecutionFailed",
            dimensions_map={"PipeName": pipe_name}, period=ALARM_PERIOD, statistic="Sum",
        ),
        description=f"{what}: pipe executions failed.", alarm_topic=alarm_topic,
    )


def state_machine_alarms(
    scope: Construct, id_prefix: str, *, state_machine: sfn.StateMachine,
    alarm_topic: sns.ITopic | None,
) -> list[cloudwatch.Alarm]:
    """ALARM on any failed, timed-out or throttled execution of ``state_machine``.

    Each metric carries the ``StateMachineArn`` dimension it is published with.
    """
    metrics = (
        ("ExecutionsFailed", state_machine.metric_failed, "executions failed"),
        ("ExecutionsTimedOut", state_machine.metric_timed_out, "executions timed out"),
        ("ExecutionThrottled", state_machine.metric_throttled, "executions were throttled"),
    )
    return [
        alarm_on_any(
            scope, f"{id_prefix}{name}Alarm",
            metric=metric(period=ALARM_PERIOD, statistic="Sum"),
            description=f"{state_machine.node.path}: {words}.", alarm_topic=alarm_topic,
        )
        for name, metric, words in metrics
    ]
