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


def _logical_id_of(reference: object) -> str | None:
    """The resource a ``Ref`` / ``Fn::GetAtt`` names, None for anything else."""
    if isinstance(reference, dict):
        if "Ref" in reference:
            return str(reference["Ref"])
        if "Fn::GetAtt" in reference:
            return str(reference["Fn::GetAtt"][0])
    return None


def _key_lets_sns_deliver(resources: dict, queue: dict) -> bool:
    """The queue's key policy allows sns.amazonaws.com to GenerateDataKey and Decrypt."""
    key = resources.get(_logical_id_of(queue["Properties"]["KmsMasterKeyId"]) or "")
    if key is None or key["Type"] != "AWS::KMS::Key":
        return False
    allowed: set[str] = set()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        if statement["Effect"] == "Allow" and "sns.amazonaws.com" in json.dumps(
                statement.get("Principal")):
            actions = statement["Action"]
            allowed |= {actions} if isinstance(actions, str) else set(actions)
    return {"kms:GenerateDataKey", "kms:Decrypt"} <= allowed or "kms:*" in allowed


def test_queues_on_an_encrypted_path_use_a_customer_managed_key(cloud_assembly):
    """What a CMK protects upstream stays under a CMK: the DLQ of a CMK-encrypted queue,
    every queue subscribed to a CMK-encrypted topic and every dead-letter queue of a
    subscription to one (with a key SNS may use, or SNS cannot deliver), the DLQ of every
    rule target on a CMK-encrypted bus or with a CMK-encrypted target, and a CMK bus's DLQ."""
    checked = {"queue DLQs": 0, "subscribed queues": 0, "subscription DLQs": 0,
               "target DLQs": 0, "bus DLQs": 0}
    problems = []
    for stack in _stacks(cloud_assembly).values():
        resources = stack.template["Resources"]

        def cmk(logical_id: str | None, resources: dict = resources) -> bool:
            properties = resources.get(logical_id or "", {}).get("Properties", {})
            return "KmsMasterKeyId" in properties or "KmsKeyIdentifier" in properties

        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Events::EventBus" and cmk(logical_id):
                checked["bus DLQs"] += 1
                dead_letters = _logical_id_of(properties["DeadLetterConfig"]["Arn"])
                if not cmk(dead_letters):
                    problems.append(f"{stack.stack_name}/{dead_letters}: DLQ of {logical_id}")
            if resource["Type"] != "AWS::Events::Rule":
                continue
            bus_encrypted = cmk(_logical_id_of(properties.get("EventBusName")))
            for target in properties.get("Targets", []):
                if not (bus_encrypted or cmk(_logical_id_of(target["Arn"]))):
                    continue
                checked["target DLQs"] += 1
                dead_letters = _logical_id_of(target.get("DeadLetterConfig", {}).get("Arn"))
                if not cmk(dead_letters):
                    problems.append(f"{stack.stack_name}/{dead_letters}: DLQ of a target of "
                                    f"{logical_id}")

        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in properties:
                dead_letters = _logical_id_of(properties["RedrivePolicy"]["deadLetterTargetArn"])
                if cmk(logical_id):
                    checked["queue DLQs"] += 1
                    if not cmk(dead_letters):
                        problems.append(f"{stack.stack_name}/{dead_letters}: DLQ of {logical_id}")
            if resource["Type"] != "AWS::SNS::Subscription":
                continue
            if not cmk(_logical_id_of(properties["TopicArn"])):
                continue
            queues = []
            if properties["Protocol"] == "sqs":
                queues.append(("subscribed queues", _logical_id_of(properties["Endpoint"])))
            if "RedrivePolicy" in properties:
                queues.append(("subscription DLQs", _logical_id_of(
                    properties["RedrivePolicy"]["deadLetterTargetArn"])))
            for kind, queue in queues:
                checked[kind] += 1
                if not cmk(queue):
                    problems.append(f"{stack.stack_name}/{queue}: {kind} of {logical_id}")
                elif not _key_lets_sns_deliver(resources, resources[queue or ""]):
                    problems.append(f"{stack.stack_name}/{queue}: its key does not let SNS in")
    assert all(count > 0 for count in checked.values()), checked
    assert problems == []


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
