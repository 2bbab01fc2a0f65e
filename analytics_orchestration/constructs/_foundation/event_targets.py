"""EventBridge target settings: every target retries, then dead-letters."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .queues import dead_letter_queue_for_service
from .validation import Number, Span, field_problems, validated_props

#: The longest EventBridge keeps retrying an undeliverable event.
DEFAULT_TARGET_MAX_EVENT_AGE = Duration.hours(24)
#: The most delivery attempts EventBridge makes.
DEFAULT_TARGET_RETRY_ATTEMPTS = 185


#: EventBridge's limits of a target's retry policy.
RETRY_POLICY_RULES = {
    "max_event_age": Span(Duration.minutes(1), Duration.hours(24), whole_seconds=True,
                          meaning="1 minute to 24 hours"),
    "retry_attempts": Number(0, DEFAULT_TARGET_RETRY_ATTEMPTS),
}


# Types are checked on creation; the ranges by the construct the policy is given to,
# which reports them with its other problems (``problems``).
@validated_props()
@dataclass(frozen=True)
class TargetRetryPolicy:
    """How hard EventBridge tries to deliver to a target before dead-lettering.

    :param max_event_age: 1 minute to 24 hours. Default: 24 hours, the maximum.
    :param retry_attempts: 0 to 185. Default: 185, the maximum.
    """

    max_event_age: Duration = field(default_factory=lambda: DEFAULT_TARGET_MAX_EVENT_AGE)
    retry_attempts: int = DEFAULT_TARGET_RETRY_ATTEMPTS

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """The out-of-range settings, as (prop, value, allowed) triples (token-aware).

        The policy checks itself when it is created; this is for a construct that reports
        its props again under its own prop name.
        """
        return field_problems(RETRY_POLICY_RULES, self, f"{prop}.")


def target_dead_letter_queue(scope: Construct, construct_id: str, *, rule_name: str) -> sqs.Queue:
    """The dead-letter queue of one EventBridge target."""
    return dead_letter_queue_for_service(
        scope, construct_id, used_by=f"an EventBridge target of {rule_name}"
    )
