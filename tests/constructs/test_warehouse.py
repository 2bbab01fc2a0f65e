"""RedshiftSqlRunner, RedshiftTarget and the Redshift step of StepFunctionsEtl.

Assertions on small templates: the custom resource and what it carries, the provider's
polling settings, least-privilege IAM (the statement-owner condition AWS documents), the
database-roles tag, validation; the workflow step's states, retries and failure path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from analytics_orchestration import EtlStep, RedshiftSqlRunner, RedshiftTarget, StepFunctionsEtl
from analytics_orchestration.constructs.etl import TRANSIENT_ERRORS
from analytics_orchestration.errors import ConfigurationError
from tests.support import new_stack

CREATE = ['CREATE SCHEMA IF NOT EXISTS "s"']
DROP = ['DROP SCHEMA IF EXISTS "s"']
OWNER = {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}


def _workgroup(stack: Stack) -> redshift.CfnWorkgroup:
    return redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales", namespace_name="sales")


def _runner(stack: Stack | None = None, **props: Any) -> tuple[Stack, RedshiftSqlRunner]:
    stack = stack or new_stack()
    target = props.pop("target", None) or RedshiftTarget.of_workgroup(_workgroup(stack),
                                                                      database="dev")
    props.setdefault("create_sql", CREATE)
    return stack, RedshiftSqlRunner(stack, "Sql", target=target, **props)


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _on_workgroup(statements: list[dict[str, Any]]) -> set[str]:
    """Every action granted on the workgroup's ARN (CDK merges statements per resource)."""
    return {a for s in statements
            if json.dumps(s["Resource"]).count("Workgroup.WorkgroupArn") == 1
            for a in _actions(s)}


def _statements(template: Template, role_logical_id_prefix: str) -> list[dict[str, Any]]:
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = json.dumps(policy["Properties"].get("Roles"))
        if role_logical_id_prefix in roles:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


@pytest.fixture(scope="module")
def runner() -> tuple[Template, RedshiftSqlRunner]:
    stack, built = _runner(drop_sql=DROP)
    return Template.from_stack(stack), built


def test_the_custom_resource_carries_the_target_and_both_sql_lists(runner):
    template, _ = runner
    template.has_resource_properties("Custom::RedshiftSql", {
        "WorkgroupName": {"Fn::GetAtt": [Match.string_like_regexp("Workgroup"),
                                         "Workgroup.WorkgroupName"]},
        "Database": "dev", "CreateSql": CREATE, "DropSql": DROP,
        "SecretArn": Match.absent(),
    })


def test_the_provider_polls_every_query_interval_until_the_total_timeout(runner):
    template, _ = runner
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = "".join(p if isinstance(p, str) else "" for p in
                   machine["Properties"]["DefinitionString"]["Fn::Join"][1])
    retry = json.loads(body)["States"]["framework-isComplete-task"]["Retry"][0]
    # Defaults: every 10 seconds for 30 minutes.
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (10, 180, 1)
    # The waiter logs everything to an encrypted log group (the library's defaults).
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_custom_query_interval_and_timeout():
    stack, _ = _runner(query_interval=Duration.seconds(30), total_timeout=Duration.hours(1))
    [machine] = Template.from_stack(stack).find_resources(
        "AWS::StepFunctions::StateMachine").values()
    assert '"IntervalSeconds":30,"MaxAttempts":120' in json.dumps(
        machine["Properties"]["DefinitionString"]).replace("\\", "")


def test_only_the_is_complete_role_may_run_and_read_statements(runner):
    template, built = runner
    stack = Stack.of(built)
    is_complete = stack.resolve(stack.get_logical_id(built.role.node.default_child))
    statements = _statements(template, is_complete)
    on_workgroup = _on_workgroup(statements)
    # Run statements and get IAM credentials: on this workgroup only.
    assert on_workgroup == {"redshift-data:ExecuteStatement",
                            "redshift-data:BatchExecuteStatement",
                            "redshift-serverless:GetCredentials"}
    reads = [s for s in statements if "redshift-data:DescribeStatement" in s["Action"]]
    assert [(_actions(s), s["Condition"], s["Resource"]) for s in reads] == [(
        {"redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
         "redshift-data:CancelStatement"}, OWNER, "*")]
    on_event = stack.resolve(stack.get_logical_id(
        built.on_event_function.role.node.default_child))  # type: ignore[union-attr]
    assert not [s for s in _statements(template, on_event)
                if "redshift" in json.dumps(s["Action"])]


def test_a_secret_replaces_iam_credentials():
    stack = new_stack()
    secret = secretsmanager.Secret(stack, "Admin")
    target = RedshiftTarget.of_workgroup(_workgroup(stack), database="dev", secret=secret)
    _, built = _runner(stack, target=target)
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::RedshiftSql", {
        "SecretArn": {"Ref": Match.string_like_regexp("Admin")}})
    statements = _statements(template, stack.resolve(stack.get_logical_id(
        built.role.node.default_child)))
    actions = {a for s in statements for a in _actions(s)}
    assert "secretsmanager:GetSecretValue" in actions
    assert "redshift-serverless:GetCredentials" not in actions
    assert _on_workgroup(statements) == {"redshift-data:ExecuteStatement",
                                         "redshift-data:BatchExecuteStatement"}


def test_database_roles_tag_the_role_that_runs_the_statements():
    stack, built = _runner(database_roles=["sys:superuser", "loader"])
    template = Template.from_stack(stack)
    role = template.find_resources("AWS::IAM::Role")[
        stack.resolve(stack.get_logical_id(built.role.node.default_child))]
    assert {"Key": "RedshiftDbRoles", "Value": "sys:superuser:loader"} in role[
        "Properties"]["Tags"]


def test_the_handlers_are_the_bundled_redshift_sql_handlers(runner):
    template, _ = runner
    handlers = {f["Properties"]["Handler"] for f in template.find_resources(
        "AWS::Lambda::Function").values() if f["Properties"]["Runtime"].startswith("python")}
    assert handlers == {"index.on_event", "index.is_complete"}


@pytest.mark.parametrize(("props", "message"), [
    ({"create_sql": []}, "create_sql"),
    ({"create_sql": ["  "]}, "create_sql"),
    ({"query_interval": Duration.minutes(20)}, "query_interval"),
    ({"total_timeout": Duration.hours(3)}, "total_timeout"),
    ({"query_interval": Duration.minutes(5), "total_timeout": Duration.minutes(2)},
     "shorter than total_timeout"),
    ({"query_interval": Duration.seconds(7)}, "whole number of query intervals"),
    ({"database_roles": ["r" * 100, "s" * 100, "t" * 60]}, "at most 256 characters"),
])
def test_invalid_props_are_one_clear_error(props, message):
    with pytest.raises(ConfigurationError, match=message):
        _runner(**props)


def test_the_target_validates_the_database_name():
    stack = new_stack()
    with pytest.raises(ConfigurationError, match="database"):
        RedshiftTarget.of_workgroup(_workgroup(stack), database='dev"; DROP TABLE x; --')


# ------------------------------------------------------------------ the workflow's step
def _definition(template: Template) -> dict[str, Any]:
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    return json.loads("".join(p if isinstance(p, str) else "<token>"
                              for p in body["Fn::Join"][1]))


@pytest.fixture(scope="module")
def workflow() -> tuple[Template, dict[str, Any]]:
    stack = new_stack()
    target = RedshiftTarget.of_workgroup(_workgroup(stack), database="dev")
    StepFunctionsEtl(stack, "Etl", load=[
        EtlStep.redshift_sql("Merge", ["MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN "
                                       "UPDATE SET b = s.b"], target=target,
                             poll_interval=Duration.seconds(20)),
        EtlStep.redshift_sql("Batch", ["DELETE FROM t", "INSERT INTO t SELECT * FROM s"],
                             target=target)])
    template = Template.from_stack(stack)
    return template, _definition(template)


def test_one_statement_runs_with_execute_statement_then_polls(workflow):
    _, definition = workflow
    states = definition["States"]
    merge = states["Merge"]
    assert merge["Resource"].endswith(":states:::aws-sdk:redshiftdata:executeStatement")
    assert merge["Parameters"]["Database"] == "dev"
    assert merge["Parameters"]["StatementName"] == "Merge"
    assert merge["ResultSelector"] == {"Id.$": "$.Id"}
    assert merge["Next"] == "MergeWait" and states["MergeWait"]["Seconds"] == 20
    poll = states["MergeWait"]["Next"]
    assert states[poll]["Resource"].endswith(":states:::aws-sdk:redshiftdata:describeStatement")
    assert states[poll]["Parameters"] == {"Id.$": "$.results.Merge.Id"}
    choices = states["MergeFinished"]["Choices"]
    assert choices[0] == {"Variable": "$.results.Merge.Status", "StringEquals": "FINISHED",
                          "Next": "MergeSucceeded"}
    assert {c["Variable"] for c in choices[1]["Or"]} == {"$.results.Merge.Status"}
    assert {c["StringEquals"] for c in choices[1]["Or"]} == {"FAILED", "ABORTED"}
    failed = states[choices[1]["Next"]]
    assert failed["Parameters"]["Error"] == "Redshift.StatementFailed"
    assert states["MergeFinished"]["Default"] == "MergeWait"


def test_several_statements_run_as_one_batch(workflow):
    _, definition = workflow
    batch = definition["States"]["Batch"]
    assert batch["Resource"].endswith(":states:::aws-sdk:redshiftdata:batchExecuteStatement")
    assert batch["Parameters"]["Sqls"] == ["DELETE FROM t", "INSERT INTO t SELECT * FROM s"]


def test_both_tasks_retry_the_data_apis_throttling_and_catch_the_rest(workflow):
    _, definition = workflow
    states = definition["States"]
    for name in ("Merge", "MergePoll"):
        [retry] = states[name]["Retry"]
        assert retry["ErrorEquals"] == list(TRANSIENT_ERRORS["redshift-data"])
        assert retry["BackoffRate"] == 2 and retry["JitterStrategy"] == "FULL"
        assert states[name]["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_the_state_machine_may_run_statements_on_the_workgroup_and_read_its_own(workflow):
    template, _ = workflow
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert _on_workgroup(statements) == {"redshift-data:ExecuteStatement",
                                         "redshift-data:BatchExecuteStatement",
                                         "redshift-serverless:GetCredentials"}
    reads = [s for s in statements if "redshift-data:DescribeStatement" in _actions(s)]
    assert [(s["Resource"], s["Condition"]) for s in reads] == [("*", OWNER)]


@pytest.mark.parametrize(("sql", "message"), [
    ([], "sql"), (["  "], "must not be empty"), ([f"SELECT {i}" for i in range(41)], "sql"),
])
def test_invalid_steps_are_refused(sql, message):
    stack = new_stack()
    target = RedshiftTarget.of_workgroup(_workgroup(stack), database="dev")
    with pytest.raises(ConfigurationError, match=message):
        StepFunctionsEtl(stack, "Etl", load=[EtlStep.redshift_sql("Load", sql, target=target)])
