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
from analytics_orchestration.testing import HttpAnswer
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


# ----------------------------------------------------------------- the stack's own functions
def _screened(aws) -> list[dict]:
    return [e for e in aws.events_on(BUS) if e["detail-type"] == "OrderScreened"]


def test_large_orders_are_screened_and_the_verdict_is_put_on_the_bus(aws):
    """RouteTarget.function: the stack's screening function runs per large order and puts
    its verdict back on the bus."""
    [routine] = aws.put_events(_order(), bus=BUS)
    [large] = aws.put_events(_order(order_id="ord-2", amount=25000, customer_tier="new"),
                             bus=BUS)
    aws.put_events(_order(amount=10), bus=BUS)  # not a large order: not screened

    verdicts = {e["detail"]["order_event_id"]: e for e in _screened(aws)}
    assert sorted(verdicts) == sorted([routine, large])
    assert verdicts[routine]["source"] == "analytics-platform.screening"
    assert verdicts[routine]["detail"]["verdict"] == "clear"
    assert verdicts[routine]["detail"]["reasons"] == []
    review = verdicts[large]["detail"]
    assert (review["order_id"], review["verdict"]) == ("ord-2", "review")
    assert len(review["reasons"]) == 2
    assert len(aws.invocations("OrderScreening")) == 2
    assert aws.queue_messages("OrderScreeningFailureQueue") == []


def test_high_severity_notification_opens_an_incident_and_low_severity_does_not(aws):
    """TopicSubscription.function: SNS invokes the incident recorder with high-severity
    notifications only (its body filter), which writes one document per incident."""
    event_id = _etl_failed(aws)
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")  # low severity

    log = aws.physical_id("IncidentLog")
    assert aws.list_objects(log, "incidents/") == [f"incidents/EtlRunFailed/{event_id}.json"]
    document = json.loads(aws.get_object(log, f"incidents/EtlRunFailed/{event_id}.json"))
    assert document["incident_id"] == event_id
    assert document["error"] == "States.TaskFailed"
    assert document["notification"] == _bodies(aws, "OnCallQueue")[0]
    assert len(aws.invocations("IncidentRecorder")) == 1


def test_rejected_object_starts_the_follow_up_workflow_with_the_triage(aws):
    """PipeEnrichment.function: the second pipe's enrichment is the stack's own triage
    handler; the follow-up workflow receives its verdict per rejected object."""
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")

    [execution] = aws.wait_for_executions("RejectionFollowUp")
    assert execution.status == "SUCCEEDED", execution.cause
    [item] = execution.input
    assert item["key"] == "incoming/sales/empty.csv"
    assert (item["action"], item["resend_helps"]) == ("re-export", True)
    assert "empty" in item["reason"]
    assert item["message_id"]
    assert len(aws.invocations("RejectionTriage")) == 1
    assert aws.executions("RemediationWorkflow") == []  # only failed ETL runs go there


# ----------------------------------------------------------------- the partner's webhook
WEBHOOK = "PartnerWebhook/ApiDestination"  # CDK names the L1 child ApiDestination
WEBHOOK_DLQ = "Router/SalesExtractsToPartnerTarget0DeadLetterQueue"


def _accept_sales_extract(aws) -> dict:
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-11-25.csv", b"id,amount\n1,9\n")
    [accepted] = [e for e in aws.events_on(BUS) if e["detail-type"] == OBJECT_ACCEPTED.detail_type]
    return accepted


def test_accepted_sales_extract_calls_the_partner_webhook_with_its_api_key(aws):
    """RouteTarget.api_destination: one POST to the partner's endpoint with the rule's
    transformed input as body, the connection's API key and EventBridge's headers."""
    accepted = _accept_sales_extract(aws)
    aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.csv", b"sku\n1\n")

    [call] = aws.api_destination_calls(WEBHOOK)
    assert (call.method, call.url) == ("POST", "https://partner.example.com/hooks/extracts")
    assert call.json() == {"file": "incoming/sales/2026-11-25.csv", "bytes": 14,
                           "object_id": accepted["detail"]["object_id"],
                           "accepted_at": accepted["time"], "event_id": accepted["id"]}
    api_key = aws.client("secretsmanager").get_secret_value(
        SecretId=aws.physical_id("PartnerApiKey"))["SecretString"]
    assert api_key and call.headers["x-api-key"] == api_key
    assert call.headers["X-Feed"] == "accepted-sales-extracts"
    assert call.headers["User-Agent"] == "Amazon/EventBridge/ApiDestinations"
    assert call.headers["Content-Type"] == "application/json; charset=utf-8"
    assert call.headers["Content-Length"] == str(len(call.body.encode()))
    assert call.headers["Host"] == "partner.example.com"
    assert (call.attempt, call.status) == (1, 200)
    assert call.rule_arn == aws.arn("Router/SalesExtractsToPartner")
    assert aws.queue_messages(WEBHOOK_DLQ) == []


def test_partner_webhook_answers_503_and_429_are_retried_until_delivered(aws):
    aws.respond_from_api_destination(WEBHOOK, 503, 429, 202)
    _accept_sales_extract(aws)

    calls = aws.api_destination_calls(WEBHOOK)
    assert [(c.attempt, c.status) for c in calls] == [(1, 503), (2, 429), (3, 202)]
    assert len({c.body for c in calls}) == 1  # the same request each time
    assert aws.queue_messages(WEBHOOK_DLQ) == []


def test_partner_webhook_client_error_is_not_retried_and_lands_in_the_dead_letter_queue(aws):
    aws.respond_from_api_destination(WEBHOOK, 400)
    accepted = _accept_sales_extract(aws)

    assert [c.status for c in aws.api_destination_calls(WEBHOOK)] == [400]
    [dead] = aws.queue_messages(WEBHOOK_DLQ)
    assert dead.json()["id"] == accepted["id"]  # the event itself, not the request body
    attributes = {name: value["StringValue"] for name, value in dead.attributes.items()}
    assert attributes["RULE_ARN"] == aws.arn("Router/SalesExtractsToPartner")
    assert attributes["TARGET_ARN"] == aws.arn(WEBHOOK)
    assert attributes["ERROR_CODE"] == "HTTP_400"
    # The other targets of the same event were delivered.
    assert [e.status for e in aws.wait_for_executions("EtlWorkflow")] == ["SUCCEEDED"]


def test_partner_webhook_negative_retry_after_stops_the_retries(aws):
    aws.respond_from_api_destination(WEBHOOK, HttpAnswer(503, retry_after=-1), 200)
    _accept_sales_extract(aws)

    assert [c.status for c in aws.api_destination_calls(WEBHOOK)] == [503]
    assert len(aws.queue_messages(WEBHOOK_DLQ)) == 1


def test_partner_webhook_outage_is_retried_within_the_retry_policy_then_dead_lettered(aws):
    """The router's retry policy (185 retries, 24 hours): a webhook answering 500 gets the
    first try and 185 retries; one asking to wait an hour each time is given up after the
    waits pass 24 hours."""
    aws.respond_from_api_destination(WEBHOOK, 500)
    _accept_sales_extract(aws)
    assert len(aws.api_destination_calls(WEBHOOK)) == 1 + 185
    assert len(aws.queue_messages(WEBHOOK_DLQ)) == 1

    aws.respond_from_api_destination(WEBHOOK, HttpAnswer(503, retry_after=3600))
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-11-26.csv", b"id\n2\n")
    later = aws.api_destination_calls(WEBHOOK)[186:]
    assert len(later) == 25  # waited 25 hours > 24 after the 25th answer
    assert len(aws.queue_messages(WEBHOOK_DLQ)) == 2


def test_partner_webhook_answers_can_depend_on_the_request(aws):
    seen: list[str] = []

    def partner(call) -> int:
        seen.append(call.json()["file"])
        return 503 if len(seen) == 1 else 200

    aws.respond_from_api_destination(WEBHOOK, partner)
    _accept_sales_extract(aws)
    assert seen == ["incoming/sales/2026-11-25.csv"] * 2
    assert [c.status for c in aws.api_destination_calls(WEBHOOK)] == [503, 200]
