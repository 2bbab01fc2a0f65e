"""EventBridge target settings: every target retries, then dead-letters; topics are
published to through a role whose trust names this account's rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jsii
from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from .compliance import acknowledge
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


#: Construct id, under a rule, of the role its targets are delivered through.
DELIVERY_ROLE_ID = "DeliveryRole"


def rule_delivery_role(rule: Construct) -> iam.Role:
    """The role ``rule``'s EventBridge targets are delivered through, created once per rule.

    EventBridge may assume it only for a rule of this account (``aws:SourceAccount``,
    ``aws:SourceArn`` matching this account's and Region's rules): the confused-deputy
    conditions EventBridge documents for rule target roles ("For EventBridge event bus rule
    targets, the value of aws:SourceArn must be the rule ARN"). A pattern, not the rule's
    own ARN: the rule references the role, so the role cannot reference the rule.
    """
    existing = rule.node.try_find_child(DELIVERY_ROLE_ID)
    if isinstance(existing, iam.Role):
        return existing
    stack = Stack.of(rule)
    rules = stack.format_arn(service="events", resource="rule", resource_name="*",
                             arn_format=ArnFormat.SLASH_RESOURCE_NAME)
    return iam.Role(
        rule, DELIVERY_ROLE_ID,
        description=f"Lets EventBridge deliver events of {rule.node.path} to its targets",
        assumed_by=iam.ServicePrincipal("events.amazonaws.com", conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": rules},
        }),
    )


@jsii.implements(events.IRuleTarget)
class DeliveredThroughRuleRole:
    """A target built for the rule's delivery role (:func:`rule_delivery_role`) at bind time.

    ``build`` receives the role and returns the CDK target that uses it (and grants it what
    the target needs); without a role, those targets would create an unconditioned one.
    ``key_use`` (when given) is the cdk-nag acknowledgment reason for the role's
    ``kms:GenerateDataKey*`` on the target's key, added once the grant exists.
    """

    def __init__(self, build: Callable[[iam.IRole], events.IRuleTarget], *,
                 key_use: str | None = None) -> None:
        self._build = build
        self._key_use = key_use

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        assert isinstance(rule, Construct), "rules of the library are constructs"
        role = rule_delivery_role(rule)
        config = self._build(role).bind(rule, id)
        policy = role.node.try_find_child("DefaultPolicy")
        if self._key_use is not None and policy is not None:
            acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                        self._key_use)
        return config


def topic_target(
    topic: sns.ITopic,
    *,
    message: events.RuleTargetInput | None,
    dead_letter_queue: sqs.IQueue,
    retry: TargetRetryPolicy,
) -> events.IRuleTarget:
    """An EventBridge target publishing to ``topic``, with a DLQ and ``retry``.

    EventBridge cannot be conditioned in a topic policy ("You can't use Condition blocks in
    Amazon SNS topic policies for EventBridge", EventBridge User Guide), so instead of an
    unconditioned ``events.amazonaws.com`` grant on the topic and its key, events are
    published through the rule's delivery role (:func:`rule_delivery_role`): it may publish
    to this topic and use its key, and only this account's rules may assume it.
    """
    return DeliveredThroughRuleRole(
        lambda role: targets.SnsTopic(
            topic, message=message, dead_letter_queue=dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts, role=role,
        ),
        key_use=("SNS generates a data key per published message with the topic's key; the "
                 "grant names that one key only.") if topic.master_key is not None else None,
    )


def state_machine_target(
    state_machine: sfn.IStateMachine,
    *,
    input: events.RuleTargetInput | None,
    dead_letter_queue: sqs.IQueue,
    retry: TargetRetryPolicy,
) -> events.IRuleTarget:
    """An EventBridge target starting ``state_machine``, through the rule's delivery role."""
    return DeliveredThroughRuleRole(lambda role: targets.SfnStateMachine(
        state_machine, input=input, dead_letter_queue=dead_letter_queue,
        max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts, role=role,
    ))


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
