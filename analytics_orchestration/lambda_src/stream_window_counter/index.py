"""Count stream records per key in tumbling windows; write each window's counts to DynamoDB.

The event source mapping has a tumbling window: Lambda passes the window's ``state`` in
and expects it back (``{"state": ..., "batchItemFailures": [...]}``); on the window's
final invocation (``isFinalInvokeForWindow``) the counts are written, one row per key and
shard (:func:`counting.window_rows`). Records are processed in order by
:class:`ordered.InOrderStreamProcessor`: a malformed record (no JSON, no key) stops the
batch there, so every other record is counted exactly once and the malformed one ends in
the on-failure destination after the mapping's retries.

Environment: ``TABLE_NAME`` (the aggregate table), ``KEY_FIELD`` (the JSON field counted).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import (
    KinesisStreamRecord,
)
from counting import (
    add,
    dynamodb_payload,
    key_of,
    kinesis_payload,
    window_rows,
)
from ordered import InOrderStreamProcessor

logger = Logger()


def _event_type(event: dict[str, Any]) -> EventType:
    sources = {record.get("eventSource") for record in event.get("Records") or []}
    return EventType.DynamoDBStreams if sources == {"aws:dynamodb"} else (
        EventType.KinesisDataStreams)


def _write(event: dict[str, Any], state: dict[str, Any]) -> None:
    rows = window_rows(event["window"], str(event.get("shardId", "")), state)
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    with table.batch_writer() as batch:
        for row in rows:
            batch.put_item(Item=row)
    logger.info("Window written", extra={"window": event["window"], "keys": len(rows)})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    key_field = os.environ["KEY_FIELD"]
    counts: dict[str, int] = {k: int(v) for k, v in (event.get("state") or {}).items()}

    def count(record: KinesisStreamRecord | DynamoDBRecord) -> None:
        if isinstance(record, KinesisStreamRecord):
            payload = kinesis_payload(record.kinesis.data)
        else:
            payload = dynamodb_payload(record.raw_event["dynamodb"].get("NewImage") or {})
        add(counts, key_of(payload, key_field))

    processor = InOrderStreamProcessor(_event_type(event))
    with processor(event.get("Records") or [], count, context):
        processor.process()
    response = processor.response()
    if event.get("isFinalInvokeForWindow") and not response["batchItemFailures"]:
        _write(event, counts)
        return {"state": {}, "batchItemFailures": []}
    return {"state": counts, "batchItemFailures": response["batchItemFailures"]}
