"""The example DAGs load in Airflow 2.10.3 with the Amazon provider MWAA ships.

``DagBag`` parses every file of the DAGs folder as the scheduler does: an import error,
a cycle or a bad operator argument is an import error here. The expected tasks and
dependencies are the pipeline the README describes.
"""

from __future__ import annotations

import airflow

from tests_dags.conftest import DAGS_FOLDER


def test_the_environment_is_the_one_mwaa_runs():
    assert airflow.__version__ == "2.10.3"


def test_every_dag_file_imports_without_errors(dag_bag):
    assert dag_bag.import_errors == {}
    assert {path.name for path in DAGS_FOLDER.glob("*.py")} == {
        "sales_pipeline.py", "table_quality.py"}
    assert set(dag_bag.dag_ids) == {"sales_pipeline", "table_quality"}


def test_no_dag_has_a_cycle(dag_bag):
    from airflow.utils.dag_cycle_tester import check_cycle

    for dag in dag_bag.dags.values():
        check_cycle(dag)  # raises AirflowDagCycleException


def _edges(dag):
    return {(task.task_id, downstream) for task in dag.tasks
            for downstream in task.downstream_task_ids}


def test_sales_pipeline_runs_the_steps_in_order_with_glue_in_parallel(dag_bag):
    dag = dag_bag.dags["sales_pipeline"]
    assert _edges(dag) == {
        ("wait_for_accepted_orders", "curate_orders"),
        ("wait_for_accepted_orders", "crawl_raw_zone"),
        ("curate_orders", "run_etl_workflow"),
        ("crawl_raw_zone", "run_etl_workflow"),
        ("run_etl_workflow", "wait_for_etl_workflow"),
        ("wait_for_etl_workflow", "load_warehouse"),
        ("load_warehouse", "check_quality"),
        ("check_quality", "notify"),
    }
    operators = {task.task_id: type(task).__name__ for task in dag.tasks}
    assert operators == {
        "wait_for_accepted_orders": "S3KeySensor", "curate_orders": "GlueJobOperator",
        "crawl_raw_zone": "GlueCrawlerOperator",
        "run_etl_workflow": "StepFunctionStartExecutionOperator",
        "wait_for_etl_workflow": "StepFunctionExecutionSensor",
        "load_warehouse": "RedshiftDataOperator", "check_quality": "AthenaOperator",
        "notify": "SnsPublishOperator",
    }
    assert dag.max_active_runs == 1 and not dag.catchup


def test_sales_pipeline_reads_its_settings_from_the_environment_configuration(dag_bag):
    task = dag_bag.dags["sales_pipeline"].get_task("curate_orders")
    assert task.job_name == "{{ conf.get('pipeline', 'curation_job') }}"


def test_table_quality_maps_one_athena_check_per_table(dag_bag):
    from airflow.models.mappedoperator import MappedOperator

    dag = dag_bag.dags["table_quality"]
    check = dag.get_task("check_table")
    assert isinstance(check, MappedOperator)
    assert check.operator_class.__name__ == "AthenaOperator"
    assert _edges(dag) == {("quality_queries", "check_table")}


def test_table_quality_checks_the_key_column_of_every_table(dag_bag):
    queries = dag_bag.dags["table_quality"].get_task("quality_queries").python_callable()
    assert len(queries) == 2
    assert any("count_if(order_id IS NULL)" in q and "FROM orders" in q for q in queries)
    assert any("count_if(customer_id IS NULL)" in q and "FROM customers" in q for q in queries)


def test_the_warehouse_load_renders_the_configured_names(dag_bag, monkeypatch):
    """Airflow renders ``load_warehouse``'s SQL with the ``pipeline`` section's quoted
    names (as the stack sets them), one DELETE and one INSERT for the run's day."""
    from airflow.configuration import conf

    for option, value in {"warehouse_table": '"public"."daily_orders"',
                          "curated_orders": '"curated"."orders"',
                          "partition_column": '"ingest_date"'}.items():
        monkeypatch.setenv(f"AIRFLOW__PIPELINE__{option.upper()}", value)
    task = dag_bag.dags["sales_pipeline"].get_task("load_warehouse")
    assert task.render_template(task.sql, {"conf": conf, "ds": "2026-01-02"}) == [
        """DELETE FROM "public"."daily_orders" WHERE order_date = '2026-01-02'""",
        """INSERT INTO "public"."daily_orders" (order_date, orders) SELECT """
        """CAST('2026-01-02' AS DATE), COUNT(*) FROM "curated"."orders" """
        """WHERE "ingest_date" = '2026-01-02'""",
    ]
