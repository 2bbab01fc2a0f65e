"""The workflow's Redshift step (``EtlStep.redshift_sql``) on the harness's Data API.

The state machine's ``aws-sdk:redshiftdata`` tasks reach the emulated Data API as the state
machine's role (IAM enforced): the statement runs, the poll loop waits on virtual time
until FINISHED, throttling is retried with backoff, and a FAILED or ABORTED statement
takes the workflow's failure path (ledger row FAILED with Redshift's error).
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_redshiftserverless as redshift

from analytics_orchestration import EtlStep, RedshiftTarget, StepFunctionsEtl
from analytics_orchestration.testing import OfflineAws
from tests.support import new_stack

MERGE = ('MERGE INTO "sales"."daily" USING "staging"."daily" AS s ON "sales"."daily"."day" '
         '= s."day" WHEN MATCHED THEN UPDATE SET "revenue" = s."revenue" WHEN NOT MATCHED '
         'THEN INSERT VALUES (s."day", s."revenue")')
CLEAN = 'DELETE FROM "staging"."daily"'


def _stack(sql: list[str]):
    stack = new_stack(stack_id="Loads")
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name=namespace.namespace_name)
    StepFunctionsEtl(stack, "Etl", load=[EtlStep.redshift_sql(
        "MergeDaily", sql, target=RedshiftTarget.of_workgroup(workgroup, database="analytics"),
        poll_interval=Duration.seconds(5))])
    return stack


def _run(aws: OfflineAws):
    execution = aws.start_execution("Etl/StateMachine", {"day": "2026-11-25"})
    return aws.wait_for_execution(execution)


def test_the_step_runs_the_statement_and_polls_until_it_finished():
    with OfflineAws() as aws:
        aws.deploy(_stack([MERGE]))
        execution = _run(aws)
        assert execution.status == "SUCCEEDED"
        [statement] = aws.redshift_data.statements
        assert (statement.sql, statement.workgroup_name, statement.database) == (
            MERGE, "sales", "analytics")
        assert statement.statement_name == "MergeDaily"
        entered = execution.states_entered()
        assert entered.count("MergeDailyPoll") == 1  # 3 s statement, 5 s poll interval
        assert entered.index("MergeDaily") < entered.index("MergeDailySucceeded")
        result = execution.output["results"]["MergeDaily"]
        assert (result["Id"], result["Status"]) == (statement.id, "FINISHED")
        [row] = aws.table_items("Etl/Ledger")
        assert row["status"] == "SUCCEEDED"
        assert aws.iam_denials() == []


def test_several_statements_run_as_one_batch():
    with OfflineAws() as aws:
        aws.deploy(_stack([MERGE, CLEAN]))
        assert _run(aws).status == "SUCCEEDED"
        [statement] = aws.redshift_data.statements
        assert statement.batch and statement.sqls == [MERGE, CLEAN]
        operations = [call.operation for call in aws.redshift_data.calls]
        assert operations[0] == "BatchExecuteStatement"
        assert set(operations[1:]) == {"DescribeStatement"}


def test_a_long_statement_is_polled_until_it_finished():
    with OfflineAws() as aws:
        aws.redshift_data.statement_seconds = 22
        aws.deploy(_stack([MERGE]))
        execution = _run(aws)
        assert execution.status == "SUCCEEDED"
        assert execution.states_entered().count("MergeDailyPoll") == 5


def test_throttling_is_retried_with_backoff():
    with OfflineAws() as aws:
        aws.redshift_data.throttle_statements("MERGE", times=2)
        aws.deploy(_stack([MERGE]))
        before = aws.virtual_seconds
        execution = _run(aws)
        assert execution.status == "SUCCEEDED"
        assert len(aws.redshift_data.statements) == 1
        refused = [c for c in aws.redshift_data.calls if c.operation == "ExecuteStatement"]
        assert len(refused) == 3
        # Two retries with the workflow's backoff (5 s, then up to 10 s, full jitter).
        assert aws.virtual_seconds - before >= 5


def test_a_failed_statement_takes_the_failure_path_with_redshifts_error():
    with OfflineAws() as aws:
        aws.redshift_data.fail_statements("MERGE", 'ERROR: relation "staging.daily" does '
                                          "not exist")
        aws.deploy(_stack([MERGE]))
        execution = _run(aws)
        assert execution.status == "FAILED"
        assert execution.error == "Redshift.StatementFailed"
        cause = json.loads(execution.cause)
        assert cause["Status"] == "FAILED"
        assert cause["Error"] == 'ERROR: relation "staging.daily" does not exist'
        assert cause["QueryString"] == MERGE
        assert "MergeDailySucceeded" not in execution.states_entered()
        [row] = aws.table_items("Etl/Ledger")
        assert row["status"] == "FAILED" and row["error"] == "Redshift.StatementFailed"


def test_an_aborted_statement_takes_the_failure_path():
    with OfflineAws() as aws:
        aws.redshift_data.abort_statements("MERGE")
        aws.deploy(_stack([MERGE]))
        execution = _run(aws)
        assert execution.status == "FAILED"
        assert json.loads(execution.cause)["Status"] == "ABORTED"
