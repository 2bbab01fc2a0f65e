"""Record partitioner: CSV or JSON-lines objects in, Hive-partitioned JSON lines out.

A Step Functions task invokes it (entry point ``index.handler``) with one of::

    {"bucket": "...", "key": "incoming/orders.csv", "version_id": "..."}   # one object
    {"bucket": "...", "prefix": "incoming/2026-11-25/"}                       # every object
    {"bucket": "...", "Key": "..."}                            # a Distributed Map S3 item

For each source object it parses the records (``records.py``), groups them by the values of
``PARTITION_KEYS`` and writes one JSON-lines object per partition to ``TARGET_BUCKET`` under
``TARGET_PREFIX`` (``<prefix><k1>=<v1>/part-<source id>.jsonl``). Output names derive from the
source object's bucket, key and version, so a retried invocation overwrites its own output
and never duplicates records.

Records that cannot be used (malformed line, wrong field count, nested partition value) are
written with their line number and reason to ``<prefix>_rejected/part-<source id>.jsonl``. When
they exceed ``MAX_REJECTED_FRACTION`` of the object's records the invocation fails with
:class:`records.TooManyRejectedRecordsError` *before* any partition is written, so a bad extract
never half-lands in the curated zone; the workflow's catch records and notifies the failure.

Returns a summary: source count, records written, records rejected, partitions (sorted, at most
:data:`MAX_LISTED_PARTITIONS`), objects written.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config
from records import (
    ConfigurationError,
    InvalidEventError,
    Settings,
    SourceRef,
    TooManyRejectedRecordsError,
    detect_format,
    load_settings,
    output_key,
    parse_event,
    parse_records,
    partition_records,
    source_id,
    to_json_lines,
)

__all__ = [
    "ConfigurationError",
    "InvalidEventError",
    "TooManyRejectedRecordsError",
    "convert_object",
    "handler",
]

#: The summary lists at most this many partitions, so it stays far below Step Functions'
#: 256 KiB state limit whatever the input.
MAX_LISTED_PARTITIONS = 100
REJECTED_FOLDER = "_rejected/"

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class ObjectSummary:
    """What converting one source object produced."""

    key: str
    records: int
    rejected: int
    partitions: tuple[str, ...]
    objects_written: int


@functools.cache
def _s3() -> BaseClient:
    return boto3.client("s3", config=_BOTO_CONFIG)


@functools.cache
def _settings() -> Settings:
    return load_settings(os.environ)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Convert the object (or every object under the prefix) named by ``event``."""
    settings = _settings()
    ref = parse_event(event)
    summaries: list[ObjectSummary] = []
    skipped: list[str] = []
    for key, version in _source_keys(ref):
        if detect_format(key) is None:
            if ref.key is not None:
                raise InvalidEventError(
                    f"{key!r} is neither CSV (.csv) nor JSON lines (.jsonl, .ndjson, .json)")
            skipped.append(key)
            continue
        summaries.append(convert_object(_s3(), settings, ref.bucket, key, version))
    partitions = sorted({p for s in summaries for p in s.partitions})
    written = sum(s.records for s in summaries)
    rejected = sum(s.rejected for s in summaries)
    metrics.add_metric(name="RecordsWritten", unit=MetricUnit.Count, value=written)
    metrics.add_metric(name="RecordsRejected", unit=MetricUnit.Count, value=rejected)
    logger.info("Converted records", extra={"sources": len(summaries), "records": written,
                                             "rejected": rejected, "skipped": len(skipped)})
    return {
        "sources": len(summaries),
        "skipped": len(skipped),
        "records": written,
        "rejected": rejected,
        "objects_written": sum(s.objects_written for s in summaries),
        "target_bucket": settings.target_bucket,
        "partitions": partitions[:MAX_LISTED_PARTITIONS],
        "partitions_truncated": len(partitions) > MAX_LISTED_PARTITIONS,
    }


def _source_keys(ref: SourceRef) -> Iterator[tuple[str, str | None]]:
    if ref.key is not None:
        yield ref.key, ref.version_id
        return
    paginator = _s3().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=ref.bucket, Prefix=ref.prefix or ""):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                yield obj["Key"], None


@tracer.capture_method
def convert_object(
    s3: BaseClient, settings: Settings, bucket: str, key: str, version_id: str | None
) -> ObjectSummary:
    """Partition one object; reject-file first, then the partitions (or fail before them)."""
    fmt = detect_format(key)
    assert fmt is not None
    request: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        request["VersionId"] = version_id
    body = s3.get_object(**request)["Body"]
    result = partition_records(parse_records(body, fmt), settings.partition_keys)
    source = source_id(bucket, key, version_id)
    total = result.record_count + len(result.rejected)
    if result.rejected:
        rejected_lines = [
            {"source": f"s3://{bucket}/{key}", "line": r.line, "reason": r.reason, "raw": r.raw}
            for r in result.rejected
        ]
        s3.put_object(
            Bucket=settings.target_bucket,
            Key=output_key(settings.target_prefix + REJECTED_FOLDER, "", source),
            Body=to_json_lines(rejected_lines),
            ContentType="application/x-ndjson",
        )
        fraction = len(result.rejected) / total
        if fraction > settings.max_rejected_fraction:
            raise TooManyRejectedRecordsError(
                f"{len(result.rejected)} of {total} records of s3://{bucket}/{key} were "
                f"rejected (allowed fraction {settings.max_rejected_fraction}); first: line "
                f"{result.rejected[0].line}: {result.rejected[0].reason}"
            )
    for partition, records in sorted(result.partitions.items()):
        s3.put_object(
            Bucket=settings.target_bucket,
            Key=output_key(settings.target_prefix, partition, source),
            Body=to_json_lines(records),
            ContentType="application/x-ndjson",
        )
    return ObjectSummary(
        key=key,
        records=result.record_count,
        rejected=len(result.rejected),
        partitions=tuple(sorted(result.partitions)),
        objects_written=len(result.partitions),
    )


