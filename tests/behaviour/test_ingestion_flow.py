"""The example ingestion stack, run end to end on the offline harness.

Object put -> S3 event -> validator -> ledger row -> ObjectAccepted on the bus -> the
loader queue, the partners' notification topic and the fan-out subscribers; a rejected
object ends in quarantine with ObjectRejected emitted.
"""

from __future__ import annotations

import json

import pytest

from analytics_orchestration import OBJECT_ACCEPTED, OBJECT_NOTIFICATION_FIELDS, OBJECT_REJECTED

STACK = "AnalyticsIngestion"


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _bodies(aws, queue: str) -> list[dict]:
    return [message.json() for message in aws.queue_messages(queue)]


def _library_events(aws, detail_type: str) -> list[dict]:
    return [event for event in aws.events_on() if event["detail-type"] == detail_type
            and event["source"] == OBJECT_ACCEPTED.source]


def test_accepted_object_is_recorded_announced_and_routed(aws):
    bucket = aws.physical_id("Ingestion/LandingBucket")
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-11-25.csv", b"id,amount\n1,9\n")

    [row] = aws.table_items("Ingestion/Ledger")
    assert row["status"] == "ACCEPTED"
    assert row["key"] == "incoming/sales/2026-11-25.csv"
    [accepted] = _library_events(aws, OBJECT_ACCEPTED.detail_type)
    assert accepted["detail"]["object_id"] == row["object_id"]

    [loader] = _bodies(aws, "LoaderQueue")
    assert sorted(loader) == sorted(OBJECT_NOTIFICATION_FIELDS)
    assert loader["bucket"] == bucket
    assert loader["key"] == "incoming/sales/2026-11-25.csv"
    assert loader["size"] == len(b"id,amount\n1,9\n")
    assert loader["version_id"] == row["version_id"]
    # Fan-out: the audit queue gets everything, the sales queue its prefix.
    assert [m["key"] for m in _bodies(aws, "AuditQueue")] == ["incoming/sales/2026-11-25.csv"]
    assert [m["key"] for m in _bodies(aws, "SalesTeamQueue")] == ["incoming/sales/2026-11-25.csv"]


def test_accepted_object_is_announced_on_the_partners_topic(aws):
    """IngestionTarget.topic: the rule publishes the compact notification to the partners'
    topic, whose subscriber (the partner gateway's queue) receives it raw."""
    aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.jsonl", b'{"sku": 1}\n')

    [row] = aws.table_items("Ingestion/Ledger")
    [partner] = _bodies(aws, "PartnerGatewayQueue")
    assert sorted(partner) == sorted(OBJECT_NOTIFICATION_FIELDS)
    assert partner["bucket"] == aws.physical_id("Ingestion/LandingBucket")
    assert partner["key"] == "incoming/inventory/stock.jsonl"
    assert partner["version_id"] == row["version_id"]
    assert partner == _bodies(aws, "LoaderQueue")[0]  # the same notification as the loader's


def test_keys_with_spaces_are_decoded_once(aws):
    """Whatever S3 does to the key in its event, the validator records the real key."""
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/q3 report+final.csv", b"a\n")
    [row] = aws.table_items("Ingestion/Ledger")
    assert row["status"] == "ACCEPTED"
    assert row["key"] == "incoming/sales/q3 report+final.csv"
    assert [m["key"] for m in _bodies(aws, "LoaderQueue")] == ["incoming/sales/q3 report+final.csv"]


def test_sales_subscription_filters_other_prefixes(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.jsonl", b'{"sku": 1}\n')
    assert [m["key"] for m in _bodies(aws, "AuditQueue")] == ["incoming/inventory/stock.jsonl"]
    assert _bodies(aws, "SalesTeamQueue") == []


def test_rejected_object_is_quarantined_with_reason(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")

    [row] = aws.table_items("Ingestion/Ledger")
    assert row["status"] == "REJECTED"
    assert "empty" in row["reason"]
    assert aws.list_objects("Ingestion/LandingBucket") == ["quarantine/incoming/sales/empty.csv"]
    [rejected] = _library_events(aws, OBJECT_REJECTED.detail_type)
    assert rejected["detail"]["quarantine_key"] == "quarantine/incoming/sales/empty.csv"
    assert _library_events(aws, OBJECT_ACCEPTED.detail_type) == []
    for queue in ("LoaderQueue", "AuditQueue", "SalesTeamQueue", "PartnerGatewayQueue"):
        assert _bodies(aws, queue) == [], queue


def test_objects_outside_the_filters_are_not_ingested(aws):
    aws.put_object("Ingestion/LandingBucket", "outgoing/report.csv", b"x\n")
    aws.put_object("Ingestion/LandingBucket", "incoming/picture.png", b"x\n")
    assert aws.table_items("Ingestion/Ledger") == []
    assert aws.invocations("Ingestion/Validator") == []


def test_redelivered_object_event_is_recorded_and_routed_once(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/a.csv", b"a\n")
    [s3_event] = [e for e in aws.events_on() if e["source"] == "aws.s3"]
    aws.put_events({"Source": "aws.s3", "DetailType": s3_event["detail-type"],
                    "Detail": json.dumps(s3_event["detail"]), "Resources": s3_event["resources"]})

    assert len(aws.invocations("Ingestion/Validator")) == 2
    assert len(aws.table_items("Ingestion/Ledger")) == 1
    assert len(_library_events(aws, OBJECT_ACCEPTED.detail_type)) == 1
    assert len(_bodies(aws, "LoaderQueue")) == 1


def test_accepted_extract_is_indexed_with_its_format_and_columns(aws):
    """IngestionTarget.function: the stack's own indexer (a user handler bundled with
    building_blocks.python_function) runs on each accepted extract and writes its entry."""
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-11-25.csv",
                   b"order_id,amount,currency\no-1,9.5,EUR\n")
    aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.jsonl",
                   b'{"sku": "a-1", "on_hand": 3}\n{"sku": "a-2", "on_hand": 0}\n')

    rows = {row["key"]: row for row in aws.table_items("Ingestion/Ledger")}
    index = aws.physical_id("ExtractIndex")
    assert aws.list_objects(index, "index/") == [
        "index/incoming/inventory/stock.jsonl.json", "index/incoming/sales/2026-11-25.csv.json"]
    sales = json.loads(aws.get_object(index, "index/incoming/sales/2026-11-25.csv.json"))
    assert sales["columns"] == ["order_id", "amount", "currency"]
    assert sales["format"] == "csv"
    assert sales["version_id"] == rows["incoming/sales/2026-11-25.csv"]["version_id"]
    assert sales["bucket"] == aws.physical_id("Ingestion/LandingBucket")
    stock = json.loads(aws.get_object(index, "index/incoming/inventory/stock.jsonl.json"))
    assert (stock["format"], stock["columns"]) == ("jsonl", ["on_hand", "sku"])
    assert len(aws.invocations("ExtractIndexer")) == 2
    assert aws.queue_messages("ExtractIndexerFailureQueue") == []


def test_indexer_reads_the_accepted_version_not_a_later_overwrite(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/a.csv", b"id,amount\n1,2\n")
    [first] = aws.table_items("Ingestion/Ledger")
    entry = json.loads(aws.get_object("ExtractIndex", "index/incoming/sales/a.csv.json"))
    assert entry["version_id"] == first["version_id"]
    assert entry["columns"] == ["id", "amount"]


def test_rejected_object_is_neither_indexed_nor_dispatched(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")
    assert aws.list_objects("ExtractIndex", "index/") == []
    assert aws.invocations("ExtractIndexer") == []
    assert aws.executions("ExtractDispatch") == []


@pytest.mark.parametrize(("key", "team"), [
    ("incoming/sales/2026-11-25.csv", "sales"),
    ("incoming/inventory/stock.jsonl", "inventory"),
    ("incoming/returns/2026-11.json", "unassigned"),
])
def test_accepted_extract_starts_the_dispatch_workflow_for_its_team(aws, key, team):
    """IngestionTarget.state_machine: one execution per accepted extract, the compact
    notification as its input; the workflow's choice names the owning team."""
    aws.put_object("Ingestion/LandingBucket", key, b'{"a": 1}\n' if "json" in key else b"a\n1\n")

    [row] = aws.table_items("Ingestion/Ledger")
    [execution] = aws.wait_for_executions("ExtractDispatch")
    assert execution.status == "SUCCEEDED", execution.cause
    assert {k: execution.input[k] for k in OBJECT_NOTIFICATION_FIELDS} == {
        k: v for k, v in _bodies(aws, "LoaderQueue")[0].items()}
    assert execution.input["version_id"] == row["version_id"]
    assert execution.output["dispatch"] == {"team": team}
    assert execution.states_entered()[-1] == "Dispatched"
