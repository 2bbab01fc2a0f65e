"""The example app: snapshots, the cdk-nag compliance gate and cfn-lint, on one synth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import cx_api
from cfnlint.api import lint_all
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.support import normalise_template

EXPECTED_STACKS = ["AnalyticsIngestion"]


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def _stacks(assembly: cx_api.CloudAssembly) -> dict[str, cx_api.CloudFormationStackArtifact]:
    return {stack.stack_name: stack for stack in assembly.stacks}


def test_app_has_every_example_stack(cloud_assembly):
    assert sorted(_stacks(cloud_assembly)) == sorted(EXPECTED_STACKS)


def test_compliance_gate_ran_both_packs_and_found_nothing_unacknowledged(cloud_assembly):
    report = json.loads((Path(cloud_assembly.directory) / "validation-report.json").read_text())
    conclusions = {plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]}
    assert conclusions == {"AwsSolutions": "success", "Serverless": "success"}
    for plugin in report["pluginReports"]:
        assert plugin["violations"] == []
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["ruleName"]


@pytest.mark.parametrize("stack_name", EXPECTED_STACKS)
def test_template_snapshot(cloud_assembly, json_snapshot, stack_name):
    template = _stacks(cloud_assembly)[stack_name].template
    assert normalise_template(template) == json_snapshot


@pytest.mark.parametrize("stack_name", EXPECTED_STACKS)
def test_cfn_lint_finds_nothing(cloud_assembly, stack_name):
    template_file = Path(cloud_assembly.directory) / _stacks(cloud_assembly)[
        stack_name].template_file
    matches = lint_all(template_file.read_text())
    errors_and_warnings = [
        str(match) for match in matches if match.rule.severity in ("error", "warning")
    ]
    assert errors_and_warnings == []


@pytest.mark.parametrize("stack_name", EXPECTED_STACKS)
def test_no_custom_resource_handlers_for_bucket_notifications(cloud_assembly, stack_name):
    resources = _stacks(cloud_assembly)[stack_name].template["Resources"]
    types = {resource["Type"] for resource in resources.values()}
    assert "Custom::S3BucketNotifications" not in types
    handlers = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
                and "BucketNotificationsHandler" in json.dumps(r)]
    assert handlers == []


def test_ingestion_stack_wires_loader_and_fan_out(cloud_assembly):
    resources = _stacks(cloud_assembly)["AnalyticsIngestion"].template["Resources"]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    accepted = next(r for r in rules if r["EventPattern"]["detail-type"] == ["ObjectAccepted"])
    assert len(accepted["Targets"]) == 2  # the loader queue and the fan-out topic
    subscriptions = [r["Properties"] for r in resources.values()
                     if r["Type"] == "AWS::SNS::Subscription"]
    assert sorted("FilterPolicy" in s for s in subscriptions) == [False, True]
