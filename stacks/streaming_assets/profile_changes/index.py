"""React to changes of customer profiles: a message per change for the personalisation team.

The example's own consumer code (``ConsumerHandler.code``), written the way the library
documents: Powertools' ``BatchProcessor`` with ``EventType.DynamoDBStreams`` and a partial
batch response. Each INSERT, MODIFY or REMOVE of a profile becomes one message on the
``QUEUE_URL`` queue: the profile id, the kind of change and the attributes that changed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def changed_attributes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The attributes whose value differs between two images (added and removed ones too)."""
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def change_message(record: DynamoDBRecord) -> dict[str, Any]:
    """What the personalisation team is told about one stream record."""
    change = record.dynamodb
    assert change is not None
    old = change.old_image or {}
    new = change.new_image or {}
    keys = change.keys or {}
    return {
        "profile_id": str(keys.get("profile_id")),
        "change": record.event_name.name if record.event_name else "UNKNOWN",
        "changed": changed_attributes(dict(old), dict(new)),
        "tier": str(new.get("tier", old.get("tier", ""))),
    }


def record_handler(record: DynamoDBRecord) -> None:
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"],
                                     MessageBody=json.dumps(change_message(record)))


def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)
