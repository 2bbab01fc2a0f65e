"""DataLakeDeliveryStream: Firehose into the data lake, partitioned, as Parquet Athena reads.

::

    producers (PutRecord / PutRecordBatch)  or  your Kinesis stream
      -> Firehose stream (buffer encrypted with the CMK for Direct PUT)
         -> optional transform: the bundled normaliser Lambda (Ok / Dropped /
            ProcessingFailed per record)
         -> dynamic partitioning: JQ extraction of JSON fields (``!{partitionKeyFromQuery:x}``)
            and the arrival date (``!{timestamp:yyyy-MM-dd}``)
         -> record format conversion JSON -> Parquet through a Glue table's schema
      -> s3://<bucket>/<prefix><p1>=<v1>/<p2>=<v2>/... (SSE-KMS with the CMK)
      -> s3://<bucket>/errors/<prefix><error type>/...   (records that failed)
    Glue table over <prefix>: Parquet, the partitions as partition keys with partition
    projection matching the prefix, so Athena finds new partitions without a crawler.

Buffering is validated against what Firehose imposes: with dynamic partitioning or format
conversion the buffer is at least 64 MiB (default 128 MiB) and, with dynamic partitioning,
the interval at least 60 seconds (:mod:`.._foundation.delivery_streams` holds the limits and
their sources).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Size, SizeRoundingBehavior, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from analytics_orchestration.constructs._foundation import (
    ProblemCollector,
    acknowledge,
    alarm,
    function_errors_alarm,
    function_throttles_alarm,
    python_function,
    require_feature_flags,
    secure_key,
)
from analytics_orchestration.constructs._foundation.compliance import nag_reference
from analytics_orchestration.constructs._foundation.delivery_streams import (
    DEFAULT_BUFFERING_INTERVAL,
    DEFAULT_BUFFERING_SIZE,
    DEFAULT_PARTITIONED_BUFFERING_SIZE,
    DEFAULT_TRANSFORM_RETRIES,
    MAX_BUFFERING_INTERVAL,
    MAX_BUFFERING_SIZE,
    MIN_BUFFERING_SIZE,
    MIN_PARTITIONED_BUFFERING_INTERVAL,
    MIN_PARTITIONED_BUFFERING_SIZE,
    error_output_prefix,
    metric_data_freshness,
    s3_delivery_stream,
    schema_statements,
    transform_statements,
)
from analytics_orchestration.constructs._foundation.functions import (
    acknowledge_no_dead_letter_queue,
)
from analytics_orchestration.constructs._foundation.validation import (
    Items,
    Span,
    Text,
    validated_props,
)
from analytics_orchestration.constructs.serverless_analytics import DataZone, ServerlessAnalytics

__all__ = ["DataLakeDeliveryStream", "LakeColumn", "LakePartition", "LakeTransform"]

#: The handler of the bundled transform (``lambda_src/lake_record_normaliser``).
TRANSFORM_HANDLER = "lake_record_normaliser"
TRANSFORM_TIMEOUT = Duration.minutes(1)
DEFAULT_PREFIX = "events/"
#: Lambda's 4 KB of environment variables, less what Powertools' variables take.
_MAX_TRANSFORM_ENVIRONMENT = 3584
#: The first day partition projection offers for a date partition.
DEFAULT_PROJECTION_START = "2020-01-01"
#: Alarm when the oldest undelivered record is this many buffering intervals old (records
#: are normally delivered within 1.5 intervals with dynamic partitioning, AWS says), and
#: never sooner than :data:`MIN_FRESHNESS_THRESHOLD`.
FRESHNESS_INTERVALS = 3
MIN_FRESHNESS_THRESHOLD = Duration.minutes(15)
METRIC_PERIOD = Duration.minutes(5)

#: Athena-friendly identifiers: lower case, digits, underscores.
_IDENTIFIER = r"[a-z_][a-z0-9_]{0,127}"
#: A JSON field path for JQ extraction: ``customer.id`` (becomes ``.customer.id``).
_FIELD_PATH = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
#: Hive column types of the Glue Data Catalog (primitive, parameterised and nested).
_HIVE_TYPE = re.compile(
    r"(string|boolean|tinyint|smallint|int|bigint|float|double|date|timestamp|binary"
    r"|decimal\(\d+,\s*\d+\)|varchar\(\d+\)|char\(\d+\)|(array|map|struct)<.+>)")
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
#: A partition name is written into the stream's prefix and the table: a literal.
_PARTITION_NAME = Text(pattern=_IDENTIFIER, meaning="a lower-case identifier (a-z, 0-9, _)",
                       literal=True)
#: Glue column names are at most 255 characters: so are the fields the transform names.
_FIELD_NAME = Text(max_length=255, meaning="a field name")


@validated_props(rules={
    "name": Text(pattern=_IDENTIFIER, meaning="a lower-case identifier (a-z, 0-9, _)"),
    "comment": Text(non_empty=False, max_length=255),
})
@dataclass(frozen=True)
class LakeColumn:
    """A column of the lake table: what format conversion keeps of each JSON record.

    :param name: the column (and JSON field) name, lower case (the OpenX JSON SerDe
        matches JSON keys case-insensitively).
    :param type: its Hive type (``string``, ``bigint``, ``double``, ``timestamp``,
        ``decimal(12,2)``, ``array<string>``...). Default: ``string``.
    :param comment: shown in the catalog. Default: None.
    """

    name: str
    type: str = "string"
    comment: str | None = None


#: The JQ path of a partition is written into the stream's extraction query: a literal.
_PARTITION_PATH = Text(pattern=_FIELD_PATH, meaning="a JSON field path such as 'a' or 'a.b'",
                       literal=True)
#: Partition values name prefix levels and the projection's comma-separated list.
_PARTITION_VALUES = Items(min_items=0, unique=True, each=Text(
    pattern=r"[^/,=\s]([^/,=]*[^/,=\s])?", meaning="without '/', ',', '=' or edge blanks"))


@validated_props(factories={
    "field": {"name": _PARTITION_NAME, "path": _PARTITION_PATH, "values": _PARTITION_VALUES},
    "date": {"name": _PARTITION_NAME, "path": _PARTITION_PATH,
             "start": Text(pattern=_DATE_PATTERN, meaning="a yyyy-MM-dd date")},
})
class LakePartition:
    """One partition of the lake: a level ``<name>=<value>/`` of the S3 prefix and a
    partition key of the table. Build one with :meth:`field` or :meth:`date` (the
    constructor is theirs: its props are validated there)."""

    def __init__(self, name: str, *, path: str | None, is_date: bool,
                 values: Sequence[str], start: str) -> None:
        self.name = name
        #: The JSON field it reads (``a.b``), or None for the arrival date.
        self.path = path
        self.is_date = is_date
        self.values = tuple(values)
        self.start = start

    @classmethod
    def field(cls, name: str, *, path: str | None = None,
              values: Sequence[str] = ()) -> LakePartition:
        """Partition by the value of a JSON field (JQ ``.<path>``; default: ``name``).

        ``values``: the values the field takes, which Athena's partition projection then
        enumerates; default: none, the projection is ``injected`` and every query must
        filter on the partition with ``=`` (Athena refuses the query otherwise).
        """
        return cls(name, path=path or name, is_date=False, values=values,
                   start=DEFAULT_PROJECTION_START)

    @classmethod
    def date(cls, name: str, *, path: str | None = None,
             start: str = DEFAULT_PROJECTION_START) -> LakePartition:
        """Partition by a ``yyyy-MM-dd`` date: a JSON field holding one (``path``, e.g. the
        ``event_date`` the bundled transform derives from the event time) or, without
        ``path``, the day Firehose received the record (UTC, ``!{timestamp:yyyy-MM-dd}``).
        Athena projects the days from ``start`` to today."""
        return cls(name, path=path, is_date=True, values=(), start=start)

    @property
    def query(self) -> str | None:
        """The JQ 1.6 expression extracting the value (None: not from the record)."""
        return f".{self.path}" if self.path else None

    @property
    def expression(self) -> str:
        """The Firehose prefix expression of the value."""
        if self.path is None:
            return "!{timestamp:yyyy-MM-dd}"
        return f"!{{partitionKeyFromQuery:{self.name}}}"

    def projection(self) -> dict[str, str]:
        """The table parameters of its partition projection (``projection.<name>.*``)."""
        key = f"projection.{self.name}"
        if self.is_date:
            return {f"{key}.type": "date", f"{key}.format": "yyyy-MM-dd",
                    f"{key}.range": f"{self.start},NOW", f"{key}.interval": "1",
                    f"{key}.interval.unit": "DAYS"}
        if self.values:
            return {f"{key}.type": "enum", f"{key}.values": ",".join(self.values)}
        return {f"{key}.type": "injected"}


@validated_props(rules={
    # The function's environment holds them: Lambda allows 4 KB of variables in all.
    "required_fields": Items(min_items=0, max_items=100, each=_FIELD_NAME, unique=True),
    "timestamp_field": _FIELD_NAME, "date_field": _FIELD_NAME,
    "drop_values": Items(min_items=0, each=Items(min_items=1)),
})
@dataclass(frozen=True)
class LakeTransform:
    """The bundled transform (``lambda_src/lake_record_normaliser``): validates and
    normalises each record, answering Ok, Dropped or ProcessingFailed.

    :param required_fields: fields a record must have (non-empty); one missing makes the
        record ProcessingFailed (it lands under the error prefix). Default: none.
    :param timestamp_field: the event time (ISO 8601 with an offset, or epoch seconds or
        milliseconds), rewritten as ISO 8601 UTC; unreadable makes the record
        ProcessingFailed. Default: ``event_time``.
    :param date_field: set to the event time's UTC date (``yyyy-MM-dd``), for a
        :meth:`LakePartition.date` partition. Default: ``event_date``.
    :param drop_values: records whose field has one of these values are Dropped (not
        delivered, not an error), e.g. ``{"event_type": ["heartbeat"]}``. Default: none.
    """

    required_fields: Sequence[str] = ()
    timestamp_field: str = "event_time"
    date_field: str = "event_date"
    drop_values: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The handler's configuration (its ``normalise.load_settings`` reads it)."""
        return {
            "REQUIRED_FIELDS": json.dumps(list(self.required_fields)),
            "TIMESTAMP_FIELD": self.timestamp_field,
            "DATE_FIELD": self.date_field,
            "DROP_VALUES": json.dumps({k: list(v) for k, v in self.drop_values.items()},
                                      sort_keys=True),
        }


@validated_props(rules={
    "prefix": Text(max_length=512),
    "table_name": Text(pattern=_IDENTIFIER, meaning="a lower-case identifier (a-z, 0-9, _)"),
    # Firehose keeps an undeliverable record for at most 24 hours: an older one is gone,
    # so a higher threshold could never fire.
    "data_freshness_threshold": Span(minimum=Duration.minutes(1), maximum=Duration.days(1)),
})
class DataLakeDeliveryStream(Construct):
    """Firehose delivering JSON records into the data lake, partitioned, as Parquet.

    :param data_lake: a :class:`ServerlessAnalytics` platform whose ``zone`` bucket,
        Glue database and key to use. Default: None (give ``bucket``).
    :param zone: the zone of ``data_lake`` to write to. Default: ``DataZone.RAW``.
    :param bucket: the bucket to write to, instead of ``data_lake``. Default: None.
    :param database: the Glue database of the table created from ``columns``, instead of
        ``data_lake``'s. Default: None.
    :param encryption_key: encrypts the stream's buffer (Direct PUT) and the objects.
        Default: None, the bucket's key (``data_lake``'s), else a rotating key is created.
    :param source_stream: a Kinesis stream Firehose reads (its own encryption protects the
        records there). Default: None, Direct PUT (producers call PutRecord(Batch)).
    :param prefix: the key prefix of the data (the table's location); ends with ``/``.
        Default: ``events/``.
    :param partitions: the partition levels under ``prefix``, in order. Partitions read
        from the record turn on dynamic partitioning. Default: none (Firehose then adds
        ``yyyy/MM/dd/HH/`` of the arrival time, and the table is unpartitioned).
    :param columns: the table's columns (not the partitions): records are converted to
        Parquet with this schema, and a Glue table is created over ``prefix``. Default:
        none (no conversion unless ``table``: GZIP JSON lines, no table).
    :param table: a Glue table of yours whose schema converts the records to Parquet,
        instead of ``columns``. Its partition keys must be ``partitions``. A ``CfnTable``
        because the schema configuration names its database, which ``glue.ITable`` does
        not carry. Default: None.
    :param table_name: the name of the table created from ``columns``. Default: None,
        derived from the construct id.
    :param transform: the bundled normaliser as the stream's transform. Default: None,
        records are delivered as they arrive.
    :param buffering_interval: deliver at least this often (0-900 seconds; 60 or more
        with dynamic partitioning). Default: 5 minutes.
    :param buffering_size: or when this much is buffered (1-128 MiB; 64 MiB or more with
        dynamic partitioning or conversion). Default: 128 MiB with partitioning or
        conversion, else 5 MiB.
    :param data_freshness_threshold: alarm when the oldest undelivered record is older
        (1 minute to 1 day). Default: None, 3 x the buffering interval, at least 15 minutes.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_lake: ServerlessAnalytics | None = None,
        zone: DataZone = DataZone.RAW,
        bucket: s3.IBucket | None = None,
        database: glue.IDatabase | None = None,
        encryption_key: kms.IKey | None = None,
        source_stream: kinesis.IStream | None = None,
        prefix: str = DEFAULT_PREFIX,
        partitions: Sequence[LakePartition] = (),
        columns: Sequence[LakeColumn] = (),
        table: glue.CfnTable | None = None,
        table_name: str | None = None,
        transform: LakeTransform | None = None,
        buffering_interval: Duration | None = None,
        buffering_size: Size | None = None,
        data_freshness_threshold: Duration | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.partitions = tuple(partitions)
        self.columns = tuple(columns)
        self.source_stream = source_stream
        #: True when a partition reads the record (JQ): Firehose's dynamic partitioning.
        self.dynamic_partitioning = any(p.query for p in self.partitions)
        #: True when records are converted to Parquet through a Glue table's schema.
        self.converts_to_parquet = bool(self.columns) or table is not None
        self._check_props(
            data_lake=data_lake, zone=zone, bucket=bucket, database=database, prefix=prefix,
            table=table, table_name=table_name, transform=transform,
            buffering_interval=buffering_interval, buffering_size=buffering_size,
        )
        lake_bucket = bucket or (data_lake.buckets[zone] if data_lake else None)
        assert lake_bucket is not None
        #: The bucket the stream writes to.
        self.bucket: s3.IBucket = lake_bucket
        #: The key of the buffer (Direct PUT) and of the objects.
        self.encryption_key: kms.IKey = (
            encryption_key or lake_bucket.encryption_key
            or secure_key(self, "Key", description=f"Encrypts the lake delivery {self.node.path}"))
        #: The Glue database of the created table (None when no table is created).
        self.database: glue.IDatabase | None = database or (
            data_lake.databases.get(zone) if data_lake and self.columns else None)
        #: The key prefix of the data, the table's location.
        self.prefix = prefix
        #: The prefix Firehose evaluates per record: ``prefix`` and the partition levels.
        self.data_output_prefix = prefix + "".join(
            f"{p.name}={p.expression}/" for p in self.partitions)
        #: Where records that failed go, one folder per error type.
        self.error_output_prefix = error_output_prefix(prefix)
        self.buffering_interval = buffering_interval or DEFAULT_BUFFERING_INTERVAL
        self.buffering_size = buffering_size or (
            DEFAULT_PARTITIONED_BUFFERING_SIZE
            if self.dynamic_partitioning or self.converts_to_parquet else DEFAULT_BUFFERING_SIZE)
        #: The Glue table Athena queries (created from ``columns``, or yours).
        self.table: glue.CfnTable | None = table
        if self.columns:
            assert self.database is not None
            self.table = self._create_table(
                self.database, table_name or _identifier(construct_id))
        #: The transform function (None without ``transform``).
        self.transform_function: lambda_.Function | None = None
        #: Every alarm.
        self.alarms: list[cloudwatch.Alarm] = []
        processors: list[firehose.IDataProcessor] = []
        statements: list[iam.PolicyStatement] = []
        if transform is not None:
            self.transform_function = self._create_transform(transform)
            processors.append(firehose.LambdaFunctionProcessor(
                self.transform_function, retries=DEFAULT_TRANSFORM_RETRIES))
            statements += transform_statements(self.transform_function)
        if self.dynamic_partitioning:
            processors.append(firehose.MetadataExtractionProcessor.jq16({
                p.name: p.query for p in self.partitions if p.query}))
            if transform is None and not self.converts_to_parquet:
                # JSON lines: Firehose concatenates the records of a partition as they are.
                processors.append(firehose.AppendDelimiterToRecordProcessor())
        conversion = None
        if self.table is not None:
            conversion = firehose.DataFormatConversionProps(
                schema_configuration=firehose.SchemaConfiguration.from_cfn_table(self.table),
                input_format=firehose.InputFormat.OPENX_JSON,
                output_format=firehose.OutputFormat.PARQUET,
            )
            statements += schema_statements(self, database_name=self.table.database_name,
                                            table_name=self.table.ref)
        #: The Firehose stream.
        self.delivery_stream: firehose.DeliveryStream = s3_delivery_stream(
            self, "Stream", bucket=self.bucket, encryption_key=self.encryption_key,
            prefix=self.data_output_prefix, error_prefix=self.error_output_prefix,
            buffering_interval=self.buffering_interval, buffering_size=self.buffering_size,
            compression=None if conversion else firehose.Compression.GZIP,
            source_stream=source_stream, processors=processors,
            dynamic_partitioning=self.dynamic_partitioning,
            data_format_conversion=conversion, extra_statements=statements,
            role_description=f"Lets Firehose deliver {self.node.path} into the data lake",
        )
        self._acknowledge(source_stream)
        self._build_alarms(alarm_topic, data_freshness_threshold)

    # ----------------------------------------------------------------- public API

    def grant_put_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` produce records: ``firehose:PutRecord``/``PutRecordBatch`` on the
        stream (Direct PUT), or writes to the source Kinesis stream (and its key)."""
        if self.source_stream is not None:
            return self.source_stream.grant_write(grantee)
        return self.delivery_stream.grant_put_records(grantee)

    def metric_data_freshness(self, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """Age in seconds of the oldest record not yet in S3 (``DeliveryToS3.DataFreshness``,
        Maximum)."""
        return metric_data_freshness(self.delivery_stream, period)

    def metric_incoming_records(self, *, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """Records received (``IncomingRecords``, Sum)."""
        return self.delivery_stream.metric_incoming_records(period=period, statistic="Sum")

    # ----------------------------------------------------------------- extension points

    def _create_table(self, database: glue.IDatabase, name: str) -> glue.CfnTable:
        """The Glue table over :attr:`prefix`: the columns, the partitions as partition
        keys (strings) with partition projection whose storage location template is
        :attr:`data_output_prefix`'s shape, and the Parquet SerDe. Override to add table
        parameters; keep the partition keys, which must match the prefix."""
        location = self.bucket.s3_url_for_object(self.prefix)
        parameters = {"classification": "parquet", "EXTERNAL": "TRUE"}
        if self.partitions:
            parameters["projection.enabled"] = "true"
            for partition in self.partitions:
                parameters.update(partition.projection())
            parameters["storage.location.template"] = location + "".join(
                f"{p.name}=${{{p.name}}}/" for p in self.partitions)
        return glue.CfnTable(
            self, "Table",
            catalog_id=Stack.of(self).account,
            database_name=database.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                description=f"Records delivered by {self.node.path}",
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[glue.CfnTable.ColumnProperty(name=p.name, type="string")
                                for p in self.partitions] or None,
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=c.name, type=c.type,
                                                          comment=c.comment)
                             for c in self.columns],
                    input_format="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    output_format=(
                        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=(
                            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")),
                ),
            ),
        )

    def _create_transform(self, transform: LakeTransform) -> lambda_.Function:
        """The bundled normaliser function, configured by ``transform``."""
        built = python_function(
            self, "Transform", handler_name=TRANSFORM_HANDLER,
            description=f"Normalises the records of {self.node.path}",
            environment=transform.environment(), timeout=TRANSFORM_TIMEOUT,
            log_encryption_key=self.encryption_key,
        )
        acknowledge_no_dead_letter_queue(
            built.function,
            "Firehose invokes the transform synchronously and retries it; the records of an "
            "invocation that keeps failing go to the stream's error prefix "
            "(processing-failed), so no asynchronous event can be lost.")
        return built.function

    # ----------------------------------------------------------------- building

    def _build_alarms(self, alarm_topic: sns.ITopic | None,
                      threshold: Duration | None) -> None:
        seconds = (threshold.to_seconds() if threshold is not None else max(
            FRESHNESS_INTERVALS * self.buffering_interval.to_seconds(),
            MIN_FRESHNESS_THRESHOLD.to_seconds()))
        self.alarms.append(alarm(
            self, "DataFreshnessAlarm", metric=self.metric_data_freshness(),
            threshold=seconds, alarm_topic=alarm_topic,
            description=f"Records of {self.node.path} wait more than {seconds} s for S3",
        ))
        if self.transform_function is not None:
            self.alarms.append(function_errors_alarm(
                self, "TransformErrorsAlarm", function=self.transform_function,
                alarm_topic=alarm_topic))
            self.alarms.append(function_throttles_alarm(
                self, "TransformThrottlesAlarm", function=self.transform_function,
                alarm_topic=alarm_topic))

    def _acknowledge(self, source_stream: kinesis.IStream | None) -> None:
        policy = self.node.try_find_child("StreamRolePolicy")
        assert isinstance(policy, iam.Policy)
        if self.transform_function is not None:
            versions = nag_reference(policy, f"{self.transform_function.function_arn}:*")
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{versions}]",
                        "Firehose invokes the transform function's versions and aliases "
                        "(qualified ARNs): this one function only.")
        if source_stream is not None:
            reason = ("A stream reading Kinesis cannot have server-side encryption (Firehose "
                      "refuses it): the records are encrypted by the source stream, and the "
                      "objects with the CMK.")
            acknowledge(self.delivery_stream, "AwsSolutions::AwsSolutions-KDF1", reason)

    def _check_props(
        self,
        *,
        data_lake: ServerlessAnalytics | None,
        zone: DataZone,
        bucket: s3.IBucket | None,
        database: glue.IDatabase | None,
        prefix: str,
        table: glue.CfnTable | None,
        table_name: str | None,
        transform: LakeTransform | None,
        buffering_interval: Duration | None,
        buffering_size: Size | None,
    ) -> None:
        problems = ProblemCollector(f"DataLakeDeliveryStream {self.node.path}")
        if (data_lake is None) == (bucket is None):
            problems.add("bucket", "both" if bucket else None,
                         "give exactly one of data_lake and bucket")
        if data_lake is not None and zone not in data_lake.buckets:
            problems.add("data_lake", data_lake.node.path,
                         f"has no {zone.value} bucket: build it with enable_data_lake=True")
        if self.columns and table is not None:
            problems.add("table", table.node.path, "give columns or table, not both")
        if self.columns:
            lake_database = data_lake.databases.get(zone) if data_lake else None
            if database is None and lake_database is None:
                problems.add("database", None, "columns create a Glue table: give database, "
                             "or a data_lake with its catalog on")
        else:
            for prop, value in (("database", database), ("table_name", table_name)):
                problems.check(value is None, prop, value,
                               "only applies with columns (the table it creates)")
        problems.check(bool(prefix) and prefix.endswith("/") and not prefix.startswith("/")
                       and "!{" not in prefix and not prefix.startswith("errors/"),
                       "prefix", prefix,
                       "a literal prefix ending in '/', not starting with '/' or 'errors/' "
                       "(the error prefix), without expressions (partitions add them)")
        self._check_partitions(problems, table)
        if transform is not None:
            size = sum(len(k) + len(v) for k, v in transform.environment().items())
            problems.check(size <= _MAX_TRANSFORM_ENVIRONMENT, "transform", f"{size} bytes",
                           f"its settings must fit the function's environment "
                           f"({_MAX_TRANSFORM_ENVIRONMENT} bytes with Powertools' variables)")
        self._check_buffering(problems, buffering_interval, buffering_size)
        problems.raise_if_any()

    def _check_partitions(self, problems: ProblemCollector, table: glue.CfnTable | None) -> None:
        names = [p.name for p in self.partitions]
        problems.check(len(set(names)) == len(names), "partitions", names,
                       "partition names must be unique")
        queried = [p for p in self.partitions if p.query]
        problems.check(len(queried) <= 50, "partitions", len(queried),
                       "at most 50 partitions can read the record (JQ extraction keys)")
        columns = [c.name for c in self.columns]
        problems.check(len(set(columns)) == len(columns), "columns", columns,
                       "column names must be unique")
        for column in self.columns:
            problems.check(bool(_HIVE_TYPE.fullmatch(column.type.strip().lower())),
                           f"columns[{column.name}].type", column.type,
                           "a Hive type: string, boolean, int, bigint, double, timestamp, "
                           "date, decimal(p,s), array<...>, map<...>, struct<...>")
            problems.check(column.name not in names, "columns", column.name,
                           "a partition is not a column too (Athena refuses the table)")
        if table is not None:
            table_input = table.table_input
            keys = (getattr(table_input, "partition_keys", None) or []
                    if not isinstance(table_input, Mapping)
                    else table_input.get("partitionKeys") or [])
            if isinstance(keys, list):
                key_names = [getattr(k, "name", None) or (k.get("name") if isinstance(
                    k, Mapping) else None) for k in keys]
                problems.check(key_names == names, "table", key_names,
                               f"its partition keys must be the partitions {names}, in "
                               "order: they name the prefix levels Firehose writes")

    def _check_buffering(self, problems: ProblemCollector, interval: Duration | None,
                         size: Size | None) -> None:
        partitioned = self.dynamic_partitioning or self.converts_to_parquet
        if interval is not None and not interval.is_unresolved():
            seconds = interval.to_seconds(integral=False)
            low = (MIN_PARTITIONED_BUFFERING_INTERVAL.to_seconds()
                   if self.dynamic_partitioning else 0)
            problems.check(low <= seconds <= MAX_BUFFERING_INTERVAL.to_seconds(),
                           "buffering_interval", interval,
                           f"must be {low} to {MAX_BUFFERING_INTERVAL.to_seconds()} seconds"
                           + (" with dynamic partitioning (no zero buffering)" if low else ""))
        if size is not None:
            mebibytes = (None if size.is_unresolved()
                         else size.to_mebibytes(rounding=SizeRoundingBehavior.NONE))
            if mebibytes is not None:
                smallest = (MIN_PARTITIONED_BUFFERING_SIZE if partitioned
                            else MIN_BUFFERING_SIZE).to_mebibytes()
                largest = MAX_BUFFERING_SIZE.to_mebibytes()
                problems.check(smallest <= mebibytes <= largest, "buffering_size",
                               f"{mebibytes} MiB",
                               f"must be {smallest} to {largest} MiB"
                               + (" with dynamic partitioning or format conversion (Firehose's "
                                  "minimum there)" if partitioned else ""))


def _identifier(construct_id: str) -> str:
    """``ClickEvents`` -> ``click_events``: a Glue table name from a construct id."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", construct_id)
    name = re.sub(r"[^a-z0-9_]+", "_", snake.lower()).strip("_")
    return name if name[:1].isalpha() else f"t_{name}"
