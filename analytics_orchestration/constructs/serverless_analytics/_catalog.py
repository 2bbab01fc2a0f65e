"""The Glue Data Catalog side: databases, crawlers, and the optional curation job."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import stateful_removal_policy
from .._foundation.glue_security import glue_security_configuration, grant_glue_logging
from ._common import (
    acknowledge_wildcards,
    grant_objects,
    lowercase_name,
    object_wildcards,
    table_wildcards,
)
from .options import DEFAULT_GLUE_VERSION, CatalogOptions, CurationJobOptions, DataZone

#: The PySpark script of the curation job, shipped as a Glue script asset.
CURATION_SCRIPT = Path(__file__).resolve().parent / "glue_scripts" / "curate_to_parquet.py"

#: What a crawler may do in its database: read it, and create or update its tables and
#: partitions (never delete: the schema change policy only logs deletions).
_CRAWLER_CATALOG_ACTIONS = (
    "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
    "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
)
#: Catalog reads, for query engines and grantees.
CATALOG_READ_ACTIONS = (
    "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
    "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
)


#: What Glue needs of the key: bookmarks (client-side), job S3 output, and log data.
_GLUE_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
#: The log groups Glue writes to are named by Glue (per role and security configuration).
_GLUE_LOG_FINDINGS = (
    "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*",
    "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*"
    ":log-stream:*",
)


@dataclass(frozen=True)
class Catalog:
    databases: Mapping[DataZone, glue.Database]
    crawlers: Mapping[DataZone, glue.CfnCrawler]
    crawler_role: iam.Role
    security_configuration: glue.SecurityConfiguration


def catalog_resource_arns(
    stack: Stack, databases: Sequence[glue.IDatabase], tables: str = "*"
) -> list[str]:
    """The catalog, ``databases`` and their ``tables`` (a name or ``*``) as IAM resources."""
    arns = [stack.format_arn(service="glue", resource="catalog")]
    for database in databases:
        arns.append(database.database_arn)
        arns.append(stack.format_arn(
            service="glue", resource="table", resource_name=f"{database.database_name}/{tables}"
        ))
    return arns


def build_catalog(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    buckets: Mapping[DataZone, s3.IBucket],
    options: CatalogOptions,
    crawler_configuration: Callable[[DataZone], Mapping[str, object]],
    crawler_exclusions: Callable[[DataZone], Sequence[str]],
) -> Catalog:
    """A Glue database per zone and a crawler per crawled zone.

    Crawlers run on ``options.crawler_schedule`` under an encrypted security
    configuration, recrawl only new folders (so the schema change policy can only log)
    and share one role that reads the crawled buckets and writes their databases.
    """
    stack = Stack.of(scope)
    security_configuration = glue_security_configuration(
        scope, "SecurityConfiguration", encryption_key=encryption_key
    )
    databases: dict[DataZone, glue.Database] = {}
    for zone in DataZone:
        database_id = f"{zone.name.capitalize()}Database"
        databases[zone] = glue.Database(
            scope,
            database_id,
            database_name=f"{_name_prefix(scope)}_{zone.value}",
            description=f"The {zone.value} zone of the data lake",
            location_uri=buckets[zone].s3_url_for_object(),
            removal_policy=stateful_removal_policy(scope),
        )
    role = iam.Role(
        scope, "CrawlerRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
        description=f"Glue crawlers of {scope.node.path}",
    )
    crawled = list(dict.fromkeys(options.crawled_zones))
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="CatalogCrawledZones",
        actions=list(_CRAWLER_CATALOG_ACTIONS),
        resources=catalog_resource_arns(stack, [databases[zone] for zone in crawled]),
    ))
    encryption_key.grant(role, *_GLUE_KEY_ACTIONS)
    grant_glue_logging(role)
    crawlers: dict[DataZone, glue.CfnCrawler] = {}
    for zone in crawled:
        grant_objects(role, buckets[zone])
        crawlers[zone] = glue.CfnCrawler(
            scope,
            f"{zone.name.capitalize()}Crawler",
            role=role.role_arn,
            database_name=databases[zone].database_name,
            description=f"Catalogs new folders of the {zone.value} zone",
            targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                glue.CfnCrawler.S3TargetProperty(
                    path=buckets[zone].s3_url_for_object(),
                    exclusions=list(crawler_exclusions(zone)) or None,
                )
            ]),
            schedule=(
                glue.CfnCrawler.ScheduleProperty(
                    schedule_expression=options.crawler_schedule.expression_string
                )
                if options.crawler_schedule is not None
                else None
            ),
            crawler_security_configuration=security_configuration.security_configuration_name,
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(
                recrawl_behavior="CRAWL_NEW_FOLDERS_ONLY"
            ),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="LOG", delete_behavior="LOG"
            ),
            configuration=json.dumps(crawler_configuration(zone), sort_keys=True),
        )
    acknowledge_wildcards(
        role, object_wildcards([buckets[zone] for zone in crawled]),
        "A crawler reads every object of the zone it crawls: their keys are not known in "
        "advance.",
    )
    acknowledge_wildcards(
        role, table_wildcards([databases[zone] for zone in crawled]),
        "A crawler creates and updates the tables it discovers in its zone's database; "
        "their names are not known in advance.",
    )
    acknowledge_wildcards(
        role, _GLUE_LOG_FINDINGS,
        "Glue names the encrypted log groups of crawlers itself, under /aws-glue/.",
    )
    return Catalog(
        databases=databases, crawlers=crawlers, crawler_role=role,
        security_configuration=security_configuration,
    )


def build_curation_job(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    raw_bucket: s3.IBucket,
    curated_bucket: s3.IBucket,
    curated_database: glue.IDatabase,
    security_configuration: glue.ISecurityConfiguration,
    options: CurationJobOptions,
) -> glue.PySparkEtlJob:
    """The Glue L2 PySpark job running :data:`CURATION_SCRIPT` with job bookmarks."""
    stack = Stack.of(scope)
    role = iam.Role(
        scope, "CurationJobRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
        description=f"Glue curation job of {scope.node.path}",
    )
    grant_objects(role, raw_bucket, prefix=options.source_prefix)
    grant_objects(role, curated_bucket, prefix=f"{options.table_name}/", write=True)
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="CatalogCuratedTable",
        actions=list(_CRAWLER_CATALOG_ACTIONS),
        resources=catalog_resource_arns(stack, [curated_database], options.table_name),
    ))
    encryption_key.grant(role, *_GLUE_KEY_ACTIONS)
    grant_glue_logging(role)
    job = glue.PySparkEtlJob(
        scope,
        "CurationJob",
        role=role,
        script=glue.Code.from_asset(str(CURATION_SCRIPT)),
        description=(
            f"Curates {options.source_format.value} objects under raw "
            f"'{options.source_prefix}' into the Parquet table {options.table_name}"
        ),
        glue_version=DEFAULT_GLUE_VERSION,
        worker_configuration=glue.WorkerConfiguration(
            worker_type=options.worker_type, number_of_workers=options.number_of_workers
        ),
        timeout=options.timeout,
        max_retries=options.max_retries,
        # Bookmarks track what one run read; concurrent runs would read the same objects.
        max_concurrent_runs=1,
        security_configuration=security_configuration,
        default_arguments={
            "--job-bookmark-option": "job-bookmark-enable",
            "--source_path": raw_bucket.s3_url_for_object(options.source_prefix),
            "--source_format": options.source_format.value,
            "--target_path": curated_bucket.s3_url_for_object(f"{options.table_name}/"),
            "--target_database": curated_database.database_name,
            "--target_table": options.table_name,
            "--partition_column": options.partition_column,
        },
    )
    acknowledge_wildcards(
        role,
        [*object_wildcards([raw_bucket], options.source_prefix),
         *object_wildcards([curated_bucket], f"{options.table_name}/")],
        "The job reads any new object under its raw prefix and writes the Parquet files of "
        "its one curated table: object keys are not known in advance.",
    )
    acknowledge_wildcards(
        role, _GLUE_LOG_FINDINGS, "Glue names the encrypted log groups of jobs itself, under "
        "/aws-glue/.",
    )
    acknowledge_wildcards(
        role,
        ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*",
         "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
         "<AWS::Region>/*"],
        "The Glue L2 job grants its role read access to the CDK asset bucket holding the "
        "job script (Code.from_asset); the asset key is only known at synth.",
    )
    return job


def _name_prefix(scope: Construct) -> str:
    """Lowercase with underscores: Athena and Spark need no quoting for it."""
    return lowercase_name(scope, max_length=200).replace("-", "_")
