"""The example job-queue stack, run end to end on the offline harness.

A job is submitted exactly as the API's SQS integration sends it (the validated body, with
the ``job_id`` and ``submitted_by`` message attributes), the Lambda workers run it, the job
table records it and JobSucceeded reaches the job-events bus. API Gateway, the VPC and the
ECS service cannot run offline and are deployed as no-ops; their templates are asserted in
``tests/constructs/test_worker_pool.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics_orchestration import JOB_FAILED, JOB_SUCCEEDED

STACK = "AnalyticsJobQueue"
QUEUE = "ReportJobs/Queue"
JOBS = "ReportJobs/JobTable"
WORKER = "ReportJobs/Worker"
OFFLINE_PREFIXES = ("AWS::ApiGateway::", "AWS::EC2::", "AWS::ECS::",
                    "AWS::ApplicationAutoScaling::", "Custom::VpcRestrictDefaultSG")


def _references(value: Any) -> set[str]:
    """Logical ids a resource refers to (Ref, Fn::GetAtt, DependsOn)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt" and isinstance(item, list):
                found.add(str(item[0]))
            elif key == "DependsOn":
                found.update([item] if isinstance(item, str) else item)
            else:
                found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


@pytest.fixture(scope="module")
def offline_template(example_stack, cloud_assembly) -> dict[str, Any]:
    """The stack's template without what cannot run offline and what depends on it.

    The harness deploys API Gateway, EC2 and ECS resources as no-ops only if nothing reads
    their attributes; the API's methods do. They are dropped with everything referring to
    them, and every resource is tagged with its construct path for lookups by path.
    """
    from aws_cdk import CfnElement, Stack

    stack = example_stack(STACK)
    template = json.loads(json.dumps(cloud_assembly.get_stack_by_name(STACK).template))
    resources = template["Resources"]
    dropped = {lid for lid, r in resources.items() if r["Type"].startswith(OFFLINE_PREFIXES)}
    while True:
        more = {lid for lid, r in resources.items()
                if lid not in dropped and _references(r) & dropped}
        if not more:
            break
        dropped |= more
    for logical_id in dropped:
        del resources[logical_id]
    template.pop("Outputs", None)
    for construct in stack.node.find_all():
        if isinstance(construct, CfnElement) and Stack.of(construct) is stack:
            logical_id = stack.resolve(construct.logical_id)
            if logical_id in resources:
                resources[logical_id].setdefault("Metadata", {})["aws:cdk:path"] = (
                    construct.node.path)
    return template


@pytest.fixture
def aws(offline_aws, offline_template, cloud_assembly) -> Any:
    return offline_aws.deploy(template=offline_template, asset_dir=cloud_assembly.directory,
                              stack_name=STACK)


def test_only_the_api_vpc_and_container_service_are_left_out(offline_template):
    kept = {r["Type"] for r in offline_template["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::SQS::Queue",
            "AWS::DynamoDB::Table", "AWS::Events::EventBus"} <= kept
    assert not [t for t in kept if t.startswith(OFFLINE_PREFIXES)]


def submit(aws, body: Any, job_id: str, **extra: Any) -> str:
    """What POST /jobs queues: the body, plus the job id and the caller as attributes."""
    return aws.send_message(QUEUE, body, MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": job_id},
        "submitted_by": {"DataType": "String", "StringValue": "arn:aws:iam::1:role/reports"},
    }, **extra)


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

