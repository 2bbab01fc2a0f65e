"""QueueToStateMachinePipe: SQS -> optional filter -> optional Lambda enrichment -> Step Functions.

An EventBridge Pipe (aws-cdk-lib 2.275 has only the L1 ``CfnPipe``; the L2 is still the
alpha package ``aws-cdk.aws-pipes-alpha``, which this library does not depend on)::

    SQS queue --(filter: drop what no pattern matches)--> enrichment function (batch in,
        batch out; optional) --> state machine: one execution per batch, input = the
        batch as a JSON array

Messages the pipe fails on (enrichment error, target refused) stay in the queue and are
retried, then moved to the queue's own dead-letter queue by its redrive policy. Every
execution step is logged to an encrypted-at-rest log group with finite retention.

Regions: EventBridge Pipes is not offered in every region (in late 2026 cfn-lint lists
ap-east-2, ap-southeast-4 to -7, ca-west-1, il-central-1, mx-central-1 and GovCloud as
lacking ``AWS::Pipes::Pipe``). The template stays environment-agnostic, so the pipe
resource carries a cfn-lint exception for that one check (E3006, "resource type not
available in a region"); deploying to such a region fails in CloudFormation.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration.constructs._foundation import (
    ProblemCollector,
    log_group,
    python_function,
    require_feature_flags,
)
from analytics_orchestration.constructs._foundation.alarms import pipe_failures_alarm
from analytics_orchestration.constructs._foundation.functions import (
    acknowledge_no_dead_letter_queue,
)

from .._foundation.regions import available_in_some_regions_only
from .._foundation.validation import Span, validated_props

__all__ = ["PipeEnrichment", "PipeLogLevel", "QueueToStateMachinePipe"]

DEFAULT_BATCH_SIZE = 1
MAX_SQS_BATCH_SIZE = 10
MAX_FILTERS = 5
METRIC_PERIOD = Duration.minutes(5)
#: The keys of an SQS record a filter pattern may match on.
SQS_RECORD_KEYS = frozenset({
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
    "eventSource", "eventSourceARN", "awsRegion",
})


class PipeLogLevel(enum.Enum):
    """How much a pipe logs (there is no OFF: a pipe always logs at least its errors)."""

    #: Only failed executions.
    ERROR = "ERROR"
    #: Every step's start and end (and errors).
    INFO = "INFO"
    #: Everything, including each request and response (noisy; for debugging).
    TRACE = "TRACE"


@validated_props()
class PipeEnrichment:
    """The enrichment step of a pipe; build one with a factory method."""

    def __init__(self, function: lambda_.IFunction | None) -> None:
        self._function = function

    @classmethod
    def function(cls, function: lambda_.IFunction) -> PipeEnrichment:
        """Your function: called synchronously with the batch, returns the array to send."""
        return cls(function)

    @classmethod
    def sqs_record_parser(cls) -> PipeEnrichment:
        """The library's ``pipe_enricher`` handler, created with the pipe.

        Each SQS record becomes ``{"message_id", "valid", "sent_at", "receive_count",
        "attributes", "payload"}``: the body parsed as JSON (an SNS envelope unwrapped), its
        string message attributes, and ``valid: false`` with ``error`` for a body that is
        not JSON, instead of failing the batch.
        """
        return cls(None)

    @property
    def resolves_to_library_parser(self) -> bool:
        """True for ``sqs_record_parser()`` (the library's handler, built on resolve)."""
        return self._function is None

    def resolve(self, scope: Construct) -> lambda_.IFunction:
        """The function to call, creating the library's handler in ``scope`` if needed."""
        if self._function is not None:
            return self._function
        built = python_function(
            scope, "Enrichment", handler_name="pipe_enricher",
            description=f"Parses SQS records for the pipe {scope.node.path}",
        )
        acknowledge_no_dead_letter_queue(
            built.function,
            "EventBridge Pipes invokes this enrichment synchronously: a failed batch stays "
            "in the source queue, is retried and then moved to that queue's DLQ.",
        )
        return built.function


@validated_props()
class QueueToStateMachinePipe(Construct):
    """Start a state machine for messages of a queue, filtered and enriched on the way.

    :param queue: the source queue. It should have a redrive policy: messages the pipe
        keeps failing on then end in its dead-letter queue.
    :param state_machine: the target; each batch starts one execution (fire and forget)
        whose input is the batch (after enrichment) as a JSON array.
    :param filter_patterns: EventBridge patterns on the SQS record (``body`` is matched as
        JSON when it is JSON, e.g. ``{"body": {"status": ["FAILED"]}}``); a message matching
        none is deleted without reaching the enrichment or target. Default: none, every
        message passes.
    :param enrichment: a function called synchronously with the batch (a JSON array of SQS
        records) that returns the array to send on; an empty array stops the batch:
        ``PipeEnrichment.function(fn)`` or the library's
        ``PipeEnrichment.sqs_record_parser()``. Default: None, the records go to the
        target as they are.
    :param batch_size: messages per batch, 1 to 10. Default: 1 (one execution per
        message).
    :param maximum_batching_window: how long to wait to fill a batch. Default: None, no
        waiting.
    :param log_level: what the pipe logs. Default: ``PipeLogLevel.INFO``.
    :param include_execution_data: also log payloads, headers and errors in full (they may
        hold sensitive data). Default: False.
    :param log_encryption_key: a key for the pipe's log group. Default: None, CloudWatch
        Logs' own encryption.
    :param alarm_topic: where the failure alarm notifies. Default: None, no action.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        state_machine: sfn.IStateMachine,
        filter_patterns: Sequence[Mapping[str, Any]] = (),
        enrichment: PipeEnrichment | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        maximum_batching_window: Duration | None = None,
        log_level: PipeLogLevel = PipeLogLevel.INFO,
        include_execution_data: bool = False,
        log_encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self._check_props(
            queue=queue, filter_patterns=filter_patterns, batch_size=batch_size,
            maximum_batching_window=maximum_batching_window,
        )
        self.queue = queue
        self.state_machine = state_machine
        #: The enrichment function (None without enrichment).
        self.enrichment: lambda_.IFunction | None = (
            enrichment.resolve(self) if enrichment is not None else None
        )
        #: The pipe's execution log group.
        self.log_group: logs.LogGroup = log_group(
            self, "LogGroup", encryption_key=log_encryption_key
        )
        #: The role the pipe assumes: consume the queue, invoke the enrichment, start
        #: executions of the state machine, nothing else.
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"),
            description=f"Role of the pipe {self.node.path}",
        )
        self._grant(self.role)
        source_parameters: dict[str, Any] = {
            "sqs_queue_parameters": pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(
                batch_size=batch_size,
                maximum_batching_window_in_seconds=(
                    int(maximum_batching_window.to_seconds()) if maximum_batching_window
                    else None
                ),
            ),
        }
        if filter_patterns:
            source_parameters["filter_criteria"] = pipes.CfnPipe.FilterCriteriaProperty(
                filters=[pipes.CfnPipe.FilterProperty(pattern=json.dumps(p, sort_keys=True))
                         for p in filter_patterns]
            )
        #: The L1 pipe (``node.default_child``).
        self.pipe = pipes.CfnPipe(
            self,
            "Resource",
            role_arn=self.role.role_arn,
            source=queue.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(**source_parameters),
            enrichment=self.enrichment.function_arn if self.enrichment else None,
            target=state_machine.state_machine_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                step_function_state_machine_parameters=(
                    pipes.CfnPipe.PipeTargetStateMachineParametersProperty(
                        invocation_type="FIRE_AND_FORGET")
                ),
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level=log_level.value,
                include_execution_data=["ALL"] if include_execution_data else None,
                cloudwatch_logs_log_destination=(
                    pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                        log_group_arn=self.log_group.log_group_arn)
                ),
            ),
            description=f"{self.node.path}: queue to state machine",
        )
        # Pipes is missing in a few regions; see the module docstring.
        available_in_some_regions_only(self.pipe)
        # The role's policy must exist before the pipe starts polling.
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.pipe.node.add_dependency(policy)
        #: The pipe's name (generated by CloudFormation).
        self.pipe_name: str = self.pipe.ref
        #: The pipe's alarms.
        self.alarms: list[cloudwatch.Alarm] = [pipe_failures_alarm(
            self, "ExecutionFailedAlarm", pipe_name=self.pipe_name, what=self.node.path,
            alarm_topic=alarm_topic,
        )]

    # ----------------------------------------------------------------- public API

    def metric_execution_failed(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Pipe executions that failed (AWS/EventBridge/Pipes ``ExecutionFailed``)."""
        return self._metric("ExecutionFailed", period, statistic)

    def metric_target_stage_failed(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        """Batches the state machine refused (``TargetStageFailed``)."""
        return self._metric("TargetStageFailed", period, statistic)

    # ----------------------------------------------------------------- extension points

    def _grant(self, role: iam.Role) -> None:
        """What the pipe's role may do; override to grant more (e.g. another key)."""
        self.queue.grant_consume_messages(role)
        if self.enrichment is not None:
            # The pipe invokes the unqualified function: no ``:*`` versions/aliases grant.
            role.add_to_principal_policy(iam.PolicyStatement(
                sid="InvokeEnrichment", actions=["lambda:InvokeFunction"],
                resources=[self.enrichment.function_arn],
            ))
        self.state_machine.grant_start_execution(role)

    # ----------------------------------------------------------------- internals

    def _metric(self, name: str, period: Duration, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/EventBridge/Pipes", metric_name=name,
            dimensions_map={"PipeName": self.pipe_name}, period=period, statistic=statistic,
        )

    def _check_props(
        self,
        *,
        queue: sqs.IQueue,
        filter_patterns: Sequence[Mapping[str, Any]],
        batch_size: int,
        maximum_batching_window: Duration | None,
    ) -> None:
        problems = ProblemCollector(f"QueueToStateMachinePipe {self.node.path}")
        problems.check(1 <= batch_size <= MAX_SQS_BATCH_SIZE, "batch_size", batch_size,
                       f"must be 1 to {MAX_SQS_BATCH_SIZE}")
        if queue.fifo:
            problems.check(maximum_batching_window is None, "maximum_batching_window",
                           "a window", "FIFO queue sources do not support a batching window")
        if maximum_batching_window is not None:
            problems.apply({"maximum_batching_window": Span(
                Duration.seconds(0), Duration.seconds(300), whole_seconds=True,
                meaning="0 to 300 seconds")},
                {"maximum_batching_window": maximum_batching_window})
        check_filter_patterns(problems, "filter_patterns", filter_patterns)
        problems.raise_if_any()


def check_filter_patterns(problems: ProblemCollector, prop: str,
                          filter_patterns: Sequence[Mapping[str, Any]]) -> None:
    """The pipe's filter rules, for the pipe and for whoever builds one (``prop``: where
    the patterns were given), so that a bad pattern is reported before any pipe is built."""
    problems.check(len(filter_patterns) <= MAX_FILTERS, prop,
                   f"{len(filter_patterns)} patterns", f"at most {MAX_FILTERS}")
    for index, pattern in enumerate(filter_patterns):
        unknown = sorted(set(pattern) - SQS_RECORD_KEYS)
        problems.check(bool(pattern) and not unknown, f"{prop}[{index}]", dict(pattern),
                       "must be a non-empty pattern on SQS record keys ("
                       + ", ".join(sorted(SQS_RECORD_KEYS)) + ")")
