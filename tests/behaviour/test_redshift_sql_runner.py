"""``RedshiftSqlRunner`` deployed, updated and deleted on the harness's Data API.

The provider framework's requests go through the real bundled handlers
(``lambda_src/redshift_sql``), as their roles (IAM enforced), against the emulated Data API:
the order of statements on create, update and delete, and FAILED / ABORTED statements that
fail the request with the statement and Redshift's error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_redshiftserverless as redshift

from analytics_orchestration import RedshiftSqlRunner, RedshiftTarget
from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.exceptions import CustomResourceFailedError
from tests.support import new_stack

CREATE = ['CREATE SCHEMA IF NOT EXISTS "sales"',
          'CREATE TABLE IF NOT EXISTS "sales"."daily" ("day" DATE, "revenue" DECIMAL(18, 2))']
DROP = ['DROP TABLE IF EXISTS "sales"."daily"', 'DROP SCHEMA IF EXISTS "sales"']


def _stack(create: Sequence[str] = tuple(CREATE), drop: Sequence[str] = tuple(DROP), *,
           database: str = "analytics", total_timeout: Duration | None = None) -> Stack:
    stack = new_stack(stack_id="Warehouse")
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name=namespace.namespace_name)
    extra = {} if total_timeout is None else {"total_timeout": total_timeout}
    RedshiftSqlRunner(stack, "Schema",
                      target=RedshiftTarget.of_workgroup(workgroup, database=database),
                      create_sql=list(create), drop_sql=list(drop), **extra)
    return stack


def _executed(aws: OfflineAws) -> list[str]:
    return aws.redshift_data.sql_run()


def test_create_runs_the_create_sql_one_statement_at_a_time_in_order():
    with OfflineAws() as aws:
        aws.deploy(_stack())
        assert _executed(aws) == CREATE
        statements = aws.redshift_data.statements
        assert [s.batch for s in statements] == [False, False]
        assert {(s.workgroup_name, s.database, s.secret_arn) for s in statements} == {
            ("sales", "analytics", None)}
        # The second statement starts only once the first FINISHED (statuses on the clock).
        assert statements[1].created_at >= statements[0].created_at + 3
        [request] = aws.custom_resource_requests
        assert (request.request_type, request.failure) == ("Create", None)
        assert request.physical_id == "redshift-sql:sales/analytics"
        assert request.polls >= 2
        # Every Data API call the handlers made was allowed by their roles.
        assert aws.iam_denials() == []


def test_an_update_with_the_same_sql_runs_nothing():
    with OfflineAws() as aws:
        aws.deploy(_stack())
        aws.update(_stack())
        assert _executed(aws) == CREATE
        assert [r.request_type for r in aws.custom_resource_requests] == ["Create"]


def test_an_update_with_new_sql_runs_the_old_drop_sql_then_the_new_create_sql():
    new_create = [*CREATE, 'CREATE VIEW "sales"."recent" AS SELECT * FROM "sales"."daily"']
    new_drop = ['DROP VIEW IF EXISTS "sales"."recent"', *DROP]
    with OfflineAws() as aws:
        aws.deploy(_stack())
        aws.update(_stack(new_create, new_drop))
        assert _executed(aws) == [*CREATE, *DROP, *new_create]
        aws.destroy("Warehouse")
        assert _executed(aws)[-3:] == new_drop
        assert [r.request_type for r in aws.custom_resource_requests] == [
            "Create", "Update", "Delete"]


def test_a_new_database_replaces_the_resource_and_drops_on_the_old_one():
    with OfflineAws() as aws:
        aws.deploy(_stack())
        aws.update(_stack(database="reporting"))
        runs = [(s.database, s.sql) for s in aws.redshift_data.statements]
        assert runs == [*[("analytics", sql) for sql in CREATE],
                        *[("reporting", sql) for sql in CREATE],
                        *[("analytics", sql) for sql in DROP]]


def test_delete_runs_the_drop_sql_in_order():
    with OfflineAws() as aws:
        aws.deploy(_stack())
        aws.destroy("Warehouse")
        assert _executed(aws) == [*CREATE, *DROP]


def test_a_failed_statement_fails_the_deploy_with_the_statement_and_redshifts_error():
    with OfflineAws() as aws:
        aws.redshift_data.fail_statements(r"CREATE TABLE", 'ERROR: type "decimal(99)" does '
                                          "not exist")
        with pytest.raises(CustomResourceFailedError) as failure:
            aws.deploy(_stack())
        reason = failure.value.reason
        assert "statement 2 of 2" in reason and "ended FAILED" in reason
        assert 'type "decimal(99)" does not exist' in reason
        assert CREATE[1] in reason
        # Nothing after the failed statement ran.
        assert _executed(aws) == CREATE


def test_an_aborted_statement_fails_the_deploy_instead_of_polling_forever():
    with OfflineAws() as aws:
        aws.redshift_data.abort_statements(r"CREATE SCHEMA")
        with pytest.raises(CustomResourceFailedError, match="ended ABORTED") as failure:
            aws.deploy(_stack())
        assert CREATE[0] in failure.value.reason
        assert _executed(aws) == CREATE[:1]
        [request] = aws.custom_resource_requests
        assert request.polls < 5


def test_statements_that_never_finish_fail_the_deploy_at_the_total_timeout():
    with OfflineAws() as aws:
        aws.redshift_data.statement_seconds = 10_000
        with pytest.raises(CustomResourceFailedError, match="Operation timed out"):
            aws.deploy(_stack(total_timeout=Duration.minutes(2)))
        [request] = aws.custom_resource_requests
        # 2 minutes of 10-second polls: the waiter's attempts, then the timeout.
        assert request.polls == 13
