"""Every invalid prop is one clear error; every token is accepted (issue 10, section 4).

Three layers:

- coverage: every public construct, options dataclass, factory and building block opts
  into the annotation-driven validation, and the fuzz has a subject for each of them;
- a property-based test (Hypothesis) per subject: bad inputs generated from each prop's
  annotation (wrong types, a str where a sequence is expected, negatives, zero, huge
  and empty values) must raise a ConfigurationError naming the prop, and tokens
  (``Token.as_number(CfnParameter)``, ``value_as_number``, ``Duration.seconds(token)``,
  ``value_as_string``) must build and synthesize; no other exception may escape;
- the concrete cases of the issue, by hand.

``python -m tests.validation.prop_fuzz -v`` runs every generated case once and counts.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analytics_orchestration as ao
from analytics_orchestration import ConfigurationError
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs._foundation.validation import (
    conforms,
    implements_interface,
    is_validated,
)
from tests.support import new_stack
from tests.validation.prop_fuzz import cases, names_prop, run_case
from tests.validation.prop_subjects import NOT_CALLABLE_WITH_PROPS, SUBJECTS, Subject

#: Public names that are neither props-taking callables nor validated, and why.
NOT_VALIDATED = {
    # An event-catalog entry, imported by the package root before aws_cdk is (importing
    # the package stays cheap); its instances are the library's constants.
    "LibraryEvent",
    # Returned by queue_with_dead_letter_queue and python_function; nobody builds one.
    "QueueWithDeadLetterQueue",
    "PythonFunction",
}
#: Abstract bases users subclass or get from factories: their factories are subjects.
ABSTRACT_BASES = {"WorkerCompute", "EtlStep", "EtlTrigger", "IngestionTarget", "ItemProcessor",
                  "RouteTarget", "TopicSubscription", "PipeEnrichment", "StepContext",
                  "StreamSource", "ConsumerHandler", "LakePartition"}


def _public() -> dict[str, Any]:
    found = {name: getattr(ao, name) for name in ao.__all__}
    found.update({name: getattr(blocks, name) for name in blocks.__all__})
    return {name: value for name, value in found.items()
            if name not in NOT_CALLABLE_WITH_PROPS and callable(value)}


def test_every_public_callable_opts_into_validation():
    unvalidated = sorted(name for name, value in _public().items()
                         if name not in NOT_VALIDATED | {"WorkerCompute"}
                         and not is_validated(value))
    assert unvalidated == []


def test_every_public_callable_and_factory_is_a_fuzz_subject():
    subjects = {subject.name for subject in SUBJECTS}
    expected: set[str] = set()
    for name, value in _public().items():
        if name in NOT_VALIDATED:
            continue
        if inspect.isclass(value):
            factories = [member for member, attr in vars(value).items()
                         if isinstance(attr, classmethod) and not member.startswith("_")
                         and inspect.signature(getattr(value, member)).parameters]
            expected.update(f"{name}.{factory}" for factory in factories)
            if name not in ABSTRACT_BASES:
                expected.add(name)
        else:
            expected.add(name)
    assert sorted(expected - subjects) == []
    # Each subject really has cases, and bad ones of several kinds.
    for subject in SUBJECTS:
        assert cases(subject), subject.name


@pytest.mark.parametrize("subject", SUBJECTS, ids=lambda subject: subject.name)
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_bad_props_are_one_clear_error_and_tokens_build(subject: Subject, data: Any) -> None:
    case = data.draw(st.sampled_from(cases(subject)), label="case")
    drawn = data.draw(case.strategy, label=f"{case.label} value")
    verdict, detail = run_case(case, drawn)
    assert verdict in ("clear", "token_ok", "valid_ok", "literal_refused"), (
        f"{case.label}: {verdict}: {detail}")


# --------------------------------------------------------------------------- the issue


def _error(build: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as raised:
        build()
    return raised.value


def _number_token(stack: Stack) -> float:
    return Token.as_number(CfnParameter(stack, f"N{len(stack.node.children)}", type="Number"))


def test_key_prefixes_as_one_string_is_not_split_into_characters():
    stack = new_stack()
    error = _error(lambda: ao.EventDrivenIngestion(
        stack, "Ingestion", key_prefixes="incoming/",
        targets=[ao.IngestionTarget.queue(sqs.Queue(stack, "Q"))]))
    assert names_prop(error, "key_prefixes")
    assert "a single str is not a sequence" in str(error)
    assert stack.node.try_find_child("Ingestion") is None  # nothing was built


def test_secure_topic_publishers_as_one_string_is_refused_not_twelve_principals():
    stack = new_stack()
    key = blocks.secure_key(stack, "Key", description="topic key")
    error = _error(lambda: blocks.secure_topic(
        stack, "Topic", master_key=key, publishers="events.amazonaws.com"))  # type: ignore[arg-type]
    assert names_prop(error, "publishers")
    bad = _error(lambda: blocks.secure_topic(stack, "Topic", master_key=key,
                                             publishers=("e", "v")))
    assert "service principal" in str(bad)


def test_target_retry_policy_accepts_number_and_duration_tokens_through_synth():
    stack = new_stack({"aws:cdk:disable-asset-staging": True})
    retry = ao.TargetRetryPolicy(
        retry_attempts=Token.as_number(CfnParameter(stack, "Attempts", type="Number")),
        max_event_age=Duration.seconds(CfnParameter(stack, "Age", type="Number")
                                       .value_as_number))
    ao.EventDrivenIngestion(stack, "Ingestion", target_retry=retry,
                            targets=[ao.IngestionTarget.queue(sqs.Queue(stack, "Q"))])
    policies = [target["RetryPolicy"] for rule in Template.from_stack(stack).find_resources(
        "AWS::Events::Rule").values() for target in rule["Properties"].get("Targets", [])]
    assert policies
    assert all(policy == {"MaximumRetryAttempts": {"Ref": "Attempts"},
                          "MaximumEventAgeInSeconds": {"Ref": "Age"}} for policy in policies)


def test_quarantine_prefix_token_is_one_clear_error_not_a_synth_crash():
    stack = new_stack()
    prefix = CfnParameter(stack, "Prefix").value_as_string
    error = _error(lambda: ao.ObjectValidationRules(quarantine_prefix=prefix))
    assert names_prop(error, "quarantine_prefix")
    assert "literal" in str(error)


def test_an_extension_point_returning_an_invalid_value_is_named():
    class WrongType(ao.EventDrivenIngestion):
        def _validation_rules(self) -> ao.ObjectValidationRules:
            return {"quarantine_prefix": "q/"}  # type: ignore[return-value]

    class BadPrefix(ao.EventDrivenIngestion):
        def _validation_rules(self) -> ao.ObjectValidationRules:
            return ao.ObjectValidationRules(quarantine_prefix="no-slash")

    for subclass, hint in ((WrongType, "expected an ObjectValidationRules"),
                           (BadPrefix, "must end in '/'")):
        stack = new_stack()
        error = _error(lambda: subclass(stack, "Ingestion", targets=[  # noqa: B023
            ao.IngestionTarget.queue(sqs.Queue(stack, "Q"))]))  # noqa: B023
        assert names_prop(error, "_validation_rules"), error
        assert hint in str(error)


def test_fan_out_workflow_filter_is_named_on_the_fan_out_before_anything_is_built():
    stack = new_stack()
    machine = sfn.StateMachine.from_state_machine_arn(
        stack, "M", "arn:aws:states:us-east-1:111111111111:stateMachine:m")
    error = _error(lambda: ao.NotificationFanOut(stack, "FanOut", workflows=[
        ao.WorkflowSubscription(state_machine=machine,
                                pipe_filter_patterns=[{"no_such_key": ["x"]}])]))
    assert error.construct_name == "NotificationFanOut TestStack/FanOut"
    assert names_prop(error, "pipe_filter_patterns")
    assert stack.node.find_child("FanOut").node.children == []


@pytest.mark.parametrize(("build", "prop"), [
    (lambda s: blocks.queue_with_dead_letter_queue(
        s, "Q", visibility_timeout=Duration.hours(13)), "visibility_timeout"),
    (lambda s: blocks.queue_with_dead_letter_queue(
        s, "Q", visibility_timeout=Duration.minutes(1), max_receive_count=0),
     "max_receive_count"),
    (lambda s: blocks.queue_with_dead_letter_queue(
        s, "Q", visibility_timeout=Duration.minutes(1), content_based_deduplication=True),
     "content_based_deduplication"),
    (lambda s: blocks.private_vpc(s, "Vpc", cidr="10.0.0.0"), "cidr"),
    (lambda s: blocks.private_vpc(s, "Vpc", max_azs=0), "max_azs"),
    (lambda s: blocks.log_group(s, "Logs", retention=365), "retention"),
    (lambda s: blocks.secure_key(s, "Key", description=""), "description"),
    (lambda s: blocks.alarm_topic(s, "Alarms", encryption_key="alias/aws/sns"),
     "encryption_key"),
    (lambda s: blocks.secure_bucket(s, "B", server_access_logs_bucket=blocks.access_log_bucket(
        s, "Logs"), server_access_logs_prefix="logs/",
        noncurrent_version_expiration=Duration.hours(5)), "noncurrent_version_expiration"),
    (lambda s: blocks.observable_state_machine(s, "M", definition_body="{}"),
     "definition_body"),
    (lambda s: blocks.access_log_bucket(s, ""), "construct_id"),
])
def test_building_blocks_validate_their_props_like_the_patterns(build, prop):
    stack = new_stack()
    error = _error(lambda: build(stack))
    assert names_prop(error, prop), error


def test_a_building_block_takes_tokens():
    stack = new_stack({"aws:cdk:disable-asset-staging": True})
    seconds = CfnParameter(stack, "Visibility", type="Number").value_as_number
    pair = blocks.queue_with_dead_letter_queue(
        stack, "Work", visibility_timeout=Duration.seconds(seconds),
        max_receive_count=_number_token(stack))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SQS::Queue", {
        "VisibilityTimeout": {"Ref": "Visibility"}})
    assert pair.queue.node.id == "Work"


def test_jsii_interfaces_are_checked_on_classes_proxies_and_multi_interface_proxies():
    stack = new_stack()
    key = kms.Key(stack, "K")
    imported = kms.Key.from_key_arn(stack, "I", "arn:aws:kms:us-east-1:111111111111:key/k")
    bus = events.EventBus.from_event_bus_name(stack, "B", "bus")
    assert implements_interface(key, kms.IKey)
    assert implements_interface(imported, kms.IKey)
    assert implements_interface(bus, events.IEventBus)
    assert not implements_interface(bus, kms.IKey)
    assert not conforms("arn:aws:kms:us-east-1:111111111111:key/k", kms.IKey)
    assert not conforms("abc", tuple[str, ...])
    assert conforms(["abc"], tuple[str, ...])
    assert not conforms(True, int)
    assert conforms(Token.as_number({"Ref": "P"}), int)
