"""Reconciliation sweep of the S3 ingestion pipeline (entry point ``index.handler``).

EventBridge Scheduler invokes it (``{"trigger": "schedule", "scheduled_time": "..."}``; any
other payload sweeps as of now). Each run continues or starts a *pass* over the watched
prefixes (window, cursor and watermark: see ``sweep.py``) and, for every listed object
version in the window that the rule would have ingested:

- no ledger row: the event was lost somewhere upstream (S3 to EventBridge, the rule, the
  target, the validator's retries). The version is *re-driven*: the validator is invoked
  asynchronously with the compact event the rule would have sent, so it goes through the
  same rules, conditional ledger claim (with its lease), quarantine and outcome event, and
  a late original event is answered as a duplicate;
- a ledger row without ``published_at`` older than ``minimum_age``: an attempt claimed the
  object and never finished (its event ended in the validator's failure queue); re-driving
  makes the validator finish the recorded decision;
- in an unversioned bucket, a row for the key with another ETag: the key was overwritten and
  the new object's event lost. Re-driving makes the validator raise its ledger conflict
  (on-failure destination, alarm) instead of the new object passing unnoticed.

It reports every run as Powertools metrics (``ObjectsReconciled``, ``ObjectsExamined``,
``ReconciliationPassIncomplete``) and, when it re-drove anything, one ``ObjectsReconciled``
event on ``EVENT_BUS_NAME`` naming the versions (the first 100 of them).

Nothing is written before the re-drives succeed: a run that fails leaves the stored state as
it was, and the next run repeats its work, which the validator answers idempotently.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config
from sweep import (
    ConfigurationError,
    Cursor,
    SweepSettings,
    SweepState,
    compact_event,
    dump_state,
    in_window,
    load_settings,
    make_object_id,
    parse_state,
    reference_time,
    start_pass,
    version_id_of,
    wanted,
    watched_prefixes,
)

__all__ = ["ConfigurationError", "SweepReport", "handler", "run_sweep"]

#: ListObjectVersions returns at most 1,000 entries per page.
_PAGE_SIZE = 1000
#: BatchGetItem reads at most 100 keys per call.
_LEDGER_BATCH = 100
#: A run stops taking new pages when less than this much of its time is left.
_TIME_RESERVE_MS = 30_000
#: How many re-driven versions the ObjectsReconciled event lists by name.
_REPORTED_OBJECTS = 100
_UNPROCESSED_RETRIES = 8

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass
class SweepReport:
    """What one run did; also the handler's return value (:meth:`summary`)."""

    bucket: str
    examined: int = 0
    redriven: list[dict[str, Any]] = field(default_factory=list)
    pass_complete: bool = False
    watermark: str | None = None

    def summary(self) -> dict[str, Any]:
        """The report as the event detail and return value (``objects`` capped at 100)."""
        return {
            "bucket": self.bucket,
            "count": len(self.redriven),
            "objects": self.redriven[:_REPORTED_OBJECTS],
            "objects_truncated": len(self.redriven) > _REPORTED_OBJECTS,
            "examined": self.examined,
            "pass_complete": self.pass_complete,
            "watermark": self.watermark,
        }


@dataclass(frozen=True)
class _Runtime:
    settings: SweepSettings
    s3: BaseClient
    dynamodb: BaseClient
    lambda_: BaseClient
    ssm: BaseClient
    events: BaseClient


@functools.cache
def _runtime() -> _Runtime:
    """Configuration and clients, once per execution environment (not at import)."""
    return _Runtime(
        settings=load_settings(os.environ),
        s3=boto3.client("s3", config=_BOTO_CONFIG),
        dynamodb=boto3.client("dynamodb", config=_BOTO_CONFIG),
        lambda_=boto3.client("lambda", config=_BOTO_CONFIG),
        ssm=boto3.client("ssm", config=_BOTO_CONFIG),
        events=boto3.client("events", config=_BOTO_CONFIG),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Run one slice of the sweep; return its :meth:`SweepReport.summary`."""
    runtime = _runtime()
    as_of = reference_time(event, datetime.now(UTC))
    report = run_sweep(runtime, as_of, context.get_remaining_time_in_millis)
    summary = report.summary()
    metrics.add_metric(name="ObjectsReconciled", unit=MetricUnit.Count, value=summary["count"])
    metrics.add_metric(name="ObjectsExamined", unit=MetricUnit.Count, value=report.examined)
    metrics.add_metric(
        name="ReconciliationPassIncomplete", unit=MetricUnit.Count,
        value=0 if report.pass_complete else 1,
    )
    if report.redriven:
        logger.warning("Re-drove objects the ledger did not know", extra={"report": summary})
    else:
        logger.info("Nothing to reconcile", extra={"report": summary})
    return summary


@tracer.capture_method
def run_sweep(
    runtime: _Runtime, as_of: datetime, remaining_ms: Callable[[], int]
) -> SweepReport:
    """Continue (or start) a pass, re-drive what the ledger lacks, report, store the state.

    The report goes out before the state is stored: if storing fails, the next run repeats
    the slice (re-drives are idempotent) rather than having re-driven objects unreported.
    """
    settings = runtime.settings
    state = _read_state(runtime)
    cursor = state.cursor or start_pass(
        state, as_of, overlap=settings.overlap, minimum_age=settings.minimum_age
    )
    prefixes = watched_prefixes(settings.key_prefixes)
    report = SweepReport(bucket=settings.bucket)
    while cursor.prefix_index < len(prefixes):
        budget = settings.max_objects_per_run - report.examined
        if budget <= 0 or remaining_ms() < _TIME_RESERVE_MS:
            break
        page = _list_page(runtime, prefixes[cursor.prefix_index], cursor, budget)
        versions = page.get("Versions", [])
        report.examined += len(versions)
        due = [
            v for v in versions
            if wanted(v["Key"], int(v.get("Size", 0)), settings)
            and in_window(v["LastModified"], cursor.cutoff, cursor.until)
        ]
        for version in _needing_redrive(runtime, due, cursor.until):
            report.redriven.append(_redrive(runtime, version))
        cursor = cursor.advanced(page)

    report.pass_complete = cursor.prefix_index >= len(prefixes)
    new_state = (
        SweepState(watermark=cursor.until, cursor=None)
        if report.pass_complete
        else SweepState(watermark=state.watermark, cursor=cursor)
    )
    watermark = new_state.watermark
    report.watermark = watermark.isoformat() if watermark is not None else None
    if report.redriven:
        _publish(runtime, report.summary())
    _write_state(runtime, new_state)
    return report


# --- S3 -----------------------------------------------------------------------------------


def _list_page(runtime: _Runtime, prefix: str, cursor: Cursor, budget: int) -> dict[str, Any]:
    """One ListObjectVersions page of ``prefix`` from the cursor's markers."""
    request: dict[str, Any] = {
        "Bucket": runtime.settings.bucket,
        "Prefix": prefix,
        "MaxKeys": min(_PAGE_SIZE, budget),
    }
    if cursor.key_marker is not None:
        request["KeyMarker"] = cursor.key_marker
        if cursor.version_id_marker is not None:
            request["VersionIdMarker"] = cursor.version_id_marker
    page: dict[str, Any] = runtime.s3.list_object_versions(**request)
    return page


# --- ledger -------------------------------------------------------------------------------


def _needing_redrive(
    runtime: _Runtime, versions: Sequence[Mapping[str, Any]], until: datetime
) -> list[Mapping[str, Any]]:
    """The versions without a ledger row, whose row was never finished by ``until``, or
    (unversioned) whose row records another object under the same key."""
    bucket = runtime.settings.bucket
    by_id = {make_object_id(bucket, v["Key"], version_id_of(v)): v for v in versions}
    rows = _ledger_rows(runtime, list(by_id))
    due: list[Mapping[str, Any]] = []
    for object_id, version in by_id.items():
        if _needs_redrive(rows.get(object_id), version, until):
            due.append(version)
    return due


def _needs_redrive(
    row: Mapping[str, Any] | None, version: Mapping[str, Any], until: datetime
) -> bool:
    """No row; a row never finished by ``until``; or (unversioned) another object's row."""
    if row is None:
        return True
    if "published_at" not in row:
        return _recorded_before(row, until)
    overwritten = _bare(row.get("etag")) != _bare(version.get("ETag"))
    return version_id_of(version) is None and overwritten


def _bare(etag: Any) -> str:
    """ETags come quoted from S3 listings and unquoted in events and the ledger."""
    return str(etag or "").strip('"')


def _ledger_rows(runtime: _Runtime, object_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The ledger rows of ``object_ids`` (strongly consistent), by object id."""
    table = runtime.settings.ledger_table_name
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(object_ids), _LEDGER_BATCH):
        request: dict[str, Any] = {
            table: {
                "Keys": [
                    {"object_id": {"S": oid}} for oid in object_ids[start:start + _LEDGER_BATCH]
                ],
                "ConsistentRead": True,
                "ProjectionExpression": "#id, #etag, #published, #recorded",
                "ExpressionAttributeNames": {
                    "#id": "object_id", "#etag": "etag", "#published": "published_at",
                    "#recorded": "recorded_at",
                },
            }
        }
        for attempt in range(_UNPROCESSED_RETRIES + 1):
            response = runtime.dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                rows[item["object_id"]["S"]] = {k: next(iter(v.values())) for k, v in item.items()}
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            if attempt == _UNPROCESSED_RETRIES:
                raise RuntimeError(
                    f"DynamoDB left {len(request[table]['Keys'])} ledger keys unprocessed "
                    f"after {_UNPROCESSED_RETRIES} retries; the next run checks them again"
                )
            time.sleep(min(2.0, 0.05 * 2**attempt))
    return rows


def _recorded_before(row: Mapping[str, Any], until: datetime) -> bool:
    """True when the row's ``recorded_at`` is at or before ``until`` (unknown: True)."""
    recorded = row.get("recorded_at")
    if not isinstance(recorded, str):
        return True
    try:
        return datetime.fromisoformat(recorded.replace("Z", "+00:00")) <= until
    except ValueError:
        return True


# --- re-drive and report --------------------------------------------------------------------


def _redrive(runtime: _Runtime, version: Mapping[str, Any]) -> dict[str, Any]:
    """Invoke the validator asynchronously with the version's compact event."""
    settings = runtime.settings
    event = compact_event(settings.bucket, version)
    runtime.lambda_.invoke(
        FunctionName=settings.validator_function,
        InvocationType="Event",
        Payload=json.dumps(event).encode(),
    )
    return {
        "key": event["key"],
        "version_id": event["version_id"],
        "object_id": make_object_id(settings.bucket, event["key"], event["version_id"]),
    }


def _publish(runtime: _Runtime, summary: Mapping[str, Any]) -> None:
    """Put the ObjectsReconciled event; raise unless EventBridge accepted it."""
    settings = runtime.settings
    response = runtime.events.put_events(Entries=[{
        "EventBusName": settings.event_bus_name,
        "Source": settings.event_source,
        "DetailType": settings.reconciled_detail_type,
        "Detail": json.dumps(summary),
    }])
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise RuntimeError(
            f"EventBridge rejected the {settings.reconciled_detail_type} event: "
            f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )


# --- state ----------------------------------------------------------------------------------


def _read_state(runtime: _Runtime) -> SweepState:
    value = runtime.ssm.get_parameter(Name=runtime.settings.state_parameter_name)
    return parse_state(str(value["Parameter"]["Value"]))


def _write_state(runtime: _Runtime, state: SweepState) -> None:
    runtime.ssm.put_parameter(
        Name=runtime.settings.state_parameter_name,
        Value=dump_state(state),
        Type="String",
        Overwrite=True,
    )

