"""Every step type and integration the library offers is shown by an example stack.

A factory nobody composes in an example stack is a factory no behavioural test runs and no
snapshot, cdk-nag or cfn-lint check sees in a real template (the EMR Serverless ``.sync``
step was in none). Two structural checks:

- every public factory classmethod of the public API (``EtlStep.*``, ``EtlTrigger.*``,
  ``RouteTarget.*``, ...) is called in ``stacks/`` (found with ``ast``), and every example
  stack that calls one is deployed by a behavioural test (``tests/behaviour``);
- every ``StepKind`` that is a service integration appears in a synthesized template as the
  Task resource AWS runs.

``KNOWN_GAPS`` lists the factories not covered yet, each on purpose (none today): the test
fails when one is closed (remove it here) and when a new factory arrives without an example.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import re
from typing import Any

import analytics_orchestration
from analytics_orchestration.constructs.etl.steps import StepKind
from tests.support import REPOSITORY_ROOT

#: Not in an example stack yet, each on purpose with its reason (issue 10 section 5 closed
#: the last nine: every factory is composed now). A new entry needs a scenario soon.
KNOWN_GAPS: set[str] = set()
#: Example stacks the offline harness cannot deploy, each with its reason; their factories
#: must also be run by another stack's behavioural test (checked below).
NOT_DEPLOYABLE_OFFLINE = {
    "stacks/airflow_stack.py": "AWS::MWAA::Environment is not emulated by the harness",
}
#: The Task resource each integration kind synthesizes to (``arn:<partition>:states:::...``).
#: The library's Lambda steps return the function's payload only, for which Step Functions
#: takes the function's own ARN as the Resource (:func:`_invokes_a_function_directly`).
STEP_RESOURCES = {
    StepKind.LAMBDA: "lambda:invoke",
    StepKind.GLUE_JOB: "glue:startJobRun.sync",
    StepKind.GLUE_CRAWLER: "aws-sdk:glue:startCrawler",
    StepKind.EMR_SERVERLESS_JOB: "emr-serverless:startJobRun.sync",
    StepKind.BATCH_JOB: "batch:submitJob.sync",
    StepKind.ATHENA_QUERY: "athena:startQueryExecution.sync",
    StepKind.REDSHIFT_SQL: "aws-sdk:redshiftdata:batchExecuteStatement",
}
#: Kinds that are your own states, not an integration of the library.
NOT_INTEGRATIONS = {StepKind.CHAINABLE}
#: Step kinds no example stack shows yet.
KNOWN_KIND_GAPS: set[StepKind] = set()


def _public_factories() -> set[str]:
    factories = set()
    for name in analytics_orchestration.__all__:
        obj = getattr(analytics_orchestration, name)
        if inspect.isclass(obj):
            factories |= {f"{name}.{attr}" for attr, value in vars(obj).items()
                          if isinstance(value, classmethod) and not attr.startswith("_")}
    return factories


def _factory_calls_per_stack_module() -> dict[str, set[str]]:
    calls: dict[str, set[str]] = {}
    for path in sorted((REPOSITORY_ROOT / "stacks").rglob("*.py")):
        module = str(path.relative_to(REPOSITORY_ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)):
                calls.setdefault(module, set()).add(f"{node.func.value.id}.{node.func.attr}")
    return calls


def _stack_ids_per_module() -> dict[str, str]:
    """Example stack module -> the stack id app.py gives it (``AnalyticsGlueEtl``)."""
    app = (REPOSITORY_ROOT / "app.py").read_text()
    imports = dict(re.findall(r"^from (stacks\.\w+) import (\w+)$", app, re.MULTILINE))
    ids = {}
    for module, cls in imports.items():
        match = re.search(rf"\b{cls}\(\s*app,\s*\"(\w+)\"", app)
        assert match, f"app.py does not instantiate {cls}"
        ids[module.replace(".", "/") + ".py"] = match.group(1)
    return ids


def test_every_public_factory_is_composed_in_an_example_stack():
    factories = _public_factories()
    assert {"EtlStep.emr_serverless_job", "RouteTarget.queue"} <= factories  # the walk works
    used = set().union(*_factory_calls_per_stack_module().values())
    uncovered = factories - used
    assert uncovered - KNOWN_GAPS == set(), "new factories without an example stack"
    assert KNOWN_GAPS - uncovered == set(), "covered now: remove from KNOWN_GAPS"


def test_every_stack_composing_a_factory_is_run_by_a_behavioural_test():
    factories = _public_factories()
    behaviour = "\n".join(p.read_text() for p in (REPOSITORY_ROOT / "tests" / "behaviour").glob(
        "test_*.py"))
    ids = _stack_ids_per_module()
    composing = {module for module, calls in _factory_calls_per_stack_module().items()
                 if calls & factories}
    assert composing  # the example stacks compose factories
    not_run = {module: ids.get(module) for module in composing
               if ids.get(module) is None or f'"{ids[module]}' not in behaviour}
    assert not_run.keys() - NOT_DEPLOYABLE_OFFLINE.keys() == set()
    calls = _factory_calls_per_stack_module()
    deployed = set().union(*(calls[module] for module in composing - not_run.keys()))
    for module in NOT_DEPLOYABLE_OFFLINE:
        assert module in not_run, f"{module} is deployed now: remove it from the exemptions"
        assert calls[module] & factories <= deployed, (
            f"{module}: factories no deployed stack runs")


def _invokes_a_function_directly(template: dict[str, Any]) -> bool:
    """A state machine of ``template`` has a Task whose Resource is a function of the stack.

    That is how ``LambdaInvoke(payload_response_only=True)`` synthesizes: the definition's
    ``Fn::Join`` has ``..."Type":"Task",..."Resource":"`` then ``Fn::GetAtt [function, Arn]``.
    """
    resources = template.get("Resources", {})
    for resource in resources.values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        definition = resource["Properties"].get("DefinitionString", {})
        parts = definition.get("Fn::Join", ["", []])[1] if isinstance(definition, dict) else []
        for text, following in itertools.pairwise(parts):
            if not (isinstance(text, str) and text.endswith('"Resource":"')
                    and isinstance(following, dict) and "Fn::GetAtt" in following):
                continue
            target = resources.get(following["Fn::GetAtt"][0], {})
            # CDK writes a state's Type before its Resource: the last Type is this state's.
            state_type = text.rsplit('"Type":"', 1)[-1] if '"Type":"' in text else ""
            if target.get("Type") == "AWS::Lambda::Function" and state_type.startswith('Task"'):
                return True
    return False


def test_every_step_integration_appears_in_a_synthesized_template(cloud_assembly):
    templates = [stack.template for stack in cloud_assembly.stacks]
    definitions = json.dumps(templates)
    assert set(StepKind) == set(STEP_RESOURCES) | NOT_INTEGRATIONS
    missing = {kind for kind, resource in STEP_RESOURCES.items()
               if f":states:::{resource}" not in definitions}
    if any(_invokes_a_function_directly(template) for template in templates):
        missing.discard(StepKind.LAMBDA)
    assert missing == KNOWN_KIND_GAPS
