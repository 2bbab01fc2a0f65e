"""Scenario: partner order extracts become a curated sales zone and a warehouse table.

Partners upload order extracts (CSV) under ``incoming/orders/`` of an ingestion landing
bucket; each accepted extract (``ObjectAccepted``) starts the workflow:

1. extract, in parallel: the landed orders (Glue job, CSV -> raw zone, rules of
   ``sales_transforms.clean_order``) and the customer reference data (Glue job, JSON lines
   -> raw zone);
2. transform: join and deduplicate into the curated zone, partitioned by day (Glue job);
3. validate: an Athena query fails the run when the curated sales have no row or a
   non-positive amount, before anything is loaded;
4. load: a crawler updates the catalog's curated table, then Athena inserts the day's
   totals into the lake's warehouse table, and a Redshift ``MERGE`` upserts the same
   totals into the Redshift Serverless warehouse (``warehouse.daily_sales``), read in place
   from the curated zone through Redshift Spectrum;
5. then a Spark job on EMR Serverless refreshes the per-customer features the data
   scientists' models read (``customer_features``), from the curated zone.

Every run is recorded in the ledger; failures notify the operations topic and put
``EtlRunFailed`` on the default bus.

The warehouse's schema, table, Spectrum schema and the loader's database role are created
at deploy time by a ``RedshiftSqlRunner`` (and dropped with the stack); the workflow's role
signs in with IAM credentials and gets only the ``sales_loader`` database role.

Redshift Serverless needs subnets in three Availability Zones: like the analytics stack,
the stack offers the first three zones of its Region (``Fn::GetAZs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Tags,
    Validations,
)
from aws_cdk import aws_athena as athena
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration import (
    EmrOptions,
    EtlStep,
    EtlTrigger,
    EventDrivenIngestion,
    ObjectValidationRules,
    RedshiftOptions,
    RedshiftSqlRunner,
    RedshiftTarget,
    ServerlessAnalytics,
    StepFunctionsEtl,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs.warehouse import (
    qualified_name,
    quote_identifier,
    quote_literal,
)

GLUE_SCRIPTS = Path(__file__).parent / "etl_assets" / "glue"
EMR_SCRIPTS = Path(__file__).parent / "etl_assets" / "emr"
DATABASE = "sales_lake"
WAREHOUSE_TABLE = "daily_sales"
#: Raw, curated and warehouse prefixes of the data lake bucket.
RAW_ORDERS = "raw/orders/"
RAW_CUSTOMERS = "raw/customers/"
CURATED_SALES = "curated/sales/"
WAREHOUSE = "warehouse/daily_sales/"
REFERENCE_CUSTOMERS = "reference/customers/"
CUSTOMER_FEATURES = "features/customers/"
#: The Redshift warehouse: its database, schemas, table and the loader's database role.
WAREHOUSE_DATABASE = "sales"
WAREHOUSE_SCHEMA = "warehouse"
LAKE_SCHEMA = "lake"
LOADER_ROLE = "sales_loader"
STAGE_TABLE = "daily_sales_stage"
#: Redshift Serverless needs subnets in this many Availability Zones.
AVAILABILITY_ZONES = 3

QUALITY_QUERY = (
    "SELECT 1 / (CASE WHEN count(*) > 0 AND count_if(CAST(amount AS decimal(18, 2)) <= 0) = 0 "
    f"THEN 1 ELSE 0 END) AS quality_gate FROM {DATABASE}.sales"
)
LOAD_QUERY = (
    f"INSERT INTO {DATABASE}.{WAREHOUSE_TABLE} SELECT segment, currency, count(*) AS orders, "
    "sum(CAST(amount AS decimal(18, 2))) AS revenue, order_date "
    f"FROM {DATABASE}.sales GROUP BY order_date, segment, currency"
)

_TABLE = qualified_name(WAREHOUSE_SCHEMA, WAREHOUSE_TABLE)
_COLUMNS = ("order_date", "segment", "currency", "orders", "revenue")
_KEY = ("order_date", "segment", "currency")
#: Deploy time: the Spectrum schema over the Glue database, the warehouse table, and a
#: loader role that may read the lake and upsert the table (and nothing else).
WAREHOUSE_DDL = [
    f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {quote_identifier(LAKE_SCHEMA)} FROM DATA CATALOG "
    f"DATABASE {quote_literal(DATABASE)} IAM_ROLE DEFAULT",
    f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(WAREHOUSE_SCHEMA)}",
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ({quote_identifier('order_date')} DATE NOT NULL, "
    f"{quote_identifier('segment')} VARCHAR(64) NOT NULL, "
    f"{quote_identifier('currency')} CHAR(3) NOT NULL, {quote_identifier('orders')} BIGINT, "
    f"{quote_identifier('revenue')} DECIMAL(18, 2), PRIMARY KEY "
    f"({', '.join(quote_identifier(c) for c in _KEY)}))",
    f"CREATE ROLE {quote_identifier(LOADER_ROLE)}",
    f"GRANT USAGE ON SCHEMA {quote_identifier(LAKE_SCHEMA)} TO ROLE "
    f"{quote_identifier(LOADER_ROLE)}",
    f"GRANT USAGE ON SCHEMA {quote_identifier(WAREHOUSE_SCHEMA)} TO ROLE "
    f"{quote_identifier(LOADER_ROLE)}",
    f"GRANT SELECT, INSERT, UPDATE ON {_TABLE} TO ROLE {quote_identifier(LOADER_ROLE)}",
]
WAREHOUSE_DROP = [
    f"DROP ROLE IF EXISTS {quote_identifier(LOADER_ROLE)} FORCE",
    f"DROP TABLE IF EXISTS {_TABLE}",
    f"DROP SCHEMA IF EXISTS {quote_identifier(WAREHOUSE_SCHEMA)}",
    f"DROP SCHEMA IF EXISTS {quote_identifier(LAKE_SCHEMA)}",
]
#: Run time, one transaction: the day's totals from the curated zone (Spectrum) into a
#: staging table, then MERGE (whose source must be a table) and drop the stage.
_STAGE = quote_identifier(STAGE_TABLE)
MERGE_SQL = [
    f"CREATE TEMP TABLE {_STAGE} AS SELECT CAST(order_date AS DATE) AS order_date, segment, "
    "currency, COUNT(*) AS orders, SUM(CAST(amount AS DECIMAL(18, 2))) AS revenue FROM "
    f"{qualified_name(LAKE_SCHEMA, 'sales')} GROUP BY order_date, segment, currency",
    f"MERGE INTO {_TABLE} USING {_STAGE} AS s ON "
    + " AND ".join(f"{_TABLE}.{quote_identifier(c)} = s.{quote_identifier(c)}" for c in _KEY)
    + " WHEN MATCHED THEN UPDATE SET "
    + ", ".join(f"{quote_identifier(c)} = s.{quote_identifier(c)}" for c in ("orders",
                                                                           "revenue"))
    + f" WHEN NOT MATCHED THEN INSERT ({', '.join(quote_identifier(c) for c in _COLUMNS)}) "
    + f"VALUES ({', '.join(f's.{quote_identifier(c)}' for c in _COLUMNS)})",
    f"DROP TABLE {_STAGE}",
]


class GlueEtlStack(Stack):
    """Glue ETL from landed extracts to the curated zone and the warehouse."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "DataKey", description="Encrypts the sales data lake, its jobs and its workflow"
        )
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.ingestion = EventDrivenIngestion(
            self, "Ingestion", encryption_key=key, server_access_logs_bucket=logs_bucket,
            key_prefixes=["incoming/orders/"], key_suffixes=[".csv"],
            validation_rules=ObjectValidationRules(allowed_suffixes=[".csv"]),
            alarm_topic=operations,
        )
        self.lake, self.query_results = (
            blocks.secure_bucket(self, name, encryption_key=key,
                                 server_access_logs_bucket=logs_bucket,
                                 server_access_logs_prefix=prefix)
            for name, prefix in (("DataLake", "lake/"), ("QueryResults", "athena/"))
        )
        glue_role = self._glue_role(key)
        security = glue.SecurityConfiguration(
            self, "GlueSecurity",
            s3_encryption=glue.S3Encryption.kms(key),
            cloud_watch_encryption=glue.CloudWatchEncryption.kms(key),
            job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(key),
        )
        lake = self.lake.bucket_name
        extract_orders = self._job("ExtractOrders", "extract_orders.py", glue_role, security,
                                   "Partner order extracts (CSV) to the raw zone")
        extract_customers = self._job("ExtractCustomers", "extract_customers.py", glue_role,
                                      security, "Customer reference data to the raw zone")
        curate = self._job("CurateSales", "curate_sales.py", glue_role, security,
                           "Orders joined with customers into the curated zone")
        database = glue.CfnDatabase(
            self, "SalesDatabase", catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=DATABASE, description="Curated sales and the daily warehouse table"))
        crawler = glue.CfnCrawler(
            self, "CuratedCrawler", role=glue_role.role_arn, database_name=DATABASE,
            crawler_security_configuration=security.security_configuration_name,
            targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                glue.CfnCrawler.S3TargetProperty(path=f"s3://{lake}/{CURATED_SALES}")]),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="UPDATE_IN_DATABASE", delete_behavior="LOG"),
        )
        crawler.node.add_dependency(database)
        self._warehouse_table(database)
        work_group = athena.CfnWorkGroup(
            self, "Warehouse", name=f"{construct_id}-warehouse".lower(),
            description="Quality checks and warehouse loads of the sales ETL",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.query_results.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn)),
            ),
        )
        work_group.apply_removal_policy(RemovalPolicy.RETAIN)
        features_job = self._customer_features_job(key)
        warehouse = self._warehouse(key)
        self.etl = StepFunctionsEtl(
            self, "SalesEtl",
            workflow_name="sales-etl",
            extract=[
                EtlStep.glue_job("ExtractOrders", extract_orders,
                                 arguments=sfn.TaskInput.from_object({
                                     "--source_bucket": sfn.JsonPath.string_at("$.bucket"),
                                     "--source_key": sfn.JsonPath.string_at("$.key"),
                                     "--raw_path": f"s3://{lake}/{RAW_ORDERS}",
                                 })),
                EtlStep.glue_job("ExtractCustomers", extract_customers,
                                 arguments=sfn.TaskInput.from_object({
                                     "--source_path": f"s3://{lake}/{REFERENCE_CUSTOMERS}",
                                     "--raw_path": f"s3://{lake}/{RAW_CUSTOMERS}",
                                 })),
            ],
            transform=[EtlStep.glue_job(
                "CurateSales", curate, arguments=sfn.TaskInput.from_object({
                    "--orders_path": f"s3://{lake}/{RAW_ORDERS}",
                    "--customers_path": f"s3://{lake}/{RAW_CUSTOMERS}",
                    "--curated_path": f"s3://{lake}/{CURATED_SALES}",
                }))],
            validate=[EtlStep.athena_query("CheckCuratedSales", QUALITY_QUERY,
                                           work_group=work_group, database=DATABASE,
                                           data_bucket=self.lake,
                                           read_prefixes=[CURATED_SALES])],
            load=[
                EtlStep.glue_crawler("UpdateCatalog", crawler),
                EtlStep.athena_query("LoadWarehouse", LOAD_QUERY, work_group=work_group,
                                     database=DATABASE, data_bucket=self.lake,
                                     read_prefixes=[CURATED_SALES],
                                     write_prefixes=[WAREHOUSE]),
                EtlStep.redshift_sql("MergeIntoRedshift", MERGE_SQL, target=warehouse),
                features_job,
            ],
            timeout=Duration.hours(3),
            triggers=[EtlTrigger.object_accepted(self.ingestion.bucket,
                                                 key_prefix="incoming/orders/")],
            encryption_key=key,
            notification_topic=operations,
            notify_on_success=False,
            alarm_topic=operations,
        )
        # The workflow's database user gets the loader role, and only it.
        Tags.of(self.etl.state_machine.role).add("RedshiftDbRoles", LOADER_ROLE)

    @property
    def availability_zones(self) -> list[str]:
        """The first three zones of the deployment Region, resolved at deploy time."""
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]

    # ------------------------------------------------------------------ helpers
    def _warehouse(self, key: kms.IKey) -> RedshiftTarget:
        """Redshift Serverless, its Spectrum access to the curated zone, and its DDL."""
        self.warehouse = ServerlessAnalytics(
            self, "RedshiftWarehouse", encryption_key=key, enable_data_lake=False,
            enable_catalog=False, enable_athena=False,
            redshift=RedshiftOptions(base_capacity=8, max_capacity=32,
                                     database_name=WAREHOUSE_DATABASE),
        )
        workgroup, role = self.warehouse.redshift_workgroup, self.warehouse.redshift_role
        assert workgroup is not None and role is not None
        # Spectrum (IAM_ROLE DEFAULT, the namespace's role) reads the curated sales only.
        lake_id = self.resolve(self.get_logical_id(_cfn(self.lake)))
        for sid, actions, resources in (
            ("SpectrumReadsCuratedSales", ["s3:GetObject"],
             [self.lake.arn_for_objects(f"{CURATED_SALES}*")]),
            ("SpectrumListsTheLake", ["s3:ListBucket", "s3:GetBucketLocation"],
             [self.lake.bucket_arn]),
            ("SpectrumReadsTheSalesCatalog",
             ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
              "glue:GetPartitions", "glue:BatchGetPartition"],
             [self.format_arn(service="glue", resource="catalog"),
              self.format_arn(service="glue", resource="database", resource_name=DATABASE),
              self.format_arn(service="glue", resource="table",
                              resource_name=f"{DATABASE}/*")]),
        ):
            role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions,
                                                   resources=resources))
        key.grant(role, "kms:Decrypt")
        policy = role.node.find_child("DefaultPolicy")
        for finding, reason in {
            f"Resource::<{lake_id}.Arn>/{CURATED_SALES}*": "Spectrum reads every day "
            "partition of the curated sales; partitions are only known at run time.",
            f"Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
            f"{DATABASE}/*": "Spectrum reads the tables of the sales database only (the "
            "external schema maps that one database).",
        }.items():
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason))
        target = RedshiftTarget.of_workgroup(workgroup, database=WAREHOUSE_DATABASE)
        RedshiftSqlRunner(
            self, "WarehouseSchema", target=target, create_sql=WAREHOUSE_DDL,
            drop_sql=WAREHOUSE_DROP, encryption_key=key,
            # Creating an external schema and a role needs a superuser.
            database_roles=["sys:superuser"],
        )
        return target

    def _glue_role(self, key: kms.IKey) -> iam.Role:
        """Exactly what the jobs and the crawler do: read sources, write the lake's zones."""
        role = iam.Role(self, "GlueRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                        description="Runs the sales ETL's Glue jobs and crawler")
        lake, landing = self.lake, self.ingestion.bucket
        statements = [
            ("ReadTheLake", ["s3:GetObject"], [lake.arn_for_objects("*")]),
            ("ListTheLake", ["s3:ListBucket"], [lake.bucket_arn]),
            ("WriteTheZones", ["s3:PutObject", "s3:DeleteObject"],
             [lake.arn_for_objects(f"{zone}*") for zone in (RAW_ORDERS, RAW_CUSTOMERS,
                                                            CURATED_SALES)]),
            ("ReadLandedOrders", ["s3:GetObject"], [landing.arn_for_objects("incoming/orders/*")]),
            ("CatalogOfTheSalesDatabase",
             ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
              "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
              "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:UpdatePartition",
              "glue:GetSecurityConfiguration"],
             [self.format_arn(service="glue", resource="catalog"),
              self.format_arn(service="glue", resource="database", resource_name=DATABASE),
              self.format_arn(service="glue", resource="table", resource_name=f"{DATABASE}/*")]),
            ("GlueLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                          "logs:AssociateKmsKey"],
             [self.format_arn(service="logs", resource="log-group", resource_name="/aws-glue/*",
                              arn_format=ArnFormat.COLON_RESOURCE_NAME)]),
        ]
        for sid, actions, resources in statements:
            role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions,
                                                   resources=resources))
        key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        policy = role.node.find_child("DefaultPolicy")
        lake_id = self.resolve(self.get_logical_id(_cfn(lake)))
        landing_id = self.resolve(self.get_logical_id(_cfn(landing)))
        reasons = {
            f"Resource::<{lake_id}.Arn>/*": "The jobs read any data set of the lake (raw, "
            "reference, curated); object keys are partitioned by day and only known at run time.",
            **{f"Resource::<{lake_id}.Arn>/{zone}*": f"Jobs write the {zone} zone, partitioned "
               "by day: keys are only known at run time." for zone in (
                   RAW_ORDERS, RAW_CUSTOMERS, CURATED_SALES)},
            f"Resource::<{landing_id}.Arn>/incoming/orders/*": "The extract job reads whichever "
            "order extract was accepted; keys are only known at run time.",
            f"Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
            f"{DATABASE}/*": "The crawler creates and updates the tables of the sales database "
            "only.",
            "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            "/aws-glue/*": "Glue writes job and crawler logs to log groups it names under "
            "/aws-glue/.",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            "<AWS::Region>/*": "Glue reads the job scripts CDK published as assets (granted by "
            "the Glue job construct).",
            **{f"Action::{action}": "The Glue job construct's read grant on the job script "
               "assets (CDK's grant_read) for the scripts and their extra Python files."
               for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*")},
        }
        for finding, reason in reasons.items():
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason))
        return role

    def _customer_features_job(self, key: kms.IKey) -> EtlStep:
        """The EMR Serverless Spark application, its job role and the features step.

        The job role reads the curated zone and replaces the features zone, nothing else;
        the application starts on the first job and stops when idle.
        """
        defaults = EmrOptions()
        application = emrserverless.CfnApplication(
            self, "SparkApplication", release_label=defaults.release_label, type="SPARK",
            architecture=defaults.architecture.value,
            auto_start_configuration=emrserverless.CfnApplication.AutoStartConfigurationProperty(
                enabled=True),
            auto_stop_configuration=emrserverless.CfnApplication.AutoStopConfigurationProperty(
                enabled=True, idle_timeout_minutes=15),
            maximum_capacity=emrserverless.CfnApplication.MaximumAllowedResourcesProperty(
                cpu="16 vCPU", memory="64 GB", disk="200 GB"),
        )
        # Only this application's job runs, in this account, may assume the role (the
        # confused-deputy conditions EMR Serverless documents for job runtime roles).
        role = iam.Role(self, "SparkJobRole", assumed_by=iam.ServicePrincipal(
            "emr-serverless.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": self.account},
                "ArnLike": {"aws:SourceArn": application.attr_arn}}),
            description="Runs the customer-features Spark job on EMR Serverless")
        lake = self.lake
        for sid, actions, resources in (
            ("ReadCuratedSales", ["s3:GetObject"], [lake.arn_for_objects(f"{CURATED_SALES}*")]),
            ("ListTheLake", ["s3:ListBucket"], [lake.bucket_arn]),
            ("ReplaceCustomerFeatures", ["s3:PutObject", "s3:DeleteObject"],
             [lake.arn_for_objects(f"{CUSTOMER_FEATURES}*")]),
        ):
            role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions,
                                                   resources=resources))
        key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        script = s3_assets.Asset(self, "CustomerFeaturesScript",
                                 path=str(EMR_SCRIPTS / "customer_features.py"))
        script.grant_read(role)
        policy = role.node.find_child("DefaultPolicy")
        lake_id = self.resolve(self.get_logical_id(_cfn(lake)))
        reasons = {
            f"Resource::<{lake_id}.Arn>/{CURATED_SALES}*": "The job reads every day partition "
            "of the curated sales zone; partitions are only known at run time.",
            f"Resource::<{lake_id}.Arn>/{CUSTOMER_FEATURES}*": "Spark writes (and on overwrite "
            "deletes) part files whose names it chooses at run time, in the features zone only.",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            "<AWS::Region>/*": "EMR Serverless reads the job script CDK published as an asset "
            "(the asset's grant_read).",
            **{f"Action::{action}": "The script asset's read grant (CDK's grant_read)."
               for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*")},
        }
        for finding, reason in reasons.items():
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason))
        lake_url = f"s3://{lake.bucket_name}"
        return EtlStep.emr_serverless_job(
            "BuildCustomerFeatures", application=application, execution_role=role,
            entry_point=script.s3_object_url,
            entry_point_arguments=[f"{lake_url}/{CURATED_SALES}",
                                   f"{lake_url}/{CUSTOMER_FEATURES}"],
            spark_submit_parameters="--conf spark.executor.cores=2 "
                                    "--conf spark.executor.memory=4g",
        )

    def _job(self, construct_id: str, script: str, role: iam.IRole,
             security: glue.ISecurityConfiguration, description: str) -> glue.PySparkEtlJob:
        return glue.PySparkEtlJob(
            self, construct_id,
            role=role,
            description=description,
            script=glue.Code.from_asset(str(GLUE_SCRIPTS / script)),
            extra_python_files=[glue.Code.from_asset(str(GLUE_SCRIPTS / "sales_transforms.py"))],
            glue_version=glue.GlueVersion.V5_0,
            worker_configuration=glue.WorkerConfiguration(worker_type=glue.WorkerType.G_1X,
                                                          number_of_workers=2),
            timeout=Duration.hours(1),
            max_concurrent_runs=1,
            security_configuration=security,
            job_run_queuing_enabled=True,
        )

    def _warehouse_table(self, database: glue.CfnDatabase) -> None:
        table = glue.CfnTable(
            self, "DailySalesTable", catalog_id=self.account, database_name=DATABASE,
            table_input=glue.CfnTable.TableInputProperty(
                name=WAREHOUSE_TABLE, table_type="EXTERNAL_TABLE",
                parameters={"classification": "json"},
                partition_keys=[glue.CfnTable.ColumnProperty(name="order_date", type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"s3://{self.lake.bucket_name}/{WAREHOUSE}",
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"),
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in (
                        ("segment", "string"), ("currency", "string"), ("orders", "bigint"),
                        ("revenue", "decimal(18,2)"))],
                ),
            ),
        )
        table.node.add_dependency(database)


def _cfn(bucket: s3.IBucket) -> s3.CfnBucket:
    child = bucket.node.default_child
    assert isinstance(child, s3.CfnBucket)
    return child
