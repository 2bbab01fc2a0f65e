"""Tests of the object validator handler (lambda_src/object_validator) against moto.

The handler runs end to end against a versioned bucket, the ledger and idempotency tables and
a custom event bus whose rule forwards the handler's events to an SQS queue, read back here.
The pure functions of ``rules.py`` are tested directly at the end of the file.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import pytest

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "analytics_orchestration" / "lambda_src"
HANDLER = "object_validator"
BUCKET = "ingest-bucket"
UNVERSIONED_BUCKET = "ingest-unversioned"
LEDGER_TABLE = "ingestion-ledger"
EVENT_BUS = "ingestion-bus"
EVENT_SOURCE = "analytics.ingestion"
QUARANTINE = "quarantine/"
MAX_SIZE = 1024
EVENT_TIME = "2025-01-31T12:00:00Z"

ENVIRONMENT = {
    "LEDGER_TABLE_NAME": LEDGER_TABLE,
    "EVENT_BUS_NAME": EVENT_BUS,
    "EVENT_SOURCE": EVENT_SOURCE,
    "ALLOWED_SUFFIXES": '[".csv", ".JSON"]',
    "MAX_OBJECT_SIZE_BYTES": str(MAX_SIZE),
    "REJECT_EMPTY": "true",
    "QUARANTINE_PREFIX": QUARANTINE,
}


@dataclass
class Pipeline:
    """The handler module plus the moto resources around it."""

    module: ModuleType
    context: Any
    s3: Any
    dynamodb: Any
    sqs: Any
    queue_url: str

    def invoke(self, event: Any) -> dict[str, Any]:
        return self.module.handler(event, self.context)

    def upload(
        self, key: str, body: bytes = b"a,b\n1,2\n", bucket: str = BUCKET, **extra: Any
    ) -> dict[str, Any]:
        """Put an object and return the compact event the construct would send for it."""
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        return {
            "bucket": bucket,
            "key": key,
            "size": len(body),
            "etag": response["ETag"].strip('"'),
            "version_id": response.get("VersionId"),
            "event_time": EVENT_TIME,
        }

    def emitted(self) -> list[dict[str, Any]]:
        """Drain the queue behind the bus rule: every event the handler put since last call."""
        events: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def ledger_rows(self) -> list[dict[str, Any]]:
        return self.dynamodb.Table(LEDGER_TABLE).scan(ConsistentRead=True)["Items"]

    def calls(self) -> list[str]:
        """Every AWS call the handler's clients make from now on (``service.Operation``)."""
        made: list[str] = []
        runtime = self.module._runtime()
        for client in (runtime.s3, runtime.events, runtime.ledger._client):
            client.meta.events.register(
                "before-call",
                lambda model, **_: made.append(f"{model.service_model.service_name}.{model.name}"),
            )
        return made

    def versions(self, key: str, bucket: str = BUCKET) -> tuple[list[Any], list[Any]]:
        """(versions, delete markers) stored under exactly ``key``."""
        listing = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        return (
            [v for v in listing.get("Versions", []) if v["Key"] == key],
            [m for m in listing.get("DeleteMarkers", []) if m["Key"] == key],
        )


@pytest.fixture
def validator_env(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def pipeline(
    aws_client: Callable[..., Any],
    validator_env: None,
    load_handler: Callable[..., ModuleType],
    lambda_context: Any,
) -> Pipeline:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=UNVERSIONED_BUCKET)

    dynamodb = aws_client("dynamodb", resource=True)
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        KeySchema=[{"AttributeName": "object_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "object_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    sqs = aws_client("sqs")
    queue_url = sqs.create_queue(QueueName="emitted-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = aws_client("events")
    events.create_event_bus(Name=EVENT_BUS)
    events.put_rule(
        Name="everything-from-validator",
        EventBusName=EVENT_BUS,
        EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
    )
    events.put_targets(
        Rule="everything-from-validator",
        EventBusName=EVENT_BUS,
        Targets=[{"Id": "queue", "Arn": queue_arn}],
    )
    return Pipeline(
        module=load_handler(HANDLER),
        context=lambda_context,
        s3=s3,
        dynamodb=dynamodb,
        sqs=sqs,
        queue_url=queue_url,
    )


def object_id(event: dict[str, Any]) -> str:
    return f"s3://{event['bucket']}/{event['key']}#{event['version_id'] or 'null'}"


def assert_iso_utc(value: str) -> None:
    assert datetime.fromisoformat(value).utcoffset().total_seconds() == 0


# --- accepted ---------------------------------------------------------------------------


def test_accepted_object_is_recorded_and_announced(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/data.csv")

    result = pipeline.invoke(event)

    oid = object_id(event)
    assert result == {"status": "ACCEPTED", "object_id": oid}
    [row] = pipeline.ledger_rows()
    assert {k: row[k] for k in ("object_id", "bucket", "key", "version_id", "etag")} == {
        "object_id": oid,
        "bucket": BUCKET,
        "key": "landing/data.csv",
        "version_id": event["version_id"],
        "etag": event["etag"],
    }
    assert (row["size"], row["event_time"], row["status"]) == (
        event["size"],
        EVENT_TIME,
        "ACCEPTED",
    )
    assert "reason" not in row and "quarantine_key" not in row
    assert_iso_utc(row["recorded_at"])
    assert_iso_utc(row["published_at"])
    assert "lease_until" not in row  # a finished row holds no lease
    [emitted] = pipeline.emitted()
    assert (emitted["source"], emitted["detail-type"]) == (EVENT_SOURCE, "ObjectAccepted")
    assert emitted["detail"] == {**event, "object_id": oid, "status": "ACCEPTED"}
    # Accepted objects stay where they are.
    versions, markers = pipeline.versions("landing/data.csv")
    assert len(versions) == 1 and not markers


def test_detail_types_come_from_the_environment(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCEPTED_DETAIL_TYPE", "Custom Accepted")
    monkeypatch.setenv("REJECTED_DETAIL_TYPE", "Custom Rejected")

    pipeline.invoke(pipeline.upload("landing/data.csv"))
    pipeline.invoke(pipeline.upload("landing/data.exe"))

    assert sorted(e["detail-type"] for e in pipeline.emitted()) == [
        "Custom Accepted",
        "Custom Rejected",
    ]


def test_suffix_match_ignores_case(pipeline: Pipeline) -> None:
    result = pipeline.invoke(pipeline.upload("landing/DATA.Json", b"{}"))
    assert result["status"] == "ACCEPTED"


def test_empty_object_accepted_when_reject_empty_is_false(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REJECT_EMPTY", "false")
    assert pipeline.invoke(pipeline.upload("landing/empty.csv", b""))["status"] == "ACCEPTED"


def test_metrics_count_outcomes(pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    pipeline.invoke(pipeline.upload("landing/data.csv"))
    pipeline.invoke(pipeline.upload("landing/data.exe"))

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    counted = [
        name for blob in emf for name in ("ObjectsAccepted", "ObjectsRejected") if name in blob
    ]
    assert counted == ["ObjectsAccepted", "ObjectsRejected"]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "AnalyticsOrchestrationTests"


# --- rejected ---------------------------------------------------------------------------


def assert_quarantined(
    pipeline: Pipeline, event: dict[str, Any], result: dict[str, Any], reason_part: str
) -> dict[str, Any]:
    """The shared checks of every rejection; returns the quarantined object's HEAD."""
    oid = object_id(event)
    quarantine_key = QUARANTINE + event["key"]
    assert result["status"] == "REJECTED"
    assert result["quarantine_key"] == quarantine_key
    assert reason_part in result["reason"]

    [row] = pipeline.ledger_rows()
    assert (row["object_id"], row["status"]) == (oid, "REJECTED")
    assert (row["reason"], row["quarantine_key"]) == (result["reason"], quarantine_key)

    [emitted] = pipeline.emitted()
    assert emitted["detail-type"] == "ObjectRejected"
    assert emitted["detail"] == {
        **event,
        "object_id": oid,
        "status": "REJECTED",
        "reason": result["reason"],
        "quarantine_key": quarantine_key,
    }

    # A true move: the original version is gone and no delete marker was left behind.
    if event["version_id"]:
        assert pipeline.versions(event["key"], event["bucket"]) == ([], [])
    else:
        listing = pipeline.s3.list_objects_v2(Bucket=event["bucket"], Prefix=event["key"])
        assert listing.get("KeyCount", 0) == 0
    head = pipeline.s3.head_object(Bucket=event["bucket"], Key=quarantine_key)
    assert head["Metadata"]["rejection-reason"] == result["reason"]
    assert head["ContentLength"] == event["size"]
    return head


def test_rejected_by_suffix_is_moved_to_quarantine(pipeline: Pipeline) -> None:
    event = pipeline.upload(
        "landing/report.pdf",
        b"%PDF-1.7",
        ContentType="application/pdf",
        Metadata={"uploaded-by": "alice"},
    )

    result = pipeline.invoke(event)

    head = assert_quarantined(pipeline, event, result, "key suffix is not allowed")
    assert result["reason"] == "key suffix is not allowed (allowed: .csv, .json)"
    # REPLACE keeps the original's content type and user metadata.
    assert head["ContentType"] == "application/pdf"
    assert head["Metadata"]["uploaded-by"] == "alice"
    body = pipeline.s3.get_object(Bucket=BUCKET, Key=QUARANTINE + "landing/report.pdf")["Body"]
    assert body.read() == b"%PDF-1.7"


def test_only_the_rejected_version_is_moved(pipeline: Pipeline) -> None:
    rejected = pipeline.upload("landing/report.pdf", b"old version")
    newer = pipeline.upload("landing/report.pdf", b"new version")

    result = pipeline.invoke(rejected)

    quarantined = pipeline.s3.get_object(Bucket=BUCKET, Key=result["quarantine_key"])
    assert quarantined["Body"].read() == b"old version"
    versions, markers = pipeline.versions("landing/report.pdf")
    assert [v["VersionId"] for v in versions] == [newer["version_id"]] and not markers


def test_rejected_by_size_is_moved_to_quarantine(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/big.csv", b"x" * (MAX_SIZE + 1))

    result = pipeline.invoke(event)

    assert_quarantined(pipeline, event, result, f"exceeds the maximum of {MAX_SIZE} bytes")


def test_object_at_the_size_limit_is_accepted(pipeline: Pipeline) -> None:
    assert (
        pipeline.invoke(pipeline.upload("landing/l.csv", b"x" * MAX_SIZE))["status"] == "ACCEPTED"
    )


def test_empty_object_is_moved_to_quarantine(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/empty.csv", b"")

    result = pipeline.invoke(event)

    assert_quarantined(pipeline, event, result, "object is empty")


def test_every_broken_rule_is_reported(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/big.bin", b"x" * (MAX_SIZE + 1))

    result = pipeline.invoke(event)

    assert "key suffix is not allowed" in result["reason"]
    assert "exceeds the maximum" in result["reason"]


def test_large_object_is_quarantined_with_a_multipart_copy(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Objects over CopyObject's 5 GiB limit are copied in parts; shrink the limits to test it.
    part = 5 * 1024**2
    monkeypatch.setattr(pipeline.module, "_MAX_SINGLE_COPY_BYTES", MAX_SIZE)
    monkeypatch.setattr(pipeline.module, "_COPY_PART_BYTES", part)
    body = bytes(range(256)) * (part // 256) + b"tail"
    event = pipeline.upload("landing/huge.csv", body, ContentType="text/csv")
    calls: list[str] = []
    pipeline.module._runtime().s3.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )

    result = pipeline.invoke(event)

    assert calls.count("UploadPartCopy") == 2 and "CopyObject" not in calls
    head = assert_quarantined(pipeline, event, result, "exceeds the maximum")
    assert head["ContentType"] == "text/csv"
    copied = pipeline.s3.get_object(Bucket=BUCKET, Key=QUARANTINE + "landing/huge.csv")
    assert copied["Body"].read() == body


def test_rejection_reason_metadata_is_ascii_and_fits_the_limit(pipeline: Pipeline) -> None:
    crowded = {"note": "n" * 2000}
    event = pipeline.upload("landing/report.pdf", b"pdf", Metadata=crowded)

    result = pipeline.invoke(event)

    head = pipeline.s3.head_object(Bucket=BUCKET, Key=result["quarantine_key"])
    metadata = head["Metadata"]
    assert metadata["note"] == crowded["note"]
    assert metadata["rejection-reason"].endswith("...")
    assert sum(len(k) + len(v) for k, v in metadata.items()) <= 2048


# --- duplicates, leases and crashes (each guarantee the ledger alone must keep) ----------


class Crash(BaseException):
    """A hard stop (Lambda timeout, out of memory): no ``except Exception`` runs after it."""


def crash_on(client: Any, operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``client.<operation>`` stop the attempt dead, as if the process were killed."""

    def crash(**kwargs: Any) -> Any:
        raise Crash(operation)

    monkeypatch.setattr(client, operation, crash)


def lease_runs_out(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the handler's clock past every lease taken so far (the attempt's deadline)."""
    now = pipeline.module._now_ms
    later = now() + pipeline.context.get_remaining_time_in_millis() + 1
    monkeypatch.setattr(pipeline.module, "_now_ms", lambda: later)


def sweep_redrive_event(pipeline: Pipeline, load_handler: Callable[..., ModuleType],
                        key: str) -> dict[str, Any]:
    """The event ``object_reconciler`` re-drives for the version under ``key``: only when its
    own rule (no row, or a row without ``published_at``) says the version is due."""
    sweep = load_handler("object_reconciler", "sweep")
    reconciler = load_handler("object_reconciler")
    [version] = [v for v in pipeline.versions(key)[0]]
    [row] = [r for r in pipeline.ledger_rows() if r["key"] == key] or [None]
    plain = None if row is None else {k: v for k, v in row.items() if isinstance(v, str)}
    assert reconciler._needs_redrive(plain, version, datetime.now(UTC) + timedelta(days=1))
    event: dict[str, Any] = sweep.compact_event(BUCKET, version)
    return event


@pytest.mark.parametrize("key", ["landing/data.csv", "landing/report.pdf"])
def test_duplicate_delivery_is_answered_from_the_ledger_with_one_call(
    pipeline: Pipeline, key: str
) -> None:
    event = pipeline.upload(key, b"a,b\n")
    first = pipeline.invoke(event)
    made = pipeline.calls()

    # EventBridge redelivery, the sweep's re-drive or Lambda's retry, at any time later: the
    # key is bucket + key + version, not the time.
    second = pipeline.invoke({**event, "event_time": "2025-01-31T12:05:00Z"})

    assert second == first
    assert made == ["dynamodb.PutItem"]  # the refused claim returns the row: nothing else
    assert len(pipeline.ledger_rows()) == 1
    assert len(pipeline.emitted()) == 1
    if first["status"] == "REJECTED":
        quarantined, _ = pipeline.versions(first["quarantine_key"])
        assert len(quarantined) == 1


def test_an_accepted_object_costs_three_calls(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/data.csv")
    made = pipeline.calls()

    pipeline.invoke(event)

    assert made == ["dynamodb.PutItem", "events.PutEvents", "dynamodb.UpdateItem"]


def test_a_concurrent_duplicate_never_publishes_next_to_the_running_attempt(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = pipeline.upload("landing/report.pdf", b"pdf")
    runtime = pipeline.module._runtime()
    put_events = runtime.events.put_events
    duplicate: dict[str, Any] = {}

    def put_events_while_a_duplicate_arrives(**kwargs: Any) -> Any:
        # The worst moment: claimed and moved, event not yet out.
        with pytest.raises(pipeline.module.ObjectInProgressError) as raised:
            pipeline.invoke(event)
        duplicate["error"] = raised.value
        return put_events(**kwargs)

    monkeypatch.setattr(runtime.events, "put_events", put_events_while_a_duplicate_arrives)
    first = pipeline.invoke(event)

    assert "error" in duplicate
    assert [e["detail-type"] for e in pipeline.emitted()] == ["ObjectRejected"]
    quarantined, _ = pipeline.versions(first["quarantine_key"])
    assert len(quarantined) == 1
    # Lambda's retry of the duplicate, later, is answered from the ledger.
    monkeypatch.setattr(runtime.events, "put_events", put_events)
    assert pipeline.invoke(event) == first
    assert pipeline.emitted() == []


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_failed_put_events_raises_and_the_retry_publishes_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = pipeline.upload("landing/report.pdf", b"pdf")
    runtime = pipeline.module._runtime()
    put_events = runtime.events.put_events

    def failing_put_events(**kwargs: Any) -> dict[str, Any]:
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
        }

    monkeypatch.setattr(runtime.events, "put_events", failing_put_events)
    with pytest.raises(pipeline.module.EventPublishError, match="InternalFailure"):
        pipeline.invoke(event)
    [row] = pipeline.ledger_rows()
    assert "published_at" not in row
    assert "lease_until" not in row  # handed back: the retry need not wait for the deadline

    monkeypatch.setattr(runtime.events, "put_events", put_events)
    result = pipeline.invoke(event)  # Lambda's async retry, a minute later

    assert result["status"] == "REJECTED"
    assert result["quarantine_key"] == QUARANTINE + "landing/report.pdf"
    [emitted] = pipeline.emitted()
    assert emitted["detail"]["quarantine_key"] == result["quarantine_key"]
    [row] = pipeline.ledger_rows()
    assert "published_at" in row
    quarantined, _ = pipeline.versions(result["quarantine_key"])
    assert len(quarantined) == 1


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(
    ("key", "client", "operation", "recovery"),
    [
        ("landing/data.csv", "events", "put_events", "sweep"),  # claimed, not announced
        ("landing/report.pdf", "s3", "delete_object", "sweep"),  # copied, not deleted
        # Moved, not announced: the original version is gone, so the sweep cannot list it;
        # Lambda's async retry of the event (1 and 2 minutes later, past the 30 s lease)
        # finishes it, else the on-failure destination keeps the event.
        ("landing/report.pdf", "events", "put_events", "retry"),
    ],
)
def test_a_crash_between_steps_is_finished_once_after_the_lease(
    pipeline: Pipeline,
    load_handler: Callable[..., ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    client: str,
    operation: str,
    recovery: str,
) -> None:
    event = pipeline.upload(key, b"a,b\n")
    runtime = pipeline.module._runtime()
    original = getattr(getattr(runtime, client), operation)
    crash_on(getattr(runtime, client), operation, monkeypatch)
    with pytest.raises(Crash):
        pipeline.invoke(event)
    monkeypatch.setattr(getattr(runtime, client), operation, original)
    [row] = pipeline.ledger_rows()
    assert "published_at" not in row and row["lease_until"]  # died holding its lease

    # While the dead attempt's lease runs, a duplicate does not step in...
    with pytest.raises(pipeline.module.ObjectInProgressError):
        pipeline.invoke(event)
    # ...after it, the sweep's re-drive (the row is due by its rule) or Lambda's retry
    # finishes the recorded decision.
    lease_runs_out(pipeline, monkeypatch)
    if recovery == "sweep":
        result = pipeline.invoke(sweep_redrive_event(pipeline, load_handler, key))
    else:
        assert pipeline.versions(key) == ([], [])
        result = pipeline.invoke(event)

    [emitted] = pipeline.emitted()
    assert emitted["detail"]["status"] == result["status"] == row["status"]
    [row] = pipeline.ledger_rows()
    assert "published_at" in row and "lease_until" not in row
    if row["status"] == "REJECTED":
        assert result["reason"] == "key suffix is not allowed (allowed: .csv, .json)"
        assert pipeline.versions(key) == ([], [])
        quarantined, _ = pipeline.versions(result["quarantine_key"])
        # Crashed before the delete, the resumed move copies again: the same bytes under
        # the same key (a noncurrent version more), never a second object elsewhere.
        assert len(quarantined) == (2 if operation == "delete_object" else 1)
        assert {v["ETag"] for v in quarantined} == {f'"{event["etag"]}"'}
    else:
        assert len(pipeline.versions(key)[0]) == 1
    assert pipeline.invoke(event) == result  # and the original's late retry is a duplicate
    assert pipeline.emitted() == []


def test_a_lost_event_is_validated_by_the_sweep_once(
    pipeline: Pipeline, load_handler: Callable[..., ModuleType]
) -> None:
    event = pipeline.upload("landing/data.csv")  # S3's event never arrived: no row at all

    result = pipeline.invoke(sweep_redrive_event(pipeline, load_handler, event["key"]))

    assert result == {"status": "ACCEPTED", "object_id": object_id(event)}
    assert pipeline.invoke(event) == result  # the late original
    assert len(pipeline.emitted()) == 1


def test_of_two_attempts_taking_over_an_expired_lease_one_wins(pipeline: Pipeline) -> None:
    ledger = pipeline.module._runtime().ledger
    oid = "s3://b/k#v"
    ledger._client.put_item(TableName=LEDGER_TABLE, Item={
        "object_id": {"S": oid}, "lease_until": {"N": "1000"}})

    assert ledger.take_over(oid, expired=1000, lease_until=5000) is True
    assert ledger.take_over(oid, expired=1000, lease_until=6000) is False
    ledger.release(oid, 6000)  # not its lease: nothing changes
    [row] = pipeline.ledger_rows()
    assert row["lease_until"] == 5000
    ledger.mark_published(oid)
    assert ledger.take_over(oid, expired=None, lease_until=7000) is False  # finished


# --- event shapes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (["not", "a", "dict"], ["JSON object", "list"]),
        (None, ["JSON object", "NoneType"]),
        ({}, ["bucket", "key", "etag", "event_time"]),
        (
            {"bucket": "", "key": 7, "etag": "e", "event_time": "t", "size": 1},
            ["bucket", "key"],
        ),
        ({"bucket": "b", "key": "k.csv", "etag": "e", "event_time": "t", "size": -1}, ["size"]),
        ({"bucket": "b", "key": "k.csv", "etag": "e", "event_time": "t", "size": "12kB"}, ["size"]),
        ({"bucket": "b", "key": "k.csv", "etag": "e", "event_time": "t", "size": True}, ["size"]),
        ({"bucket": "b", "key": "k.csv", "etag": "e", "event_time": "t", "size": 1.5}, ["size"]),
        (
            {"bucket": "b", "key": "k.csv", "event_time": "t", "size": 1, "version_id": 3},
            ["etag", "version_id"],
        ),
    ],
)
def test_malformed_event_raises_a_clear_error(
    pipeline: Pipeline, event: Any, named: list[str]
) -> None:
    with pytest.raises(pipeline.module.InvalidObjectEvent) as raised:
        pipeline.invoke(event)

    assert isinstance(raised.value, ValueError)
    for field in named:
        assert field in str(raised.value)
    assert pipeline.ledger_rows() == [] and pipeline.emitted() == []


def test_size_as_numeric_string_is_an_integer(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/data.csv", b"12345")

    pipeline.invoke({**event, "size": "5"})

    [row] = pipeline.ledger_rows()
    assert row["size"] == 5
    [emitted] = pipeline.emitted()
    assert emitted["detail"]["size"] == 5


@pytest.mark.parametrize("size_field", ["missing", "null"])
def test_unknown_size_is_read_from_s3_not_assumed_zero(pipeline: Pipeline, size_field: str) -> None:
    event = pipeline.upload("landing/data.csv", b"12345")
    event = {k: v for k, v in event.items() if k != "size"}
    if size_field == "null":
        event["size"] = None

    result = pipeline.invoke(event)

    assert result["status"] == "ACCEPTED"
    [emitted] = pipeline.emitted()
    assert emitted["detail"]["size"] == 5


def test_unknown_size_of_an_empty_object_is_rejected_as_empty(pipeline: Pipeline) -> None:
    event = {**pipeline.upload("landing/empty.csv", b""), "size": None}

    result = pipeline.invoke(event)

    assert result["status"] == "REJECTED"
    assert result["reason"] == "object is empty (0 bytes)"
    assert pipeline.emitted()[0]["detail"]["size"] == 0


def test_quarantined_keys_are_skipped(pipeline: Pipeline) -> None:
    event = pipeline.upload(QUARANTINE + "landing/report.pdf", b"pdf")

    result = pipeline.invoke(event)

    assert result["status"] == "SKIPPED"
    assert result["object_id"] == object_id(event)
    assert pipeline.ledger_rows() == [] and pipeline.emitted() == []
    versions, _ = pipeline.versions(event["key"])
    assert len(versions) == 1


# --- object keys: as S3 sent them, or URL-encoded -----------------------------------------

#: Keys that need care in URLs (AWS's object-key guidelines list +, %, space, colon and
#: non-ASCII), each sent raw (as observed from S3 to EventBridge) and form-encoded (as S3
#: documents for its classic notifications).
AWKWARD_KEYS = (
    "landing/q3 report.csv",
    "landing/c++/notes.csv",
    "landing/100% done.csv",
    "landing/2023-08-08T14:03:40.532432.csv",
    "landing/été €/données.csv",
    "landing/a+b %2B c.csv",
)


def form_encoded(key: str) -> str:
    """The key as classic S3 notifications carry it (``application/x-www-form-urlencoded``)."""
    return quote_plus(key, safe="/")


@pytest.mark.parametrize("encoding", ["raw", "form-encoded"])
@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_key_is_recorded_under_its_real_name_whatever_the_encoding(
    pipeline: Pipeline, key: str, encoding: str
) -> None:
    event = pipeline.upload(key)
    sent = {**event, "key": form_encoded(key) if encoding == "form-encoded" else key}

    result = pipeline.invoke(sent)

    assert result == {"status": "ACCEPTED", "object_id": object_id(event)}
    [row] = pipeline.ledger_rows()
    assert (row["key"], row["object_id"]) == (key, object_id(event))
    [emitted] = pipeline.emitted()
    assert emitted["detail"]["key"] == key


@pytest.mark.parametrize("encoding", ["raw", "form-encoded"])
def test_rejected_key_is_quarantined_under_its_real_name(
    pipeline: Pipeline, encoding: str
) -> None:
    key = "landing/q3 report+final.pdf"
    event = pipeline.upload(key, b"%PDF")
    sent = {**event, "key": form_encoded(key) if encoding == "form-encoded" else key}

    result = pipeline.invoke(sent)

    assert_quarantined(pipeline, event, result, "key suffix is not allowed")


@pytest.mark.parametrize("bucket", [BUCKET, UNVERSIONED_BUCKET])
def test_a_key_whose_decoded_form_is_another_object_resolves_to_the_right_one(
    pipeline: Pipeline, bucket: str
) -> None:
    plus = pipeline.upload("landing/a+b.csv", b"plus\n", bucket=bucket)
    space = pipeline.upload("landing/a b.csv", b"space\n", bucket=bucket)
    # Both events read "landing/a+b.csv": the first sent raw, the second form-encoded.
    assert form_encoded(space["key"]) == plus["key"]

    first = pipeline.invoke({**plus, "key": "landing/a+b.csv"})
    second = pipeline.invoke({**space, "key": "landing/a+b.csv"})

    assert first["object_id"] == object_id(plus)
    assert second["object_id"] == object_id(space)
    rows = {row["key"]: row for row in pipeline.ledger_rows()}
    assert sorted(rows) == ["landing/a b.csv", "landing/a+b.csv"]
    assert rows["landing/a b.csv"]["etag"] == space["etag"]
    assert rows["landing/a+b.csv"]["etag"] == plus["etag"]


def test_an_unambiguous_key_costs_no_s3_call(pipeline: Pipeline) -> None:
    event = pipeline.upload("landing/2023-08-08T14:03:40.csv")
    calls: list[str] = []
    pipeline.module._runtime().s3.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )

    assert pipeline.invoke(event)["status"] == "ACCEPTED"

    assert calls == []


def test_resolution_reads_the_size_when_the_event_has_none(pipeline: Pipeline) -> None:
    event = {**pipeline.upload("landing/a b.csv", b"12345"), "size": None}

    pipeline.invoke({**event, "key": "landing/a+b.csv"})

    [row] = pipeline.ledger_rows()
    assert (row["key"], row["size"]) == ("landing/a b.csv", 5)


def test_a_gone_object_with_an_ambiguous_key_is_recorded_under_the_key_as_sent(
    pipeline: Pipeline,
) -> None:
    event = pipeline.upload("landing/a b.pdf", b"pdf")
    pipeline.s3.delete_object(Bucket=BUCKET, Key=event["key"], VersionId=event["version_id"])

    result = pipeline.invoke({**event, "key": "landing/a+b.pdf"})

    assert result["reason"] == "object no longer exists"
    [row] = pipeline.ledger_rows()
    assert row["key"] == "landing/a+b.pdf"


def test_a_quarantine_copy_with_an_encoded_key_is_skipped(pipeline: Pipeline) -> None:
    event = pipeline.upload(QUARANTINE + "landing/a b.pdf", b"pdf")

    result = pipeline.invoke({**event, "key": form_encoded(event["key"])})

    assert result["status"] == "SKIPPED"
    assert pipeline.ledger_rows() == []


# --- objects that changed underneath ----------------------------------------------------


def test_rejected_object_that_no_longer_exists_is_recorded_without_quarantine(
    pipeline: Pipeline,
) -> None:
    event = pipeline.upload("landing/report.pdf", b"pdf")
    pipeline.s3.delete_object(Bucket=BUCKET, Key=event["key"], VersionId=event["version_id"])

    result = pipeline.invoke(event)

    assert result == {
        "status": "REJECTED",
        "object_id": object_id(event),
        "reason": "object no longer exists",
    }
    [row] = pipeline.ledger_rows()
    assert row["reason"] == "object no longer exists" and "quarantine_key" not in row
    [emitted] = pipeline.emitted()
    assert emitted["detail"]["reason"] == "object no longer exists"
    assert emitted["detail"]["quarantine_key"] is None
    assert pipeline.s3.list_objects_v2(Bucket=BUCKET, Prefix=QUARANTINE)["KeyCount"] == 0


def test_unknown_size_of_a_vanished_object_is_recorded_as_gone(pipeline: Pipeline) -> None:
    event = {**pipeline.upload("landing/data.csv"), "size": None}
    pipeline.s3.delete_object(Bucket=BUCKET, Key=event["key"], VersionId=event["version_id"])

    result = pipeline.invoke(event)

    assert (result["status"], result["reason"]) == ("REJECTED", "object no longer exists")


@pytest.mark.parametrize("version_id", [None, ""])
def test_unversioned_bucket_object(pipeline: Pipeline, version_id: str | None) -> None:
    event = {**pipeline.upload("landing/report.pdf", b"pdf", bucket=UNVERSIONED_BUCKET)}
    assert event["version_id"] is None
    event["version_id"] = version_id

    result = pipeline.invoke(event)

    assert result["object_id"] == f"s3://{UNVERSIONED_BUCKET}/landing/report.pdf#null"
    assert_quarantined(pipeline, {**event, "version_id": None}, result, "suffix")


def test_unversioned_key_overwritten_before_the_move_is_left_alone(pipeline: Pipeline) -> None:
    stale = pipeline.upload("landing/report.pdf", b"old", bucket=UNVERSIONED_BUCKET)
    pipeline.upload("landing/report.pdf", b"newer upload", bucket=UNVERSIONED_BUCKET)

    result = pipeline.invoke(stale)

    assert result["reason"] == "object no longer exists"
    current = pipeline.s3.get_object(Bucket=UNVERSIONED_BUCKET, Key="landing/report.pdf")
    assert current["Body"].read() == b"newer upload"
    listing = pipeline.s3.list_objects_v2(Bucket=UNVERSIONED_BUCKET, Prefix=QUARANTINE)
    assert listing["KeyCount"] == 0


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_overwritten_unversioned_key_is_not_silently_dropped(pipeline: Pipeline) -> None:
    first = pipeline.upload("landing/data.csv", b"first", bucket=UNVERSIONED_BUCKET)
    pipeline.invoke(first)
    second = pipeline.upload("landing/data.csv", b"second", bucket=UNVERSIONED_BUCKET)

    # Same object id, other ETag: the ledger refuses, so the event goes to the on-failure
    # destination instead of being answered with the older object's outcome.
    with pytest.raises(pipeline.module.LedgerConflictError, match="enable versioning"):
        pipeline.invoke(second)
    assert len(pipeline.emitted()) == 1


# --- configuration and packaging --------------------------------------------------------


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_invalid_configuration_names_every_variable(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUARANTINE_PREFIX", "")
    monkeypatch.setenv("ALLOWED_SUFFIXES", ".csv")
    monkeypatch.delenv("LEDGER_TABLE_NAME")

    with pytest.raises(pipeline.module.ConfigurationError) as raised:
        pipeline.invoke(pipeline.upload("landing/data.csv"))

    for name in ("QUARANTINE_PREFIX", "ALLOWED_SUFFIXES", "LEDGER_TABLE_NAME"):
        assert name in str(raised.value)


@pytest.fixture
def bytecode_writing_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo PYTHONDONTWRITEBYTECODE (set on CI machines) so the next test proves something."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def test_loading_the_handler_writes_no_bytecode(
    bytecode_writing_on: None,
    aws: None,
    validator_env: None,
    load_handler: Callable[..., ModuleType],
) -> None:
    started = time.time()
    assert callable(load_handler(HANDLER).handler)

    assert sys.dont_write_bytecode is True
    written = [p for p in (LAMBDA_SRC / HANDLER).rglob("*.pyc") if p.stat().st_mtime >= started]
    assert written == []


# --- pure rules -------------------------------------------------------------------------


@pytest.fixture
def rules(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler(HANDLER, "rules")


def test_evaluate_object_accepts_a_valid_object(rules: ModuleType) -> None:
    verdict = rules.evaluate_object("a/b.csv", 10, rules.ValidationRules((".csv",), 10, True))
    assert verdict.accepted and verdict.reason == ""


@pytest.mark.parametrize(
    ("key", "suffixes", "accepted"),
    [
        ("a/b.CSV", (".csv",), True),
        ("a/b.csv.gz", (".csv",), False),
        ("a/b.gz", (".csv", ".gz"), True),
        ("a/b", (".csv",), False),
        ("a/anything.exe", (), True),
    ],
)
def test_evaluate_object_suffixes(
    rules: ModuleType, key: str, suffixes: tuple[str, ...], accepted: bool
) -> None:
    verdict = rules.evaluate_object(key, 1, rules.ValidationRules(suffixes, 0, True))
    assert verdict.accepted is accepted
    if not accepted:
        assert verdict.reasons == (f"key suffix is not allowed (allowed: {', '.join(suffixes)})",)


@pytest.mark.parametrize(
    ("size", "limit", "accepted"),
    [(10, 10, True), (11, 10, False), (10**12, 0, True)],
)
def test_evaluate_object_size_limit(
    rules: ModuleType, size: int, limit: int, accepted: bool
) -> None:
    verdict = rules.evaluate_object("k", size, rules.ValidationRules((), limit, True))
    assert verdict.accepted is accepted


@pytest.mark.parametrize(("reject_empty", "accepted"), [(True, False), (False, True)])
def test_evaluate_object_empty(rules: ModuleType, reject_empty: bool, accepted: bool) -> None:
    verdict = rules.evaluate_object("k", 0, rules.ValidationRules((), 0, reject_empty))
    assert verdict.accepted is accepted


def test_evaluate_object_lists_every_broken_rule(rules: ModuleType) -> None:
    verdict = rules.evaluate_object("k.exe", 0, rules.ValidationRules((".csv",), 0, True))
    assert verdict.reasons == (
        "key suffix is not allowed (allowed: .csv)",
        "object is empty (0 bytes)",
    )
    assert verdict.reason == "; ".join(verdict.reasons)


def test_parse_object_event_normalises(rules: ModuleType) -> None:
    base = {"bucket": "b", "key": "k", "etag": "e", "event_time": "t"}
    assert rules.parse_object_event({**base, "size": " 42 ", "version_id": ""}) == rules.ObjectRef(
        bucket="b", key="k", etag="e", event_time="t", size=42, version_id=None
    )
    assert rules.parse_object_event({**base, "version_id": "v1"}).size is None
    assert rules.parse_object_event({**base, "size": 0, "version_id": "v1"}).object_id == (
        "s3://b/k#v1"
    )


def test_parse_object_event_keeps_the_key_as_sent(rules: ModuleType) -> None:
    base = {"bucket": "b", "etag": "e", "event_time": "t", "size": 1}
    ref = rules.parse_object_event({**base, "key": "in/q3+report%2Bfinal%C3%A9.csv"})
    assert ref.key == "in/q3+report%2Bfinal%C3%A9.csv"


@pytest.mark.parametrize(
    ("key", "candidates"),
    [
        ("in/data.csv", ("in/data.csv",)),
        ("in/2023-08-08T14:03:40.532432.zip", ("in/2023-08-08T14:03:40.532432.zip",)),
        ("in/été.csv", ("in/été.csv",)),
        ("in/a b.csv", ("in/a b.csv",)),
        ("in/a+b.csv", ("in/a+b.csv", "in/a b.csv")),
        ("in/a%2Bb+c.csv", ("in/a%2Bb+c.csv", "in/a+b c.csv", "in/a+b+c.csv")),
        ("in/%C3%A9t%C3%A9.csv", ("in/%C3%A9t%C3%A9.csv", "in/été.csv")),
        ("in/100%.csv", ("in/100%.csv",)),
    ],
)
def test_key_candidates_are_as_sent_then_decoded(
    rules: ModuleType, key: str, candidates: tuple[str, ...]
) -> None:
    assert rules.key_candidates(key) == candidates


def test_quarantine_metadata_is_ascii_safe_and_keeps_the_original(rules: ModuleType) -> None:
    metadata = rules.quarantine_metadata({"owner": "bob"}, "clé\ninvalide")
    assert metadata == {"owner": "bob", "rejection-reason": "cl\\xe9 invalide"}
    assert metadata["rejection-reason"].isascii()


def test_quarantine_metadata_truncates_to_the_limit(rules: ModuleType) -> None:
    original = {"a": "x" * 1000}
    metadata = rules.quarantine_metadata(original, "r" * 5000)
    assert metadata["rejection-reason"].endswith("...")
    assert sum(len(k) + len(v) for k, v in metadata.items()) == 2048
    # No room left at all: the original metadata wins, the reason stays in ledger and event.
    assert rules.quarantine_metadata({"a": "x" * 2040}, "reason") == {"a": "x" * 2040}


def test_load_settings_parses_the_environment(rules: ModuleType) -> None:
    settings = rules.load_settings(ENVIRONMENT)
    assert settings.rules == rules.ValidationRules((".csv", ".json"), MAX_SIZE, True)
    assert settings.quarantine_prefix == QUARANTINE
    assert (settings.accepted_detail_type, settings.rejected_detail_type) == (
        "ObjectAccepted",
        "ObjectRejected",
    )
    assert (
        rules.load_settings({**ENVIRONMENT, "ALLOWED_SUFFIXES": "[]"}).rules.allowed_suffixes == ()
    )


def test_load_settings_reports_every_bad_variable(rules: ModuleType) -> None:
    bad = {
        **ENVIRONMENT,
        "MAX_OBJECT_SIZE_BYTES": "-1",
        "REJECT_EMPTY": "yes",
        "ALLOWED_SUFFIXES": '[".csv", 3]',
        "EVENT_BUS_NAME": "",
    }
    with pytest.raises(rules.ConfigurationError) as raised:
        rules.load_settings(bad)
    for name in (
        "MAX_OBJECT_SIZE_BYTES",
        "REJECT_EMPTY",
        "ALLOWED_SUFFIXES",
        "EVENT_BUS_NAME",
    ):
        assert name in str(raised.value)
