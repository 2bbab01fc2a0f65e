"""Deploy-time Redshift SQL (``RedshiftSqlRunner``): the provider framework's two handlers.

``on_event`` (entry point ``index.on_event``) answers CloudFormation's Create, Update and
Delete requests: it checks the request and names the physical resource. ``is_complete``
(``index.is_complete``) is then invoked by the framework's waiter, at once and then every
query interval, until it answers ``IsComplete`` (or the total timeout fails the deploy); it
runs the statements. Only ``is_complete`` calls the Data API, so every statement belongs
to its role: ``DescribeStatement`` is granted only on the caller's own statements
(``redshift-data:statement-owner-iam-userid``), and a statement started by another role
could not be polled.

What runs, per request (the rule the construct documents):

- **Create**: the ``CreateSql`` statements, in order;
- **Update**: nothing when the SQL and the target are unchanged (a redeploy of the same
  runner is a no-op). When the SQL changed, the *old* ``DropSql`` (if any), then the new
  ``CreateSql``. When the target (workgroup, database) changed, the runner is *replaced*:
  the new ``CreateSql`` runs on the new target and CloudFormation's later Delete of the
  old resource runs the old ``DropSql`` on the old target;
- **Delete**: the ``DropSql`` statements, in order (nothing when there are none).

Statements run one at a time through the Data API's ``ExecuteStatement``, never batched:
``CREATE DATABASE ... FROM INTEGRATION``, ``COPY ... JOB CREATE`` or ``CREATE EXTERNAL
SCHEMA`` cannot run inside the transaction block ``BatchExecuteStatement`` opens. The
handlers keep no state between polls; the Data API does. Statement *i* of a request is
named after the request (:func:`statement_name`), so one ``ListStatements`` per poll reads
where every statement of the request stands; ``is_complete`` then submits the first one
not started, once every one before it is FINISHED. A submission carries a ``ClientToken``
derived from the request id and the statement's position, so submitting again a statement
the list does not show yet (the list lags the submission) gets the statement the first
submission started (the Data API's idempotency). FAILED or ABORTED fails the request with
the statement and Redshift's error (one ``DescribeStatement``: the list carries no error);
nothing loops forever. Per request that is one ``ExecuteStatement`` per statement and one
``ListStatements`` per poll, the least the work needs (issue #16): re-submitting and
describing every statement on every poll cost twice that.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config

logger = Logger()
tracer = Tracer()

#: The Data API's terminal statuses; anything else (SUBMITTED, PICKED, STARTED) is running.
FINISHED = "FINISHED"
FAILED_STATUSES = frozenset({"FAILED", "ABORTED"})
#: The Data API accepts client tokens of up to 64 characters.
_TOKEN_LENGTH = 64


class StatementFailedError(Exception):
    """A statement ended FAILED or ABORTED: the message names it and Redshift's error."""


class RequestError(ValueError):
    """The custom resource's properties are not what the construct synthesizes."""


@dataclass(frozen=True)
class Target:
    """Where the statements run, and with which credentials."""

    workgroup_name: str
    database: str
    secret_arn: str | None = None

    def parameters(self) -> dict[str, str]:
        """The ExecuteStatement parameters naming the target."""
        found = {"WorkgroupName": self.workgroup_name, "Database": self.database}
        if self.secret_arn:
            found["SecretArn"] = self.secret_arn
        return found


@dataclass(frozen=True)
class Plan:
    """The statements one request runs, in order, and the resource's physical id."""

    physical_id: str
    target: Target
    statements: tuple[str, ...]


@functools.cache
def _client() -> BaseClient:
    """One Data API client per execution environment: the waiter polls the same warm
    function every query interval, and building a client (botocore's service model and
    endpoint rules) cost more than the poll's own work."""
    return boto3.client("redshift-data", config=Config(retries={"mode": "standard"}))


def target_of(properties: Mapping[str, Any]) -> Target:
    """The target named by the resource properties; a clear error if one is missing."""
    missing = [name for name in ("WorkgroupName", "Database") if not properties.get(name)]
    if missing:
        raise RequestError(f"missing resource properties: {', '.join(missing)}")
    secret = properties.get("SecretArn")
    return Target(str(properties["WorkgroupName"]), str(properties["Database"]),
                  str(secret) if secret else None)


def statements_of(properties: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """The list property ``name`` (CloudFormation passes lists of strings as they are)."""
    value = properties.get(name) or []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise RequestError(f"{name} must be a list of SQL statements, got {value!r}")
    return tuple(str(statement) for statement in value)


def physical_id_of(target: Target) -> str:
    """One id per target: a changed target makes CloudFormation replace the resource."""
    return f"redshift-sql:{target.workgroup_name}/{target.database}"


def plan(event: Mapping[str, Any]) -> Plan:
    """What ``event`` runs, by the rule of the module docstring."""
    request = event["RequestType"]
    properties = event.get("ResourceProperties") or {}
    target = target_of(properties)
    create = statements_of(properties, "CreateSql")
    if request == "Create":
        return Plan(physical_id_of(target), target, create)
    if request == "Delete":
        # The physical id is the one Create answered; the properties are the deployed ones.
        return Plan(str(event["PhysicalResourceId"]), target,
                    statements_of(properties, "DropSql"))
    if request != "Update":
        raise RequestError(f"unknown RequestType {request!r}")
    old = event.get("OldResourceProperties") or {}
    old_target = target_of(old)
    if old_target != target:
        return Plan(physical_id_of(target), target, create)
    if statements_of(old, "CreateSql") == create and old.get("SecretArn") == properties.get(
            "SecretArn"):
        return Plan(str(event["PhysicalResourceId"]), target, ())
    return Plan(str(event["PhysicalResourceId"]), target,
                statements_of(old, "DropSql") + create)


def client_token(request_id: str, index: int, statement: str) -> str:
    """The idempotency token of statement ``index`` of one request (at most 64 chars)."""
    digest = hashlib.sha256(f"{request_id}\n{index}\n{statement}".encode()).hexdigest()
    return f"{index:04d}-{digest}"[:_TOKEN_LENGTH]


def statement_name(request_id: str, index: int) -> str:
    """The name of statement ``index`` of one request: the request's prefix
    (:func:`request_prefix`), then the position."""
    return f"{request_prefix(request_id)}{index:04d}"


def request_prefix(request_id: str) -> str:
    """What every statement name of one request starts with, and no other request's."""
    return f"cfn-{hashlib.sha256(request_id.encode()).hexdigest()[:24]}-"


def submit(client: BaseClient, event: Mapping[str, Any], work: Plan, index: int) -> str:
    """Start statement ``index`` (or find the one an earlier call started); its id."""
    statement = work.statements[index]
    request_id = str(event["RequestId"])
    response = client.execute_statement(
        Sql=statement, ClientToken=client_token(request_id, index, statement),
        StatementName=statement_name(request_id, index), WithEvent=False,
        **work.target.parameters())
    return str(response["Id"])


def started_statements(client: BaseClient, event: Mapping[str, Any]) -> dict[str, Any]:
    """This request's statements the Data API knows, by name: one ``ListStatements`` (a
    request has far fewer statements than a page holds), every status, this role's own.

    Should a name appear twice, the latest statement counts.
    """
    found: dict[str, Any] = {}
    parameters: dict[str, Any] = {"StatementName": request_prefix(str(event["RequestId"])),
                                  "Status": "ALL", "RoleLevel": True, "MaxResults": 100}
    while True:
        page = client.list_statements(**parameters)
        for statement in page.get("Statements", []):
            name = statement.get("StatementName")
            if name and (name not in found
                         or statement["CreatedAt"] > found[name]["CreatedAt"]):
                found[name] = statement
        if not page.get("NextToken"):
            return found
        parameters["NextToken"] = page["NextToken"]


def describe_failure(work: Plan, index: int, description: Mapping[str, Any]) -> str:
    """The deploy's error: which statement, its status, and Redshift's message."""
    return (f"statement {index + 1} of {len(work.statements)} on workgroup "
            f"{work.target.workgroup_name}, database {work.target.database} ended "
            f"{description.get('Status')}: {description.get('Error') or 'no error given'}; "
            f"statement: {work.statements[index]}")


def progress(client: BaseClient, event: Mapping[str, Any], work: Plan) -> bool:
    """Advance the request: True once every statement FINISHED.

    Reads where the request's statements stand (:func:`started_statements`), then walks
    them in order: the first one not started is submitted. Raises
    :class:`StatementFailedError` on the first FAILED or ABORTED.
    """
    started = started_statements(client, event)
    request_id = str(event["RequestId"])
    for index in range(len(work.statements)):
        listed = started.get(statement_name(request_id, index))
        if listed is None:
            statement_id = submit(client, event, work, index)
            logger.info("statement submitted", extra={"index": index,
                                                      "statement_id": statement_id})
            return False
        status = listed.get("Status")
        if status in FAILED_STATUSES:
            description = client.describe_statement(Id=listed["Id"])
            raise StatementFailedError(describe_failure(work, index, description))
        if status != FINISHED:
            logger.info("statement running", extra={"index": index, "status": status,
                                                    "statement_id": listed["Id"]})
            return False
    return True


def response_data(work: Plan) -> dict[str, Any]:
    return {"PhysicalResourceId": work.physical_id,
            "Data": {"StatementCount": str(len(work.statements))}}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def on_event(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the request and name the resource; ``is_complete`` runs the statements."""
    work = plan(event)
    logger.info("request", extra={"request_type": event["RequestType"],
                                  "statements": len(work.statements),
                                  "workgroup": work.target.workgroup_name,
                                  "database": work.target.database})
    return response_data(work)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def is_complete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One poll: True once every statement of the request FINISHED."""
    work = plan(event)
    if not work.statements:
        return {"IsComplete": True}
    done = progress(_client(), event, work)
    if done:
        logger.info("request complete", extra={"statements": len(work.statements)})
    return {"IsComplete": done}

