"""The Redshift SQL the library and the example stacks generate parses, and quotes names.

Parsed with sqlglot's Redshift dialect (pinned in the ``dev`` extra): an outside parser,
so a statement our own string building broke (an unbalanced quote, a missing keyword) is
caught before a deploy would fail on it. Statements sqlglot only accepts as an opaque
``Command`` (``CREATE EXTERNAL SCHEMA``, ``CREATE ROLE``...) are checked for balanced
quoting instead, and that they are the ones expected to be opaque.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from analytics_orchestration.constructs.warehouse import (
    identifier_problem,
    qualified_name,
    quote_identifier,
    quote_literal,
)
from stacks.airflow_stack import warehouse_sql
from stacks.etl_glue_stack import MERGE_SQL, WAREHOUSE_DDL, WAREHOUSE_DROP

#: Statement kinds sqlglot 30 does not model (it falls back to ``exp.Command``).
OPAQUE_PREFIXES = ("CREATE EXTERNAL SCHEMA", "CREATE ROLE", "GRANT", "DROP ROLE")


def _parse(sql: str) -> exp.Expression:
    [tree] = sqlglot.parse(sql, read="redshift")
    assert tree is not None
    return tree


@pytest.mark.parametrize("sql", [*WAREHOUSE_DDL, *WAREHOUSE_DROP, *MERGE_SQL])
def test_the_glue_examples_warehouse_sql_parses(sql):
    tree = _parse(sql)
    if isinstance(tree, exp.Command):
        assert sql.startswith(OPAQUE_PREFIXES), f"unexpectedly opaque: {sql}"
        assert sql.count('"') % 2 == 0 and sql.count("'") % 2 == 0
    else:
        # Round trip: what sqlglot writes back for Redshift parses to the same tree.
        assert _parse(tree.sql(dialect="redshift")) == tree


#: The Airflow example's runner SQL, with the values its tokens take at deploy time.
AIRFLOW_CREATE, AIRFLOW_DROP = warehouse_sql(
    database="analytics", catalog_database="analyticsairflow_platform_catalog_curated",
    spectrum_role_arn="arn:aws:iam::123456789012:role/AnalyticsAirflow-PlatformRole")


@pytest.mark.parametrize("sql", [*AIRFLOW_CREATE, *AIRFLOW_DROP])
def test_the_airflow_examples_warehouse_sql_parses(sql):
    test_the_glue_examples_warehouse_sql_parses(sql)


def test_the_airflow_examples_table_is_created_with_quoted_names():
    create = _parse(AIRFLOW_CREATE[1])
    assert isinstance(create, exp.Create) and create.args.get("kind") == "TABLE"
    schema = create.this
    assert (schema.this.db, schema.this.name) == ("public", "daily_orders")
    assert all(i.quoted for i in create.find_all(exp.Identifier))
    assert [c.name for c in schema.find_all(exp.ColumnDef)] == ["order_date", "orders"]


def test_the_merge_names_the_warehouse_table_with_quoted_identifiers():
    merge = _parse(MERGE_SQL[1])
    assert isinstance(merge, exp.Merge)
    target = merge.this
    assert (target.db, target.name) == ("warehouse", "daily_sales")
    identifiers = list(merge.find_all(exp.Identifier))
    # Every name is quoted, except the source alias the statement itself introduces.
    assert {i.name for i in identifiers if not i.quoted} == {"s"}


def test_the_stage_is_built_from_the_spectrum_schema():
    stage = _parse(MERGE_SQL[0])
    assert isinstance(stage, exp.Create) and stage.args.get("kind") == "TABLE"
    [source] = [t for t in stage.find_all(exp.Table) if t.db]
    assert (source.db, source.name) == ("lake", "sales")


@pytest.mark.parametrize("name", ["sales", "Sales", "order", "a b", 'we"ird', "ünïcode",
                                  "x" * 127])
def test_quoted_identifiers_parse_back_to_the_same_name(name):
    select = _parse(f"SELECT 1 FROM {qualified_name('schema', name)}")
    [table] = list(select.find_all(exp.Table))
    assert table.name == name and table.this.quoted
    assert table.db == "schema"


def test_a_quote_in_a_name_cannot_end_the_identifier():
    injected = 'x"; DROP TABLE users; --'
    statements = sqlglot.parse(f"SELECT * FROM {quote_identifier(injected)}", read="redshift")
    assert len(statements) == 1
    [table] = list(statements[0].find_all(exp.Table))
    assert table.name == injected


@pytest.mark.parametrize("value", ["s3://bucket/key", "it's", "back\\slash", "integration-id"])
def test_quoted_literals_parse_back_to_the_same_value(value):
    select = _parse(f"SELECT {quote_literal(value)}")
    [literal] = list(select.find_all(exp.Literal))
    assert literal.this == value


@pytest.mark.parametrize(("name", "problem"), [
    ("", "empty"), ("   ", "blank"), ("x" * 128, "127 bytes"), ("é" * 64, "127 bytes"),
    ("a\nb", "control"), (7, "string"),
])
def test_names_redshift_refuses_are_refused(name, problem):
    assert problem in (identifier_problem(name) or "")
    with pytest.raises(ValueError, match=problem):
        quote_identifier(name)  # type: ignore[arg-type]


def test_a_nul_cannot_be_a_literal():
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")
