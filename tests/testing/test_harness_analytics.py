"""The harness's analytics emulation: Glue, Athena, Batch, EMR Serverless and SageMaker
integrations, job fakes and failure injection, and the interpreter fixes ETL workflows need."""

from __future__ import annotations

import json
from collections.abc import Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_athena as athena
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn

from analytics_orchestration.testing import JobFailed, OfflineAws


def _machine(stack, name: str, states: dict, start: str | None = None) -> sfn.StateMachine:
    body = {"StartAt": start or next(iter(states)), "States": states}
    return sfn.StateMachine(stack, name, definition_body=sfn.DefinitionBody.from_string(
        json.dumps(body)))


def _task(resource: str, parameters: dict, **extra) -> dict:
    return {"Type": "Task", "Resource": f"arn:aws:states:::{resource}",
            "Parameters": parameters, **extra}


@pytest.fixture(scope="module")
def stack() -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Jobs")
    s3.Bucket(stack, "Data")
    glue.CfnJob(stack, "Job", name="curate", role="arn:aws:iam::1:role/r",
                command=glue.CfnJob.JobCommandProperty(name="glueetl",
                                                       script_location="s3://x/y.py"))
    glue.CfnCrawler(stack, "Crawler", name="catalog", role="r", database_name="db",
                    targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                        glue.CfnCrawler.S3TargetProperty(path="s3://x/")]))
    athena.CfnWorkGroup(stack, "Group", name="etl")
    app_resource = emrserverless.CfnApplication(stack, "SparkApp", release_label="emr-7.1.0",
                                                type="SPARK")
    _machine(stack, "GlueJob", {"Run": _task("glue:startJobRun.sync", {
        "JobName.$": "$.job", "Arguments": {"--day": "1"}}, End=True)})
    _machine(stack, "Crawl", {
        "Start": _task("aws-sdk:glue:startCrawler", {"Name": "catalog"}, ResultPath=None,
                       Next="Wait"),
        "Wait": {"Type": "Wait", "Seconds": 60, "Next": "Poll"},
        "Poll": _task("aws-sdk:glue:getCrawler", {"Name": "catalog"}, ResultPath="$.crawler",
                      Next="Done?"),
        "Done?": {"Type": "Choice", "Choices": [{"Variable": "$.crawler.Crawler.State",
                                                 "StringEquals": "READY", "Next": "Out"}],
                  "Default": "Wait"},
        "Out": {"Type": "Pass", "OutputPath": "$.crawler.Crawler.LastCrawl", "End": True},
    })
    _machine(stack, "Query", {"Q": _task("athena:startQueryExecution.sync", {
        "QueryString": "SELECT 1", "WorkGroup": "etl"}, End=True)})
    _machine(stack, "Spark", {"S": _task("emr-serverless:startJobRun.sync", {
        "ApplicationId": app_resource.attr_application_id, "Name": "nightly",
        "ExecutionRoleArn": "arn:aws:iam::1:role/r",
        "JobDriver": {"SparkSubmit": {"EntryPoint": "s3://x/job.py"}}}, End=True)})
    _machine(stack, "Rethrow", {
        "Q": _task("glue:startJobRun.sync", {"JobName": "curate"},
                   Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure",
                           "Next": "Pick"}], End=True),
        "Pick": {"Type": "Pass", "Parameters": {
            "none.$": "$.items[?(@.name == 'nothing')]",
            "started.$": "$$.Execution.StartTime", "failure.$": "$.failure"}, "Next": "Fail"},
        "Fail": {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"},
    })
    _machine(stack, "Deploy", {
        "Model": _task("sagemaker:createModel", {"ModelName": "m-1", "ExecutionRoleArn": "r",
                                                 "PrimaryContainer": {"Image": "i"}},
                       ResultPath=None, Next="Config"),
        "Config": _task("sagemaker:createEndpointConfig", {
            "EndpointConfigName": "c-1", "ProductionVariants": [{"ModelName": "m-1"}]},
            ResultPath=None, Next="Endpoint"),
        "Endpoint": _task("sagemaker:createEndpoint", {"EndpointName": "e",
                                                       "EndpointConfigName": "c-1"},
                          ResultPath=None, Next="List"),
        "List": _task("aws-sdk:sagemaker:listEndpoints", {"NameContains": "e"}, End=True),
    })
    target = _machine(stack, "Scheduled", {"P": {"Type": "Pass", "End": True}})
    scheduler.CfnSchedule(
        stack, "Nightly", schedule_expression="rate(1 day)",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(
            arn=target.state_machine_arn, role_arn="arn:aws:iam::1:role/r",
            input='{"at": "<aws.scheduler.scheduled-time>"}'))
    app.synth()
    return stack


@pytest.fixture
def aws(stack) -> Iterator[OfflineAws]:
    """IAM off: these stacks' hand-written definitions come with roles that hold no
    grants (CDK cannot infer them from raw ASL); they test the emulator, and IAM
    enforcement is tested in test_harness_iam and by the behavioural suite."""
    with OfflineAws(iam="off") as harness:
        yield harness.deploy(stack)


def _run(aws: OfflineAws, machine: str, payload=None):
    return aws.wait_for_execution(aws.start_execution(machine, payload or {}))


def test_glue_job_runs_the_registered_fake_and_returns_the_job_run(aws):
    seen = []
    aws.analytics.on("glue", "curate", lambda request: seen.append(request) or {"DPUSeconds": 5})
    execution = _run(aws, "GlueJob", {"job": "curate"})
    assert execution.status == "SUCCEEDED"
    assert execution.output["JobRunState"] == "SUCCEEDED"
    assert execution.output["DPUSeconds"] == 5
    assert seen == [{"JobName": "curate", "Arguments": {"--day": "1"}}]
    [run] = aws.analytics.runs("glue", "curate")
    assert execution.output["Id"] == run.run_id


def test_an_injected_failure_fails_the_task_as_aws_does(aws):
    aws.analytics.fail("glue", "curate", "OutOfMemoryError")
    execution = _run(aws, "GlueJob", {"job": "curate"})
    assert execution.status == "FAILED" and execution.error == "States.TaskFailed"
    cause = json.loads(execution.cause)
    assert (cause["JobRunState"], cause["ErrorMessage"]) == ("FAILED", "OutOfMemoryError")


def test_a_crashing_fake_is_a_failed_job_run_with_its_exception(aws):
    aws.analytics.on("glue", "curate", lambda request: 1 / 0)
    assert _run(aws, "GlueJob", {"job": "curate"}).status == "FAILED"
    [run] = aws.analytics.runs("glue")
    assert isinstance(run.exception, ZeroDivisionError)


def test_unknown_jobs_fail_with_the_service_error(aws):
    execution = _run(aws, "GlueJob", {"job": "missing"})
    assert execution.error == "Glue.EntityNotFoundException"


def test_crawler_reports_running_then_ready_with_the_last_crawl(aws):
    execution = _run(aws, "Crawl")
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["Status"] == "SUCCEEDED"
    assert execution.states_entered().count("Poll") == 2
    assert aws.virtual_seconds == 120
    aws.analytics.fail("glue-crawler", "catalog", "Internal Service Exception")
    failed = _run(aws, "Crawl")
    assert failed.output["Status"] == "FAILED"
    assert failed.output["ErrorMessage"] == "Internal Service Exception"


def test_athena_and_emr_serverless_sync_shapes(aws):
    query = _run(aws, "Query")
    assert query.output["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    assert query.output["QueryExecution"]["WorkGroup"] == "etl"
    aws.analytics.on("emr-serverless", "nightly", lambda request: (_ for _ in ()).throw(
        JobFailed("Job failed, please check complete logs")))
    spark = _run(aws, "Spark")
    assert spark.error == "States.TaskFailed"
    assert json.loads(spark.cause)["State"] == "FAILED"


def test_failures_can_be_re_raised_and_filters_match_nothing_as_an_empty_list(aws):
    aws.analytics.fail("glue", "curate")
    execution = _run(aws, "Rethrow", {"items": [{"name": "a"}]})
    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"  # re-raised by the Fail state's ErrorPath
    passed = next(e for e in execution.history() if e["type"] == "PassStateExited")
    output = json.loads(passed["stateExitedEventDetails"]["output"])
    assert output["none"] == []
    assert output["started"].endswith("Z") and "T" in output["started"]


def test_sagemaker_models_configs_and_endpoints_are_tracked(aws):
    execution = _run(aws, "Deploy")
    assert execution.status == "SUCCEEDED", execution.cause
    assert [e["EndpointName"] for e in execution.output["Endpoints"]] == ["e"]
    assert aws.analytics.endpoints["e"]["EndpointConfigName"] == "c-1"
    again = _run(aws, "Deploy")
    assert again.error == "SageMaker.ValidationException"  # the model exists already


def test_schedules_start_their_state_machine_on_demand(aws):
    execution = aws.wait_for_execution(aws.analytics.run_schedule("Nightly"))
    assert execution.status == "SUCCEEDED"
    assert execution.input["at"].endswith("Z")


def test_unknown_service_names_are_refused(aws):
    with pytest.raises(ValueError, match="unknown service"):
        aws.analytics.on("redshift", "x", lambda request: None)
