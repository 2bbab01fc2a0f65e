"""``S3DirectQuery``: data in S3 queried from OpenSearch in place, through the Glue catalog.

An OpenSearch Service *direct-query data source* of type ``S3GlueDataCatalog``
(CloudFormation ``AWS::OpenSearch::DataSource``, aws-cdk-lib's L1
``aws_opensearch.CfnDataSource``): OpenSearch reads the objects where they lie, through
tables of the AWS Glue Data Catalog, with no copy and no pipeline. What it attaches to, and
why a domain: AWS's "Creating an Amazon S3 data source integration in OpenSearch Service"
(Amazon OpenSearch Service Developer Guide) requires *an OpenSearch domain running 2.13 or
later*; the resource's only required target is a ``DomainName``, and OpenSearch Serverless
collections take no S3 data source (``AddDirectQueryDataSource``, the collections' API,
offers CloudWatch Logs, Security Lake and Prometheus only). So the construct either takes
your domain or builds one (:class:`DirectQueryDomainOptions`, private in your VPC,
fine-grained access control with an IAM master user: :mod:`.._foundation.search_domains`).

The role the data source assumes, least privilege after the guide's "Required permissions
for manually created IAM roles", narrowed to what the construct is given:

- trust: ``directquery.opensearchservice.amazonaws.com`` only, conditioned on this account
  (``aws:SourceAccount``) and on the domain (``aws:SourceArn``: "the value of aws:SourceArn
  must be the ARN of the OpenSearch Service domain", guide, "Cross-service confused deputy
  prevention"; its data sources' ARNs, under the domain's, match too);
- the domain's HTTP API (the service keeps each query's request and result indexes there);
- Glue: read the catalog and the given databases, create and change tables and partitions
  in them (direct-query tables must be created by OpenSearch's own SQL: "existing AWS Glue
  Data Catalog tables must be recreated using SQL in OpenSearch Query Workbench", Direct
  query limitations), never in another database;
- S3: read the data buckets under ``key_prefix`` (decrypt with their keys); read and write
  the checkpoint bucket (indexed views keep their state there);
- no ``lakeformation:GetDataAccess``: give the role Lake Formation permissions yourself
  when the databases are governed by Lake Formation.

Regions: ``AWS::OpenSearch::DataSource`` is missing from 25 of the 46 Region schemas
cfn-lint 1.58 ships (among them eu-west-2, eu-west-3, sa-east-1, us-west-1, the GovCloud
and China Regions): the data source carries a cfn-lint exception for the resource-type
check (E3006) on that resource alone, and deploys only where the type exists.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearch as opensearch_dq
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import acknowledge, is_unresolved, stateful_removal_policy
from .._foundation.compliance import nag_reference
from .._foundation.keys import stack_key
from .._foundation.networks import literal_cidr
from .._foundation.regions import available_in_some_regions_only
from .._foundation.search_domains import SearchDomain, secure_search_domain
from .._foundation.validation import Items, Number, ProblemCollector, Text, validated_props
from ..serverless_analytics._common import lowercase_name

__all__ = ["DIRECT_QUERY_SERVICE", "DirectQueryDomainOptions", "S3DirectQuery"]

#: The service principal of OpenSearch direct queries.
DIRECT_QUERY_SERVICE = "directquery.opensearchservice.amazonaws.com"
#: The oldest OpenSearch version with S3 direct queries.
MINIMUM_ENGINE = (2, 13)
_ENGINE = re.compile(r"OpenSearch_(\d+)\.(\d+)")
#: ``AWS::OpenSearch::DataSource`` ``Name`` and ``Description`` (the schema's patterns).
DATA_SOURCE_NAME = r"[a-z][a-z0-9_]{2,79}"
_DESCRIPTION = r"([a-zA-Z0-9_])*[\\a-zA-Z0-9_@#%*+=:?./! \t\n-]*"
#: Domain names: 3 to 28 characters, lowercase letters, digits and hyphens.
DOMAIN_NAME_LENGTH = 28
#: What the role may do with the tables and partitions of its databases.
GLUE_READ_ACTIONS = ("glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
                     "glue:GetTables", "glue:GetTableVersions", "glue:GetPartition",
                     "glue:GetPartitions", "glue:BatchGetPartition")
GLUE_WRITE_ACTIONS = ("glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable",
                      "glue:BatchDeleteTable", "glue:CreatePartition", "glue:UpdatePartition",
                      "glue:DeletePartition", "glue:BatchCreatePartition",
                      "glue:BatchDeletePartition")
#: The domain's HTTP API, as the direct-query service calls it.
DOMAIN_HTTP_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut",
                       "es:ESHttpDelete")


def _engine_problem(value: object) -> str | None:
    if not isinstance(value, str) or is_unresolved(value):
        return None
    match = _ENGINE.fullmatch(value)
    if match is None or (int(match[1]), int(match[2])) < MINIMUM_ENGINE:
        return ("must be OpenSearch_<major>.<minor>, 2.13 or later (S3 direct queries need "
                "OpenSearch 2.13+)")
    return None


@dataclasses.dataclass(frozen=True)
class _EngineVersion(Text):
    def problem(self, value: object) -> str | None:
        return _engine_problem(value)


@validated_props({
    "engine_version": _EngineVersion(),
    "instance_type": Text(pattern=r"[a-z0-9]+\.[a-z0-9]+\.search",
                          meaning="an OpenSearch instance type such as r7g.medium.search"),
    "dedicated_master_type": Text(pattern=r"[a-z0-9]+\.[a-z0-9]+\.search",
                                  meaning="an OpenSearch instance type such as "
                                          "m7g.large.search"),
    "data_nodes": Number(minimum=2, maximum=80),
    "volume_size_gib": Number(minimum=10, maximum=16384),
})
@dataclasses.dataclass(frozen=True)
class DirectQueryDomainOptions:
    """The OpenSearch domain :class:`S3DirectQuery` builds when you bring none.

    :param master_user: the fine-grained access control master user (an IAM role: no
        password exists). It maps the others to OpenSearch roles in Dashboards.
    :param engine_version: Default: ``OpenSearch_2.19`` (2.13 at least).
    :param instance_type: the data nodes'. Default: ``r7g.medium.search``.
    :param data_nodes: a multiple of the zones of ``vpc_subnets`` (2 or 3). Default: 3.
    :param dedicated_master_type: the three dedicated master nodes'. Default:
        ``m7g.large.search``.
    :param volume_size_gib: gp3 storage per data node (it holds query results and indexed
        views, not the S3 data). Default: 20.
    """

    master_user: iam.IRole
    engine_version: str = "OpenSearch_2.19"
    instance_type: str = "r7g.medium.search"
    data_nodes: int = 3
    dedicated_master_type: str = "m7g.large.search"
    volume_size_gib: int = 20


@validated_props({
    "data_source_name": Text(pattern=DATA_SOURCE_NAME,
                             meaning="3 to 80 lowercase letters, digits or _, starting with "
                                     "a letter"),
    "buckets": Items(min_items=1, max_items=20),
    "databases": Items(min_items=0, max_items=20),
    "key_prefix": Text(non_empty=False, max_length=1024),
    "description": Text(non_empty=False, max_length=1000, pattern=_DESCRIPTION,
                        meaning="letters, digits, spaces and _@#%*+=:?./!- only"),
})
class S3DirectQuery(Construct):
    """S3 data queried from an OpenSearch domain in place (a direct-query data source).

    :param data_source_name: the data source's name, as queries name it
        (``SELECT ... FROM <name>.<database>.<table>``).
    :param buckets: the buckets whose objects are queried (read only).
    :param checkpoint_bucket: where indexed views keep their state (read and write).
    :param key_prefix: only objects under this prefix of ``buckets`` are readable. Default:
        the whole buckets.
    :param databases: the Glue databases the data source's tables live in; the role may
        create, change and drop tables there (and nowhere else). Default: one new database
        named ``data_source_name``.
    :param domain: your OpenSearch domain (2.13 or later). Default: None, a domain is built
        from ``domain_options`` in ``vpc``.
    :param domain_options: the domain to build. Only without ``domain``.
    :param vpc: the domain's VPC. Only without ``domain``.
    :param vpc_subnets: the domain's subnets, one per zone, 2 or 3 zones. Default: the
        VPC's private subnets, at most three.
    :param encryption_key: encrypts the domain and its logs. Default: the stack's key.
    :param description: the data source's description. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_source_name: str,
        buckets: Sequence[s3.IBucket],
        checkpoint_bucket: s3.IBucket,
        key_prefix: str = "",
        databases: Sequence[glue.IDatabase] = (),
        domain: opensearch.IDomain | None = None,
        domain_options: DirectQueryDomainOptions | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        description: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"S3DirectQuery {self.node.path}")
        if domain is not None:
            for prop, value in (("domain_options", domain_options), ("vpc", vpc),
                                ("vpc_subnets", vpc_subnets)):
                problems.check(value is None, prop, type(value).__name__,
                               "only when the construct builds the domain (no domain given)")
        else:
            problems.check(domain_options is not None, "domain_options", None,
                           "give the domain to build (or your own domain)")
            problems.check(vpc is not None, "vpc", None,
                           "give the VPC the domain runs in (or your own domain)")
        problems.check(not key_prefix.startswith("/"), "key_prefix", key_prefix,
                       "an S3 key prefix does not start with '/'")
        subnets = None
        if domain is None and vpc is not None and domain_options is not None:
            subnets = _select(vpc, vpc_subnets)
            zones = len(subnets.subnet_ids)
            problems.check(zones in (2, 3), "vpc_subnets", zones,
                           "give one subnet in each of 2 or 3 Availability Zones (zone "
                           "awareness)")
            problems.check(zones not in (2, 3) or domain_options.data_nodes % zones == 0,
                           "domain_options.data_nodes", domain_options.data_nodes,
                           f"must be a multiple of the {zones} zones")
        problems.raise_if_any()
        self.key: kms.IKey = encryption_key or stack_key(self)
        self.search_domain: SearchDomain | None = None
        if domain is None:
            assert vpc is not None and domain_options is not None and subnets is not None
            self.search_domain = self._create_domain(vpc, subnets, domain_options)
            self.domain_name = self.search_domain.domain_name
            self.domain_arn = self.search_domain.domain_arn
            domain_ref: str = self.search_domain.domain.ref
        else:
            self.domain_name = domain.domain_name
            self.domain_arn = domain.domain_arn
            domain_ref = domain.domain_name
        self.databases: list[glue.IDatabase] = list(databases) or [glue.Database(
            self, "Database", database_name=data_source_name,
            description=f"Tables of the OpenSearch direct-query data source {data_source_name}",
        )]
        self.role = self._create_role()
        self._grant(buckets, key_prefix, checkpoint_bucket)
        self.data_source = opensearch_dq.CfnDataSource(
            self, "Resource", domain_name=domain_ref, name=data_source_name,
            description=description or None,
            data_source_type=opensearch_dq.CfnDataSource.DataSourceTypeProperty(
                s3_glue_data_catalog=opensearch_dq.CfnDataSource.S3GlueDataCatalogProperty(
                    role_arn=self.role.role_arn)),
        )
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.data_source.node.add_dependency(policy)
        # Not in every Region's schema (see the module): cfn-lint's type check off here only.
        available_in_some_regions_only(self.data_source)
        self.data_source_name = data_source_name

    # -- extension points -----------------------------------------------------------
    def _create_domain(self, vpc: ec2.IVpc, subnets: ec2.SelectedSubnets,
                       options: DirectQueryDomainOptions) -> SearchDomain:
        """The domain, when none is given (override to change what
        :func:`secure_search_domain` builds)."""
        return secure_search_domain(
            self, "Domain", domain_name=lowercase_name(self, max_length=DOMAIN_NAME_LENGTH),
            engine_version=options.engine_version, vpc=vpc, subnets=subnets,
            vpc_cidr=literal_cidr(vpc), encryption_key=self.key,
            master_user=options.master_user, instance_type=options.instance_type,
            data_nodes=options.data_nodes, dedicated_master_type=options.dedicated_master_type,
            volume_size_gib=options.volume_size_gib,
            removal_policy=stateful_removal_policy(self),
        )

    def _create_role(self) -> iam.Role:
        """The role the data source assumes: trusted by the direct-query service for this
        account's domain only."""
        stack = Stack.of(self)
        return iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal(DIRECT_QUERY_SERVICE, conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": [self.domain_arn, f"{self.domain_arn}/*"]},
            }),
            description=f"OpenSearch direct queries of {self.node.path} on S3 via Glue",
        )

    # -- permissions -----------------------------------------------------------------
    def _grant(self, buckets: Sequence[s3.IBucket], key_prefix: str,
               checkpoint: s3.IBucket) -> None:
        stack = Stack.of(self)
        role = self.role
        wildcards: list[str] = []
        domain_resource = f"{self.domain_arn}/*"
        role.add_to_policy(iam.PolicyStatement(
            sid="DomainHttpApi", actions=list(DOMAIN_HTTP_ACTIONS),
            resources=[self.domain_arn, domain_resource]))
        wildcards.append(nag_reference(self, domain_resource))
        catalog = stack.format_arn(service="glue", resource="catalog")
        database_arns, table_arns = [], []
        for database in self.databases:
            database_arns.append(stack.format_arn(service="glue", resource="database",
                                                  resource_name=database.database_name))
            table_arns.append(stack.format_arn(service="glue", resource="table",
                                               resource_name=f"{database.database_name}/*"))
        default = stack.format_arn(service="glue", resource="database", resource_name="default")
        role.add_to_policy(iam.PolicyStatement(
            sid="GlueCatalogRead", actions=list(GLUE_READ_ACTIONS),
            resources=[catalog, default, *database_arns, *table_arns]))
        role.add_to_policy(iam.PolicyStatement(
            sid="GlueTablesOfTheDataSource", actions=list(GLUE_WRITE_ACTIONS),
            resources=[catalog, *database_arns, *table_arns]))
        wildcards.extend(nag_reference(self, arn) for arn in table_arns)
        objects = []
        for bucket in buckets:
            objects.append(bucket.arn_for_objects(f"{key_prefix}*"))
            if bucket.encryption_key is not None:
                bucket.encryption_key.grant_decrypt(role)
        role.add_to_policy(iam.PolicyStatement(
            sid="ReadTheData", actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=objects))
        role.add_to_policy(iam.PolicyStatement(
            sid="ListTheData", actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[bucket.bucket_arn for bucket in buckets]))
        wildcards.extend(nag_reference(self, arn) for arn in objects)
        checkpoints = checkpoint.arn_for_objects("*")
        role.add_to_policy(iam.PolicyStatement(
            sid="Checkpoints", actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                        "s3:ListMultipartUploadParts"],
            resources=[checkpoints]))
        role.add_to_policy(iam.PolicyStatement(
            sid="ListCheckpoints", actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[checkpoint.bucket_arn]))
        wildcards.append(nag_reference(self, checkpoints))
        if checkpoint.encryption_key is not None:
            role.add_to_policy(iam.PolicyStatement(
                sid="CheckpointKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[checkpoint.encryption_key.key_arn]))
        policy = role.node.find_child("DefaultPolicy")
        for finding in dict.fromkeys(wildcards):
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{finding}]",
                        "Direct queries read objects, tables and query indexes whose names "
                        "are only known when they are created; each wildcard is under one "
                        "bucket prefix, one Glue database or one domain of this construct.")


def _select(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> ec2.SelectedSubnets:
    """The subnets of ``selection`` (default: CDK's, the private ones), one per zone."""
    if selection is None:
        return vpc.select_subnets(one_per_az=True)
    return vpc.select_subnets(
        availability_zones=selection.availability_zones, one_per_az=True,
        subnet_filters=selection.subnet_filters, subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets, subnet_type=selection.subnet_type,
    )

