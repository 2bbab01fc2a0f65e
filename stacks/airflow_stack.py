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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Fn, Stack
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
    ServerlessAnalytics,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs._foundation.compliance import acknowledge, nag_reference

ASSETS = Path(__file__).parent / "airflow_assets"
#: The DAG the ObjectAccepted events trigger.
PIPELINE_DAG = "sales_pipeline"
#: Redshift Serverless needs subnets in three Availability Zones.
AVAILABILITY_ZONES = 3


class AirflowStack(Stack):
    """A private MWAA environment orchestrating the serverless analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(self, "Key", description="Encrypts the sales pipeline")
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.platform = ServerlessAnalytics(
            self, "Platform", encryption_key=key, server_access_logs_bucket=logs_bucket,
            curation_job=CurationJobOptions(source_prefix="orders/", table_name="orders"),
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
                "pipeline.warehouse_database": "analytics",
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
