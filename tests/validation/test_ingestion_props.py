"""Invalid EventDrivenIngestion props: one ConfigurationError naming every bad prop."""

from __future__ import annotations

import pytest
from aws_cdk import CfnParameter, Duration, Token
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_orchestration import (
    ConfigurationError,
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    ObjectValidationRules,
    ReconciliationSweep,
    TargetRetryPolicy,
)
from tests.support import new_stack


def _problems(**props) -> tuple[str, ...]:
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        EventDrivenIngestion(stack, "Ingestion", **props)
    assert "EventDrivenIngestion TestStack/Ingestion" in str(raised.value)
    # Nothing was built before the error: the construct has no children.
    child = stack.node.try_find_child("Ingestion")
    assert child is None or child.node.children == []
    return raised.value.problems


def test_error_is_a_value_error_listing_every_problem():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Mine")
    with pytest.raises(ValueError) as raised:
        EventDrivenIngestion(
            stack, "Ingestion", bucket=bucket,
            noncurrent_version_expiration=Duration.days(3),
            server_access_logs_bucket=s3.Bucket(stack, "Logs"),
            key_prefixes=[], minimum_object_size=-1,
        )
    message = str(raised.value)
    assert "4 invalid prop(s)" in message
    for prop in ("noncurrent_version_expiration", "server_access_logs_bucket", "key_prefixes",
                 "minimum_object_size"):
        assert f"  - {prop}:" in message


@pytest.mark.parametrize(("props", "prop", "hint"), [
    ({"key_prefixes": []}, "key_prefixes", "at least one value"),
    ({"key_suffixes": [".csv", ""]}, "key_suffixes", "must not be empty"),
    ({"minimum_object_size": -5}, "minimum_object_size", "0 or more"),
    ({"validation_rules": ObjectValidationRules(max_object_size_bytes=0)},
     "validation_rules.max_object_size_bytes", "positive"),
    ({"validation_rules": ObjectValidationRules(allowed_suffixes=[])},
     "validation_rules.allowed_suffixes", "at least one suffix"),
    ({"validation_rules": ObjectValidationRules(allowed_suffixes=[""])},
     "validation_rules.allowed_suffixes", "empty strings"),
    ({"validation_rules": ObjectValidationRules(quarantine_prefix="bad")},
     "validation_rules.quarantine_prefix", "ending in '/'"),
    ({"validation_rules": ObjectValidationRules(quarantine_prefix="")},
     "validation_rules.quarantine_prefix", "non-empty"),
    ({"key_prefixes": ["in/"], "validation_rules": ObjectValidationRules(
        quarantine_prefix="in/quarantine/")},
     "validation_rules.quarantine_prefix", "ingested again"),
    ({"enable_validation": False}, "targets", "at least one target"),
    ({"target_retry": TargetRetryPolicy(max_event_age=Duration.seconds(30))},
     "target_retry.max_event_age", "1 minute to 24 hours"),
    ({"target_retry": TargetRetryPolicy(retry_attempts=186)},
     "target_retry.retry_attempts", "0 to 185"),
])
def test_each_invalid_prop_is_named(props, prop, hint):
    problems = _problems(**props)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:")
    assert hint in problems[0]


def test_fan_out_without_validation_is_rejected():
    stack = new_stack()
    queue = sqs.Queue(stack, "Q")
    with pytest.raises(ConfigurationError) as raised:
        EventDrivenIngestion(stack, "Ingestion", enable_validation=False,
                             targets=[IngestionTarget.queue(queue)],
                             fan_out_subscribers=[FanOutSubscriber(queue)])
    assert [p.split(":")[0] for p in raised.value.problems] == ["fan_out_subscribers"]


def test_rules_without_validation_are_rejected():
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        EventDrivenIngestion(stack, "Ingestion", enable_validation=False,
                             validation_rules=ObjectValidationRules(),
                             targets=[IngestionTarget.queue(sqs.Queue(stack, "Q"))])
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("validation_rules:")
    assert "enable_validation" in raised.value.problems[0]


def test_fifo_target_without_message_group_is_rejected():
    stack = new_stack()
    fifo = sqs.Queue(stack, "Q", fifo=True)
    with pytest.raises(ConfigurationError, match=r"targets\[0\].*message_group_id"):
        EventDrivenIngestion(stack, "Ingestion", targets=[IngestionTarget.queue(fifo)])


def test_tokens_are_not_judged():
    stack = new_stack()
    size = Token.as_number({"Ref": "MinimumSize"})
    ingestion = EventDrivenIngestion(stack, "Ingestion", minimum_object_size=size)
    assert ingestion.minimum_object_size == size


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(max_value=-1), attempts=st.integers(min_value=186, max_value=10**6))
def test_any_negative_size_and_excess_retries_are_both_reported(size, attempts):
    problems = _problems(
        minimum_object_size=size, target_retry=TargetRetryPolicy(retry_attempts=attempts)
    )
    assert [p.split(":")[0] for p in problems] == [
        "minimum_object_size", "target_retry.retry_attempts"]
    assert str(size) in problems[0] and str(attempts) in problems[1]


@pytest.mark.parametrize(("sweep", "prop", "hint"), [
    (ReconciliationSweep(overlap=Duration.days(8)), "reconciliation.overlap", "7 days"),
    (ReconciliationSweep(minimum_age=Duration.days(2)), "reconciliation.minimum_age", "1 day"),
    (ReconciliationSweep(max_objects_per_run=0), "reconciliation.max_objects_per_run",
     "1 to 1,000,000"),
    (ReconciliationSweep(max_objects_per_run=2_000_000), "reconciliation.max_objects_per_run",
     "1 to 1,000,000"),
    ("hourly", "reconciliation", "ReconciliationSweep"),
])
def test_each_invalid_reconciliation_prop_is_named(sweep, prop, hint):
    problems = _problems(reconciliation=sweep)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:")
    assert hint in problems[0]


@pytest.mark.parametrize(("settings", "prop", "hint"), [
    ({"max_objects_per_run": True}, "max_objects_per_run", "int"),
    ({"max_objects_per_run": 1.5}, "max_objects_per_run", "int"),
    ({"overlap": 3600}, "overlap", "Duration"),
    ({"schedule": "rate(1 hour)"}, "schedule", "ScheduleExpression"),
])
def test_a_sweep_of_the_wrong_types_is_refused_when_it_is_made(settings, prop, hint):
    """Types are checked against the annotations when the sweep is made (validated_props)."""
    with pytest.raises(ConfigurationError) as raised:
        ReconciliationSweep(**settings)
    [problem] = raised.value.problems
    assert problem.startswith(f"{prop}:") and hint in problem, problem


def test_reconciliation_without_validation_is_rejected():
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        EventDrivenIngestion(stack, "Ingestion", enable_validation=False,
                             targets=[IngestionTarget.queue(sqs.Queue(stack, "Q"))],
                             reconciliation=ReconciliationSweep())
    assert [p.split(":")[0] for p in raised.value.problems] == ["reconciliation"]
    assert "enable_validation" in raised.value.problems[0]


def test_reconciliation_tokens_are_accepted():
    stack = new_stack()
    seconds = CfnParameter(stack, "Overlap", type="Number").value_as_number
    budget = CfnParameter(stack, "Budget", type="Number").value_as_number
    ingestion = EventDrivenIngestion(stack, "Ingestion", reconciliation=ReconciliationSweep(
        overlap=Duration.seconds(seconds), max_objects_per_run=budget))
    env = Template.from_stack(stack).to_json()["Resources"][
        stack.resolve(stack.get_logical_id(ingestion.reconciler.function.node.default_child))
    ]["Properties"]["Environment"]["Variables"]
    assert env["OVERLAP_SECONDS"] == {"Ref": "Overlap"}
    assert env["MAX_OBJECTS_PER_RUN"] == {"Ref": "Budget"}


def test_a_token_duration_in_other_units_is_a_clear_error():
    stack = new_stack()
    minutes = CfnParameter(stack, "Minutes", type="Number").value_as_number
    problems = _problems(reconciliation=ReconciliationSweep(minimum_age=Duration.minutes(minutes)))
    assert len(problems) == 1 and problems[0].startswith("reconciliation.minimum_age:")
    assert "Duration.seconds(parameter)" in problems[0]
