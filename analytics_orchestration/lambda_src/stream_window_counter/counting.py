"""Counting stream records per key within a tumbling window: plain functions.

A tumbling window's state is a JSON object Lambda hands from one invocation to the next
(``state`` in the event, returned in the response): here ``{key value: count}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

#: The attribute that names each aggregate row, and the one that orders its windows.
PARTITION_KEY = "key"
SORT_KEY = "window"


class MalformedRecordError(ValueError):
    """A record whose payload has no usable key (not JSON, or the field is missing)."""


def key_of(payload: Any, key_field: str) -> str:
    """The value of ``key_field`` in a decoded payload, as a string."""
    if not isinstance(payload, Mapping):
        raise MalformedRecordError(f"the payload is not a JSON object: {payload!r:.80}")
    value = payload.get(key_field)
    if value is None or isinstance(value, dict | list) or value == "":
        raise MalformedRecordError(f"the payload has no {key_field!r} value")
    return str(value)


def kinesis_payload(data: str) -> Any:
    """A Kinesis record's ``data`` (base64) decoded as JSON."""
    try:
        return json.loads(base64.b64decode(data))
    except ValueError as error:
        raise MalformedRecordError(f"the record's data is not JSON: {error}") from None


def dynamodb_payload(image: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream record's ``NewImage`` as plain values (strings and numbers)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in image.items()}


def add(state: dict[str, int], key: str) -> None:
    """Count one record of ``key``."""
    state[key] = int(state.get(key, 0)) + 1


def window_rows(window: Mapping[str, str], shard_id: str,
                state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows a finished window leaves: one per key, per shard (each shard has its own
    window), so a retried final invocation overwrites its rows instead of adding twice."""
    start, end = str(window["start"]), str(window["end"])
    return [{PARTITION_KEY: key, SORT_KEY: f"{start}#{shard_id}", "window_start": start,
             "window_end": end, "shard_id": shard_id, "count": int(count)}
            for key, count in sorted(state.items())]
