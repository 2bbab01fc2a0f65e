"""Invalid SqsWorkerPool props: one ConfigurationError naming every bad prop."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Token
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_orchestration import (
    ConfigurationError,
    ContainerWorkers,
    JobApiOptions,
    LambdaWorkers,
    SqsWorkerPool,
)
from tests.support import new_stack


def _problems(stack=None, **props) -> tuple[str, ...]:
    stack = stack or new_stack()
    with pytest.raises(ConfigurationError) as raised:
        SqsWorkerPool(stack, "Pool", **props)
    assert "SqsWorkerPool TestStack/Pool" in str(raised.value)
    child = stack.node.try_find_child("Pool")
    assert child is None or child.node.children == []  # nothing was built
    return raised.value.problems


def test_error_is_a_value_error_listing_every_problem():
    with pytest.raises(ValueError) as raised:
        SqsWorkerPool(
            new_stack(), "Pool", content_based_deduplication=True, max_receive_count=0,
            workers=LambdaWorkers(batch_size=20, max_concurrency=1),
            visibility_timeout=Duration.seconds(30), enable_api=False,
            api_options=JobApiOptions(),
        )
    message = str(raised.value)
    assert "6 invalid prop(s)" in message
    for prop in ("content_based_deduplication", "max_receive_count", "workers.batch_size",
                 "workers.max_concurrency", "visibility_timeout", "api_options"):
        assert f"  - {prop}:" in message


@pytest.mark.parametrize(("props", "prop", "hint"), [
    ({"content_based_deduplication": True}, "content_based_deduplication",
     "standard queue cannot deduplicate"),
    ({"max_receive_count": 1001}, "max_receive_count", "1 to 1,000"),
    ({"retention_period": Duration.days(15)}, "retention_period", "1 minute to 14 days"),
    ({"retention_period": Duration.seconds(30),
      "oldest_message_age_threshold": Duration.seconds(10)}, "retention_period",
     "1 minute to 14 days"),
    ({"oldest_message_age_threshold": Duration.days(5)}, "oldest_message_age_threshold",
     "below the retention period"),
    ({"visibility_timeout": Duration.seconds(359)}, "visibility_timeout",
     "at least 360 seconds (6 x the worker function's timeout"),
    ({"visibility_timeout": Duration.hours(13)}, "visibility_timeout", "at most 12 hours"),
    ({"enable_api": False, "api_options": JobApiOptions()}, "api_options",
     "only apply when enable_api"),
    ({"api_options": JobApiOptions(throttling_rate_limit=0)},
     "api_options.throttling_rate_limit", "above 0"),
    ({"api_options": JobApiOptions(throttling_burst_limit=0)},
     "api_options.throttling_burst_limit", "1 or more"),
    ({"api_options": JobApiOptions(stage_name="v-1")}, "api_options.stage_name",
     "letters, digits or underscores"),
    # Lambda workers
    ({"workers": LambdaWorkers(batch_size=0)}, "workers.batch_size", "1 to 10,000"),
    ({"workers": LambdaWorkers(batch_size=10_001, max_batching_window=Duration.seconds(1))},
     "workers.batch_size", "1 to 10,000 for a standard queue"),
    ({"workers": LambdaWorkers(batch_size=11)}, "workers.batch_size",
     "needs a max_batching_window of at least 1 second"),
    ({"workers": LambdaWorkers(batch_size=11), "fifo": True}, "workers.batch_size",
     "1 to 10 for a FIFO queue"),
    ({"workers": LambdaWorkers(max_batching_window=Duration.seconds(301))},
     "workers.max_batching_window", "at most 5 minutes"),
    ({"workers": LambdaWorkers(max_batching_window=Duration.seconds(1)), "fifo": True},
     "workers.max_batching_window", "a FIFO queue cannot honour a batching window"),
    ({"workers": LambdaWorkers(max_concurrency=1)}, "workers.max_concurrency", "2 to 1,000"),
    ({"workers": LambdaWorkers(max_concurrency=1001)}, "workers.max_concurrency", "2 to 1,000"),
    ({"workers": LambdaWorkers(timeout=Duration.minutes(16))}, "workers.timeout",
     "1 second to 15 minutes"),
    ({"workers": LambdaWorkers(memory_size=64)}, "workers.memory_size", "128 to 10,240"),
    ({"workers": LambdaWorkers(handler="main.run")}, "workers.handler", "give code as well"),
    # container workers
    ({"workers": ContainerWorkers(directory="./w",
                                  image=ecs.ContainerImage.from_registry("x"))},
     "workers.image", "either directory or image"),
    ({"workers": ContainerWorkers(min_tasks=-1)}, "workers.min_tasks", "0 or more"),
    ({"workers": ContainerWorkers(min_tasks=4, max_tasks=3)}, "workers.max_tasks",
     "at least min_tasks (4)"),
    ({"workers": ContainerWorkers(cpu=300)}, "workers.cpu", "must be one of 256, 512"),
    ({"workers": ContainerWorkers(cpu=256, memory_limit_mib=4096)}, "workers.memory_limit_mib",
     "512, 1024 or 2048"),
    ({"workers": ContainerWorkers(cpu=1024, memory_limit_mib=1024)},
     "workers.memory_limit_mib", "2048 to 8192 in steps of 1024"),
    ({"workers": ContainerWorkers(batch_size=11)}, "workers.batch_size", "1 to 10"),
    ({"workers": ContainerWorkers(processing_timeout=Duration.hours(13))},
     "workers.processing_timeout", "1 second to 12 hours"),
    ({"workers": ContainerWorkers(processing_timeout=Duration.minutes(10)),
      "visibility_timeout": Duration.minutes(5)}, "visibility_timeout",
     "the containers' processing_timeout"),
])
def test_each_invalid_prop_is_named(props, prop, hint):
    problems = _problems(**props)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:")
    assert hint in problems[0]


def test_an_existing_function_with_function_options_is_rejected():
    stack = new_stack()
    function = lambda_.Function(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
    )
    problems = _problems(stack, workers=LambdaWorkers(
        function=function, code=lambda_.Code.from_inline("x"), handler="index.h",
        timeout=Duration.seconds(5), memory_size=256, environment={"A": "1"}))
    assert [p.split(":")[0] for p in problems] == [
        "workers.code", "workers.handler", "workers.timeout", "workers.memory_size",
        "workers.environment"]
    assert all("drop function" in p for p in problems)


def test_an_imported_function_needs_an_explicit_visibility_timeout():
    stack = new_stack()
    imported = lambda_.Function.from_function_attributes(
        stack, "Imported", function_arn="arn:aws:lambda:us-east-1:123456789012:function:w",
        role=iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/w"))
    problems = _problems(stack, workers=LambdaWorkers(function=imported))
    assert len(problems) == 1 and problems[0].startswith("visibility_timeout: got None")
    assert "unknown at synth" in problems[0]
    pool = SqsWorkerPool(stack, "Ok", workers=LambdaWorkers(function=imported),
                         visibility_timeout=Duration.minutes(2))
    assert pool.visibility_timeout.to_seconds() == 120


def test_a_cloudfront_web_acl_is_rejected():
    stack = new_stack()
    acl = wafv2.CfnWebACL(stack, "Acl", scope="CLOUDFRONT", default_action={"allow": {}},
                          visibility_config={"cloudWatchMetricsEnabled": False,
                                             "metricName": "a", "sampledRequestsEnabled": False})
    [problem] = _problems(stack, api_options=JobApiOptions(web_acl=acl))
    assert problem.startswith("api_options.web_acl: got 'CLOUDFRONT'")


def test_workers_must_be_a_worker_compute():
    [problem] = _problems(workers="lambda")
    assert problem.startswith("workers: got 'lambda'; expected a WorkerCompute")


def test_tokens_are_not_judged():
    stack = new_stack()
    count = Token.as_number({"Ref": "MaxReceives"})
    pool = SqsWorkerPool(stack, "Pool", max_receive_count=count, enable_api=False)
    assert pool.max_receive_count == count


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(min_value=11, max_value=10_000),
       window=st.integers(min_value=0, max_value=300))
def test_fifo_queues_refuse_every_large_batch_and_any_window(batch, window):
    problems = _problems(fifo=True, enable_api=False, workers=LambdaWorkers(
        batch_size=batch, max_batching_window=Duration.seconds(window)))
    assert [p.split(":")[0] for p in problems] == [
        "workers.batch_size", "workers.max_batching_window"]
