"""The deploy-time Redshift SQL handlers (``lambda_src/redshift_sql``): the plan rule of
each CloudFormation request, idempotent submission, and failures that name the statement.

The Data API is a small in-test double here (the harness's emulator covers the wire
behaviour in tests/testing and tests/behaviour): it answers ExecuteStatement by client
token and DescribeStatement from a script of statuses.
"""

from __future__ import annotations

from typing import Any

import pytest

PROPS = {"ServiceToken": "arn", "WorkgroupName": "sales", "Database": "dev",
         "CreateSql": ["CREATE SCHEMA a", "CREATE TABLE a.t (x INT)"],
         "DropSql": ["DROP TABLE a.t", "DROP SCHEMA a"]}


@pytest.fixture
def handler(load_handler, aws_credentials):
    return load_handler("redshift_sql")


def _event(request: str, props: dict[str, Any] = PROPS, old: dict[str, Any] | None = None,
           physical: str | None = "redshift-sql:sales/dev") -> dict[str, Any]:
    event: dict[str, Any] = {"RequestType": request, "RequestId": "req-1",
                             "ResourceProperties": props}
    if old is not None:
        event["OldResourceProperties"] = old
    if physical is not None and request != "Create":
        event["PhysicalResourceId"] = physical
    return event


def test_create_runs_the_create_sql(handler):
    work = handler.plan(_event("Create"))
    assert work.statements == tuple(PROPS["CreateSql"])
    assert work.physical_id == "redshift-sql:sales/dev"


def test_delete_runs_the_drop_sql(handler):
    assert handler.plan(_event("Delete")).statements == tuple(PROPS["DropSql"])


def test_an_unchanged_update_runs_nothing(handler):
    assert handler.plan(_event("Update", old=dict(PROPS))).statements == ()


def test_a_changed_update_drops_the_old_version_first(handler):
    new = {**PROPS, "CreateSql": ["CREATE SCHEMA b"], "DropSql": ["DROP SCHEMA b"]}
    work = handler.plan(_event("Update", new, old=dict(PROPS)))
    assert work.statements == ("DROP TABLE a.t", "DROP SCHEMA a", "CREATE SCHEMA b")
    assert work.physical_id == "redshift-sql:sales/dev"


def test_a_new_secret_reruns_the_create_sql(handler):
    new = {**PROPS, "SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}
    assert handler.plan(_event("Update", new, old=dict(PROPS))).statements[-2:] == tuple(
        PROPS["CreateSql"])


def test_a_new_target_is_a_replacement(handler):
    new = {**PROPS, "Database": "other"}
    work = handler.plan(_event("Update", new, old=dict(PROPS)))
    assert work.statements == tuple(PROPS["CreateSql"])
    assert work.physical_id == "redshift-sql:sales/other"


@pytest.mark.parametrize(("props", "message"), [
    ({**PROPS, "Database": ""}, "Database"),
    ({**PROPS, "CreateSql": "CREATE SCHEMA a"}, "list of SQL statements"),
])
def test_malformed_properties_are_a_clear_error(handler, props, message):
    with pytest.raises(handler.RequestError, match=message):
        handler.plan(_event("Create", props))


def test_client_tokens_are_stable_distinct_and_short(handler):
    tokens = {handler.client_token("req-1", i, sql) for i, sql in enumerate(["a", "a", "b"])}
    assert len(tokens) == 3
    assert handler.client_token("req-1", 0, "a") == handler.client_token("req-1", 0, "a")
    assert handler.client_token("req-2", 0, "a") != handler.client_token("req-1", 0, "a")
    assert all(len(t) <= 64 for t in tokens)


class _DataApi:
    """ExecuteStatement by client token; DescribeStatement from ``statuses[id]``."""

    def __init__(self, statuses: dict[int, list[str]]) -> None:
        self.statuses = statuses
        self.ids: dict[str, str] = {}
        self.executed: list[str] = []

    def execute_statement(self, **params: Any) -> dict[str, Any]:
        token = params["ClientToken"]
        if token not in self.ids:
            self.ids[token] = str(len(self.ids))
            self.executed.append(params["Sql"])
        return {"Id": self.ids[token]}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        script = self.statuses[int(Id)]
        status = script.pop(0) if len(script) > 1 else script[0]
        answer = {"Id": Id, "Status": status}
        if status in ("FAILED", "ABORTED"):
            answer["Error"] = "ERROR: relation \"a\" does not exist"
        return answer


def test_statements_start_one_after_another_across_polls(handler):
    api = _DataApi({0: ["STARTED", "FINISHED"], 1: ["FINISHED"]})
    event = _event("Create")
    work = handler.plan(event)
    assert handler.progress(api, event, work) is False
    assert api.executed == ["CREATE SCHEMA a"]
    assert handler.progress(api, event, work) is True
    assert api.executed == list(PROPS["CreateSql"])


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_or_aborted_statement_raises_with_the_statement_and_error(handler, status):
    api = _DataApi({0: ["FINISHED"], 1: [status]})
    event = _event("Create")
    with pytest.raises(handler.StatementFailedError) as failure:
        handler.progress(api, event, handler.plan(event))
    message = str(failure.value)
    assert f"statement 2 of 2 on workgroup sales, database dev ended {status}" in message
    assert 'relation "a" does not exist' in message
    assert message.endswith("statement: CREATE TABLE a.t (x INT)")


def test_on_event_calls_no_data_api_and_names_the_resource(handler, lambda_context):
    answer = handler.on_event(_event("Create"), lambda_context)
    assert answer == {"PhysicalResourceId": "redshift-sql:sales/dev",
                      "Data": {"StatementCount": "2"}}


def test_is_complete_with_nothing_to_run_is_complete_at_once(handler, lambda_context):
    assert handler.is_complete(_event("Update", old=dict(PROPS)), lambda_context) == {
        "IsComplete": True}


#: The provider framework's waiter polls at once, then every query interval (the
#: construct's default: 10 s).
QUERY_INTERVAL_SECONDS = 10


@pytest.fixture
def data_api(aws_credentials):
    """The harness's Data API (client tokens, statuses on virtual time) with workgroup sales."""
    from analytics_orchestration.testing import OfflineAws

    with OfflineAws(iam="off") as aws:
        aws.redshift_data.add_workgroup("sales")
        yield aws


def _poll_until_complete(handler, event, context, aws) -> list[dict[str, Any]]:
    """Run ``is_complete`` as the waiter does: at once, then every query interval."""
    polls: list[dict[str, Any]] = []
    while not polls or not polls[-1]["IsComplete"]:
        assert len(polls) < 10, "never complete"
        if polls:
            aws.clock.sleep(QUERY_INTERVAL_SECONDS)
        polls.append(handler.is_complete(event, context))
    return polls


def test_is_complete_starts_each_statement_once_across_polls_of_the_data_api(
        handler, lambda_context, data_api):
    polls = _poll_until_complete(handler, _event("Create"), lambda_context, data_api)

    assert data_api.redshift_data.sql_run() == PROPS["CreateSql"]
    # t=0 the first running; t=10 it finished, the second started; t=20 both finished.
    assert len(polls) == 3


def test_a_repeated_poll_after_completion_starts_nothing_again(
        handler, lambda_context, data_api):
    event = _event("Create")
    _poll_until_complete(handler, event, lambda_context, data_api)

    assert handler.is_complete(event, lambda_context) == {"IsComplete": True}
    assert data_api.redshift_data.sql_run() == PROPS["CreateSql"]
