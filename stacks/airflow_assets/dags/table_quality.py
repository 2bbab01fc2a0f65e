"""Data quality of every curated table, one Athena query per table in parallel.

Dynamic task mapping: ``list_tables`` decides at run time which tables to check, and
``AthenaOperator.partial(...).expand(query=...)`` creates one mapped task per table, which
Airflow runs in parallel on as many workers as the environment scales to (``max_workers``).
"""

from __future__ import annotations

import pendulum
from airflow.decorators import dag, task
from airflow.providers.amazon.aws.operators.athena import AthenaOperator

#: The curated tables and the column that must never be null in each.
TABLES = {"orders": "order_id", "customers": "customer_id"}


def setting(name: str) -> str:
    """A template reading ``pipeline.<name>`` of the environment's Airflow configuration."""
    return "{{ conf.get('pipeline', '" + name + "') }}"


@dag(
    dag_id="table_quality",
    description="One parallel Athena null check per curated table",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["analytics-orchestration", "quality"],
)
def table_quality() -> None:
    @task
    def quality_queries() -> list[str]:
        """One query per table; it fails (division by zero) when a key column is null."""
        return [
            f"SELECT 1 / (CASE WHEN count_if({column} IS NULL) = 0 THEN 1 ELSE 0 END) "
            f"AS {table}_ok FROM {table}"
            for table, column in sorted(TABLES.items())
        ]

    AthenaOperator.partial(
        task_id="check_table",
        database=setting("curated_database"),
        workgroup=setting("athena_workgroup"),
        output_location=setting("athena_results"),
    ).expand(query=quality_queries())


table_quality()
