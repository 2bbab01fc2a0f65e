"""The example job-queue stack, run end to end on the offline harness.

Jobs go in through the job API exactly as a client sends them: ``POST /jobs`` signed by the
reporting system's role, through API Gateway's request validation, the SQS integration's
mapping template, the queue, the Lambda workers and the job table, and come back through
``GET /jobs/{job_id}`` and its DynamoDB integration. Some tests send to the queue directly
(what the integration sends: the body plus the ``job_id`` and ``submitted_by`` message
attributes) to exercise the worker's failure paths. Only the container pool's ECS service
and its autoscaling cannot run offline: they are deployed as no-ops (the marker below), and
their templates are asserted in ``tests/constructs/test_worker_pool.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics_orchestration import JOB_FAILED, JOB_SUCCEEDED

STACK = "AnalyticsJobQueue"
API = "ReportJobs/Api"
QUEUE = "ReportJobs/Queue"
JOBS = "ReportJobs/JobTable"
WORKER = "ReportJobs/Worker"
SUBMITTER = "ReportingSystem"
CONTAINER_TYPES = {"AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service",
                   "AWS::ApplicationAutoScaling::ScalableTarget",
                   "AWS::ApplicationAutoScaling::ScalingPolicy"}

pytestmark = pytest.mark.offline_aws(ignore_resource_types=CONTAINER_TYPES)


@pytest.fixture
def aws(offline_aws, example_stack) -> Any:
    return offline_aws.deploy(example_stack(STACK))


def test_only_the_container_service_is_deployed_as_a_no_op(aws):
    deployed = {r.resource_type for r in aws.resources}
    assert {"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Method", "AWS::ApiGateway::Model",
            "AWS::Lambda::EventSourceMapping", "AWS::DynamoDB::Table"} <= deployed
    assert {t for t in deployed if t.startswith(("AWS::ECS::", "AWS::ApplicationAutoScaling::"))
            } <= CONTAINER_TYPES


def submit(aws, body: Any, job_id: str, **extra: Any) -> str:
    """What POST /jobs queues: the body, plus the job id and the caller as attributes."""
    return aws.send_message(QUEUE, body, MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": job_id},
        "submitted_by": {"DataType": "String", "StringValue": "arn:aws:iam::1:role/reports"},
    }, **extra)


def test_a_job_posted_to_the_api_is_run_and_read_back_as_succeeded(aws):
    job = {"job_type": "summary", "parameters": {"values": [2, 4, 6]}}
    posted = aws.http_request(API, "POST", "/jobs", body=job, caller=SUBMITTER)

    assert posted.status == 202
    job_id = posted.body["job_id"]
    assert job_id == posted.request_id  # the API's request id is the job id
    [row] = aws.table_items(JOBS)
    role = aws.resource(SUBMITTER).physical_id
    assert row["job_id"] == job_id
    assert row["submitted_by"] == f"arn:aws:sts::{aws.account_id}:assumed-role/{role}/offline-aws"
    read = aws.http_request(API, "GET", f"/jobs/{job_id}", caller=SUBMITTER)
    assert read.status == 200
    assert read.body["status"] == "SUCCEEDED"
    assert read.body["job_type"] == "summary"
    assert read.body["attempts"] == 1
    assert read.body["error"] is None
    assert read.body["result"]["sum"] == 12
    [event] = job_events(aws)
    assert event["detail"]["job_id"] == job_id


def test_a_job_not_yet_received_reads_as_404(aws):
    missing = aws.http_request(API, "GET", "/jobs/no-such-job", caller=SUBMITTER)
    assert missing.status == 404
    assert "no job with this id" in missing.body["message"]


@pytest.mark.parametrize("body", [
    {"job_type": "summary"},  # parameters missing
    {"job_type": "has spaces", "parameters": {}},  # job_type pattern
    {"job_type": "summary", "parameters": {}, "extra": 1},  # additionalProperties: false
    {"job_type": "summary", "parameters": []},  # parameters must be an object
    "not json",
])
def test_a_body_failing_the_model_is_refused_with_400_and_nothing_is_queued(aws, body):
    refused = aws.http_request(API, "POST", "/jobs", body=body, caller=SUBMITTER,
                               headers={"Content-Type": "application/json"})
    assert (refused.status, refused.body) == (400, {"message": "Invalid request body"})
    assert aws.queue_messages(QUEUE, include_in_flight=True) == []
    assert aws.invocations(WORKER) == []


def test_an_unsigned_request_is_refused_as_aws_refuses_it(aws):
    job = {"job_type": "summary", "parameters": {"values": [1]}}
    unsigned = aws.http_request(API, "POST", "/jobs", body=job)
    assert (unsigned.status, unsigned.body) == (403, {"message": "Missing Authentication Token"})
    assert aws.table_items(JOBS) == []


def test_a_principal_without_execute_api_invoke_is_refused(aws):
    # The API's own integration role may send to the queue but was never granted the API.
    integration_role = aws.arn("ReportJobs/ApiRole")
    job = {"job_type": "summary", "parameters": {"values": [1]}}
    denied = aws.http_request(API, "POST", "/jobs", body=job, caller=integration_role)
    assert denied.status == 403
    assert "is not authorized to perform: execute-api:Invoke on resource: " in (
        denied.body["Message"])
    assert denied.body["Message"].endswith("/POST/jobs")
    assert aws.table_items(JOBS) == []


def test_an_unknown_route_is_missing_authentication_token(aws):
    for method, path in (("GET", "/jobs"), ("DELETE", "/jobs/x"), ("GET", "/nothing")):
        answer = aws.http_request(API, method, path, caller=SUBMITTER)
        assert (answer.status, answer.body) == (403, {"message": "Missing Authentication Token"})


def job_events(aws) -> list[dict[str, Any]]:
    bus = aws.physical_id("JobEvents")
    return [e for e in aws.events_on(bus) if e["source"] == JOB_SUCCEEDED.source]


def test_submitted_job_is_processed_and_succeeds(aws):
    submit(aws, {"job_type": "group_aggregate", "parameters": {
        "rows": [{"region": "eu", "sales": 3}, {"region": "us", "sales": 4},
                 {"region": "eu", "sales": 5}],
        "group_by": "region", "measure": "sales"}}, "req-1")

    [row] = aws.table_items(JOBS)
    assert row["job_id"] == "req-1"
    assert row["status"] == "SUCCEEDED"
    assert row["submitted_by"] == "arn:aws:iam::1:role/reports"
    assert json.loads(row["result"]) == {"aggregate": "sum", "groups": {"eu": 8, "us": 4}}
    [event] = job_events(aws)
    assert event["detail-type"] == JOB_SUCCEEDED.detail_type
    assert event["detail"]["job_id"] == "req-1"
    assert sorted(event["detail"]) == sorted(JOB_SUCCEEDED.detail_fields)
    assert aws.queue_messages(QUEUE, include_in_flight=True) == []
    assert aws.queue_messages("ReportJobs/QueueDeadLetterQueue") == []


def test_poison_message_reaches_the_dead_letter_queue_after_max_receives(aws):
    submit(aws, "this is not a job", "req-2")

    [parked] = aws.queue_messages("ReportJobs/QueueDeadLetterQueue")
    assert parked.body == "this is not a job"
    assert len(aws.invocations(WORKER)) == 5  # the pool's default max_receive_count
    [row] = aws.table_items(JOBS)
    assert (row["job_id"], row["status"], row["attempts"]) == ("req-2", "FAILED", 5)
    assert "invalid job message" in row["error"]
    [event] = job_events(aws)  # JobFailed only once, on the last receive
    assert event["detail-type"] == JOB_FAILED.detail_type
    assert event["detail"]["error"] == row["error"]


def test_a_poison_message_does_not_hold_back_its_batch(aws):
    sqs = aws.client("sqs")
    url = aws.physical_id(QUEUE)
    for index, body in enumerate(["garbage", json.dumps(
            {"job_type": "summary", "parameters": {"values": [1, 2]}})]):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "job_id": {"DataType": "String", "StringValue": f"batch-{index}"}})
    aws.settle()
    statuses = {row["job_id"]: row["status"] for row in aws.table_items(JOBS)}
    assert statuses == {"batch-0": "FAILED", "batch-1": "SUCCEEDED"}
    # The good job ran once although its batch partly failed and was redelivered.
    assert len([e for e in job_events(aws)
                if e["detail-type"] == JOB_SUCCEEDED.detail_type]) == 1


def test_redelivered_job_is_processed_once(aws):
    job = {"job_type": "summary", "parameters": {"values": [2, 4, 6]}}
    submit(aws, job, "req-3")
    first = aws.table_items(JOBS)
    submit(aws, job, "req-3")  # the same job delivered again (a producer retry)

    assert len(aws.invocations(WORKER)) == 2
    assert aws.table_items(JOBS) == first
    assert len(job_events(aws)) == 1

