"""EventRouter: a customer-managed-key event bus, its archive, and rules declared as data.

::

    producers (PutEvents; named accounts / an organization through the bus policy)
    default bus --forwarding rules (e.g. S3 Object Created)--> |
                                                               v
      custom bus (KMS CMK, DLQ for undeliverable events) --archive (CMK, retention)
        rule: event pattern (prefix, suffix, numeric, exists, anything-but, ...)
          -> input transformation -> targets (state machine, function, queue, topic,
             another bus, API destination), each with its own DLQ and the retry policy

Replaying archived events (e.g. after fixing a broken consumer)::

    aws events start-replay --replay-name fix-2026-11-25 \\
        --event-source-arn <archive ARN> --destination Arn=<bus ARN> \\
        --event-start-time 2026-11-25T00:00:00Z --event-end-time 2026-11-25T12:00:00Z

Replayed events carry a ``replay-name`` field and go through the bus's rules again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from analytics_orchestration.constructs._foundation import (
    ProblemCollector,
    TargetRetryPolicy,
    dead_letter_queue_alarm,
    require_feature_flags,
    rule_failed_invocations_alarm,
    secure_key,
    target_dead_letter_queue,
)
from analytics_orchestration.constructs._foundation.alarms import rule_throttled_alarm
from analytics_orchestration.constructs._foundation.event_buses import (
    DEFAULT_ARCHIVE_RETENTION,
    allow_put_events,
    encrypted_archive,
    secure_event_bus,
)
from analytics_orchestration.event_catalog import LibraryEvent

from .._foundation.validation import Span, Text, validated_props
from .catalog import catalog_pattern, pattern_problems
from .targets import RouteTarget

__all__ = ["EventRouter", "RoutingRule"]

#: EventBridge allows at most this many targets per rule.
MAX_TARGETS_PER_RULE = 5
METRIC_PERIOD = Duration.minutes(5)
_BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
_RULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@validated_props(
    {"name": Text(max_length=64, literal=True), "description": Text(max_length=512)},
    factories={"for_events": {"name": Text(max_length=64, literal=True),
                              "description": Text(max_length=512)}},
)
@dataclass(frozen=True)
class RoutingRule:
    """One rule of an :class:`EventRouter`, declared as data.

    :param name: the rule's construct id within the router (letters and digits, starting
        with a letter); it names the rule's alarms and dead-letter queues too.
    :param event_pattern: what the rule matches. Patterns on a library source are checked
        against the event catalog at synth. Build library patterns with
        :meth:`for_events`; use ``events.Match`` for prefix, suffix, numeric, exists and
        anything-but matching.
    :param targets: 1 to 5 destinations, each with its own DLQ and the router's retry policy.
    :param description: shown in the console. Default: None, a description naming the
        router.
    :param enabled: whether the rule is on. Default: True.
    """

    name: str
    event_pattern: events.EventPattern
    targets: Sequence[RouteTarget]
    description: str | None = None
    enabled: bool = True

    @classmethod
    def for_events(
        cls,
        name: str,
        *library_events: LibraryEvent,
        targets: Sequence[RouteTarget],
        detail: dict[str, object] | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> RoutingRule:
        """A rule matching events of the catalog (see :func:`.catalog.catalog_pattern`)."""
        return cls(name=name, event_pattern=catalog_pattern(*library_events, detail=detail),
                   targets=tuple(targets), description=description, enabled=enabled)


@dataclass
class _RouteResources:
    rule: events.Rule
    dead_letter_queues: list[sqs.Queue] = field(default_factory=list)


@validated_props()
class EventRouter(Construct):
    """A custom event bus with an archive and rules that route events to targets.

    :param event_bus_name: the bus's name. Default: None, a name CDK derives from the
        construct path (deterministic).
    :param encryption_key: encrypts events on the bus and in the archive. Default: None,
        a rotating key is created.
    :param enable_archive: archive every event of this account put on the bus, for
        replay. Default: True.
    :param archive_retention: how long archived events are kept (whole days). Only with
        the archive. Default: 365 days.
    :param put_events_accounts: other AWS accounts allowed to put events on the bus.
        Default: none, only this account (through IAM).
    :param put_events_organization_id: an AWS Organizations id (``o-...``) whose accounts
        may put events on the bus. Default: None.
    :param rules: the routing rules. Default: none (add some with :meth:`add_rule`).
    :param forward_from_default_bus: patterns of events on the account's default bus
        (where AWS services such as S3 send theirs) to forward to this bus, each through
        a rule with a DLQ and the retry policy. Default: none.
    :param target_retry: retry policy of every target. Default: 24 hours, 185 attempts.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        enable_archive: bool = True,
        archive_retention: Duration | None = None,
        put_events_accounts: Sequence[str] = (),
        put_events_organization_id: str | None = None,
        rules: Sequence[RoutingRule] = (),
        forward_from_default_bus: Sequence[events.EventPattern] = (),
        target_retry: TargetRetryPolicy | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.target_retry = target_retry or TargetRetryPolicy()
        self._alarm_topic = alarm_topic
        self._routes: dict[str, _RouteResources] = {}
        problems = ProblemCollector(f"EventRouter {self.node.path}")
        self._check_props(
            problems,
            event_bus_name=event_bus_name,
            enable_archive=enable_archive,
            archive_retention=archive_retention,
            put_events_accounts=put_events_accounts,
            put_events_organization_id=put_events_organization_id,
            forward_from_default_bus=forward_from_default_bus,
        )
        self._check_rules(problems, rules, prop="rules")
        problems.raise_if_any()

        #: The key encrypting the bus and its archive.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the event bus of {self.node.path}"
        )
        #: The custom event bus.
        self.event_bus: events.EventBus
        #: Where the bus puts events it cannot deliver (e.g. the key is unusable).
        self.event_bus_dead_letter_queue: sqs.Queue
        self.event_bus, self.event_bus_dead_letter_queue = self._create_event_bus(
            event_bus_name
        )
        #: The archive of the bus (None when disabled).
        self.archive: events.Archive | None = None
        if enable_archive:
            self.archive = encrypted_archive(
                self, "Archive", event_bus=self.event_bus, encryption_key=self.encryption_key,
                retention=archive_retention or DEFAULT_ARCHIVE_RETENTION,
                description=f"Every event of {self.node.path}, for replay",
            )
        #: Resource-policy statements letting other accounts / the organization put events.
        self.put_events_statements: list[iam.PolicyStatement] = allow_put_events(
            self.event_bus, accounts=put_events_accounts,
            organization_id=put_events_organization_id,
        )
        #: Every alarm of the router.
        self.alarms: list[cloudwatch.Alarm] = [dead_letter_queue_alarm(
            self, "EventBusDeadLetterQueueAlarm", queue=self.event_bus_dead_letter_queue,
            what=self.event_bus_dead_letter_queue.node.path, alarm_topic=alarm_topic,
        )]
        #: The rules on the default bus forwarding events here.
        self.forwarding_rules: list[events.Rule] = []
        for pattern in forward_from_default_bus:
            self._forward(pattern)
        for rule in rules:
            self._build_rule(rule)

    # ----------------------------------------------------------------- public API

    @property
    def rules(self) -> dict[str, events.Rule]:
        """The routing rules, by name."""
        return {name: route.rule for name, route in self._routes.items()}

    @property
    def dead_letter_queues(self) -> dict[str, list[sqs.Queue]]:
        """The target DLQs of each routing rule, by rule name, in target order."""
        return {name: list(route.dead_letter_queues) for name, route in self._routes.items()}

    def add_rule(self, rule: RoutingRule) -> events.Rule:
        """Add a routing rule after construction (validated like ``rules``)."""
        problems = ProblemCollector(f"EventRouter {self.node.path}")
        self._check_rules(problems, [rule], prop="rule")
        problems.raise_if_any()
        return self._build_rule(rule)

    def forward_from_default_bus(self, event_pattern: events.EventPattern) -> events.Rule:
        """Forward events matching ``event_pattern`` on the default bus to this bus.

        AWS services (S3, Glue, Step Functions, ...) send their events only to the default
        bus; the forwarding rule has a DLQ and the retry policy like every target.
        """
        problems = ProblemCollector(f"EventRouter {self.node.path}")
        for problem in self._pattern_shape_problems(event_pattern):
            problems.add("event_pattern", "pattern", problem)
        problems.raise_if_any()
        return self._forward(event_pattern)

    def grant_put_events(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to put events on the bus."""
        return self.event_bus.grant_put_events_to(grantee)

    def metric_failed_invocations(
        self, rule_name: str, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Events of ``rule_name`` that could not be delivered (AWS/Events)."""
        return self._rule_metric("FailedInvocations", rule_name, period, statistic)

    def metric_matched_events(
        self, rule_name: str, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Events ``rule_name`` matched (AWS/Events)."""
        return self._rule_metric("MatchedEvents", rule_name, period, statistic)

    # ----------------------------------------------------------------- extension points

    def _create_event_bus(self, event_bus_name: str | None) -> tuple[events.EventBus, sqs.Queue]:
        """Create the bus and its DLQ; override to change how the bus is built."""
        return secure_event_bus(
            self, "EventBus", encryption_key=self.encryption_key,
            event_bus_name=event_bus_name,
            description=f"Event bus of {self.node.path}",
        )

    def _target_dead_letter_queue(self, rule_name: str, index: int) -> sqs.Queue:
        """The DLQ of target ``index`` of ``rule_name``; override to use your own queues."""
        return target_dead_letter_queue(
            self, f"{rule_name}Target{index}DeadLetterQueue",
            rule_name=f"{self.node.path}/{rule_name}", encryption_key=self.encryption_key,
        )

    # ----------------------------------------------------------------- building

    def _build_rule(self, spec: RoutingRule) -> events.Rule:
        rule = events.Rule(
            self,
            spec.name,
            event_bus=self.event_bus,
            event_pattern=spec.event_pattern,
            description=spec.description or f"Routing rule {spec.name} of {self.node.path}",
            enabled=spec.enabled,
        )
        route = _RouteResources(rule)
        self._routes[spec.name] = route
        for index, target in enumerate(spec.targets):
            dead_letter_queue = self._target_dead_letter_queue(spec.name, index)
            route.dead_letter_queues.append(dead_letter_queue)
            rule.add_target(target.bind(dead_letter_queue=dead_letter_queue,
                                        retry=self.target_retry))
        self._alarm_rule(spec.name, rule, route.dead_letter_queues)
        return rule

    def _forward(self, pattern: events.EventPattern) -> events.Rule:
        index = len(self.forwarding_rules)
        rule = events.Rule(
            self,
            f"Forward{index}",
            description=f"Forwards default-bus events to {self.node.path}",
            event_pattern=pattern,
        )
        dead_letter_queue = target_dead_letter_queue(
            self, f"Forward{index}DeadLetterQueue", rule_name=rule.node.path,
            encryption_key=self.encryption_key,
        )
        rule.add_target(RouteTarget.event_bus(self.event_bus).bind(
            dead_letter_queue=dead_letter_queue, retry=self.target_retry))
        self.forwarding_rules.append(rule)
        self._alarm_rule(f"Forward{index}", rule, [dead_letter_queue])
        return rule

    def _alarm_rule(self, name: str, rule: events.Rule, queues: Sequence[sqs.Queue]) -> None:
        topic = self._alarm_topic
        self.alarms.append(rule_failed_invocations_alarm(
            self, f"{name}FailedInvocationsAlarm", rule=rule, alarm_topic=topic))
        self.alarms.append(rule_throttled_alarm(
            self, f"{name}ThrottledAlarm", rule=rule, alarm_topic=topic))
        for queue in queues:
            if self.node.try_find_child(f"{queue.node.id}Alarm") is not None:
                continue  # a queue shared by several targets gets one alarm
            self.alarms.append(dead_letter_queue_alarm(
                self, f"{queue.node.id}Alarm", queue=queue, what=queue.node.path,
                alarm_topic=topic))

    def _rule_metric(self, name: str, rule_name: str, period: Duration,
                     statistic: str) -> cloudwatch.Metric:
        rule = self.rules.get(rule_name)
        if rule is None:
            raise ValueError(f"metric {name}: no routing rule {rule_name!r}; rules are "
                             f"{', '.join(self.rules) or 'none'}")
        return cloudwatch.Metric(
            namespace="AWS/Events", metric_name=name,
            dimensions_map={"EventBusName": self.event_bus.event_bus_name,
                            "RuleName": rule.rule_name},
            period=period, statistic=statistic,
        )

    # ----------------------------------------------------------------- validation

    def _check_props(
        self,
        problems: ProblemCollector,
        *,
        event_bus_name: str | None,
        enable_archive: bool,
        archive_retention: Duration | None,
        put_events_accounts: Sequence[str],
        put_events_organization_id: str | None,
        forward_from_default_bus: Sequence[events.EventPattern],
    ) -> None:
        if event_bus_name is not None:
            problems.check(
                bool(_BUS_NAME.match(event_bus_name)) and event_bus_name != "default"
                and not event_bus_name.startswith("aws."),
                "event_bus_name", event_bus_name,
                "1-256 of letters, digits, '.', '-', '_', '/'; not 'default' nor 'aws.*'",
            )
        if archive_retention is not None:
            if not enable_archive:
                problems.add("archive_retention", archive_retention.to_human_string(),
                             "only applies with enable_archive=True")
            else:
                span = Span(Duration.days(1), unit="days",
                            meaning="a whole number of days, at least 1")
                problems.apply({"archive_retention": span},
                               {"archive_retention": archive_retention})
                whole = span.problem(archive_retention) is None
                if whole and not archive_retention.is_unresolved():
                    days = archive_retention.to_hours() / 24
                    problems.check(days == int(days), "archive_retention",
                                   archive_retention,
                                   "must be a whole number of days, at least 1")
        for account in put_events_accounts:
            problems.check(bool(_ACCOUNT.match(account)), "put_events_accounts", account,
                           "each must be a 12-digit AWS account id")
        if put_events_organization_id is not None:
            problems.check(bool(_ORGANIZATION.match(put_events_organization_id)),
                           "put_events_organization_id", put_events_organization_id,
                           "must look like o-abc123defg (10-32 lowercase letters/digits)")
        for index, pattern in enumerate(forward_from_default_bus):
            for problem in self._pattern_shape_problems(pattern):
                problems.add(f"forward_from_default_bus[{index}]", "pattern", problem)
        for retry_problem in self.target_retry.problems("target_retry"):
            problems.check(False, *retry_problem)

    def _check_rules(self, problems: ProblemCollector, rules: Sequence[RoutingRule],
                     *, prop: str) -> None:
        seen = set(self._routes)
        for index, rule in enumerate(rules):
            where = f"{prop}[{index}]" if prop == "rules" else prop
            if not _RULE_NAME.match(rule.name) or rule.name.startswith("Forward"):
                problems.add(f"{where}.name", rule.name,
                             "letters and digits starting with a letter, not 'Forward...'")
            elif rule.name in seen:
                problems.add(f"{where}.name", rule.name, "rule names must be unique")
            seen.add(rule.name)
            count = len(rule.targets)
            problems.check(1 <= count <= MAX_TARGETS_PER_RULE, f"{where}.targets",
                           f"{count} target(s)",
                           f"give 1 to {MAX_TARGETS_PER_RULE} targets (EventBridge's limit)")
            for target_index, target in enumerate(rule.targets):
                for problem in target.problems():
                    problems.add(f"{where}.targets[{target_index}]",
                                 type(target).__name__.lstrip("_"), problem)
            for problem in self._pattern_shape_problems(rule.event_pattern):
                problems.add(f"{where}.event_pattern", rule.name, problem)
            for problem in pattern_problems(rule.event_pattern, self):
                problems.add(f"{where}.event_pattern", rule.name, problem)

    def _pattern_shape_problems(self, pattern: events.EventPattern) -> list[str]:
        resolved = Stack.of(self).resolve({
            key: getattr(pattern, key) for key in (
                "source", "detail_type", "detail", "account", "region", "resources", "id",
                "time", "version")
        })
        if not any(value is not None for value in resolved.values()):
            return ["match at least one field (source, detail-type, detail, ...): an empty "
                    "pattern is rejected by EventBridge"]
        return []
