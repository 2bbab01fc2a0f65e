"""The deploy-time Redshift SQL handlers (``lambda_src/redshift_sql``): the plan rule of
each CloudFormation request, idempotent submission, and failures that name the statement.

The Data API is a small in-test double here (the harness's emulator covers the wire
behaviour in tests/testing and tests/behaviour): it answers ExecuteStatement by client
token, and ListStatements and DescribeStatement from a script of statuses.
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
    """ExecuteStatement by client token; ListStatements from ``statuses[n]`` (statement
    n's status at each list that shows it, the last one kept); DescribeStatement too.
    ``lag``: how many lists leave out a statement after its submission."""

    def __init__(self, statuses: dict[int, list[str]], lag: int = 0) -> None:
        self.statuses = statuses
        self.lag = lag
        self.ids: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.unlisted: dict[str, int] = {}
        self.executed: list[str] = []
        self.calls: list[str] = []

    def execute_statement(self, **params: Any) -> dict[str, Any]:
        self.calls.append("ExecuteStatement")
        token = params["ClientToken"]
        if token not in self.ids:
            statement_id = self.ids[token] = str(len(self.ids))
            self.names[statement_id] = params["StatementName"]
            self.unlisted[statement_id] = self.lag
            self.executed.append(params["Sql"])
        return {"Id": self.ids[token]}

    def _status(self, statement_id: str, advance: bool) -> str:
        script = self.statuses[int(statement_id)]
        return script.pop(0) if advance and len(script) > 1 else script[0]

    def list_statements(self, **params: Any) -> dict[str, Any]:
        self.calls.append("ListStatements")
        assert (params["Status"], params["RoleLevel"]) == ("ALL", True)
        listed = []
        for statement_id, name in self.names.items():
            if not name.startswith(params["StatementName"]):
                continue
            if self.unlisted[statement_id] > 0:
                self.unlisted[statement_id] -= 1
                continue
            listed.append({"Id": statement_id, "StatementName": name,
                           "CreatedAt": int(statement_id),
                           "Status": self._status(statement_id, advance=True)})
        return {"Statements": listed}

    def describe_statement(self, Id: str) -> dict[str, Any]:
        self.calls.append("DescribeStatement")
        status = self._status(Id, advance=False)
        answer = {"Id": Id, "Status": status}
        if status in ("FAILED", "ABORTED"):
            answer["Error"] = "ERROR: relation \"a\" does not exist"
        return answer


def _polls(handler, api: _DataApi, event: dict[str, Any]) -> int:
    work = handler.plan(event)
    for poll in range(1, 10):
        if handler.progress(api, event, work):
            return poll
    raise AssertionError("never complete")


def test_statements_start_one_after_another_across_polls(handler):
    api = _DataApi({0: ["STARTED", "FINISHED"], 1: ["FINISHED"]})
    # 1: submit the first; 2: it runs; 3: it finished, submit the second; 4: both finished.
    assert _polls(handler, api, _event("Create")) == 4
    assert api.executed == list(PROPS["CreateSql"])
    # The least: one ListStatements a poll, one ExecuteStatement a statement.
    assert sorted(api.calls) == ["ExecuteStatement"] * 2 + ["ListStatements"] * 4


def test_a_statement_the_list_does_not_show_yet_is_not_run_twice(handler):
    api = _DataApi({0: ["FINISHED"], 1: ["FINISHED"]}, lag=1)
    _polls(handler, api, _event("Create"))
    assert api.executed == list(PROPS["CreateSql"])  # re-submitted by token: same statement


def test_another_requests_statements_are_not_this_ones(handler):
    api = _DataApi({0: ["FINISHED"], 1: ["FINISHED"], 2: ["FINISHED"], 3: ["FINISHED"]})
    _polls(handler, api, _event("Create"))
    other = {**_event("Create"), "RequestId": "req-2"}
    _polls(handler, api, other)
    assert api.executed == list(PROPS["CreateSql"]) * 2
    assert handler.request_prefix("req-1") != handler.request_prefix("req-2")


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_or_aborted_statement_raises_with_the_statement_and_error(handler, status):
    api = _DataApi({0: ["FINISHED"], 1: [status]})
    event = _event("Create")
    with pytest.raises(handler.StatementFailedError) as failure:
        _polls(handler, api, event)
    message = str(failure.value)
    assert f"statement 2 of 2 on workgroup sales, database dev ended {status}" in message
    assert 'relation "a" does not exist' in message
    assert message.endswith("statement: CREATE TABLE a.t (x INT)")
    assert api.calls[-1] == "DescribeStatement"  # the error is only in the description


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
    # t=0 the first submitted; t=10 it finished, the second submitted; t=20 both finished.
    assert len(polls) == 3
    operations = [call.operation for call in data_api.redshift_data.calls]
    assert sorted(operations) == ["ExecuteStatement"] * 2 + ["ListStatements"] * 3


def test_a_repeated_poll_after_completion_starts_nothing_again(
        handler, lambda_context, data_api):
    event = _event("Create")
    _poll_until_complete(handler, event, lambda_context, data_api)

    assert handler.is_complete(event, lambda_context) == {"IsComplete": True}
    assert data_api.redshift_data.sql_run() == PROPS["CreateSql"]
