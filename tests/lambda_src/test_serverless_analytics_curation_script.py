"""The Glue curation script's logic, without Spark: names, reader options, arguments.

``main`` needs the Glue runtime (``awsglue``, ``pyspark``), which only AWS Glue provides;
everything it decides before Spark runs is a plain function tested here.
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics_orchestration.constructs.serverless_analytics.glue_scripts import (
    curate_to_parquet as script,
)

ARGS = {
    "JOB_NAME": "curate", "source_path": "s3://raw/sales/", "source_format": "csv",
    "target_path": "s3://curated/sales/", "target_database": "lake_curated",
    "target_table": "sales", "partition_column": "ingest_date",
}


def test_importing_the_script_needs_no_glue_runtime():
    assert "awsglue" not in sys.modules and "pyspark" not in sys.modules
    assert set(ARGS) == set(script.ARGUMENTS)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Order Date", "order_date"),
    ("orderDate", "order_date"),
    ("order-date", "order_date"),
    ("  Amount (EUR) ", "amount_eur"),
    ("2024 sales", "c_2024_sales"),
    ("%%%", "column"),
    ("", "column"),
    ("already_snake", "already_snake"),
    ("ProductID", "product_id"),
])
def test_normalise_column_name(raw, expected):
    assert script.normalise_column_name(raw) == expected


def test_unique_names_never_collide_with_each_other_or_added_columns():
    names = ["Order Date", "order_date", "orderDate", "source_file", "ingest_date", "id"]
    assert script.unique_column_names(names, reserved=("source_file", "ingest_date")) == [
        "order_date", "order_date_2", "order_date_3", "source_file_2", "ingest_date_2", "id"]


@given(st.lists(st.text(max_size=12), max_size=20))
def test_unique_names_are_unique_identifiers_for_any_header(names):
    result = script.unique_column_names(names, reserved=("source_file",))
    assert len(result) == len(names)
    assert len(set(result)) == len(result)
    assert "source_file" not in result
    for name in result:
        assert name and (name[0].isalpha() or name[0] == "_") and name == name.lower()
        assert script.normalise_column_name(name) == name or name.rsplit("_", 1)[1].isdigit()


def test_reader_options_per_format():
    assert script.reader_options("csv")["withHeader"] is True
    assert script.reader_options("csv")["separator"] == ","
    assert script.reader_options("json") == {"multiline": False}
    with pytest.raises(script.CurationError, match="source_format"):
        script.reader_options("xml")


def test_valid_arguments_pass():
    script.validate_arguments(ARGS)


def test_every_bad_argument_is_reported_at_once():
    bad = {**ARGS, "source_path": "/local", "target_path": "", "source_format": "parquet",
           "target_table": "", "partition_column": "Ingest Date"}
    with pytest.raises(script.CurationError) as raised:
        script.validate_arguments(bad)
    message = str(raised.value)
    for name in ("--source_path", "--target_path", "--source_format", "--target_table",
                 "--partition_column must be lowercase"):
        assert name in message
    assert isinstance(raised.value, ValueError)


def test_partition_is_the_utc_date_of_the_run():
    late_evening_in_new_york = dt.datetime(2026, 3, 1, 21, 30,
                                           tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert script.partition_value(late_evening_in_new_york) == "2026-03-02"
    assert script.partition_value(dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)) == "2026-03-01"


def test_a_requested_partition_date_wins_over_the_run_date():
    """A daily Airflow run for day D starts on D+1: it asks for D's partition."""
    next_day = dt.datetime(2026, 3, 2, 0, 5, tzinfo=dt.UTC)
    argv = ["script.py", "--JOB_NAME", "curate", "--partition_date", "2026-03-01"]
    assert script.requested_partition(argv) == "2026-03-01"
    assert script.partition_value(next_day, script.requested_partition(argv)) == "2026-03-01"
    assert script.requested_partition(["script.py", "--partition_date=2026-03-01"]) == (
        "2026-03-01")
    assert script.requested_partition(["script.py", "--JOB_NAME", "curate"]) is None


@pytest.mark.parametrize("bad", ["2026-3-1", "01/03/2026", "2026-02-30", "", "today"])
def test_a_malformed_partition_date_is_refused(bad):
    with pytest.raises(script.CurationError, match="--partition_date"):
        script.partition_value(dt.datetime(2026, 3, 2, tzinfo=dt.UTC), bad)
