"""EventBridge target settings: every target retries, then dead-letters."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .queues import dead_letter_queue_for_service

#: The longest EventBridge keeps retrying an undeliverable event.
DEFAULT_TARGET_MAX_EVENT_AGE = Duration.hours(24)
#: The most delivery attempts EventBridge makes.
DEFAULT_TARGET_RETRY_ATTEMPTS = 185


@dataclass(frozen=True)
class TargetRetryPolicy:
    """How hard EventBridge tries to deliver to a target before dead-lettering.

    :param max_event_age: 1 minute to 24 hours. Default: 24 hours, the maximum.
    :param retry_attempts: 0 to 185. Default: 185, the maximum.
    """

    max_event_age: Duration = field(default_factory=lambda: DEFAULT_TARGET_MAX_EVENT_AGE)
    retry_attempts: int = DEFAULT_TARGET_RETRY_ATTEMPTS

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """The out-of-range settings, as (prop, value, allowed) triples."""
        found: list[tuple[str, object, str]] = []
        seconds = self.max_event_age.to_seconds()
        if not 60 <= seconds <= 86400:
            found.append((f"{prop}.max_event_age", f"{seconds} s", "must be 1 minute to 24 hours"))
        if not 0 <= self.retry_attempts <= 185:
            found.append((f"{prop}.retry_attempts", self.retry_attempts, "must be 0 to 185"))
        return found


def target_dead_letter_queue(
    scope: Construct, construct_id: str, *, rule_name: str, encryption_key: kms.IKey | None = None
) -> sqs.Queue:
    """The dead-letter queue of one EventBridge target.

    With ``encryption_key`` (the key of the pattern whose events these are) the queue is
    encrypted with it, provided EventBridge may use the key
    (:func:`let_eventbridge_dead_letter_with`); a key whose policy this app cannot extend
    (an imported key) would make every dead letter undeliverable, so the queue then falls
    back to SQS-managed encryption.
    """
    key = encryption_key if (
        encryption_key is not None and let_eventbridge_dead_letter_with(encryption_key)
    ) else None
    return dead_letter_queue_for_service(
        scope, construct_id, used_by=f"an EventBridge target of {rule_name}", encryption_key=key
    )


def let_eventbridge_dead_letter_with(key: kms.IKey) -> bool:
    """Let EventBridge use ``key`` to write to the dead-letter queues it encrypts, for this
    account's rules and buses only; False when the key's policy cannot be extended.

    The condition names rules and buses by pattern, not by ARN: the rule names its DLQ,
    the DLQ names the key, and a key policy naming the rule would close a cycle.
    """
    stack = Stack.of(key)
    sources = [stack.format_arn(service="events", resource=kind, resource_name="*",
                                arn_format=ArnFormat.SLASH_RESOURCE_NAME)
               for kind in ("rule", "event-bus")]
    result = key.add_to_resource_policy(iam.PolicyStatement(
        sid="EventBridgeDeadLetters",
        principals=[iam.ServicePrincipal("events.amazonaws.com")],
        actions=["kms:GenerateDataKey", "kms:Decrypt"],
        resources=["*"],
        conditions={"StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": sources}},
    ))
    return bool(result.statement_added)
