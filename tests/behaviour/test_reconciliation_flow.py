"""Nothing lost: the example ingestion stack's reconciliation sweep, run on the offline harness.

An extract lands but its S3 event is dropped (``put_object(..., emit_event=False)``): no
validator run, no ledger row. The sweep, invoked as its schedule would invoke it, re-drives
the object through the validator, which records and routes it exactly once, and reports it
as a metric and an ``ObjectsReconciled`` event. The harness does not fire schedules by
itself, so the test invokes the function the schedule targets, with the schedule's input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics_orchestration import OBJECT_ACCEPTED, OBJECTS_RECONCILED

STACK = "AnalyticsIngestion"
LANDING = "Ingestion/LandingBucket"


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _scheduled_run(aws, minutes_later: int) -> Any:
    """Invoke the sweep with the input its schedule sends (asserted on the template in
    ``tests/constructs/test_ingestion.py``), as Scheduler would ``minutes_later`` from now."""
    scheduled = datetime.now(UTC) + timedelta(minutes=minutes_later)
    invocation = aws.invoke("Ingestion/Reconciler", {
        "trigger": "schedule", "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert not invocation.failed, invocation.error
    return invocation


def _reconciled_events(aws) -> list[dict]:
    return [e for e in aws.events_on() if e["detail-type"] == OBJECTS_RECONCILED.detail_type
            and e["source"] == OBJECTS_RECONCILED.source]


def _emf(out: str, name: str) -> list[float]:
    """The values of metric ``name`` in the Powertools EMF blobs printed, one per blob."""
    values = []
    for line in out.splitlines():
        if '"_aws"' in line and f'"{name}"' in line:
            value = json.loads(line)[name]
            values.append(sum(value) if isinstance(value, list) else value)
    return values


def test_an_object_whose_event_was_lost_ends_in_the_ledger_exactly_once(aws, capsys):
    key = "incoming/sales/q3 report+final.csv"
    aws.put_object(LANDING, key, b"id,amount\n1,9\n", emit_event=False)
    aws.put_object(LANDING, "incoming/sales/seen.csv", b"id\n1\n")  # its event arrives
    assert [row["key"] for row in aws.table_items("Ingestion/Ledger")] == [
        "incoming/sales/seen.csv"]
    capsys.readouterr()

    _scheduled_run(aws, minutes_later=10)

    rows = {row["key"]: row for row in aws.table_items("Ingestion/Ledger")}
    assert sorted(rows) == sorted([key, "incoming/sales/seen.csv"])
    assert rows[key]["status"] == "ACCEPTED" and "published_at" in rows[key]
    # Routed like any other accepted object.
    assert [m.json()["key"] for m in aws.queue_messages("LoaderQueue")] == [
        "incoming/sales/seen.csv", key]
    accepted = [e for e in aws.events_on() if e["detail-type"] == OBJECT_ACCEPTED.detail_type]
    assert [e["detail"]["key"] for e in accepted].count(key) == 1
    # Reported: the metric and the event name exactly the re-driven object.
    [report] = _reconciled_events(aws)
    assert report["detail"]["count"] == 1
    assert [o["object_id"] for o in report["detail"]["objects"]] == [rows[key]["object_id"]]
    assert _emf(capsys.readouterr().out, "ObjectsReconciled") == [1]


def test_a_second_sweep_redrives_nothing(aws, capsys):
    aws.put_object(LANDING, "incoming/inventory/stock.jsonl", b'{"sku": 1}\n', emit_event=False)
    _scheduled_run(aws, minutes_later=10)
    validations = len(aws.invocations("Ingestion/Validator"))
    capsys.readouterr()

    _scheduled_run(aws, minutes_later=70)

    assert len(aws.invocations("Ingestion/Validator")) == validations == 1
    assert len(aws.table_items("Ingestion/Ledger")) == 1
    assert len(_reconciled_events(aws)) == 1  # only the first run re-drove anything
    assert _emf(capsys.readouterr().out, "ObjectsReconciled") == [0]


def test_a_late_original_event_after_the_redrive_is_answered_as_a_duplicate(aws):
    key = "incoming/sales/late.csv"
    aws.put_object(LANDING, key, b"a\n", emit_event=False)
    _scheduled_run(aws, minutes_later=10)
    [row] = aws.table_items("Ingestion/Ledger")

    # The "lost" event turns up after all (EventBridge redelivers at least once).
    aws.put_events({"Source": "aws.s3", "DetailType": "Object Created",
                    "Resources": [f"arn:aws:s3:::{aws.physical_id(LANDING)}"],
                    "Detail": {"version": "0", "bucket": {"name": aws.physical_id(LANDING)},
                               "object": {"key": key, "size": 2, "etag": row["etag"],
                                          "version-id": row["version_id"]},
                               "reason": "PutObject"}})

    assert len(aws.invocations("Ingestion/Validator")) == 2
    assert len(aws.table_items("Ingestion/Ledger")) == 1
    assert len(aws.queue_messages("LoaderQueue")) == 1


def test_objects_outside_the_filters_and_quarantined_ones_are_not_redriven(aws):
    aws.put_object(LANDING, "incoming/sales/empty.csv", b"")  # rejected: moved to quarantine
    aws.put_object(LANDING, "incoming/picture.png", b"x", emit_event=False)
    aws.put_object(LANDING, "outgoing/report.csv", b"x", emit_event=False)
    validations = len(aws.invocations("Ingestion/Validator"))

    invocation = _scheduled_run(aws, minutes_later=10)

    assert invocation.result["count"] == 0
    assert len(aws.invocations("Ingestion/Validator")) == validations
    assert [row["status"] for row in aws.table_items("Ingestion/Ledger")] == ["REJECTED"]
