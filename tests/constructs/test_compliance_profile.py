"""The strict compliance profile: one switch, all four packs, for users' own apps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from analytics_orchestration import ConfigurationError, SqsWorkerPool
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.compliance import (
    GRANT_POLICY_RULE,
    STRICT_PROFILE,
    ControlTowerRules,
    RulePack,
    add_compliance_checks,
    control_tower_rule_types,
    inapplicable_rules,
    strict_profile,
)
from tests.support import cdk_json_context


def _app(tmp_path: Path) -> App:
    return App(outdir=str(tmp_path), context=cdk_json_context())


def _report(tmp_path: Path) -> dict[str, dict]:
    report = json.loads((tmp_path / "validation-report.json").read_text())
    return {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}


def _rules(plugin: dict) -> set[str]:
    return {violation["ruleName"] for violation in plugin["violations"]}


def test_strict_profile_registers_all_four_packs():
    app = App()
    plugins = strict_profile(app)
    assert [type(p) for p in plugins] == [
        AwsSolutionsChecks, ServerlessChecks, NIST80053R5Checks, ControlTowerRules,
    ]
    assert [p.name for p in plugins] == [pack.value for pack in STRICT_PROFILE]
    assert set(STRICT_PROFILE) == set(RulePack)


def test_every_pack_of_the_profile_gates_synthesis(tmp_path):
    """A raw queue and log group: findings of every pack (NIST: the log group's key)."""
    app = _app(tmp_path)
    stack = Stack(app, "User")
    sqs.Queue(stack, "RawQueue")
    logs.LogGroup(stack, "RawLogs")
    strict_profile(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = _report(tmp_path)
    assert set(report) == {pack.value for pack in RulePack}
    assert all(plugin["conclusion"] == "failure" for plugin in report.values())
    assert "sqs_dlq_check" in _rules(report["cdk-validator-cfnguard"])
    assert "NIST.800.53.R5-CloudWatchLogGroupEncrypted" in _rules(report["NIST.800.53.R5"])


def test_a_user_app_with_a_library_construct_passes_the_strict_profile(tmp_path):
    app = _app(tmp_path)
    stack = Stack(app, "UserJobs")
    key = blocks.secure_key(stack, "Key", description="Encrypts the jobs")
    SqsWorkerPool(stack, "Jobs", alarm_topic=blocks.alarm_topic(stack, "Alarms",
                                                                encryption_key=key))
    strict_profile(app)
    app.synth()  # raises on any unacknowledged finding
    report = _report(tmp_path)
    assert set(report) == {pack.value for pack in RulePack}
    for plugin in report.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []


def test_the_profile_reports_alarms_that_notify_nobody(tmp_path):
    """Without an alarm topic the pool's alarms have no action: NIST and Control Tower say so."""
    app = _app(tmp_path)
    SqsWorkerPool(Stack(app, "UserJobs"), "Jobs")
    strict_profile(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = _report(tmp_path)
    assert _rules(report["NIST.800.53.R5"]) == {"NIST.800.53.R5-CloudWatchAlarmAction"}
    assert _rules(report["cdk-validator-cfnguard"]) == {"cloudwatch_alarm_action_check"}


def test_a_subset_of_packs(tmp_path):
    app = _app(tmp_path)
    sqs.Queue(Stack(app, "User"), "RawQueue")
    plugins = add_compliance_checks(app, packs=[RulePack.CONTROL_TOWER])
    assert [type(p) for p in plugins] == [ControlTowerRules]
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert set(_report(tmp_path)) == {"cdk-validator-cfnguard"}


def test_grant_policies_of_one_role_are_acknowledged_and_nothing_else(tmp_path):
    """A grant policy of one role passes; a policy shared by two roles is still reported."""
    app = _app(tmp_path)
    stack = Stack(app, "User")
    one = iam.Role(stack, "One", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    two = iam.Role(stack, "Two", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    statement = iam.PolicyStatement(
        actions=["sqs:SendMessage"], resources=["arn:aws:sqs:eu-west-1:111111111111:jobs"])
    one.add_to_policy(statement)
    shared = iam.Policy(stack, "Shared", statements=[statement], roles=[one, two])
    add_compliance_checks(app, packs=[RulePack.NIST_800_53_R5])
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    nist = _report(tmp_path)["NIST.800.53.R5"]
    reported = {c["constructPath"] for v in nist["violations"] for c in v["violatingConstructs"]
                if v["ruleName"] == "NIST.800.53.R5-IAMNoInlinePolicy"}
    assert reported == {shared.node.path + "/Resource"}
    acknowledged = {v["violatingConstructs"][0]["constructPath"]
                    for v in nist["suppressedViolations"]}
    assert acknowledged == {one.node.path + "/DefaultPolicy/Resource"}
    assert GRANT_POLICY_RULE.endswith("IAMNoInlinePolicy")


def test_grant_policy_acknowledgment_can_be_turned_off(tmp_path):
    app = _app(tmp_path)
    stack = Stack(app, "User")
    role = iam.Role(stack, "One", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(
        actions=["sqs:SendMessage"], resources=["arn:aws:sqs:eu-west-1:111111111111:jobs"]))
    add_compliance_checks(app, packs=[RulePack.NIST_800_53_R5],
                          acknowledge_grant_policies=False)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "NIST.800.53.R5-IAMNoInlinePolicy" in _rules(_report(tmp_path)["NIST.800.53.R5"])


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda app: add_compliance_checks(Stack(app, "S")), "scope"),
        (lambda app: add_compliance_checks(app, packs=[]), "packs"),
        (lambda app: add_compliance_checks(app, packs=["NIST"]), "packs"),
    ],
)
def test_a_wrong_scope_or_pack_is_one_clear_error(call, named):
    with pytest.raises(ConfigurationError, match=named):
        call(App())


def test_control_tower_rules_are_the_bundled_rule_set():
    """The same plugin as cfn-guard's own with every Control Tower rule: name, rule ids."""
    full = CfnGuardValidator(control_tower_rules_enabled=True)
    plugin = ControlTowerRules()
    assert isinstance(plugin, CfnGuardValidator)
    assert (plugin.name, plugin.version) == (full.name, full.version)
    assert sorted(plugin.rule_ids or []) == sorted(full.rule_ids or [])
    # Every bundled rule file was read, and each names the resource types it checks.
    assert len(control_tower_rule_types()) == len(full.rule_ids or [])
    assert all(control_tower_rule_types().values())


def test_only_rules_naming_no_present_type_are_left_out():
    present = {"AWS::S3::Bucket", "AWS::SQS::Queue"}
    left_out = set(inapplicable_rules(present))
    for rule, types in control_tower_rule_types().items():
        assert (rule in left_out) == (not types & present), rule
    assert inapplicable_rules(set().union(*control_tower_rule_types().values())) == []


def _guard_report(tmp_path: Path, plugin: CfnGuardValidator) -> dict:
    app = _app(tmp_path)
    stack = Stack(app, "User")
    sqs.Queue(stack, "RawQueue")
    logs.LogGroup(stack, "RawLogs")
    s3.Bucket(stack, "RawBucket")
    # A second template with other types: each template gets only its own types' rules.
    other = Stack(app, "Other")
    dynamodb.Table(other, "RawTable", partition_key=dynamodb.Attribute(
        name="pk", type=dynamodb.AttributeType.STRING))
    s3.Bucket(other, "OtherBucket")
    Validations.of(app).add_plugins(plugin)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return _report(tmp_path)["cdk-validator-cfnguard"]


def test_control_tower_rules_find_what_every_rule_finds(tmp_path):
    """Leaving out the rules that cannot apply changes no finding (issue #16's lever)."""
    full = _guard_report(tmp_path / "full", CfnGuardValidator(control_tower_rules_enabled=True))
    applicable = _guard_report(tmp_path / "applicable", ControlTowerRules())
    assert full["violations"], "the raw resources must have findings to compare"
    templates = {construct["cloudFormationResource"]["templatePath"]
                 for violation in full["violations"]
                 for construct in violation["violatingConstructs"]}
    assert templates == {"User.template.json", "Other.template.json"}
    assert applicable == full
