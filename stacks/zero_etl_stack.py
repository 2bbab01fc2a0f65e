"""Scenario: a retailer's warehouse fed without ETL jobs.

- Partners drop daily order files (CSV with a header row) under ``partners/orders/`` of a
  landing bucket; Redshift's auto-copy (an S3 event integration and a COPY job) loads each
  new file into ``partner.orders_landing``.
- The web shop's clickstream (a Kinesis stream of JSON events) is ingested in near real
  time into the materialized view ``clickstream.events`` (payload as SUPER), readable by the
  ``analyst`` database role.
- The orders database (``orders`` on Aurora PostgreSQL Serverless v2, in the warehouse's
  private VPC) is replicated by a zero-ETL integration into the read-only Redshift
  database ``orders_replica``.
- The web shop's shopping carts (a DynamoDB table) are replicated by a zero-ETL
  integration into the read-only Redshift database ``carts_replica``.
- Every morning a workflow ``MERGE``s the landed partner orders into
  ``warehouse.partner_orders`` and clears the landing table, in one transaction.
- The landing service writes its logs (JSON lines, one per received or rejected partner
  file) under ``logs/`` of a landing-logs bucket. They stay there and are queryable from
  OpenSearch in place: a direct-query data source ``landing_logs`` over a Glue database of
  the same name (``S3DirectQuery``, on a private OpenSearch domain whose master user is the
  log analysts' role; its tables are created by OpenSearch's own SQL, ``CREATE EXTERNAL
  TABLE ... USING json LOCATION 's3://<bucket>/logs/'`` in Query Workbench). Each new log
  file is also indexed within minutes into the ``landing-logs-<yyyy.MM.dd>`` indexes of
  the OpenSearch Serverless collection ``landing-logs`` by an OpenSearch Ingestion pipeline
  (``S3IngestionPipeline``), for full-text search over recent logs.

The warehouse's schemas, the target table and the database roles are created at deploy
time by a ``RedshiftSqlRunner``; each zero-ETL construct runs its own SQL after it.

Cost of the OpenSearch part, on top of the warehouse (us-east-1 list prices, late 2026): the
domain's three ``r7g.medium.search`` data nodes and three ``m7g.large.search`` dedicated
masters (the library's fault-tolerant floor) about USD 0.6 an hour, the pipeline's one to
two Ingestion OCUs and the collection's minimum OCUs (no standby replicas) about USD 0.5 an
hour together. The domain, the pipeline and the collection run in the warehouse's VPC.

The Aurora integration is not offered in every Region (see ``AuroraToRedshift``).

Redshift Serverless needs subnets in three Availability Zones: the stack offers the first
three zones of its Region (``Fn::GetAZs``), as the other warehouse stacks do.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Fn, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from analytics_orchestration import (
    AuroraToRedshift,
    CollectionType,
    CopyFormat,
    DirectQueryDomainOptions,
    DynamoDbToRedshift,
    EtlStep,
    EtlTrigger,
    KinesisDataStream,
    KinesisStreamingIngestion,
    OpenSearchOptions,
    RedshiftOptions,
    RedshiftSqlRunner,
    RedshiftTarget,
    S3AutoCopy,
    S3DirectQuery,
    S3IngestionPipeline,
    ServerlessAnalytics,
    StepFunctionsEtl,
    StreamingTable,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs.warehouse.sql import qualified_name, quote_identifier

#: Redshift Serverless needs subnets in this many Availability Zones.
AVAILABILITY_ZONES = 3
WAREHOUSE_DATABASE = "retail"
PARTNER_PREFIX = "partners/orders/"
PARTNER_SCHEMA, LANDING_TABLE = "partner", "orders_landing"
WAREHOUSE_SCHEMA, TARGET_TABLE = "warehouse", "partner_orders"
CLICKSTREAM_SCHEMA, CLICKSTREAM_VIEW = "clickstream", "events"
KINESIS_SCHEMA = "kinesis"
REPLICA_DATABASE = "orders_replica"
#: The Aurora PostgreSQL database of the orders (replicated into REPLICA_DATABASE).
ORDERS_DATABASE = "orders"
CARTS_DATABASE = "carts_replica"
COPY_JOB = "partner_orders_auto_copy"
ANALYST_ROLE, MERGER_ROLE = "analyst", "partner_merger"
#: The landing logs: where they land, the direct-query data source (and its Glue database),
#: the collection and the daily indexes they are indexed into.
LANDING_LOGS_PREFIX = "logs/"
LOGS_DATA_SOURCE = "landing_logs"
LOGS_COLLECTION = "landing-logs"
LOGS_INDEX = "landing-logs-%{yyyy.MM.dd}"
#: The partner files' columns, in file order.
PARTNER_COLUMNS = {"order_id": "VARCHAR(64) NOT NULL", "partner_id": "VARCHAR(32) NOT NULL",
                   "order_date": "DATE", "amount": "DECIMAL(18, 2)"}
_KEY = ("order_id", "partner_id")

_LANDING = qualified_name(PARTNER_SCHEMA, LANDING_TABLE)
_TARGET = qualified_name(WAREHOUSE_SCHEMA, TARGET_TABLE)


def _q(name: str) -> str:
    return quote_identifier(name)


#: Deploy time, before the zero-ETL constructs: schemas, the merge target, database roles.
WAREHOUSE_DDL = [
    *(f"CREATE SCHEMA IF NOT EXISTS {_q(s)}" for s in (PARTNER_SCHEMA, WAREHOUSE_SCHEMA,
                                                       CLICKSTREAM_SCHEMA)),
    f"CREATE TABLE IF NOT EXISTS {_TARGET} ("
    + ", ".join(f"{_q(c)} {t}" for c, t in PARTNER_COLUMNS.items())
    + f", PRIMARY KEY ({', '.join(_q(c) for c in _KEY)}))",
    f"CREATE ROLE {_q(ANALYST_ROLE)}",
    f"CREATE ROLE {_q(MERGER_ROLE)}",
    f"GRANT USAGE ON SCHEMA {_q(PARTNER_SCHEMA)} TO ROLE {_q(MERGER_ROLE)}",
    f"GRANT USAGE ON SCHEMA {_q(WAREHOUSE_SCHEMA)} TO ROLE {_q(MERGER_ROLE)}",
    f"GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA {_q(PARTNER_SCHEMA)} TO ROLE "
    f"{_q(MERGER_ROLE)}",
    f"GRANT SELECT, INSERT, UPDATE ON {_TARGET} TO ROLE {_q(MERGER_ROLE)}",
]
WAREHOUSE_DROP = [
    f"DROP ROLE IF EXISTS {_q(MERGER_ROLE)} FORCE",
    f"DROP ROLE IF EXISTS {_q(ANALYST_ROLE)} FORCE",
    f"DROP TABLE IF EXISTS {_TARGET}",
    *(f"DROP SCHEMA IF EXISTS {_q(s)}" for s in (CLICKSTREAM_SCHEMA, WAREHOUSE_SCHEMA,
                                                 PARTNER_SCHEMA)),
]
#: Run time, one transaction: upsert the landed orders, then clear the landing table.
MERGE_SQL = [
    f"MERGE INTO {_TARGET} USING {_LANDING} AS s ON "
    + " AND ".join(f"{_TARGET}.{_q(c)} = s.{_q(c)}" for c in _KEY)
    + " WHEN MATCHED THEN UPDATE SET "
    + ", ".join(f"{_q(c)} = s.{_q(c)}" for c in PARTNER_COLUMNS if c not in _KEY)
    + f" WHEN NOT MATCHED THEN INSERT ({', '.join(_q(c) for c in PARTNER_COLUMNS)}) "
    + f"VALUES ({', '.join(f's.{_q(c)}' for c in PARTNER_COLUMNS)})",
    f"DELETE FROM {_LANDING}",
]


class ZeroEtlStack(Stack):
    """Partner files, the clickstream, orders and carts into Redshift, no ETL job."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(self, "DataKey",
                                description="Encrypts the retail warehouse and its sources")
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.landing = blocks.secure_bucket(self, "PartnerLanding", encryption_key=key,
                                            server_access_logs_bucket=logs_bucket,
                                            server_access_logs_prefix="landing/")
        self.warehouse = ServerlessAnalytics(
            self, "Warehouse", encryption_key=key, enable_data_lake=False,
            enable_catalog=False, enable_athena=False,
            redshift=RedshiftOptions(base_capacity=8, max_capacity=32,
                                     database_name=WAREHOUSE_DATABASE),
        )
        namespace, workgroup = self.warehouse.redshift_namespace, self.warehouse.redshift_workgroup
        assert namespace is not None and workgroup is not None
        self.target = RedshiftTarget.of_workgroup(workgroup, database=WAREHOUSE_DATABASE)
        schema = RedshiftSqlRunner(
            self, "WarehouseSchema", target=self.target, create_sql=WAREHOUSE_DDL,
            drop_sql=WAREHOUSE_DROP, encryption_key=key, database_roles=["sys:superuser"])
        self.auto_copy = S3AutoCopy(
            self, "PartnerOrders", bucket=self.landing, namespace=namespace,
            target=self.target, schema=PARTNER_SCHEMA, table=LANDING_TABLE,
            columns=PARTNER_COLUMNS, job_name=COPY_JOB, key_prefix=PARTNER_PREFIX,
            file_format=CopyFormat.CSV, ignore_header_rows=1, encryption_key=key,
            database_roles=["sys:superuser"])
        self.clickstream = KinesisDataStream(self, "Clickstream", encryption_key=key,
                                             alarm_topic=operations)
        self.streaming = KinesisStreamingIngestion(
            self, "ClickstreamView", stream=self.clickstream.stream, namespace=namespace,
            workgroup=workgroup, target=self.target, external_schema=KINESIS_SCHEMA,
            view=CLICKSTREAM_VIEW, view_schema=CLICKSTREAM_SCHEMA, grant_select_to=[ANALYST_ROLE],
            encryption_key=key)
        assert self.warehouse.vpc is not None
        self.orders = AuroraToRedshift(
            self, "OrdersDatabase", namespace=namespace, workgroup=workgroup,
            target=self.target, database=REPLICA_DATABASE, source_database=ORDERS_DATABASE,
            vpc=self.warehouse.vpc, encryption_key=key)
        self.carts = StreamingTable(self, "Carts", partition_key="cart_id",
                                    encryption_key=key)
        self.carts_replica = DynamoDbToRedshift(
            self, "CartsReplica", table=self.carts.table, namespace=namespace,
            workgroup=workgroup, target=self.target, database=CARTS_DATABASE,
            encryption_key=key)
        for dependent in (self.auto_copy.runner, self.streaming.runner, self.orders.runner,
                          self.carts_replica.runner):
            dependent.resource.node.add_dependency(schema.resource)
        self.etl = StepFunctionsEtl(
            self, "PartnerMerge", workflow_name="partner-merge",
            load=[EtlStep.redshift_sql("MergePartnerOrders", MERGE_SQL, target=self.target)],
            timeout=Duration.hours(1),
            triggers=[EtlTrigger.schedule(scheduler.ScheduleExpression.cron(
                minute="30", hour="6"))],
            encryption_key=key, notification_topic=operations, notify_on_success=False,
            alarm_topic=operations,
        )
        # The workflow's database user gets the merger role, and only it.
        Tags.of(self.etl.state_machine.role).add("RedshiftDbRoles", MERGER_ROLE)
        self._add_landing_logs(key, logs_bucket)

    def _add_landing_logs(self, key: kms.IKey, logs_bucket: s3.IBucket) -> None:
        """The landing logs: queryable from OpenSearch in place, and indexed for search."""
        vpc = self.warehouse.vpc
        assert vpc is not None
        self.landing_logs = blocks.secure_bucket(
            self, "LandingLogs", encryption_key=key, server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="landing-logs/", event_bridge_notifications=True)
        self.log_query_checkpoints = blocks.secure_bucket(
            self, "LogQueryCheckpoints", encryption_key=key,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="log-query-checkpoints/")
        self.log_analysts = iam.Role(
            self, "LogAnalystRole", assumed_by=iam.AccountPrincipal(self.account),
            description="Operations analysts querying and searching the landing logs")
        self.log_search = ServerlessAnalytics(
            self, "LogSearch", encryption_key=key, enable_data_lake=False,
            enable_catalog=False, enable_athena=False, vpc=vpc,
            opensearch=OpenSearchOptions(
                collection_name=LOGS_COLLECTION, data_access_principals=[self.log_analysts],
                collection_type=CollectionType.TIMESERIES, standby_replicas=False),
        )
        collection = self.log_search.opensearch_collection
        assert collection is not None
        self.logs_in_place = S3DirectQuery(
            self, "LandingLogsInPlace", data_source_name=LOGS_DATA_SOURCE,
            buckets=[self.landing_logs], key_prefix=LANDING_LOGS_PREFIX,
            checkpoint_bucket=self.log_query_checkpoints,
            domain_options=DirectQueryDomainOptions(master_user=self.log_analysts),
            vpc=vpc, encryption_key=key,
            description="The landing service logs read in place from S3")
        self.logs_indexed = S3IngestionPipeline(
            self, "LandingLogsIndexed", bucket=self.landing_logs,
            key_prefix=LANDING_LOGS_PREFIX, collection=collection, index=LOGS_INDEX,
            max_units=2, vpc=vpc, encryption_key=key)

    @property
    def availability_zones(self) -> list[str]:
        """The first three zones of the deployment Region, resolved at deploy time."""
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]
