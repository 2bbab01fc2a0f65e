"""Alarms of a Step Functions state machine: failed, timed-out and throttled executions."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .alarms import ALARM_PERIOD, alarm


def state_machine_alarms(
    scope: Construct,
    id_prefix: str,
    *,
    state_machine: sfn.StateMachine,
    alarm_topic: sns.ITopic | None,
) -> list[cloudwatch.Alarm]:
    """ALARM on any failed, timed-out or throttled execution of ``state_machine``.

    Each metric carries the ``StateMachineArn`` dimension it is published with; missing
    data (no executions) is healthy.
    """
    what = state_machine.node.path
    metrics = (
        ("ExecutionsFailed", state_machine.metric_failed, "executions failed"),
        ("ExecutionsTimedOut", state_machine.metric_timed_out, "executions timed out"),
        ("ExecutionThrottled", state_machine.metric_throttled, "executions were throttled"),
    )
    return [
        alarm(
            scope,
            f"{id_prefix}{name}Alarm",
            metric=metric(period=ALARM_PERIOD, statistic="Sum"),
            threshold=1,
            description=f"{what}: {words}.",
            alarm_topic=alarm_topic,
        )
        for name, metric, words in metrics
    ]
