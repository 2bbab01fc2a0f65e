"""Scenario: a retailer's serverless analytics platform, every part of it turned on.

Store extracts land in the raw zone under ``sales/`` (CSV); a Glue job curates them into
the partitioned Parquet table ``sales``, and nightly crawlers keep the catalog current.
Analysts query with Athena (saved queries for daily revenue and top products, 10 GiB
per query at most); BI dashboards use Redshift Serverless, whose case-sensitive
identifiers let a zero-ETL integration from the order database land there; data
scientists submit Spark jobs to EMR Serverless; the web shop streams clickstream events
to MSK Serverless, and Redshift ingests the ``clickstream`` topic into the auto-refreshed
materialized view ``public.clickstream_events`` within seconds (streaming ingestion: no
consumer, no staging bucket); application logs are indexed in an OpenSearch Serverless
time-series collection.

The stack is environment-agnostic, yet Redshift Serverless needs subnets in three
Availability Zones: the stack offers the first three zones of whatever Region it is
deployed to (``Fn::GetAZs``), so the platform's VPC spans three.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aws_cdk import Acknowledgment, CfnElement, CfnOutput, Fn, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from analytics_orchestration import (
    AthenaNamedQuery,
    AthenaOptions,
    CollectionType,
    CurationJobOptions,
    DataZone,
    EmrOptions,
    MskOptions,
    MskStreamingIngestion,
    OpenSearchOptions,
    RedshiftOptions,
    RedshiftTarget,
    ServerlessAnalytics,
)

#: Redshift Serverless needs subnets in this many Availability Zones.
AVAILABILITY_ZONES = 3
CLICKSTREAM_TOPIC = "clickstream"
SESSIONISER_GROUP = "sessioniser"
#: The Redshift schema that maps the MSK cluster's topics, and the clickstream's view.
MSK_SCHEMA = "msk"
CLICKSTREAM_VIEW = "clickstream_events"
_T = TypeVar("_T")

DAILY_REVENUE = """\
SELECT ingest_date, store_id, SUM(CAST(amount AS DECIMAL(12, 2))) AS revenue
FROM sales
GROUP BY ingest_date, store_id
ORDER BY ingest_date DESC, revenue DESC"""

TOP_PRODUCTS = """\
SELECT product_id, COUNT(*) AS orders
FROM sales
WHERE ingest_date >= CAST(current_date - INTERVAL '7' DAY AS VARCHAR)
GROUP BY product_id
ORDER BY orders DESC
LIMIT 20"""


class ServerlessAnalyticsStack(Stack):
    """The serverless analytics platform of the example retailer."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        account = iam.AccountPrincipal(self.account)
        self.analysts = iam.Role(self, "AnalystRole", assumed_by=account,
                                 description="Analysts querying the data lake with Athena")
        self.data_scientists = iam.Role(self, "DataScientistRole", assumed_by=account,
                                        description="Data scientists submitting Spark jobs")
        self.clickstream_producer = iam.Role(
            self, "ClickstreamProducerRole", assumed_by=account,
            description="The web shop writing clickstream events",
        )
        self.sessioniser = iam.Role(
            self, "SessioniserRole", assumed_by=account,
            description="The consumer turning clickstream events into sessions",
        )
        self.log_shipper = iam.Role(
            self, "LogShipperRole", assumed_by=account,
            description="Ships application logs into the OpenSearch collection",
        )

        self.platform = ServerlessAnalytics(
            self,
            "Platform",
            curation_job=CurationJobOptions(source_prefix="sales/", table_name="sales"),
            athena=AthenaOptions(named_queries=[
                AthenaNamedQuery(name="daily-revenue", query=DAILY_REVENUE,
                                 description="Revenue per store and day"),
                AthenaNamedQuery(name="top-products-7d", query=TOP_PRODUCTS,
                                 description="Most ordered products of the last 7 days"),
            ]),
            redshift=RedshiftOptions(
                base_capacity=8, max_capacity=64,
                config_parameters={"enable_case_sensitive_identifier": "true"},
            ),
            emr=EmrOptions(),
            msk=MskOptions(),
            opensearch=OpenSearchOptions(
                collection_name="app-logs",
                collection_type=CollectionType.TIMESERIES,
                data_access_principals=[self.log_shipper],
            ),
        )
        self.platform.grant_query(self.analysts)
        self._acknowledge_analyst_wildcards()
        self.platform.grant_start_job_run(self.data_scientists)
        _acknowledge(
            self.data_scientists,
            f"Resource::<{_logical_id(_required(self.platform.emr_application))}.Arn>/jobruns/*",
            "Data scientists watch and cancel the job runs they start; run ids are only "
            "known once a run starts.",
        )
        self.platform.grant_produce(self.clickstream_producer, topic_name=CLICKSTREAM_TOPIC)
        self.platform.grant_consume(self.sessioniser, topic_name=CLICKSTREAM_TOPIC,
                                    consumer_group=SESSIONISER_GROUP)
        self.clickstream_view = self._clickstream_view()
        self._outputs()

    @property
    def availability_zones(self) -> list[str]:
        """The first three zones of the deployment Region, resolved at deploy time."""
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]

    def _clickstream_view(self) -> MskStreamingIngestion:
        """The clickstream topic ingested into Redshift (``public.clickstream_events``)."""
        platform = self.platform
        workgroup = _required(platform.redshift_workgroup)
        options = _required(platform.redshift_options)
        return MskStreamingIngestion(
            self, "ClickstreamView", cluster=_required(platform.msk_cluster),
            topic=CLICKSTREAM_TOPIC,
            cluster_security_group=_required(platform.msk_security_group),
            workgroup_security_group=_required(platform.redshift_security_group),
            namespace=_required(platform.redshift_namespace), workgroup=workgroup,
            target=RedshiftTarget.of_workgroup(workgroup, database=options.database_name),
            external_schema=MSK_SCHEMA, view=CLICKSTREAM_VIEW,
            encryption_key=platform.encryption_key,
        )

    def _acknowledge_analyst_wildcards(self) -> None:
        """What grant_query gives analysts: any table and object of the zones they query."""
        platform = self.platform
        tables = [
            "Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
            f"<{_logical_id(platform.databases[zone])}>/*"
            for zone in (DataZone.RAW, DataZone.CURATED)
        ]
        objects = [f"Resource::<{_logical_id(bucket)}.Arn>/*"
                   for bucket in (platform.raw_bucket, platform.curated_bucket)]
        results = (f"Resource::<{_logical_id(platform.analytics_bucket)}.Arn>/"
                   f"{AthenaOptions().results_prefix}*")
        for finding in (*tables, *objects):
            _acknowledge(self.analysts, finding,
                         "Analysts query any table of the raw and curated zones; tables are "
                         "created by crawlers and the curation job, their names and object "
                         "keys are not known in advance.")
        _acknowledge(self.analysts, results,
                     "Athena writes each query's results under a new key of the results "
                     "prefix in the analytics zone.")

    def _outputs(self) -> None:
        platform = self.platform
        outputs = {
            "RawBucketName": platform.raw_bucket.bucket_name,
            "CuratedBucketName": platform.curated_bucket.bucket_name,
            "AnalyticsBucketName": platform.analytics_bucket.bucket_name,
            "CuratedDatabaseName": platform.databases[DataZone.CURATED].database_name,
            "AthenaWorkgroupName": platform.athena_workgroup_name,
            "RedshiftEndpointAddress": platform.redshift_endpoint_address,
            "RedshiftNamespaceName": _required(platform.redshift_namespace).namespace_name,
            "EmrApplicationId": _required(platform.emr_application).attr_application_id,
            "EmrExecutionRoleArn": _required(platform.emr_execution_role).role_arn,
            "MskClusterArn": _required(platform.msk_cluster).attr_arn,
            "MskClientSecurityGroupId": _required(
                platform.msk_client_security_group).security_group_id,
            "OpenSearchCollectionEndpoint": platform.opensearch_collection_endpoint,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)


def _logical_id(construct: IConstruct) -> str:
    """The logical id cdk-nag prints for ``construct``'s CloudFormation resource."""
    child = construct.node.default_child or construct
    assert isinstance(child, CfnElement)
    stack = Stack.of(child)
    return str(stack.resolve(stack.get_logical_id(child)))


def _acknowledge(role: iam.Role, finding: str, reason: str) -> None:
    """Acknowledge one IAM5 finding on ``role``'s default policy only."""
    policy = role.node.find_child("DefaultPolicy")
    Validations.of(policy).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason=reason)
    )


def _required(value: _T | None) -> _T:
    assert value is not None
    return value
