"""``AnalyticsAirflow``'s warehouse load is real: what ``load_warehouse`` runs exists, and
the MWAA execution role may run exactly that.

The DAG's SQL is read from the DAG file (its ``setting`` helper and ``LOAD_SQL``, executed
alone: Airflow is not installed here) and rendered with the synthesized environment's
Airflow configuration, then checked against the runner's deploy-time SQL: every object it
names is created there, and the loader database role's grants are exactly the privileges
the statements need (sqlglot's Redshift dialect tells which statement reads and writes what).

The stack cannot be deployed in the offline harness (``AWS::MWAA::Environment`` is not
emulated), so the runner's statements are checked on the synthesized template.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlglot
from aws_cdk import CfnElement, Stack
from aws_cdk.assertions import Template
from constructs import IConstruct
from sqlglot import exp

from analytics_orchestration import DataZone
from stacks.airflow_stack import (
    ASSETS,
    CURATED_SCHEMA,
    CURATION,
    LOADER_ROLE,
    WAREHOUSE_SCHEMA,
    WAREHOUSE_TABLE,
    AirflowStack,
)

DAG_FILE = ASSETS / "dags" / "sales_pipeline.py"
_SETTING = re.compile(r"\{\{ conf\.get\('pipeline', '(\w+)'\) \}\}")
_GRANT = re.compile(r"GRANT (?P<privileges>[A-Z, ]+) ON (?P<kind>SCHEMA |DATABASE )?"
                    r"(?P<object>\S+) TO ROLE (?P<role>\S+)")
DAY = "2026-01-02"


@pytest.fixture(scope="module")
def stack(example_stack: Callable[[str], Stack]) -> AirflowStack:
    found = example_stack("AnalyticsAirflow")
    assert isinstance(found, AirflowStack)
    return found


@pytest.fixture(scope="module")
def template(stack: Stack) -> Template:
    return Template.from_stack(stack)


def _one(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = template.find_resources(resource_type).items()
    return logical_id, resource


def _logical_id(construct: IConstruct) -> str:
    """The logical id of ``construct``'s CloudFormation resource (or of itself)."""
    stack = Stack.of(construct)
    child = construct.node.default_child or construct
    assert isinstance(child, CfnElement)
    logical_id: str = stack.resolve(child.logical_id)
    return logical_id


def _text(value: Any, names: dict[str, str]) -> str:
    """A statement with its ``Fn::Join`` parts resolved to readable placeholders."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_text(part, names) for part in parts)
    if "Ref" in value:
        return names.get(value["Ref"], value["Ref"])
    if "Fn::GetAtt" in value:
        return names.get(".".join(value["Fn::GetAtt"]), ".".join(value["Fn::GetAtt"]))
    raise AssertionError(f"unexpected intrinsic in SQL: {value}")


@pytest.fixture(scope="module")
def runner(template: Template) -> dict[str, Any]:
    _, resource = _one(template, "Custom::RedshiftSql")
    properties: dict[str, Any] = resource["Properties"]
    return properties


@pytest.fixture(scope="module")
def names(stack: AirflowStack) -> dict[str, str]:
    """Readable stand-ins for the references the runner's SQL contains."""
    database = _logical_id(stack.platform.databases[DataZone.CURATED])
    assert stack.platform.redshift_role is not None
    role = _logical_id(stack.platform.redshift_role)
    return {database: "curated_glue_database",
            f"{role}.Arn": "arn:aws:iam::123456789012:role/spectrum"}


@pytest.fixture(scope="module")
def create_sql(runner: dict[str, Any], names: dict[str, str]) -> list[str]:
    return [_text(statement, names) for statement in runner["CreateSql"]]


@pytest.fixture(scope="module")
def configuration(template: Template) -> dict[str, Any]:
    _, environment = _one(template, "AWS::MWAA::Environment")
    options: dict[str, Any] = environment["Properties"]["AirflowConfigurationOptions"]
    return options


def dag_load_sql() -> list[str]:
    """``LOAD_SQL`` of the DAG file, evaluated with only its ``setting`` helper."""
    tree = ast.parse(DAG_FILE.read_text())
    kept = [node for node in tree.body
            if (isinstance(node, ast.FunctionDef) and node.name == "setting")
            or (isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == ["LOAD_SQL"])]
    assert len(kept) == 2, "the DAG file defines setting() and LOAD_SQL at module level"
    namespace: dict[str, Any] = {}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(DAG_FILE), "exec"), namespace)
    statements: list[str] = namespace["LOAD_SQL"]
    return statements


def rendered(configuration: dict[str, Any]) -> list[str]:
    """The DAG's statements as Airflow renders them for one day with this configuration."""
    def setting(match: re.Match[str]) -> str:
        value = configuration[f"pipeline.{match.group(1)}"]
        assert isinstance(value, str), f"pipeline.{match.group(1)} is known at synth"
        return value
    return [_SETTING.sub(setting, sql).replace("{{ ds }}", DAY) for sql in dag_load_sql()]


def test_the_load_task_runs_load_sql():
    """The operator is given ``LOAD_SQL`` itself (what the checks below read)."""
    source = DAG_FILE.read_text()
    assert "sql=LOAD_SQL," in source
    assert "CREATE TABLE" not in source  # the stack creates the table, not each run


def test_one_runner_creates_the_warehouse_in_the_platforms_database(stack, runner):
    assert stack.platform.redshift_workgroup is not None
    workgroup = _logical_id(stack.platform.redshift_workgroup)
    assert runner["WorkgroupName"] == {"Fn::GetAtt": [workgroup, "Workgroup.WorkgroupName"]}
    assert runner["Database"] == "analytics"
    assert "SecretArn" not in runner  # IAM credentials: the runner's own role signs in


def test_the_external_schema_maps_the_curated_database_through_the_namespaces_role(
        template, create_sql, names):
    spectrum = create_sql[0]
    assert spectrum == (
        f'CREATE EXTERNAL SCHEMA IF NOT EXISTS "{CURATED_SCHEMA}" FROM DATA CATALOG DATABASE '
        "'curated_glue_database' IAM_ROLE 'arn:aws:iam::123456789012:role/spectrum'")
    # That role is the namespace's: it may read the curated zone and its Glue database.
    _, namespace = _one(template, "AWS::RedshiftServerless::Namespace")
    [role_arn] = [ref for ref, name in names.items() if name.startswith("arn:")]
    role = role_arn.removesuffix(".Arn")
    assert namespace["Properties"]["IamRoles"] == [{"Fn::GetAtt": [role, "Arn"]}]
    [policy] = [resource for resource in template.find_resources("AWS::IAM::Policy").values()
                if {"Ref": role} in resource["Properties"]["Roles"]]
    actions = {action for statement in policy["Properties"]["PolicyDocument"]["Statement"]
               for action in ([statement["Action"]] if isinstance(statement["Action"], str)
                              else statement["Action"])}
    assert {"glue:GetTable", "glue:GetPartitions", "s3:GetObject", "kms:Decrypt"} <= actions


def test_the_runner_creates_then_drops_in_reverse(runner, create_sql):
    kinds = [re.match(r"[A-Z]+( [A-Z]+)?", sql).group(0) for sql in create_sql]  # type: ignore[union-attr]
    assert kinds == ["CREATE EXTERNAL", "CREATE TABLE", "CREATE ROLE", "GRANT USAGE",
                     "GRANT TEMP", "GRANT SELECT"]
    assert runner["DropSql"] == [
        f'DROP ROLE IF EXISTS "{LOADER_ROLE}" FORCE',
        f'DROP TABLE IF EXISTS "{WAREHOUSE_SCHEMA}"."{WAREHOUSE_TABLE}"',
        f'DROP SCHEMA IF EXISTS "{CURATED_SCHEMA}"',
    ]


def test_the_runner_waits_for_the_spectrum_roles_policy(stack, template):
    """CREATE EXTERNAL SCHEMA reads the catalog with the role: its policy must be attached."""
    [(_, resource)] = template.find_resources("Custom::RedshiftSql").items()
    assert stack.platform.redshift_role is not None
    policy = _logical_id(stack.platform.redshift_role.node.find_child("DefaultPolicy"))
    assert policy in resource["DependsOn"]


def _role_tags(template: Template, role: IConstruct) -> dict[str, str]:
    resource = template.to_json()["Resources"][_logical_id(role)]
    return {tag["Key"]: tag["Value"] for tag in resource["Properties"].get("Tags", [])}


def test_the_execution_role_gets_only_the_loader_role_and_the_runner_superuser(
        stack, template):
    execution_tags = _role_tags(template, stack.airflow.execution_role)
    assert execution_tags["RedshiftDbRoles"] == LOADER_ROLE
    runner_tags = _role_tags(template, stack.warehouse_schema.role)
    assert runner_tags["RedshiftDbRoles"] == "sys:superuser"
    tagged = [logical_id for logical_id, role in template.find_resources(
        "AWS::IAM::Role").items() if any(tag["Key"] == "RedshiftDbRoles"
                                         for tag in role["Properties"].get("Tags", []))]
    assert len(tagged) == 2  # no other role signs in with database roles


def test_the_configuration_names_what_the_curation_job_writes(template, configuration):
    _, job = _one(template, "AWS::Glue::Job")
    arguments = job["Properties"]["DefaultArguments"]
    assert configuration["pipeline.curated_orders"] == (
        f'"{CURATED_SCHEMA}"."{arguments["--target_table"]}"')
    assert configuration["pipeline.partition_column"] == f'"{arguments["--partition_column"]}"'
    assert (arguments["--target_table"], arguments["--partition_column"]) == (
        CURATION.table_name, CURATION.partition_column)
    assert configuration["pipeline.warehouse_database"] == "analytics"


def _parse(sql: str) -> exp.Expression:
    [tree] = sqlglot.parse(sql, read="redshift")
    assert tree is not None
    return tree


def _table(table: exp.Table) -> str:
    return f"{table.db}.{table.name}"


def needed_privileges(statements: list[str]) -> set[tuple[str, str]]:
    """(privilege, object) pairs the statements need, from their parse trees.

    A Spectrum read needs USAGE on its external schema and TEMP on the database; a
    local table needs SELECT when read (a DELETE's WHERE reads it), INSERT or DELETE when
    written.
    """
    needed: set[tuple[str, str]] = set()
    for sql in statements:
        tree = _parse(sql)
        written = tree.this if isinstance(tree, (exp.Insert, exp.Delete)) else None
        if isinstance(written, exp.Schema):  # INSERT INTO t (columns)
            written = written.this
        if isinstance(tree, exp.Insert):
            needed.add(("INSERT", _table(written)))
        elif isinstance(tree, exp.Delete):
            needed.add(("DELETE", _table(written)))
            if tree.args.get("where") is not None:
                needed.add(("SELECT", _table(written)))
        else:
            raise AssertionError(f"unexpected statement: {sql}")
        for table in tree.find_all(exp.Table):
            if table is written:
                continue
            if table.db == CURATED_SCHEMA:
                needed |= {("USAGE", f"schema {table.db}"), ("TEMP", "database analytics")}
            else:
                needed.add(("SELECT", _table(table)))
    return needed


def granted_privileges(create_sql: list[str]) -> set[tuple[str, str]]:
    granted: set[tuple[str, str]] = set()
    for sql in create_sql:
        if not sql.startswith("GRANT"):
            continue
        match = _GRANT.fullmatch(sql)
        assert match is not None, sql
        assert match["role"] == f'"{LOADER_ROLE}"'
        [parsed] = sqlglot.parse(f"SELECT 1 FROM {match['object']}", read="redshift")
        [table] = list(parsed.find_all(exp.Table))  # type: ignore[union-attr]
        kind = (match["kind"] or "").strip().lower()
        target = f"{kind} {table.name}" if kind else _table(table)
        granted |= {(privilege.strip(), target)
                    for privilege in match["privileges"].split(",")}
    return granted


def test_the_loader_role_has_exactly_what_the_dags_sql_needs(configuration, create_sql):
    statements = rendered(configuration)
    needed = needed_privileges(statements)
    assert needed == {
        ("DELETE", f"{WAREHOUSE_SCHEMA}.{WAREHOUSE_TABLE}"),
        ("SELECT", f"{WAREHOUSE_SCHEMA}.{WAREHOUSE_TABLE}"),
        ("INSERT", f"{WAREHOUSE_SCHEMA}.{WAREHOUSE_TABLE}"),
        ("USAGE", f"schema {CURATED_SCHEMA}"),
        ("TEMP", "database analytics"),
    }
    assert granted_privileges(create_sql) == needed


def test_the_dags_sql_reads_the_curated_partition_and_writes_the_created_table(
        configuration, create_sql):
    delete, insert = (_parse(sql) for sql in rendered(configuration))
    assert isinstance(delete, exp.Delete) and isinstance(insert, exp.Insert)
    target = f'"{WAREHOUSE_SCHEMA}"."{WAREHOUSE_TABLE}"'
    assert f"CREATE TABLE IF NOT EXISTS {target} " in create_sql[1]
    select = insert.expression
    assert isinstance(select, exp.Select)
    [source] = list(select.find_all(exp.Table))
    assert (source.db, source.name) == (CURATED_SCHEMA, CURATION.table_name)
    assert source.this.quoted and source.args["db"].quoted
    [condition] = list(select.find_all(exp.EQ))
    assert condition.this.name == CURATION.partition_column
    assert condition.expression.this == DAY
    # The columns written are the table's, in its order.
    assert [column.name for column in insert.this.expressions] == ["order_date", "orders"]


def test_a_write_the_grants_do_not_cover_is_seen(create_sql):
    """The comparison above can fail: another table's write is not granted."""
    needed = needed_privileges(['INSERT INTO "public"."other" SELECT 1'])
    assert needed == {("INSERT", "public.other")}
    assert not needed <= granted_privileges(create_sql)
