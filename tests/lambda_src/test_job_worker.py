"""Tests of the job worker (lambda_src/job_worker) against moto.

The Lambda handler and the container poller run against the job table, a
work queue and a custom event bus whose rule forwards the worker's events to a queue read
back here. The pure job logic of ``jobs.py`` is tested directly at the end of the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

HANDLER = "job_worker"
JOB_TABLE = "jobs"
EVENT_BUS = "jobs-bus"
EVENT_SOURCE = "analytics-orchestration.jobs"
QUEUE = "work"
MAX_RECEIVES = 3

ENVIRONMENT = {
    "JOB_TABLE_NAME": JOB_TABLE,
    "MAX_RECEIVE_COUNT": str(MAX_RECEIVES),
    "QUEUE_NAME": QUEUE,
    "QUEUE_FIFO": "false",
    "EVENT_BUS_NAME": EVENT_BUS,
    "EVENT_SOURCE": EVENT_SOURCE,
    "SUCCEEDED_DETAIL_TYPE": "JobSucceeded",
    "FAILED_DETAIL_TYPE": "JobFailed",
}

SUMMARY = {"job_type": "summary", "parameters": {"values": [1, 2, 3, 4]}}


def sqs_record(body: Any, *, message_id: str = "m-1", job_id: str | None = "job-1",
               receive_count: int = 1, submitted_by: str | None = None) -> dict[str, Any]:
    """A record as Lambda's SQS event source delivers it (attributes as the API sets them)."""
    attributes: dict[str, Any] = {}
    if job_id is not None:
        attributes["job_id"] = {"stringValue": job_id, "dataType": "String",
                                "stringListValues": [], "binaryListValues": []}
    if submitted_by is not None:
        attributes["submitted_by"] = {"stringValue": submitted_by, "dataType": "String",
                                      "stringListValues": [], "binaryListValues": []}
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}-{receive_count}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count),
                       "SentTimestamp": "1767225600000", "SenderId": "AIDA",
                       "ApproximateFirstReceiveTimestamp": "1767225600001"},
        "messageAttributes": attributes,
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}",
        "awsRegion": "us-east-1",
    }


@dataclass
class Worker:
    module: ModuleType
    context: Any
    dynamodb: Any
    sqs: Any
    events_queue_url: str
    load: Callable[..., ModuleType]

    def handle(self, *records: dict[str, Any]) -> list[str]:
        """Run one batch; return the ids of the failed records."""
        response = self.module.handler({"Records": list(records)}, self.context)
        return [item["itemIdentifier"] for item in response["batchItemFailures"]]

    def calls(self) -> list[str]:
        """Every AWS call the worker's clients make from now on (``service.Operation``)."""
        made: list[str] = []
        runtime = self.module.runtime()
        for client in (runtime.table._client, runtime.events):
            client.meta.events.register(
                "before-call",
                lambda model, **_: made.append(f"{model.service_model.service_name}.{model.name}"),
            )
        return made

    def rows(self) -> dict[str, dict[str, Any]]:
        items = self.dynamodb.Table(JOB_TABLE).scan(ConsistentRead=True)["Items"]
        return {item["job_id"]: item for item in items}

    def emitted(self) -> list[dict[str, Any]]:
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.events_queue_url,
                                                MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.events_queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def worker_env(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def worker(aws_client, worker_env, load_handler, lambda_context) -> Worker:
    dynamodb = aws_client("dynamodb", resource=True)
    dynamodb.create_table(
        TableName=JOB_TABLE, KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="emitted")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events = aws_client("events")
    events.create_event_bus(Name=EVENT_BUS)
    events.put_rule(Name="all", EventBusName=EVENT_BUS,
                    EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="all", EventBusName=EVENT_BUS, Targets=[{"Id": "q", "Arn": arn}])
    return Worker(module=load_handler(HANDLER), context=lambda_context, dynamodb=dynamodb,
                  sqs=sqs, events_queue_url=url, load=load_handler)


def lease_runs_out(worker: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the worker's clock past every lease taken so far (the batch's deadline)."""
    namespace = worker.module.process_record.__globals__  # the handler's ``worker`` module
    later = namespace["_now_ms"]() + worker.context.get_remaining_time_in_millis() + 1
    monkeypatch.setitem(namespace, "_now_ms", lambda: later)


def assert_iso_utc(value: str) -> None:
    assert datetime.fromisoformat(value).utcoffset().total_seconds() == 0


# --- success ------------------------------------------------------------------------------


def test_job_succeeds_with_result_row_and_event(worker):
    failed = worker.handle(sqs_record(SUMMARY, submitted_by="arn:aws:iam::1:user/ana"))

    assert failed == []
    row = worker.rows()["job-1"]
    assert row["status"] == "SUCCEEDED"
    assert json.loads(row["result"])["mean"] == 2.5
    assert (row["job_type"], row["message_id"], row["attempts"]) == ("summary", "m-1", 1)
    assert row["submitted_by"] == "arn:aws:iam::1:user/ana"
    assert row["submitted_at"] == "1767225600000"
    assert_iso_utc(row["received_at"])
    assert_iso_utc(row["finished_at"])
    assert "error" not in row
    assert "lease_until" not in row  # a finished job holds no lease
    [event] = worker.emitted()
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, "JobSucceeded")
    assert event["detail"] == {"job_id": "job-1", "queue": QUEUE, "status": "SUCCEEDED",
                               "received_at": row["received_at"],
                               "finished_at": row["finished_at"]}


def test_job_id_falls_back_to_body_then_message_id(worker):
    failed = worker.handle(
        sqs_record({**SUMMARY, "job_id": "from-body"}, message_id="m-1", job_id=None),
        sqs_record(SUMMARY, message_id="m-2", job_id=None),
    )
    assert failed == []
    assert set(worker.rows()) == {"from-body", "m-2"}


def test_without_event_bus_no_event_is_put(worker, monkeypatch):
    monkeypatch.delenv("EVENT_BUS_NAME")
    module = worker.load(HANDLER)
    response = module.handler({"Records": [sqs_record(SUMMARY)]}, worker.context)
    assert response == {"batchItemFailures": []}
    assert worker.rows()["job-1"]["status"] == "SUCCEEDED"
    assert worker.emitted() == []


# --- partial batch failure, poison messages ------------------------------------------------


def test_partial_batch_failure_reports_only_the_bad_records(worker):
    failed = worker.handle(
        sqs_record(SUMMARY, message_id="good-1", job_id="a"),
        sqs_record("not json", message_id="poison", job_id="b"),
        sqs_record({"job_type": "summary", "parameters": {"values": []}}, message_id="bad",
                   job_id="c"),
        sqs_record(SUMMARY, message_id="good-2", job_id="d"),
    )
    assert failed == ["poison", "bad"]
    rows = worker.rows()
    assert rows["a"]["status"] == rows["d"]["status"] == "SUCCEEDED"
    assert rows["b"]["status"] == "FAILED"
    assert "InvalidJob: invalid job message: body" in rows["b"]["error"]
    assert rows["c"]["status"] == "FAILED"
    assert "summary: parameters.values" in rows["c"]["error"]
    # Not the last receive: no JobFailed yet, only the two successes.
    assert sorted(e["detail-type"] for e in worker.emitted()) == ["JobSucceeded"] * 2


def test_poison_message_is_announced_failed_on_its_last_receive(worker):
    bad = {"job_type": "histogram", "parameters": {"values": [1], "bins": 0}}
    for receive in range(1, MAX_RECEIVES + 1):
        assert worker.handle(sqs_record(bad, receive_count=receive)) == ["m-1"]
    row = worker.rows()["job-1"]
    assert (row["status"], row["attempts"]) == ("FAILED", MAX_RECEIVES)
    [event] = worker.emitted()
    assert event["detail-type"] == "JobFailed"
    assert event["detail"]["status"] == "FAILED"
    assert "parameters.bins" in event["detail"]["error"]


def test_message_without_usable_job_id_fails_without_a_row(worker):
    failed = worker.handle(sqs_record(SUMMARY, message_id="m-9", job_id="bad id with spaces"))
    assert failed == ["m-9"]
    assert worker.rows() == {}


def test_a_failed_attempt_then_a_success_clears_the_error(worker):
    worker.handle(sqs_record({"job_type": "summary", "parameters": {"values": ["x"]}}))
    assert worker.rows()["job-1"]["status"] == "FAILED"
    # The producer could not fix a message; a retry of a transient failure looks like this:
    worker.handle(sqs_record(SUMMARY, receive_count=2))
    row = worker.rows()["job-1"]
    assert row["status"] == "SUCCEEDED" and "error" not in row and row["attempts"] == 2


# --- duplicates ------------------------------------------------------------------------------


def test_a_job_costs_three_calls(worker):
    made = worker.calls()
    assert worker.handle(sqs_record(SUMMARY)) == []
    assert made == ["dynamodb.UpdateItem", "events.PutEvents", "dynamodb.UpdateItem"]


@pytest.mark.parametrize("message_id", ["m-1", "m-2"])  # SQS redelivery; a re-sent job id
def test_redelivered_job_is_answered_from_the_job_row_with_one_call(worker, message_id):
    assert worker.handle(sqs_record(SUMMARY)) == []
    first = worker.rows()["job-1"]
    worker.emitted()
    made = worker.calls()

    assert worker.handle(sqs_record(SUMMARY, message_id=message_id, receive_count=2)) == []

    assert made == ["dynamodb.UpdateItem"]  # the refused claim, nothing runs
    assert worker.rows()["job-1"] == first
    assert worker.emitted() == []


def test_a_concurrent_duplicate_fails_and_never_runs_next_to_the_running_attempt(
        worker, monkeypatch):
    runtime = worker.module.runtime()
    put_events = runtime.events.put_events
    seen: dict[str, Any] = {}

    def put_events_while_a_duplicate_arrives(**kwargs):
        # The worst moment: the job ran, its event is not out yet.
        seen["failed"] = worker.handle(sqs_record(SUMMARY, message_id="m-2"))
        seen["row"] = worker.rows()["job-1"]
        return put_events(**kwargs)

    monkeypatch.setattr(runtime.events, "put_events", put_events_while_a_duplicate_arrives)
    assert worker.handle(sqs_record(SUMMARY)) == []

    assert seen["failed"] == ["m-2"]  # redelivered after the visibility timeout...
    assert seen["row"]["status"] == "RECEIVED" and seen["row"]["message_id"] == "m-1"
    assert [e["detail-type"] for e in worker.emitted()] == ["JobSucceeded"]
    monkeypatch.setattr(runtime.events, "put_events", put_events)
    # ...and answered then as a duplicate.
    assert worker.handle(sqs_record(SUMMARY, message_id="m-2", receive_count=2)) == []
    assert worker.emitted() == []


class Crash(BaseException):
    """A hard stop (timeout, out of memory): no ``except Exception`` runs after it."""


@pytest.mark.parametrize("operation", ["put_events", "update_item"])
def test_a_crash_between_steps_is_run_and_announced_by_the_redelivery(
        worker, monkeypatch, operation):
    runtime = worker.module.runtime()
    client = runtime.events if operation == "put_events" else runtime.table._client
    original = getattr(client, operation)
    calls = {"n": 0}

    def crash(**kwargs):
        calls["n"] += 1
        if operation == "update_item" and calls["n"] == 1:
            return original(**kwargs)  # the claim goes through; SUCCEEDED never lands
        raise Crash(operation)

    monkeypatch.setattr(client, operation, crash)
    with pytest.raises(Crash):
        worker.handle(sqs_record(SUMMARY))
    monkeypatch.setattr(client, operation, original)
    row = worker.rows()["job-1"]
    assert row["status"] == "RECEIVED" and row["lease_until"]  # died holding its lease

    # SQS redelivers after the visibility timeout (6 x the function timeout): the lease has
    # run out by then, so the redelivery takes the job and finishes it.
    lease_runs_out(worker, monkeypatch)
    assert worker.handle(sqs_record(SUMMARY, receive_count=2)) == []

    row = worker.rows()["job-1"]
    assert (row["status"], row["attempts"]) == ("SUCCEEDED", 2)
    assert "lease_until" not in row
    detail_types = [e["detail-type"] for e in worker.emitted()]
    # Crashed after PutEvents went out (update_item case): announced again, never lost.
    assert detail_types == ["JobSucceeded"] * (2 if operation == "update_item" else 1)


def test_late_failure_of_a_succeeded_job_does_not_overwrite_it(worker):
    worker.handle(sqs_record(SUMMARY))
    # A second message reusing the id with a bad body: fails, but the SUCCEEDED row stays.
    assert worker.handle(sqs_record("garbage", message_id="m-2")) == ["m-2"]
    assert worker.rows()["job-1"]["status"] == "SUCCEEDED"


def test_refused_event_fails_the_record_and_leaves_the_job_unfinished(worker, monkeypatch):
    runtime = worker.module.runtime()
    monkeypatch.setattr(runtime.events, "put_events", lambda **_: {
        "FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure",
                                            "ErrorMessage": "try again"}]})
    assert worker.handle(sqs_record(SUMMARY)) == ["m-1"]
    assert worker.rows()["job-1"]["status"] == "RECEIVED"
    monkeypatch.undo()
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    # The retry (after the visibility timeout, when the lease has run out) runs the job
    # again and announces it.
    lease_runs_out(worker, monkeypatch)
    assert worker.handle(sqs_record(SUMMARY, receive_count=2)) == []
    assert worker.rows()["job-1"]["status"] == "SUCCEEDED"
    assert [e["detail-type"] for e in worker.emitted()] == ["JobSucceeded"]


def test_fifo_queue_stops_at_the_first_failure(worker, monkeypatch):
    monkeypatch.setenv("QUEUE_FIFO", "true")
    module = worker.load(HANDLER)
    records = [sqs_record(SUMMARY, message_id="a", job_id="a"),
               sqs_record("poison", message_id="b", job_id="b"),
               sqs_record(SUMMARY, message_id="c", job_id="c"),
               sqs_record(SUMMARY, message_id="d", job_id="d")]
    for record, group in zip(records, ("g1", "g1", "g1", "g2"), strict=True):
        record["attributes"]["MessageGroupId"] = group
    response = module.handler({"Records": records}, worker.context)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["b", "c"]
    # c was not attempted (order within g1 is kept); the other group went on.
    assert set(worker.rows()) == {"a", "b", "d"}


def test_bad_configuration_names_every_variable(worker, monkeypatch):
    monkeypatch.delenv("JOB_TABLE_NAME")
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "zero")
    module = worker.load(HANDLER)
    with pytest.raises(ValueError) as raised:
        module.handler({"Records": [sqs_record(SUMMARY)]}, worker.context)
    assert type(raised.value).__name__ == "ConfigurationError"
    assert "JOB_TABLE_NAME" in str(raised.value) and "MAX_RECEIVE_COUNT" in str(raised.value)


# --- the container poller ------------------------------------------------------------------


def test_poller_processes_a_batch_and_deletes_only_what_succeeded(worker, monkeypatch):
    url = worker.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    arn = worker.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    attributes = {"job_id": {"DataType": "String", "StringValue": "p-1"},
                  "submitted_by": {"DataType": "String", "StringValue": "ops"}}
    worker.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(SUMMARY),
                            MessageAttributes=attributes)
    worker.sqs.send_message(QueueUrl=url, MessageBody="poison",
                            MessageAttributes={"job_id": {"DataType": "String",
                                                          "StringValue": "p-2"}})
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("QUEUE_ARN", arn)
    monkeypatch.setenv("WAIT_TIME_SECONDS", "0")
    poller = worker.load(HANDLER, "poller")
    settings = poller.load_poller_settings(__import__("os").environ)

    assert poller.poll_once(worker.sqs, settings) == (2, 1)

    rows = worker.rows()
    assert rows["p-1"]["status"] == "SUCCEEDED"
    assert rows["p-1"]["submitted_by"] == "ops"
    assert rows["p-2"]["status"] == "FAILED"
    # The poison message stays (in flight); the processed one is gone.
    left = worker.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) \
        == ("0", "1")
    assert poller.poll_once(worker.sqs, settings) == (0, 0)


def test_poller_settings_name_every_bad_variable(worker):
    poller = worker.load(HANDLER, "poller")
    with pytest.raises(ValueError) as raised:
        poller.load_poller_settings({"BATCH_SIZE": "11", "WAIT_TIME_SECONDS": "x"})
    for name in ("QUEUE_URL", "QUEUE_ARN", "BATCH_SIZE", "WAIT_TIME_SECONDS"):
        assert name in str(raised.value)


def test_poller_stops_on_sigterm(worker):
    poller = worker.load(HANDLER, "poller")
    stopper = poller.Stopper()
    stopper._stop(15, None)
    assert stopper.stopping


# --- pure job logic --------------------------------------------------------------------------


@pytest.fixture
def jobs(load_handler) -> ModuleType:
    return load_handler(HANDLER, "jobs")


def test_summary_statistics(jobs):
    result = jobs.summary({"values": [4, 1, 3, 2, 10]})
    assert result == {"count": 5, "sum": 20, "mean": 4, "min": 1, "max": 10,
                      "stddev": pytest.approx(3.16227766), "median": 3, "p90": 7.6,
                      "p99": 9.76}


def test_histogram_bins_include_the_maximum(jobs):
    assert jobs.histogram({"values": [0, 1, 2, 3, 4], "bins": 2}) == {
        "edges": [0, 2, 4], "counts": [2, 3]}
    assert jobs.histogram({"values": [5, 5]}) == {"edges": list(range(5, 16)),
                                                  "counts": [2] + [0] * 9}


def test_group_aggregate(jobs):
    rows = [{"region": "eu", "amount": 2}, {"region": "us", "amount": 5},
            {"region": "eu", "amount": 4}]
    params = {"rows": rows, "group_by": "region", "measure": "amount"}
    assert jobs.group_aggregate(params) == {"aggregate": "sum",
                                            "groups": {"eu": 6, "us": 5}}
    assert jobs.group_aggregate({**params, "aggregate": "mean"})["groups"] == {"eu": 3, "us": 5}
    assert jobs.group_aggregate({**params, "aggregate": "count"})["groups"] == {"eu": 2, "us": 1}


@pytest.mark.parametrize(("job_type", "parameters", "message"), [
    ("summary", {"values": "123"}, "non-empty list"),
    ("summary", {"values": [1, True]}, "values[1]"),
    ("summary", {"values": [float("nan")]}, "finite"),
    ("histogram", {"values": [1], "bins": 1001}, "bins"),
    ("group_aggregate", {"rows": [], "group_by": "", "aggregate": "median"},
     "rows: expected a list"),
    ("group_aggregate", {"rows": [{"g": 1}], "group_by": "g", "measure": "m"}, "missing measure"),
    ("group_aggregate", {"rows": [{"m": 1}], "group_by": "g", "measure": "m"}, "with 'g'"),
])
def test_bad_parameters_raise_invalid_job(jobs, job_type, parameters, message):
    job = jobs.Job(job_id="j", job_type=job_type, parameters=parameters, message_id="m")
    with pytest.raises(jobs.InvalidJob) as raised:
        jobs.run_job(job)
    assert message in str(raised.value)
    assert raised.value.job_id == "j"


def test_group_aggregate_reports_every_bad_parameter(jobs):
    with pytest.raises(jobs.InvalidJob) as raised:
        jobs.group_aggregate({"rows": [], "group_by": "", "aggregate": "median"})
    text = str(raised.value)
    for name in ("rows", "group_by", "measure", "aggregate"):
        assert f"parameters.{name}" in text


def test_parse_job_reads_attributes_in_both_shapes(jobs):
    record = sqs_record(SUMMARY, submitted_by="me")
    record["messageAttributes"]["tenant"] = {"StringValue": "acme", "DataType": "String"}
    job = jobs.parse_job(record)
    assert (job.job_id, job.job_type, job.submitted_by) == ("job-1", "summary", "me")
    assert job.attributes == {"job_id": "job-1", "submitted_by": "me", "tenant": "acme"}


def test_parse_job_names_every_problem(jobs):
    with pytest.raises(jobs.InvalidJob) as raised:
        jobs.parse_job(sqs_record({"job_type": "sort", "parameters": [1]}))
    assert "job_type" in str(raised.value) and "parameters" in str(raised.value)
    assert raised.value.job_id == "job-1"


def test_error_text_is_bounded(jobs):
    text = jobs.error_text(RuntimeError("x" * 5000))
    assert len(text) == jobs.MAX_ERROR_LENGTH and text.startswith("RuntimeError: x")
