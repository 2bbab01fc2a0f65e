"""StreamToStateMachinePipe: Kinesis or DynamoDB stream -> filter -> enrichment -> Express.

An EventBridge Pipe (L1 ``CfnPipe``; see :mod:`..event_routing.pipe` for why) that runs an
Express state machine synchronously (``REQUEST_RESPONSE``) for each batch of a stream::

    stream --(filter: records matching no pattern are skipped)--> enrichment function
        (optional, batch in, batch out) --> Express execution, input = the batch as a JSON
        array; the pipe waits for it: a failed execution fails the batch
    failed batch --> bisected (AUTOMATIC_BISECT) and retried, at most ``retry_attempts``
        times and ``max_record_age`` old --> its metadata to the dead-letter queue (SQS,
        encrypted, alarmed)

Kinesis records reach the target flattened, ``data`` base64-encoded
(``{"partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp",
"eventSource", ...}``): decode it with ``States.Base64Decode`` then
``States.StringToJson``. A filter matches ``data`` as JSON
(``{"data": {"bot_score": [{"numeric": [">=", 0.9]}]}}``).

Limits (EventBridge Pipes API reference, ``PipeSourceKinesisStreamParameters`` and
``PipeSourceDynamoDBStreamParameters``): BatchSize 1-10,000, MaximumBatchingWindowInSeconds
0-300, MaximumRetryAttempts -1-10,000, MaximumRecordAgeInSeconds -1 or 60-604,800,
ParallelizationFactor 1-10. Regions: as :mod:`..event_routing.pipe` (cfn-lint E3006 is
ignored on the pipe).
"""

from __future__ import annotations

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

from .._foundation import (
    ProblemCollector,
    dead_letter_queue_alarm,
    log_group,
    require_feature_flags,
    secure_key,
)
from .._foundation.alarms import pipe_failures_alarm
from .._foundation.queues import dead_letter_queue_for_service
from .._foundation.regions import available_in_some_regions_only
from .._foundation.validation import Items, Number, Span, validated_props
from ..event_routing.pipe import PipeEnrichment, PipeLogLevel
from .consumer import (
    DEFAULT_MAX_RECORD_AGE,
    DEFAULT_RETRY_ATTEMPTS,
    MAX_FILTERS,
    SourceKind,
    StreamSource,
)

__all__ = ["StreamToStateMachinePipe"]

#: Records per execution by default: small batches keep an Express execution's input
#: (at most 256 KB) and its five-minute limit comfortable.
DEFAULT_BATCH_SIZE = 10
METRIC_PERIOD = Duration.minutes(5)
#: The keys a filter may match on: a Kinesis record as a pipe passes it (flattened) and a
#: DynamoDB stream record.
KINESIS_PIPE_FILTER_KEYS = frozenset({
    "data", "partitionKey", "sequenceNumber", "approximateArrivalTimestamp",
    "kinesisSchemaVersion", "eventSource", "eventID", "eventName", "awsRegion",
})


@validated_props({
    "batch_size": Number(1, 10_000),
    "parallelization_factor": Number(1, 10),
    "retry_attempts": Number(0, 10_000),
    "max_record_age": Span(Duration.seconds(60), Duration.days(7), whole_seconds=True,
                           meaning="60 seconds to 7 days (604,800 s)"),
    "maximum_batching_window": Span(Duration.seconds(0), Duration.seconds(300),
                                    whole_seconds=True, meaning="0 to 300 seconds"),
    "filter_patterns": Items(min_items=0, max_items=MAX_FILTERS),
})
class StreamToStateMachinePipe(Construct):
    """Run an Express workflow synchronously for each batch of a stream.

    :param source: ``StreamSource.kinesis(stream)`` (no enhanced fan-out) or
        ``StreamSource.dynamodb(table)``.
    :param state_machine: the Express state machine run for each batch (a Standard one
        cannot run synchronously; the pipe would fail every batch).
    :param filter_patterns: EventBridge patterns on the record (see the module
        docstring); a record matching none is skipped. At most 5. Default: none.
    :param enrichment: ``PipeEnrichment.function(fn)``, called with the batch before the
        workflow; what it returns is the workflow's input. Default: None.
    :param starting_position: ``TRIM_HORIZON`` (default) or ``LATEST``.
    :param batch_size: records per execution at most (1-10,000). Default: 10.
    :param maximum_batching_window: how long to gather a batch (0-300 s). Default: None.
    :param parallelization_factor: concurrent batches per shard (1-10). Default: 1.
    :param retry_attempts: retries of a failed batch before it goes to the dead-letter
        queue (0-10,000). Default: 10.
    :param max_record_age: older records go to the dead-letter queue unprocessed
        (60 s-7 days; below the stream's retention). Default: None, 6 hours.
    :param dead_letter_queue: where failed batches' metadata goes. Default: None, one is
        created (14 days, encrypted with ``encryption_key``).
    :param encryption_key: the key of the dead-letter queue. Default: None, a rotating key.
    :param log_level: what the pipe logs. Default: ``PipeLogLevel.ERROR``.
    :param log_encryption_key: the key of the pipe's log group. Default: None, the
        stack's shared key.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: StreamSource,
        state_machine: sfn.IStateMachine,
        filter_patterns: Sequence[Mapping[str, Any]] = (),
        enrichment: PipeEnrichment | None = None,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        batch_size: int = DEFAULT_BATCH_SIZE,
        maximum_batching_window: Duration | None = None,
        parallelization_factor: int = 1,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_record_age: Duration | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        encryption_key: kms.IKey | None = None,
        log_level: PipeLogLevel = PipeLogLevel.ERROR,
        log_encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        age = max_record_age or DEFAULT_MAX_RECORD_AGE
        self._check_props(source=source, state_machine=state_machine,
                          filter_patterns=filter_patterns, enrichment=enrichment,
                          starting_position=starting_position, max_record_age=age,
                          dead_letter_queue=dead_letter_queue)
        self.source = source
        self.state_machine = state_machine
        #: The enrichment function (None without enrichment).
        self.enrichment: lambda_.IFunction | None = (
            enrichment.resolve(self) if enrichment is not None else None)
        #: Where failed batches' metadata goes.
        self.dead_letter_queue: sqs.IQueue = dead_letter_queue or dead_letter_queue_for_service(
            self, "DeadLetterQueue", used_by=f"the pipe {self.node.path}",
            encryption_key=encryption_key or secure_key(
                self, "Key", description=f"Encrypts the dead-letter queue of {self.node.path}"),
        )
        #: The pipe's execution log group.
        self.log_group: logs.LogGroup = log_group(self, "LogGroup",
                                                  encryption_key=log_encryption_key)
        #: The role the pipe assumes: read the stream, invoke the enrichment, run the
        #: state machine synchronously, send to the dead-letter queue.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"),
                             description=f"Role of the pipe {self.node.path}")
        self._grant(self.role)
        stream_parameters: dict[str, Any] = {
            "starting_position": starting_position.value,
            "batch_size": batch_size,
            "maximum_batching_window_in_seconds": (
                int(maximum_batching_window.to_seconds()) if maximum_batching_window else None),
            "parallelization_factor": parallelization_factor,
            "maximum_retry_attempts": retry_attempts,
            "maximum_record_age_in_seconds": int(age.to_seconds()),
            "on_partial_batch_item_failure": "AUTOMATIC_BISECT",
            "dead_letter_config": pipes.CfnPipe.DeadLetterConfigProperty(
                arn=self.dead_letter_queue.queue_arn),
        }
        source_parameters: dict[str, Any] = {}
        if source.kind is SourceKind.KINESIS:
            assert source.stream is not None
            source_arn = source.stream.stream_arn
            source_parameters["kinesis_stream_parameters"] = (
                pipes.CfnPipe.PipeSourceKinesisStreamParametersProperty(**stream_parameters))
        else:
            assert source.table is not None and source.table.table_stream_arn is not None
            source_arn = source.table.table_stream_arn
            source_parameters["dynamo_db_stream_parameters"] = (
                pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(**stream_parameters))
        if filter_patterns:
            source_parameters["filter_criteria"] = pipes.CfnPipe.FilterCriteriaProperty(
                filters=[pipes.CfnPipe.FilterProperty(pattern=json.dumps(p, sort_keys=True))
                         for p in filter_patterns])
        #: The L1 pipe (``node.default_child``).
        self.pipe = pipes.CfnPipe(
            self, "Resource",
            role_arn=self.role.role_arn,
            source=source_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(**source_parameters),
            enrichment=self.enrichment.function_arn if self.enrichment else None,
            target=state_machine.state_machine_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                step_function_state_machine_parameters=(
                    pipes.CfnPipe.PipeTargetStateMachineParametersProperty(
                        invocation_type="REQUEST_RESPONSE"))),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level=log_level.value,
                cloudwatch_logs_log_destination=(
                    pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                        log_group_arn=self.log_group.log_group_arn)),
            ),
            description=f"{self.node.path}: stream to Express state machine",
        )
        available_in_some_regions_only(self.pipe)
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.pipe.node.add_dependency(policy)
        #: The pipe's name (generated by CloudFormation).
        self.pipe_name: str = self.pipe.ref
        #: The pipe's alarms: failed executions, and a failed batch in the dead-letter queue.
        self.alarms: list[cloudwatch.Alarm] = [
            pipe_failures_alarm(self, "ExecutionFailedAlarm", pipe_name=self.pipe_name,
                                what=self.node.path, alarm_topic=alarm_topic),
            dead_letter_queue_alarm(self, "DeadLetterQueueAlarm", queue=self.dead_letter_queue,
                                    what=f"{self.node.path} gave up on a batch",
                                    alarm_topic=alarm_topic),
        ]

    def metric_execution_failed(self, *, period: Duration = METRIC_PERIOD,
                                statistic: str = "Sum") -> cloudwatch.Metric:
        """Pipe executions that failed (AWS/EventBridge/Pipes ``ExecutionFailed``)."""
        return cloudwatch.Metric(
            namespace="AWS/EventBridge/Pipes", metric_name="ExecutionFailed",
            dimensions_map={"PipeName": self.pipe_name}, period=period, statistic=statistic)

    def grant_read_dead_letters(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read (and delete) failed batches' metadata."""
        return self.dead_letter_queue.grant_consume_messages(grantee)

    # ----------------------------------------------------------------- extension points

    def _grant(self, role: iam.Role) -> None:
        """What the pipe's role may do; override to grant more."""
        if self.source.kind is SourceKind.KINESIS:
            assert self.source.stream is not None
            self.source.stream.grant_read(role)
        else:
            assert self.source.table is not None
            self.source.table.grant_stream_read(role)
        if self.enrichment is not None:
            role.add_to_principal_policy(iam.PolicyStatement(
                sid="InvokeEnrichment", actions=["lambda:InvokeFunction"],
                resources=[self.enrichment.function_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="StartSyncExecution", actions=["states:StartSyncExecution"],
            resources=[self.state_machine.state_machine_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="SendToDeadLetterQueue", actions=["sqs:SendMessage"],
            resources=[self.dead_letter_queue.queue_arn]))
        key = self.dead_letter_queue.encryption_master_key
        if key is not None:
            key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")

    # ----------------------------------------------------------------- internals

    def _check_props(self, *, source: StreamSource, state_machine: sfn.IStateMachine,
                     filter_patterns: Sequence[Mapping[str, Any]],
                     enrichment: PipeEnrichment | None,
                     starting_position: lambda_.StartingPosition, max_record_age: Duration,
                     dead_letter_queue: sqs.IQueue | None) -> None:
        problems = ProblemCollector(f"StreamToStateMachinePipe {self.node.path}")
        source.check(problems, "source")
        problems.check(not source.enhanced_fan_out, "source", "enhanced fan-out",
                       "a pipe reads the stream itself; give StreamSource.kinesis(stream)")
        cfn = state_machine.node.default_child
        if isinstance(cfn, sfn.CfnStateMachine) and isinstance(cfn.state_machine_type, str):
            problems.check(cfn.state_machine_type == "EXPRESS", "state_machine",
                           cfn.state_machine_type,
                           "must be an EXPRESS state machine (only those run synchronously)")
        problems.check(starting_position in (lambda_.StartingPosition.TRIM_HORIZON,
                                             lambda_.StartingPosition.LATEST),
                       "starting_position", starting_position,
                       "must be TRIM_HORIZON or LATEST")
        if enrichment is not None and enrichment.resolves_to_library_parser:
            problems.add("enrichment", "PipeEnrichment.sqs_record_parser()",
                         "parses SQS records only; give PipeEnrichment.function(fn)")
        retention = source.retention_period
        if retention is not None and not (retention.is_unresolved()
                                          or max_record_age.is_unresolved()):
            problems.check(max_record_age.to_seconds() < retention.to_seconds(),
                           "max_record_age", max_record_age,
                           f"must be below the stream's retention "
                           f"({retention.to_human_string()})")
        if dead_letter_queue is not None:
            problems.check(not dead_letter_queue.fifo, "dead_letter_queue", "a FIFO queue",
                           "must be a standard queue")
        keys = KINESIS_PIPE_FILTER_KEYS if source.kind is SourceKind.KINESIS else (
            source.filter_keys)
        for index, pattern in enumerate(filter_patterns):
            unknown = sorted(set(pattern) - keys)
            problems.check(bool(pattern) and not unknown, f"filter_patterns[{index}]",
                           dict(pattern), "must be a non-empty pattern on the record keys ("
                           + ", ".join(sorted(keys)) + ")")
        problems.raise_if_any()
