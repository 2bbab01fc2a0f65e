"""Custom EventBridge buses: customer-managed key, dead-letter queue, archive, retries.

Private to the library (see :mod:`._foundation`); imported by module path.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from .event_targets import TargetRetryPolicy, let_eventbridge_dead_letter_with
from .queues import dead_letter_queue_for_service

#: How long an archive keeps events for replay.
DEFAULT_ARCHIVE_RETENTION = Duration.days(365)


def event_bus_arn(scope: Construct, bus_name: str) -> str:
    """The ARN of the bus named ``bus_name`` in ``scope``'s stack, without a ``GetAtt``.

    Key and queue policies that name the bus through ``GetAtt`` would depend on the bus,
    which itself depends on the key: a cycle CloudFormation cannot deploy.
    """
    return Stack.of(scope).format_arn(
        service="events", resource="event-bus", resource_name=bus_name,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def secure_event_bus(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    description: str,
    event_bus_name: str | None = None,
) -> tuple[events.EventBus, sqs.Queue]:
    """A bus encrypted at rest with ``encryption_key``, and its dead-letter queue.

    EventBridge encrypts event payloads with the key (CDK adds the key-policy statement,
    scoped to this bus by encryption context and source ARN). Events the bus cannot hand
    to a rule's target because the key is unusable land in the returned dead-letter queue,
    which only this bus may write to, encrypted with the same key.
    """
    dead_letter_queue = dead_letter_queue_for_service(
        scope, f"{construct_id}DeadLetterQueue", used_by=f"the event bus {construct_id}",
        encryption_key=(encryption_key if let_eventbridge_dead_letter_with(encryption_key)
                        else None),
    )
    bus = events.EventBus(
        scope,
        construct_id,
        event_bus_name=event_bus_name,
        description=description,
        kms_key=encryption_key,
        dead_letter_queue=dead_letter_queue,
    )
    dead_letter_queue.add_to_resource_policy(iam.PolicyStatement(
        sid="EventBusDeadLetters",
        actions=["sqs:SendMessage"],
        principals=[iam.ServicePrincipal("events.amazonaws.com")],
        resources=[dead_letter_queue.queue_arn],
        conditions={"ArnEquals": {"aws:SourceArn": bus.event_bus_arn}},
    ))
    return bus, dead_letter_queue


def encrypted_archive(
    scope: Construct,
    construct_id: str,
    *,
    event_bus: events.EventBus,
    encryption_key: kms.IKey,
    retention: Duration = DEFAULT_ARCHIVE_RETENTION,
    event_pattern: events.EventPattern | None = None,
    description: str,
) -> events.Archive:
    """An archive of ``event_bus`` (every event of this account by default), encrypted.

    Replay: ``aws events start-replay --event-source-arn <bus ARN> --destination
    Arn=<bus ARN> --event-start-time ... --event-end-time ...`` sends archived events back
    through the bus's rules. The key-policy statement names the bus by its formatted ARN
    (the L2's ``kms_key`` names it by ``GetAtt``, a key -> bus -> key cycle).
    """
    archive = events.Archive(
        scope,
        construct_id,
        source_event_bus=event_bus,
        event_pattern=event_pattern or events.EventPattern(account=[Stack.of(scope).account]),
        retention=retention,
        description=description,
    )
    cfn_archive = archive.node.default_child
    assert isinstance(cfn_archive, events.CfnArchive)
    cfn_archive.kms_key_identifier = encryption_key.key_arn
    encryption_key.add_to_resource_policy(iam.PolicyStatement(
        sid=f"ArchiveOf{construct_id}",
        actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"],
        principals=[iam.ServicePrincipal("events.amazonaws.com")],
        resources=["*"],
        conditions={"StringEquals": {
            "kms:EncryptionContext:aws:events:event-bus:arn": event_bus_arn(
                scope, _physical_name(event_bus))
        }},
    ))
    return archive


def allow_put_events(
    event_bus: events.EventBus,
    *,
    accounts: Sequence[str] = (),
    organization_id: str | None = None,
) -> list[iam.PolicyStatement]:
    """Resource-policy statements letting ``accounts`` or ``organization_id`` put events.

    Added through ``add_to_resource_policy`` (one ``AWS::Events::EventBusPolicy`` per
    statement); returns the statements.
    """
    statements: list[iam.PolicyStatement] = []
    for index, account in enumerate(accounts):
        statements.append(iam.PolicyStatement(
            sid=f"PutEventsFromAccount{index}",
            actions=["events:PutEvents"],
            principals=[iam.AccountPrincipal(account)],
            resources=[event_bus.event_bus_arn],
        ))
    if organization_id is not None:
        statements.append(iam.PolicyStatement(
            sid="PutEventsFromOrganization",
            actions=["events:PutEvents"],
            principals=[iam.AnyPrincipal()],
            resources=[event_bus.event_bus_arn],
            conditions={"StringEquals": {"aws:PrincipalOrgID": organization_id}},
        ))
    for statement in statements:
        event_bus.add_to_resource_policy(statement)
    return statements


def _physical_name(event_bus: events.EventBus) -> str:
    """The bus's name as the template writes it (a literal, not a ``Ref``)."""
    cfn_bus = event_bus.node.default_child
    assert isinstance(cfn_bus, events.CfnEventBus)
    return cfn_bus.name


@jsii.implements(events.IRuleTarget)
class RetryingTarget:
    """Adds a retry policy to a target whose L2 does not expose one (e.g. another bus).

    EventBridge accepts ``RetryPolicy`` on every target type; the ``EventBus`` target of
    aws-cdk-lib only lacks the prop.
    """

    def __init__(self, inner: events.IRuleTarget, retry: TargetRetryPolicy) -> None:
        self._inner = inner
        self._retry = retry

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        config = self._inner.bind(rule, id)
        return events.RuleTargetConfig(
            arn=config.arn,
            dead_letter_config=config.dead_letter_config,
            input=config.input,
            role=config.role,
            sqs_parameters=config.sqs_parameters,
            http_parameters=config.http_parameters,
            target_resource=config.target_resource,
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(self._retry.max_event_age.to_seconds()),
                maximum_retry_attempts=self._retry.retry_attempts,
            ),
        )
