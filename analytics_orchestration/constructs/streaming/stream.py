"""KinesisDataStream: an encrypted Kinesis data stream (on-demand unless provisioned).

The stream the streaming patterns read: producers write to it (:meth:`grant_write`),
:class:`~.consumer.StreamConsumer` and :class:`~.pipe.StreamToStateMachinePipe` consume it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .._foundation import ProblemCollector, alarm, require_feature_flags, secure_key
from .._foundation.alarms import ALARM_PERIOD, alarm_on_any
from .._foundation.streams import (
    DEFAULT_STREAM_RETENTION,
    MAX_STREAM_RETENTION,
    MIN_STREAM_RETENTION,
    secure_stream,
)
from .._foundation.validation import Number, Span, validated_props

__all__ = ["KinesisDataStream"]

#: Default period of the ``metric_*`` helpers.
METRIC_PERIOD = Duration.minutes(5)
#: Provisioned streams: Kinesis's default shard quota per stream (and account, in most
#: regions) is 500; a larger count needs a quota increase first.
MAX_SHARD_COUNT = 500
#: The consumers' oldest unread record may be this old before the stream alarms.
DEFAULT_ITERATOR_AGE_THRESHOLD = Duration.minutes(10)


@validated_props({
    "shard_count": Number(1, MAX_SHARD_COUNT),
    "retention_period": Span(MIN_STREAM_RETENTION, MAX_STREAM_RETENTION, unit="hours",
                             meaning="24 to 8,760 hours (1 to 365 days)"),
    "iterator_age_threshold": Span(Duration.seconds(1), Duration.days(7), unit="millis"),
})
class KinesisDataStream(Construct):
    """A Kinesis data stream encrypted with a customer-managed key, with its alarms.

    :param shard_count: provision this many shards (1 to 500). Default: None, on-demand
        capacity (scales with the write rate; no shard planning).
    :param retention_period: how long records stay readable, 24 to 8,760 hours. A consumer
        that falls further behind loses records, and records it discards must be fetched
        again from the stream within this time. Default: 24 hours (Kinesis's minimum).
    :param encryption_key: the stream's KMS key. Default: None, a rotating key is created.
    :param stream: a stream you bring instead (its encryption and capacity are yours);
        none of the props above may be given with it. Default: None, the stream is created.
    :param iterator_age_threshold: the stream alarms when its oldest unread record is older
        than this (``GetRecords.IteratorAgeMilliseconds``). Default: 10 minutes.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shard_count: int | None = None,
        retention_period: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        stream: kinesis.IStream | None = None,
        iterator_age_threshold: Duration = DEFAULT_ITERATOR_AGE_THRESHOLD,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        problems = ProblemCollector(f"KinesisDataStream {self.node.path}")
        if stream is not None:
            for prop, value in (("shard_count", shard_count),
                                ("retention_period", retention_period),
                                ("encryption_key", encryption_key)):
                problems.check(value is None, prop, value,
                               "leave it out when you bring your own stream")
        problems.raise_if_any()
        #: How long records stay readable (None for a stream you brought: unknown here).
        self.retention_period: Duration | None = (
            None if stream is not None else retention_period or DEFAULT_STREAM_RETENTION)
        #: The stream's key (a brought stream's own key, if it has one).
        self.encryption_key: kms.IKey | None
        if stream is None:
            key = encryption_key or secure_key(
                self, "Key", description=f"Encrypts the Kinesis data stream {self.node.path}")
            self.encryption_key = key
            stream = secure_stream(self, "Resource", encryption_key=key,
                                   shard_count=shard_count,
                                   retention_period=self.retention_period
                                   or DEFAULT_STREAM_RETENTION)
        else:
            self.encryption_key = stream.encryption_key
        #: The stream.
        self.stream: kinesis.IStream = stream
        #: True with on-demand capacity.
        self.on_demand = shard_count is None
        #: The stream's alarms (none for a brought stream).
        self.alarms: list[cloudwatch.Alarm] = []
        if isinstance(stream, kinesis.Stream) and self.encryption_key is not None:
            self.alarms.append(alarm(
                self, "IteratorAgeAlarm",
                metric=self.metric_iterator_age(period=ALARM_PERIOD),
                threshold=iterator_age_threshold.to_milliseconds(),
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{self.node.path}: a consumer is more than "
                            f"{iterator_age_threshold.to_human_string()} behind.",
                alarm_topic=alarm_topic,
            ))
            self.alarms.append(alarm_on_any(
                self, "WriteThrottledAlarm",
                metric=self.metric_write_throttled(period=ALARM_PERIOD),
                description=f"{self.node.path}: writes were throttled (producers must "
                            "retry, or records are lost).",
                alarm_topic=alarm_topic,
            ))

    # ----------------------------------------------------------------- public API

    @property
    def stream_arn(self) -> str:
        return self.stream.stream_arn

    @property
    def stream_name(self) -> str:
        return self.stream.stream_name

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` put records (PutRecord, PutRecords) and use the key for it."""
        return self.stream.grant_write(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read records and decrypt them."""
        return self.stream.grant_read(grantee)

    def metric_iterator_age(self, *, period: Duration = METRIC_PERIOD,
                            statistic: str = "Maximum") -> cloudwatch.Metric:
        """Age of the oldest record read (``GetRecords.IteratorAgeMilliseconds``, ms)."""
        return self.stream.metric_get_records_iterator_age_milliseconds(
            period=period, statistic=statistic)

    def metric_incoming_records(self, *, period: Duration = METRIC_PERIOD,
                                statistic: str = "Sum") -> cloudwatch.Metric:
        """Records put on the stream (``IncomingRecords``)."""
        return self.stream.metric_incoming_records(period=period, statistic=statistic)

    def metric_write_throttled(self, *, period: Duration = METRIC_PERIOD,
                               statistic: str = "Sum") -> cloudwatch.Metric:
        """Puts refused for lack of capacity (``WriteProvisionedThroughputExceeded``)."""
        return self.stream.metric_write_provisioned_throughput_exceeded(
            period=period, statistic=statistic)
