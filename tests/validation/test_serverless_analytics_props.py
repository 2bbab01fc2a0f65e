"""Invalid ServerlessAnalytics props: one ConfigurationError naming every bad prop."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Fn, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_orchestration import (
    AthenaNamedQuery,
    AthenaOptions,
    CatalogOptions,
    ConfigurationError,
    CurationJobOptions,
    DataLakeOptions,
    DataZone,
    EmrOptions,
    MskOptions,
    OpenSearchOptions,
    RedshiftOptions,
    ServerlessAnalytics,
)
from analytics_orchestration.constructs.serverless_analytics.options import (
    REDSHIFT_BASE_CAPACITIES,
)
from tests.support import cdk_json_context, new_stack


class _ThreeAzStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        return [Fn.select(index, Fn.get_azs()) for index in range(3)]


def _stack(three_azs: bool = True) -> Stack:
    if not three_azs:
        return new_stack()
    return _ThreeAzStack(App(context=cdk_json_context()), "TestStack")


def _problems(stack: Stack | None = None, **props: Any) -> tuple[str, ...]:
    stack = stack or _stack()
    with pytest.raises(ConfigurationError) as raised:
        ServerlessAnalytics(stack, "Analytics", **props)
    assert "ServerlessAnalytics TestStack/Analytics" in str(raised.value)
    # Nothing was built before the error: the construct has no children.
    child = stack.node.try_find_child("Analytics")
    assert child is None or child.node.children == []
    return raised.value.problems


def _role(stack: Stack) -> iam.Role:
    return iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())


def test_error_is_a_value_error_listing_every_problem():
    stack = _stack()
    with pytest.raises(ValueError) as raised:
        ServerlessAnalytics(
            stack, "Analytics",
            redshift=RedshiftOptions(base_capacity=12, port=80),
            athena=AthenaOptions(bytes_scanned_cutoff_per_query=1),
            emr=EmrOptions(release_label="emr-5.36.0"),
            opensearch=OpenSearchOptions(collection_name="Logs", data_access_principals=[]),
        )
    message = str(raised.value)
    assert "6 invalid prop(s)" in message
    for prop in ("redshift.base_capacity", "redshift.port",
                 "athena.bytes_scanned_cutoff_per_query", "emr.release_label",
                 "opensearch.collection_name", "opensearch.data_access_principals"):
        assert f"  - {prop}:" in message


@pytest.mark.parametrize(("props", "prop", "hint"), [
    ({"redshift": RedshiftOptions(base_capacity=12)}, "redshift.base_capacity",
     "multiples of 8"),
    ({"redshift": RedshiftOptions(base_capacity=1056)}, "redshift.base_capacity", "1024"),
    ({"redshift": RedshiftOptions(base_capacity=32, max_capacity=24)}, "redshift.max_capacity",
     "not below base_capacity"),
    ({"redshift": RedshiftOptions(max_capacity=100)}, "redshift.max_capacity", "multiple of 8"),
    ({"redshift": RedshiftOptions(port=5439 + 100)}, "redshift.port", "5431-5455"),
    ({"redshift": RedshiftOptions(database_name="Sales")}, "redshift.database_name",
     "lowercase"),
    ({"redshift": RedshiftOptions(admin_username="1admin")}, "redshift.admin_username",
     "starting with a letter"),
    ({"redshift": RedshiftOptions(namespace_name="My_NS")}, "redshift.namespace_name",
     "lowercase letters, digits or hyphens"),
    ({"redshift": RedshiftOptions(workgroup_name="wg")}, "redshift.workgroup_name", "3 to 64"),
    ({"redshift": RedshiftOptions(config_parameters={"enable_result_cache": "true"})},
     "redshift.config_parameters", "unknown parameters"),
    ({"redshift": RedshiftOptions(config_parameters={"require_ssl": "false"})},
     "redshift.config_parameters", "SSL is always required"),
    ({"redshift": RedshiftOptions(config_parameters={"enable_user_activity_logging": "false"})},
     "redshift.config_parameters", "useractivitylog export needs it"),
    ({"redshift": RedshiftOptions(log_exports=["auditlog"])}, "redshift.log_exports",
     "choose from"),
    ({"emr": EmrOptions(release_label="emr-6.5.0")}, "emr.release_label", "6.6.0 or later"),
    ({"emr": EmrOptions(release_label="7.12.0")}, "emr.release_label", "emr-7.12.0"),
    ({"emr": EmrOptions(maximum_vcpu=0)}, "emr.maximum_vcpu", "1 or more"),
    ({"emr": EmrOptions(maximum_memory_gb=0)}, "emr.maximum_memory_gb", "1 or more"),
    ({"emr": EmrOptions(maximum_disk_gb=10)}, "emr.maximum_disk_gb", "20 or more"),
    ({"emr": EmrOptions(idle_timeout=Duration.days(8))}, "emr.idle_timeout", "7 days"),
    ({"emr": EmrOptions(idle_timeout=Duration.seconds(90))}, "emr.idle_timeout",
     "whole minutes"),
    ({"msk": MskOptions(cluster_name="-kafka")}, "msk.cluster_name", "1 to 64"),
    ({"athena": AthenaOptions(bytes_scanned_cutoff_per_query=9_999_999)},
     "athena.bytes_scanned_cutoff_per_query", "10 MB"),
    ({"athena": AthenaOptions(results_prefix="/results")}, "athena.results_prefix",
     "ends in '/'"),
    ({"athena": AthenaOptions(results_expiration=Duration.hours(1))},
     "athena.results_expiration", "1 day"),
    ({"athena": AthenaOptions(results_expiration=Duration.hours(36))},
     "athena.results_expiration", "whole days"),
    ({"athena": AthenaOptions(workgroup_name="my workgroup")}, "athena.workgroup_name",
     "1 to 128"),
    ({"athena": AthenaOptions(named_queries=[AthenaNamedQuery("a", "SELECT 1"),
                                             AthenaNamedQuery("a", "SELECT 2")])},
     "athena.named_queries", "its own name"),
    ({"athena": AthenaOptions(named_queries=[AthenaNamedQuery("a", "  ")])},
     "athena.named_queries[0].query", "non-empty"),
    ({"athena": AthenaOptions(named_queries=[AthenaNamedQuery("", "SELECT 1")])},
     "athena.named_queries[0].name", "1 to 128"),
    ({"data_lake": DataLakeOptions(infrequent_access_after=Duration.days(7))},
     "data_lake.infrequent_access_after", "30 days at the earliest"),
    ({"data_lake": DataLakeOptions(archive_after=Duration.days(45))},
     "data_lake.archive_after", "30 days before archiving"),
    ({"data_lake": DataLakeOptions(infrequent_access_after=None,
                                   archive_after=Duration.hours(2))},
     "data_lake.archive_after", "1 day or more"),
    ({"data_lake": DataLakeOptions(noncurrent_version_expiration=Duration.hours(1))},
     "data_lake.noncurrent_version_expiration", "1 day or more"),
    ({"catalog": CatalogOptions(crawled_zones=[DataZone.RAW, DataZone.RAW])},
     "catalog.crawled_zones", "once"),
    ({"curation_job": CurationJobOptions(source_prefix="sales", table_name="sales")},
     "curation_job.source_prefix", "ends in '/'"),
    ({"curation_job": CurationJobOptions(source_prefix="sales/", table_name="Sales-2")},
     "curation_job.table_name", "lowercase"),
    ({"curation_job": CurationJobOptions(source_prefix="sales/", table_name="sales",
                                         partition_column="Load Date")},
     "curation_job.partition_column", "lowercase"),
    ({"curation_job": CurationJobOptions(source_prefix="sales/", table_name="sales",
                                         number_of_workers=1)},
     "curation_job.number_of_workers", "2 workers or more"),
    ({"curation_job": CurationJobOptions(source_prefix="sales/", table_name="sales",
                                         timeout=Duration.seconds(30))},
     "curation_job.timeout", "1 minute to 7 days"),
    ({"curation_job": CurationJobOptions(source_prefix="sales/", table_name="sales",
                                         max_retries=11)},
     "curation_job.max_retries", "0 to 10"),
    ({"enable_catalog": False, "catalog": CatalogOptions()}, "catalog", "enable_catalog=True"),
    ({"enable_catalog": False,
      "curation_job": CurationJobOptions(source_prefix="s/", table_name="s")},
     "curation_job", "enable_catalog=True"),
    ({"enable_catalog": False,
      "athena": AthenaOptions(named_queries=[AthenaNamedQuery("a", "SELECT 1")])},
     "athena.named_queries", "enable_catalog=True"),
    ({"enable_athena": False, "athena": AthenaOptions()}, "athena", "enable_athena=True"),
    ({"vpc_subnets": ec2.SubnetSelection(subnet_group_name="Data")}, "vpc_subnets",
     "give vpc too"),
])
def test_each_invalid_prop_is_named(props, prop, hint):
    problems = _problems(**props)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{prop}:")
    assert hint in problems[0]


def test_without_the_data_lake_its_dependants_are_named():
    stack = _stack()
    problems = _problems(
        stack, enable_data_lake=False, data_lake=DataLakeOptions(),
        server_access_logs_bucket=s3.Bucket(stack, "Logs"), emr=EmrOptions(),
    )
    assert [p.split(":")[0] for p in problems] == [
        "data_lake", "server_access_logs_bucket", "enable_catalog", "enable_athena", "emr"]
    assert all("enable_data_lake=True" in p for p in problems)


@pytest.mark.parametrize("name", ["ab", "1logs", "logs_app", "Logs", "a" * 33])
def test_opensearch_collection_name_rules(name):
    stack = _stack()
    [problem] = _problems(stack, opensearch=OpenSearchOptions(
        collection_name=name, data_access_principals=[_role(stack)]))
    assert problem.startswith("opensearch.collection_name:")
    assert "3 to 32 lowercase letters" in problem


def test_opensearch_needs_a_principal():
    [problem] = _problems(opensearch=OpenSearchOptions(collection_name="logs",
                                                       data_access_principals=[]))
    assert "nobody can use the collection" in problem


def test_redshift_in_an_environment_agnostic_stack_needs_three_zones():
    [problem] = _problems(_stack(three_azs=False), redshift=RedshiftOptions())
    assert problem.startswith("redshift:")
    assert "at least 3" in problem
    assert "offers 2" in problem
    assert "availability_zones" in problem and "Fn.get_azs()" in problem


def test_msk_alone_is_fine_with_two_zones():
    stack = _stack(three_azs=False)
    platform = ServerlessAnalytics(stack, "Analytics", msk=MskOptions())
    assert platform.msk_cluster is not None


def test_brought_vpc_in_two_zones_is_rejected_for_redshift():
    stack = _stack()
    vpc = ec2.Vpc(stack, "Mine", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    [problem] = _problems(stack, vpc=vpc, redshift=RedshiftOptions())
    assert problem.startswith("redshift: got 'subnets in 2 Availability Zone(s)'")
    assert "vpc_subnets" in problem


def test_brought_public_subnets_are_rejected():
    stack = _stack()
    vpc = ec2.Vpc(stack, "Mine", max_azs=3, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)])
    [problem] = _problems(stack, vpc=vpc, emr=EmrOptions())
    assert problem.startswith("vpc_subnets:")
    assert "private subnets" in problem


def test_tokens_are_not_judged():
    stack = _stack()
    capacity = Token.as_number({"Ref": "BaseCapacity"})
    platform = ServerlessAnalytics(stack, "Analytics",
                                   redshift=RedshiftOptions(base_capacity=capacity))
    assert platform.redshift_workgroup is not None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capacity=st.integers(min_value=-64, max_value=2048).filter(
    lambda value: value not in REDSHIFT_BASE_CAPACITIES))
def test_any_capacity_aws_rejects_is_reported(capacity):
    [problem] = _problems(redshift=RedshiftOptions(base_capacity=capacity))
    assert problem.startswith(f"redshift.base_capacity: got {capacity}")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capacity=st.sampled_from(sorted(REDSHIFT_BASE_CAPACITIES)))
def test_every_capacity_aws_accepts_builds(capacity):
    stack = _stack()
    platform = ServerlessAnalytics(stack, "Analytics", enable_data_lake=False,
                                   enable_catalog=False, enable_athena=False,
                                   redshift=RedshiftOptions(base_capacity=capacity))
    assert platform.redshift_workgroup is not None
    assert platform.redshift_workgroup.base_capacity == capacity
