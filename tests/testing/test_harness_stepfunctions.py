"""Layers 3 and 4: Step Functions with JSONata, virtual time, in-process Lambda tasks,
startExecution (.sync), aws-sdk integrations and Distributed Map over S3."""

from __future__ import annotations

import json
from collections.abc import Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from analytics_orchestration.testing import OfflineAws

WORKER = """
    class Flaky(Exception):
        pass

    class Rejected(Exception):
        pass

    CALLS = {"n": 0}

    def handler(event, context):
        CALLS["n"] += 1
        if event.get("flaky") and CALLS["n"] % 3 != 0:
            raise Flaky("try again")
        if event.get("reject"):
            raise Rejected(f"rejected {event.get('n')}")
        return {"doubled": event.get("n", 0) * 2}
"""


def _jsonata_parent(bucket: str, child_arn: str, fn_arn: str) -> dict:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Wait an hour",
        "States": {
            "Wait an hour": {"Type": "Wait", "Seconds": 3600, "Next": "Work"},
            "Work": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": fn_arn,
                              "Payload": {"n": "{% $states.input.n %}", "flaky": True}},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 10, "MaxAttempts": 3,
                           "BackoffRate": 2}],
                "Assign": {"work": "{% $states.result.Payload %}"},
                "Next": "Child",
            },
            "Child": {
                "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Arguments": {"StateMachineArn": child_arn, "Input": {"v": 'say "hi"'}},
                "Assign": {"child": "{% $states.result.Output %}",
                           "childStatus": "{% $states.result.Status %}"},
                "Next": "Read",
            },
            "Read": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Arguments": {"Bucket": bucket, "Key": "config.json"},
                "Assign": {"config": "{% $parse($states.result.Body) %}"},
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                               "Arguments": {"Bucket": bucket, "Prefix": "items/"}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Key",
                    "States": {"Key": {"Type": "Pass", "Output": "{% $states.input.Key %}",
                                       "End": True}},
                },
                "Assign": {"keys": "{% $states.result %}"},
                "Next": "Missing",
            },
            "Missing": {
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Arguments": {"Bucket": bucket, "Key": "absent"},
                "Catch": [{"ErrorEquals": ["S3.NoSuchKeyException"], "Next": "Done",
                           "Assign": {"caught": "{% $states.errorOutput.Error %}"}}],
                "Next": "Done",
            },
            "Done": {
                "Type": "Pass",
                "Output": {"work": "{% $work %}", "child": "{% $child %}",
                           "childStatus": "{% $childStatus %}", "config": "{% $config %}",
                           "keys": "{% $keys %}", "caught": "{% $caught %}"},
                "End": True,
            },
        },
    }


CHILD = {
    "QueryLanguage": "JSONata",
    "StartAt": "Echo",
    "States": {"Echo": {"Type": "Pass", "End": True, "Output": {
        "echo": "{% $states.input.v %}",
        "id": "{% $uuid() %}",
        "hash": "{% $hash('abc', 'SHA-256') %}",
        "upper": "{% $uppercase($states.input.v) %}",
    }}},
}


@pytest.fixture(scope="module")
def sfn_stack(make_asset) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Flows")
    bucket = s3.Bucket(stack, "Data")
    table = ddb.Table(stack, "Results",
                      partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING))
    worker = lambda_.Function(stack, "Worker", runtime=lambda_.Runtime.PYTHON_3_12,
                              handler="index.handler",
                              code=lambda_.Code.from_asset(make_asset("worker", WORKER)))
    child = sfn.StateMachine(stack, "Child",
                             definition_body=sfn.DefinitionBody.from_string(json.dumps(CHILD)))
    parent = sfn.StateMachine(stack, "Parent", definition_body=sfn.DefinitionBody.from_string(
        json.dumps(_jsonata_parent(bucket.bucket_name, child.state_machine_arn,
                                   worker.function_arn))))
    worker.grant_invoke(parent)
    child.grant_start_execution(parent)
    bucket.grant_read(parent)

    # A JSONPath workflow built from CDK's L2 task constructs.
    invoke = tasks.LambdaInvoke(stack, "Invoke", lambda_function=worker,
                                payload_response_only=True, result_path="$.result",
                                retry_on_service_exceptions=False)
    invoke.add_retry(errors=["Flaky"], max_attempts=5, interval=cdk.Duration.minutes(5))
    record = tasks.DynamoPutItem(stack, "Record", table=table, item={
        "pk": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.id")),
        "doubled": tasks.DynamoAttributeValue.number_from_string(
            sfn.JsonPath.format("{}", sfn.JsonPath.string_at("$.result.doubled")))},
        result_path=sfn.JsonPath.DISCARD)
    rejected = sfn.Pass(stack, "Rejected", parameters={
        "error.$": "$.failure.Error", "id.$": "$.id"})
    invoke.add_catch(rejected, errors=["Rejected"], result_path="$.failure")
    start_only = tasks.StepFunctionsStartExecution(
        stack, "Notify", state_machine=child, input=sfn.TaskInput.from_object({"v": "x"}),
        result_path="$.notified")
    classic = sfn.StateMachine(stack, "Classic", definition_body=sfn.DefinitionBody.from_chainable(
        invoke.next(record).next(start_only)))
    events.Rule(stack, "Trigger", event_pattern=events.EventPattern(source=["jobs"]),
                targets=[targets.SfnStateMachine(classic, input=events.RuleTargetInput.from_object({
                    "id": events.EventField.from_path("$.detail.id"),
                    "n": events.EventField.from_path("$.detail.n"),
                    "reject": events.EventField.from_path("$.detail.reject"),
                    "flaky": True}))])
    app.synth()
    return stack


@pytest.fixture
def aws(sfn_stack: cdk.Stack) -> Iterator[OfflineAws]:
    """IAM off: these stacks' hand-written definitions come with roles that hold no
    grants (CDK cannot infer them from raw ASL); they test the emulator, and IAM
    enforcement is tested in test_harness_iam and by the behavioural suite."""
    with OfflineAws(iam="off") as harness:
        yield harness.deploy(sfn_stack)


def test_jsonata_workflow_end_to_end(aws: OfflineAws) -> None:
    aws.put_object("Data", "config.json", {"mode": "full"})
    aws.put_object("Data", "items/1.csv", "a")
    aws.put_object("Data", "items/2.csv", "b")

    arn = aws.start_execution("Parent", {"n": 21})
    execution = aws.wait_for_execution(arn)

    assert execution.status == "SUCCEEDED", execution.cause
    out = execution.output
    assert out["work"] == {"doubled": 42}
    assert out["childStatus"] == "SUCCEEDED"
    assert out["child"]["echo"] == 'say "hi"'
    assert out["child"]["upper"] == 'SAY "HI"'
    assert len(out["child"]["id"]) == 36
    assert out["child"]["hash"] == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert out["config"] == {"mode": "full"}
    assert out["keys"] == ["items/1.csv", "items/2.csv"]
    assert out["caught"] == "S3.NoSuchKeyException"
    # an hour of Wait and 10 s + 20 s of back-off, none of it slept
    assert aws.virtual_seconds == pytest.approx(3630)
    assert execution.states_entered()[:3] == ["Wait an hour", "Work", "Child"]


def test_retry_attempts_are_visible_in_history(aws: OfflineAws) -> None:
    aws.put_object("Data", "config.json", {})
    execution = aws.wait_for_execution(aws.start_execution("Parent", {"n": 1}))
    failures = [e["taskFailedEventDetails"]["error"] for e in execution.history()
                if e["type"] == "TaskFailed"]
    assert failures == ["Flaky", "Flaky", "S3.NoSuchKeyException"]


def test_rule_starts_classic_workflow_with_transformed_input(aws: OfflineAws) -> None:
    aws.put_events({"Source": "jobs", "DetailType": "Job", "Detail": {"id": "j-1", "n": 5}},
                   {"Source": "jobs", "DetailType": "Job",
                    "Detail": {"id": "j-2", "n": 1, "reject": True}})

    done = aws.wait_for_executions("Classic", count=2)
    by_id = {e.input["id"]: e for e in done}
    assert by_id["j-1"].status == "SUCCEEDED"
    assert by_id["j-1"].output["result"] == {"doubled": 10}
    assert by_id["j-1"].output["notified"]["ExecutionArn"].startswith("arn:aws:states:")
    assert by_id["j-2"].output == {"error": "Rejected", "id": "j-2"}
    assert aws.table_items("Results") == [{"pk": "j-1", "doubled": 10}]
    # the Notify state started the child without waiting; it still ran to the end
    assert [e.status for e in aws.wait_for_executions("Child", count=1)] == ["SUCCEEDED"]
    assert aws.virtual_seconds >= 2 * 300  # two Flaky retries of five minutes, not slept
