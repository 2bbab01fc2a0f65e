"""The harness's Redshift Data API (``services.redshift_data``): what a test relies on.

Statuses progress with the harness clock; statements are recorded in order with their
target; results can be injected; statements can be made to fail, abort or be throttled;
batches report their sub-statements as one transaction; client tokens are idempotent;
unknown workgroups are refused; the statement-owner condition key is enforced.
"""

from __future__ import annotations

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_redshiftserverless as redshift
from botocore.exceptions import ClientError

from analytics_orchestration.testing import OfflineAws
from tests.support import new_stack

TARGET = {"WorkgroupName": "sales", "Database": "dev"}


@pytest.fixture
def aws():
    with OfflineAws() as harness:
        harness.redshift_data.add_workgroup("sales")
        yield harness


def test_statuses_progress_with_the_clock(aws):
    client = aws.client("redshift-data")
    statement = client.execute_statement(Sql="SELECT 1", **TARGET)["Id"]
    assert client.describe_statement(Id=statement)["Status"] == "SUBMITTED"
    aws.clock.sleep(1)
    assert client.describe_statement(Id=statement)["Status"] == "STARTED"
    aws.clock.sleep(2)
    description = client.describe_statement(Id=statement)
    assert description["Status"] == "FINISHED"
    assert (description["WorkgroupName"], description["Database"]) == ("sales", "dev")
    assert description["QueryString"] == "SELECT 1"


def test_calls_and_statements_are_recorded_in_order_with_their_parameters(aws):
    client = aws.client("redshift-data")
    client.execute_statement(Sql="SELECT :day", Parameters=[{"name": "day",
                                                             "value": "2026-11-25"}],
                             StatementName="daily", **TARGET)
    client.execute_statement(Sql="SELECT 2", SecretArn="arn:aws:secretsmanager:us-east-1:"
                             "123456789012:secret:admin-AbCdEf", **TARGET)
    first, second = aws.redshift_data.statements
    assert first.parameters == [{"name": "day", "value": "2026-11-25"}]
    assert first.statement_name == "daily" and first.secret_arn is None
    assert second.secret_arn.endswith(":secret:admin-AbCdEf")
    assert [c.operation for c in aws.redshift_data.calls] == ["ExecuteStatement"] * 2


def test_injected_results_are_returned_once_the_statement_finished(aws):
    aws.redshift_data.set_result(r"FROM daily_sales", ["day", "orders", "revenue"],
                                 [["2026-11-25", 3, 19.9], ["2026-11-26", None, 1.5]])
    client = aws.client("redshift-data")
    statement = client.execute_statement(Sql="SELECT * FROM daily_sales", **TARGET)["Id"]
    with pytest.raises(ClientError, match="Query does not have result"):
        client.get_statement_result(Id=statement)
    aws.clock.sleep(5)
    assert client.describe_statement(Id=statement)["HasResultSet"] is True
    result = client.get_statement_result(Id=statement)
    assert result["TotalNumRows"] == 2
    assert result["Records"][0] == [{"stringValue": "2026-11-25"}, {"longValue": 3},
                                    {"doubleValue": 19.9}]
    assert result["Records"][1][1] == {"isNull": True}
    assert [c["name"] for c in result["ColumnMetadata"]] == ["day", "orders", "revenue"]


def test_a_batch_that_fails_reports_its_sub_statements_as_one_transaction(aws):
    aws.redshift_data.fail_statements(r"^INSERT", "ERROR: value too long")
    client = aws.client("redshift-data")
    batch = client.batch_execute_statement(Sqls=["DELETE FROM t", "INSERT INTO t VALUES (1)",
                                                 "DROP TABLE s"], **TARGET)["Id"]
    aws.clock.sleep(5)
    description = client.describe_statement(Id=batch)
    assert (description["Status"], description["Error"]) == ("FAILED", "ERROR: value too long")
    assert [s["Status"] for s in description["SubStatements"]] == [
        "FINISHED", "FAILED", "ABORTED"]
    assert description["SubStatements"][1]["Id"] == f"{batch}:2"


def test_a_statement_can_be_aborted_by_pattern_or_cancelled(aws):
    aws.redshift_data.abort_statements("VACUUM", times=1)
    client = aws.client("redshift-data")
    aborted = client.execute_statement(Sql="VACUUM t", **TARGET)["Id"]
    again = client.execute_statement(Sql="VACUUM t", **TARGET)["Id"]
    running = client.execute_statement(Sql="SELECT 1", **TARGET)["Id"]
    aws.clock.sleep(1)
    assert client.cancel_statement(Id=running)["Status"] is True
    aws.clock.sleep(5)
    assert client.describe_statement(Id=aborted)["Status"] == "ABORTED"
    assert client.describe_statement(Id=again)["Status"] == "FINISHED"  # times=1
    assert client.describe_statement(Id=running)["Status"] == "ABORTED"
    with pytest.raises(ClientError, match="already in FINISHED state"):
        client.cancel_statement(Id=again)


def test_throttled_submissions_are_refused_then_accepted(aws):
    aws.redshift_data.throttle_statements("SELECT", times=1)
    client = aws.client("redshift-data")
    with pytest.raises(client.exceptions.ActiveStatementsExceededException):
        client.execute_statement(Sql="SELECT 1", **TARGET)
    assert client.execute_statement(Sql="SELECT 1", **TARGET)["Id"]


def test_a_client_token_returns_the_statement_it_started(aws):
    client = aws.client("redshift-data")
    first = client.execute_statement(Sql="SELECT 1", ClientToken="token-1", **TARGET)["Id"]
    second = client.execute_statement(Sql="SELECT 1", ClientToken="token-1", **TARGET)["Id"]
    assert first == second and len(aws.redshift_data.statements) == 1


def test_unknown_workgroups_and_statements_are_refused_as_aws_refuses_them(aws):
    client = aws.client("redshift-data")
    with pytest.raises(client.exceptions.ValidationException, match="endpoint doesn't exist"):
        client.execute_statement(Sql="SELECT 1", WorkgroupName="nope", Database="dev")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_statement(Id="00000000-0000-0000-0000-000000000000")


def test_deployed_workgroups_are_known_with_the_arn_iam_names():
    stack = new_stack(stack_id="Warehouse")
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="reports")
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="reports",
                          namespace_name=namespace.namespace_name)
    with OfflineAws() as aws:
        aws.deploy(stack)
        arn = aws.redshift_data.workgroups["reports"]
        assert arn.startswith("arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/")
        assert aws.resource("Workgroup").attributes["Workgroup.WorkgroupArn"] == arn


def test_only_the_statements_owner_may_describe_it():
    stack = new_stack(stack_id="Owners")
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name=namespace.namespace_name)
    roles = []
    for name in ("Runner", "Other"):
        role = iam.Role(stack, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(
            actions=["redshift-data:ExecuteStatement", "redshift-serverless:GetCredentials"],
            resources=[workgroup.attr_workgroup_workgroup_arn]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["redshift-data:DescribeStatement"], resources=["*"],
            conditions={"StringEquals": {
                "redshift-data:statement-owner-iam-userid": "${aws:userid}"}}))
        roles.append(role)
    with OfflineAws() as aws:
        aws.deploy(stack)
        runner, other = (aws.iam.principal_for_role(aws.arn(name), "session")
                         for name in ("Runner", "Other"))
        client = aws.client("redshift-data")
        with aws.iam.acting(runner):
            statement = client.execute_statement(Sql="SELECT 1", **TARGET)["Id"]
            assert client.describe_statement(Id=statement)["Status"] == "SUBMITTED"
        with aws.iam.acting(other), pytest.raises(ClientError, match="not authorized"):
            client.describe_statement(Id=statement)


def test_list_statements_shows_the_callers_own_by_name_prefix_and_status():
    """ListStatements as its API reference documents it: only the caller's statements (its
    role's with RoleLevel, the default; its session's without), FINISHED only unless
    ``Status`` says otherwise, ``StatementName`` a case-sensitive prefix, pages of at most
    100 with a NextToken."""
    stack = new_stack(stack_id="Lister")
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name=namespace.namespace_name)
    for name in ("Runner", "Other"):
        role = iam.Role(stack, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(
            actions=["redshift-data:ExecuteStatement", "redshift-serverless:GetCredentials"],
            resources=[workgroup.attr_workgroup_workgroup_arn]))
        role.add_to_policy(iam.PolicyStatement(actions=["redshift-data:ListStatements"],
                                               resources=["*"]))
    with OfflineAws() as aws:
        aws.deploy(stack)
        runner, runner_later, other = (
            aws.iam.principal_for_role(aws.arn(role), session)
            for role, session in (("Runner", "a"), ("Runner", "b"), ("Other", "a")))
        client = aws.client("redshift-data")

        def listed(**params):
            return [s["StatementName"] for s in client.list_statements(**params)["Statements"]]

        with aws.iam.acting(runner):
            for name in ("cfn-x-0000", "cfn-x-0001", "cfn-y-0000", "CFN-x-0002"):
                client.execute_statement(Sql=f"SELECT '{name}'", StatementName=name, **TARGET)
            assert listed() == []  # none FINISHED yet
            assert listed(Status="ALL", StatementName="cfn-x-") == ["cfn-x-0001", "cfn-x-0000"]
            aws.clock.sleep(3)
            [first] = client.list_statements(StatementName="cfn-y")["Statements"]
            assert (first["Status"], first["QueryString"], first["IsBatchStatement"]) == (
                "FINISHED", "SELECT 'cfn-y-0000'", False)
            page = client.list_statements(Status="ALL", MaxResults=3)
            assert len(page["Statements"]) == 3
            rest = client.list_statements(Status="ALL", MaxResults=3,
                                          NextToken=page["NextToken"])
            assert len(rest["Statements"]) == 1 and "NextToken" not in rest
        with aws.iam.acting(runner_later):  # the same role, another session
            assert len(listed(Status="ALL")) == 4
            assert listed(Status="ALL", RoleLevel=False) == []
        with aws.iam.acting(other):
            assert listed(Status="ALL") == []
    operations = {call.operation for call in aws.redshift_data.calls}
    assert "ListStatements" in operations


@pytest.mark.parametrize(("params", "message"), [
    ({"Status": "DONE"}, "Status must be one of"),
    ({"MaxResults": 101}, "MaxResults"),
    ({"NextToken": "x"}, "NextToken is not valid"),
    ({"WorkgroupName": "sales", "ClusterIdentifier": "c"}, "cannot both be given"),
])
def test_list_statements_refuses_what_the_api_refuses(aws, params, message):
    with pytest.raises(ClientError, match=message):
        aws.client("redshift-data").list_statements(**params)
