"""Kinesis Data Streams: ``AWS::Kinesis::Stream`` and ``AWS::Kinesis::StreamConsumer``.

Streams live in moto's Kinesis backend: ``PutRecord``/``PutRecords`` through boto3 route a
record to the shard whose hash-key range holds the MD5 of its partition key (or its
explicit hash key), as Kinesis does; on-demand streams get moto's shards (4 when no count
is given). Each record's ``ApproximateArrivalTimestamp`` is the harness's virtual time
(``OfflineAws.advance`` moves it), so record ages and tumbling windows follow it.
Consumers (:mod:`.stream_sources`, :mod:`.pipes`) read the shards straight from the
backend, without iterators: :meth:`KinesisService.shards`.

Not emulated: throughput limits and throttling, resharding while consumers read,
retention expiry (records stay), server-side encryption (recorded, not applied).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.streams import StreamRecord
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import ResourceNotFoundError


class KinesisService:
    """Kinesis data streams and their enhanced fan-out consumers of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        #: Consumer ARN -> the ARN of its stream.
        self.consumers: dict[str, str] = {}

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::Kinesis::Stream": self.stream,
                "AWS::Kinesis::StreamConsumer": self.stream_consumer}

    def stream(self, stack: StackTemplate, logical_id: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 128)
        mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        request: dict[str, Any] = {"StreamName": name,
                                   "StreamModeDetails": {"StreamMode": mode}}
        if props.get("ShardCount") is not None:
            request["ShardCount"] = int(props["ShardCount"])
        elif mode == "PROVISIONED":
            request["ShardCount"] = 1
        client = self.kernel.client("kinesis")
        client.create_stream(**request)
        hours = props.get("RetentionPeriodHours")
        if hours is not None and int(hours) > 24:
            client.increase_stream_retention_period(StreamName=name,
                                                    RetentionPeriodHours=int(hours))
        encryption = props.get("StreamEncryption") or {}
        if encryption.get("EncryptionType") == "KMS":
            client.start_stream_encryption(StreamName=name, EncryptionType="KMS",
                                           KeyId=str(encryption["KeyId"]))
        arn = self.kernel.arn("kinesis", f"stream/{name}")
        return name, {"Arn": arn}

    def stream_consumer(self, stack: StackTemplate, logical_id: str,
                        props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        stream_arn = str(props["StreamARN"])
        name = str(props["ConsumerName"])
        consumer = self.kernel.client("kinesis").register_stream_consumer(
            StreamARN=stream_arn, ConsumerName=name)["Consumer"]
        arn = str(consumer["ConsumerARN"])
        self.consumers[arn] = stream_arn
        created = consumer["ConsumerCreationTimestamp"]
        return arn, {"ConsumerARN": arn, "ConsumerName": name, "StreamARN": stream_arn,
                     "ConsumerStatus": "ACTIVE",
                     "ConsumerCreationTimestamp": created.isoformat()
                     if isinstance(created, dt.datetime) else str(created)}

    # -- moto patches -----------------------------------------------------------------
    def apply(self, patcher: Patcher) -> None:
        """Stamp each record's arrival with the virtual clock (moto uses the wall clock)."""
        from moto.kinesis import models as kinesis_models

        original = kinesis_models.Record.__init__
        clock = self.kernel.clock

        def record_init(record: Any, *args: Any, **kwargs: Any) -> None:
            original(record, *args, **kwargs)
            record.created_at_datetime = clock.now()
            record.created_at = record.created_at_datetime.timestamp()

        patcher.set(kinesis_models.Record, "__init__", record_init)

    # -- names and reading ------------------------------------------------------------
    def stream_arn(self, ref: str) -> str:
        """A stream's ARN from its ARN, name, construct path or logical id."""
        if ref.startswith("arn:"):
            return self.consumers.get(ref, ref)
        found = self.kernel.registry.lookup(ref, "AWS::Kinesis::Stream")
        name = found.physical_id if found else ref
        return self.kernel.arn("kinesis", f"stream/{name}")

    def _backend_stream(self, stream_arn: str) -> Any:
        from moto.kinesis.models import kinesis_backends

        backend = kinesis_backends[self.kernel.account_id][self.kernel.region]
        name = stream_arn.split("/", 1)[-1].split("/")[0]
        stream = backend.streams.get(name)
        if stream is None:
            raise ResourceNotFoundError(f"no deployed Kinesis stream {stream_arn!r}")
        return stream

    def shards(self, stream_or_consumer_arn: str) -> dict[str, list[StreamRecord]]:
        """Every shard of a stream (or of a consumer's stream), records in sequence order."""
        stream = self._backend_stream(self.stream_arn(stream_or_consumer_arn))
        found: dict[str, list[StreamRecord]] = {}
        for shard_id, shard in stream.shards.items():
            records = []
            for record in shard.records.values():
                data = record.data if isinstance(record.data, str) else base64.b64encode(
                    record.data).decode()
                lambda_record: dict[str, Any] = {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": record.partition_key,
                        "sequenceNumber": str(record.sequence_number),
                        "data": data,
                        "approximateArrivalTimestamp": round(record.created_at, 3),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{shard_id}:{record.sequence_number}",
                    "eventName": "aws:kinesis:record",
                    "awsRegion": self.kernel.region,
                }
                view = dict(lambda_record["kinesis"])
                # Lambda matches non-JSON data as the base64 string.
                with contextlib.suppress(ValueError):
                    view["data"] = json.loads(base64.b64decode(data))
                records.append(StreamRecord(
                    shard_id=str(shard_id), sequence_number=str(record.sequence_number),
                    arrival=record.created_at_datetime.replace(tzinfo=dt.UTC)
                    if record.created_at_datetime.tzinfo is None
                    else record.created_at_datetime,
                    lambda_record=lambda_record, filter_view=view))
            found[str(shard_id)] = records
        return found

    def put_record(self, stream: str, data: bytes | str, partition_key: str) -> dict[str, Any]:
        """Put one record (``PutRecord``); returns the shard id and sequence number."""
        body = data.encode() if isinstance(data, str) else data
        response: dict[str, Any] = self.kernel.client("kinesis").put_record(
            StreamARN=self.stream_arn(stream), Data=body, PartitionKey=partition_key)
        return response
