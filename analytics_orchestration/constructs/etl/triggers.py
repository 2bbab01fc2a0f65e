"""What starts a workflow: a schedule, events, or nothing (by hand, or another workflow)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration.event_catalog import OBJECT_ACCEPTED

from .._foundation import TargetRetryPolicy, state_machine_target
from .._foundation.validation import Text, validated_props

__all__ = ["EtlTrigger"]


@validated_props(factories={
    "schedule": {"description": Text(max_length=512)},
    "event": {"description": Text(max_length=512)},
})
class EtlTrigger(abc.ABC):
    """What starts the workflow; build one with a factory method. No trigger: start it by
    hand, from your code (``grant_start_execution``) or from another workflow.

    Every trigger delivers with the workflow's retry policy and its own dead-letter queue.
    """

    @classmethod
    def schedule(
        cls,
        expression: scheduler.ScheduleExpression,
        *,
        input: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> EtlTrigger:
        """An EventBridge Scheduler schedule: ``ScheduleExpression.cron(...)`` (with its
        ``time_zone``) or ``.rate(...)``.

        Default input: ``{"trigger": "schedule", "scheduled_time": <the scheduled time>}``.
        """
        return _ScheduleTrigger(expression, dict(input) if input is not None else None,
                                description)

    @classmethod
    def event(
        cls,
        pattern: events.EventPattern,
        *,
        event_bus: events.IEventBus | None = None,
        input: events.RuleTargetInput | None = None,
        description: str | None = None,
    ) -> EtlTrigger:
        """A rule on ``event_bus`` (default: the account's default bus); input: the whole
        event unless ``input`` says otherwise."""
        return _EventTrigger(pattern, event_bus, input, description)

    @classmethod
    def object_accepted(
        cls,
        bucket: s3.IBucket | None = None,
        *,
        key_prefix: str | None = None,
        event_bus: events.IEventBus | None = None,
    ) -> EtlTrigger:
        """The ingestion construct's ``ObjectAccepted`` event, optionally for one bucket and
        key prefix; the run's input is the event's detail (bucket, key, size, ...)."""
        detail: dict[str, Any] = {}
        if bucket is not None:
            detail["bucket"] = [bucket.bucket_name]
        if key_prefix is not None:
            detail["key"] = [{"prefix": key_prefix}]
        return _EventTrigger(
            OBJECT_ACCEPTED.pattern(detail or None), event_bus,
            events.RuleTargetInput.from_event_path("$.detail"),
            "Accepted objects start the ETL workflow",
        )

    @abc.abstractmethod
    def bind(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        dead_letter_queue: sqs.IQueue,
        retry: TargetRetryPolicy,
    ) -> Construct:
        """Create the schedule or rule that starts ``state_machine``."""


class _ScheduleTrigger(EtlTrigger):
    def __init__(self, expression: scheduler.ScheduleExpression,
                 input: dict[str, Any] | None, description: str | None) -> None:
        self.expression = expression
        self.input = input
        self.description = description

    def bind(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
             dead_letter_queue: sqs.IQueue, retry: TargetRetryPolicy) -> Construct:
        payload = self.input if self.input is not None else {
            "trigger": "schedule",
            "scheduled_time": scheduler.ContextAttribute.scheduled_time,
        }
        return scheduler.Schedule(
            scope, construct_id,
            schedule=self.expression,
            description=self.description or f"Starts {state_machine.node.path}",
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(payload),
                dead_letter_queue=dead_letter_queue,
                max_event_age=retry.max_event_age,
                retry_attempts=retry.retry_attempts,
            ),
        )


class _EventTrigger(EtlTrigger):
    def __init__(self, pattern: events.EventPattern, event_bus: events.IEventBus | None,
                 input: events.RuleTargetInput | None, description: str | None) -> None:
        self.pattern = pattern
        self.event_bus = event_bus
        self.input = input
        self.description = description

    def bind(self, scope: Construct, construct_id: str, *, state_machine: sfn.IStateMachine,
             dead_letter_queue: sqs.IQueue, retry: TargetRetryPolicy) -> Construct:
        rule = events.Rule(
            scope, construct_id,
            event_bus=self.event_bus,
            event_pattern=self.pattern,
            description=self.description or f"Starts {state_machine.node.path}",
        )
        rule.add_target(state_machine_target(
            state_machine, input=self.input, dead_letter_queue=dead_letter_queue, retry=retry))
        return rule
