"""The daily sales pipeline, orchestrated by Airflow over the library's building blocks.

1. wait for the day's accepted order extract in the raw zone (S3 key sensor);
2. in parallel: curate the raw orders (the platform's Glue job) and refresh the raw zone's
   catalog (its Glue crawler);
3. run the Step Functions ETL workflow and wait for its execution to succeed;
4. load the warehouse (Redshift Serverless, through the Data API): the day's order count
   from the curated zone (Redshift Spectrum) into ``daily_orders``;
5. check the load with an Athena query (a failed check fails the run);
6. notify the operations topic.

Everything environment-specific comes from the environment's Airflow configuration
(section ``pipeline``, set by ``stacks/airflow_stack.py``) through templates, so parsing this
file needs no AWS call and no configuration.
"""

from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator
from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
from airflow.providers.amazon.aws.operators.sns import SnsPublishOperator
from airflow.providers.amazon.aws.operators.step_function import (
    StepFunctionStartExecutionOperator,
)
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.amazon.aws.sensors.step_function import StepFunctionExecutionSensor


def setting(name: str) -> str:
    """A template reading ``pipeline.<name>`` of the environment's Airflow configuration."""
    return "{{ conf.get('pipeline', '" + name + "') }}"


#: The day's order count into the warehouse, replacing an earlier load of that day: one
#: batch, so one transaction. The table, the curated table (Redshift Spectrum, the
#: external schema over the curated Glue database) and its partition column come quoted
#: from the configuration; the stack creates them and the database role that may run this.
LOAD_SQL = [
    "DELETE FROM " + setting("warehouse_table") + " WHERE order_date = '{{ ds }}'",
    "INSERT INTO " + setting("warehouse_table") + " (order_date, orders) "
    "SELECT CAST('{{ ds }}' AS DATE), COUNT(*) FROM " + setting("curated_orders")
    + " WHERE " + setting("partition_column") + " = '{{ ds }}'",
]


with DAG(
    dag_id="sales_pipeline",
    description="Accepted orders -> curated zone -> ETL workflow -> warehouse -> check",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
    tags=["analytics-orchestration", "sales"],
) as dag:
    wait_for_orders = S3KeySensor(
        task_id="wait_for_accepted_orders",
        bucket_name=setting("raw_bucket"),
        bucket_key="orders/{{ ds }}/*.csv",
        wildcard_match=True,
        mode="reschedule",
        poke_interval=300,
        timeout=6 * 60 * 60,
    )
    curate_orders = GlueJobOperator(
        task_id="curate_orders",
        job_name=setting("curation_job"),
        # The run's logical date is the partition it curates (the run starts a day later).
        script_args={"--partition_date": "{{ ds }}"},
        wait_for_completion=True,
        deferrable=False,
    )
    crawl_raw_zone = GlueCrawlerOperator(
        task_id="crawl_raw_zone",
        config={"Name": setting("raw_crawler")},
        wait_for_completion=True,
    )
    run_etl_workflow = StepFunctionStartExecutionOperator(
        task_id="run_etl_workflow",
        state_machine_arn=setting("etl_state_machine"),
        name="airflow-{{ ds_nodash }}-{{ ti.try_number }}",
        state_machine_input={"ingest_date": "{{ ds }}"},
    )
    wait_for_etl_workflow = StepFunctionExecutionSensor(
        task_id="wait_for_etl_workflow",
        execution_arn="{{ ti.xcom_pull(task_ids='run_etl_workflow') }}",
        mode="reschedule",
        poke_interval=60,
    )
    load_warehouse = RedshiftDataOperator(
        task_id="load_warehouse",
        workgroup_name=setting("warehouse_workgroup"),
        database=setting("warehouse_database"),
        sql=LOAD_SQL,
        wait_for_completion=True,
    )
    check_quality = AthenaOperator(
        task_id="check_quality",
        query=(
            "SELECT 1 / (CASE WHEN count(*) > 0 THEN 1 ELSE 0 END) AS has_orders "
            "FROM orders WHERE ingest_date = '{{ ds }}'"
        ),
        database=setting("curated_database"),
        workgroup=setting("athena_workgroup"),
        output_location=setting("athena_results"),
    )
    notify = SnsPublishOperator(
        task_id="notify",
        target_arn=setting("notification_topic"),
        subject="Sales pipeline {{ ds }} finished",
        message="The sales of {{ ds }} are curated, loaded and checked.",
    )

    wait_for_orders >> [curate_orders, crawl_raw_zone] >> run_etl_workflow
    run_etl_workflow >> wait_for_etl_workflow >> load_warehouse >> check_quality >> notify
