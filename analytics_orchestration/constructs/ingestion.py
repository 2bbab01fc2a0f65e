"""Event-driven ingestion: S3 object events, validated, recorded, routed and fanned out.

::

    S3 landing bucket --Object Created--> EventBridge (default bus)
        rule: this bucket, key prefixes/suffixes, minimum size
          -> validation function (Powertools): rules, ledger row, quarantine
               -> ObjectAccepted / ObjectRejected on ``event_bus``
                    rule: ObjectAccepted for this bucket
                      -> your targets (state machine, function, queue, topic)
                      -> optional SNS fan-out topic -> SQS subscribers

With ``enable_validation=False`` the targets hang directly off the Object Created rule.
Either way every target receives the same compact JSON object
(:data:`~analytics_orchestration.event_catalog.OBJECT_NOTIFICATION_FIELDS`)::

    {"bucket": "...", "key": "...", "size": 123, "etag": "...",
     "version_id": "..." | null, "event_time": "2026-01-01T00:00:00Z"}

One difference: after validation ``key`` is the object's real key, resolved against S3
by its version id (or ETag) from the key as S3 sent it or URL-decoded: AWS documents URL
encoding only for classic notifications, and events captured from EventBridge carry the
raw key. Without validation targets receive the key exactly as S3 sent it.

Events lost anywhere upstream (a disabled rule, a failed delivery, a bucket whose
notifications were off for a while) are caught by the optional reconciliation sweep
(``reconciliation=ReconciliationSweep()``): on a schedule it lists what landed since its
last pass and re-drives, through the same validator, every object version the ledger does
not know.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Annotations, CfnElement, Duration, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from analytics_orchestration.event_catalog import (
    OBJECT_ACCEPTED,
    OBJECT_REJECTED,
    OBJECTS_RECONCILED,
)

from ._foundation import (
    ProblemCollector,
    PythonFunction,
    TargetRetryPolicy,
    access_log_bucket,
    acknowledge,
    dead_letter_queue_alarm,
    dead_letter_queue_for_service,
    enable_event_bridge_notifications,
    function_errors_alarm,
    function_throttles_alarm,
    python_function,
    require_feature_flags,
    rule_failed_invocations_alarm,
    secure_bucket,
    secure_key,
    secure_table,
    secure_topic,
    state_machine_target,
    subscribe_queue,
    target_dead_letter_queue,
    topic_target,
)
from ._foundation.buckets import DEFAULT_NONCURRENT_VERSION_EXPIRATION
from ._foundation.validation import Items, Number, Span, Text, is_unresolved, validated_props

__all__ = [
    "EventDrivenIngestion",
    "FanOutSubscriber",
    "IngestionTarget",
    "ObjectValidationRules",
    "ReconciliationSweep",
]

#: Objects above this size are rejected unless the rules say otherwise (5 GiB, the
#: largest single PUT S3 accepts).
DEFAULT_MAX_OBJECT_SIZE_BYTES = 5 * 1024**3
DEFAULT_QUARANTINE_PREFIX = "quarantine/"
#: Default period of the ``metric_*`` helpers.
METRIC_PERIOD = Duration.minutes(5)
#: CloudWatch namespace of the validator's Powertools metrics.
METRICS_NAMESPACE = "AnalyticsOrchestration/Ingestion"

#: How often the reconciliation sweep runs unless told otherwise.
DEFAULT_RECONCILIATION_RATE = Duration.hours(1)
#: How far each sweep's window reaches back before the previous pass's watermark.
DEFAULT_RECONCILIATION_OVERLAP = Duration.hours(1)
#: Objects younger than this are left to their own events by the sweep.
DEFAULT_RECONCILIATION_MINIMUM_AGE = Duration.minutes(5)
#: Object versions one sweep run examines at most (the rest: next run).
DEFAULT_RECONCILIATION_MAX_OBJECTS = 10_000
#: Timeout of the sweep function; it stops taking new pages 30 s before it.
RECONCILER_TIMEOUT = Duration.minutes(5)

_S3_NOTIFICATION_PATHS = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "size": "$.detail.object.size",
    "etag": "$.detail.object.etag",
    "version_id": "$.detail.object.version-id",
    "event_time": "$.time",
}
_ACCEPTED_NOTIFICATION_PATHS = {name: f"$.detail.{name}" for name in _S3_NOTIFICATION_PATHS}


#: The quarantine prefix names IAM resources and a cdk-nag acknowledgment while the app
#: is built, so it cannot be a token (checked when the rules are created; the ranges are
#: checked by the construct, with its other props).
_RULES_ON_CREATION = {
    "allowed_suffixes": Items(min_items=0, each=Text(non_empty=False, max_length=1024)),
    "quarantine_prefix": Text(non_empty=False, max_length=1024, literal=True),
}
#: What an override of ``_validation_rules`` must return (the construct's checks, again).
_RULES_OF_EXTENSION = {
    "allowed_suffixes": Items(each=Text(max_length=1024)),
    "max_object_size_bytes": Number(minimum=1),
    "quarantine_prefix": Text(max_length=1024, literal=True, ends_with="/"),
}


@validated_props(_RULES_ON_CREATION)
@dataclass(frozen=True)
class ObjectValidationRules:
    """What the validation stage accepts. An object breaking any rule is quarantined.

    :param allowed_suffixes: key suffixes accepted (case-insensitive). Default: None, any
        suffix.
    :param max_object_size_bytes: largest accepted object. Default: 5 GiB.
    :param reject_empty: reject 0-byte objects. Default: True.
    :param quarantine_prefix: where rejected objects are moved, in the same bucket.
        Default: ``quarantine/``.
    """

    allowed_suffixes: Sequence[str] | None = None
    max_object_size_bytes: int = DEFAULT_MAX_OBJECT_SIZE_BYTES
    reject_empty: bool = True
    quarantine_prefix: str = DEFAULT_QUARANTINE_PREFIX


@validated_props()
@dataclass(frozen=True)
class ReconciliationSweep:
    """A scheduled sweep that re-drives every landed object the ledger does not know.

    Each run lists the object versions under the pipeline's key prefixes (with its
    suffix and size filters) that landed since the previous pass, minus an overlap, and
    invokes the validator with the event the rule would have sent for every version
    without a ledger row (or with an unfinished one). The validator's conditional ledger
    claim (with its lease) makes a re-drive and a late original event count once. Each
    run reports ``ObjectsReconciled`` / ``ObjectsExamined`` metrics and, when it re-drove
    anything, an ``ObjectsReconciled`` event (:data:`~analytics_orchestration.event_catalog
    .OBJECTS_RECONCILED`). The first pass examines every existing version: objects that
    landed before the sweep existed are ingested too, ``max_objects_per_run`` at a time.
    The sweep mirrors the construct's ``key_prefixes``, ``key_suffixes`` and
    ``minimum_object_size``; a subclass that overrides ``_object_created_pattern`` with
    other filters should keep those props in line with it.

    :param schedule: when the sweep runs. Default: ``ScheduleExpression.rate(Duration
        .hours(1))``.
    :param overlap: how much earlier than the last pass's watermark each window starts,
        so a version dated before it became listable (a multipart upload is dated when it
        started) is still examined; make it longer than your longest upload. 0 to 7 days.
        Default: 1 hour.
    :param minimum_age: versions younger than this are left to their own events (the next
        pass examines them). 0 to 1 day. Default: 5 minutes.
    :param max_objects_per_run: versions one run examines at most; a longer listing is
        continued by the next run. 1 to 1,000,000. Default: 10,000.
    """

    schedule: scheduler.ScheduleExpression = field(
        default_factory=lambda: scheduler.ScheduleExpression.rate(DEFAULT_RECONCILIATION_RATE)
    )
    overlap: Duration = field(default_factory=lambda: DEFAULT_RECONCILIATION_OVERLAP)
    minimum_age: Duration = field(default_factory=lambda: DEFAULT_RECONCILIATION_MINIMUM_AGE)
    max_objects_per_run: int = DEFAULT_RECONCILIATION_MAX_OBJECTS

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """The settings out of range, as (prop, value, allowed) triples (tokens are skipped).

        Types were checked against the annotations when the sweep was made
        (``validated_props``); ranges are reported here, with the construct's other
        problems, under ``reconciliation.<field>``.
        """
        found: list[tuple[str, object, str]] = []
        for name, value, most, most_text in (
            ("overlap", self.overlap, 7 * 86400, "7 days"),
            ("minimum_age", self.minimum_age, 86400, "1 day"),
        ):
            seconds = _seconds_or_none(value)
            if seconds is None:
                found.append((f"{prop}.{name}", value.to_string(),
                              "a deploy-time duration must be given in seconds: "
                              "Duration.seconds(parameter)"))
            elif not is_unresolved(seconds) and not 0 <= seconds <= most:
                found.append((f"{prop}.{name}", value.to_human_string(),
                              f"must be 0 seconds to {most_text}"))
        budget = self.max_objects_per_run
        if is_unresolved(budget):
            return found
        if not 1 <= budget <= 1_000_000:
            found.append((f"{prop}.max_objects_per_run", budget, "must be 1 to 1,000,000"))
        return found


@validated_props()
@dataclass(frozen=True)
class FanOutSubscriber:
    """An SQS queue that receives accepted-object notifications through the SNS topic.

    Delivery is raw (the queue receives the compact JSON object itself), with a DLQ per
    subscription. A KMS-encrypted queue's key must allow ``sns.amazonaws.com``.

    :param queue: the subscribing queue.
    :param filter_policy_with_message_body: SNS filter policy on the notification's
        fields, e.g. ``{"key": sns.FilterOrPolicy.filter(sns.SubscriptionFilter
        .string_filter(match_prefixes=["sales/"]))}``. Default: None, every notification.
    """

    queue: sqs.IQueue
    filter_policy_with_message_body: Mapping[str, sns.FilterOrPolicy] | None = None


@validated_props()
class IngestionTarget(abc.ABC):
    """Where notifications of new objects are routed; build one with a factory method.

    Each target gets its own dead-letter queue and the construct's retry policy.
    """

    @classmethod
    def state_machine(cls, state_machine: sfn.IStateMachine) -> IngestionTarget:
        """Start an execution per object, with the notification as its input."""
        return _StateMachineTarget(state_machine)

    @classmethod
    def function(cls, function: lambda_.IFunction) -> IngestionTarget:
        """Invoke ``function`` asynchronously per object."""
        return _FunctionTarget(function)

    @classmethod
    def queue(cls, queue: sqs.IQueue, *, message_group_id: str | None = None) -> IngestionTarget:
        """Send the notification to ``queue``; FIFO queues need ``message_group_id``."""
        return _QueueTarget(queue, message_group_id)

    @classmethod
    def topic(cls, topic: sns.ITopic) -> IngestionTarget:
        """Publish the notification to ``topic``."""
        return _TopicTarget(topic)

    @abc.abstractmethod
    def bind(
        self,
        *,
        message: events.RuleTargetInput,
        dead_letter_queue: sqs.IQueue,
        retry: TargetRetryPolicy,
    ) -> events.IRuleTarget:
        """The EventBridge target for this destination."""

    def problems(self) -> list[str]:
        """What makes this target unusable, in words (none by default)."""
        return []


class _StateMachineTarget(IngestionTarget):
    def __init__(self, state_machine: sfn.IStateMachine) -> None:
        self._state_machine = state_machine

    def bind(self, *, message: events.RuleTargetInput, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return state_machine_target(self._state_machine, input=message,
                                    dead_letter_queue=dead_letter_queue, retry=retry)


class _FunctionTarget(IngestionTarget):
    def __init__(self, function: lambda_.IFunction) -> None:
        self._function = function

    def bind(self, *, message: events.RuleTargetInput, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return targets.LambdaFunction(
            self._function, event=message, dead_letter_queue=dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts,
        )


class _QueueTarget(IngestionTarget):
    def __init__(self, queue: sqs.IQueue, message_group_id: str | None) -> None:
        self._queue = queue
        self.message_group_id = message_group_id

    def bind(self, *, message: events.RuleTargetInput, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return targets.SqsQueue(
            self._queue, message=message, message_group_id=self.message_group_id,
            dead_letter_queue=dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts,
        )

    def problems(self) -> list[str]:
        if self._queue.fifo and self.message_group_id is None:
            return ["a FIFO queue needs IngestionTarget.queue(queue, message_group_id=...)"]
        return []


class _TopicTarget(IngestionTarget):
    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, *, message: events.RuleTargetInput, dead_letter_queue: sqs.IQueue,
             retry: TargetRetryPolicy) -> events.IRuleTarget:
        return topic_target(self._topic, message=message, dead_letter_queue=dead_letter_queue,
                            retry=retry)


@validated_props(
    {
        "noncurrent_version_expiration": Span(Duration.days(1), unit="days",
                                              meaning="whole days, 1 day or more"),
        # The validator's grants name each prefix (an IAM resource and a cdk-nag
        # acknowledgment id), so a prefix must be known while the app is built.
        "key_prefixes": Items(min_items=0, each=Text(max_length=1024, literal=True)),
    },
    extension_points={"_validation_rules": _RULES_OF_EXTENSION,
                      "_object_created_pattern": None},
)
class EventDrivenIngestion(Construct):
    """Land objects in S3, validate and record each one, and route the accepted ones.

    :param bucket: an existing landing bucket. Its object events must reach EventBridge:
        a ``s3.Bucket`` of the same app gets EventBridge notifications turned on through
        its own ``NotificationConfiguration``; for an imported bucket a warning reminds
        you to turn them on. Default: None, a secure bucket is created (KMS, versioned,
        access-logged, TLS only, RETAINed).
    :param encryption_key: the KMS key for what the construct creates (bucket, ledger,
        fan-out topic). Default: None, a rotating key is created.
    :param server_access_logs_bucket: where the created bucket logs access. Only with a
        created bucket. Default: None, an access-log bucket is created.
    :param noncurrent_version_expiration: when superseded versions of the created bucket
        expire. Only with a created bucket. Default: 90 days.
    :param key_prefixes: only keys under one of these prefixes are ingested. Default:
        None, every key (except the quarantine prefix).
    :param key_suffixes: only keys ending in one of these are ingested. Default: None,
        every suffix.
    :param minimum_object_size: smaller objects are not ingested (bytes). Default: None.
    :param enable_validation: run the validation stage. Default: True.
    :param validation_rules: the validation stage's rules. Only with validation. Default:
        None, ``ObjectValidationRules()``.
    :param event_bus: where ObjectAccepted/ObjectRejected are put and where the routing
        rule lives. S3 itself only sends to the default bus, so the Object Created rule is
        always there. Default: None, the account's default bus.
    :param targets: where notifications of accepted (or, without validation, created)
        objects go. Default: none.
    :param target_retry: retry policy of every target. Default: 24 hours, 185 attempts.
    :param fan_out_subscribers: SQS queues subscribed, through a KMS-encrypted SNS topic
        that the construct creates, to accepted-object notifications. Default: none, and
        no topic.
    :param reconciliation: a scheduled sweep that re-drives, through the validator, every
        landed object the ledger does not know, so an event lost anywhere upstream still
        ends in the ledger (:class:`ReconciliationSweep`). Only with validation. Default:
        None, no sweep.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        noncurrent_version_expiration: Duration | None = None,
        key_prefixes: Sequence[str] | None = None,
        key_suffixes: Sequence[str] | None = None,
        minimum_object_size: int | None = None,
        enable_validation: bool = True,
        validation_rules: ObjectValidationRules | None = None,
        event_bus: events.IEventBus | None = None,
        targets: Sequence[IngestionTarget] = (),
        target_retry: TargetRetryPolicy | None = None,
        fan_out_subscribers: Sequence[FanOutSubscriber] = (),
        reconciliation: ReconciliationSweep | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.key_prefixes: tuple[str, ...] | None = (
            tuple(key_prefixes) if key_prefixes is not None else None
        )
        self.key_suffixes: tuple[str, ...] | None = (
            tuple(key_suffixes) if key_suffixes is not None else None
        )
        self.minimum_object_size = minimum_object_size
        self.validation_enabled = enable_validation
        self.target_retry = target_retry or TargetRetryPolicy()
        self._alarm_topic = alarm_topic
        rules = validation_rules or ObjectValidationRules()
        self._check_props(
            bucket=bucket,
            server_access_logs_bucket=server_access_logs_bucket,
            noncurrent_version_expiration=noncurrent_version_expiration,
            validation_rules=validation_rules,
            rules=rules,
            targets=targets,
            fan_out_subscribers=fan_out_subscribers,
            reconciliation=reconciliation,
        )
        self._rules = rules
        #: Powertools service name of the validator: the ``service`` metric dimension.
        self._service_name = f"ingestion-{Names.unique_id(self)}"[:64]

        #: The KMS key of what this construct creates.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the ingestion pipeline {self.node.path}"
        )
        #: The landing bucket.
        self.bucket: s3.IBucket = bucket or self._create_bucket(
            server_access_logs_bucket, noncurrent_version_expiration
        )
        if bucket is not None:
            self._ensure_event_bridge_notifications(bucket)
        #: The bus carrying ObjectAccepted / ObjectRejected and the routing rule.
        self.event_bus: events.IEventBus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )
        #: Every dead-letter queue of the pipeline (targets, validator, subscriptions).
        self.dead_letter_queues: list[sqs.IQueue] = []
        #: Every alarm of the pipeline.
        self.alarms: list[cloudwatch.Alarm] = []

        #: The rule matching this bucket's new objects on the default bus.
        self.object_created_rule = events.Rule(
            self,
            "ObjectCreatedRule",
            description=f"New objects in the landing bucket of {self.node.path}",
            event_pattern=self._object_created_pattern(),
        )
        #: Ledger of every validated object (None without validation).
        self.ledger_table: dynamodb.Table | None = None
        #: The validation stage (None without validation).
        self.validator: PythonFunction | None = None
        #: The rule routing accepted objects to targets (None when nothing is routed).
        self.accepted_rule: events.Rule | None = None
        #: The reconciliation sweep function (None without ``reconciliation``).
        self.reconciler: PythonFunction | None = None
        #: The schedule that runs the sweep (None without ``reconciliation``).
        self.reconciliation_schedule: scheduler.Schedule | None = None
        #: The sweep's state (watermark, unfinished pass) (None without ``reconciliation``).
        self.reconciliation_state: ssm.StringParameter | None = None

        if enable_validation:
            self._build_validation_stage()
            routing_rule = self._accepted_rule_if_needed(targets, fan_out_subscribers)
            notification = _notification_input(_ACCEPTED_NOTIFICATION_PATHS)
        else:
            routing_rule = self.object_created_rule
            notification = _notification_input(_S3_NOTIFICATION_PATHS)

        for index, target in enumerate(targets):
            self._route(routing_rule, target, notification, f"Target{index}")

        #: The SNS fan-out topic (None without subscribers).
        self.fan_out_topic: sns.Topic | None = None
        if fan_out_subscribers:
            assert routing_rule is not None
            self._build_fan_out(routing_rule, notification, fan_out_subscribers)

        if reconciliation is not None:
            self._build_reconciliation(reconciliation)

        self._build_alarms()

    # ----------------------------------------------------------------- extension points

    def _object_created_pattern(self) -> events.EventPattern:
        """The pattern of the Object Created rule; override to ingest other objects.

        Matches this bucket's Object Created events whose key is under a prefix and ends
        in a suffix (both optional, combined with wildcards), at least
        ``minimum_object_size`` bytes, and never under the quarantine prefix when no
        prefix narrows the keys already.
        """
        object_filter: dict[str, object] = {}
        key_filter = self._key_filter()
        if key_filter is not None:
            object_filter["key"] = key_filter
        if self.minimum_object_size is not None:
            object_filter["size"] = [{"numeric": [">=", self.minimum_object_size]}]
        detail: dict[str, object] = {"bucket": {"name": [self.bucket.bucket_name]}}
        if object_filter:
            detail["object"] = object_filter
        return events.EventPattern(
            source=["aws.s3"], detail_type=["Object Created"], detail=detail
        )

    def _validation_rules(self) -> ObjectValidationRules:
        """The rules the validation stage applies; override to compute your own."""
        return self._rules

    # ----------------------------------------------------------------- public helpers

    def grant_upload(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to put objects into the landing bucket (and use its key)."""
        return self.bucket.grant_put(grantee)

    def grant_read_ledger(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read the ingestion ledger."""
        if self.ledger_table is None:
            raise ValueError("grant_read_ledger: this pipeline has no ledger (validation is off)")
        return self.ledger_table.grant_read_data(grantee)

    def metric_objects_accepted(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Objects the validation stage accepted, from its Powertools metrics."""
        return self._validator_metric("ObjectsAccepted", period, statistic)

    def metric_objects_rejected(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Objects the validation stage quarantined, from its Powertools metrics."""
        return self._validator_metric("ObjectsRejected", period, statistic)

    def metric_objects_reconciled(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Objects the reconciliation sweep re-drove: events lost upstream.

        Anything above 0 means S3 events did not reach the validator; alarm on it to
        learn of a broken event path before users do.
        """
        if self.reconciler is None:
            raise ValueError(
                "metric_objects_reconciled: this pipeline has no reconciliation sweep "
                "(pass reconciliation=ReconciliationSweep())"
            )
        return self._validator_metric("ObjectsReconciled", period, statistic)

    # ----------------------------------------------------------------- building

    def _check_props(
        self,
        *,
        bucket: s3.IBucket | None,
        server_access_logs_bucket: s3.IBucket | None,
        noncurrent_version_expiration: Duration | None,
        validation_rules: ObjectValidationRules | None,
        rules: ObjectValidationRules,
        targets: Sequence[IngestionTarget],
        fan_out_subscribers: Sequence[FanOutSubscriber],
        reconciliation: ReconciliationSweep | None,
    ) -> None:
        problems = ProblemCollector(f"EventDrivenIngestion {self.node.path}")
        if bucket is not None:
            problems.check(
                server_access_logs_bucket is None, "server_access_logs_bucket",
                "a bucket", "only applies to a bucket this construct creates; drop it or "
                "drop bucket",
            )
            problems.check(
                noncurrent_version_expiration is None, "noncurrent_version_expiration",
                noncurrent_version_expiration and noncurrent_version_expiration.to_human_string(),
                "only applies to a bucket this construct creates; drop it or drop bucket",
            )
        for prop, values in (("key_prefixes", self.key_prefixes),
                             ("key_suffixes", self.key_suffixes)):
            if values is None:
                continue
            problems.check(len(values) > 0, prop, list(values),
                           "give at least one value, or None for no filter")
            for value in values:
                problems.check(bool(value), prop, list(values), "values must not be empty strings")
        if self.minimum_object_size is not None:
            problems.check(self.minimum_object_size >= 0, "minimum_object_size",
                           self.minimum_object_size, "must be 0 or more bytes")
        if not self.validation_enabled:
            problems.check(validation_rules is None, "validation_rules", "rules",
                           "only apply when enable_validation is True")
            problems.check(bool(targets), "targets", list(targets),
                           "without validation at least one target is needed, or the "
                           "pipeline does nothing")
            problems.check(not fan_out_subscribers, "fan_out_subscribers", "subscribers",
                           "fan-out sends accepted objects, which needs enable_validation")
            problems.check(reconciliation is None, "reconciliation", "ReconciliationSweep",
                           "the sweep re-drives objects the validator's ledger lacks, which "
                           "needs enable_validation")
        else:
            self._check_rules(problems, rules)
        if reconciliation is not None:
            if isinstance(reconciliation, ReconciliationSweep):
                for sweep_problem in reconciliation.problems("reconciliation"):
                    problems.add(*sweep_problem)
            else:
                problems.add("reconciliation", reconciliation,
                             "must be a ReconciliationSweep (or None for no sweep)")
        for retry_problem in self.target_retry.problems("target_retry"):
            problems.check(False, *retry_problem)
        for index, target in enumerate(targets):
            for target_problem in target.problems():
                problems.add(f"targets[{index}]", target.__class__.__name__, target_problem)
        problems.raise_if_any()

    def _check_rules(self, problems: ProblemCollector, rules: ObjectValidationRules) -> None:
        problems.check(rules.max_object_size_bytes > 0,
                       "validation_rules.max_object_size_bytes", rules.max_object_size_bytes,
                       "must be a positive number of bytes")
        if rules.allowed_suffixes is not None:
            problems.check(len(rules.allowed_suffixes) > 0,
                           "validation_rules.allowed_suffixes", list(rules.allowed_suffixes),
                           "give at least one suffix, or None to allow any")
            problems.check(all(rules.allowed_suffixes),
                           "validation_rules.allowed_suffixes", list(rules.allowed_suffixes),
                           "suffixes must not be empty strings")
        quarantine = rules.quarantine_prefix
        problems.check(bool(quarantine) and quarantine.endswith("/"),
                       "validation_rules.quarantine_prefix", quarantine,
                       "must be a non-empty prefix ending in '/'")
        for prefix in self.key_prefixes or ():
            problems.check(
                not quarantine.startswith(prefix) and not prefix.startswith(quarantine),
                "validation_rules.quarantine_prefix", quarantine,
                f"must not overlap key prefix {prefix!r}: quarantined objects would be "
                "ingested again",
            )

    def _create_bucket(
        self,
        server_access_logs_bucket: s3.IBucket | None,
        noncurrent_version_expiration: Duration | None,
    ) -> s3.Bucket:
        logs_bucket = server_access_logs_bucket or access_log_bucket(self, "AccessLogs")
        return secure_bucket(
            self,
            "LandingBucket",
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="landing/",
            encryption_key=self.encryption_key,
            noncurrent_version_expiration=(
                noncurrent_version_expiration or DEFAULT_NONCURRENT_VERSION_EXPIRATION
            ),
            event_bridge_notifications=True,
        )

    def _ensure_event_bridge_notifications(self, bucket: s3.IBucket) -> None:
        if isinstance(bucket, s3.Bucket) and isinstance(bucket.node.default_child, s3.CfnBucket):
            enable_event_bridge_notifications(bucket)
            return
        Annotations.of(self).add_warning_v2(
            "analytics-orchestration:ingestion-imported-bucket",
            f"The landing bucket {bucket.node.path} is imported: turn on its EventBridge "
            "notifications, or no object will be ingested.",
        )

    def _key_filter(self) -> list[dict[str, object]] | None:
        prefixes, suffixes = self.key_prefixes, self.key_suffixes
        if prefixes and suffixes:
            return [{"wildcard": f"{_escape_wildcard(p)}*{_escape_wildcard(s)}"}
                    for p in prefixes for s in suffixes]
        if prefixes:
            return [{"prefix": p} for p in prefixes]
        if suffixes:
            return [{"suffix": s} for s in suffixes]
        if self.validation_enabled:
            return [{"anything-but": {"prefix": self._validation_rules().quarantine_prefix}}]
        return None

    def _build_validation_stage(self) -> None:
        rules = self._validation_rules()
        self.ledger_table = secure_table(
            self, "Ledger", partition_key="object_id", encryption_key=self.encryption_key
        )
        self.validator = python_function(
            self,
            "Validator",
            handler_name="object_validator",
            description=f"Validates and records new objects of {self.node.path}",
            service_name=self._service_name,
            metrics_namespace=METRICS_NAMESPACE,
            invoked_asynchronously=True,
            failure_queue_key=self.encryption_key,
            log_encryption_key=self.encryption_key,
            environment={
                "LEDGER_TABLE_NAME": self.ledger_table.table_name,
                "EVENT_BUS_NAME": self.event_bus.event_bus_name,
                "EVENT_SOURCE": OBJECT_ACCEPTED.source,
                "ACCEPTED_DETAIL_TYPE": OBJECT_ACCEPTED.detail_type,
                "REJECTED_DETAIL_TYPE": OBJECT_REJECTED.detail_type,
                "ALLOWED_SUFFIXES": json.dumps(list(rules.allowed_suffixes or [])),
                "MAX_OBJECT_SIZE_BYTES": str(rules.max_object_size_bytes),
                "REJECT_EMPTY": "true" if rules.reject_empty else "false",
                "QUARANTINE_PREFIX": rules.quarantine_prefix,
            },
        )
        self._grant_validator(self.validator, rules)
        assert self.validator.failure_queue is not None
        self.dead_letter_queues.append(self.validator.failure_queue)
        self._route(
            self.object_created_rule,
            IngestionTarget.function(self.validator.function),
            _notification_input(_S3_NOTIFICATION_PATHS),
            "Validation",
        )

    def _grant_validator(self, validator: PythonFunction, rules: ObjectValidationRules) -> None:
        """Exactly what the validator does: read objects, move rejects, record, emit."""
        role = validator.role
        # Only the watched prefixes: the validator never sees (so never reads or deletes) an
        # object elsewhere in the bucket.
        prefixes = list(self.key_prefixes or ())
        watched = [""] if not prefixes or "" in prefixes else prefixes
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadAndRemoveLandedObjects",
            actions=["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging",
                     "s3:GetObjectVersionTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            resources=[self.bucket.arn_for_objects(f"{prefix}*") for prefix in watched],
        ))
        # Without ListBucket S3 answers 403 instead of 404 for an object deleted since
        # its event, and the validator could not tell "gone" from "forbidden".
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="TellMissingObjectsFromForbiddenOnes",
            actions=["s3:ListBucket"],
            resources=[self.bucket.bucket_arn],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="WriteQuarantinedObjects",
            actions=["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"],
            resources=[self.bucket.arn_for_objects(f"{rules.quarantine_prefix}*")],
        ))
        keys = {self.encryption_key}
        if self.bucket.encryption_key is not None:
            keys.add(self.bucket.encryption_key)
        for key in keys:
            key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        assert self.ledger_table is not None
        # The claim is a conditional put that returns the stored row when it fails, so the
        # validator never reads the ledger; the lease and published_at are updates.
        self.ledger_table.grant(role, "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.event_bus.grant_put_events_to(role)
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        for prefix in watched:
            acknowledge(
                policy,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_logical_id(self.bucket)}.Arn>/"
                f"{prefix}*]",
                "The validator must read and move any newly landed object under the watched "
                "prefix: object keys are not known in advance, so object ARNs end in '*'.",
            )
        acknowledge(
            policy,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_logical_id(self.bucket)}.Arn>/"
            f"{rules.quarantine_prefix}*]",
            "Rejected objects are written under the quarantine prefix of this one bucket.",
        )

    def _accepted_rule_if_needed(
        self, targets: Sequence[IngestionTarget], subscribers: Sequence[FanOutSubscriber]
    ) -> events.Rule | None:
        if not targets and not subscribers:
            return None
        self.accepted_rule = events.Rule(
            self,
            "ObjectAcceptedRule",
            description=f"Accepted objects of {self.node.path}",
            event_bus=self.event_bus,
            event_pattern=OBJECT_ACCEPTED.pattern({"bucket": [self.bucket.bucket_name]}),
        )
        return self.accepted_rule

    def _route(
        self,
        rule: events.Rule | None,
        target: IngestionTarget,
        message: events.RuleTargetInput,
        target_id: str,
    ) -> None:
        assert rule is not None
        dead_letter_queue = target_dead_letter_queue(
            self, f"{target_id}DeadLetterQueue", rule_name=rule.node.path,
            encryption_key=self.encryption_key,
        )
        self.dead_letter_queues.append(dead_letter_queue)
        rule.add_target(target.bind(
            message=message, dead_letter_queue=dead_letter_queue, retry=self.target_retry
        ))

    def _build_fan_out(
        self,
        rule: events.Rule,
        message: events.RuleTargetInput,
        subscribers: Sequence[FanOutSubscriber],
    ) -> None:
        self.fan_out_topic = secure_topic(self, "FanOutTopic", master_key=self.encryption_key)
        self._route(rule, IngestionTarget.topic(self.fan_out_topic), message, "FanOut")
        for index, subscriber in enumerate(subscribers):
            self.dead_letter_queues.append(subscribe_queue(
                self,
                f"Subscriber{index}",
                topic=self.fan_out_topic,
                queue=subscriber.queue,
                filter_policy_with_message_body=subscriber.filter_policy_with_message_body,
            ))

    def _build_reconciliation(self, sweep: ReconciliationSweep) -> None:
        """The sweep: its state parameter, function, grants and schedule."""
        assert self.validator is not None and self.ledger_table is not None
        rules = self._validation_rules()
        self.reconciliation_state = ssm.StringParameter(
            self,
            "ReconciliationState",
            description=f"Watermark and unfinished pass of the reconciliation sweep of "
                        f"{self.node.path} (written by the sweep; '{{}}' = no pass yet)",
            string_value="{}",
        )
        self.reconciler = python_function(
            self,
            "Reconciler",
            handler_name="object_reconciler",
            description=f"Re-drives landed objects the ledger of {self.node.path} lacks",
            service_name=self._service_name,
            metrics_namespace=METRICS_NAMESPACE,
            timeout=RECONCILER_TIMEOUT,
            # EventBridge Scheduler invokes Lambda asynchronously.
            invoked_asynchronously=True,
            environment={
                "BUCKET_NAME": self.bucket.bucket_name,
                "KEY_PREFIXES": json.dumps(list(self.key_prefixes or [])),
                "KEY_SUFFIXES": json.dumps(list(self.key_suffixes or [])),
                "MINIMUM_OBJECT_SIZE": (
                    "" if self.minimum_object_size is None else str(self.minimum_object_size)
                ),
                "QUARANTINE_PREFIX": rules.quarantine_prefix,
                "LEDGER_TABLE_NAME": self.ledger_table.table_name,
                "VALIDATOR_FUNCTION_NAME": self.validator.function.function_arn,
                "STATE_PARAMETER_NAME": self.reconciliation_state.parameter_name,
                "EVENT_BUS_NAME": self.event_bus.event_bus_name,
                "EVENT_SOURCE": OBJECTS_RECONCILED.source,
                "RECONCILED_DETAIL_TYPE": OBJECTS_RECONCILED.detail_type,
                "OVERLAP_SECONDS": _number_text(sweep.overlap.to_seconds()),
                "MINIMUM_AGE_SECONDS": _number_text(sweep.minimum_age.to_seconds()),
                "MAX_OBJECTS_PER_RUN": _number_text(sweep.max_objects_per_run),
            },
        )
        self._grant_reconciler(self.reconciler)
        assert self.reconciler.failure_queue is not None
        self.dead_letter_queues.append(self.reconciler.failure_queue)
        schedule_dlq = dead_letter_queue_for_service(
            self, "ReconciliationScheduleDeadLetterQueue",
            used_by=f"the reconciliation schedule of {self.node.path}",
        )
        self.dead_letter_queues.append(schedule_dlq)
        schedule_role = self._reconciliation_schedule_role()
        self.reconciliation_schedule = scheduler.Schedule(
            self,
            "ReconciliationSchedule",
            schedule=sweep.schedule,
            description=f"Runs the reconciliation sweep of {self.node.path}",
            target=scheduler_targets.LambdaInvoke(
                self.reconciler.function,
                input=scheduler.ScheduleTargetInput.from_object({
                    "trigger": "schedule",
                    "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                }),
                dead_letter_queue=schedule_dlq,
                max_event_age=self.target_retry.max_event_age,
                retry_attempts=self.target_retry.retry_attempts,
                role=schedule_role,
            ),
        )
        policy = schedule_role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        acknowledge(
            policy,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_logical_id(self.reconciler.function)}"
            ".Arn>:*]",
            "The schedule invokes only the sweep function; CDK's Lambda target grants its "
            "versions and aliases (ARN:*) along with it, and this function publishes none.",
        )

    def _reconciliation_schedule_role(self) -> iam.Role:
        """The schedule's own role, assumable only by Scheduler for this account's default
        schedule group (confused-deputy conditions as AWS documents for Scheduler)."""
        stack = Stack.of(self)
        return iam.Role(
            self,
            "ReconciliationScheduleRole",
            description=f"Lets EventBridge Scheduler run the reconciliation sweep of "
                        f"{self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": stack.account,
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler", resource="schedule-group",
                            resource_name="default",
                        ),
                    },
                },
            ),
        )

    def _grant_reconciler(self, reconciler: PythonFunction) -> None:
        """Exactly what the sweep does: list versions, read the ledger, invoke, report."""
        assert self.validator is not None and self.ledger_table is not None
        assert self.reconciliation_state is not None
        role = reconciler.role
        listing = iam.PolicyStatement(
            sid="ListLandedObjectVersions",
            actions=["s3:ListBucketVersions"],
            resources=[self.bucket.bucket_arn],
        )
        if self.key_prefixes:
            listing.add_condition(
                "StringLike", {"s3:prefix": [f"{prefix}*" for prefix in self.key_prefixes]}
            )
        role.add_to_principal_policy(listing)
        self.ledger_table.grant(role, "dynamodb:BatchGetItem")
        self.encryption_key.grant(role, "kms:Decrypt")
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="RedriveThroughTheValidator",
            actions=["lambda:InvokeFunction"],
            resources=[self.validator.function.function_arn],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="KeepTheSweepState",
            actions=["ssm:GetParameter", "ssm:PutParameter"],
            resources=[self.reconciliation_state.parameter_arn],
        ))
        self.event_bus.grant_put_events_to(role)

    def _build_alarms(self) -> None:
        topic = self._alarm_topic
        for queue in self.dead_letter_queues:
            self.alarms.append(dead_letter_queue_alarm(
                self, f"{queue.node.id}Alarm", queue=queue, what=queue.node.path,
                alarm_topic=topic,
            ))
        if self.validator is not None:
            function = self.validator.function
            self.alarms.append(function_errors_alarm(
                self, "ValidatorErrorsAlarm", function=function, alarm_topic=topic))
            self.alarms.append(function_throttles_alarm(
                self, "ValidatorThrottlesAlarm", function=function, alarm_topic=topic))
        if self.reconciler is not None:
            self.alarms.append(function_errors_alarm(
                self, "ReconcilerErrorsAlarm", function=self.reconciler.function,
                alarm_topic=topic))
        for rule in (self.object_created_rule, self.accepted_rule):
            if rule is not None:
                self.alarms.append(rule_failed_invocations_alarm(
                    self, f"{rule.node.id}FailedInvocationsAlarm", rule=rule,
                    alarm_topic=topic,
                ))

    def _validator_metric(self, name: str, period: Duration, statistic: str) -> cloudwatch.Metric:
        if self.validator is None:
            raise ValueError(f"metric {name}: this pipeline has no validation stage")
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._service_name},
            statistic=statistic,
            period=period,
        )


def _notification_input(paths: Mapping[str, str]) -> events.RuleTargetInput:
    """The compact notification, built by an input transformer from ``paths``."""
    return events.RuleTargetInput.from_object(
        {name: events.EventField.from_path(path) for name, path in paths.items()}
    )


def _seconds_or_none(duration: Duration) -> float | None:
    """The duration in seconds (maybe a token); None when CDK cannot convert a token.

    A token amount converts only within its own unit (``Duration.seconds(parameter)``);
    ``Duration.minutes(parameter)`` would need arithmetic CloudFormation cannot do.
    """
    try:
        return float(duration.to_seconds())
    except RuntimeError:
        return None


def _number_text(value: float) -> str:
    """A number as an environment value: digits, or the token of a deploy-time number."""
    if Token.is_unresolved(value):
        return Token.as_string(value)
    return str(int(value))


def _escape_wildcard(text: str) -> str:
    """Escape EventBridge wildcard metacharacters so a prefix or suffix matches literally."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def _logical_id(construct: IConstruct) -> str:
    """The logical id cdk-nag prints for ``construct`` (a bucket, a function) in a finding."""
    child = construct.node.default_child
    if not isinstance(child, CfnElement):
        return construct.node.id
    return str(Stack.of(construct).resolve(Stack.of(construct).get_logical_id(child)))
