"""The library runs cfn-guard itself (issue #16): its findings must be the plugin's.

ControlTowerRules runs guard in parallel, on parts of each template, and reads guard's
output with a port of the plugin's result handling. The oracle is ``cdk-validator-cfnguard``
itself, run through jsii on the whole template with the same rules: the library must give
the same success flag and the same violations, field for field and in the same order, or
fail where the plugin fails.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import jsii
import pytest
from aws_cdk import IPolicyValidationContextBeta1
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from analytics_orchestration import _cfn_guard as guard
from analytics_orchestration.compliance import (
    ControlTowerRules,
    control_tower_rule_types,
    inapplicable_rules,
)
from tests.support import AppRun


@jsii.implements(IPolicyValidationContextBeta1)
class _Templates:
    def __init__(self, paths: list[str]) -> None:
        self._paths = paths

    @property
    def template_paths(self) -> list[str]:
        return self._paths

    @property
    def app_construct(self) -> Any:
        return None  # the plugin reads only the template paths


def _skipped(template: Path) -> list[str]:
    resources = json.loads(template.read_text()).get("Resources", {})
    return inapplicable_rules({str(resource.get("Type")) for resource in resources.values()})


def _report_fields(report: Any) -> tuple[Any, ...]:
    """A policy-validation report as the fields CDK reads from it."""
    return (report.success, [
        {"description": v.description, "fix": v.fix, "ruleMetadata": dict(v.rule_metadata or {}),
         "ruleName": v.rule_name,
         "violatingResources": [
             {"locations": list(r.locations), "resourceLogicalId": r.resource_logical_id,
              "templatePath": r.template_path} for r in v.violating_resources]}
        for v in report.violations
    ])


def _plugin_outcome(template: Path) -> tuple[Any, ...]:
    """The plugin's own report on ``template``, with ControlTowerRules' choice of rules."""
    plugin = CfnGuardValidator(control_tower_rules_enabled=True, disabled_rules=_skipped(template))
    try:
        return _report_fields(plugin.validate(_Templates([str(template)])))
    except RuntimeError as error:
        return ("fails", str(error))


def _port_outcome(template: Path) -> tuple[Any, ...]:
    """ControlTowerRules' own report on ``template`` (its rules, split as it splits them)."""
    try:
        return _report_fields(ControlTowerRules().validate(_Templates([str(template)])))
    except guard.GuardFailed as error:
        return ("fails", str(error))


def _without_some_properties(template: dict[str, Any], seed: int) -> dict[str, Any]:
    """``template`` with about one property in twelve removed and one flag in four flipped,
    anywhere in the resources' properties: findings of many rules, in many result shapes."""
    rng = random.Random(seed)
    mutated = copy.deepcopy(template)

    def mutate(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                draw = rng.random()
                if draw < 0.08:
                    del node[key]
                elif isinstance(node[key], bool) and draw < 0.33:
                    node[key] = not node[key]
                else:
                    mutate(node[key])
        elif isinstance(node, list):
            for item in node:
                mutate(item)

    for resource in mutated.get("Resources", {}).values():
        mutate(resource.get("Properties"))
    return mutated


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, app_py_run: AppRun) -> list[Path]:
    """Templates with findings of most bundled rules: one resource of each type the rules
    name, without properties; and example stacks with properties removed and flags flipped.
    (The same resources with empty properties give 138 findings, also equal; left out to
    keep the suite fast.)"""
    folder = tmp_path_factory.mktemp("guard-corpus")
    types = sorted(set().union(*control_tower_rule_types().values()))
    documents: dict[str, Any] = {
        "every-type-bare": {"Resources": {f"R{i}": {"Type": t} for i, t in enumerate(types)}},
    }
    templates = app_py_run.templates()
    for seed, stack in enumerate(("AnalyticsJobQueue", "AnalyticsIngestion", "AnalyticsAirflow")):
        documents[f"{stack}-mutated"] = _without_some_properties(templates[stack], seed)
    paths = []
    for name, document in documents.items():
        path = folder / f"{name}.template.json"
        path.write_text(json.dumps(document))
        paths.append(path)
    return paths


def test_the_port_reports_what_the_plugin_reports(corpus):
    outcomes = {path.name: (_port_outcome(path), _plugin_outcome(path)) for path in corpus}
    for name, (port, plugin) in outcomes.items():
        if plugin[0] == "fails":
            assert port[0] == "fails", (name, plugin[1])
        else:
            assert port == plugin, name
    # The corpus exercises the port: hundreds of findings, from most of the rules.
    found = [v for port, _ in outcomes.values() if port[0] != "fails" for v in port[1]]
    assert len(found) > 250
    assert len({v["ruleName"] for v in found}) > 100


def test_a_template_guard_cannot_evaluate_fails_as_the_plugin_fails(tmp_path):
    """guard exits 255 on a null where a rule expects a list: the plugin fails the synth."""
    template = tmp_path / "Null.template.json"
    template.write_text(json.dumps({"Resources": {"Alarm": {
        "Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": None}}}}))
    plugin = _plugin_outcome(template)
    assert plugin[0] == "fails" and "status 255" in plugin[1]
    port = _port_outcome(template)
    assert port[0] == "fails" and "status 255" in port[1] and str(template) in port[1]


def test_the_parallel_run_keeps_each_templates_report_in_order(corpus):
    package = guard.unpacked_package()
    jobs = [guard.GuardJob(str(path), [rule for name, rule in package.rule_files().items()
                                       if name not in _skipped(path)])
            for path in corpus[1:3]]
    parallel = guard.run_in_parallel(jobs, workers=2)
    assert [r.violations for r in parallel] == [
        guard.violations_of(package, job).violations for job in jobs]
    assert {v["violatingResources"][0]["templatePath"] for v in parallel[0].violations} == {
        str(corpus[1])}


def test_each_part_holds_its_rules_types_and_all_they_reference(tmp_path):
    queues = {f"Queue{i}": {"Type": "AWS::SQS::Queue"} for i in range(60)}
    template = tmp_path / "Refs.template.json"
    template.write_text(json.dumps({
        "Parameters": {"Stage": {"Type": "String"}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "DependsOn": ["Waiter"], "Properties": {
                "Key": {"Fn::GetAtt": ["Key", "Arn"]},
                "Name": {"Fn::Sub": "${Alias.Name}-${!Literal}-${AWS::Region}"}}},
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"Admin": {"Ref": "Role"}}},
            "Alias": {"Type": "AWS::KMS::Alias"},
            "Role": {"Type": "AWS::IAM::Role"},
            "Waiter": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            **queues,
        },
    }))
    bucket, queue = frozenset({"AWS::S3::Bucket"}), frozenset({"AWS::SQS::Queue"})
    rules = [(tmp_path / "a.guard", bucket), (tmp_path / "b.guard", bucket),
             (tmp_path / "c.guard", queue), (tmp_path / "d.guard", bucket)]
    jobs = guard.split_by_rule_types(str(template), rules, tmp_path)
    # Consecutive rules share a run while one process costs less than two; order is kept.
    assert [[rule.name for rule in job.rules] for job in jobs] == [["a.guard", "b.guard"],
                                                                  ["c.guard"], ["d.guard"]]
    parts = [json.loads(Path(job.reads).read_text()) for job in jobs]
    assert list(parts[0]["Resources"]) == ["Bucket", "Key", "Alias", "Role", "Waiter"]
    assert list(parts[1]["Resources"]) == list(queues)
    assert parts[2] == parts[0]
    assert all(part["Parameters"] == {"Stage": {"Type": "String"}} for part in parts)
    assert {job.template for job in jobs} == {str(template)}
    # Small parts are cheaper in one process: with ten queues, all four rules run together.
    small = json.loads(template.read_text())
    small["Resources"] = {key: value for key, value in small["Resources"].items()
                          if not key.startswith("Queue") or int(key[5:]) < 10}
    template.write_text(json.dumps(small))
    (together,) = guard.split_by_rule_types(str(template), rules, tmp_path)
    assert len(json.loads(Path(together.reads).read_text())["Resources"]) == 15


#: The ways a bundled rule reads the template's ``Resources`` (whitespace collapsed), which
#: are what lets split_by_rule_types give it only its types' resources and their references.
_RESOURCE_READS = [
    re.compile(r"Resources (exists|not empty)"),  # the document is a template
    re.compile(r"Resources(\.\*)? ?\[ ?Type == %(?P<first>\w+)(?P<rest>( or Type == %\w+)*) ?\]"),
    re.compile(r"Resources\[ keys == %resource_key \]"),  # a referenced resource, by its key
    re.compile(r'Resources( is_list|\[\*\] == "secrets")'),  # EKS EncryptionConfig's property
]


def test_every_rule_reads_resources_only_by_a_type_it_names_or_by_reference():
    """If a plugin upgrade brings a rule that reads resources another way (all of them, or
    by a type it does not spell out), this fails before any finding could change."""
    types = control_tower_rule_types()
    for name, path in guard.unpacked_package().rule_files().items():
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
        code = re.sub(r"\s+", " ", re.sub(r"<<.*?>>", "<<>>", code, flags=re.S))
        constants = dict(re.findall(r"""let (\w+) = ["'](AWS::\w+::\w+)["']""", code))
        for found in re.finditer(r"\bResources\b", code):
            tail = code[found.start():found.start() + 120]
            read = next((p.match(tail) for p in _RESOURCE_READS if p.match(tail)), None)
            assert read, (name, tail)
            if read.re is _RESOURCE_READS[1]:
                named = [read["first"], *re.findall(r"%(\w+)", read["rest"] or "")]
                assert {constants.get(c) for c in named} <= types[name], (name, named)
        # A lookup by key is only ever of a Ref's or a Fn::GetAtt's target (``this`` in a
        # ``Ref`` block, ``this[0]`` in a ``Fn::GetAtt`` one), which a part always holds.
        for call in re.findall(r"query_for_resource\(%doc, ([^,)]+)", code):
            assert call in ("this", "this[0]"), (name, call)


def _fake_guard(tmp_path: Path, script: str) -> guard.GuardPackage:
    """A package whose cfn-guard is ``script`` (a shell script), for the error paths."""
    binary = tmp_path / guard._binary_folder() / "cfn-guard"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    return guard.GuardPackage(tmp_path)


@pytest.mark.parametrize(("script", "message"), [
    ("echo 'bad rule' >&2; exit 2", "cfn-guard exited with status 2 on T.json: bad rule"),
    ("echo 'not json'; exit 0", "cfn-guard's output on T.json is not JSON"),
    # A check without the traversed path a violation is located by: the plugin's TypeError.
    ("""echo '[{"name": "T.json", "not_compliant": [{"Rule": {"name": "r", """
     """"checks": [{"x": 1}]}}]}]'; exit 19""",
     "not in a shape the plugin can read (TypeError: Cannot read properties of undefined"),
])
def test_guard_failures_name_the_template_and_the_cause(tmp_path, script, message):
    package = _fake_guard(tmp_path, script)
    with pytest.raises(guard.GuardFailed) as failure:
        guard.violations_of(package, guard.GuardJob("T.json", [tmp_path / "r.guard"]))
    assert message in str(failure.value)


def test_a_violation_without_a_rule_name_fails_as_jsii_fails_the_plugin():
    report = guard.violations_from_output([{"name": "T.json", "not_compliant": [{"Rule": {
        "checks": [{"traversed_to": {"path": "/Resources/Q/Properties", "value": 1}}]}}]}])
    assert report.success is False and len(report.violations) == 1
    with pytest.raises(guard.GuardFailed, match="a value is required"):
        guard.policy_violations(report)


def test_a_platform_the_plugin_has_no_binary_for_is_named(monkeypatch):
    monkeypatch.setattr(guard.sys, "platform", "win32")
    with pytest.raises(guard.GuardFailed, match="win32 not supported"):
        guard._binary_folder()
