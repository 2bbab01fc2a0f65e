"""Where a routing rule sends matching events: one factory per target type.

Every target gets its own dead-letter queue and the router's retry policy; ``input``
(an input transformation, e.g. :func:`.catalog.detail_input`) replaces the event with
what the target should receive.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from analytics_orchestration.constructs._foundation import (
    DeliveredThroughRuleRole,
    TargetRetryPolicy,
    state_machine_target,
    topic_target,
)
from analytics_orchestration.constructs._foundation.event_buses import RetryingTarget

from .._foundation.validation import validated_props

__all__ = ["RouteTarget"]


@validated_props()
class RouteTarget(abc.ABC):
    """A destination of a :class:`~.router.RoutingRule`; build one with a factory method."""

    def __init__(self, input: events.RuleTargetInput | None) -> None:
        #: The transformation applied to the event, or None for the event itself.
        self.input = input

    @classmethod
    def state_machine(
        cls, state_machine: sfn.IStateMachine, *, input: events.RuleTargetInput | None = None
    ) -> RouteTarget:
        """Start an execution of ``state_machine`` per event."""
        return _StateMachine(state_machine, input)

    @classmethod
    def function(
        cls, function: lambda_.IFunction, *, input: events.RuleTargetInput | None = None
    ) -> RouteTarget:
        """Invoke ``function`` asynchronously per event."""
        return _Function(function, input)

    @classmethod
    def queue(
        cls, queue: sqs.IQueue, *, input: events.RuleTargetInput | None = None,
        message_group_id: str | None = None,
    ) -> RouteTarget:
        """Send each event to ``queue``; a FIFO queue needs ``message_group_id``."""
        return _Queue(queue, input, message_group_id)

    @classmethod
    def topic(
        cls, topic: sns.ITopic, *, input: events.RuleTargetInput | None = None
    ) -> RouteTarget:
        """Publish each event to ``topic``, through a role of the rule that may publish to it
        and use its key (EventBridge supports no conditions in a topic policy)."""
        return _Topic(topic, input)

    @classmethod
    def event_bus(cls, event_bus: events.IEventBus) -> RouteTarget:
        """Forward each event, unchanged, to another bus (in this or another account).

        EventBridge forbids input transformations on bus targets, so there is no ``input``.
        """
        return _EventBus(event_bus)

    @classmethod
    def api_destination(
        cls,
        api_destination: events.IApiDestination,
        *,
        input: events.RuleTargetInput | None = None,
        header_parameters: Mapping[str, str] | None = None,
        query_string_parameters: Mapping[str, str] | None = None,
    ) -> RouteTarget:
        """Call an HTTP API (through an EventBridge API destination and its connection).

        EventBridge invokes it as the rule's delivery role, which only this account's rules
        may assume and which may invoke this destination only.
        """
        return _ApiDestination(api_destination, input, header_parameters,
                               query_string_parameters)

    @abc.abstractmethod
    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        """The EventBridge target, with ``dead_letter_queue`` and ``retry``."""

    def problems(self) -> list[str]:
        """What makes this target unusable, in words (none by default)."""
        return []


class _StateMachine(RouteTarget):
    def __init__(self, state_machine: sfn.IStateMachine,
                 input: events.RuleTargetInput | None) -> None:
        super().__init__(input)
        self.resource = state_machine

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return state_machine_target(self.resource, input=self.input,
                                    dead_letter_queue=dead_letter_queue, retry=retry)


class _Function(RouteTarget):
    def __init__(self, function: lambda_.IFunction,
                 input: events.RuleTargetInput | None) -> None:
        super().__init__(input)
        self.resource = function

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return targets.LambdaFunction(
            self.resource, event=self.input, dead_letter_queue=dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts,
        )


class _Queue(RouteTarget):
    def __init__(self, queue: sqs.IQueue, input: events.RuleTargetInput | None,
                 message_group_id: str | None) -> None:
        super().__init__(input)
        self.resource = queue
        self.message_group_id = message_group_id

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return targets.SqsQueue(
            self.resource, message=self.input, message_group_id=self.message_group_id,
            dead_letter_queue=dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts,
        )

    def problems(self) -> list[str]:
        if self.resource.fifo and self.message_group_id is None:
            return ["a FIFO queue needs RouteTarget.queue(queue, message_group_id=...)"]
        if not self.resource.fifo and self.message_group_id is not None:
            return ["message_group_id only applies to FIFO queues"]
        return []


class _Topic(RouteTarget):
    def __init__(self, topic: sns.ITopic, input: events.RuleTargetInput | None) -> None:
        super().__init__(input)
        self.resource = topic

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return topic_target(self.resource, message=self.input,
                            dead_letter_queue=dead_letter_queue, retry=retry)


class _EventBus(RouteTarget):
    def __init__(self, event_bus: events.IEventBus) -> None:
        super().__init__(None)
        self.resource = event_bus

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return RetryingTarget(DeliveredThroughRuleRole(lambda role: targets.EventBus(
            self.resource, dead_letter_queue=dead_letter_queue, role=role)), retry)


class _ApiDestination(RouteTarget):
    def __init__(self, api_destination: events.IApiDestination,
                 input: events.RuleTargetInput | None,
                 header_parameters: Mapping[str, str] | None,
                 query_string_parameters: Mapping[str, str] | None) -> None:
        super().__init__(input)
        self.resource = api_destination
        self.header_parameters = dict(header_parameters or {})
        self.query_string_parameters = dict(query_string_parameters or {})

    def bind(self, *, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        # Through the rule's delivery role: without one, CDK creates a role per destination
        # that any EventBridge rule of any account could have assume it (no aws:SourceArn).
        return DeliveredThroughRuleRole(lambda role: targets.ApiDestination(
            self.resource, event=self.input, dead_letter_queue=dead_letter_queue,
            event_role=role,
            header_parameters=self.header_parameters or None,
            query_string_parameters=self.query_string_parameters or None,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts,
        ))
