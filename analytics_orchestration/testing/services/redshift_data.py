"""The Redshift Data API, emulated: statements recorded in order, statuses on virtual time.

moto 5.2.5's ``redshift-data`` knows clusters only (no ``WorkgroupName``), has no
``BatchExecuteStatement``, and answers every statement FINISHED at once. Its response
methods are replaced here, so that the bundled handlers (boto3 in-process) and Step
Functions' ``aws-sdk:redshiftdata`` tasks reach one emulator that:

- records every ``ExecuteStatement`` / ``BatchExecuteStatement`` / ``DescribeStatement`` /
  ``ListStatements`` / ``GetStatementResult`` / ``CancelStatement`` call in order with its
  parameters
  (:attr:`RedshiftDataService.calls`) and every statement with its SQL, parameters and
  workgroup / database / secret (:attr:`RedshiftDataService.statements`);
- refuses a workgroup that no deployed ``AWS::RedshiftServerless::Workgroup`` (and no
  :meth:`RedshiftDataService.add_workgroup`) names, as AWS does (``ValidationException``);
- moves each statement SUBMITTED -> STARTED -> FINISHED as the harness clock advances
  (:attr:`RedshiftDataService.statement_seconds`); :meth:`fail_statements` and
  :meth:`abort_statements` make the statements whose SQL matches a pattern end FAILED (with
  the error given) or ABORTED instead; ``CancelStatement`` aborts a running one;
- answers ``GetStatementResult`` with the rows a test injected (:meth:`set_result`);
- honours ``ClientToken`` (the same token returns the same statement), and records each
  statement's owner (the caller's ``aws:userid``) for the IAM condition key
  ``redshift-data:statement-owner-iam-userid``;
- lists statements as ``ListStatements`` documents it (Amazon Redshift Data API Reference):
  only the caller's own (its role's with ``RoleLevel``, the default; its session's
  without), only FINISHED ones unless ``Status`` says otherwise (``ALL``), ``StatementName``
  a case-sensitive prefix, ``MaxResults`` up to 100 a page with a ``NextToken``. AWS
  documents no order; the harness lists the newest first.

Zero-ETL integrations (``AWS::Redshift::Integration`` from S3 or DynamoDB,
``AWS::RDS::Integration`` from Aurora) deploy as records (:attr:`RedshiftDataService.integrations`)
with their ARN: the harness does **not** emulate replication or auto-copy (no data reaches
a database); what a test can check is the resources, their order and the SQL run on them.

An Aurora integration is refused (:class:`IntegrationRefused`), as its creation fails on
AWS ("Troubleshooting zero-ETL integrations", Amazon Redshift Management Guide: "Creation
of the integration failed"), when the source cluster is not deployed, runs an engine
version zero-ETL does not accept (:data:`ZERO_ETL_MINIMUM_VERSIONS`), or its cluster
parameter group lacks a setting of :data:`ZERO_ETL_CLUSTER_PARAMETERS`; or when the target
namespace's resource policy does not authorize the source, or the namespace's workgroup
does not have ``enable_case_sensitive_identifier`` true. These tables are written from AWS's
documentation, not from the library's constructs, so that they check the constructs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.rds import RdsService

__all__ = ["ZERO_ETL_CLUSTER_PARAMETERS", "ZERO_ETL_MINIMUM_VERSIONS", "DataApiCall",
           "IntegrationRefused", "RedshiftDataService", "StatementRecord"]

#: Seconds a statement spends SUBMITTED before it is STARTED.
SUBMITTED_SECONDS = 1.0
#: Seconds from submission until a statement ends (FINISHED, FAILED or ABORTED).
DEFAULT_STATEMENT_SECONDS = 3.0
TERMINAL = frozenset({"FINISHED", "FAILED", "ABORTED"})
#: ``ListStatements``'s ``Status`` filter values (the API's enumeration).
LIST_STATUSES = frozenset({"SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED",
                           "ALL"})
#: ``ListStatements``'s page size: 0 to 100 (the harness reads 0 or none as 100).
LIST_PAGE_LIMIT = 100
#: Engine -> the cluster parameters an Aurora zero-ETL source must have ("Configure DB
#: cluster parameters", Getting started with Aurora zero-ETL integrations, Amazon Aurora
#: User Guide).
ZERO_ETL_CLUSTER_PARAMETERS: dict[str, dict[str, str]] = {
    "aurora-mysql": {"aurora_enhanced_binlog": "1", "binlog_backup": "0",
                     "binlog_format": "ROW", "binlog_replication_globaldb": "0",
                     "binlog_row_image": "full", "binlog_row_metadata": "full"},
    "aurora-postgresql": {"rds.logical_replication": "1",
                          "aurora.enhanced_logical_replication": "1",
                          "aurora.logical_replication_backup": "0",
                          "aurora.logical_replication_globaldb": "0"},
}
#: Engine -> the oldest version zero-ETL with Redshift accepts ("Supported Regions and
#: Aurora DB engines for zero-ETL integrations", Amazon Aurora User Guide).
ZERO_ETL_MINIMUM_VERSIONS: dict[str, tuple[int, ...]] = {
    "aurora-mysql": (3, 5, 2), "aurora-postgresql": (16, 4)}
_CASE_SENSITIVE = "enable_case_sensitive_identifier"


class IntegrationRefused(ValueError):
    """An Aurora zero-ETL integration whose creation would fail on AWS (why, named)."""


@dataclass
class DataApiCall:
    """One Data API call as made: operation and parameters (API casing)."""

    operation: str
    parameters: dict[str, Any]


@dataclass
class StatementRecord:
    """One statement (or batch) submitted to the Data API."""

    id: str
    sqls: list[str]
    workgroup_name: str | None
    cluster_identifier: str | None
    database: str | None
    secret_arn: str | None
    db_user: str | None
    parameters: list[dict[str, Any]]
    statement_name: str | None
    owner: str | None
    created_at: float
    batch: bool
    outcome: str = "FINISHED"
    error: str | None = None
    failed_index: int | None = None
    cancelled_at: float | None = None
    result: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def sql(self) -> str:
        """The statement's SQL (a batch's statements joined with ``;``)."""
        return "; ".join(self.sqls)


@dataclass(frozen=True)
class _Outcome:
    pattern: re.Pattern[str]
    status: str
    error: str | None
    times: int | None


class RedshiftDataService:
    """The Data API of one harness, and the Redshift Serverless resources it runs on."""

    def __init__(self, kernel: Kernel, iam: Iam, rds: RdsService | None = None) -> None:
        self.kernel = kernel
        self.iam = iam
        self.rds = rds
        """The clusters Aurora integrations read from (None: their sources go unchecked)."""
        self.namespaces: dict[str, dict[str, Any]] = {}
        """Namespace ARN -> its template properties (resource policy included)."""
        self.workgroup_properties: dict[str, dict[str, Any]] = {}
        """Workgroup name -> its template properties."""
        self.calls: list[DataApiCall] = []
        """Every Data API call, oldest first."""
        self.statements: list[StatementRecord] = []
        """Every statement (or batch) submitted, oldest first."""
        self.statement_seconds = DEFAULT_STATEMENT_SECONDS
        """Virtual seconds from submission until a statement ends."""
        self.workgroups: dict[str, str] = {}
        """Workgroup name -> ARN (deployed or added)."""
        self.integrations: dict[str, dict[str, Any]] = {}
        """Integration ARN -> its template properties (as deployed; nothing replicated)."""
        self._outcomes: list[_Outcome] = []
        self._results: list[tuple[re.Pattern[str], dict[str, Any]]] = []
        self._throttles: list[list[Any]] = []
        self._tokens: dict[str, str] = {}
        self._by_id: dict[str, StatementRecord] = {}

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::RedshiftServerless::Namespace": self._namespace,
                "AWS::RedshiftServerless::Workgroup": self._workgroup,
                "AWS::Redshift::Integration": self._redshift_integration,
                "AWS::RDS::Integration": self._rds_integration}

    def _integration(self, service: str, logical_id: str, props: dict[str, Any]) -> str:
        for required in ("SourceArn", "TargetArn"):
            if not props.get(required):
                raise ValueError(f"{logical_id}: an integration needs {required}")
        name = str(props.get("IntegrationName") or logical_id)
        integration_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"integration/{service}/{name}"))
        arn = self.kernel.arn(service, f"integration:{integration_id}")
        self.integrations[arn] = dict(props)
        return arn

    def _redshift_integration(self, stack: StackTemplate, logical_id: str,
                              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A record and an ARN only: no replication, no auto-copy (see the module doc)."""
        arn = self._integration("redshift", logical_id, props)
        return arn, {"IntegrationArn": arn, "CreateTime": self._epoch(0.0)}

    def _rds_integration(self, stack: StackTemplate, logical_id: str,
                         props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A record and an ARN only: no replication; refused as AWS refuses it (module doc)."""
        self._check_aurora_integration(logical_id, props)
        arn = self._integration("rds", logical_id, props)
        return arn, {"IntegrationArn": arn, "CreateTime": self._epoch(0.0)}

    def _namespace(self, stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("NamespaceName") or logical_id.lower())
        namespace_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"namespace/{name}"))
        arn = self.kernel.arn("redshift-serverless", f"namespace/{namespace_id}")
        self.namespaces[arn] = {**props, "NamespaceName": name}
        return name, {"Namespace.NamespaceName": name, "Namespace.NamespaceId": namespace_id,
                      "Namespace.NamespaceArn": arn}

    def _workgroup(self, stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("WorkgroupName") or logical_id.lower())
        arn = self.add_workgroup(name)
        self.workgroup_properties[name] = dict(props)
        workgroup_id = arn.rsplit("/", 1)[-1]
        port = int(props.get("Port", 5439))
        address = f"{name}.{self.kernel.account_id}.{self.kernel.region}." \
                  "redshift-serverless.amazonaws.com"
        return name, {"Workgroup.WorkgroupName": name, "Workgroup.WorkgroupId": workgroup_id,
                      "Workgroup.WorkgroupArn": arn, "Workgroup.Endpoint.Address": address,
                      "Workgroup.Endpoint.Port": port,
                      "Workgroup.NamespaceName": props.get("NamespaceName")}

    def _check_aurora_integration(self, logical_id: str, props: dict[str, Any]) -> None:
        source, target = str(props.get("SourceArn", "")), str(props.get("TargetArn", ""))
        refusals: list[str] = []
        if self.rds is not None:
            refusals += self._source_refusals(source)
        namespace = self.namespaces.get(target)
        if namespace is None:
            refusals.append(f"the target {target} is not a deployed Redshift Serverless "
                            "namespace")
        else:
            statements = (namespace.get("NamespaceResourcePolicy") or {}).get("Statement", [])
            if not any(_authorizes(statement, source) for statement in statements):
                refusals.append(f"the namespace's resource policy does not let "
                                f"redshift.amazonaws.com AuthorizeInboundIntegration from "
                                f"{source}")
            workgroups = [w for w in self.workgroup_properties.values()
                          if w.get("NamespaceName") == namespace["NamespaceName"]]
            if not any(_case_sensitive(w) for w in workgroups):
                refusals.append(f"no workgroup of namespace {namespace['NamespaceName']} has "
                                f"{_CASE_SENSITIVE}=true")
        if refusals:
            raise IntegrationRefused(f"{logical_id}: the integration's creation fails: "
                                     + "; ".join(refusals))

    def _source_refusals(self, source: str) -> list[str]:
        assert self.rds is not None
        try:
            cluster = self.rds.cluster(source.rsplit(":", 1)[-1])
        except Exception:  # botocore's DBClusterNotFoundFault
            return [f"the source {source} is not a deployed Aurora cluster"]
        engine, version = str(cluster.get("Engine")), str(cluster.get("EngineVersion"))
        refusals = []
        numbers = re.findall(r"\d+", version.split("mysql_aurora.")[-1])
        minimum = ZERO_ETL_MINIMUM_VERSIONS.get(engine)
        if minimum is None or "limitless" in version or (
                tuple(int(n) for n in numbers[:len(minimum)]) < minimum):
            refusals.append(f"{engine} {version} is not a zero-ETL source version")
        group = cluster.get("DBClusterParameterGroup")
        parameters = self.rds.parameters(str(group)) if group else {}
        for name, value in ZERO_ETL_CLUSTER_PARAMETERS.get(engine, {}).items():
            if parameters.get(name, "").lower() != value.lower():
                refusals.append(f"cluster parameter {name} is {parameters.get(name)!r}, "
                                f"not {value!r}")
        return refusals

    def add_workgroup(self, name: str) -> str:
        """Make a workgroup known (one deployed elsewhere); its ARN."""
        workgroup_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"workgroup/{name}"))
        arn = self.kernel.arn("redshift-serverless", f"workgroup/{workgroup_id}")
        self.workgroups[name] = arn
        self.iam.index.workgroup_arns[name] = arn
        return arn

    # -- what tests set ---------------------------------------------------------------
    def fail_statements(self, pattern: str, error: str = "ERROR: syntax error", *,
                        times: int | None = None) -> None:
        """Statements whose SQL matches ``pattern`` (a regex, searched) end FAILED.

        ``times``: only the next so many matching statements (None: all of them).
        """
        self._outcomes.append(_Outcome(re.compile(pattern, re.IGNORECASE | re.DOTALL),
                                       "FAILED", error, times))

    def abort_statements(self, pattern: str, *, times: int | None = None) -> None:
        """Statements whose SQL matches ``pattern`` end ABORTED (as when cancelled)."""
        self._outcomes.append(_Outcome(re.compile(pattern, re.IGNORECASE | re.DOTALL),
                                       "ABORTED", None, times))

    def throttle_statements(self, pattern: str, *, times: int = 1,
                            code: str = "ActiveStatementsExceededException") -> None:
        """The next ``times`` submissions of SQL matching ``pattern`` are refused with
        ``code`` (too many active statements), as a busy workgroup refuses them."""
        self._throttles.append([re.compile(pattern, re.IGNORECASE | re.DOTALL), times, code])

    def set_result(self, pattern: str, columns: Sequence[str],
                   rows: Sequence[Sequence[Any]]) -> None:
        """``GetStatementResult`` of a statement matching ``pattern`` answers ``rows``."""
        self._results.append((re.compile(pattern, re.IGNORECASE | re.DOTALL), {
            "ColumnMetadata": [{"name": c, "label": c, "typeName": _type_name(rows, i)}
                               for i, c in enumerate(columns)],
            "Records": [[_field(value) for value in row] for row in rows],
            "TotalNumRows": len(rows),
        }))

    def sql_run(self) -> list[str]:
        """The SQL of every statement submitted, in order (a batch's one by one)."""
        return [sql for statement in self.statements for sql in statement.sqls]

    # -- the API ----------------------------------------------------------------------
    def apply(self, patcher: Patcher) -> None:
        """Replace moto's redshift-data responses with this emulator's."""
        from moto.core.exceptions import JsonRESTError
        from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

        def route(operation: str) -> Callable[[Any], Any]:
            def respond(response: Any) -> Any:
                params = json.loads(response.body or "{}")
                status, headers, body = self.answer(operation, params)
                if status != 200:
                    error = json.loads(body)
                    # moto's own error path: the status and AWS's error shape.
                    raise JsonRESTError(error["__type"], error["message"])
                return status, headers, body
            return respond

        for operation in ("ExecuteStatement", "BatchExecuteStatement", "DescribeStatement",
                          "ListStatements", "GetStatementResult", "CancelStatement"):
            patcher.set(RedshiftDataAPIServiceResponse, _snake(operation), route(operation))

    def answer(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        """One API call: its HTTP status, headers and JSON body (errors in AWS's shape)."""
        self.calls.append(DataApiCall(operation, dict(params)))
        try:
            body = getattr(self, f"_{_snake(operation)}")(params)
        except _ApiError as error:
            return 400, {}, json.dumps({"__type": error.code, "message": error.message})
        return 200, {}, json.dumps(body)

    def _submit(self, params: dict[str, Any], sqls: list[str], batch: bool) -> dict[str, Any]:
        token = params.get("ClientToken")
        if token and token in self._tokens:
            return self._submitted(self._by_id[self._tokens[token]])
        for throttle in self._throttles:
            if throttle[1] > 0 and any(throttle[0].search(sql) for sql in sqls):
                throttle[1] -= 1
                raise _ApiError(str(throttle[2]), "Active statements exceeded the limit.")
        workgroup = params.get("WorkgroupName")
        cluster = params.get("ClusterIdentifier")
        if (workgroup is None) == (cluster is None):
            raise _ApiError("ValidationException",
                            "Either WorkgroupName or ClusterIdentifier must be given")
        if workgroup is not None and workgroup not in self.workgroups:
            raise _ApiError("ValidationException",
                            f"Redshift endpoint doesn't exist in this region: workgroup "
                            f"{workgroup}")
        if not params.get("Database"):
            raise _ApiError("ValidationException", "Database must be given")
        if not all(sql.strip() for sql in sqls):
            raise _ApiError("ValidationException", "Sql must not be empty")
        principal = self.iam.current_principal()
        record = StatementRecord(
            id=str(uuid.uuid4()), sqls=sqls, workgroup_name=workgroup, cluster_identifier=cluster,
            database=params.get("Database"), secret_arn=params.get("SecretArn"),
            db_user=params.get("DbUser"), parameters=list(params.get("Parameters") or []),
            statement_name=params.get("StatementName"),
            owner=self.iam.user_id(principal) if principal is not None else None,
            created_at=self.kernel.clock.elapsed, batch=batch,
        )
        self._decide(record)
        self.statements.append(record)
        self._by_id[record.id] = record
        if record.owner is not None:
            self.iam.index.statement_owners[record.id] = record.owner
        if token:
            self._tokens[token] = record.id
        return self._submitted(record)

    def _submitted(self, record: StatementRecord) -> dict[str, Any]:
        answer: dict[str, Any] = {"Id": record.id, "CreatedAt": self._epoch(record.created_at),
                                  "Database": record.database}
        for key, value in (("WorkgroupName", record.workgroup_name),
                           ("ClusterIdentifier", record.cluster_identifier),
                           ("SecretArn", record.secret_arn), ("DbUser", record.db_user)):
            if value is not None:
                answer[key] = value
        return answer

    def _decide(self, record: StatementRecord) -> None:
        """Apply the first matching failure or abort rule to the statement."""
        for index, sql in enumerate(record.sqls):
            for number, outcome in enumerate(self._outcomes):
                if outcome.times == 0 or not outcome.pattern.search(sql):
                    continue
                if outcome.times is not None:
                    self._outcomes[number] = _Outcome(outcome.pattern, outcome.status,
                                                      outcome.error, outcome.times - 1)
                record.outcome, record.error, record.failed_index = (
                    outcome.status, outcome.error, index)
                if outcome.status == "ABORTED":
                    record.error = "Query cancelled."
                return
        for pattern, result in self._results:
            if pattern.search(record.sqls[-1]):
                record.result = result
                return

    def _execute_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._submit(params, [str(params.get("Sql", ""))], batch=False)

    def _batch_execute_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        sqls = [str(sql) for sql in params.get("Sqls") or []]
        if not sqls:
            raise _ApiError("ValidationException", "Sqls must hold 1 to 40 statements")
        return self._submit(params, sqls, batch=True)

    def _record(self, params: dict[str, Any]) -> StatementRecord:
        statement_id = str(params.get("Id", "")).split(":", 1)[0]
        record = self._by_id.get(statement_id)
        if record is None:
            raise _ApiError("ResourceNotFoundException", "Query does not exist.")
        return record

    def status(self, record: StatementRecord) -> str:
        """The statement's status at the harness's virtual time."""
        if record.cancelled_at is not None:
            return "ABORTED"
        age = self.kernel.clock.elapsed - record.created_at
        if age < min(SUBMITTED_SECONDS, self.statement_seconds):
            return "SUBMITTED"
        if age < self.statement_seconds:
            return "STARTED"
        return record.outcome

    def _describe_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params)
        status = self.status(record)
        ended = status in TERMINAL
        updated = self._updated_at(record, status)
        answer = {
            **self._submitted(record),
            "Status": status,
            "QueryString": record.sqls[0] if not record.batch else "",
            "UpdatedAt": self._epoch(updated),
            "Duration": int((updated - record.created_at) * 1e9) if ended else -1,
            "HasResultSet": status == "FINISHED" and record.result is not None,
            "ResultRows": (record.result or {}).get("TotalNumRows", 0)
            if status == "FINISHED" else -1,
            "ResultSize": 0,
            "RedshiftPid": 1073815000 + self.statements.index(record),
            "RedshiftQueryId": 0 if record.batch else 1000 + self.statements.index(record),
        }
        if record.statement_name:
            answer["StatementName"] = record.statement_name
        if record.parameters:
            answer["QueryParameters"] = record.parameters
        if status in ("FAILED", "ABORTED"):
            answer["Error"] = record.error or "Query cancelled."
        if record.batch:
            answer["SubStatements"] = [self._sub_statement(record, i, status)
                                       for i in range(len(record.sqls))]
        return answer

    def _list_statements(self, params: dict[str, Any]) -> dict[str, Any]:
        status = str(params.get("Status") or "FINISHED")
        if status not in LIST_STATUSES:
            raise _ApiError("ValidationException",
                            f"Status must be one of {', '.join(sorted(LIST_STATUSES))}")
        limit = int(params.get("MaxResults") or LIST_PAGE_LIMIT)
        if not 0 < limit <= LIST_PAGE_LIMIT:
            raise _ApiError("ValidationException", "MaxResults must be between 0 and 100")
        if params.get("WorkgroupName") and params.get("ClusterIdentifier"):
            raise _ApiError("ValidationException",
                            "WorkgroupName and ClusterIdentifier cannot both be given")
        principal = self.iam.current_principal()
        caller = self.iam.user_id(principal) if principal is not None else None
        by_role = params.get("RoleLevel", True) is not False
        prefix = str(params.get("StatementName") or "")
        matching = [
            record for record in reversed(self.statements)
            if _same_caller(record.owner, caller, by_role)
            and (record.statement_name or "").startswith(prefix)
            and (status == "ALL" or self.status(record) == status)
            and all(not params.get(key) or params[key] == value for key, value in (
                ("WorkgroupName", record.workgroup_name),
                ("ClusterIdentifier", record.cluster_identifier),
                ("Database", record.database)))
        ]
        token = str(params.get("NextToken") or "0")
        if not token.isdigit() or int(token) > len(matching):
            raise _ApiError("ValidationException", "NextToken is not valid")
        start = int(token)
        answer: dict[str, Any] = {"Statements": [self._listed(record)
                                                 for record in matching[start:start + limit]]}
        if start + limit < len(matching):
            answer["NextToken"] = str(start + limit)
        return answer

    def _listed(self, record: StatementRecord) -> dict[str, Any]:
        """A statement as ``ListStatements`` shows it (``StatementData``: no error, no
        result; DescribeStatement has those)."""
        status = self.status(record)
        updated = self._updated_at(record, status)
        listed: dict[str, Any] = {"Id": record.id, "CreatedAt": self._epoch(record.created_at),
                                  "UpdatedAt": self._epoch(updated), "Status": status,
                                  "IsBatchStatement": record.batch}
        if record.batch:
            listed["QueryStrings"] = list(record.sqls)
        else:
            listed["QueryString"] = record.sqls[0]
        for key, value in (("StatementName", record.statement_name),
                           ("SecretArn", record.secret_arn)):
            if value:
                listed[key] = value
        if record.parameters:
            listed["QueryParameters"] = record.parameters
        return listed

    def _updated_at(self, record: StatementRecord, status: str) -> float:
        """Harness seconds of the statement's last change: cancelled, ended, or submitted."""
        if record.cancelled_at is not None:
            return record.cancelled_at
        return record.created_at + (self.statement_seconds if status in TERMINAL else 0.0)

    def _sub_statement(self, record: StatementRecord, index: int, status: str) -> dict[str, Any]:
        """A batch's statements: those before the failure FINISHED, it FAILED, the rest
        ABORTED (one transaction)."""
        failed = record.failed_index
        if status not in TERMINAL:
            sub = status
        elif status == "FINISHED" or (failed is not None and index < failed):
            sub = "FINISHED"
        elif failed == index:
            sub = status
        else:
            sub = "ABORTED"
        answer: dict[str, Any] = {"Id": f"{record.id}:{index + 1}", "Status": sub,
                                  "QueryString": record.sqls[index],
                                  "HasResultSet": False}
        if sub in ("FAILED", "ABORTED") and record.error:
            answer["Error"] = record.error
        return answer

    def _get_statement_result(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params)
        if self.status(record) != "FINISHED" or record.result is None:
            raise _ApiError("ValidationException",
                            "Query does not have result. Please check query status with "
                            "DescribeStatement.")
        return dict(record.result)

    def _cancel_statement(self, params: dict[str, Any]) -> dict[str, Any]:
        record = self._record(params)
        status = self.status(record)
        if status in TERMINAL:
            raise _ApiError("ValidationException",
                            f"Could not cancel a query that is already in {status} state "
                            f"with ID: {record.id}")
        record.cancelled_at = self.kernel.clock.elapsed
        record.error = "Query cancelled."
        return {"Status": True}

    def _epoch(self, elapsed: float) -> float:
        return self.kernel.clock.start.timestamp() + elapsed

    def find(self, statement_id: str) -> StatementRecord:
        """A statement by id (a batch's sub-statement id finds its batch)."""
        return self._record({"Id": statement_id})


class _ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _same_caller(owner: str | None, caller: str | None, by_role: bool) -> bool:
    """Whether ``caller`` (an ``aws:userid``, ``ROLEID:session`` for a role) sees a
    statement ``owner`` ran: its role's with ``RoleLevel``, else its session's only."""
    if owner is None or caller is None:
        return owner == caller
    if by_role:
        return owner.split(":", 1)[0] == caller.split(":", 1)[0]
    return owner == caller


def _authorizes(statement: dict[str, Any], source: str) -> bool:
    """An Allow of AuthorizeInboundIntegration to Redshift, for ``source``."""
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    principal = (statement.get("Principal") or {}).get("Service")
    condition = ((statement.get("Condition") or {}).get("StringEquals") or {}).get(
        "aws:SourceArn")
    return (statement.get("Effect") == "Allow"
            and "redshift:AuthorizeInboundIntegration" in actions
            and principal == "redshift.amazonaws.com" and condition == source)


def _case_sensitive(workgroup: dict[str, Any]) -> bool:
    return any(p.get("ParameterKey") == _CASE_SENSITIVE
               and str(p.get("ParameterValue")).lower() == "true"
               for p in workgroup.get("ConfigParameters") or [])


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _field(value: Any) -> dict[str, Any]:
    """One value in the Data API's ``Field`` shape."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"blobValue": value.decode("latin-1")}
    return {"stringValue": str(value)}


def _type_name(rows: Sequence[Sequence[Any]], index: int) -> str:
    values = [row[index] for row in rows if index < len(row) and row[index] is not None]
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int8"
    if values and all(isinstance(v, float) for v in values):
        return "float8"
    return "varchar"

