"""Invalid EventRouter / NotificationFanOut / QueueToStateMachinePipe props: one
ConfigurationError naming every bad prop, before anything is built."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_orchestration import (
    ETL_RUN_FAILED,
    ConfigurationError,
    EventRouter,
    NotificationFanOut,
    QueueToStateMachinePipe,
    RouteTarget,
    RoutingRule,
    TargetRetryPolicy,
    TopicSubscription,
    WorkflowSubscription,
)
from tests.support import new_stack


def _problems(construct: type, **props) -> tuple[str, ...]:
    stack = new_stack()
    resolved = {name: value(stack) if callable(value) else value for name, value in props.items()}
    with pytest.raises(ConfigurationError) as raised:
        construct(stack, "Subject", **resolved)
    assert f"{construct.__name__} TestStack/Subject" in str(raised.value)
    child = stack.node.try_find_child("Subject")
    assert child is None or child.node.children == []  # nothing built
    return raised.value.problems


def _queue(stack, fifo: bool = False) -> sqs.Queue:
    return sqs.Queue(stack, f"Q{len(stack.node.children)}", fifo=fifo or None)


def _machine(stack) -> sfn.StateMachine:
    return sfn.StateMachine(stack, "M", definition_body=sfn.DefinitionBody.from_chainable(
        sfn.Pass(stack, "P")))


def _rule(name: str = "R", pattern: events.EventPattern | None = None, targets=None):
    return lambda stack: [RoutingRule(
        name, pattern or events.EventPattern(source=["shop"]),
        targets=targets(stack) if targets else [RouteTarget.queue(_queue(stack))])]


def test_router_reports_every_problem_at_once():
    problems = _problems(
        EventRouter, event_bus_name="aws.mine", archive_retention=Duration.hours(36),
        put_events_accounts=["12345"], put_events_organization_id="org-1",
        target_retry=TargetRetryPolicy(retry_attempts=500),
        rules=_rule("bad name", events.EventPattern()),
    )
    assert [p.split(":")[0] for p in problems] == [
        "event_bus_name", "archive_retention", "put_events_accounts",
        "put_events_organization_id", "target_retry.retry_attempts", "rules[0].name",
        "rules[0].event_pattern"]


@pytest.mark.parametrize(("props", "prop", "hint"), [
    ({"event_bus_name": "default"}, "event_bus_name", "not 'default'"),
    ({"event_bus_name": "has space"}, "event_bus_name", "letters, digits"),
    ({"enable_archive": False, "archive_retention": Duration.days(3)}, "archive_retention",
     "enable_archive=True"),
    ({"archive_retention": Duration.hours(12)}, "archive_retention", "at least 1"),
    ({"put_events_accounts": ["abc"]}, "put_events_accounts", "12-digit"),
    ({"put_events_organization_id": "o-SHOUT"}, "put_events_organization_id", "o-abc123"),
    ({"target_retry": TargetRetryPolicy(max_event_age=Duration.seconds(10))},
     "target_retry.max_event_age", "1 minute to 24 hours"),
    ({"forward_from_default_bus": [events.EventPattern()]}, "forward_from_default_bus[0]",
     "empty pattern"),
    ({"rules": _rule(targets=lambda stack: [])}, "rules[0].targets", "1 to 5"),
    ({"rules": _rule(targets=lambda stack: [RouteTarget.queue(_queue(stack))] * 6)},
     "rules[0].targets", "1 to 5"),
    ({"rules": _rule(targets=lambda stack: [RouteTarget.queue(_queue(stack, fifo=True))])},
     "rules[0].targets[0]", "message_group_id"),
    ({"rules": _rule(targets=lambda stack: [RouteTarget.queue(_queue(stack),
                                                              message_group_id="g")])},
     "rules[0].targets[0]", "only applies to FIFO"),
    ({"rules": _rule("Forward1")}, "rules[0].name", "not 'Forward"),
    ({"rules": lambda stack: _rule("A")(stack) + _rule("A")(stack)}, "rules[1].name",
     "unique"),
    ({"rules": _rule(pattern=events.EventPattern(source=["analytics-orchestration.etll"]))},
     "rules[0].event_pattern", "not a source of the event catalog"),
    ({"rules": _rule(pattern=events.EventPattern(source=[ETL_RUN_FAILED.source],
                                                 detail_type=["EtlRunFailure"]))},
     "rules[0].event_pattern", "'EtlRunFailure' is not emitted"),
])
def test_each_invalid_router_prop_is_named(props, prop, hint):
    problems = _problems(EventRouter, **props)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:"), problems
    assert hint in problems[0]


def test_tokens_are_not_judged():
    stack = new_stack()
    EventRouter(stack, "Router", event_bus_name=Token.as_string({"Ref": "BusName"}),
                put_events_accounts=[Token.as_string({"Ref": "Partner"})])


def test_forward_from_default_bus_after_construction_is_checked():
    stack = new_stack()
    router = EventRouter(stack, "Router", enable_archive=False)
    with pytest.raises(ConfigurationError, match=r"event_pattern.*empty pattern"):
        router.forward_from_default_bus(events.EventPattern())


def test_fan_out_reports_every_problem_at_once():
    body = {"k": sns.FilterOrPolicy.filter(sns.SubscriptionFilter.string_filter(allowlist=["x"]))}
    attrs = {"k": sns.SubscriptionFilter.string_filter(allowlist=["x"])}
    problems = _problems(
        NotificationFanOut,
        content_based_deduplication=True, fifo_archive_retention_days=10,
        display_name="x" * 101, publishing_services=["events"],
        archive_prefix="no-slash",
        subscriptions=lambda stack: [
            TopicSubscription.queue(_queue(stack), filter_policy=attrs,
                                    filter_policy_with_message_body=body),
            TopicSubscription.email("not-an-address")],
        workflows=lambda stack: [WorkflowSubscription(_machine(stack), batch_size=11)],
    )
    assert [p.split(":")[0] for p in problems] == [
        "content_based_deduplication", "fifo_archive_retention_days", "archive_prefix",
        "display_name", "publishing_services", "subscriptions[0]", "subscriptions[1]",
        "workflows[0].batch_size"]


def test_fan_out_refuses_eventbridge_as_a_publishing_service():
    problems = _problems(NotificationFanOut, publishing_services=["events.amazonaws.com"])
    assert len(problems) == 1
    assert problems[0].startswith("publishing_services") and "RouteTarget.topic" in problems[0]


@pytest.mark.parametrize(("props", "prop", "hint"), [
    ({"fifo": True, "archive_bucket": lambda stack: s3.Bucket(stack, "B")}, "archive_bucket",
     "SNS itself"),
    ({"fifo": True, "archive_prefix": "a/"}, "archive_prefix", "SNS itself"),
    ({"fifo": True, "fifo_archive_retention_days": 400}, "fifo_archive_retention_days",
     "1 to 365"),
    ({"enable_archive": False, "archive_prefix": "a/"}, "archive_prefix",
     "enable_archive=True"),
    ({"fifo": True, "subscriptions": lambda stack: [TopicSubscription.email("a@b.io")]},
     "subscriptions[0]", "only to SQS queues"),
])
def test_each_invalid_fan_out_prop_is_named(props, prop, hint):
    problems = _problems(NotificationFanOut, **props)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:"), problems
    assert hint in problems[0]


def test_pipe_reports_every_problem_at_once():
    problems = _problems(
        QueueToStateMachinePipe, queue=lambda stack: _queue(stack, fifo=True),
        state_machine=_machine, batch_size=0, maximum_batching_window=Duration.minutes(6),
        filter_patterns=[{"bodyy": {"x": [1]}}, {}, {"body": {}}, {"body": {}}, {"body": {}},
                         {"body": {}}],
    )
    assert [p.split(":")[0] for p in problems] == [
        "batch_size", "maximum_batching_window", "maximum_batching_window", "filter_patterns",
        "filter_patterns[0]", "filter_patterns[1]"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.one_of(st.integers(max_value=0), st.integers(min_value=11, max_value=10**6)))
def test_any_out_of_range_batch_size_is_reported(batch):
    problems = _problems(QueueToStateMachinePipe, queue=_queue, state_machine=_machine,
                         batch_size=batch)
    assert problems == (f"batch_size: got {batch}; must be 1 to 10",)
