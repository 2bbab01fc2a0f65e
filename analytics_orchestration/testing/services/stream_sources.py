"""Lambda event source mappings from Kinesis data streams and DynamoDB streams.

``AWS::Lambda::EventSourceMapping`` whose source is a Kinesis stream, a Kinesis stream
consumer (enhanced fan-out) or a DynamoDB stream is polled here by the work loop (SQS
mappings stay with :mod:`.lambda_`), with the engine of :mod:`..core.stream_polling`:
batch size, filter criteria, starting position, bisect on error, partial batch responses,
retry attempts, maximum record age on the virtual clock (``OfflineAws.advance``) and
tumbling windows.

The handler's response, as the Lambda developer guide describes it ("Configuring partial
batch response with Kinesis Data Streams and Lambda"): a null or empty response or
``batchItemFailures`` list is a complete success; an ``itemIdentifier`` that is empty,
null, or under another key fails the whole batch; with a tumbling window a response
without ``state`` is a failed invocation ("Implementing stateful Kinesis Data Streams
processing in Lambda").

Discarded records go to the mapping's on-failure destination, sent as the function's
execution role: an SQS queue or SNS topic receives the invocation record the Lambda
developer guide shows ("Retain discarded batch records for a Kinesis Data Streams event
source in Lambda"): ``requestContext`` (``requestId``, ``functionArn``, ``condition``,
``approximateInvokeCount``), ``responseContext`` (only when the function ran),
``version``, ``timestamp`` and ``KinesisBatchInfo`` (``DDBStreamBatchInfo`` for DynamoDB)
with the shard, first and last sequence numbers and arrival times, batch size and stream
ARN. An S3 destination receives the same document plus ``payload`` (the batch as it was
delivered) under ``aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<time>-<uuid>``. The
``RecordAgeExceeded`` condition name is the one AWS's emulators agree on; AWS's guide shows
only ``RetryAttemptsExhausted``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.stream_polling import (
    Discard,
    Outcome,
    PollingSettings,
    StreamPoller,
    Window,
)
from analytics_orchestration.testing.core.streams import StreamRecord, iso_millis
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    ResourceNotFoundError,
    UnsupportedIntegrationError,
)
from analytics_orchestration.testing.services.dynamodb_streams import DynamoDbStreamsService
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.kinesis import KinesisService
from analytics_orchestration.testing.services.lambda_ import LambdaService
from analytics_orchestration.testing.services.sqs import SqsService


def stream_source_kind(arn: str) -> str | None:
    """``"kinesis"``, ``"dynamodb"`` (a stream ARN) or None for any other source."""
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    if parts[2] == "kinesis":
        return "kinesis"
    if parts[2] == "dynamodb" and "/stream/" in arn:
        return "dynamodb"
    return None


def polling_settings(props: dict[str, Any], *, batch_default: int = 100) -> PollingSettings:
    """The polling parameters of an event source mapping (or a pipe's stream source)."""
    patterns = [f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters", [])]
    return PollingSettings(
        batch_size=int(props.get("BatchSize", batch_default)),
        starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        max_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
        bisect=props.get("BisectBatchOnFunctionError") in (True, "true"),
        tumbling_window=int(props.get("TumblingWindowInSeconds", 0)),
        filter_patterns=tuple(p if isinstance(p, str) else json.dumps(p) for p in patterns),
    )


def batch_info(source_arn: str, discard: Discard) -> dict[str, Any]:
    """``KinesisBatchInfo`` / ``DDBStreamBatchInfo`` of discarded records."""
    first, last = discard.records[0], discard.records[-1]
    return {
        "shardId": discard.shard_id,
        "startSequenceNumber": first.sequence_number,
        "endSequenceNumber": last.sequence_number,
        "approximateArrivalOfFirstRecord": iso_millis(first.arrival),
        "approximateArrivalOfLastRecord": iso_millis(last.arrival),
        "batchSize": len(discard.records),
        "streamArn": source_arn,
    }


def batch_info_key(source_arn: str) -> str:
    return "DDBStreamBatchInfo" if stream_source_kind(source_arn) == "dynamodb" else (
        "KinesisBatchInfo")


def parse_response(result: Any, records: list[StreamRecord], *, windowed: bool,
                   report_failures: bool) -> Outcome:
    """Lambda's reading of a stream handler's response (see the module docstring)."""
    state = result.get("state") if isinstance(result, dict) else None
    if windowed and not (isinstance(result, dict) and isinstance(state, dict)):
        return Outcome("error")
    if not report_failures or not isinstance(result, dict):
        return Outcome("success", state=state)
    failures = result.get("batchItemFailures")
    if not failures:
        return Outcome("success", state=state)
    if not isinstance(failures, list):
        return Outcome("error")
    known = {r.sequence_number for r in records}
    sequences = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or str(identifier) not in known:
            return Outcome("error")
        sequences.append(int(str(identifier)))
    return Outcome("partial", failed_sequence=min(sequences), state=state)


@dataclass
class StreamMapping:
    """A stream event source mapping, polled by the harness."""

    uuid: str
    source_arn: str
    stream_arn: str
    function_name: str
    report_batch_item_failures: bool
    on_failure: str | None
    enabled: bool
    poller: StreamPoller | None = None


class StreamEventSources:
    """Stream event source mappings of one harness (SQS ones go to ``LambdaService``)."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService, kinesis: KinesisService,
                 dynamodb_streams: DynamoDbStreamsService, sqs: SqsService, iam: Iam) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.kinesis = kinesis
        self.dynamodb_streams = dynamodb_streams
        self.sqs = sqs
        self.iam = iam
        self.mappings: list[StreamMapping] = []
        kernel.loop.add_poller(self.poll)

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::Lambda::EventSourceMapping": self.event_source_mapping}

    def event_source_mapping(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        source = str(props.get("EventSourceArn", ""))
        kind = stream_source_kind(source)
        if kind is None:
            return self.lambda_.event_source_mapping(stack, logical_id, props)
        if props.get("StartingPosition") == "AT_TIMESTAMP":
            raise UnsupportedIntegrationError("stream starting position AT_TIMESTAMP",
                                              logical_id)
        mapping_id = str(uuid.uuid4())
        stream_arn = self.kinesis.stream_arn(source) if kind == "kinesis" else source
        mapping = StreamMapping(
            uuid=mapping_id, source_arn=source, stream_arn=stream_arn,
            function_name=self.lambda_.function_name(str(props["FunctionName"])),
            report_batch_item_failures="ReportBatchItemFailures" in (
                props.get("FunctionResponseTypes") or []),
            on_failure=((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"),
            enabled=props.get("Enabled", True) not in (False, "false"),
        )
        settings = polling_settings(props)
        mapping.poller = StreamPoller(
            settings, lambda: self._shards(mapping),
            lambda shard, records, window: self._invoke(mapping, shard, records, window),
            lambda discard: self._discard(mapping, discard), self.kernel.clock,
            blocked_after=self.kernel.max_deliveries_without_dlq)
        self.mappings.append(mapping)
        return mapping_id, {"Id": mapping_id, "EventSourceMappingArn": self.kernel.arn(
            "lambda", f"event-source-mapping:{mapping_id}")}

    # -- polling ----------------------------------------------------------------------
    def poll(self) -> bool:
        progressed = False
        for mapping in self.mappings:
            if mapping.enabled and mapping.poller is not None:
                progressed = mapping.poller.poll() or progressed
        return progressed

    def mapping_for(self, function: str) -> StreamMapping:
        """The stream mapping of a function (by name, ARN, path or logical id)."""
        name = self.lambda_.function_name(function)
        for mapping in self.mappings:
            if mapping.function_name == name:
                return mapping
        raise ResourceNotFoundError(f"no stream event source mapping invokes {function!r}")

    def _shards(self, mapping: StreamMapping) -> dict[str, list[StreamRecord]]:
        if stream_source_kind(mapping.stream_arn) == "kinesis":
            return self.kinesis.shards(mapping.stream_arn)
        return self.dynamodb_streams.shards(mapping.stream_arn)

    def _role_arn(self, mapping: StreamMapping) -> str | None:
        return self.iam.index.function_roles.get(mapping.function_name)

    def _event(self, mapping: StreamMapping, shard_id: str, records: list[StreamRecord],
               window: Window | None) -> dict[str, Any]:
        role = self._role_arn(mapping)
        delivered = []
        for record in records:
            item = {**record.lambda_record, "eventSourceARN": mapping.stream_arn}
            if stream_source_kind(mapping.stream_arn) == "kinesis" and role:
                item["invokeIdentityArn"] = role
            delivered.append(item)
        event: dict[str, Any] = {"Records": delivered}
        if window is not None:
            event.update({
                "window": {"start": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "end": window.end.strftime("%Y-%m-%dT%H:%M:%SZ")},
                "state": window.state, "shardId": shard_id,
                "eventSourceARN": mapping.stream_arn,
                "isFinalInvokeForWindow": window.final, "isWindowTerminatedEarly": False,
            })
        return event

    def _invoke(self, mapping: StreamMapping, shard_id: str, records: list[StreamRecord],
                window: Window | None) -> tuple[Outcome, Any]:
        event = self._event(mapping, shard_id, records, window)
        invocation = self.lambda_.run(mapping.function_name, event)
        if invocation.failed:
            return Outcome("error", function_error=True), event
        outcome = parse_response(invocation.result, records, windowed=window is not None,
                                 report_failures=mapping.report_batch_item_failures)
        return outcome, event

    # -- the on-failure destination ---------------------------------------------------
    def _discard(self, mapping: StreamMapping, discard: Discard) -> None:
        if mapping.on_failure is None or not discard.records:
            return  # dropped silently, as Lambda does without a destination
        runtime = self.lambda_.functions[mapping.function_name]
        now = self.kernel.clock.now()
        record: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": runtime.function_arn,
                "condition": discard.condition,
                "approximateInvokeCount": discard.invoke_count,
            },
            "version": "1.0",
            "timestamp": iso_millis(now),
            batch_info_key(mapping.stream_arn): batch_info(mapping.stream_arn, discard),
        }
        if discard.invoke_count:
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if discard.function_error:
                response["functionError"] = "Unhandled"
            record["responseContext"] = response
        from botocore.exceptions import ClientError

        destination = mapping.on_failure
        service = destination.split(":")[2]
        enforcement = self.iam
        with enforcement.acting(enforcement.function_principal(mapping.function_name)), \
                contextlib.suppress(ClientError):  # a refused send is lost, as on AWS
            if service == "sqs":
                self.kernel.client("sqs").send_message(
                    QueueUrl=self.sqs.queue_url(destination), MessageBody=json.dumps(record))
            elif service == "sns":
                self.kernel.client("sns").publish(TopicArn=destination,
                                                  Message=json.dumps(record))
            elif service == "s3":
                body = {**record, "payload": discard.event}
                key = (f"aws/lambda/{mapping.uuid}/{discard.shard_id}/"
                       f"{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}")
                self.kernel.client("s3").put_object(
                    Bucket=destination.split(":::")[-1], Key=key,
                    Body=json.dumps(body, default=str).encode())
            else:
                raise UnsupportedIntegrationError(f"stream on-failure destination {service}",
                                                  destination)
