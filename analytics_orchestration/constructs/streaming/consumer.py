"""StreamConsumer: a Lambda function consuming a Kinesis data stream or a DynamoDB stream.

::

    Kinesis stream (or its enhanced fan-out consumer) | DynamoDB stream
        --(filter criteria: records matching no pattern are skipped)-->
        event source mapping: batches per shard, in order; ReportBatchItemFailures;
        bisect on error; at most ``retry_attempts`` retries and ``max_record_age``
          -> Lambda handler (the library's, or your code with Powertools' BatchProcessor)
          -> after the retries: the batch's metadata to the on-failure destination
             (SQS, encrypted, 14 days; or S3 with the records), alarmed

Why these defaults, against CDK's and AWS Solutions Constructs':

- CDK's ``KinesisEventSource``/``DynamoEventSource`` retry a failing batch forever and
  discard nothing on purpose: one poison record blocks its shard until the data expires
  (aws-cdk#10486), then it is dropped silently (no on-failure destination by default).
- AWS Solutions Constructs (``aws-kinesisstreams-lambda``) cap retries at 500 and the
  record age at 24 hours with bisect and an SQS DLQ: a poison record still holds its shard
  for up to a day, and on a 24-hour stream its data expires when its metadata reaches the
  DLQ, so it can no longer be read back.
- Here: bisect on (splitting does not consume retries, so a poison record is isolated in
  log2(batch) steps), :data:`DEFAULT_RETRY_ATTEMPTS` retries of the isolated record, a
  maximum record age of :data:`DEFAULT_MAX_RECORD_AGE` validated to stay below the stream's
  retention (time left to fetch a discarded record again), partial batch responses
  always on, and an on-failure destination always present and alarmed.

Limits are Lambda's (API reference, CreateEventSourceMapping:
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html):
BatchSize 1-10,000, MaximumBatchingWindowInSeconds 0-300, ParallelizationFactor 1-10,
MaximumRetryAttempts -1-10,000, MaximumRecordAgeInSeconds -1 or 60-604,800,
TumblingWindowInSeconds 0-900. DynamoDB batches are capped at 1,000 (CDK's
``DynamoEventSource`` check).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Duration, Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .._foundation import (
    ProblemCollector,
    acknowledge,
    alarm,
    dead_letter_queue_alarm,
    function_errors_alarm,
    function_throttles_alarm,
    python_function,
    require_feature_flags,
    secure_key,
    secure_table,
)
from .._foundation.alarms import ALARM_PERIOD
from .._foundation.compliance import nag_reference
from .._foundation.functions import acknowledge_no_dead_letter_queue
from .._foundation.queues import dead_letter_queue_for_service
from .._foundation.validation import Items, Number, Span, Text, validated_props

__all__ = ["ConsumerHandler", "StreamConsumer", "StreamSource"]

#: Lambda's own default batch size for streams.
DEFAULT_BATCH_SIZE = 100
#: Retries of a failing batch (after bisecting, of the record left alone) before its
#: metadata goes to the on-failure destination.
DEFAULT_RETRY_ATTEMPTS = 10
#: Records older than this are sent to the on-failure destination unprocessed: a quarter
#: of Kinesis's minimum retention, so a discarded record can still be read back.
DEFAULT_MAX_RECORD_AGE = Duration.hours(6)
#: The consumer alarms when its iterator is this far behind (Lambda ``IteratorAge``).
DEFAULT_ITERATOR_AGE_THRESHOLD = Duration.minutes(5)
#: Default period of the ``metric_*`` helpers.
METRIC_PERIOD = Duration.minutes(5)
#: DynamoDB Streams keep records for 24 hours (not configurable).
DYNAMODB_STREAM_RETENTION = Duration.hours(24)
MAX_KINESIS_BATCH = 10_000
MAX_DYNAMODB_BATCH = 1_000
MAX_FILTERS = 5
#: The keys a filter pattern may match on (Lambda event filtering): a Kinesis record's
#: ``kinesis`` object (``data`` matched as JSON) and a DynamoDB stream record.
KINESIS_FILTER_KEYS = frozenset({"data", "partitionKey", "sequenceNumber",
                                 "approximateArrivalTimestamp", "kinesisSchemaVersion"})
DYNAMODB_FILTER_KEYS = frozenset({"eventName", "dynamodb", "eventID", "eventVersion",
                                  "awsRegion", "eventSource", "eventSourceARN",
                                  "userIdentity"})


class SourceKind(enum.Enum):
    """What a :class:`StreamSource` reads."""

    KINESIS = "kinesis"
    DYNAMODB = "dynamodb"


@validated_props(factories={"kinesis": {"consumer_name": Text(
    max_length=128, pattern=r"[a-zA-Z0-9_.-]+",
    meaning="1 to 128 letters, digits, '_', '.' or '-'")}})
class StreamSource:
    """The stream a consumer reads; build one with a factory method."""

    def __init__(self, kind: SourceKind, *, stream: kinesis.IStream | None = None,
                 table: dynamodb.ITable | None = None, enhanced_fan_out: bool = False,
                 consumer_name: str | None = None,
                 retention_period: Duration | None = None) -> None:
        self.kind = kind
        self.stream = stream
        self.table = table
        self.enhanced_fan_out = enhanced_fan_out
        self.consumer_name = consumer_name
        #: How long the source keeps records (None: unknown, e.g. a stream you imported).
        self.retention_period = retention_period

    @classmethod
    def kinesis(cls, stream: kinesis.IStream, *, enhanced_fan_out: bool = False,
                consumer_name: str | None = None) -> StreamSource:
        """A Kinesis data stream (``KinesisDataStream.stream`` or your own).

        ``enhanced_fan_out`` registers a dedicated consumer (``AWS::Kinesis::StreamConsumer``,
        named ``consumer_name`` or after the construct): 2 MB/s per shard for this consumer
        alone, pushed over HTTP/2, instead of sharing the shard's 2 MB/s and 5 reads/s with
        every other reader. It costs per consumer-shard-hour and per GB read.
        """
        retention = None
        if isinstance(stream, kinesis.Stream):
            cfn = stream.node.default_child
            if isinstance(cfn, kinesis.CfnStream) and isinstance(
                    cfn.retention_period_hours, int | float):
                retention = Duration.hours(cfn.retention_period_hours)
        return cls(SourceKind.KINESIS, stream=stream, enhanced_fan_out=enhanced_fan_out,
                   consumer_name=consumer_name, retention_period=retention)

    @classmethod
    def dynamodb(cls, table: dynamodb.ITable) -> StreamSource:
        """The DynamoDB stream of ``table`` (``StreamingTable.table`` or your own, with its
        stream on); DynamoDB Streams keep records 24 hours."""
        return cls(SourceKind.DYNAMODB, table=table,
                   retention_period=DYNAMODB_STREAM_RETENTION)

    def check(self, problems: ProblemCollector, prop: str) -> None:
        """Record what is wrong with this source."""
        if self.kind is SourceKind.DYNAMODB:
            assert self.table is not None
            problems.check(self.table.table_stream_arn is not None, prop,
                           "a table without a stream",
                           "the table needs DynamoDB Streams on (StreamingTable, or "
                           "stream=... on your table)")
        elif self.consumer_name is not None:
            problems.check(self.enhanced_fan_out, f"{prop}.consumer_name",
                           self.consumer_name, "only applies with enhanced_fan_out=True")

    @property
    def event_type_name(self) -> str:
        """Powertools' ``EventType`` member for this source's records."""
        return "KinesisDataStreams" if self.kind is SourceKind.KINESIS else "DynamoDBStreams"

    @property
    def max_batch_size(self) -> int:
        return MAX_KINESIS_BATCH if self.kind is SourceKind.KINESIS else MAX_DYNAMODB_BATCH

    @property
    def filter_keys(self) -> frozenset[str]:
        return KINESIS_FILTER_KEYS if self.kind is SourceKind.KINESIS else (
            DYNAMODB_FILTER_KEYS)


@dataclass(frozen=True)
class _WindowCounter:
    key_field: str
    table: dynamodb.ITable | None


@validated_props(factories={
    "code": {"handler": Text(max_length=128, pattern=r"[^\s]+\.[^\s]+",
                             meaning="module.function, e.g. index.handler"),
             "memory_size": Number(128, 10_240),
             "timeout": Span(Duration.seconds(1), Duration.minutes(15), whole_seconds=True)},
    "window_counter": {"key_field": Text(max_length=255)},
})
class ConsumerHandler:
    """The code that processes each batch; build one with a factory method.

    The library always builds the function itself (its own role, tracing, encrypted log
    group, the Powertools layer): the mapping's guarantees (partial batch responses,
    retries sized to the timeout) depend on the function it invokes.
    """

    def __init__(self, *, code: lambda_.Code | None = None, handler: str = "index.handler",
                 environment: Mapping[str, str] | None = None, memory_size: int | None = None,
                 timeout: Duration | None = None,
                 window_counter: _WindowCounter | None = None) -> None:
        self.code_asset = code
        self.handler = handler
        self.environment = dict(environment or {})
        self.memory_size = memory_size
        self.timeout = timeout
        self.counter = window_counter

    @classmethod
    def code(cls, code: lambda_.Code, *, handler: str = "index.handler",
             environment: Mapping[str, str] | None = None, memory_size: int | None = None,
             timeout: Duration | None = None) -> ConsumerHandler:
        """Your handler. Return a partial batch response (the mapping always turns on
        ``ReportBatchItemFailures``): with Powertools (its layer is attached)::

            from aws_lambda_powertools.utilities.batch import (
                BatchProcessor, EventType, process_partial_response)

            processor = BatchProcessor(event_type=EventType.KinesisDataStreams)  # or
            # EventType.DynamoDBStreams

            def handler(event, context):
                return process_partial_response(event=event, record_handler=record_handler,
                                                processor=processor, context=context)

        ``BatchProcessor`` processes every record and reports the failed ones; Lambda
        retries from the first failed one, so the records after it run again (make them
        idempotent), or copy the library's ``InOrderStreamProcessor``
        (``lambda_src/stream_window_counter/ordered.py``), which stops at the first
        failure so that each record runs once. The environment gets
        ``POWERTOOLS_SERVICE_NAME`` and ``STREAM_EVENT_TYPE`` (the ``EventType`` name).
        Defaults: the library's function memory (256 MB) and timeout (30 s).
        """
        return cls(code=code, handler=handler, environment=environment,
                   memory_size=memory_size, timeout=timeout)

    @classmethod
    def window_counter(cls, *, key_field: str,
                       table: dynamodb.ITable | None = None) -> ConsumerHandler:
        """The library's ``stream_window_counter``: counts records per value of the JSON
        field ``key_field`` (Kinesis ``data``; a DynamoDB record's ``NewImage``) in each
        tumbling window, and writes the counts when the window closes: one item per key and
        shard, ``{"key", "window": "<start>#<shard>", "window_start", "window_end",
        "shard_id", "count"}``. Needs ``tumbling_window``. A record without the field is
        a poison record: the batch stops there and it ends in the on-failure destination.
        ``table``: where the counts go (partition key ``key``, sort key ``window``, both
        strings). Default: None, the consumer creates one (``aggregate_table``).
        """
        return cls(window_counter=_WindowCounter(key_field=key_field, table=table))


#: Lambda's limits on a stream event source mapping (see the module docstring).
_LIMITS = {
    "parallelization_factor": Number(1, 10),
    "retry_attempts": Number(0, 10_000),
    "max_record_age": Span(Duration.seconds(60), Duration.days(7), whole_seconds=True,
                           meaning="60 seconds to 7 days (604,800 s)"),
    "max_batching_window": Span(Duration.seconds(0), Duration.seconds(300),
                                whole_seconds=True, meaning="0 to 300 seconds"),
    "tumbling_window": Span(Duration.seconds(0), Duration.seconds(900), whole_seconds=True,
                            meaning="0 to 900 seconds"),
    "filters": Items(min_items=0, max_items=MAX_FILTERS),
    "iterator_age_threshold": Span(Duration.seconds(1), Duration.days(7), unit="millis"),
}


@validated_props(_LIMITS)
class StreamConsumer(Construct):
    """Process a Kinesis or DynamoDB stream with Lambda, losing no record silently.

    :param source: what to read: ``StreamSource.kinesis(stream)`` or
        ``StreamSource.dynamodb(table)``.
    :param handler: what processes each batch: ``ConsumerHandler.code(...)`` or
        ``ConsumerHandler.window_counter(...)``.
    :param starting_position: where a new mapping starts reading. Default:
        ``TRIM_HORIZON``, the oldest record kept (``LATEST`` would skip everything written
        before the mapping exists). ``AT_TIMESTAMP`` is not offered.
    :param batch_size: records per invocation at most (Kinesis 1-10,000; DynamoDB
        1-1,000). Default: 100.
    :param max_batching_window: how long to gather records before invoking (0-300 s).
        Default: None, invoke as soon as records arrive.
    :param parallelization_factor: concurrent batches per shard (1-10); records of one
        partition key stay in order. Default: 1.
    :param bisect_batch_on_error: split a failing batch in two and retry each half
        (splitting consumes no retries). Default: True.
    :param retry_attempts: retries of a failing batch before its metadata goes to the
        on-failure destination (0-10,000; infinite is not offered). Default: 10.
    :param max_record_age: records older than this go to the on-failure destination
        unprocessed (60 s to 7 days), and it must stay below the stream's retention, so a
        discarded record can still be read back. Default: None, 6 hours.
    :param retry_until_records_expire: no maximum age (Lambda's -1): a record is retried
        until the stream drops it, by which time it can no longer be read back; only
        when you mean it, never with ``max_record_age``. Default: False.
    :param failure_queue: the SQS queue discarded batches' metadata goes to. Default: None,
        one is created (14 days, encrypted with ``encryption_key``), unless
        ``failure_bucket``.
    :param failure_bucket: send discarded batches to S3 instead (Lambda writes the
        metadata and the records). Default: None.
    :param filters: EventBridge-style patterns; a record matching none is skipped, never
        reaches the handler (Kinesis: on the ``kinesis`` object, ``data`` as JSON, e.g.
        ``{"data": {"page": ["/checkout"]}}``; DynamoDB: on the record, e.g.
        ``{"eventName": ["MODIFY"]}``). At most 5. Default: none, every record.
    :param tumbling_window: group records into windows of this length (0-900 s) and pass
        a state between the invocations of a window (stateful aggregation). Default: None.
    :param encryption_key: the key of what the consumer creates (failure queue, aggregate
        table, logs). Default: None, a rotating key is created.
    :param iterator_age_threshold: the consumer alarms when it is further behind than this.
        Default: 5 minutes.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: StreamSource,
        handler: ConsumerHandler,
        starting_position: lambda_.StartingPosition = lambda_.StartingPosition.TRIM_HORIZON,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batching_window: Duration | None = None,
        parallelization_factor: int = 1,
        bisect_batch_on_error: bool = True,
        retry_attempts: int = DEFAULT_RETRY_ATTEMPTS,
        max_record_age: Duration | None = None,
        retry_until_records_expire: bool = False,
        failure_queue: sqs.IQueue | None = None,
        failure_bucket: s3.IBucket | None = None,
        filters: Sequence[Mapping[str, Any]] = (),
        tumbling_window: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        iterator_age_threshold: Duration = DEFAULT_ITERATOR_AGE_THRESHOLD,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self._check_props(
            source=source, handler=handler, starting_position=starting_position,
            batch_size=batch_size, max_record_age=max_record_age,
            retry_until_records_expire=retry_until_records_expire,
            failure_queue=failure_queue, failure_bucket=failure_bucket, filters=filters,
            tumbling_window=tumbling_window,
        )
        self.source = source
        self._handler = handler
        self._alarm_topic = alarm_topic
        #: The records' maximum age (None with ``retry_until_records_expire``).
        self.max_record_age: Duration | None = (
            None if retry_until_records_expire else max_record_age or DEFAULT_MAX_RECORD_AGE)
        self.retry_attempts = retry_attempts
        self.parallelization_factor = parallelization_factor
        #: The key of the queue, table and logs the consumer creates.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts what the stream consumer {self.node.path} keeps")
        #: The table the window counter writes (None for other handlers).
        self.aggregate_table: dynamodb.ITable | None = None
        if handler.counter is not None:
            self.aggregate_table = handler.counter.table or secure_table(
                self, "AggregateTable", partition_key="key", sort_key="window",
                encryption_key=self.encryption_key)
        #: The queue discarded batches' metadata goes to (None with ``failure_bucket``).
        self.failure_queue: sqs.IQueue | None = None
        #: The bucket discarded batches go to (None unless ``failure_bucket``).
        self.failure_bucket: s3.IBucket | None = failure_bucket
        if failure_bucket is None:
            self.failure_queue = failure_queue or dead_letter_queue_for_service(
                self, "FailureQueue",
                used_by=f"the stream event source mapping of {self.node.path}",
                encryption_key=self.encryption_key,
            )
        #: The enhanced fan-out consumer (None without enhanced fan-out).
        self.stream_consumer: kinesis.StreamConsumer | None = None
        if source.enhanced_fan_out:
            assert source.stream is not None
            self.stream_consumer = kinesis.StreamConsumer(
                self, "FanOutConsumer", stream=source.stream,
                stream_consumer_name=source.consumer_name
                or Names.unique_resource_name(self, max_length=128),
            )
        #: The function that processes the batches.
        self.function: lambda_.IFunction = self._create_function()
        event_source = self._event_source(
            starting_position=starting_position, batch_size=batch_size,
            max_batching_window=max_batching_window, bisect_batch_on_error=bisect_batch_on_error,
            filters=filters, tumbling_window=tumbling_window,
        )
        self.function.add_event_source(event_source)
        if self.max_record_age is None or self._record_age_is_token():
            # Written on the L1: Lambda's -1 (infinite) explicitly, so the template says
            # what was chosen, and a token age, which CDK's range check cannot read.
            age = -1 if self.max_record_age is None else self.max_record_age.to_seconds()
            for child in self.function.node.children:
                cfn = child.node.default_child
                if isinstance(child, lambda_.EventSourceMapping) and isinstance(
                        cfn, lambda_.CfnEventSourceMapping):
                    cfn.maximum_record_age_in_seconds = age
        #: The event source mapping's id (``EventSourceMappingUUID``).
        self.event_source_mapping_id: str = event_source.event_source_mapping_id
        #: Every alarm of the consumer.
        self.alarms: list[cloudwatch.Alarm] = []
        self._build_alarms(iterator_age_threshold)

    # ----------------------------------------------------------------- public API

    def grant_read_failures(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read (and delete) what reached the on-failure destination."""
        if self.failure_queue is not None:
            return self.failure_queue.grant_consume_messages(grantee)
        assert self.failure_bucket is not None
        return self.failure_bucket.grant_read(grantee)

    def grant_read_aggregates(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the window counter's table."""
        if self.aggregate_table is None:
            raise ValueError(f"{self.node.path}: only a window counter has an aggregate table")
        return self.aggregate_table.grant_read_data(grantee)

    def metric_iterator_age(self, *, period: Duration = METRIC_PERIOD,
                            statistic: str = "Maximum") -> cloudwatch.Metric:
        """How far behind the consumer is (Lambda ``IteratorAge``, milliseconds)."""
        return self.function.metric("IteratorAge", period=period, statistic=statistic)

    def metric_errors(self, *, period: Duration = METRIC_PERIOD,
                      statistic: str = "Sum") -> cloudwatch.Metric:
        """Invocations that failed (each is retried, or bisected)."""
        return self.function.metric_errors(period=period, statistic=statistic)

    def metric_throttles(self, *, period: Duration = METRIC_PERIOD,
                         statistic: str = "Sum") -> cloudwatch.Metric:
        """Invocations throttled (the shard waits)."""
        return self.function.metric_throttles(period=period, statistic=statistic)

    def metric_failed_batches_waiting(self, *, period: Duration = METRIC_PERIOD,
                                      statistic: str = "Maximum") -> cloudwatch.Metric:
        """Discarded batches waiting in the failure queue."""
        if self.failure_queue is None:
            raise ValueError(f"{self.node.path}: discarded batches go to S3, not a queue")
        return self.failure_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic=statistic)

    # ----------------------------------------------------------------- extension points

    def _create_function(self) -> lambda_.IFunction:
        """Build the function from ``handler``; override to change how it is built (the
        consumer then attaches the event source and grants the failure destination)."""
        handler = self._handler
        environment = {"STREAM_EVENT_TYPE": self.source.event_type_name,
                       **handler.environment}
        code: dict[str, Any]
        if handler.counter is not None:
            assert self.aggregate_table is not None
            environment.update({"TABLE_NAME": self.aggregate_table.table_name,
                                "KEY_FIELD": handler.counter.key_field})
            code = {"handler_name": "stream_window_counter"}
        else:
            code = {"code": handler.code_asset, "handler": handler.handler}
        options: dict[str, Any] = {}
        if handler.memory_size is not None:
            options["memory_size"] = handler.memory_size
        if handler.timeout is not None:
            options["timeout"] = handler.timeout
        built = python_function(
            self, "Function", **code, **options,
            description=f"Consumes the stream of {self.node.path}",
            environment=environment,
            log_encryption_key=self.encryption_key,
            reserved_concurrency=None,
            concurrency_cap=(
                "a stream event source mapping runs at most one batch per shard times its "
                f"parallelization factor ({self.parallelization_factor}) at once; reserving "
                "less would throttle the mapping and hold the shards back."
            ),
        )
        acknowledge_no_dead_letter_queue(
            built.function,
            "The function is invoked by a stream event source mapping, whose on-failure "
            "destination receives every discarded batch; a function DLQ only applies to "
            "asynchronous invocations.",
        )
        if self.aggregate_table is not None:
            self.aggregate_table.grant(built.function, "dynamodb:PutItem",
                                       "dynamodb:BatchWriteItem")
            self.encryption_key.grant(built.function, "kms:Encrypt", "kms:Decrypt",
                                      "kms:GenerateDataKey")
        return built.function

    # ----------------------------------------------------------------- internals

    def _record_age_is_token(self) -> bool:
        return self.max_record_age is not None and self.max_record_age.is_unresolved()

    def _event_source(
        self, *, starting_position: lambda_.StartingPosition, batch_size: int,
        max_batching_window: Duration | None, bisect_batch_on_error: bool,
        filters: Sequence[Mapping[str, Any]], tumbling_window: Duration | None,
    ) -> event_sources.KinesisEventSource | event_sources.KinesisConsumerEventSource | (
            event_sources.DynamoEventSource):
        on_failure: lambda_.IEventSourceDlq = (
            _QueueOnFailure(self.failure_queue) if self.failure_queue is not None
            else _BucketOnFailure(self, self.failure_bucket))  # type: ignore[arg-type]
        options: dict[str, Any] = {
            "starting_position": starting_position,
            "batch_size": batch_size,
            "max_batching_window": max_batching_window,
            "parallelization_factor": self.parallelization_factor,
            "bisect_batch_on_error": bisect_batch_on_error,
            "retry_attempts": self.retry_attempts,
            # CDK's own range check cannot read a token: a token age is set on the L1.
            "max_record_age": None if self._record_age_is_token() else self.max_record_age,
            "report_batch_item_failures": True,
            "on_failure": on_failure,
            "filters": [{"pattern": json.dumps(dict(p), sort_keys=True)} for p in filters]
            or None,
            "tumbling_window": tumbling_window,
        }
        if self.source.kind is SourceKind.DYNAMODB:
            assert self.source.table is not None
            return event_sources.DynamoEventSource(self.source.table, **options)
        if self.stream_consumer is not None:
            return event_sources.KinesisConsumerEventSource(self.stream_consumer, **options)
        assert self.source.stream is not None
        return event_sources.KinesisEventSource(self.source.stream, **options)

    def _build_alarms(self, iterator_age_threshold: Duration) -> None:
        topic = self._alarm_topic
        self.alarms.append(alarm(
            self, "IteratorAgeAlarm",
            metric=self.metric_iterator_age(period=ALARM_PERIOD),
            threshold=iterator_age_threshold.to_milliseconds(),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"{self.node.path}: the consumer is more than "
                        f"{iterator_age_threshold.to_human_string()} behind its stream.",
            alarm_topic=topic,
        ))
        self.alarms.append(function_errors_alarm(
            self, "ErrorsAlarm", function=self.function, alarm_topic=topic))
        self.alarms.append(function_throttles_alarm(
            self, "ThrottlesAlarm", function=self.function, alarm_topic=topic))
        if self.failure_queue is not None:
            self.alarms.append(dead_letter_queue_alarm(
                self, "FailureQueueAlarm", queue=self.failure_queue,
                what=f"{self.node.path} discarded a batch", alarm_topic=topic))

    def _check_props(
        self, *, source: StreamSource, handler: ConsumerHandler,
        starting_position: lambda_.StartingPosition, batch_size: int,
        max_record_age: Duration | None, retry_until_records_expire: bool,
        failure_queue: sqs.IQueue | None, failure_bucket: s3.IBucket | None,
        filters: Sequence[Mapping[str, Any]], tumbling_window: Duration | None,
    ) -> None:
        problems = ProblemCollector(f"StreamConsumer {self.node.path}")
        source.check(problems, "source")
        problems.check(starting_position in (lambda_.StartingPosition.TRIM_HORIZON,
                                             lambda_.StartingPosition.LATEST),
                       "starting_position", starting_position,
                       "must be TRIM_HORIZON or LATEST")
        problems.check(1 <= batch_size <= source.max_batch_size, "batch_size", batch_size,
                       f"must be 1 to {source.max_batch_size:,} for this source")
        problems.check(not (retry_until_records_expire and max_record_age is not None),
                       "max_record_age", max_record_age,
                       "give either max_record_age or retry_until_records_expire=True")
        age = max_record_age or DEFAULT_MAX_RECORD_AGE
        retention = source.retention_period
        if not retry_until_records_expire and retention is not None and not (
                age.is_unresolved() or retention.is_unresolved()):
            problems.check(age.to_seconds() < retention.to_seconds(), "max_record_age", age,
                           f"must be below the stream's retention "
                           f"({retention.to_human_string()}), or a discarded record can "
                           "no longer be read back")
        problems.check(failure_queue is None or failure_bucket is None, "failure_bucket",
                       failure_bucket, "give failure_queue or failure_bucket, not both")
        if failure_queue is not None:
            problems.check(not failure_queue.fifo, "failure_queue", "a FIFO queue",
                           "Lambda sends discarded batches to standard queues only")
        for index, pattern in enumerate(filters):
            unknown = sorted(set(pattern) - source.filter_keys)
            problems.check(bool(pattern) and not unknown, f"filters[{index}]", dict(pattern),
                           "must be a non-empty pattern on the record keys ("
                           + ", ".join(sorted(source.filter_keys)) + ")")
        if handler.counter is not None:
            problems.check(tumbling_window is not None, "tumbling_window", tumbling_window,
                           "ConsumerHandler.window_counter needs a tumbling window")
        problems.raise_if_any()


@jsii.implements(lambda_.IEventSourceDlq)
class _QueueOnFailure:
    """An SQS on-failure destination granting exactly what Lambda uses to send to it.

    CDK's ``SqsDlq`` grants ``grant_send_messages``, which on an encrypted queue adds
    ``kms:Encrypt``, ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*``; sending to an SSE-KMS
    queue needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` only.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(self, _target: lambda_.IEventSourceMapping,
             target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        target_handler.add_to_role_policy(iam.PolicyStatement(
            actions=["sqs:SendMessage"], resources=[self.queue.queue_arn]))
        key = self.queue.encryption_master_key
        if key is not None:
            key.grant(target_handler, "kms:GenerateDataKey", "kms:Decrypt")
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


@jsii.implements(lambda_.IEventSourceDlq)
class _BucketOnFailure:
    """An S3 on-failure destination: ``s3:PutObject`` under the bucket and ``ListBucket``.

    CDK's ``S3OnFailureDestination`` grants ``grant_read_write`` (deletes included).
    """

    def __init__(self, consumer: Construct, bucket: s3.IBucket) -> None:
        self.consumer = consumer
        self.bucket = bucket

    def bind(self, _target: lambda_.IEventSourceMapping,
             target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        objects = self.bucket.arn_for_objects("*")
        target_handler.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:PutObject"], resources=[objects]))
        target_handler.add_to_role_policy(iam.PolicyStatement(
            actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]))
        key = self.bucket.encryption_key
        if key is not None:
            key.grant(target_handler, "kms:GenerateDataKey", "kms:Decrypt")
        role = target_handler.role
        policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
        if policy is not None:
            acknowledge(
                policy,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::"
                f"{nag_reference(self.consumer, objects)}]",
                "Lambda names each discarded batch's object itself: PutObject is granted "
                "on the failure bucket's objects and nothing else.",
            )
        return lambda_.DlqDestinationConfig(destination=self.bucket.bucket_arn)
