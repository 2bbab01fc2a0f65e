"""The example app: snapshots, the cdk-nag compliance gate and cfn-lint, on one synth."""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from aws_cdk import cx_api
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from analytics_orchestration.compliance import RulePack
from tests.support import lint_problems, normalise_template, stale_acknowledgments

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


def test_compliance_gate_ran_every_pack_and_found_nothing_unacknowledged(app_py_run):
    """The strict profile's four packs ran on ``python app.py``: zero open findings."""
    assert app_py_run.returncode == 0, app_py_run.stderr[-6000:]
    report = app_py_run.validation_report()
    conclusions = {plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]}
    assert conclusions == {pack.value: "success" for pack in RulePack}
    for plugin in report["pluginReports"]:
        assert plugin["violations"] == []
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["ruleName"]


def test_every_acknowledgment_suppresses_a_finding(app_py_run, example_app_acknowledgments):
    """An acknowledgment that matches no finding is a defect: it hides nothing today and
    would silently hide a new finding of its rule tomorrow. Every plugin the app registers
    is covered (the report lists each one's suppressed findings). The acknowledgments are
    the in-process build's, the report app.py's: the same app, so the same construct paths."""
    assert app_py_run.returncode == 0, app_py_run.stderr[-6000:]
    report = app_py_run.validation_report()
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


def _resources(assembly: cx_api.CloudAssembly, resource_type: str) -> dict[str, dict]:
    """``stack/logical id`` -> resource, for every resource of ``resource_type``; never empty."""
    found = {
        f"{stack.stack_name}/{logical_id}": resource
        for stack in assembly.stacks
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] == resource_type
    }
    assert found, f"the example app has no {resource_type}: the walk would prove nothing"
    return found


def test_every_log_group_is_encrypted_with_a_customer_managed_key(cloud_assembly):
    """State-machine, function, flow-log and access-log groups alike (issue 10 §2)."""
    unencrypted = [name for name, log_group in
                   _resources(cloud_assembly, "AWS::Logs::LogGroup").items()
                   if "KmsKeyId" not in log_group["Properties"]]
    assert unencrypted == []


def test_every_table_is_in_a_backup_plan_of_its_stack(cloud_assembly):
    tables = _resources(cloud_assembly, "AWS::DynamoDB::Table")
    selected = {
        f"{name.split('/')[0]}/{entry['Fn::GetAtt'][0]}"
        for name, selection in _resources(cloud_assembly, "AWS::Backup::BackupSelection").items()
        for entry in selection["Properties"]["BackupSelection"].get("Resources", [])
        if isinstance(entry, dict) and "Fn::GetAtt" in entry
    }
    assert set(tables) - selected == set()
    vaults = _resources(cloud_assembly, "AWS::Backup::BackupVault")
    assert all("EncryptionKeyArn" in v["Properties"] for v in vaults.values())


def test_every_delivery_stream_keeps_errors_apart_and_meets_firehose_minimums(cloud_assembly):
    """Every Firehose stream: failed records under an error prefix split by error type and
    outside the data prefix (a table over the data never reads them); a Direct PUT buffer
    encrypted with a CMK; with dynamic partitioning or format conversion, a buffer of at
    least 64 MiB (Firehose refuses less) and, with partitioning, at least 60 seconds."""
    problems = []
    for name, stream in _resources(cloud_assembly,
                                   "AWS::KinesisFirehose::DeliveryStream").items():
        props = stream["Properties"]
        destination = props["ExtendedS3DestinationConfiguration"]
        data_prefix = destination["Prefix"].split("!{")[0]
        errors = destination.get("ErrorOutputPrefix", "")
        if "!{firehose:error-output-type}" not in errors or errors.startswith(data_prefix):
            problems.append(f"{name}: error prefix {errors!r}")
        if props.get("DeliveryStreamType", "DirectPut") == "DirectPut" and props.get(
                "DeliveryStreamEncryptionConfigurationInput", {}).get(
                "KeyType") != "CUSTOMER_MANAGED_CMK":
            problems.append(f"{name}: buffer not encrypted with a CMK")
        hints = destination["BufferingHints"]
        partitioned = destination.get("DynamicPartitioningConfiguration", {}).get("Enabled")
        converted = destination.get("DataFormatConversionConfiguration", {}).get("Enabled")
        if (partitioned or converted) and hints["SizeInMBs"] < 64:
            problems.append(f"{name}: buffer {hints['SizeInMBs']} MiB")
        if partitioned and hints["IntervalInSeconds"] < 60:
            problems.append(f"{name}: interval {hints['IntervalInSeconds']} s")
    assert problems == []


def test_every_key_refuses_grants_for_non_aws_resources(cloud_assembly):
    """The statement AWS Control Tower's CT.KMS.PR.3 requires, on every key."""
    expected = {"Effect": "Deny", "Action": "kms:CreateGrant", "Principal": {"AWS": "*"},
                "Resource": "*", "Condition": {"BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}}
    missing = []
    for name, key in _resources(cloud_assembly, "AWS::KMS::Key").items():
        statements = [{k: v for k, v in statement.items() if k != "Sid"}
                      for statement in key["Properties"]["KeyPolicy"]["Statement"]]
        if expected not in statements:
            missing.append(name)
    assert missing == []


def test_every_fargate_container_is_read_only_non_root_and_memory_bounded(cloud_assembly):
    for name, task in _resources(cloud_assembly, "AWS::ECS::TaskDefinition").items():
        for container in task["Properties"]["ContainerDefinitions"]:
            assert container.get("ReadonlyRootFilesystem") is True, name
            user = str(container.get("User", "root"))
            assert user.split(":")[0] not in ("", "0", "root"), name
            assert isinstance(container.get("Memory"), int), name


def test_the_worker_keeps_a_writable_scratch_path(cloud_assembly):
    """The read-only root filesystem leaves /tmp writable through a task volume."""
    for name, task in _resources(cloud_assembly, "AWS::ECS::TaskDefinition").items():
        if task["Properties"].get("RequiresCompatibilities") != ["FARGATE"]:
            continue
        volumes = {v["Name"] for v in task["Properties"].get("Volumes", [])}
        mounts = {m["ContainerPath"]: m for c in task["Properties"]["ContainerDefinitions"]
                  for m in c.get("MountPoints", [])}
        assert mounts["/tmp"]["SourceVolume"] in volumes, name
        assert mounts["/tmp"]["ReadOnly"] is False, name


def test_every_image_repository_has_a_lifecycle_policy(cloud_assembly):
    for name, repository in _resources(cloud_assembly, "AWS::ECR::Repository").items():
        rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
        assert rules["rules"], name


def test_template_snapshots(cloud_assembly, json_snapshot):
    """One snapshot file per stack: ``__snapshots__/test_example_app/<stack>.json``."""
    for stack_name, stack in sorted(_stacks(cloud_assembly).items()):
        assert normalise_template(stack.template) == json_snapshot(name=stack_name)


def _lint_errors_and_warnings(template_path: str) -> list[str]:
    """cfn-lint's errors and warnings for one template (informational findings pass)."""
    return lint_problems(Path(template_path).read_text())


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
    # The loader queue, the partners' topic, the indexer, the dispatch workflow and the
    # fan-out topic.
    assert len(accepted["Targets"]) == 5
    kinds = sorted(t["Arn"]["Fn::GetAtt"][0] if "Fn::GetAtt" in t["Arn"] else t["Arn"]["Ref"]
                   for t in accepted["Targets"])
    assert any(k.startswith("ExtractIndexer") for k in kinds)
    assert any(k.startswith("ExtractDispatch") for k in kinds)
    subscriptions = [r["Properties"] for r in resources.values()
                     if r["Type"] == "AWS::SNS::Subscription"]
    # The audit queue and the partner gateway take everything, the sales queue its prefix.
    assert sorted("FilterPolicy" in s for s in subscriptions) == [False, False, True]
