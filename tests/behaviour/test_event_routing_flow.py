"""The example event-routing stack, run end to end on the offline harness.

Matching events reach the right target with the transformed input; non-matching events
reach nothing; a refused delivery lands in the target's DLQ; filtered SNS subscriptions
receive only what their policy allows; SNS -> SQS -> Pipe -> enrichment -> Step Functions
starts the remediation workflow; every notification is archived through Firehose to S3;
failures and rejections are forwarded unchanged to the audit bus.
"""

from __future__ import annotations

import gzip
import json

import pytest

from analytics_orchestration import ETL_RUN_FAILED, JOB_FAILED, OBJECT_ACCEPTED, OBJECT_REJECTED
from stacks.event_routing_stack import ORDER_PLACED, ORDER_SOURCE

STACK = "AnalyticsEventRouting"
BUS = "Router/EventBus"
AUDIT_BUS = "AuditBus"


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _bodies(aws, queue: str) -> list[dict]:
    return [message.json() for message in aws.queue_messages(queue)]


def _order(**detail) -> dict:
    base = {"order_id": "ord-1", "amount": 2500, "currency": "EUR", "customer_tier": "gold"}
    return {"Source": ORDER_SOURCE, "DetailType": ORDER_PLACED, "Detail": {**base, **detail}}


def _etl_failed(aws, workflow: str = "nightly-sales") -> str:
    [event_id] = aws.put_events({
        "Source": ETL_RUN_FAILED.source, "DetailType": ETL_RUN_FAILED.detail_type,
        "Detail": {"workflow": workflow, "execution_arn": "arn:aws:states:::execution:x:1",
                   "started_at": "2026-11-25T01:00:00Z", "finished_at": "2026-11-25T01:05:00Z",
                   "status": "FAILED", "error": "States.TaskFailed", "cause": "boom"},
    }, bus=BUS)
    return event_id


def test_accepted_sales_extract_starts_the_etl_workflow_with_transformed_input(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-11-25.csv", b"id,amount\n1,9\n")

    [accepted] = [e for e in aws.events_on(BUS) if e["detail-type"] == OBJECT_ACCEPTED.detail_type]
    [execution] = aws.wait_for_executions("EtlWorkflow")
    assert execution.status == "SUCCEEDED"
    assert execution.input == {
        "bucket": aws.physical_id("Ingestion/LandingBucket"),
        "key": "incoming/sales/2026-11-25.csv",
        "size": len(b"id,amount\n1,9\n"),
        "object_id": accepted["detail"]["object_id"],
        "accepted_at": accepted["time"],
    }
    assert _bodies(aws, "WorkerQueue") == []
    assert aws.executions("RemediationWorkflow") == []


def test_non_matching_events_reach_nothing(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.csv", b"sku\n1\n")
    aws.put_events(
        _order(amount=999),                      # numeric: below 1000
        _order(currency="TEST"),                 # anything-but
        _order(order_id="test-1"),               # prefix
        {**_order(), "Detail": {"order_id": "ord-2", "amount": 5000, "currency": "EUR"}},
        {**_order(), "DetailType": "OrderPlacd"},  # a misspelt detail-type matches nothing
        bus=BUS,
    )
    assert len([e for e in aws.events_on(BUS)
                if e["detail-type"] == OBJECT_ACCEPTED.detail_type]) == 1
    assert aws.executions("EtlWorkflow") == []
    assert _bodies(aws, "WorkerQueue") == []
    assert _bodies(aws, "OnCallQueue") == []


def test_large_order_reaches_the_worker_queue_transformed(aws):
    aws.put_events(_order(), bus=BUS)
    assert _bodies(aws, "WorkerQueue") == [{"kind": "order", "order_id": "ord-1", "amount": 2500}]


def test_manifest_is_forwarded_from_the_default_bus_to_the_workers(aws):
    aws.put_object("Ingestion/LandingBucket", "manifests/2026-11-25.manifest.json", b"{}")
    forwarded = [e for e in aws.events_on(BUS) if e["source"] == "aws.s3"]
    assert [e["detail"]["object"]["key"] for e in forwarded] == [
        "manifests/2026-11-25.manifest.json"]
    assert _bodies(aws, "WorkerQueue") == [{
        "kind": "manifest", "bucket": aws.physical_id("Ingestion/LandingBucket"),
        "key": "manifests/2026-11-25.manifest.json"}]
    assert aws.table_items("Ingestion/Ledger") == []  # not an extract: not ingested


def test_refused_delivery_lands_in_the_targets_dead_letter_queue(aws):
    aws.client("sqs").delete_queue(QueueUrl=aws.physical_id("WorkerQueue"))
    [event_id] = aws.put_events(_order(), bus=BUS)

    [dead] = aws.queue_messages("Router/LargeOrdersToWorkersTarget0DeadLetterQueue")
    assert dead.json()["id"] == event_id
    assert dead.json()["detail"]["order_id"] == "ord-1"
    attributes = {name: value["StringValue"] for name, value in dead.attributes.items()}
    assert attributes["RULE_ARN"] == aws.arn("Router/LargeOrdersToWorkers")
    assert attributes["TARGET_ARN"] == aws.arn("WorkerQueue")
    assert "NonExistentQueue" in attributes["ERROR_CODE"]
    assert attributes["ERROR_MESSAGE"]
    # The other rules' dead-letter queues stay empty.
    assert aws.queue_messages("Router/ManifestsToWorkersTarget0DeadLetterQueue") == []


def _archived(aws) -> list[dict]:
    """The notifications in the archive once Firehose delivers its buffer: GZIP files of
    one raw message per line (SNS appends the newline)."""
    archive = aws.resource("Notifications/ArchiveBucket").physical_id
    aws.flush_delivery_streams("Notifications/ArchiveStream")
    found = []
    for key in aws.list_objects(archive, "notifications/"):
        assert key.endswith(".gz"), key
        found += [json.loads(line) for line in
                  gzip.decompress(aws.get_object(archive, key)).splitlines()]
    return found


def test_failed_etl_run_notifies_on_call_starts_remediation_and_is_archived(aws):
    event_id = _etl_failed(aws)

    [notification] = _bodies(aws, "OnCallQueue")
    assert notification == {"severity": "high", "kind": "EtlRunFailed", "event_id": event_id,
                            "error": "States.TaskFailed", "finished_at": "2026-11-25T01:05:00Z"}
    [execution] = aws.wait_for_executions("RemediationWorkflow")
    [item] = execution.input  # the pipe sends the enriched batch as an array
    assert item["valid"] is True
    assert item["payload"] == notification
    assert item["message_id"]
    assert _archived(aws) == [notification]


def test_filtered_subscriptions_receive_only_what_their_policy_allows(aws):
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")  # rejected
    aws.put_events({
        "Source": JOB_FAILED.source, "DetailType": JOB_FAILED.detail_type,
        "Detail": {"job_id": "j-1", "queue": "loads", "received_at": "2026-11-25T01:00:00Z",
                   "finished_at": "2026-11-25T01:01:00Z", "status": "FAILED", "error": "x"},
    }, bus=BUS)

    # On-call: only high severity (the job failure, not the low-severity rejection).
    assert [m["kind"] for m in _bodies(aws, "OnCallQueue")] == ["JobFailed"]
    # Remediation: only failed ETL runs.
    assert aws.executions("RemediationWorkflow") == []
    # The archive keeps everything.
    assert sorted(n["kind"] for n in _archived(aws)) == ["JobFailed", "ObjectRejected"]


def test_failures_and_rejections_are_forwarded_unchanged_to_the_audit_bus(aws):
    """RouteTarget.event_bus: the events themselves (no transformation) reach the second bus;
    what the rule does not match (an order, an accepted object) does not."""
    event_id = _etl_failed(aws)
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")  # rejected
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/ok.csv", b"id\n1\n")  # accepted
    aws.put_events(_order(), bus=BUS)

    on_router = {e["id"]: e for e in aws.events_on(BUS)}
    audited = aws.events_on(AUDIT_BUS)
    assert sorted(e["detail-type"] for e in audited) == [ETL_RUN_FAILED.detail_type,
                                                        OBJECT_REJECTED.detail_type]
    [failed] = [e for e in audited if e["detail-type"] == ETL_RUN_FAILED.detail_type]
    original = on_router[event_id]
    assert {k: failed[k] for k in ("source", "detail-type", "detail")} == {
        k: original[k] for k in ("source", "detail-type", "detail")}  # no transformation
    [rejected] = [e for e in audited if e["detail-type"] == OBJECT_REJECTED.detail_type]
    assert rejected["detail"]["key"] == "incoming/sales/empty.csv"
    assert aws.queue_messages("Router/FailuresToAuditBusTarget0DeadLetterQueue") == []
