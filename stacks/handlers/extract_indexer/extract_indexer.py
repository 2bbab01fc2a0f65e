"""Indexes each accepted extract: where it is, its format and its columns.

Invoked asynchronously by the ingestion pipeline's rule (``IngestionTarget.function``) with
the compact notification (``bucket``, ``key``, ``size``, ``etag``, ``version_id``,
``event_time``). Reads the first line of the exact version that was accepted and writes
``index/<key>.json`` to ``INDEX_BUCKET``: the catalog the analysts search to find an
extract by column. Writing the same entry again is harmless, so a redelivered event is too.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()

#: Bytes read from the start of an extract: enough for any header line.
HEADER_BYTES = 64 * 1024
INDEX_PREFIX = "index/"


class NotAnExtractError(ValueError):
    """The notification does not describe an extract this indexer understands."""


def extract_format(key: str) -> str:
    """``csv`` or ``jsonl``, from the key's suffix."""
    if key.endswith(".csv"):
        return "csv"
    if key.endswith((".json", ".jsonl")):
        return "jsonl"
    raise NotAnExtractError(f"{key!r} is neither CSV nor JSON lines")


def columns_of(first_line: str, fmt: str) -> list[str]:
    """The column names an extract's first line declares (CSV header or first record)."""
    line = first_line.strip().lstrip("\ufeff")
    if not line:
        return []
    if fmt == "csv":
        return [column.strip().strip('"') for column in line.split(",")]
    record = json.loads(line)
    if not isinstance(record, dict):
        raise NotAnExtractError("the first JSON line is not an object")
    return sorted(record)


def index_entry(notification: dict[str, Any], first_line: str) -> dict[str, Any]:
    """The index document of one accepted extract."""
    fmt = extract_format(notification["key"])
    return {
        "bucket": notification["bucket"],
        "key": notification["key"],
        "version_id": notification.get("version_id"),
        "size": notification.get("size"),
        "etag": notification.get("etag"),
        "landed_at": notification.get("event_time"),
        "format": fmt,
        "columns": columns_of(first_line, fmt),
    }


def index_key(key: str) -> str:
    return f"{INDEX_PREFIX}{key}.json"


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Index one accepted extract (see the module docstring)."""
    s3 = boto3.client("s3")
    request: dict[str, Any] = {"Bucket": event["bucket"], "Key": event["key"],
                               "Range": f"bytes=0-{HEADER_BYTES - 1}"}
    if event.get("version_id"):
        request["VersionId"] = event["version_id"]
    head = s3.get_object(**request)["Body"].read().decode("utf-8", errors="replace")
    entry = index_entry(event, head.split("\n", 1)[0])
    s3.put_object(Bucket=os.environ["INDEX_BUCKET"], Key=index_key(event["key"]),
                  Body=json.dumps(entry, sort_keys=True).encode(),
                  ContentType="application/json")
    logger.info("indexed extract", extra={"key": event["key"], "columns": entry["columns"]})
    return entry
