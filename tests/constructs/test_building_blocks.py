"""The public building blocks: the foundation's builders, and the alarm topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import CfnParameter, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk.assertions import Match, Template

from analytics_orchestration import ConfigurationError
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs import _foundation
from tests.support import new_stack
from tests.support_wiring import unconditioned_service_grants, wirings


def test_building_blocks_are_the_foundation_builders():
    # Each is the foundation builder itself, behind the same prop validation as the
    # patterns (tests/validation/test_prop_fuzz.py).
    for name in blocks.__all__:
        if name not in ("alarm_topic", "python_function"):  # tested on their own below
            block = getattr(blocks, name)
            assert getattr(block, "__wrapped__", block) is getattr(_foundation, name), name


def test_alarm_topic_lets_this_accounts_cloudwatch_alarms_publish_and_use_its_key():
    stack = new_stack()
    key = blocks.secure_key(stack, "Key", description="k")
    topic = blocks.alarm_topic(stack, "Alarms", encryption_key=key)
    # An alarm of the stack on it can notify: the structural walk finds nothing missing.
    cloudwatch.Alarm(stack, "Alarm", threshold=1, evaluation_periods=1,
                     metric=cloudwatch.Metric(namespace="N", metric_name="M")
                     ).add_alarm_action(cw_actions.SnsAction(topic))
    template = Template.from_stack(stack)
    conditions = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":",
            {"Ref": "AWS::AccountId"}, ":alarm:*"]]}},
    }
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Condition": conditions,
        })])}})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([
            Match.object_like({"Effect": "Deny",
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            Match.object_like({"Effect": "Allow", "Action": "sns:Publish",
                               "Principal": {"Service": "cloudwatch.amazonaws.com"},
                               "Condition": conditions}),
        ])}})
    found = wirings(template.to_json())
    assert [w.kind for w in found] == ["alarm->topic"] and found[0].problems == []
    assert unconditioned_service_grants(template.to_json()) == []


# --------------------------------------------------------------------------- python_function
def _handler_folder(tmp_path: Path, source: str = "def handler(event, context):\n    return 1\n",
                    module: str = "app.py") -> Path:
    folder = tmp_path / "handlers" / "indexer"
    (folder / module).parent.mkdir(parents=True, exist_ok=True)
    (folder / module).write_text(source)
    (folder / "__pycache__").mkdir(exist_ok=True)
    (folder / "__pycache__" / "app.cpython-314.pyc").write_bytes(b"stale")
    return folder


def test_python_function_bundles_your_own_folder_with_the_library_defaults(tmp_path):
    folder = _handler_folder(tmp_path)
    stack = new_stack()
    built = blocks.python_function(stack, "Indexer", code_path=folder, handler="app.handler",
                                   description="Indexes extracts", environment={"TABLE": "t"})
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "app.handler", "Runtime": "python3.14", "Architectures": ["arm64"],
        "MemorySize": 256, "Timeout": 30, "TracingConfig": {"Mode": "Active"},
        "ReservedConcurrentExecutions": 10,
        "Environment": {"Variables": Match.object_like({"TABLE": "t",
                                                        "POWERTOOLS_SERVICE_NAME": "Indexer"})},
        "Layers": [Match.any_value()],  # Powertools' public layer
    })
    assert built.failure_queue is None  # synchronous callers by default
    # The asset is the user's folder, without what would change its hash.
    assembly = stack.node.scope.synth()  # type: ignore[union-attr]
    staged = [p for p in Path(assembly.directory).glob("asset.*") if (p / "app.py").exists()]
    assert len(staged) == 1
    assert not (staged[0] / "__pycache__").exists()


def test_python_function_invoked_asynchronously_fails_over_to_its_queue(tmp_path):
    stack = new_stack()
    built = blocks.python_function(stack, "Fn", code_path=str(_handler_folder(tmp_path)),
                                   handler="app.handler", description="d",
                                   invoked_asynchronously=True)
    assert built.failure_queue is not None
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "MaximumRetryAttempts": 2, "DestinationConfig": {"OnFailure": Match.any_value()}})


@pytest.mark.parametrize(("source", "module", "handler"), [
    ("@decorate\ndef handler(event, context): ...\n", "app.py", "app.handler"),
    ("handler = build()\n", "app.py", "app.handler"),
    ("async def main(event, context): ...\n", "pkg/mod.py", "pkg.mod.main"),
    ("from .impl import handler\n", "pkg/__init__.py", "pkg.handler"),
])
def test_python_function_finds_the_handler_however_the_module_binds_it(tmp_path, source,
                                                                       module, handler):
    folder = _handler_folder(tmp_path, source, module)
    blocks.python_function(new_stack(), "Fn", code_path=folder, handler=handler,
                           description="d")


def _problems(**props) -> tuple[str, ...]:
    with pytest.raises(ConfigurationError) as caught:
        blocks.python_function(new_stack(), "Fn", **{"description": "d", **props})
    return caught.value.problems


@pytest.mark.parametrize(("props", "prop", "fragment"), [
    ({"code_path": "no/such/folder", "handler": "app.handler"}, "code_path", "existing folder"),
    ({"handler": "missing.handler"}, "handler", "not a .py file"),
    ({"handler": "app.other"}, "handler", "defines no top-level 'other'"),
    ({"handler": "app"}, "handler", "'module.function'"),
    ({"handler": "app.handler", "memory_size": 64}, "memory_size", "128 to 10240"),
    ({"handler": "app.handler", "timeout": Duration.minutes(20)}, "timeout", "15 minutes"),
    ({"handler": "app.handler", "reserved_concurrency": -1}, "reserved_concurrency", "0 to"),
    ({"handler": "app.handler", "environment": {"AWS_REGION": "x"}}, "environment", "reserved"),
    ({"handler": "app.handler", "environment": {"1X": "x"}}, "environment", "a letter"),
    ({"handler": "app.handler", "concurrency_cap": "the queue"}, "concurrency_cap",
     "reserved_concurrency=None"),
    ({"handler": "app.handler", "reserved_concurrency": None}, "reserved_concurrency",
     "concurrency_cap"),
    ({"handler": "app.handler", "description": "x" * 300}, "description", "256"),
])
def test_python_function_names_each_bad_prop(tmp_path, props, prop, fragment):
    props = {"code_path": _handler_folder(tmp_path), **props}
    [problem] = _problems(**props)
    assert problem.startswith(f"{prop}: ") and fragment in problem, problem


def test_python_function_reports_a_module_that_does_not_parse(tmp_path):
    folder = _handler_folder(tmp_path, "def handler(:\n")
    [problem] = _problems(code_path=folder, handler="app.handler")
    assert problem.startswith("handler: ") and "cannot be parsed" in problem


def test_python_function_refuses_a_token_handler_and_accepts_number_tokens(tmp_path):
    folder = _handler_folder(tmp_path)
    stack = new_stack()
    handler = CfnParameter(stack, "Handler").value_as_string
    with pytest.raises(ConfigurationError, match=r"handler: .*literal"):
        blocks.python_function(stack, "Fn", code_path=folder, handler=handler, description="d")
    memory = CfnParameter(stack, "Memory", type="Number").value_as_number
    blocks.python_function(stack, "Fn2", code_path=folder, handler="app.handler",
                           description="d", memory_size=memory,
                           timeout=Duration.seconds(memory))


def test_python_function_with_a_cap_of_its_own_reserves_nothing(tmp_path):
    stack = new_stack()
    blocks.python_function(stack, "Fn", code_path=_handler_folder(tmp_path),
                           handler="app.handler", description="d", reserved_concurrency=None,
                           concurrency_cap="its event source's maximum concurrency (5)")
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {
        "ReservedConcurrentExecutions": Match.absent()})
