"""What each part of :class:`ServerlessAnalytics` can be told: options, enums, defaults.

Every default is written once, here, as a module constant or a field default, and the
docstring of each option says what the default does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from .._foundation.buckets import DEFAULT_NONCURRENT_VERSION_EXPIRATION
from .._foundation.validation import Number, Text, validated_props

__all__ = [
    "AthenaNamedQuery",
    "AthenaOptions",
    "CatalogOptions",
    "CollectionType",
    "CurationJobOptions",
    "DataLakeOptions",
    "DataZone",
    "EmrArchitecture",
    "EmrOptions",
    "MskOptions",
    "OpenSearchOptions",
    "RedshiftOptions",
    "SourceFormat",
]

# ----------------------------------------------------------------------- data lake

#: Objects move to S3 Standard-IA after 30 days, the earliest S3 allows.
DEFAULT_INFREQUENT_ACCESS_AFTER = Duration.days(30)
#: ... and to the archive tier after 180 days.
DEFAULT_ARCHIVE_AFTER = Duration.days(180)
#: Glacier Instant Retrieval: archived objects stay queryable by Athena, Redshift Spectrum
#: and Spark with millisecond reads (Glacier Flexible Retrieval objects are not).
DEFAULT_ARCHIVE_STORAGE_CLASS = s3.StorageClass.GLACIER_INSTANT_RETRIEVAL
#: S3 keeps an object in Standard-IA at least this long before a further transition.
MINIMUM_DAYS_IN_INFREQUENT_ACCESS = 30


class DataZone(enum.Enum):
    """The zones of the data lake, one bucket and one Glue database each."""

    #: Data as it arrived.
    RAW = "raw"
    #: Cleaned, typed, partitioned data (Parquet).
    CURATED = "curated"
    #: Query results, aggregates and engine logs.
    ANALYTICS = "analytics"


@validated_props()
@dataclass(frozen=True)
class DataLakeOptions:
    """Storage tiers of the three zone buckets.

    :param infrequent_access_after: age at which objects move to S3 Standard-IA.
        Default: 30 days. None: never.
    :param archive_after: age at which objects move to ``archive_storage_class``.
        Default: 180 days. None: never.
    :param archive_storage_class: the archive tier. Default: Glacier Instant Retrieval,
        still queryable by every engine of the construct.
    :param noncurrent_version_expiration: when superseded object versions expire.
        Default: 90 days.
    """

    infrequent_access_after: Duration | None = DEFAULT_INFREQUENT_ACCESS_AFTER
    archive_after: Duration | None = DEFAULT_ARCHIVE_AFTER
    archive_storage_class: s3.StorageClass = DEFAULT_ARCHIVE_STORAGE_CLASS
    noncurrent_version_expiration: Duration = DEFAULT_NONCURRENT_VERSION_EXPIRATION


# ----------------------------------------------------------------------- catalog

#: Crawlers run every day at 02:00 UTC.
DEFAULT_CRAWLER_SCHEDULE = glue.TriggerSchedule.cron(hour="2", minute="0")
DEFAULT_CRAWLED_ZONES = (DataZone.RAW, DataZone.CURATED)


@validated_props()
@dataclass(frozen=True)
class CatalogOptions:
    """Glue databases (one per zone) and the crawlers that keep their tables current.

    :param crawled_zones: zones with a crawler. Default: raw and curated (the analytics
        zone holds query results, not tables).
    :param crawler_schedule: when the crawlers run. Default: daily at 02:00 UTC. None:
        only when started.
    """

    crawled_zones: Sequence[DataZone] = DEFAULT_CRAWLED_ZONES
    crawler_schedule: glue.TriggerSchedule | None = DEFAULT_CRAWLER_SCHEDULE


class SourceFormat(enum.Enum):
    """The format of the raw objects the curation job reads."""

    CSV = "csv"
    #: JSON Lines: one JSON object per line.
    JSON = "json"


#: Glue 5.0: Spark 3.5 and Python 3.11.
DEFAULT_GLUE_VERSION = glue.GlueVersion.V5_0
DEFAULT_GLUE_WORKER_TYPE = glue.WorkerType.G_1X
DEFAULT_GLUE_WORKERS = 2
DEFAULT_GLUE_TIMEOUT = Duration.hours(2)
DEFAULT_PARTITION_COLUMN = "ingest_date"


@validated_props({
    # Both name IAM resources and cdk-nag acknowledgments while the app is built.
    "source_prefix": Text(non_empty=False, max_length=1024, literal=True),
    "table_name": Text(non_empty=False, max_length=255, literal=True),
    "number_of_workers": Number(maximum=299),  # Glue's most workers of a Spark job
})
@dataclass(frozen=True)
class CurationJobOptions:
    """A Glue Spark job curating raw CSV or JSON under a prefix into partitioned Parquet.

    The job (a real PySpark script shipped as an asset) reads only objects it has not
    read before (job bookmarks), normalises column names, drops empty and duplicate rows,
    writes Parquet partitioned by ``partition_column`` (the run's date) to
    ``s3://<curated>/<table_name>/`` and creates or updates the table in the curated
    database.

    :param source_prefix: the raw zone prefix to curate, e.g. ``"sales/"``.
    :param table_name: the curated table (and its prefix in the curated zone).
    :param source_format: the raw objects' format. Default: CSV with a header row.
    :param partition_column: name of the date partition column. Default: ``ingest_date``.
    :param worker_type: Glue worker type. Default: G.1X.
    :param number_of_workers: workers per run (2 or more). Default: 2.
    :param timeout: longest run. Default: 2 hours.
    :param max_retries: retries of a failed run. Default: 0; a retry would reprocess the
        same objects, so a failed run is left for an operator.
    """

    source_prefix: str
    table_name: str
    source_format: SourceFormat = SourceFormat.CSV
    partition_column: str = DEFAULT_PARTITION_COLUMN
    worker_type: glue.WorkerType = DEFAULT_GLUE_WORKER_TYPE
    number_of_workers: int = DEFAULT_GLUE_WORKERS
    timeout: Duration = DEFAULT_GLUE_TIMEOUT
    max_retries: int = 0


# ----------------------------------------------------------------------- Athena

#: One query may scan at most 10 GiB (about 0.05 USD at on-demand prices) before Athena
#: cancels it.
DEFAULT_BYTES_SCANNED_CUTOFF = 10 * 1024**3
#: The smallest cutoff Athena accepts (10 MB).
MINIMUM_BYTES_SCANNED_CUTOFF = 10_000_000
DEFAULT_RESULTS_PREFIX = "athena-results/"
#: Query results are re-creatable: they expire after 30 days.
DEFAULT_RESULTS_EXPIRATION = Duration.days(30)
ATHENA_ENGINE_VERSION = "Athena engine version 3"


@validated_props({
    # Athena takes queries up to 262,144 bytes; blank ones are refused by the construct.
    "query": Text(non_empty=False, max_length=262_144, blank_is_checked_elsewhere=True),
    "name": Text(non_empty=False, max_length=128),
})
@dataclass(frozen=True)
class AthenaNamedQuery:
    """A saved query of the workgroup.

    :param name: the name shown in the Athena console.
    :param query: the SQL.
    :param zone: the zone whose Glue database the query runs in. Default: curated.
    :param description: shown next to the name. Default: None.
    """

    name: str
    query: str
    zone: DataZone = DataZone.CURATED
    description: str | None = None


@validated_props({"bytes_scanned_cutoff_per_query": Number(maximum=2**63 - 1)})
@dataclass(frozen=True)
class AthenaOptions:
    """The Athena workgroup, its limits and its saved queries.

    :param bytes_scanned_cutoff_per_query: Athena cancels a query that scans more.
        Default: 10 GiB.
    :param named_queries: saved queries. Default: none.
    :param results_prefix: where results go in the analytics zone. Default:
        ``athena-results/``.
    :param results_expiration: when results expire. Default: 30 days.
    :param workgroup_name: Default: None, a name unique to the construct's path.
    """

    bytes_scanned_cutoff_per_query: int = DEFAULT_BYTES_SCANNED_CUTOFF
    named_queries: Sequence[AthenaNamedQuery] = ()
    results_prefix: str = DEFAULT_RESULTS_PREFIX
    results_expiration: Duration = DEFAULT_RESULTS_EXPIRATION
    workgroup_name: str | None = None


# ----------------------------------------------------------------------- Redshift

#: The smallest base capacity (RPUs): Redshift Serverless bills only while it works,
#: and scales above the base when queries need it.
DEFAULT_REDSHIFT_BASE_CAPACITY = 8
DEFAULT_REDSHIFT_DATABASE = "analytics"
DEFAULT_REDSHIFT_ADMIN_USERNAME = "admin"
DEFAULT_REDSHIFT_PORT = 5439
DEFAULT_REDSHIFT_LOG_EXPORTS = ("userlog", "connectionlog", "useractivitylog")
#: Base capacities AWS accepts: 4, multiples of 8 up to 512, then of 32 up to 1024
#: (above 512 only in some Regions).
REDSHIFT_BASE_CAPACITIES = frozenset(
    {4, *range(8, 513, 8), *range(544, 1025, 32)}
)
#: Ports a Redshift Serverless workgroup may listen on.
REDSHIFT_PORTS = frozenset({*range(5431, 5456), *range(8191, 8216)})
#: Configuration parameters a workgroup accepts.
REDSHIFT_CONFIG_PARAMETER_KEYS = frozenset({
    "auto_mv", "datestyle", "enable_case_sensitive_identifier",
    "enable_user_activity_logging", "query_group", "search_path",
    "max_query_execution_time", "require_ssl", "use_fips_ssl",
})
#: Always set: TLS for every connection, and the activity log the useractivitylog export
#: needs. ``require_ssl`` cannot be turned off.
REDSHIFT_REQUIRED_CONFIG = {"require_ssl": "true"}
REDSHIFT_DEFAULT_CONFIG = {"enable_user_activity_logging": "true"}


@validated_props()
@dataclass(frozen=True)
class RedshiftOptions:
    """A Redshift Serverless namespace and workgroup in the VPC's private subnets.

    :param base_capacity: RPUs a query starts with. Default: 8.
    :param max_capacity: RPUs the workgroup may scale to. Default: None, AWS's limit.
    :param database_name: the namespace's first database. Default: ``analytics``.
    :param admin_username: Default: ``admin``; its password is generated and kept in
        Secrets Manager by Redshift, encrypted with the construct's key.
    :param config_parameters: workgroup parameters passed through, e.g.
        ``{"enable_case_sensitive_identifier": "true"}`` for zero-ETL integrations.
        ``require_ssl`` is always ``true``; ``enable_user_activity_logging`` defaults to
        ``true``. Default: none.
    :param port: Default: 5439.
    :param log_exports: logs exported to CloudWatch. Default: user, connection and user
        activity logs.
    :param namespace_name: Default: None, a name unique to the construct's path.
    :param workgroup_name: Default: None, a name unique to the construct's path.
    """

    base_capacity: int = DEFAULT_REDSHIFT_BASE_CAPACITY
    max_capacity: int | None = None
    database_name: str = DEFAULT_REDSHIFT_DATABASE
    admin_username: str = DEFAULT_REDSHIFT_ADMIN_USERNAME
    config_parameters: Mapping[str, str] = field(default_factory=dict)
    port: int = DEFAULT_REDSHIFT_PORT
    log_exports: Sequence[str] = DEFAULT_REDSHIFT_LOG_EXPORTS
    namespace_name: str | None = None
    workgroup_name: str | None = None


# ----------------------------------------------------------------------- EMR

#: The newest EMR release offered in every commercial Region when this was written.
DEFAULT_EMR_RELEASE_LABEL = "emr-7.12.0"
DEFAULT_EMR_MAXIMUM_VCPU = 32
DEFAULT_EMR_MAXIMUM_MEMORY_GB = 128
DEFAULT_EMR_MAXIMUM_DISK_GB = 1000
#: An idle application stops after 15 minutes and starts again on the next job.
DEFAULT_EMR_IDLE_TIMEOUT = Duration.minutes(15)
#: EMR Serverless accepts an idle timeout of 1 minute to 7 days.
EMR_IDLE_TIMEOUT_RANGE_MINUTES = (1, 7 * 24 * 60)


class EmrArchitecture(enum.Enum):
    """CPU architecture of the EMR Serverless workers."""

    #: Graviton: about 20 % cheaper per vCPU-hour.
    ARM64 = "ARM64"
    X86_64 = "X86_64"


# CloudFormation takes the maximums as strings of at most 15 characters ("<n> vCPU",
# "<n> GB"): that bounds the numbers (the construct checks the minimums).
@validated_props({
    "maximum_vcpu": Number(maximum=10**10 - 1),
    "maximum_memory_gb": Number(maximum=10**12 - 1),
    "maximum_disk_gb": Number(maximum=10**12 - 1),
})
@dataclass(frozen=True)
class EmrOptions:
    """An EMR Serverless Spark application in the VPC.

    :param release_label: Default: ``emr-7.12.0``.
    :param architecture: Default: ARM64 (Graviton).
    :param maximum_vcpu: vCPUs all running jobs may use together. Default: 32.
    :param maximum_memory_gb: memory all running jobs may use together. Default: 128 GB.
    :param maximum_disk_gb: disk all running jobs may use together. Default: 1000 GB.
    :param idle_timeout: the application stops after this long without jobs. Default:
        15 minutes.
    """

    release_label: str = DEFAULT_EMR_RELEASE_LABEL
    architecture: EmrArchitecture = EmrArchitecture.ARM64
    maximum_vcpu: int = DEFAULT_EMR_MAXIMUM_VCPU
    maximum_memory_gb: int = DEFAULT_EMR_MAXIMUM_MEMORY_GB
    maximum_disk_gb: int = DEFAULT_EMR_MAXIMUM_DISK_GB
    idle_timeout: Duration = DEFAULT_EMR_IDLE_TIMEOUT


# ----------------------------------------------------------------------- MSK

#: Port of MSK's IAM-authenticated (SASL/IAM over TLS) listener.
MSK_IAM_PORT = 9098


@validated_props()
@dataclass(frozen=True)
class MskOptions:
    """An MSK Serverless cluster with IAM authentication in the VPC.

    :param cluster_name: Default: None, a name unique to the construct's path.
    """

    cluster_name: str | None = None


# ----------------------------------------------------------------------- OpenSearch


class CollectionType(enum.Enum):
    """The workload an OpenSearch Serverless collection is built for."""

    SEARCH = "SEARCH"
    TIMESERIES = "TIMESERIES"
    VECTORSEARCH = "VECTORSEARCH"


#: What the data access policy allows its principals on the collection and its indexes.
OPENSEARCH_COLLECTION_PERMISSIONS = (
    "aoss:CreateCollectionItems", "aoss:UpdateCollectionItems",
    "aoss:DescribeCollectionItems",
)
OPENSEARCH_INDEX_PERMISSIONS = (
    "aoss:CreateIndex", "aoss:UpdateIndex", "aoss:DescribeIndex",
    "aoss:ReadDocument", "aoss:WriteDocument",
)


@validated_props()
@dataclass(frozen=True)
class OpenSearchOptions:
    """An OpenSearch Serverless collection with its encryption, network and data policies.

    :param collection_name: 3 to 32 characters: lowercase letters, digits, hyphens,
        starting with a letter.
    :param data_access_principals: roles allowed to create, read and write the
        collection's indexes and documents (data access policy and ``aoss:APIAccessAll``).
    :param collection_type: Default: SEARCH.
    :param standby_replicas: replicas in a standby Availability Zone. Default: True.
    :param allow_public_access: also reachable from the internet (still with IAM
        authentication); the VPC endpoint is then created only when the construct has a
        VPC anyway. Default: False, only through the collection's VPC endpoint.
    """

    collection_name: str
    data_access_principals: Sequence[iam.IRole]
    collection_type: CollectionType = CollectionType.SEARCH
    standby_replicas: bool = True
    allow_public_access: bool = False
