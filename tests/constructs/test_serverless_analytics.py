"""ServerlessAnalytics: each default and each option, asserted on small templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from analytics_orchestration import (
    DESTROY_ON_REMOVAL_CONTEXT_KEY,
    AthenaNamedQuery,
    AthenaOptions,
    CatalogOptions,
    CollectionType,
    CurationJobOptions,
    DataLakeOptions,
    DataZone,
    EmrArchitecture,
    EmrOptions,
    MskOptions,
    OpenSearchOptions,
    RedshiftOptions,
    ServerlessAnalytics,
    SourceFormat,
)
from analytics_orchestration.constructs.serverless_analytics._catalog import CURATION_SCRIPT
from tests.support import cdk_json_context, new_stack


class ThreeAzStack(Stack):
    """An environment-agnostic stack offering three Availability Zones."""

    @property
    def availability_zones(self) -> list[str]:
        return [Fn.select(index, Fn.get_azs()) for index in range(3)]


def _three_az_stack(context: dict[str, Any] | None = None) -> Stack:
    return ThreeAzStack(App(context={**cdk_json_context(), **(context or {})}), "TestStack")


def _logical_id(construct: Any) -> str:
    child = construct.node.default_child if construct.node.default_child else construct
    stack = Stack.of(child)
    return stack.resolve(stack.get_logical_id(child))


def _resource(template: Template, construct: Any) -> dict[str, Any]:
    return template.to_json()["Resources"][_logical_id(construct)]


def _props(template: Template, construct: Any) -> dict[str, Any]:
    return _resource(template, construct)["Properties"]


def _render(value: Any) -> Any:
    """A policy document written with tokens (Fn::Join) as JSON, tokens as '<token>'."""
    if isinstance(value, dict) and "Fn::Join" in value:
        parts = value["Fn::Join"][1]
        value = "".join(part if isinstance(part, str) else "<token>" for part in parts)
    return json.loads(value)


def _statements(template: Template, role: iam.Role) -> list[dict[str, Any]]:
    policy = role.node.find_child("DefaultPolicy")
    return _props(template, policy)["PolicyDocument"]["Statement"]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


@pytest.fixture(scope="module")
def default_platform() -> tuple[ServerlessAnalytics, Template]:
    stack = new_stack()
    return ServerlessAnalytics(stack, "Analytics"), Template.from_stack(stack)


@pytest.fixture(scope="module")
def full_platform() -> tuple[ServerlessAnalytics, Template, dict[str, iam.Role]]:
    stack = _three_az_stack()
    roles = {name: iam.Role(stack, name, assumed_by=iam.AccountRootPrincipal())
             for name in ("Writer", "Analyst", "Scientist", "Producer", "Consumer")}
    platform = ServerlessAnalytics(
        stack,
        "Analytics",
        curation_job=CurationJobOptions(source_prefix="sales/", table_name="sales"),
        athena=AthenaOptions(named_queries=[
            AthenaNamedQuery(name="revenue", query="SELECT 1", description="d"),
            AthenaNamedQuery(name="landed", query="SELECT 2", zone=DataZone.RAW),
        ]),
        redshift=RedshiftOptions(config_parameters={"enable_case_sensitive_identifier": "true"}),
        emr=EmrOptions(),
        msk=MskOptions(),
        opensearch=OpenSearchOptions(collection_name="app-logs",
                                     data_access_principals=[roles["Writer"]]),
    )
    platform.grant_query(roles["Analyst"])
    platform.grant_start_job_run(roles["Scientist"])
    platform.grant_produce(roles["Producer"], topic_name="clicks")
    platform.grant_consume(roles["Consumer"], topic_name="clicks", consumer_group="sessions")
    return platform, Template.from_stack(stack), roles


# ------------------------------------------------------------------ data lake


def test_zone_buckets_share_the_rotating_key_with_bucket_keys(default_platform):
    platform, template = default_platform
    template.resource_count_is("AWS::S3::Bucket", 4)  # three zones + access logs
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    key_arn = {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}
    for zone, bucket in platform.buckets.items():
        resource = _resource(template, bucket)
        sse = resource["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["BucketKeyEnabled"] is True
        assert sse["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
        assert resource["Properties"]["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": _logical_id(platform.access_logs_bucket)},
            "LogFilePrefix": f"{zone.value}/"}
        assert resource["DeletionPolicy"] == "Retain"
    assert [platform.raw_bucket, platform.curated_bucket, platform.analytics_bucket] == [
        platform.buckets[DataZone.RAW], platform.buckets[DataZone.CURATED],
        platform.buckets[DataZone.ANALYTICS]]


def test_default_tiers_and_athena_results_expiry(default_platform):
    platform, template = default_platform
    for zone, bucket in platform.buckets.items():
        rules = {rule["Id"]: rule for rule in
                 _props(template, bucket)["LifecycleConfiguration"]["Rules"]}
        assert rules["AbortIncompleteUploadsAndExpireOldVersions"][
            "AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
        assert rules["TierByAge"]["Transitions"] == [
            {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
            {"StorageClass": "GLACIER_IR", "TransitionInDays": 180}]
        if zone is DataZone.ANALYTICS:
            assert rules["ExpireAthenaResults"] == {
                "Id": "ExpireAthenaResults", "Prefix": "athena-results/",
                "ExpirationInDays": 30, "Status": "Enabled"}
        else:
            assert "ExpireAthenaResults" not in rules


def test_tiering_options_and_brought_access_log_bucket():
    stack = new_stack()
    logs = s3.Bucket(stack, "Logs")
    platform = ServerlessAnalytics(
        stack, "Analytics", server_access_logs_bucket=logs, enable_athena=False,
        data_lake=DataLakeOptions(infrequent_access_after=None, archive_after=Duration.days(90),
                                  archive_storage_class=s3.StorageClass.DEEP_ARCHIVE,
                                  noncurrent_version_expiration=Duration.days(10)),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::Bucket", 4)  # three zones + the brought one
    rules = {r["Id"]: r for r in
             _props(template, platform.analytics_bucket)["LifecycleConfiguration"]["Rules"]}
    assert rules["TierByAge"]["Transitions"] == [
        {"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": 90}]
    assert rules["AbortIncompleteUploadsAndExpireOldVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 10}
    assert "ExpireAthenaResults" not in rules
    assert platform.access_logs_bucket is logs


def test_no_tiers_when_both_are_off():
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", enable_athena=False, data_lake=(
        DataLakeOptions(infrequent_access_after=None, archive_after=None)))
    rules = _props(Template.from_stack(stack), platform.raw_bucket)["LifecycleConfiguration"]
    assert [rule["Id"] for rule in rules["Rules"]] == ["AbortIncompleteUploadsAndExpireOldVersions"]


# ------------------------------------------------------------------ catalog


def test_databases_and_crawlers_of_the_raw_and_curated_zones(default_platform):
    platform, template = default_platform
    assert set(platform.databases) == set(DataZone)
    for zone, database in platform.databases.items():
        database_input = _props(template, database)["DatabaseInput"]
        assert database_input["Name"].endswith(f"_{zone.value}")
        assert database_input["Name"] == database_input["Name"].lower()
        assert "-" not in database_input["Name"]
        assert _resource(template, database)["DeletionPolicy"] == "Retain"
    assert set(platform.crawlers) == {DataZone.RAW, DataZone.CURATED}
    config = platform.glue_security_configuration
    for zone, crawler in platform.crawlers.items():
        props = _props(template, crawler)
        assert props["DatabaseName"] == {"Ref": _logical_id(platform.databases[zone])}
        assert props["Schedule"] == {"ScheduleExpression": "cron(0 2 * * ? *)"}
        assert props["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
        assert props["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
        assert props["CrawlerSecurityConfiguration"] == {"Ref": _logical_id(config)}
        assert props["Targets"]["S3Targets"] == [{"Path": {"Fn::Join": [
            "", ["s3://", {"Ref": _logical_id(platform.buckets[zone])}]]}}]
        assert json.loads(props["Configuration"]) == {
            "Version": 1.0,
            "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
            "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}


def test_security_configuration_encrypts_everything_with_the_key(default_platform):
    platform, template = default_platform
    key_arn = {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}
    encryption = _props(template, platform.glue_security_configuration)["EncryptionConfiguration"]
    assert encryption == {
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key_arn},
        "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn}]}
    key_policy = _props(template, platform.encryption_key)["KeyPolicy"]["Statement"]
    glue_logs = next(s for s in key_policy if s.get("Sid") == "GlueLogsEncryption")
    assert "log-group:/aws-glue/*" in json.dumps(glue_logs["Condition"])


def test_crawler_role_uses_named_actions_only(default_platform):
    platform, template = default_platform
    statements = _statements(template, platform.crawler_role)
    assert not [a for a in _actions(statements) if "*" in a]
    assert {"s3:GetObject", "s3:ListBucket", "glue:CreateTable", "glue:UpdateTable",
            "logs:AssociateKmsKey", "kms:Decrypt"} <= _actions(statements)
    assert "glue:DeleteTable" not in _actions(statements)
    analytics_arn = _logical_id(platform.analytics_bucket)
    assert analytics_arn not in json.dumps(statements), "the analytics zone is not crawled"


def test_crawled_zones_and_on_demand_crawlers():
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", catalog=CatalogOptions(
        crawled_zones=[DataZone.ANALYTICS], crawler_schedule=None))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Glue::Crawler", 1)
    props = _props(template, platform.crawlers[DataZone.ANALYTICS])
    assert "Schedule" not in props
    assert props["Targets"]["S3Targets"][0]["Exclusions"] == ["athena-results/**", "emr-logs/**"]


def test_catalog_off():
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", enable_catalog=False)
    template = Template.from_stack(stack)
    for type_name in ("AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job",
                      "AWS::Glue::SecurityConfiguration"):
        template.resource_count_is(type_name, 0)
    assert platform.databases == {} and platform.glue_security_configuration is None
    template.resource_count_is("AWS::Athena::WorkGroup", 1)


def test_curation_job_runs_the_shipped_script_with_bookmarks(full_platform):
    platform, template, _ = full_platform
    props = _props(template, platform.curation_job)
    assert props["Command"]["Name"] == "glueetl"
    assert props["Command"]["ScriptLocation"]["Fn::Join"][1][-1].endswith(".py")
    assert props["GlueVersion"] == "5.0"
    assert (props["WorkerType"], props["NumberOfWorkers"]) == ("G.1X", 2)
    assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert (props["MaxRetries"], props["Timeout"]) == (0, 120)
    assert props["SecurityConfiguration"] == {
        "Ref": _logical_id(platform.glue_security_configuration)}
    args = props["DefaultArguments"]
    assert args["--job-bookmark-option"] == "job-bookmark-enable"
    assert args["--source_format"] == "csv"
    assert args["--target_table"] == "sales"
    assert args["--partition_column"] == "ingest_date"
    assert args["--target_database"] == {"Ref": _logical_id(platform.databases[DataZone.CURATED])}
    assert args["--source_path"] == {"Fn::Join": ["", [
        "s3://", {"Ref": _logical_id(platform.raw_bucket)}, "/sales/"]]}
    assert args["--target_path"] == {"Fn::Join": ["", [
        "s3://", {"Ref": _logical_id(platform.curated_bucket)}, "/sales/"]]}
    assert "def main(" in CURATION_SCRIPT.read_text()


def test_curation_job_role_is_scoped_to_its_prefix_and_table(full_platform):
    platform, template, _ = full_platform
    role = platform.curation_job.role
    statements = _statements(template, role)
    text = json.dumps(statements)
    assert f'"{_logical_id(platform.raw_bucket)}", "Arn"]}}, "/sales/*"' in text
    assert f'"{_logical_id(platform.curated_bucket)}", "Arn"]}}, "/sales/*"' in text
    catalog = next(s for s in statements if s.get("Sid") == "CatalogCuratedTable")
    assert catalog["Resource"][-1]["Fn::Join"][1][-1] == "/sales"
    writes = next(s for s in statements if "s3:PutObject" in s["Action"])
    assert writes["Resource"] == {"Fn::Join": ["", [
        {"Fn::GetAtt": [_logical_id(platform.curated_bucket), "Arn"]}, "/sales/*"]]}


def test_curation_job_options_reach_the_job():
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", curation_job=CurationJobOptions(
        source_prefix="events/", table_name="events", source_format=SourceFormat.JSON,
        partition_column="load_date", worker_type=glue.WorkerType.G_2X, number_of_workers=4,
        timeout=Duration.minutes(30), max_retries=1))
    props = _props(Template.from_stack(stack), platform.curation_job)
    assert (props["WorkerType"], props["NumberOfWorkers"]) == ("G.2X", 4)
    assert (props["MaxRetries"], props["Timeout"]) == (1, 30)
    assert props["DefaultArguments"]["--source_format"] == "json"
    assert props["DefaultArguments"]["--partition_column"] == "load_date"


# ------------------------------------------------------------------ Athena


def test_workgroup_enforces_encrypted_results_cutoff_and_engine_3(default_platform):
    platform, template = default_platform
    props = _props(template, platform.athena_workgroup)
    config = props["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["PublishCloudWatchMetricsEnabled"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 1024**3
    assert config["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    results = config["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}}
    assert results["OutputLocation"] == {"Fn::Join": ["", [
        "s3://", {"Ref": _logical_id(platform.analytics_bucket)}, "/athena-results/"]]}
    assert results["ExpectedBucketOwner"] == {"Ref": "AWS::AccountId"}
    assert props["Name"] == platform.athena_workgroup_name
    template.resource_count_is("AWS::Athena::NamedQuery", 0)


def test_athena_options():
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", athena=AthenaOptions(
        bytes_scanned_cutoff_per_query=10**9, results_prefix="results/",
        results_expiration=Duration.days(7), workgroup_name="analysts"))
    template = Template.from_stack(stack)
    config = _props(template, platform.athena_workgroup)["WorkGroupConfiguration"]
    assert config["BytesScannedCutoffPerQuery"] == 10**9
    assert config["ResultConfiguration"]["OutputLocation"]["Fn::Join"][1][-1] == "/results/"
    assert platform.athena_workgroup_name == "analysts"
    rules = _props(template, platform.analytics_bucket)["LifecycleConfiguration"]["Rules"]
    assert {"Id": "ExpireAthenaResults", "Prefix": "results/", "ExpirationInDays": 7,
            "Status": "Enabled"} in rules


def test_named_queries_run_in_their_zone_database(full_platform):
    platform, template, _ = full_platform
    revenue, landed = (_props(template, query) for query in platform.athena_named_queries)
    assert revenue == {
        "Name": "revenue", "QueryString": "SELECT 1", "Description": "d",
        "Database": {"Ref": _logical_id(platform.databases[DataZone.CURATED])},
        "WorkGroup": {"Ref": _logical_id(platform.athena_workgroup)}}
    assert landed["Database"] == {"Ref": _logical_id(platform.databases[DataZone.RAW])}


def test_grant_query(full_platform):
    platform, template, roles = full_platform
    statements = _statements(template, roles["Analyst"])
    workgroup = next(s for s in statements if "athena:StartQueryExecution" in s["Action"])
    assert workgroup["Resource"]["Fn::Join"][1][-1] == (
        f":workgroup/{platform.athena_workgroup_name}")
    results = next(s for s in statements if "s3:PutObject" in s["Action"])
    assert results["Resource"] == {"Fn::Join": ["", [
        {"Fn::GetAtt": [_logical_id(platform.analytics_bucket), "Arn"]}, "/athena-results/*"]]}
    reads = next(s for s in statements if s["Action"] == ["s3:GetObject", "s3:GetObjectVersion"])
    assert len(reads["Resource"]) == 2  # raw and curated, not the analytics zone
    assert "glue:GetTable" in _actions(statements)
    assert not [a for a in _actions(statements) if "*" in a]


# ------------------------------------------------------------------ VPC


def test_created_vpc_spans_three_azs_with_endpoints_and_encrypted_flow_logs(full_platform):
    platform, template, _ = full_platform
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::Subnet", 3)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    endpoints = [json.dumps(e["Properties"]["ServiceName"]) for e in
                 template.find_resources("AWS::EC2::VPCEndpoint").values()]
    for service in (".s3", ".dynamodb", ".glue", ".logs", ".kms", ".secretsmanager"):
        assert any(service in endpoint for endpoint in endpoints), service
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})
    key_arn = {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": key_arn})


def test_no_vpc_without_a_part_that_needs_one(default_platform):
    platform, template = default_platform
    template.resource_count_is("AWS::EC2::VPC", 0)
    assert platform.vpc is None and platform.redshift_workgroup is None
    assert platform.emr_application is None and platform.msk_cluster is None


def test_brought_vpc_and_subnets_are_used():
    stack = _three_az_stack()
    vpc = ec2.Vpc(stack, "Mine", max_azs=3, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ec2.SubnetConfiguration(name="Apps", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    platform = ServerlessAnalytics(stack, "Analytics", vpc=vpc, redshift=RedshiftOptions(),
                                   vpc_subnets=ec2.SubnetSelection(subnet_group_name="Data"))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::FlowLog", 0)
    subnets = _props(template, platform.redshift_workgroup)["SubnetIds"]
    data = vpc.select_subnets(subnet_group_name="Data").subnets
    assert subnets == [{"Ref": _logical_id(subnet)} for subnet in data]
    assert platform.vpc is vpc


def test_unused_vpc_warns():
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Mine")
    ServerlessAnalytics(stack, "Analytics", vpc=vpc)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("is not used"))
    assert len(warnings) == 1


# ------------------------------------------------------------------ Redshift


def test_redshift_namespace(full_platform):
    platform, template, _ = full_platform
    key_arn = {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}
    role_arn = {"Fn::GetAtt": [_logical_id(platform.redshift_role), "Arn"]}
    namespace = _resource(template, platform.redshift_namespace)
    assert namespace["DeletionPolicy"] == "Retain"
    props = namespace["Properties"]
    assert props["ManageAdminPassword"] is True
    assert "AdminUserPassword" not in props
    assert props["AdminPasswordSecretKmsKeyId"] == key_arn
    assert props["KmsKeyId"] == key_arn
    assert props["IamRoles"] == [role_arn] and props["DefaultIamRoleArn"] == role_arn
    assert props["DbName"] == "analytics" and props["AdminUsername"] == "admin"
    assert props["LogExports"] == ["userlog", "connectionlog", "useractivitylog"]


def test_redshift_workgroup(full_platform):
    platform, template, _ = full_platform
    resource = _resource(template, platform.redshift_workgroup)
    props = resource["Properties"]
    assert props["PubliclyAccessible"] is False
    assert props["EnhancedVpcRouting"] is True
    assert props["BaseCapacity"] == 8 and "MaxCapacity" not in props
    assert props["Port"] == 5439
    assert len(props["SubnetIds"]) == 3
    assert props["SecurityGroupIds"] == [
        {"Fn::GetAtt": [_logical_id(platform.redshift_security_group), "GroupId"]}]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in props["ConfigParameters"]} == {
        "require_ssl": "true", "enable_user_activity_logging": "true",
        "enable_case_sensitive_identifier": "true"}
    assert props["NamespaceName"] == _props(template, platform.redshift_namespace)[
        "NamespaceName"]
    assert resource["DependsOn"] == [_logical_id(platform.redshift_namespace)]


def test_redshift_role_reads_the_queried_zones_for_copy_and_spectrum(full_platform):
    platform, template, _ = full_platform
    trust = _props(template, platform.redshift_role)["AssumeRolePolicyDocument"]["Statement"]
    assert sorted(trust[0]["Principal"]["Service"]) == [
        "redshift-serverless.amazonaws.com", "redshift.amazonaws.com"]
    statements = _statements(template, platform.redshift_role)
    assert _actions(statements) == {
        "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation",
        "kms:Decrypt", "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
        "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"}
    assert _logical_id(platform.analytics_bucket) not in json.dumps(statements)


def test_redshift_options():
    stack = _three_az_stack()
    platform = ServerlessAnalytics(stack, "Analytics", redshift=RedshiftOptions(
        base_capacity=32, max_capacity=128, database_name="sales", admin_username="owner",
        port=5440, log_exports=["userlog"], namespace_name="sales-ns", workgroup_name="sales-wg",
        config_parameters={"enable_user_activity_logging": "false", "search_path": "sales"}))
    template = Template.from_stack(stack)
    workgroup = _props(template, platform.redshift_workgroup)
    assert (workgroup["BaseCapacity"], workgroup["MaxCapacity"], workgroup["Port"]) == (
        32, 128, 5440)
    assert workgroup["WorkgroupName"] == "sales-wg"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in workgroup["ConfigParameters"]} == {
        "require_ssl": "true", "enable_user_activity_logging": "false", "search_path": "sales"}
    namespace = _props(template, platform.redshift_namespace)
    assert (namespace["NamespaceName"], namespace["DbName"], namespace["AdminUsername"]) == (
        "sales-ns", "sales", "owner")
    assert namespace["LogExports"] == ["userlog"]
    assert platform.metric_redshift_compute_capacity().dimensions == {"Workgroup": "sales-wg"}


# ------------------------------------------------------------------ EMR


def test_emr_application(full_platform):
    platform, template, _ = full_platform
    props = _props(template, platform.emr_application)
    key_arn = {"Fn::GetAtt": [_logical_id(platform.encryption_key), "Arn"]}
    assert (props["Type"], props["ReleaseLabel"], props["Architecture"]) == (
        "SPARK", "emr-7.12.0", "ARM64")
    assert props["AutoStartConfiguration"] == {"Enabled": True}
    assert props["AutoStopConfiguration"] == {"Enabled": True, "IdleTimeoutMinutes": 15}
    assert props["MaximumCapacity"] == {"Cpu": "32 vCPU", "Memory": "128 GB", "Disk": "1000 GB"}
    assert len(props["NetworkConfiguration"]["SubnetIds"]) == 3
    assert props["NetworkConfiguration"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [_logical_id(platform.emr_security_group), "GroupId"]}]
    monitoring = props["MonitoringConfiguration"]
    assert monitoring["CloudWatchLoggingConfiguration"] == {
        "Enabled": True, "EncryptionKeyArn": key_arn,
        "LogGroupName": {"Ref": _logical_id(platform.emr_log_group)}}
    assert monitoring["S3MonitoringConfiguration"]["EncryptionKeyArn"] == key_arn
    assert monitoring["S3MonitoringConfiguration"]["LogUri"]["Fn::Join"][1][-1] == "/emr-logs/"
    assert monitoring["ManagedPersistenceMonitoringConfiguration"] == {
        "Enabled": True, "EncryptionKeyArn": key_arn}


def test_emr_execution_role_is_scoped_to_the_data_lake(full_platform):
    platform, template, _ = full_platform
    trust = _props(template, platform.emr_execution_role)["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": [
        _logical_id(platform.emr_application), "Arn"]}}
    statements = _statements(template, platform.emr_execution_role)
    writes = next(s for s in statements if "s3:PutObject" in s["Action"])
    written = json.dumps(writes["Resource"])
    assert _logical_id(platform.raw_bucket) not in written, "the raw zone is read-only"
    assert _logical_id(platform.curated_bucket) in written
    assert _logical_id(platform.analytics_bucket) in written
    assert not [a for a in _actions(statements) if "*" in a]


def test_emr_options_and_grant_start_job_run(full_platform):
    stack = new_stack()
    platform = ServerlessAnalytics(stack, "Analytics", emr=EmrOptions(
        release_label="emr-7.9.0", architecture=EmrArchitecture.X86_64, maximum_vcpu=8,
        maximum_memory_gb=32, maximum_disk_gb=100, idle_timeout=Duration.minutes(5)))
    props = _props(Template.from_stack(stack), platform.emr_application)
    assert (props["ReleaseLabel"], props["Architecture"]) == ("emr-7.9.0", "X86_64")
    assert props["MaximumCapacity"] == {"Cpu": "8 vCPU", "Memory": "32 GB", "Disk": "100 GB"}
    assert props["AutoStopConfiguration"]["IdleTimeoutMinutes"] == 5

    platform, template, roles = full_platform
    statements = _statements(template, roles["Scientist"])
    app_arn = {"Fn::GetAtt": [_logical_id(platform.emr_application), "Arn"]}
    start = next(s for s in statements if "emr-serverless:StartJobRun" in s["Action"])
    assert start["Resource"] == app_arn
    runs = next(s for s in statements if "emr-serverless:CancelJobRun" in s["Action"])
    assert runs["Resource"] == {"Fn::Join": ["", [app_arn, "/jobruns/*"]]}
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Resource"] == {"Fn::GetAtt": [
        _logical_id(platform.emr_execution_role), "Arn"]}


# ------------------------------------------------------------------ MSK


def test_msk_cluster_with_iam_auth_and_client_group(full_platform):
    platform, template, _ = full_platform
    cluster = _resource(template, platform.msk_cluster)
    props = cluster["Properties"]
    assert props["ClientAuthentication"] == {"Sasl": {"Iam": {"Enabled": True}}}
    assert props["ClusterName"] == platform.msk_cluster_name
    assert len(props["VpcConfigs"][0]["SubnetIds"]) == 3
    assert cluster["DeletionPolicy"] == "Retain"
    template.has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "IpProtocol": "tcp", "FromPort": 9098, "ToPort": 9098,
        "SourceSecurityGroupId": {"Fn::GetAtt": [
            _logical_id(platform.msk_client_security_group), "GroupId"]}})


def test_grant_produce_and_consume_name_topic_and_group(full_platform):
    platform, template, roles = full_platform
    producer = _statements(template, roles["Producer"])
    assert {"kafka-cluster:Connect", "kafka-cluster:WriteData",
            "kafka-cluster:WriteDataIdempotently"} <= _actions(producer)
    topic = next(s for s in producer if "kafka-cluster:WriteData" in s["Action"])
    parts = topic["Resource"]["Fn::Join"][1]
    assert parts[-1] == "/clicks"
    assert f":topic/{platform.msk_cluster_name}/" in parts
    consumer = _statements(template, roles["Consumer"])
    assert "kafka-cluster:WriteData" not in _actions(consumer)
    group = next(s for s in consumer if "kafka-cluster:AlterGroup" in s["Action"])
    assert group["Resource"]["Fn::Join"][1][-1] == "/sessions"


# ------------------------------------------------------------------ OpenSearch


def test_opensearch_collection_and_policies(full_platform):
    platform, template, roles = full_platform
    collection = _resource(template, platform.opensearch_collection)
    assert collection["Properties"] == {
        "Name": "app-logs", "Type": "SEARCH", "StandbyReplicas": "ENABLED",
        "Description": collection["Properties"]["Description"]}
    assert collection["DeletionPolicy"] == "Retain"
    policies = {p["Properties"]["Type"]: p["Properties"] for p in
                [*template.find_resources("AWS::OpenSearchServerless::SecurityPolicy").values(),
                 *template.find_resources("AWS::OpenSearchServerless::AccessPolicy").values()]}
    assert sorted(collection["DependsOn"]) == sorted(
        k for k, v in template.find_resources("AWS::OpenSearchServerless::SecurityPolicy").items())
    encryption = _render(policies["encryption"]["Policy"])
    assert encryption == {"Rules": [{"ResourceType": "collection",
                                     "Resource": ["collection/app-logs"]}],
                          "AWSOwnedKey": False, "KmsARN": "<token>"}
    assert _logical_id(platform.encryption_key) in json.dumps(policies["encryption"]["Policy"])
    [network] = _render(policies["network"]["Policy"])
    assert network["AllowFromPublic"] is False
    assert network["SourceVPCEs"] == ["<token>"]
    assert _logical_id(platform.opensearch_vpc_endpoint) in json.dumps(
        policies["network"]["Policy"])
    [data] = _render(policies["data"]["Policy"])
    assert data["Principal"] == ["<token>"]
    assert _logical_id(roles["Writer"]) in json.dumps(policies["data"]["Policy"])
    index_rule = next(r for r in data["Rules"] if r["ResourceType"] == "index")
    assert index_rule["Resource"] == ["index/app-logs/*"]
    assert "aoss:DeleteIndex" not in index_rule["Permission"]
    assert "aoss:APIAccessAll" in _actions(_statements(template, roles["Writer"]))
    for policy in policies.values():
        assert len(policy["Name"]) <= 32


def test_opensearch_public_only_needs_no_vpc():
    stack = new_stack()
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    platform = ServerlessAnalytics(stack, "Analytics", opensearch=OpenSearchOptions(
        collection_name="vectors", data_access_principals=[writer],
        collection_type=CollectionType.VECTORSEARCH, standby_replicas=False,
        allow_public_access=True))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::OpenSearchServerless::VpcEndpoint", 0)
    props = _props(template, platform.opensearch_collection)
    assert (props["Type"], props["StandbyReplicas"]) == ("VECTORSEARCH", "DISABLED")
    network = next(p["Properties"] for p in template.find_resources(
        "AWS::OpenSearchServerless::SecurityPolicy").values()
        if p["Properties"]["Type"] == "network")
    [rule] = json.loads(network["Policy"])
    assert rule["AllowFromPublic"] is True and "SourceVPCEs" not in rule


def test_regional_services_are_marked_for_cfn_lint(full_platform):
    platform, template, _ = full_platform
    for construct in (platform.msk_cluster, platform.opensearch_collection):
        assert _resource(template, construct)["Metadata"] == {
            "cfn-lint": {"config": {"ignore_checks": ["E3006"]}}}


# ------------------------------------------------------------------ helpers and switches


def test_metrics(full_platform):
    platform, _, _ = full_platform
    processed = platform.metric_athena_processed_bytes()
    assert (processed.namespace, processed.metric_name) == ("AWS/Athena", "ProcessedBytes")
    assert processed.dimensions == {"WorkGroup": platform.athena_workgroup_name,
                                    "QueryState": "SUCCEEDED", "QueryType": "DML"}
    capacity = platform.metric_redshift_compute_capacity()
    assert capacity.namespace == "AWS/Redshift-Serverless"
    assert capacity.metric_name == "ComputeCapacity"


def test_helpers_of_parts_that_are_off_raise_clearly(default_platform):
    platform, _ = default_platform
    role = iam.Role(Stack.of(platform), "Someone", assumed_by=iam.AccountRootPrincipal())
    for call, part in ((platform.grant_start_job_run, "EMR"), (platform.grant_produce, "MSK"),
                       (platform.grant_consume, "MSK")):
        with pytest.raises(ValueError, match=f"no {part} part"):
            call(role)
    with pytest.raises(ValueError, match="no Redshift part"):
        platform.metric_redshift_compute_capacity()


def test_data_lake_off_leaves_only_the_chosen_parts():
    stack = _three_az_stack()
    platform = ServerlessAnalytics(stack, "Analytics", enable_data_lake=False,
                                   enable_catalog=False, enable_athena=False,
                                   redshift=RedshiftOptions())
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("AWS::RedshiftServerless::Workgroup", 1)
    assert platform.buckets == {}
    with pytest.raises(ValueError, match="no data lake"):
        _ = platform.raw_bucket
    assert "s3:" not in json.dumps(template.find_resources("AWS::IAM::Policy"))


def test_destroy_switch_applies_to_every_stateful_part():
    stack = _three_az_stack(context={DESTROY_ON_REMOVAL_CONTEXT_KEY: True})
    writer = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    ServerlessAnalytics(stack, "Analytics", redshift=RedshiftOptions(), msk=MskOptions(),
                        opensearch=OpenSearchOptions(collection_name="logs",
                                                     data_access_principals=[writer]))
    template = Template.from_stack(stack)
    for type_name in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Glue::Database",
                      "AWS::RedshiftServerless::Namespace", "AWS::MSK::ServerlessCluster",
                      "AWS::OpenSearchServerless::Collection", "AWS::Logs::LogGroup"):
        resources = template.find_resources(type_name)
        assert resources, type_name
        for resource in resources.values():
            assert resource["DeletionPolicy"] == "Delete", type_name


def test_builds_in_an_app_without_any_feature_flags():
    stack = Stack(App(), "Bare")
    ServerlessAnalytics(stack, "Analytics")
    for bucket in Template.from_stack(stack).find_resources("AWS::S3::Bucket").values():
        assert "AccessControl" not in bucket["Properties"]


# ------------------------------------------------------------------ extension points


class _CustomPlatform(ServerlessAnalytics):
    """Groups every file into its own table and always saves a row-count query."""

    def _crawler_configuration(self, zone: DataZone) -> dict[str, object]:
        return {"Version": 1.0, "Grouping": {"TableLevelConfiguration": 2}}

    def _named_queries(self) -> list[AthenaNamedQuery]:
        return [*super()._named_queries(), AthenaNamedQuery(name="count", query="SELECT 3")]

    def _lifecycle_rules(self, zone: DataZone) -> list[s3.LifecycleRule]:
        if zone is DataZone.RAW:
            return [s3.LifecycleRule(id="ExpireRaw", expiration=Duration.days(365))]
        return super()._lifecycle_rules(zone)


def test_subclass_overrides_crawlers_queries_and_lifecycle():
    stack = new_stack()
    platform = _CustomPlatform(stack, "Analytics")
    template = Template.from_stack(stack)
    for crawler in platform.crawlers.values():
        assert json.loads(_props(template, crawler)["Configuration"]) == {
            "Version": 1.0, "Grouping": {"TableLevelConfiguration": 2}}
    [query] = platform.athena_named_queries
    assert _props(template, query)["Name"] == "count"
    raw_rules = _props(template, platform.raw_bucket)["LifecycleConfiguration"]["Rules"]
    assert [r["Id"] for r in raw_rules] == ["AbortIncompleteUploadsAndExpireOldVersions",
                                             "ExpireRaw"]
    curated_rules = _props(template, platform.curated_bucket)["LifecycleConfiguration"]["Rules"]
    assert "TierByAge" in [r["Id"] for r in curated_rules]


def test_curation_script_is_a_real_glue_script():
    source = Path(CURATION_SCRIPT).read_text()
    for needle in ("getResolvedOptions", "create_dynamic_frame.from_options",
                   'transformation_ctx="source"', "enableUpdateCatalog=True",
                   'setFormat("glueparquet"', "job.commit()"):
        assert needle in source, needle
