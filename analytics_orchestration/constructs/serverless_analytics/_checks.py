"""Every rule a ServerlessAnalytics prop must follow, checked before anything is built."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3

from .._foundation import ProblemCollector, is_unresolved
from .options import (
    EMR_IDLE_TIMEOUT_RANGE_MINUTES,
    MINIMUM_BYTES_SCANNED_CUTOFF,
    MINIMUM_DAYS_IN_INFREQUENT_ACCESS,
    REDSHIFT_BASE_CAPACITIES,
    REDSHIFT_CONFIG_PARAMETER_KEYS,
    REDSHIFT_PORTS,
    AthenaOptions,
    CatalogOptions,
    CurationJobOptions,
    DataLakeOptions,
    EmrOptions,
    MskOptions,
    OpenSearchOptions,
    RedshiftOptions,
)

_COLLECTION_NAME = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
_SERVICE_NAME = re.compile(r"^[a-z0-9-]{3,64}$")
_MSK_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")
_WORKGROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
_REDSHIFT_DATABASE = re.compile(r"^[a-z_][a-z0-9_$]{0,63}$")
_REDSHIFT_USER = re.compile(r"^[a-zA-Z][a-zA-Z0-9_+.@-]{0,127}$")
_EMR_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.(\d+)$")
_REDSHIFT_LOG_EXPORTS = frozenset({"userlog", "connectionlog", "useractivitylog"})
#: EMR Serverless exists from release 6.6.0 on.
_EMR_MINIMUM_RELEASE = (6, 6, 0)
_REDSHIFT_MAX_CAPACITY_RANGE = (8, 5632)
#: Subnets in this many Availability Zones, at least, per service.
REDSHIFT_MINIMUM_AZS = 3
MSK_MINIMUM_AZS = 2


@dataclass(frozen=True)
class NetworkFacts:
    """What the checks need to know about the VPC the parts would use."""

    #: Availability Zones of the selected subnets (or of the stack, for a created VPC).
    availability_zones: Sequence[str]
    created: bool
    #: Selected subnets that are public (brought VPC only).
    public_subnet_ids: Sequence[str] = ()


def check_switches(
    problems: ProblemCollector,
    *,
    enable_data_lake: bool,
    enable_catalog: bool,
    enable_athena: bool,
    data_lake: DataLakeOptions | None,
    catalog: CatalogOptions | None,
    athena: AthenaOptions | None,
    curation_job: CurationJobOptions | None,
    emr: EmrOptions | None,
    server_access_logs_bucket: s3.IBucket | None,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
) -> None:
    """Options for a part that is off, and parts whose prerequisite is off."""
    fix_lake = "or set enable_data_lake=True"
    if not enable_data_lake:
        problems.check(data_lake is None, "data_lake", "DataLakeOptions(...)",
                       f"only applies with the data lake; drop it {fix_lake}")
        problems.check(server_access_logs_bucket is None, "server_access_logs_bucket", "a bucket",
                       f"only applies with the data lake; drop it {fix_lake}")
        problems.check(not enable_catalog, "enable_catalog", True,
                       f"the catalog describes the data lake; set enable_catalog=False {fix_lake}")
        problems.check(not enable_athena, "enable_athena", True,
                       f"Athena writes results to the data lake; set enable_athena=False "
                       f"{fix_lake}")
        problems.check(emr is None, "emr", "EmrOptions(...)",
                       f"the EMR execution role is scoped to the data lake; drop emr {fix_lake}")
    if not enable_catalog:
        problems.check(catalog is None, "catalog", "CatalogOptions(...)",
                       "only applies with enable_catalog=True")
        problems.check(curation_job is None, "curation_job", "CurationJobOptions(...)",
                       "the job writes a table of the curated Glue database; set "
                       "enable_catalog=True")
        if athena is not None and athena.named_queries:
            problems.add("athena.named_queries", [q.name for q in athena.named_queries],
                         "named queries run in the zones' Glue databases; set "
                         "enable_catalog=True")
    if not enable_athena:
        problems.check(athena is None, "athena", "AthenaOptions(...)",
                       "only applies with enable_athena=True")
    if vpc is None:
        problems.check(vpc_subnets is None, "vpc_subnets", "a subnet selection",
                       "only applies to a VPC you bring; give vpc too, or drop vpc_subnets")


def check_data_lake(problems: ProblemCollector, options: DataLakeOptions) -> None:
    ia = options.infrequent_access_after
    archive = options.archive_after
    if ia is not None:
        problems.check(_whole_days(ia, MINIMUM_DAYS_IN_INFREQUENT_ACCESS),
                       "data_lake.infrequent_access_after", ia.to_human_string(),
                       f"S3 moves objects to Standard-IA after {MINIMUM_DAYS_IN_INFREQUENT_ACCESS}"
                       " days at the earliest, in whole days")
    if ia is not None and archive is not None:
        earliest = _days(ia) + MINIMUM_DAYS_IN_INFREQUENT_ACCESS
        problems.check(
            _whole_days(archive, earliest), "data_lake.archive_after", archive.to_human_string(),
            f"S3 keeps objects in Standard-IA {MINIMUM_DAYS_IN_INFREQUENT_ACCESS} days before "
            f"archiving: whole days, at least {ia.to_human_string()} + 30 days",
        )
    elif archive is not None:
        problems.check(_whole_days(archive, 1), "data_lake.archive_after",
                       archive.to_human_string(), "whole days, 1 day or more")
    problems.check(_whole_days(options.noncurrent_version_expiration, 1),
                   "data_lake.noncurrent_version_expiration",
                   options.noncurrent_version_expiration.to_human_string(),
                   "whole days, 1 day or more")


def check_catalog(problems: ProblemCollector, options: CatalogOptions) -> None:
    zones = [zone.name for zone in options.crawled_zones]
    problems.check(len(zones) == len(set(zones)), "catalog.crawled_zones", zones,
                   "name each zone once")


def check_curation_job(problems: ProblemCollector, options: CurationJobOptions) -> None:
    prefix = options.source_prefix
    problems.check(bool(prefix) and prefix.endswith("/") and not prefix.startswith("/"),
                   "curation_job.source_prefix", prefix,
                   "a raw zone prefix such as 'sales/': not empty, ends in '/', no leading '/'")
    problems.check(bool(_IDENTIFIER.match(options.table_name)), "curation_job.table_name",
                   options.table_name,
                   "1 to 128 lowercase letters, digits and underscores, not starting with a digit")
    problems.check(bool(_IDENTIFIER.match(options.partition_column)),
                   "curation_job.partition_column", options.partition_column,
                   "lowercase letters, digits and underscores, not starting with a digit")
    problems.check(options.number_of_workers >= 2, "curation_job.number_of_workers",
                   options.number_of_workers, "Glue Spark jobs need 2 workers or more")
    problems.check(_whole_minutes(options.timeout, 1, 7 * 24 * 60), "curation_job.timeout",
                   options.timeout.to_human_string(), "whole minutes from 1 minute to 7 days")
    problems.check(0 <= options.max_retries <= 10, "curation_job.max_retries",
                   options.max_retries, "0 to 10")


def check_athena(problems: ProblemCollector, options: AthenaOptions) -> None:
    problems.check(options.bytes_scanned_cutoff_per_query >= MINIMUM_BYTES_SCANNED_CUTOFF,
                   "athena.bytes_scanned_cutoff_per_query", options.bytes_scanned_cutoff_per_query,
                   f"Athena's smallest cutoff is {MINIMUM_BYTES_SCANNED_CUTOFF} bytes (10 MB)")
    prefix = options.results_prefix
    problems.check(bool(prefix) and prefix.endswith("/") and not prefix.startswith("/"),
                   "athena.results_prefix", prefix,
                   "not empty, ends in '/', no leading '/'")
    problems.check(_whole_days(options.results_expiration, 1), "athena.results_expiration",
                   options.results_expiration.to_human_string(), "whole days, 1 day or more")
    if options.workgroup_name is not None:
        problems.check(bool(_WORKGROUP_NAME.match(options.workgroup_name)),
                       "athena.workgroup_name", options.workgroup_name,
                       "1 to 128 letters, digits, '.', '_' or '-'")
    names = [query.name for query in options.named_queries]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    problems.check(not duplicates, "athena.named_queries", duplicates,
                   "each named query needs its own name")
    for index, query in enumerate(options.named_queries):
        problems.check(1 <= len(query.name) <= 128, f"athena.named_queries[{index}].name",
                       query.name, "1 to 128 characters")
        problems.check(bool(query.query.strip()) and len(query.query) <= 262_144,
                       f"athena.named_queries[{index}].query", query.query[:40],
                       "a non-empty SQL statement of at most 262144 characters")


def check_redshift(
    problems: ProblemCollector, options: RedshiftOptions, network: NetworkFacts
) -> None:
    problems.check(options.base_capacity in REDSHIFT_BASE_CAPACITIES, "redshift.base_capacity",
                   options.base_capacity,
                   "AWS accepts 4, multiples of 8 from 8 to 512, or multiples of 32 from 512 "
                   "to 1024 RPUs")
    if options.max_capacity is not None and not is_unresolved(options.max_capacity):
        low, high = _REDSHIFT_MAX_CAPACITY_RANGE
        problems.check(
            options.max_capacity % 8 == 0 and low <= options.max_capacity <= high
            and options.max_capacity >= options.base_capacity,
            "redshift.max_capacity", options.max_capacity,
            f"a multiple of 8 from {low} to {high} RPUs, not below base_capacity "
            f"({options.base_capacity})",
        )
    problems.check(options.port in REDSHIFT_PORTS, "redshift.port", options.port,
                   "Redshift Serverless listens on 5431-5455 or 8191-8215")
    problems.check(bool(_REDSHIFT_DATABASE.match(options.database_name)),
                   "redshift.database_name", options.database_name,
                   "1 to 64 lowercase letters, digits, '_' or '$', not starting with a digit")
    problems.check(bool(_REDSHIFT_USER.match(options.admin_username)),
                   "redshift.admin_username", options.admin_username,
                   "1 to 128 characters, starting with a letter")
    for name_prop, name in (("redshift.namespace_name", options.namespace_name),
                            ("redshift.workgroup_name", options.workgroup_name)):
        if name is not None:
            problems.check(bool(_SERVICE_NAME.match(name)), name_prop, name,
                           "3 to 64 lowercase letters, digits or hyphens")
    unknown = sorted(set(options.config_parameters) - REDSHIFT_CONFIG_PARAMETER_KEYS)
    problems.check(not unknown, "redshift.config_parameters", unknown,
                   "unknown parameters; a workgroup accepts "
                   + ", ".join(sorted(REDSHIFT_CONFIG_PARAMETER_KEYS)))
    require_ssl = options.config_parameters.get("require_ssl", "true")
    problems.check(require_ssl.lower() == "true", "redshift.config_parameters",
                   {"require_ssl": require_ssl}, "SSL is always required; drop require_ssl")
    exports = list(options.log_exports)
    problems.check(set(exports) <= _REDSHIFT_LOG_EXPORTS, "redshift.log_exports", exports,
                   "choose from " + ", ".join(sorted(_REDSHIFT_LOG_EXPORTS)))
    activity = options.config_parameters.get("enable_user_activity_logging", "true")
    if "useractivitylog" in exports:
        problems.check(activity.lower() == "true", "redshift.config_parameters",
                       {"enable_user_activity_logging": activity},
                       "the useractivitylog export needs it 'true'; or drop that export")
    _check_azs(problems, "redshift", network, REDSHIFT_MINIMUM_AZS)


def check_emr(problems: ProblemCollector, options: EmrOptions) -> None:
    match = _EMR_RELEASE.match(options.release_label)
    version = tuple(int(part) for part in match.groups()) if match else None
    problems.check(version is not None and version >= _EMR_MINIMUM_RELEASE,
                   "emr.release_label", options.release_label,
                   "an EMR Serverless release such as 'emr-7.12.0' (6.6.0 or later)")
    for prop, value, minimum in (("emr.maximum_vcpu", options.maximum_vcpu, 1),
                                 ("emr.maximum_memory_gb", options.maximum_memory_gb, 1),
                                 ("emr.maximum_disk_gb", options.maximum_disk_gb, 20)):
        problems.check(value >= minimum, prop, value, f"must be {minimum} or more")
    low, high = EMR_IDLE_TIMEOUT_RANGE_MINUTES
    problems.check(_whole_minutes(options.idle_timeout, low, high), "emr.idle_timeout",
                   options.idle_timeout.to_human_string(), "whole minutes from 1 minute to 7 days")


def check_msk(problems: ProblemCollector, options: MskOptions, network: NetworkFacts) -> None:
    if options.cluster_name is not None:
        problems.check(bool(_MSK_NAME.match(options.cluster_name)), "msk.cluster_name",
                       options.cluster_name, "1 to 64 letters, digits or hyphens")
    _check_azs(problems, "msk", network, MSK_MINIMUM_AZS)


def check_opensearch(problems: ProblemCollector, options: OpenSearchOptions) -> None:
    problems.check(bool(_COLLECTION_NAME.match(options.collection_name)),
                   "opensearch.collection_name", options.collection_name,
                   "3 to 32 lowercase letters, digits or hyphens, starting with a letter")
    problems.check(len(options.data_access_principals) > 0,
                   "opensearch.data_access_principals", [],
                   "give at least one role, or nobody can use the collection")


def check_network(problems: ProblemCollector, network: NetworkFacts) -> None:
    # Subnet ids are tokens: the check is on the subnets' kind, not on the ids.
    if network.public_subnet_ids:
        problems.add("vpc_subnets", f"{len(network.public_subnet_ids)} public subnet(s)",
                     "select private subnets: the parts must not be reachable from the internet")


def _check_azs(
    problems: ProblemCollector, part: str, network: NetworkFacts, minimum: int
) -> None:
    count = len(set(network.availability_zones))
    if count >= minimum:
        return
    if network.created:
        fix = (f"the stack offers {count} Availability Zone(s) (an environment-agnostic stack "
               f"offers 2): give the stack an env, or override its availability_zones with "
               f"[Fn.select(i, Fn.get_azs()) for i in range({minimum})]")
    else:
        fix = f"select subnets in {minimum} or more Availability Zones with vpc_subnets"
    problems.add(part, f"subnets in {count} Availability Zone(s)",
                 f"{part} needs subnets in at least {minimum}; {fix}")


def _days(duration: Duration) -> float:
    """Whole days of ``duration``; 0 for a token (only known at deploy time)."""
    if duration.is_unresolved():
        return 0
    return duration.to_seconds() / 86_400


def _whole_days(duration: Duration, minimum: float) -> bool:
    # A token passes when it is built in days: CloudFormation takes days, and CDK can
    # only hand a token through in the unit it was given in.
    if duration.is_unresolved():
        return duration.unit_label() == "days"
    days = _days(duration)
    return days == int(days) and days >= minimum


def _whole_minutes(duration: Duration, low: int, high: int) -> bool:
    if duration.is_unresolved():
        return duration.unit_label() == "minutes"
    seconds = duration.to_seconds()
    return seconds % 60 == 0 and low <= seconds // 60 <= high
