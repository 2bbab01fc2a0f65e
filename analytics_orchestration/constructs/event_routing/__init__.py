"""Event routing and fan-out: EventBridge buses and rules, SNS fan-out, EventBridge Pipes.

- :class:`EventRouter` with :class:`RoutingRule` and :class:`RouteTarget`: a custom bus
  (customer-managed key, archive, cross-account policy) whose rules are declared as data;
- :func:`catalog_pattern` and :func:`detail_input`: rules and input transformations built
  from the typed event catalog (:mod:`analytics_orchestration.event_catalog`);
- :class:`NotificationFanOut` with :class:`TopicSubscription` and
  :class:`WorkflowSubscription`: an encrypted topic, its subscribers and an archive;
- :class:`QueueToStateMachinePipe`: SQS -> filter -> enrichment -> Step Functions.
"""

from .catalog import catalog_pattern, detail_input
from .fan_out import NotificationFanOut, TopicSubscription, WorkflowSubscription
from .pipe import PipeEnrichment, PipeLogLevel, QueueToStateMachinePipe
from .router import EventRouter, RoutingRule
from .targets import RouteTarget

__all__ = [
    "EventRouter",
    "NotificationFanOut",
    "PipeEnrichment",
    "PipeLogLevel",
    "QueueToStateMachinePipe",
    "RouteTarget",
    "RoutingRule",
    "TopicSubscription",
    "WorkflowSubscription",
    "catalog_pattern",
    "detail_input",
]
