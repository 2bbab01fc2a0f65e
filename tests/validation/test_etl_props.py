"""Invalid StepFunctionsEtl props: one ConfigurationError naming every bad prop."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_orchestration import (
    ConfigurationError,
    EtlRetryPolicy,
    EtlStep,
    EvaluationGate,
    ItemProcessor,
    LargeInput,
    MlWorkflow,
    SageMakerProcessing,
    SageMakerTraining,
    StepFunctionsEtl,
    TargetRetryPolicy,
)
from tests.support import new_stack

EXPRESS = sfn.StateMachineType.EXPRESS


def _problems(build) -> tuple[str, ...]:
    """Build the construct from ``build(stack)`` props; the error must come before anything."""
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        StepFunctionsEtl(stack, "Etl", **build(stack))
    assert "StepFunctionsEtl TestStack/Etl" in str(raised.value)
    child = stack.node.try_find_child("Etl")
    assert child is None or child.node.children == []
    return raised.value.problems


def _lambda(stack) -> lambda_.IFunction:
    existing = stack.node.try_find_child("Fn")
    return existing or lambda_.Function.from_function_arn(
        stack, "Fn", "arn:aws:lambda:us-east-1:111111111111:function:work")


def _glue_job(stack) -> glue.IJob:
    return glue.PySparkEtlJob.from_job_attributes(stack, "Job", job_name="nightly")


def _work(stack, name="Work") -> EtlStep:
    return EtlStep.lambda_function(name, _lambda(stack))


def test_no_steps_is_one_clear_error():
    [problem] = _problems(lambda stack: {})
    assert problem.startswith("extract/transform/validate/load/large_input/ml:")
    assert "at least one step" in problem


def test_a_prop_of_the_wrong_type_is_named_with_its_index_before_anything_else():
    # The construct's own checks could not make sense of a mistyped prop: the type
    # problems are reported first, on their own, before anything is built.
    problems = _problems(lambda stack: {
        "extract": ["not a step"], "timeout": Duration.days(400)})
    assert [p.split(":")[0] for p in problems] == ["extract[0]"]
    assert "expected an EtlStep" in problems[0]


def test_every_problem_is_reported_at_once():
    problems = _problems(lambda stack: {
        "transform": [_work(stack, "bad name!")],
        "large_input": LargeInput(bucket=s3.Bucket.from_bucket_name(stack, "B", "bbb"),
                                  prefix="in/", max_concurrency=0,
                                  tolerated_failure_percentage=101,
                                  processor=ItemProcessor.lambda_function(_lambda(stack))),
        "timeout": Duration.days(400),
        "retry": EtlRetryPolicy(max_attempts=0),
        "trigger_retry": TargetRetryPolicy(retry_attempts=200),
        "workflow_name": "has space",
    })
    props = [p.split(":")[0] for p in problems]
    assert props == ["transform[0].name", "large_input.max_concurrency",
                     "large_input.tolerated_failure_percentage", "workflow_name", "timeout",
                     "retry.max_attempts", "trigger_retry.retry_attempts"]


def test_step_of_unknown_kind_names_the_allowed_kinds():
    class Homemade(EtlStep):
        kind = "spreadsheet"  # type: ignore[assignment]

        def build(self, ctx):  # pragma: no cover - never built
            raise AssertionError

    [problem] = _problems(lambda stack: {"transform": [Homemade("Sheet")]})
    assert problem.startswith("transform[0]:")
    assert "glue-job" in problem and "athena-query" in problem


@pytest.mark.parametrize("step", [
    lambda stack: EtlStep.glue_job("Job", _glue_job(stack)),
    lambda stack: EtlStep.athena_query("Query", "SELECT 1", output_location=s3.Location(
        bucket_name="results", object_key="athena")),
    lambda stack: EtlStep.emr_serverless_job(
        "Spark", application=emrserverless.CfnApplication(
            stack, "App", release_label="emr-7.1.0", type="SPARK"),
        execution_role=iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal()),
        entry_point="s3://x/y.py"),
])
def test_express_workflows_cannot_wait_for_jobs(step):
    [problem] = _problems(lambda stack: {"state_machine_type": EXPRESS,
                                         "load": [step(stack)]})
    assert problem.startswith("load[0]:") and ".sync" in problem and "STANDARD" in problem


def test_express_workflows_cannot_run_batch_items_or_ml():
    problems = _problems(lambda stack: {
        "state_machine_type": EXPRESS,
        "large_input": LargeInput(
            bucket=s3.Bucket.from_bucket_name(stack, "B", "bbb"), prefix="",
            processor=ItemProcessor.batch_job(
                job_queue=batch.JobQueue.from_job_queue_arn(
                    stack, "Q", "arn:aws:batch:us-east-1:1:job-queue/q"),
                job_definition=batch.EcsJobDefinition.from_job_definition_arn(
                    stack, "D", "arn:aws:batch:us-east-1:1:job-definition/d"))),
        "ml": MlWorkflow(data_bucket=s3.Bucket.from_bucket_name(stack, "M", "mmm"),
                         training=SageMakerTraining(image_uri="i", channels={"t": "s3://m/t"},
                                                    output_uri="s3://m/o"),
                         gate=EvaluationGate("auc", 0.5)),
        "timeout": Duration.minutes(10),
    })
    assert [p.split(":")[0] for p in problems] == ["large_input.processor", "ml", "timeout"]
    assert "5 minutes" in problems[-1]


@pytest.mark.parametrize(("build", "prop", "hint"), [
    (lambda s: {"transform": [_work(s), _work(s)]}, "transform[1].name", "unique"),
    (lambda s: {"transform": [_work(s, "RecordStart")]}, "transform[0].name", "workflow itself"),
    (lambda s: {"large_input": LargeInput(bucket=s3.Bucket.from_bucket_name(s, "B", "bbb"),
                                          processor=ItemProcessor.lambda_function(_lambda(s)))},
     "large_input.prefix", "exactly one of prefix and manifest_key"),
    (lambda s: {"large_input": LargeInput(bucket=s3.Bucket.from_bucket_name(s, "B", "bbb"),
                                          prefix="", results_prefix="out",
                                          processor=ItemProcessor.lambda_function(_lambda(s)))},
     "large_input.results_prefix", "end in '/'"),
    (lambda s: {"load": [EtlStep.athena_query("Query", "  ", output_location=s3.Location(
        bucket_name="results", object_key="athena"))]}, "load[0].query", "empty"),
    (lambda s: {"load": [EtlStep.athena_query("Query", "SELECT 1", output_location=s3.Location(
        bucket_name="results", object_key="athena"), write_prefixes=["out/"])]},
     "load[0].write_prefixes", "data_bucket"),
    (lambda s: {"load": [EtlStep.partition_records(
        "Part", source_bucket=s3.Bucket.from_bucket_name(s, "B", "bbb"),
        target_bucket=s3.Bucket.from_bucket_name(s, "T", "ttt"), target_prefix="x",
        partition_keys=["day"])]}, "load[0].target_prefix", "end in '/'"),
    (lambda s: {"load": [EtlStep.partition_records(
        "Part", source_bucket=s3.Bucket.from_bucket_name(s, "B", "bbb"),
        target_bucket=s3.Bucket.from_bucket_name(s, "T", "ttt"), target_prefix="x/",
        partition_keys=["a b"])]}, "load[0].partition_keys", "field names"),
    (lambda s: {"load": [EtlStep.glue_crawler(
        "Crawl", glue.CfnCrawler(s, "C", role="r", targets={}),
        poll_interval=Duration.hours(2))]}, "load[0].poll_interval", "1 hour"),
    (lambda s: {"transform": [_work(s)], "retry": EtlRetryPolicy(backoff_rate=0.5)},
     "retry.backoff_rate", "1 to 5"),
    (lambda s: {"transform": [_work(s)], "retry": EtlRetryPolicy(
        interval=Duration.minutes(5), max_delay=Duration.minutes(1))},
     "retry.max_delay", "at least the interval"),
    (lambda s: {"transform": [_work(s)], "triggers": ["nightly"]}, "triggers[0]",
     "EtlTrigger factory"),
    (lambda s: {"ml": MlWorkflow(
        data_bucket=s3.Bucket.from_bucket_name(s, "M", "mmm"), job_name_prefix="x" * 27,
        training=SageMakerTraining(image_uri="i", channels={"t": "s3://m/t"},
                                   output_uri="s3://m/o"),
        gate=EvaluationGate("auc", 0.5))}, "ml.job_name_prefix", "1 to 26"),
    (lambda s: {"ml": MlWorkflow(
        data_bucket=s3.Bucket.from_bucket_name(s, "M", "mmm"),
        training=SageMakerTraining(image_uri="i", channels={"t": "/local"},
                                   output_uri="s3://m/o"),
        gate=EvaluationGate("auc", 0.5))}, "ml.training.channels['t']", "s3:// URI"),
    (lambda s: {"ml": MlWorkflow(
        data_bucket=s3.Bucket.from_bucket_name(s, "M", "mmm"),
        processing=SageMakerProcessing(image_uri="i", script_uri=Token.as_string({"Ref": "X"}),
                                       input_uri="s3://m/i", output_uri="s3://m/p"),
        training=SageMakerTraining(image_uri="i", channels={"t": "s3://m/t"},
                                   output_uri="s3://m/o"),
        gate=EvaluationGate("auc", 0.5))}, "ml.processing.script_name", "deploy time"),
])
def test_each_invalid_prop_is_named(build, prop, hint):
    [problem] = _problems(build)
    assert problem.startswith(f"{prop}:"), problem
    assert hint in problem


def test_tokens_are_not_judged():
    stack = new_stack()
    StepFunctionsEtl(stack, "Etl", load=[EtlStep.emr_serverless_job(
        "Spark", application=emrserverless.CfnApplication(
            stack, "App", release_label="emr-7.1.0", type="SPARK"),
        execution_role=iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal()),
        entry_point=Token.as_string({"Ref": "ScriptUri"}))])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(concurrency=st.integers(min_value=-5, max_value=20_000),
       tolerance=st.floats(min_value=-10, max_value=200, allow_nan=False))
def test_concurrency_and_tolerance_ranges(concurrency, tolerance):
    large_input = LargeInput(bucket=s3.Bucket.from_bucket_name(new_stack(), "B", "bbb"),
                             prefix="", max_concurrency=concurrency,
                             tolerated_failure_percentage=tolerance,
                             processor=ItemProcessor.lambda_function(
                                 lambda_.Function.from_function_name(new_stack(), "F", "f")))
    props = {p[0] for p in large_input.problems("large_input")}
    assert ("large_input.max_concurrency" in props) == (not 1 <= concurrency <= 10_000)
    assert ("large_input.tolerated_failure_percentage" in props) == (not 0 <= tolerance <= 100)
