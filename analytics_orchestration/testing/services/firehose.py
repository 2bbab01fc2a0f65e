"""Firehose: ``AWS::KinesisFirehose::DeliveryStream`` with an S3 destination.

What is emulated (moto's own Firehose writes each record at once, one object per record):

- **Buffering.** Records (``PutRecord``/``PutRecordBatch`` from any client, SNS ``firehose``
  subscriptions) wait in the stream's buffer, one buffer per partition. A buffer is
  delivered when it holds ``BufferingHints.SizeInMBs`` (at the put that fills it), when
  ``IntervalInSeconds`` have passed since its first record on the harness clock
  (``aws.advance(...)`` delivers every buffer that became due), or on
  ``aws.flush_delivery_streams()`` (everything, now). Nothing is delivered otherwise: a test
  reads S3 after advancing or flushing.
- **The Lambda transform** (a ``Lambda`` processor): run when a buffer is delivered, over
  its records, with the documented event (``invocationId``, ``deliveryStreamArn``,
  ``region``, ``records[]`` of ``recordId``, ``approximateArrivalTimestamp`` in epoch
  milliseconds and base64 ``data``), as the stream's role. Each returned record is ``Ok``
  (delivered, its ``metadata.partitionKeys`` usable as ``!{partitionKeyFromLambda:x}``),
  ``Dropped`` (gone) or ``ProcessingFailed``; a record missing from the response, or an
  invocation that raised, fails too. Failed records go, one JSON document per line, to the
  error prefix with ``processing-failed`` as ``!{firehose:error-output-type}``, in the
  shape AWS documents (``attemptsMade``, ``arrivalTimestamp``, ``errorCode``,
  ``errorMessage``, ``attemptEndingTimestamp``, ``rawData``, ``lambdaArn``):
  https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html
  The ``errorCode`` values are the harness's (AWS calls it "the HTTP error code returned by
  Lambda" without listing them).
- **Dynamic partitioning**: the ``MetadataExtraction`` query ``{"k": <expr>, ...}`` is
  evaluated per record with a JQ subset: ``.a.b`` paths, optionally piped into
  ``strftime("...")`` of epoch seconds (the documented examples). A key that comes out
  null or the record not being JSON fails the record (error type
  ``partitioning-failed``, a name of the harness). ``AppendDelimiterToRecord`` appends a
  newline.
- **Prefixes**: ``!{partitionKeyFromQuery:k}``, ``!{partitionKeyFromLambda:k}``,
  ``!{timestamp:<Java date pattern>}`` (the arrival time of the buffer's first record, UTC,
  from the harness clock) and ``!{firehose:error-output-type}`` /
  ``!{firehose:random-string}``; a prefix without a timestamp expression gets
  ``yyyy/MM/dd/HH/`` appended, as AWS does:
  https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
  Objects are named ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<id>`` with ``.gz`` for GZIP
  or ``.parquet`` for Parquet.
- **Record format conversion** to Parquet: the schema is the Glue table the configuration
  names (an ``AWS::Glue::Table`` of a deployed stack, read as the stream's role with
  ``glue:GetTable``); records are parsed as JSON (OpenX SerDe: keys matched
  case-insensitively, fields not in the schema dropped, missing ones null) and written with
  ``pyarrow``. A record that does not parse, or whose value does not fit its column's type,
  goes to ``format-conversion-failed``.
- S3 writes go through boto3 as the stream's role: IAM (and the bucket's key policy)
  decide, as on AWS.

- **A Kinesis data stream as the source** (``KinesisStreamSourceConfiguration``): the
  work loop reads the stream's shards (:meth:`.kinesis.KinesisService.shards`) with the
  shared engine of :mod:`..core.stream_polling`, each shard in sequence order, from the
  position the stream had when the delivery stream was created (Firehose starts reading a
  Kinesis source at ``LATEST``: records put before it existed are not delivered) and then
  as records arrive. Each read is evaluated as the source configuration's role:
  ``kinesis:DescribeStream``, ``ListShards``, ``GetShardIterator``, ``GetRecords`` on the
  stream and ``kms:Decrypt`` with the stream's key when it is encrypted. A refused read
  leaves the records in the stream (the shard is retried, then stays blocked, as Firehose
  keeps retrying a source it cannot read) and is in ``aws.iam_denials()``. The records
  read join the buffers, transform, partitioning and Parquet path of Direct PUT; the
  transform's event then also carries ``sourceKinesisStreamArn`` and each record's
  ``kinesisRecordMetadata`` (``shardId``, ``partitionKey``, ``approximateArrivalTimestamp``,
  ``sequenceNumber``, ``subsequenceNumber``), the fields of aws-lambda-go's
  ``KinesisFirehoseEvent`` (``events/firehose.go``). ``PutRecord``/``PutRecordBatch`` on
  such a stream fail with ``InvalidArgumentException``, as on AWS.

Not emulated: ORC output, record de-aggregation (KPL aggregated records are delivered as
they are), destinations other than S3, retries of failed S3 writes (a write IAM refuses
raises :class:`OfflineHarnessError` from the flush that attempted it). The stream's
error-log ``AWS::Logs::LogStream`` deploys as a no-op (telemetry only, like its log group).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.stream_polling import (
    Outcome,
    PollingSettings,
    StreamPoller,
    Window,
)
from analytics_orchestration.testing.core.streams import StreamRecord
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    OfflineHarnessError,
    UnsupportedIntegrationError,
)
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.kinesis import KinesisService
from analytics_orchestration.testing.services.lambda_ import LambdaService

__all__ = ["FirehoseService", "evaluate_prefix", "evaluate_query", "java_date_format"]

_MIB = 1024 * 1024
_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^{}]*)\}")
#: Java ``DateTimeFormatter`` letters -> ``strftime`` (the ones prefixes use).
_JAVA_DATE = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M",
              "ss": "%S"}
_JAVA_TOKEN = re.compile(r"yyyy|yy|MM|dd|HH|mm|ss|'[^']*'")
#: What Firehose calls to read a Kinesis source, as the source configuration's role
#: (``kms:Decrypt`` of an encrypted stream comes with ``GetRecords``).
SOURCE_READ_OPERATIONS = ("DescribeStream", "ListShards", "GetShardIterator", "GetRecords")
#: GetRecords returns at most 10,000 records per call.
_SOURCE_BATCH = 10_000


def java_date_format(pattern: str, moment: dt.datetime) -> str:
    """Format ``moment`` with a Java date pattern (``yyyy/MM/dd``, quoted literals)."""
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token[1:-1]
        return moment.strftime(_JAVA_DATE[token])
    return _JAVA_TOKEN.sub(replace, pattern)


# ----------------------------------------------------------------------- JQ subset

_PATH = re.compile(r"\s*((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*")
_STRFTIME = re.compile(r"\|\s*strftime\(\s*\"((?:[^\"\\]|\\.)*)\"\s*\)\s*")


def _parse_query(query: str) -> dict[str, tuple[str, str | None]]:
    """``{"k":.a.b, "y":.t|strftime("%Y")}`` -> ``{k: (".a.b", None), y: (".t", "%Y")}``."""
    text = query.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise UnsupportedIntegrationError(f"JQ query {query!r} (only {{\"k\": .path}} objects)",
                                          "MetadataExtractionQuery")
    body, position, found = text[1:-1], 0, {}
    key_pattern = re.compile(r"\s*(?:\"((?:[^\"\\]|\\.)*)\"|([A-Za-z_][A-Za-z0-9_]*))\s*:")
    while position < len(body):
        key_match = key_pattern.match(body, position)
        path_match = _PATH.match(body, key_match.end()) if key_match else None
        if key_match is None or path_match is None:
            raise UnsupportedIntegrationError(
                f"JQ query {query!r} (the harness evaluates .path and .path|strftime(...))",
                "MetadataExtractionQuery")
        position = path_match.end()
        formatting = _STRFTIME.match(body, position)
        if formatting:
            position = formatting.end()
        key = json.loads(f'"{key_match.group(1)}"') if key_match.group(1) is not None \
            else key_match.group(2)
        found[key] = (path_match.group(1), json.loads(f'"{formatting.group(1)}"')
                      if formatting else None)
        rest = body[position:].lstrip()
        if rest.startswith(","):
            position = len(body) - len(rest) + 1
        elif rest:
            raise UnsupportedIntegrationError(f"JQ query {query!r}", "MetadataExtractionQuery")
        else:
            break
    return found


def evaluate_query(query: str, document: Any) -> dict[str, Any]:
    """Evaluate a metadata-extraction query on a parsed JSON record (JQ semantics: a
    missing field is null; ``strftime`` formats epoch seconds in UTC; strings stay strings,
    numbers are written as JQ prints them)."""
    values: dict[str, Any] = {}
    for key, (path, formatting) in _parse_query(query).items():
        value: Any = document
        for part in path.strip(".").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if formatting is not None and value is not None:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"strftime/1 requires parsed datetime inputs, got {value!r}")
            value = dt.datetime.fromtimestamp(value, dt.UTC).strftime(formatting)
        values[key] = value
    return values


def evaluate_prefix(prefix: str, *, moment: dt.datetime, query_keys: Mapping[str, Any],
                    lambda_keys: Mapping[str, Any], error_type: str | None = None) -> str:
    """A prefix with its expressions evaluated; ``yyyy/MM/dd/HH/`` appended when it has no
    timestamp expression (AWS's default)."""
    def replace(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        if namespace == "timestamp":
            return java_date_format(name, moment)
        if namespace == "partitionKeyFromQuery":
            return _key_text(query_keys, name)
        if namespace == "partitionKeyFromLambda":
            return _key_text(lambda_keys, name)
        if namespace == "firehose" and name == "error-output-type" and error_type:
            return error_type
        if namespace == "firehose" and name == "random-string":
            return uuid.uuid4().hex[:11]
        raise OfflineHarnessError(f"prefix expression !{{{namespace}:{name}}} in {prefix!r}")
    evaluated = _EXPRESSION.sub(replace, prefix)
    if "!{timestamp:" not in prefix and "!{partitionKeyFrom" not in prefix:
        evaluated += moment.strftime("%Y/%m/%d/%H/")
    return evaluated


def _key_text(keys: Mapping[str, Any], name: str) -> str:
    value = keys.get(name)
    if value is None:
        raise KeyError(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


# ----------------------------------------------------------------------- streams


@dataclass
class _Record:
    data: bytes
    arrival: dt.datetime
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: ``kinesisRecordMetadata`` of a record read from a Kinesis source (None: Direct PUT).
    kinesis: dict[str, Any] | None = None


@dataclass
class _Stream:
    name: str
    arn: str
    version: str
    role_arn: str | None
    bucket: str
    prefix: str
    error_prefix: str
    interval: dt.timedelta
    size_bytes: int
    compression: str
    lambda_arn: str | None
    query: str | None
    append_delimiter: bool
    dynamic_partitioning: bool
    schema: Mapping[str, Any] | None
    buffer: list[_Record] = field(default_factory=list)
    #: The Kinesis stream read (None: Direct PUT), the role reading it and the reader.
    source_arn: str | None = None
    source_role_arn: str | None = None
    reader: StreamPoller | None = None


class FirehoseService:
    """Delivery streams of one harness."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService | None = None,
                 iam: Iam | None = None, kinesis: KinesisService | None = None) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.iam = iam
        self.kinesis = kinesis
        self.streams: dict[str, _Stream] = {}
        if kinesis is not None:
            kernel.loop.add_poller(self.poll)

    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::KinesisFirehose::DeliveryStream": self.delivery_stream,
            # Firehose's error-log stream: telemetry only, like the log group it lives in.
            "AWS::Logs::LogStream": lambda stack, logical_id, props: (
                str(props.get("LogStreamName") or logical_id), {}),
        }

    def apply(self, patcher: Patcher) -> None:
        """Records of the streams deployed here go into their buffers, not straight to S3."""
        from moto.firehose.models import FirehoseBackend

        original = FirehoseBackend.put_record_batch
        service = self

        def put_record_batch(backend: Any, delivery_stream_name: str,
                             records: list[dict[str, bytes]]) -> dict[str, Any]:
            if delivery_stream_name not in service.streams:
                return original(backend, delivery_stream_name, records)
            if service.streams[delivery_stream_name].source_arn is not None:
                from moto.firehose.exceptions import InvalidArgumentException

                raise InvalidArgumentException(
                    "This operation is not permitted on KinesisStreamAsSource "
                    f"DeliveryStream type: {delivery_stream_name}")
            responses = [{"RecordId": service.accept(delivery_stream_name, r["Data"])}
                         for r in records]
            return {"FailedPutCount": 0, "Encrypted": True, "RequestResponses": responses}

        patcher.set(FirehoseBackend, "put_record_batch", put_record_batch)

    # -- deploy ---------------------------------------------------------------------
    def delivery_stream(self, stack: StackTemplate, logical_id: str,
                        props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("DeliveryStreamName") or generated_name(stack.stack_name, logical_id,
                                                                 64)
        source = props.get("KinesisStreamSourceConfiguration")
        if source and self.kinesis is None:
            raise UnsupportedIntegrationError(
                "Firehose with a Kinesis stream source (a harness without Kinesis)", logical_id)
        destination = props.get("ExtendedS3DestinationConfiguration") or props.get(
            "S3DestinationConfiguration")
        if not destination:
            raise UnsupportedIntegrationError("Firehose destination other than S3", logical_id)
        config = {key: destination[key] for key in ("RoleARN", "BucketARN", "Prefix",
                                                    "ErrorOutputPrefix") if key in destination}
        request: dict[str, Any] = {
            "DeliveryStreamName": name,
            "DeliveryStreamType": str(props.get("DeliveryStreamType") or (
                "KinesisStreamAsSource" if source else "DirectPut")),
            "ExtendedS3DestinationConfiguration": config,
        }
        if source:
            request["KinesisStreamSourceConfiguration"] = {
                "KinesisStreamARN": str(source["KinesisStreamARN"]),
                "RoleARN": str(source["RoleARN"])}
        arn = self.kernel.client("firehose").create_delivery_stream(**request)[
            "DeliveryStreamARN"]
        stream = self._stream(name, arn, destination, logical_id)
        if source:
            assert self.kinesis is not None
            self._read_from(stream, self.kinesis.stream_arn(str(source["KinesisStreamARN"])),
                            str(source["RoleARN"]))
        self.streams[name] = stream
        return name, {"Arn": arn}

    # -- a Kinesis stream as the source ---------------------------------------------
    def _read_from(self, stream: _Stream, source_arn: str, role_arn: str) -> None:
        assert self.kinesis is not None
        kinesis = self.kinesis
        stream.source_arn, stream.source_role_arn = source_arn, role_arn
        # LATEST at creation: the reader's checkpoints start after each shard's last record.
        stream.reader = StreamPoller(
            PollingSettings(batch_size=_SOURCE_BATCH, starting_position="LATEST"),
            lambda: kinesis.shards(source_arn),
            lambda shard, records, window: self._read(stream, shard, records, window),
            lambda discard: None, self.kernel.clock,
            blocked_after=self.kernel.max_deliveries_without_dlq)

    def poll(self) -> bool:
        """Read what arrived on the Kinesis sources (work loop poller); True if any."""
        progressed = False
        for stream in self.streams.values():
            if stream.reader is not None:
                progressed = stream.reader.poll() or progressed
        return progressed

    def source_denial(self, stream: _Stream) -> str | None:
        """Why the source role may not read the source stream (None: it may)."""
        if self.iam is None or stream.source_arn is None:
            return None
        principal = self.iam.principal_for_role(stream.source_role_arn, "firehose")
        if principal is None:
            return None
        for operation in SOURCE_READ_OPERATIONS:
            denied = self.iam.check("kinesis", operation, {"StreamARN": stream.source_arn},
                                    via=f"Firehose {stream.name}", principal=principal,
                                    context={})
            if denied:
                return denied
        return None

    def _read(self, stream: _Stream, shard_id: str, records: list[StreamRecord],
              window: Window | None) -> tuple[Outcome, Any]:
        """Records of one shard read into the buffer (a refused read reads nothing)."""
        del window  # Firehose reads without tumbling windows
        if self.source_denial(stream):
            return Outcome("error"), None
        for record in records:
            kinesis = record.lambda_record["kinesis"]
            self._buffer(stream, _Record(
                data=base64.b64decode(kinesis["data"]), arrival=record.arrival,
                kinesis={"shardId": shard_id, "partitionKey": kinesis["partitionKey"],
                         "approximateArrivalTimestamp": _millis(record.arrival),
                         "sequenceNumber": record.sequence_number, "subsequenceNumber": 0}))
        return Outcome("success"), None

    def _stream(self, name: str, arn: str, destination: Mapping[str, Any],
                logical_id: str) -> _Stream:
        hints = destination.get("BufferingHints") or {}
        lambda_arn = query = None
        append_delimiter = False
        processing = destination.get("ProcessingConfiguration") or {}
        for processor in processing.get("Processors") or [] if processing.get(
                "Enabled", True) else []:
            parameters = {p["ParameterName"]: p["ParameterValue"]
                          for p in processor.get("Parameters") or []}
            kind = processor.get("Type")
            if kind == "Lambda":
                lambda_arn = str(parameters["LambdaArn"])
            elif kind == "MetadataExtraction":
                query = str(parameters["MetadataExtractionQuery"])
                _parse_query(query)  # an unsupported query fails at deploy, not later
            elif kind == "AppendDelimiterToRecord":
                append_delimiter = True
            else:
                raise UnsupportedIntegrationError(f"Firehose processor {kind}", logical_id)
        conversion = destination.get("DataFormatConversionConfiguration") or {}
        schema = None
        if conversion and conversion.get("Enabled", True):
            serializer = ((conversion.get("OutputFormatConfiguration") or {}).get(
                "Serializer") or {})
            if "ParquetSerDe" not in serializer:
                raise UnsupportedIntegrationError("Firehose conversion to ORC", logical_id)
            schema = conversion.get("SchemaConfiguration") or {}
        partitioning = destination.get("DynamicPartitioningConfiguration") or {}
        return _Stream(
            name=name, arn=arn, version="1", role_arn=destination.get("RoleARN"),
            bucket=str(destination["BucketARN"]).split(":::")[-1],
            prefix=str(destination.get("Prefix") or ""),
            error_prefix=str(destination.get("ErrorOutputPrefix") or ""),
            interval=dt.timedelta(seconds=int(hints.get("IntervalInSeconds", 300))),
            size_bytes=int(hints.get("SizeInMBs", 5)) * _MIB,
            compression=str(destination.get("CompressionFormat") or "UNCOMPRESSED"),
            lambda_arn=lambda_arn, query=query, append_delimiter=append_delimiter,
            dynamic_partitioning=bool(partitioning.get("Enabled")), schema=schema,
        )

    # -- putting and flushing -------------------------------------------------------
    def put_record(self, stream_arn: str, data: bytes) -> None:
        """Put one record on a stream (by ARN or name), as a producer would."""
        self.kernel.client("firehose").put_record(
            DeliveryStreamName=stream_arn.split("/")[-1], Record={"Data": data})

    def accept(self, name: str, data: bytes) -> str:
        """Buffer a record; deliver the buffer when it is full. Returns the record id."""
        record = _Record(data=bytes(data), arrival=self.kernel.clock.now())
        self._buffer(self.streams[name], record)
        return record.record_id

    def _buffer(self, stream: _Stream, record: _Record) -> None:
        stream.buffer.append(record)
        if sum(len(r.data) for r in stream.buffer) >= stream.size_bytes:
            self._deliver(stream, self.kernel.clock.now())

    def flush_due(self) -> None:
        """Deliver every buffer whose interval has passed on the harness clock."""
        now = self.kernel.clock.now()
        for stream in self.streams.values():
            if stream.buffer and stream.buffer[0].arrival + stream.interval <= now:
                self._deliver(stream, stream.buffer[0].arrival + stream.interval)

    def flush(self, stream: str | None = None) -> None:
        """Deliver the buffers of one stream (name, ARN or construct path) or of all, now."""
        if stream is None:
            targets = list(self.streams.values())
        else:
            name = stream.split("/")[-1] if stream.startswith("arn:") else stream
            found = self.kernel.registry.lookup(name, "AWS::KinesisFirehose::DeliveryStream")
            key = found.physical_id if found else name
            if key not in self.streams:
                raise OfflineHarnessError(f"no deployed delivery stream matches {stream!r}")
            targets = [self.streams[key]]
        for target in targets:
            if target.buffer:
                self._deliver(target, self.kernel.clock.now())

    def _deliver(self, stream: _Stream, moment: dt.datetime) -> None:
        records, stream.buffer = stream.buffer, []
        failed: dict[str, list[dict[str, Any]]] = {}
        if stream.lambda_arn:
            transformed = self._transform(stream, records, moment, failed)
        else:
            transformed = [(r, r.data, {}) for r in records]
        partitions: dict[str, list[bytes]] = {}
        for record, data, lambda_keys in transformed:
            query_keys: dict[str, Any] = {}
            if stream.query:
                try:
                    query_keys = evaluate_query(stream.query, json.loads(data))
                except ValueError as error:
                    failed.setdefault("partitioning-failed", []).append(_failure(
                        record, moment, "DynamicPartitioning.MetadataExtractionFailed",
                        f"Non JSON record provided or query failed: {error}"))
                    continue
            try:
                prefix = evaluate_prefix(stream.prefix, moment=records[0].arrival,
                                         query_keys=query_keys, lambda_keys=lambda_keys)
            except KeyError as missing:
                failed.setdefault("partitioning-failed", []).append(_failure(
                    record, moment, "DynamicPartitioning.MetadataExtractionFailed",
                    f"partition key {missing} is null or missing"))
                continue
            line = data + b"\n" if stream.append_delimiter else data
            partitions.setdefault(prefix, []).append(line)
        for prefix, lines in partitions.items():
            body, extension = self._encode(stream, lines, moment, failed, records)
            if body is not None:
                self._write(stream, f"{prefix}{_object_name(stream, moment)}{extension}", body)
        for error_type, documents in failed.items():
            error_prefix = evaluate_prefix(stream.error_prefix or "", moment=moment,
                                           query_keys={}, lambda_keys={}, error_type=error_type)
            if not stream.error_prefix:
                error_prefix = f"{error_type}/{moment.strftime('%Y/%m/%d/%H/')}"
            body = b"".join(json.dumps(d).encode() + b"\n" for d in documents)
            self._write(stream, f"{error_prefix}{_object_name(stream, moment)}", body)

    def _transform(self, stream: _Stream, records: list[_Record], moment: dt.datetime,
                   failed: dict[str, list[dict[str, Any]]]
                   ) -> list[tuple[_Record, bytes, dict[str, Any]]]:
        assert stream.lambda_arn is not None and self.lambda_ is not None
        event = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": stream.arn,
            "region": self.kernel.region,
            "records": [{"recordId": r.record_id,
                         "approximateArrivalTimestamp": _millis(r.arrival),
                         "data": base64.b64encode(r.data).decode(),
                         **({"kinesisRecordMetadata": r.kinesis} if r.kinesis else {})}
                        for r in records],
        }
        if stream.source_arn is not None:
            event["sourceKinesisStreamArn"] = stream.source_arn
        denied = self._denied("lambda", "Invoke", {"FunctionName": stream.lambda_arn}, stream)
        returned: dict[str, Any] = {}
        error: tuple[str, str] | None = None
        if denied:
            error = ("Lambda.InvokeAccessDenied", denied)
        else:
            invocation = self.lambda_.invoke_for_caller(stream.lambda_arn, event)
            if invocation.error is not None:
                error = ("Lambda.FunctionError", "The Lambda function was successfully "
                         "invoked but it returned an error result.")
            else:
                result = invocation.result
                for item in (result or {}).get("records", []) if isinstance(
                        result, dict) else []:
                    returned.setdefault(str(item.get("recordId")), item)
        kept: list[tuple[_Record, bytes, dict[str, Any]]] = []
        for record in records:
            outcome = self._outcome(returned.get(record.record_id), record, error)
            if isinstance(outcome, tuple) and len(outcome) == 2:
                code, message = outcome
                document = _failure(record, moment, code, message)
                document["lambdaArn"] = stream.lambda_arn
                failed.setdefault("processing-failed", []).append(document)
            elif outcome is not None:
                kept.append(outcome)
        return kept

    @staticmethod
    def _outcome(item: Mapping[str, Any] | None, record: _Record, error: tuple[str, str] | None
                 ) -> tuple[_Record, bytes, dict[str, Any]] | tuple[str, str] | None:
        """What one returned record means: delivered (record, data, Lambda partition
        keys), failed (error code, message) or Dropped (None)."""
        if error is not None:
            return error
        if item is None:
            return ("Lambda.MissingRecordId",
                    f"record {record.record_id} is missing from the response")
        result = item.get("result")
        if result == "Dropped":
            return None
        if result == "ProcessingFailed":
            return ("Lambda.ProcessingFailedStatus",
                    "The record was marked ProcessingFailed by the Lambda function.")
        if result != "Ok":
            return ("Lambda.InvalidResult", f"result {result!r} is not Ok, Dropped or "
                    "ProcessingFailed")
        try:
            data = base64.b64decode(str(item.get("data", "")), validate=True)
        except ValueError:
            return ("Lambda.InvalidData", "data is not base64")
        keys = (item.get("metadata") or {}).get("partitionKeys") or {}
        return (record, data, dict(keys))

    def _encode(self, stream: _Stream, lines: list[bytes], moment: dt.datetime,
                failed: dict[str, list[dict[str, Any]]],
                records: list[_Record]) -> tuple[bytes | None, str]:
        if stream.schema is not None:
            return _to_parquet(self._columns(stream), lines, records, moment, failed), \
                ".parquet"
        body = b"".join(lines)
        if stream.compression == "GZIP":
            return gzip.compress(body, mtime=0), ".gz"
        return body, ""

    def _columns(self, stream: _Stream) -> list[tuple[str, str]]:
        """The (name, type) columns of the Glue table the conversion names."""
        assert stream.schema is not None
        database, table = stream.schema.get("DatabaseName"), stream.schema.get("TableName")
        denied = self._denied("glue", "GetTable", {"DatabaseName": database, "Name": table},
                              stream)
        if denied:
            raise OfflineHarnessError(f"Firehose {stream.name} cannot read its schema: {denied}")
        for resource in self.kernel.registry.resources:
            if resource.resource_type != "AWS::Glue::Table":
                continue
            table_input = resource.properties.get("TableInput") or {}
            if resource.properties.get("DatabaseName") == database and (
                    table_input.get("Name") == table or resource.physical_id == table):
                columns = (table_input.get("StorageDescriptor") or {}).get("Columns") or []
                return [(str(c["Name"]).lower(), str(c["Type"]).lower()) for c in columns]
        raise OfflineHarnessError(
            f"Firehose {stream.name} converts with the Glue table {database}.{table}, which no "
            "deployed stack has")

    def _denied(self, service: str, operation: str, params: Mapping[str, Any],
                stream: _Stream) -> str | None:
        if self.iam is None:
            return None
        principal = self.iam.principal_for_role(stream.role_arn, "firehose")
        return self.iam.check(service, operation, params, via=f"Firehose {stream.name}",
                              principal=principal, context={}) if principal else None

    def _write(self, stream: _Stream, key: str, body: bytes) -> None:
        from botocore.exceptions import ClientError

        client = self.kernel.client("s3")
        principal = self.iam.principal_for_role(stream.role_arn, "firehose") if self.iam \
            else None
        try:
            with Iam.acting(principal):
                client.put_object(Bucket=stream.bucket, Key=key, Body=body)
        except ClientError as error:
            # AWS retries a refused write for up to 24 hours; a test learns of it at once.
            raise OfflineHarnessError(
                f"Firehose {stream.name} cannot write s3://{stream.bucket}/{key}: {error}"
            ) from error


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _failure(record: _Record, moment: dt.datetime, code: str, message: str) -> dict[str, Any]:
    return {"attemptsMade": 1, "arrivalTimestamp": _millis(record.arrival),
            "errorCode": code, "errorMessage": message,
            "attemptEndingTimestamp": _millis(moment),
            "rawData": base64.b64encode(record.data).decode()}


def _object_name(stream: _Stream, moment: dt.datetime) -> str:
    return (f"{stream.name}-{stream.version}-{moment.strftime('%Y-%m-%d-%H-%M-%S')}-"
            f"{uuid.uuid4()}")


# ----------------------------------------------------------------------- Parquet

_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


def _arrow_type(hive: str) -> Any:
    import pyarrow as pa

    simple: dict[str, Callable[[], Any]] = {
        "string": pa.string, "boolean": pa.bool_, "tinyint": pa.int8, "smallint": pa.int16,
        "int": pa.int32, "bigint": pa.int64, "float": pa.float32, "double": pa.float64,
        "date": pa.date32, "binary": pa.binary,
    }
    if hive in simple:
        return simple[hive]()
    if hive == "timestamp":
        return pa.timestamp("ms", tz="UTC")
    if hive.startswith(("varchar", "char")):
        return pa.string()
    decimal = _DECIMAL.fullmatch(hive)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    raise UnsupportedIntegrationError(f"Parquet conversion of Hive type {hive}", "Firehose")


def _convert(value: Any, hive: str) -> Any:
    """One JSON value as the column's type (ValueError when it does not fit)."""
    if value is None:
        return None
    if hive == "timestamp":
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
            return dt.datetime.fromtimestamp(seconds, dt.UTC)
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if hive == "date":
        return dt.date.fromisoformat(str(value))
    if hive in ("tinyint", "smallint", "int", "bigint"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if hive in ("float", "double"):
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        return float(value)
    if hive == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a boolean")
        return value
    if hive.startswith("decimal"):
        import decimal

        return decimal.Decimal(str(value))
    return value if isinstance(value, str) else json.dumps(value)


def _to_parquet(columns: list[tuple[str, str]], lines: list[bytes], records: list[_Record],
                moment: dt.datetime, failed: dict[str, list[dict[str, Any]]]) -> bytes | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for line in lines:
        try:
            document = json.loads(line)
            if not isinstance(document, dict):
                raise ValueError("a JSON object is needed")
            lowered = {str(k).lower(): v for k, v in document.items()}
            rows.append({name: _convert(lowered.get(name), hive) for name, hive in columns})
        except (ValueError, TypeError, ArithmeticError) as error:
            record = _Record(data=line, arrival=records[0].arrival if records else moment)
            document_ = _failure(record, moment, "DataFormatConversion.MalformedData",
                                 str(error))
            failed.setdefault("format-conversion-failed", []).append(document_)
    if not rows:
        return None
    schema = pa.schema([(name, _arrow_type(hive)) for name, hive in columns])
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()
