"""ServerlessAnalytics: store, catalog, query, stream and search data with no servers.

::

    KMS key (rotating) ------------------------------------------------------------+
    data lake: raw / curated / analytics buckets (SSE-KMS, bucket keys, tiers)     |
      -> Glue databases + crawlers (new folders only, encrypted security config)  |
      -> optional Glue curation job: raw CSV/JSON -> partitioned Parquet           |
      -> Athena workgroup (enforced, encrypted results, scan cutoff, engine v3)    |
    VPC (private subnets, endpoints, flow logs) or yours                           |
      -> Redshift Serverless namespace + workgroup (3 AZs, private, SSL)  <--------+
      -> EMR Serverless Spark application (auto start/stop, capped)
      -> MSK Serverless cluster (IAM auth) + client security group
      -> OpenSearch Serverless collection (CMK, VPC endpoint, data access policy)

Every part can be turned off; each part's resources are typed attributes (None when
the part is off).
"""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import Annotations, Duration, Fn, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emr
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_msk as msk
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import (
    ProblemCollector,
    literal_cidr,
    private_vpc,
    require_feature_flags,
    secure_key,
    stateful_removal_policy,
)
from .._foundation.networks import DEFAULT_CIDR
from .._foundation.validation import validated_props
from . import _checks
from ._athena import build_athena
from ._catalog import CATALOG_READ_ACTIONS, build_catalog, build_curation_job, catalog_resource_arns
from ._common import grant_objects
from ._emr import EMR_LOGS_PREFIX, build_emr
from ._redshift import build_redshift
from ._search import build_opensearch
from ._storage import build_data_lake, tiering_rule
from ._streaming import build_msk
from .options import (
    REDSHIFT_DEFAULT_CONFIG,
    AthenaNamedQuery,
    AthenaOptions,
    CatalogOptions,
    CurationJobOptions,
    DataLakeOptions,
    DataZone,
    EmrOptions,
    MskOptions,
    OpenSearchOptions,
    RedshiftOptions,
)

_T = TypeVar("_T")

__all__ = ["ServerlessAnalytics"]

#: The zones query engines (Athena grantees, Redshift COPY and Spectrum) read.
QUERIED_ZONES = (DataZone.RAW, DataZone.CURATED)

#: Default period of the ``metric_*`` helpers.
METRIC_PERIOD = Duration.minutes(5)
#: Actions of :meth:`ServerlessAnalytics.grant_query` on the workgroup.
ATHENA_QUERY_ACTIONS = (
    "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
    "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:BatchGetQueryExecution",
    "athena:ListQueryExecutions", "athena:GetWorkGroup", "athena:GetNamedQuery",
    "athena:BatchGetNamedQuery", "athena:ListNamedQueries",
)


@validated_props()
class ServerlessAnalytics(Construct):
    """A serverless analytics platform whose parts can each be turned off.

    :param encryption_key: the KMS key of everything the construct creates (buckets,
        Glue, Athena results, Redshift data and admin secret, EMR logs, OpenSearch, flow
        logs). Default: None, a rotating key is created.
    :param enable_data_lake: create the raw, curated and analytics buckets. Default: True.
    :param data_lake: storage tiers of the buckets. Default: None, ``DataLakeOptions()``
        (infrequent access after 30 days, Glacier Instant Retrieval after 180).
    :param server_access_logs_bucket: where the buckets log access. Default: None, an
        access-log bucket is created.
    :param enable_catalog: Glue databases per zone and crawlers. Default: True.
    :param catalog: crawled zones and schedule. Default: None, ``CatalogOptions()`` (raw
        and curated, daily at 02:00 UTC).
    :param curation_job: a Glue job curating raw objects into a Parquet table. Default:
        None, no job.
    :param enable_athena: the Athena workgroup. Default: True.
    :param athena: its limits and named queries. Default: None, ``AthenaOptions()``
        (10 GiB per query, results kept 30 days).
    :param redshift: a Redshift Serverless namespace and workgroup. Needs subnets in 3
        Availability Zones. Default: None, no Redshift.
    :param emr: an EMR Serverless Spark application. Default: None, no EMR.
    :param msk: an MSK Serverless cluster. Default: None, no MSK.
    :param opensearch: an OpenSearch Serverless collection. Default: None, no OpenSearch.
    :param vpc: the VPC of Redshift, EMR, MSK and the OpenSearch endpoint. Default: None,
        one is created when a part needs it (isolated private subnets, S3 and DynamoDB
        gateway endpoints, the interface endpoints the parts need, flow logs to a log
        group encrypted with the key).
    :param vpc_subnets: the subnets to use in ``vpc``; they must be private. Only with
        ``vpc``. Default: None, the VPC's private subnets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        enable_data_lake: bool = True,
        data_lake: DataLakeOptions | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        enable_catalog: bool = True,
        catalog: CatalogOptions | None = None,
        curation_job: CurationJobOptions | None = None,
        enable_athena: bool = True,
        athena: AthenaOptions | None = None,
        redshift: RedshiftOptions | None = None,
        emr: EmrOptions | None = None,
        msk: MskOptions | None = None,
        opensearch: OpenSearchOptions | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.data_lake_options = data_lake or DataLakeOptions()
        self.catalog_options = (catalog or CatalogOptions()) if enable_catalog else None
        self.athena_options = (athena or AthenaOptions()) if enable_athena else None
        self.curation_job_options = curation_job
        self.redshift_options = redshift
        self.emr_options = emr
        self.msk_options = msk
        self.opensearch_options = opensearch
        needs_vpc = (redshift is not None or emr is not None or msk is not None
                     or (opensearch is not None and vpc is not None)
                     or (opensearch is not None and not opensearch.allow_public_access))
        network = self._network_facts(vpc, vpc_subnets)
        self._check_props(
            enable_data_lake=enable_data_lake, enable_catalog=enable_catalog,
            enable_athena=enable_athena, data_lake=data_lake, catalog=catalog, athena=athena,
            server_access_logs_bucket=server_access_logs_bucket, vpc=vpc,
            vpc_subnets=vpc_subnets, network=network if needs_vpc else None,
        )
        if vpc is not None and not needs_vpc:
            Annotations.of(self).add_warning_v2(
                "analytics-orchestration:serverless-analytics-unused-vpc",
                f"vpc {vpc.node.path} is not used: no part that runs in a VPC is enabled.",
            )

        #: The KMS key of everything the construct creates.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the serverless analytics platform {self.node.path}"
        )
        self._init_attributes()
        if enable_data_lake:
            self._build_data_lake(server_access_logs_bucket)
        if self.catalog_options is not None:
            self._build_catalog(self.catalog_options)
        if self.athena_options is not None:
            self._build_athena(self.athena_options)
        self._build_service_parts(vpc, vpc_subnets, needs_vpc=needs_vpc)

    # ----------------------------------------------------------------- attributes

    def _init_attributes(self) -> None:
        #: Zone buckets (empty without the data lake).
        self.buckets: dict[DataZone, s3.Bucket] = {}
        #: Where the buckets log access (None without the data lake).
        self.access_logs_bucket: s3.IBucket | None = None
        #: Glue database per zone (empty without the catalog).
        self.databases: dict[DataZone, glue.Database] = {}
        #: Crawler per crawled zone (empty without the catalog).
        self.crawlers: dict[DataZone, glue.CfnCrawler] = {}
        self.crawler_role: iam.Role | None = None
        #: The encrypted Glue security configuration of crawlers and the curation job.
        self.glue_security_configuration: glue.SecurityConfiguration | None = None
        self.curation_job: glue.PySparkEtlJob | None = None
        self.athena_workgroup: athena.CfnWorkGroup | None = None
        self.athena_named_queries: list[athena.CfnNamedQuery] = []
        #: ``s3://<analytics bucket>/<results prefix>``.
        self.athena_results_location: str | None = None
        #: The VPC the parts run in (created or brought; None when no part needs one).
        self.vpc: ec2.IVpc | None = None
        self.redshift_namespace: redshift.CfnNamespace | None = None
        self.redshift_workgroup: redshift.CfnWorkgroup | None = None
        #: The namespace's default role for COPY and Spectrum.
        self.redshift_role: iam.Role | None = None
        #: Allow your clients in here, e.g. ``connections.allow_from(client, Port.tcp(5439))``.
        self.redshift_security_group: ec2.SecurityGroup | None = None
        self.emr_application: emr.CfnApplication | None = None
        self.emr_execution_role: iam.Role | None = None
        self.emr_security_group: ec2.SecurityGroup | None = None
        self.emr_log_group: logs.LogGroup | None = None
        self.msk_cluster: msk.CfnServerlessCluster | None = None
        self.msk_cluster_name: str | None = None
        #: Put Kafka clients in this group: only it reaches the cluster.
        self.msk_client_security_group: ec2.SecurityGroup | None = None
        #: The cluster's own group: allow a client group in on port 9098 (what
        #: ``MskStreamingIngestion`` does for the Redshift workgroup's group).
        self.msk_security_group: ec2.SecurityGroup | None = None
        self.opensearch_collection: aoss.CfnCollection | None = None
        self.opensearch_vpc_endpoint: aoss.CfnVpcEndpoint | None = None
        self.opensearch_endpoint_security_group: ec2.SecurityGroup | None = None

    @property
    def raw_bucket(self) -> s3.Bucket:
        return self._bucket(DataZone.RAW)

    @property
    def curated_bucket(self) -> s3.Bucket:
        return self._bucket(DataZone.CURATED)

    @property
    def analytics_bucket(self) -> s3.Bucket:
        return self._bucket(DataZone.ANALYTICS)

    @property
    def athena_workgroup_name(self) -> str:
        return self._require(self.athena_workgroup, "Athena").name

    @property
    def redshift_endpoint_address(self) -> str:
        """The workgroup's endpoint host name (resolved at deploy time)."""
        return self._require(self.redshift_workgroup, "Redshift").attr_workgroup_endpoint_address

    @property
    def opensearch_collection_endpoint(self) -> str:
        return self._require(self.opensearch_collection, "OpenSearch").attr_collection_endpoint

    # ----------------------------------------------------------------- extension points

    def _lifecycle_rules(self, zone: DataZone) -> list[s3.LifecycleRule]:
        """Lifecycle rules of ``zone``'s bucket, after the foundation's own rule.

        Default: the storage tiers of ``data_lake`` on every zone and, on the analytics
        zone, expiry of Athena results. Override to tier zones differently.
        """
        rules = []
        tiering = tiering_rule(self.data_lake_options)
        if tiering is not None:
            rules.append(tiering)
        if zone is DataZone.ANALYTICS and self.athena_options is not None:
            rules.append(s3.LifecycleRule(
                id="ExpireAthenaResults",
                prefix=self.athena_options.results_prefix,
                expiration=self.athena_options.results_expiration,
            ))
        return rules

    def _crawler_configuration(self, zone: DataZone) -> dict[str, object]:
        """The crawler ``Configuration`` JSON of ``zone``; override to group tables
        differently. Default: compatible schemas combine into one table, and new
        partitions inherit their table's schema."""
        return {
            "Version": 1.0,
            "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
            "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
        }

    def _crawler_exclusions(self, zone: DataZone) -> list[str]:
        """Glob patterns the crawler of ``zone`` skips. Default: query results and engine
        logs in the analytics zone, nothing elsewhere."""
        if zone is not DataZone.ANALYTICS:
            return []
        prefix = self.athena_options.results_prefix if self.athena_options else None
        return [f"{p}**" for p in (prefix, EMR_LOGS_PREFIX) if p]

    def _named_queries(self) -> list[AthenaNamedQuery]:
        """The workgroup's saved queries; override to compute them. Default: ``athena``'s."""
        return list(self.athena_options.named_queries) if self.athena_options else []

    def _redshift_config_parameters(self) -> dict[str, str]:
        """Workgroup parameters: user activity logging on, then ``redshift``'s, then
        ``require_ssl=true`` (always last: SSL cannot be turned off)."""
        assert self.redshift_options is not None
        return {
            **REDSHIFT_DEFAULT_CONFIG,
            **dict(self.redshift_options.config_parameters),
            "require_ssl": "true",
        }

    # ----------------------------------------------------------------- grants and metrics

    def grant_query(self, grantee: iam.IGrantable) -> iam.Grant:
        """Run Athena queries in the workgroup: its query and named-query actions, read
        access to the raw and curated zones and their Glue databases, and read-write
        access to the results prefix (with the key for each)."""
        workgroup = self._require(self.athena_workgroup, "Athena")
        assert self.athena_options is not None
        stack = Stack.of(self)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(ATHENA_QUERY_ACTIONS),
            resource_arns=[stack.format_arn(
                service="athena", resource="workgroup", resource_name=workgroup.name
            )],
        )
        databases = [self.databases[zone] for zone in QUERIED_ZONES if zone in self.databases]
        if databases:
            grant = grant.combine(iam.Grant.add_to_principal(
                grantee=grantee, actions=list(CATALOG_READ_ACTIONS),
                resource_arns=catalog_resource_arns(stack, databases),
            ))
        for zone in QUERIED_ZONES:
            grant = grant.combine(grant_objects(grantee, self.buckets[zone]))
        return grant.combine(grant_objects(
            grantee, self.analytics_bucket, prefix=self.athena_options.results_prefix,
            write=True,
        ))

    def grant_start_job_run(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start, watch and cancel job runs on the EMR Serverless application, and pass
        its execution role to it."""
        application = self._require(self.emr_application, "EMR")
        assert self.emr_execution_role is not None
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["emr-serverless:StartJobRun", "emr-serverless:GetApplication",
                     "emr-serverless:ListJobRuns"],
            resource_arns=[application.attr_arn],
        ).combine(iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun",
                     "emr-serverless:GetDashboardForJobRun"],
            resource_arns=[f"{application.attr_arn}/jobruns/*"],
        ))
        return grant.combine(self.emr_execution_role.grant_pass_role(grantee.grant_principal))

    def grant_produce(self, grantee: iam.IGrantable, *, topic_name: str = "*") -> iam.Grant:
        """Connect to the MSK cluster and write to ``topic_name`` (``*``: any topic)."""
        return self._kafka_grant(
            grantee, cluster_actions=["kafka-cluster:WriteDataIdempotently"],
            topic_name=topic_name,
            topic_actions=["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
        )

    def grant_consume(
        self, grantee: iam.IGrantable, *, topic_name: str = "*", consumer_group: str = "*"
    ) -> iam.Grant:
        """Connect to the MSK cluster, read ``topic_name`` and commit offsets as
        ``consumer_group`` (``*``: any)."""
        grant = self._kafka_grant(
            grantee, cluster_actions=[], topic_name=topic_name,
            topic_actions=["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
        )
        return grant.combine(iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            resource_arns=[self._kafka_arn("group", consumer_group)],
        ))

    def metric_athena_processed_bytes(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Sum",
        query_state: str = "SUCCEEDED", query_type: str = "DML",
    ) -> cloudwatch.Metric:
        """Bytes Athena scanned in the workgroup (``AWS/Athena`` ``ProcessedBytes``)."""
        return cloudwatch.Metric(
            namespace="AWS/Athena", metric_name="ProcessedBytes",
            dimensions_map={"WorkGroup": self.athena_workgroup_name,
                            "QueryState": query_state, "QueryType": query_type},
            period=period, statistic=statistic,
        )

    def metric_redshift_compute_capacity(
        self, *, period: Duration = METRIC_PERIOD, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """RPUs the workgroup uses (``AWS/Redshift-Serverless`` ``ComputeCapacity``)."""
        workgroup = self._require(self.redshift_workgroup, "Redshift")
        return cloudwatch.Metric(
            namespace="AWS/Redshift-Serverless", metric_name="ComputeCapacity",
            dimensions_map={"Workgroup": workgroup.workgroup_name},
            period=period, statistic=statistic,
        )

    # ----------------------------------------------------------------- building

    def _network_facts(
        self, vpc: ec2.IVpc | None, vpc_subnets: ec2.SubnetSelection | None
    ) -> _checks.NetworkFacts:
        if vpc is None:
            return _checks.NetworkFacts(
                availability_zones=Stack.of(self).availability_zones, created=True
            )
        selected = _select(vpc, vpc_subnets or ec2.SubnetSelection())
        public = {subnet.subnet_id for subnet in vpc.public_subnets}
        return _checks.NetworkFacts(
            availability_zones=selected.availability_zones,
            created=False,
            public_subnet_ids=[s.subnet_id for s in selected.subnets if s.subnet_id in public],
        )

    def _check_props(
        self,
        *,
        enable_data_lake: bool,
        enable_catalog: bool,
        enable_athena: bool,
        data_lake: DataLakeOptions | None,
        catalog: CatalogOptions | None,
        athena: AthenaOptions | None,
        server_access_logs_bucket: s3.IBucket | None,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        network: _checks.NetworkFacts | None,
    ) -> None:
        problems = ProblemCollector(f"ServerlessAnalytics {self.node.path}")
        _checks.check_switches(
            problems, enable_data_lake=enable_data_lake, enable_catalog=enable_catalog,
            enable_athena=enable_athena, data_lake=data_lake, catalog=catalog, athena=athena,
            curation_job=self.curation_job_options, emr=self.emr_options,
            server_access_logs_bucket=server_access_logs_bucket, vpc=vpc,
            vpc_subnets=vpc_subnets,
        )
        _checks.check_data_lake(problems, self.data_lake_options)
        if self.catalog_options is not None:
            _checks.check_catalog(problems, self.catalog_options)
        if self.curation_job_options is not None:
            _checks.check_curation_job(problems, self.curation_job_options)
        if self.athena_options is not None:
            _checks.check_athena(problems, self.athena_options)
        if self.emr_options is not None:
            _checks.check_emr(problems, self.emr_options)
        if self.opensearch_options is not None:
            _checks.check_opensearch(problems, self.opensearch_options)
        if network is not None:
            if self.redshift_options is not None:
                _checks.check_redshift(problems, self.redshift_options, network)
            if self.msk_options is not None:
                _checks.check_msk(problems, self.msk_options, network)
            if not network.created:
                _checks.check_network(problems, network)
        problems.raise_if_any()

    def _build_data_lake(self, server_access_logs_bucket: s3.IBucket | None) -> None:
        lake = build_data_lake(
            self, encryption_key=self.encryption_key,
            server_access_logs_bucket=server_access_logs_bucket,
            options=self.data_lake_options, lifecycle_rules=self._lifecycle_rules,
        )
        self.buckets = dict(lake.buckets)
        self.access_logs_bucket = lake.access_logs_bucket

    def _build_catalog(self, options: CatalogOptions) -> None:
        scope = Construct(self, "Catalog")
        catalog = build_catalog(
            scope, encryption_key=self.encryption_key, buckets=self.buckets, options=options,
            crawler_configuration=self._crawler_configuration,
            crawler_exclusions=self._crawler_exclusions,
        )
        self.databases = dict(catalog.databases)
        self.crawlers = dict(catalog.crawlers)
        self.crawler_role = catalog.crawler_role
        self.glue_security_configuration = catalog.security_configuration
        if self.curation_job_options is not None:
            self.curation_job = build_curation_job(
                scope, encryption_key=self.encryption_key, raw_bucket=self.raw_bucket,
                curated_bucket=self.curated_bucket,
                curated_database=self.databases[DataZone.CURATED],
                security_configuration=catalog.security_configuration,
                options=self.curation_job_options,
            )

    def _build_athena(self, options: AthenaOptions) -> None:
        workgroup = build_athena(
            Construct(self, "Athena"), encryption_key=self.encryption_key,
            results_bucket=self.analytics_bucket, databases=self.databases, options=options,
            named_queries=self._named_queries(),
        )
        self.athena_workgroup = workgroup.workgroup
        self.athena_named_queries = list(workgroup.named_queries)
        self.athena_results_location = workgroup.results_location

    def _build_network(
        self, vpc: ec2.IVpc | None, vpc_subnets: ec2.SubnetSelection | None
    ) -> tuple[ec2.IVpc, ec2.SubnetSelection, str]:
        """The VPC (created once, or brought), the subnet selection and the VPC's CIDR."""
        if vpc is None:
            created = private_vpc(
                self, "Vpc", max_azs=3 if self.redshift_options else 2,
                interface_endpoints=self._interface_endpoints(),
                flow_logs_key=self.encryption_key,
            )
            # The literal CIDR (not the VPC's GetAtt) lets cdk-nag check ingress rules.
            selection = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            return created, selection, DEFAULT_CIDR
        return vpc, vpc_subnets or ec2.SubnetSelection(), literal_cidr(vpc)

    def _build_service_parts(
        self, vpc: ec2.IVpc | None, vpc_subnets: ec2.SubnetSelection | None, *,
        needs_vpc: bool,
    ) -> None:
        if not needs_vpc:
            # Only a public OpenSearch collection (or nothing) is left to build.
            if self.opensearch_options is not None:
                self._build_opensearch(None, None, None)
            return
        self.vpc, selection, vpc_cidr = self._build_network(vpc, vpc_subnets)
        subnets = _select(self.vpc, selection)
        lake_buckets = [self.buckets[zone] for zone in QUERIED_ZONES if zone in self.buckets]
        queried_databases = [self.databases[z] for z in QUERIED_ZONES if z in self.databases]
        databases = list(self.databases.values())
        if self.redshift_options is not None:
            parts = build_redshift(
                Construct(self, "Redshift"), encryption_key=self.encryption_key, vpc=self.vpc,
                subnets=subnets, data_lake_buckets=lake_buckets, databases=queried_databases,
                options=self.redshift_options,
                config_parameters=self._redshift_config_parameters(),
            )
            self.redshift_namespace, self.redshift_workgroup = parts.namespace, parts.workgroup
            self.redshift_role, self.redshift_security_group = parts.role, parts.security_group
        if self.emr_options is not None:
            spark = build_emr(
                Construct(self, "Emr"), encryption_key=self.encryption_key, vpc=self.vpc,
                subnets=subnets, buckets=self.buckets, databases=databases,
                options=self.emr_options,
            )
            self.emr_application, self.emr_execution_role = spark.application, spark.execution_role
            self.emr_security_group, self.emr_log_group = spark.security_group, spark.log_group
        if self.msk_options is not None:
            kafka = build_msk(
                Construct(self, "Msk"), vpc=self.vpc,
                subnets=_select(self.vpc, _one_per_az(selection)),
                options=self.msk_options, removal_policy=stateful_removal_policy(self),
            )
            self.msk_cluster, self.msk_cluster_name = kafka.cluster, kafka.cluster_name
            self.msk_client_security_group = kafka.client_security_group
            self.msk_security_group = kafka.security_group
        if self.opensearch_options is not None:
            self._build_opensearch(self.vpc, subnets, vpc_cidr)

    def _build_opensearch(
        self, vpc: ec2.IVpc | None, subnets: ec2.SelectedSubnets | None, vpc_cidr: str | None
    ) -> None:
        assert self.opensearch_options is not None
        search = build_opensearch(
            Construct(self, "OpenSearch"), encryption_key=self.encryption_key,
            vpc=vpc, subnets=subnets, vpc_cidr=vpc_cidr,
            options=self.opensearch_options, removal_policy=stateful_removal_policy(self),
        )
        self.opensearch_collection = search.collection
        self.opensearch_vpc_endpoint = search.vpc_endpoint
        self.opensearch_endpoint_security_group = search.endpoint_security_group

    def _interface_endpoints(self) -> list[ec2.InterfaceVpcEndpointAwsService]:
        """What the parts call from inside an isolated VPC: Glue, CloudWatch Logs and KMS
        for Spark jobs; Secrets Manager for Redshift clients reading the admin secret."""
        services: list[ec2.InterfaceVpcEndpointAwsService] = []
        if self.emr_options is not None:
            services += [ec2.InterfaceVpcEndpointAwsService.GLUE,
                         ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
                         ec2.InterfaceVpcEndpointAwsService.KMS]
        if self.redshift_options is not None:
            services.append(ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)
        return services

    # ----------------------------------------------------------------- helpers

    def _kafka_grant(
        self, grantee: iam.IGrantable, *, cluster_actions: list[str], topic_name: str,
        topic_actions: list[str],
    ) -> iam.Grant:
        cluster = self._require(self.msk_cluster, "MSK")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", *cluster_actions],
            resource_arns=[cluster.attr_arn],
        ).combine(iam.Grant.add_to_principal(
            grantee=grantee, actions=topic_actions,
            resource_arns=[self._kafka_arn("topic", topic_name)],
        ))

    def _kafka_arn(self, resource: str, name: str) -> str:
        """``arn:...:kafka:...:<resource>/<cluster name>/<cluster uuid>/<name>``."""
        cluster = self._require(self.msk_cluster, "MSK")
        cluster_uuid = Fn.select(2, Fn.split("/", cluster.attr_arn))
        return Stack.of(self).format_arn(
            service="kafka", resource=resource,
            resource_name=f"{self.msk_cluster_name}/{cluster_uuid}/{name}",
        )

    def _bucket(self, zone: DataZone) -> s3.Bucket:
        if zone not in self.buckets:
            raise ValueError(f"{zone.value}_bucket: this platform has no data lake")
        return self.buckets[zone]

    @staticmethod
    def _require(resource: _T | None, part: str) -> _T:
        if resource is None:
            raise ValueError(f"this platform has no {part} part: it was not enabled")
        return resource


def _select(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """``vpc.select_subnets`` with a selection object (jsii takes its fields as keywords)."""
    return vpc.select_subnets(
        availability_zones=selection.availability_zones, one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters, subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets, subnet_type=selection.subnet_type,
    )


def _one_per_az(selection: ec2.SubnetSelection) -> ec2.SubnetSelection:
    return ec2.SubnetSelection(
        subnet_type=selection.subnet_type, subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets, availability_zones=selection.availability_zones,
        subnet_filters=selection.subnet_filters, one_per_az=True,
    )
