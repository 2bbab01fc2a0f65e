"""Pure logic of the pipe enrichment: turn SQS records into workflow inputs.

No AWS calls and no Powertools here, so tests exercise it directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

#: The longest raw body kept in the output of a malformed message (the rest is cut).
MAX_RAW_BODY_CHARS = 2048


class InvalidPipeBatch(ValueError):
    """The enrichment was not called with a batch of SQS records (a wiring mistake)."""


def enrich_batch(batch: Any) -> list[dict[str, Any]]:
    """One workflow input per record, in order; a malformed record never fails the batch.

    Pipes sends the batch as a JSON array of SQS records. Anything else means the pipe is
    wired to something it should not be, and raises :class:`InvalidPipeBatch`.
    """
    if not isinstance(batch, list):
        raise InvalidPipeBatch(
            f"expected a JSON array of SQS records from EventBridge Pipes, got "
            f"{type(batch).__name__}"
        )
    return [enrich_record(record, position) for position, record in enumerate(batch)]


def enrich_record(record: Any, position: int = 0) -> dict[str, Any]:
    """The workflow input for one SQS record.

    ``payload`` is the body parsed as JSON; a body that is a (non-raw) SNS notification
    envelope is unwrapped to its ``Message``, and its message attributes are taken from the
    envelope. ``message_id`` identifies the message across redeliveries, so the workflow
    can use it as an idempotency key. ``valid`` is False (with ``error``) for a record
    without a body or whose body is not JSON.
    """
    if not isinstance(record, Mapping):
        return _invalid(None, position, f"record {position} is not an object", None)
    message_id = record.get("messageId")
    body = record.get("body")
    if not isinstance(body, str):
        return _invalid(message_id, position, "the record has no body", None)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _invalid(message_id, position, f"the body is not JSON: {exc}", body)
    attributes = _attributes(record.get("messageAttributes"))
    if _is_sns_envelope(payload):
        attributes = {**attributes, **_envelope_attributes(payload)}
        message = payload["Message"]
        try:
            payload = json.loads(message)
        except ValueError as exc:
            return _invalid(message_id, position,
                            f"the SNS message is not JSON: {exc}", message)
    return {
        "message_id": message_id,
        "valid": True,
        "sent_at": _sent_at(record),
        "receive_count": _receive_count(record),
        "attributes": attributes,
        "payload": payload,
    }


def _invalid(message_id: Any, position: int, error: str, raw: str | None) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "valid": False,
        "position": position,
        "error": error,
        "raw_body": raw[:MAX_RAW_BODY_CHARS] if raw is not None else None,
    }


def _is_sns_envelope(payload: Any) -> bool:
    return (isinstance(payload, dict) and payload.get("Type") == "Notification"
            and isinstance(payload.get("Message"), str) and "TopicArn" in payload)


def _attributes(raw: Any) -> dict[str, str]:
    """SQS message attributes as name -> string value (binary ones are skipped)."""
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, Mapping) and isinstance(value.get("stringValue"), str):
            out[str(name)] = value["stringValue"]
    return out


def _envelope_attributes(envelope: Mapping[str, Any]) -> dict[str, str]:
    attributes = envelope.get("MessageAttributes")
    if not isinstance(attributes, Mapping):
        return {}
    return {str(name): str(value.get("Value")) for name, value in attributes.items()
            if isinstance(value, Mapping) and value.get("Type") in ("String", "Number")}


def _sent_at(record: Mapping[str, Any]) -> str | None:
    attributes = record.get("attributes")
    stamp = attributes.get("SentTimestamp") if isinstance(attributes, Mapping) else None
    try:
        millis = int(str(stamp))
    except ValueError:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _receive_count(record: Mapping[str, Any]) -> int | None:
    attributes = record.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    try:
        return int(str(count))
    except ValueError:
        return None


def count_invalid(items: Sequence[Mapping[str, Any]]) -> int:
    """How many of the enriched items are invalid."""
    return sum(1 for item in items if not item.get("valid"))
