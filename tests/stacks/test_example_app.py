"""The example app: snapshots, the cdk-nag compliance gate and cfn-lint, on one synth."""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from aws_cdk import cx_api
from cfnlint.api import lint_all
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import normalise_template, stale_acknowledgments

#: Stacks every later change must keep; new example stacks are covered automatically by
#: the loops below (snapshot, cfn-lint, notification handlers) once app.py adds them.
REQUIRED_STACKS = {"AnalyticsIngestion"}


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def _stacks(assembly: cx_api.CloudAssembly) -> dict[str, cx_api.CloudFormationStackArtifact]:
    return {stack.stack_name: stack for stack in assembly.stacks}


def test_app_has_every_example_stack(cloud_assembly):
    assert set(_stacks(cloud_assembly)) >= REQUIRED_STACKS


def test_compliance_gate_ran_both_packs_and_found_nothing_unacknowledged(cloud_assembly):
    report = json.loads((Path(cloud_assembly.directory) / "validation-report.json").read_text())
    conclusions = {plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]}
    assert conclusions == {"AwsSolutions": "success", "Serverless": "success"}
    for plugin in report["pluginReports"]:
        assert plugin["violations"] == []
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["ruleName"]


def test_every_acknowledgment_suppresses_a_finding(cloud_assembly, example_app_acknowledgments):
    """An acknowledgment that matches no finding is a defect: it hides nothing today and
    would silently hide a new finding of its rule tomorrow. Every plugin the app registers
    is covered (the report lists each one's suppressed findings)."""
    report = json.loads((Path(cloud_assembly.directory) / "validation-report.json").read_text())
    assert len(example_app_acknowledgments) > 100  # the recorder saw the app's own calls
    stale = stale_acknowledgments(example_app_acknowledgments, report)
    assert [(ack.rule_id, ack.construct_path) for ack in stale] == []


def test_template_snapshots(cloud_assembly, json_snapshot):
    """One snapshot file per stack: ``__snapshots__/test_example_app/<stack>.json``."""
    for stack_name, stack in sorted(_stacks(cloud_assembly).items()):
        assert normalise_template(stack.template) == json_snapshot(name=stack_name)


def _lint_errors_and_warnings(template_path: str) -> list[str]:
    """cfn-lint's errors and warnings for one template (informational findings pass)."""
    matches = lint_all(Path(template_path).read_text())
    return [str(m) for m in matches if m.rule.severity in ("error", "warning")]


def test_cfn_lint_finds_no_error_or_warning_in_any_template(cloud_assembly):
    """Templates are linted in parallel processes: cfn-lint is the slowest check here.

    Forked (not spawned) workers: they need no re-import of this module, whose imports start
    jsii; a forked worker ends with os._exit and never touches the parent's jsii kernel.
    """
    stacks = _stacks(cloud_assembly)
    paths = [str(Path(cloud_assembly.directory) / s.template_file) for s in stacks.values()]
    workers = min(len(paths), os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = dict(zip(stacks, pool.map(_lint_errors_and_warnings, paths), strict=True))
    assert {name: problems for name, problems in results.items() if problems} == {}


def test_no_custom_resource_handlers_for_bucket_notifications(cloud_assembly):
    for stack in _stacks(cloud_assembly).values():
        resources = stack.template["Resources"]
        types = {resource["Type"] for resource in resources.values()}
        assert "Custom::S3BucketNotifications" not in types, stack.stack_name
        handlers = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
                    and "BucketNotificationsHandler" in json.dumps(r)]
        assert handlers == [], stack.stack_name


def test_ingestion_stack_wires_loader_and_fan_out(cloud_assembly):
    resources = _stacks(cloud_assembly)["AnalyticsIngestion"].template["Resources"]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    accepted = next(r for r in rules if r["EventPattern"]["detail-type"] == ["ObjectAccepted"])
    assert len(accepted["Targets"]) == 2  # the loader queue and the fan-out topic
    subscriptions = [r["Properties"] for r in resources.values()
                     if r["Type"] == "AWS::SNS::Subscription"]
    assert sorted("FilterPolicy" in s for s in subscriptions) == [False, True]
