"""Scenario: the daily sales pipeline, orchestrated by Managed Airflow (MWAA).

The serverless analytics platform holds the data (raw and curated zones, the Glue catalog
and a curation job, Athena, a Redshift Serverless warehouse). A private MWAA environment
runs the DAGs of ``airflow_assets/dags``:

- ``sales_pipeline`` (daily): wait for the accepted orders in the raw zone, curate them
  (Glue job) while the crawler refreshes the raw catalog, run the Step Functions ETL
  workflow, load the warehouse (Redshift Data API), check it with Athena, notify;
- ``table_quality``: one Athena check per curated table, in parallel (dynamic task mapping).

Each accepted object (the library's ``ObjectAccepted`` event) also triggers a
``sales_pipeline`` run at once, through the environment's DAG trigger function as an
EventBridge target. The environment's settings reach the DAGs as the Airflow configuration
section ``pipeline``.

The warehouse side of ``load_warehouse`` is created at deploy time by a
``RedshiftSqlRunner`` (and dropped with the stack): an external schema over the curated
Glue database (Redshift Spectrum, through the namespace's role), the ``daily_orders`` table,
and a ``pipeline_loader`` database role holding exactly what the DAG's SQL needs. The MWAA
execution role signs in with IAM credentials (database user ``IAMR:<role>``) and gets that
role, and only it, through its ``RedshiftDbRoles`` tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Fn, Stack, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration import (
    OBJECT_ACCEPTED,
    AthenaOptions,
    CurationJobOptions,
    DataZone,
    EnvironmentClass,
    ManagedAirflow,
    RedshiftOptions,
    RedshiftSqlRunner,
    RedshiftTarget,
    ServerlessAnalytics,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs._foundation.compliance import acknowledge, nag_reference
from analytics_orchestration.constructs.warehouse import (
    qualified_name,
    quote_identifier,
    quote_literal,
)
from analytics_orchestration.constructs.warehouse.runner import DATABASE_ROLES_TAG

ASSETS = Path(__file__).parent / "airflow_assets"
#: The DAG the ObjectAccepted events trigger.
PIPELINE_DAG = "sales_pipeline"
#: Redshift Serverless needs subnets in three Availability Zones.
AVAILABILITY_ZONES = 3
#: The curation job: raw ``orders/`` into the curated table ``orders``, partitioned by
#: ``ingest_date`` (its default partition column).
CURATION = CurationJobOptions(source_prefix="orders/", table_name="orders")
#: The warehouse: the Spectrum schema over the curated Glue database, the daily table the
#: DAG loads, and the database role the DAG's SQL runs with.
CURATED_SCHEMA = "curated"
WAREHOUSE_SCHEMA = "public"
WAREHOUSE_TABLE = "daily_orders"
LOADER_ROLE = "pipeline_loader"


def warehouse_sql(*, database: str, catalog_database: str,
                  spectrum_role_arn: str) -> tuple[list[str], list[str]]:
    """The runner's create and drop statements.

    ``catalog_database`` is the curated zone's Glue database and ``spectrum_role_arn`` the
    namespace's role that reads it and the curated bucket. The loader role gets exactly
    what ``sales_pipeline``'s ``load_warehouse`` runs: a Spectrum query needs USAGE on the
    external schema and TEMP on the database (Redshift grants no SELECT on the tables of a
    Glue external schema: the namespace's IAM role decides what it reads), and the
    DELETE + INSERT of one day need SELECT, INSERT and DELETE on ``daily_orders``.
    """
    schema = quote_identifier(CURATED_SCHEMA)
    table = qualified_name(WAREHOUSE_SCHEMA, WAREHOUSE_TABLE)
    role = quote_identifier(LOADER_ROLE)
    create = [
        f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {schema} FROM DATA CATALOG DATABASE "
        f"{quote_literal(catalog_database)} IAM_ROLE {quote_literal(spectrum_role_arn)}",
        f"CREATE TABLE IF NOT EXISTS {table} ({quote_identifier('order_date')} DATE NOT NULL, "
        f"{quote_identifier('orders')} BIGINT NOT NULL, "
        f"PRIMARY KEY ({quote_identifier('order_date')}))",
        f"CREATE ROLE {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO ROLE {role}",
        f"GRANT TEMP ON DATABASE {quote_identifier(database)} TO ROLE {role}",
        f"GRANT SELECT, INSERT, DELETE ON {table} TO ROLE {role}",
    ]
    drop = [
        f"DROP ROLE IF EXISTS {role} FORCE",
        f"DROP TABLE IF EXISTS {table}",
        f"DROP SCHEMA IF EXISTS {schema}",
    ]
    return create, drop


class AirflowStack(Stack):
    """A private MWAA environment orchestrating the serverless analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(self, "Key", description="Encrypts the sales pipeline")
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.platform = ServerlessAnalytics(
            self, "Platform", encryption_key=key, server_access_logs_bucket=logs_bucket,
            curation_job=CURATION,
            redshift=RedshiftOptions(base_capacity=8, max_capacity=8),
        )
        platform = self.platform
        self.workflow, _ = blocks.observable_state_machine(
            self, "EtlWorkflow", encryption_key=key, timeout=Duration.hours(1),
            comment="The ETL steps after curation: records the ingest date it was run for",
            definition_body=sfn.DefinitionBody.from_chainable(
                sfn.Pass(self, "RecordIngestDate", parameters={
                    "ingest_date.$": "$.ingest_date"})),
        )
        workflow = self.workflow
        curation_job = platform.curation_job
        raw_crawler = platform.crawlers[DataZone.RAW]
        assert curation_job is not None and platform.redshift_workgroup is not None
        warehouse = self._warehouse()
        self.airflow = ManagedAirflow(
            self, "Airflow",
            dags_folder=ASSETS / "dags",
            requirements_file=ASSETS / "requirements.txt",
            environment_class=EnvironmentClass.MW1_SMALL,
            min_workers=1, max_workers=5,
            encryption_key=key, server_access_logs_bucket=logs_bucket,
            alarm_topic=operations,
            triggerable_dags=[PIPELINE_DAG],
            airflow_configuration_options={
                "core.default_timezone": "utc",
                "pipeline.raw_bucket": platform.raw_bucket.bucket_name,
                "pipeline.curation_job": curation_job.job_name,
                "pipeline.raw_crawler": raw_crawler.ref,
                "pipeline.etl_state_machine": workflow.state_machine_arn,
                "pipeline.warehouse_workgroup": platform.redshift_workgroup.workgroup_name,
                "pipeline.warehouse_database": warehouse.database,
                # Quoted names: the DAG's SQL writes them as they are.
                "pipeline.warehouse_table": qualified_name(WAREHOUSE_SCHEMA, WAREHOUSE_TABLE),
                "pipeline.curated_orders": qualified_name(CURATED_SCHEMA, CURATION.table_name),
                "pipeline.partition_column": quote_identifier(CURATION.partition_column),
                "pipeline.curated_database": platform.databases[DataZone.CURATED].database_name,
                "pipeline.athena_workgroup": platform.athena_workgroup_name,
                "pipeline.athena_results": f"s3://{platform.analytics_bucket.bucket_name}/"
                                           f"{AthenaOptions().results_prefix}",
                "pipeline.notification_topic": operations.topic_arn,
            },
        )
        airflow = self.airflow
        airflow.grant_run_glue_job(curation_job.job_name)
        airflow.grant_start_crawler(raw_crawler)
        airflow.grant_start_execution(workflow)
        airflow.grant_redshift_data(platform.redshift_workgroup)
        # The DAGs' database user gets the loader role, and only it.
        Tags.of(airflow.execution_role).add(DATABASE_ROLES_TAG, LOADER_ROLE)
        platform.grant_query(airflow.execution_role)
        airflow.grant_publish(operations)
        rule = events.Rule(
            self, "AcceptedOrders", description="Each accepted order extract runs the pipeline",
            event_pattern=OBJECT_ACCEPTED.pattern(),
        )
        rule.add_target(airflow.trigger_dag_target(self, dag_id=PIPELINE_DAG,
                                                   rule_name=rule.node.path))
        self._acknowledge_grants()

    @property
    def availability_zones(self) -> list[str]:
        """The first three zones of the deployment Region, resolved at deploy time."""
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]

    def _warehouse(self) -> RedshiftTarget:
        """The warehouse database and, at deploy time, what ``load_warehouse`` reads,
        writes and runs as."""
        platform = self.platform
        workgroup, role = platform.redshift_workgroup, platform.redshift_role
        assert workgroup is not None and role is not None
        assert platform.redshift_options is not None
        target = RedshiftTarget.of_workgroup(
            workgroup, database=platform.redshift_options.database_name)
        create_sql, drop_sql = warehouse_sql(
            database=target.database,
            catalog_database=platform.databases[DataZone.CURATED].database_name,
            spectrum_role_arn=role.role_arn,
        )
        self.warehouse_schema = RedshiftSqlRunner(
            self, "WarehouseSchema", target=target, create_sql=create_sql,
            drop_sql=drop_sql, encryption_key=platform.encryption_key,
            # Creating an external schema and a role needs a superuser.
            database_roles=["sys:superuser"],
        )
        # CREATE EXTERNAL SCHEMA checks that the role can read the catalog: its policy first
        # (the role itself is already referenced, by its ARN in the SQL).
        self.warehouse_schema.resource.node.add_dependency(role.node.find_child("DefaultPolicy"))
        return target

    def _acknowledge_grants(self) -> None:
        """What the DAGs' grants need beyond one named resource."""
        policy = self.airflow.execution_role.node.find_child("DefaultPolicy")
        platform = self.platform
        run_time = ("the DAGs sense and query the platform's zones (grant_query): object keys "
                    "and tables are dates and names known only at run time.")
        findings = [f"{nag_reference(self, bucket.bucket_arn)}/*"
                    for bucket in (platform.raw_bucket, platform.curated_bucket)]
        findings.append(f"{nag_reference(self, platform.analytics_bucket.bucket_arn)}/"
                        f"{AthenaOptions().results_prefix}*")
        findings += [
            "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
            f"{nag_reference(self, platform.databases[zone].database_name)}/*"
            for zone in (DataZone.RAW, DataZone.CURATED)
        ]
        for finding in findings:
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{finding}]",
                        f"Athena queries and the S3 sensor: {run_time}")
        cfn_workflow = self.workflow.node.default_child
        assert isinstance(cfn_workflow, sfn.CfnStateMachine)
        # The state machine's name, as CDK derives it from the ARN for grant_read.
        executions = ('{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"'
                      + self.resolve(cfn_workflow.logical_id) + '"}]}]}')
        acknowledge(
            policy,
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:"
            "<AWS::Region>:<AWS::AccountId>:execution:" + executions + ":*]",
            "StepFunctionStartExecutionOperator waits for the execution it starts; execution "
            "names are only known once it runs (CDK's grant_read of the state machine).")
