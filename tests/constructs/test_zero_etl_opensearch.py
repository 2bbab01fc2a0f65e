"""OpenSearch on S3: ``S3DirectQuery`` (in place) and ``S3IngestionPipeline`` (indexed).

The pipeline's Data Prepper configuration is rendered as CloudFormation would (tokens given
deploy-time-like values), parsed with PyYAML and compared with AWS's documented S3 source
and OpenSearch Serverless sink (below, with their sources).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk import App, Duration, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from analytics_orchestration import (
    CollectionType,
    ConfigurationError,
    DirectQueryDomainOptions,
    OpenSearchOptions,
    PipelineCodec,
    PipelineCompression,
    S3DirectQuery,
    S3IngestionPipeline,
    ServerlessAnalytics,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.compliance import strict_profile
from analytics_orchestration.constructs.zero_etl._pipeline_body import shape_problems
from tests.support import (
    cdk_json_context,
    lint_problems,
    recording_acknowledgments,
    render_joined,
    stale_acknowledgments,
)

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/111111111111/fuzz-queue"
ROLE_ARN = "arn:aws:iam::111111111111:role/Pipeline"
ENDPOINT = "https://abc123.us-east-1.aoss.amazonaws.com"

#: AWS's S3 source ("Using an OpenSearch Ingestion pipeline with Amazon S3", and the Data
#: Prepper S3 log pipeline it follows) with the OpenSearch Serverless sink of "Tutorial:
#: Ingesting data into a collection using Amazon OpenSearch Ingestion" (Amazon OpenSearch
#: Service Developer Guide), placeholders as the guide writes them.
DOCUMENTED_BLUEPRINT = """\
version: "2"
log-pipeline:
  source:
    s3:
      notification_type: "sqs"
      compression: "gzip"
      codec:
        newline:
      sqs:
        queue_url: "https://sqs.us-east-1.amazonaws.com/12345678910/ApplicationLoadBalancer"
      aws:
        region: "us-east-1"
        sts_role_arn: "arn:aws:iam::12345678910:role/OpenSearch Ingestion"
  processor:
    - date:
        from_time_received: true
        destination: "@timestamp"
  sink:
    - opensearch:
        hosts: [ "https://{collection-id}.us-east-1.aoss.amazonaws.com" ]
        index: "my_logs"
        aws:
          sts_role_arn: "arn:aws:iam::{your-account-id}:role/PipelineRole"
          region: "us-east-1"
          serverless: true
"""


class ThreeAzStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        return [Fn.select(index, Fn.get_azs()) for index in range(3)]


def _stack(app: App | None = None) -> Stack:
    return ThreeAzStack(app or App(context=cdk_json_context()), "Logs")


def _parts(stack: Stack) -> dict[str, Any]:
    key = blocks.secure_key(stack, "Key", description="Logs")
    logs = blocks.access_log_bucket(stack, "AccessLogs")
    return {
        "key": key,
        "data": blocks.secure_bucket(stack, "LandingLogs", encryption_key=key,
                                     server_access_logs_bucket=logs,
                                     server_access_logs_prefix="landing-logs/",
                                     event_bridge_notifications=True),
        "checkpoints": blocks.secure_bucket(stack, "Checkpoints", encryption_key=key,
                                            server_access_logs_bucket=logs,
                                            server_access_logs_prefix="checkpoints/"),
        "vpc": blocks.private_vpc(stack, "Vpc", max_azs=3, flow_logs_key=key),
        "admin": iam.Role(stack, "Admin", assumed_by=iam.AccountPrincipal(stack.account)),
    }


def _direct_query(stack: Stack, parts: dict[str, Any], **overrides: Any) -> S3DirectQuery:
    props: dict[str, Any] = {
        "data_source_name": "landing_logs", "buckets": [parts["data"]],
        "checkpoint_bucket": parts["checkpoints"], "key_prefix": "logs/",
        "domain_options": DirectQueryDomainOptions(master_user=parts["admin"]),
        "vpc": parts["vpc"], "encryption_key": parts["key"],
    }
    props.update(overrides)
    return S3DirectQuery(stack, "InPlace", **props)


def _collection(stack: Stack) -> aoss.CfnCollection:
    return aoss.CfnCollection(stack, "Collection", name="landing-logs", type="TIMESERIES")


def _pipeline(stack: Stack, parts: dict[str, Any], **overrides: Any) -> S3IngestionPipeline:
    props: dict[str, Any] = {
        "bucket": parts["data"], "collection": _collection(stack), "key_prefix": "logs/",
        "index": "landing-logs-%{yyyy.MM.dd}", "vpc": parts["vpc"],
        "encryption_key": parts["key"],
    }
    props.update(overrides)
    return S3IngestionPipeline(stack, "Indexed", **props)


def _render(value: Any) -> str:
    """A resolved CloudFormation string as deployed (Refs and GetAtts given values)."""
    return render_joined(value, _deployed_value)


def _deployed_value(value: dict[str, Any]) -> str:
    if value.get("Ref") == "AWS::Region":
        return "us-east-1"
    if "Ref" in value:
        return QUEUE_URL
    if "Fn::GetAtt" in value:
        return ENDPOINT if value["Fn::GetAtt"][1] == "CollectionEndpoint" else ROLE_ARN
    raise AssertionError(f"unexpected intrinsic {value}")


def _body(template: Template) -> dict[str, Any]:
    [pipeline] = template.find_resources("AWS::OSIS::Pipeline").values()
    loaded: dict[str, Any] = yaml.safe_load(_render(
        pipeline["Properties"]["PipelineConfigurationBody"]))
    return loaded


def _paths(node: Any, prefix: str = "") -> dict[str, type]:
    """Every key path of a parsed configuration -> the type of its value."""
    found: dict[str, type] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            found[f"{prefix}{key}"] = type(value)
            found.update(_paths(value, f"{prefix}{key}."))
    elif isinstance(node, list):
        for item in node:
            found.update(_paths(item, f"{prefix}[]."))
    return found


def _statements(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    return [statement for logical, policy in policies.items() if role_fragment in logical
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


# ------------------------------------------------------------------ direct query
def test_direct_query_data_source_is_on_the_domain_with_its_role():
    stack = _stack()
    _direct_query(stack, _parts(stack), description="Landing logs in place")
    template = Template.from_stack(stack)
    [source] = template.find_resources("AWS::OpenSearch::DataSource").values()
    domain = next(iter(template.find_resources("AWS::OpenSearchService::Domain")))
    assert source["Properties"]["Description"] == "Landing logs in place"
    template.has_resource_properties("AWS::OpenSearch::DataSource", {
        "DomainName": {"Ref": domain}, "Name": "landing_logs",
        "DataSourceType": {"S3GlueDataCatalog": {"RoleArn": {
            "Fn::GetAtt": [Match.string_like_regexp("InPlaceRole"), "Arn"]}}}})
    # The cfn-lint exception is on the data source alone.
    assert source["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["E3006"]}}
    assert all("cfn-lint" not in r.get("Metadata", {}) for r in
               template.find_resources("AWS::OpenSearchService::Domain").values())
    # The policy exists before the data source validates the role.
    assert any("InPlaceRoleDefaultPolicy" in d for d in source["DependsOn"])


def test_direct_query_role_is_trusted_by_the_service_for_this_domain_only():
    stack = _stack()
    query = _direct_query(stack, _parts(stack))
    template = Template.from_stack(stack)
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "directquery.opensearchservice.amazonaws.com"}})]}}})
    [role] = roles.values()
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    domain_arn = stack.resolve(query.domain_arn)
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": [domain_arn, stack.resolve(f"{query.domain_arn}/*")]},
    }


def test_direct_query_role_reads_the_prefix_and_writes_only_its_databases_tables():
    stack = _stack()
    parts = _parts(stack)
    query = _direct_query(stack, parts)
    template = Template.from_stack(stack)
    statements = {s.get("Sid"): s for s in _statements(template, "InPlaceRole")}
    read = statements["ReadTheData"]
    assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert stack.resolve(parts["data"].arn_for_objects("logs/*")) == read["Resource"]
    assert "s3:PutObject" in statements["Checkpoints"]["Action"]
    assert stack.resolve(parts["checkpoints"].arn_for_objects("*")) == (
        statements["Checkpoints"]["Resource"])
    write = statements["GlueTablesOfTheDataSource"]
    database = stack.resolve(query.databases[0].database_name)
    resources = json.dumps(write["Resource"])
    assert json.dumps(database) in resources and "database/default" not in resources
    assert "glue:CreateTable" in write["Action"] and "glue:DeleteDatabase" not in write["Action"]
    template.has_resource_properties("AWS::Glue::Database", {
        "DatabaseInput": {"Name": "landing_logs"}})


def test_direct_query_builds_a_private_fault_tolerant_domain_with_fine_grained_access():
    stack = _stack()
    parts = _parts(stack)
    _direct_query(stack, parts)
    template = Template.from_stack(stack)
    [domain] = template.find_resources("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]
    assert props["EngineVersion"] == "OpenSearch_2.19"
    assert props["ClusterConfig"] == {
        "InstanceType": "r7g.medium.search", "InstanceCount": 3,
        "ZoneAwarenessEnabled": True, "ZoneAwarenessConfig": {"AvailabilityZoneCount": 3},
        "DedicatedMasterEnabled": True, "DedicatedMasterType": "m7g.large.search",
        "DedicatedMasterCount": 3}
    assert len(props["VPCOptions"]["SubnetIds"]) == 3
    assert props["AdvancedSecurityOptions"] == {
        "Enabled": True, "InternalUserDatabaseEnabled": False,
        "MasterUserOptions": {"MasterUserARN": stack.resolve(parts["admin"].role_arn)}}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["EncryptionAtRestOptions"]["Enabled"] is True
    assert props["DomainEndpointOptions"] == {
        "EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"}
    assert set(props["LogPublishingOptions"]) == {
        "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"}
    [statement] = props["AccessPolicies"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]}}
    assert domain["DeletionPolicy"] == "Retain"
    # Only the VPC reaches it, on HTTPS: the literal CIDR, so the rule packs can check it.
    template.has_resource_properties("AWS::EC2::SecurityGroup", {
        "GroupDescription": Match.string_like_regexp("OpenSearch domain"),
        "SecurityGroupIngress": [Match.object_like({"CidrIp": "10.0.0.0/16",
                                                    "FromPort": 443, "ToPort": 443})]})
    # The domain publishes its logs under the log group's resource policy, for itself only.
    [policy] = template.find_resources("AWS::Logs::ResourcePolicy").values()
    document = json.dumps(policy["Properties"]["PolicyDocument"])
    assert "es.amazonaws.com" in document and "aws:SourceArn" in document


def test_direct_query_on_your_domain_and_databases_builds_neither():
    stack = _stack()
    parts = _parts(stack)
    domain = opensearch.Domain.from_domain_attributes(
        stack, "Yours", domain_arn="arn:aws:es:us-east-1:111111111111:domain/search",
        domain_endpoint="https://search.us-east-1.es.amazonaws.com")
    database = glue.Database.from_database_arn(
        stack, "Lake", "arn:aws:glue:us-east-1:111111111111:database/lake_raw")
    _direct_query(stack, parts, domain=domain, domain_options=None, vpc=None,
                  databases=[database])
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::OpenSearchService::Domain", 0)
    template.resource_count_is("AWS::Glue::Database", 0)
    template.has_resource_properties("AWS::OpenSearch::DataSource", {"DomainName": "search"})
    write = next(s for s in _statements(template, "InPlaceRole")
                 if s.get("Sid") == "GlueTablesOfTheDataSource")
    assert "database/lake_raw" in json.dumps(write["Resource"])


@pytest.mark.parametrize(("overrides", "prop"), [
    ({"domain": "brought"}, "domain_options"),
    ({"vpc": None}, "vpc"),
    ({"domain_options": None}, "domain_options"),
    ({"data_source_name": "Landing-Logs"}, "data_source_name"),
    ({"description": "no, commas"}, "description"),
    ({"key_prefix": "/logs/"}, "key_prefix"),
])
def test_direct_query_refuses_what_opensearch_would_refuse(overrides, prop):
    stack = _stack()
    parts = _parts(stack)
    if overrides.get("domain") == "brought":
        overrides["domain"] = opensearch.Domain.from_domain_attributes(
            stack, "Yours", domain_arn="arn:aws:es:us-east-1:111111111111:domain/search",
            domain_endpoint="https://search.us-east-1.es.amazonaws.com")
    with pytest.raises(ConfigurationError) as raised:
        _direct_query(stack, parts, **overrides)
    assert any(problem.startswith(f"{prop}:") for problem in raised.value.problems), (
        raised.value.problems)


@pytest.mark.parametrize(("options", "prop"), [
    ({"engine_version": "OpenSearch_2.11"}, "engine_version"),
    ({"engine_version": "Elasticsearch_7.10"}, "engine_version"),
    ({"data_nodes": 4}, "domain_options.data_nodes"),
    ({"instance_type": "r7g.medium"}, "instance_type"),
])
def test_direct_query_domain_options_are_checked(options, prop):
    stack = _stack()
    parts = _parts(stack)
    with pytest.raises(ConfigurationError) as raised:
        _direct_query(stack, parts, domain_options=DirectQueryDomainOptions(
            master_user=parts["admin"], **options))
    assert any(problem.startswith(f"{prop}:") for problem in raised.value.problems), (
        raised.value.problems)


def test_direct_query_role_can_be_replaced_by_a_subclass():
    class WithBoundary(S3DirectQuery):
        def _create_role(self) -> iam.Role:
            role = super()._create_role()
            iam.PermissionsBoundary.of(role).apply(iam.ManagedPolicy.from_managed_policy_arn(
                self, "Boundary", "arn:aws:iam::111111111111:policy/boundary"))
            return role

    stack = _stack()
    parts = _parts(stack)
    WithBoundary(stack, "InPlace", data_source_name="landing_logs", buckets=[parts["data"]],
                 checkpoint_bucket=parts["checkpoints"], vpc=parts["vpc"],
                 domain_options=DirectQueryDomainOptions(master_user=parts["admin"]))
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Role", {
        "PermissionsBoundary": "arn:aws:iam::111111111111:policy/boundary",
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "directquery.opensearchservice.amazonaws.com"}})]}})


# ------------------------------------------------------------------ ingestion pipeline
def test_pipeline_body_parses_and_has_the_documented_shape():
    stack = _stack()
    _pipeline(stack, _parts(stack))
    body = _body(Template.from_stack(stack))
    assert shape_problems(body) == []
    documented = yaml.safe_load(DOCUMENTED_BLUEPRINT)
    ours = _paths(body["s3-pipeline"])
    theirs = _paths(documented["log-pipeline"])
    # Every option AWS's blueprint sets, ours sets with a value of the same kind (the
    # blueprint's empty "newline:" is a null; ours an empty mapping, the same to Data
    # Prepper).
    for path, kind in theirs.items():
        assert path in ours, path
        assert ours[path] is kind or (kind is type(None) and ours[path] is dict), path
    # What ours adds: delete only after indexing, EventBridge's event shape, the network
    # policy for a VPC collection, bounded receives, and the JSON lines parsed.
    assert set(ours) - set(theirs) == {
        "source.s3.acknowledgments", "source.s3.notification_source",
        "source.s3.sqs.maximum_messages", "source.s3.sqs.visibility_timeout",
        "processor.[].parse_json", "sink.[].opensearch.aws.serverless_options",
        "sink.[].opensearch.aws.serverless_options.network_policy_name"}
    source = body["s3-pipeline"]["source"]["s3"]
    assert source["sqs"] == {"queue_url": QUEUE_URL, "maximum_messages": 10,
                             "visibility_timeout": "300s"}
    assert source["notification_source"] == "eventbridge"
    assert source["aws"] == {"sts_role_arn": ROLE_ARN, "region": "us-east-1"}
    sink = body["s3-pipeline"]["sink"][0]["opensearch"]
    assert sink["hosts"] == [ENDPOINT] and sink["index"] == "landing-logs-%{yyyy.MM.dd}"
    assert body["version"] == "2"


@pytest.mark.parametrize(("codec", "compression", "source_codec", "parses_json"), [
    (PipelineCodec.JSON_LINES, PipelineCompression.AUTOMATIC, "newline", True),
    (PipelineCodec.LINES, PipelineCompression.GZIP, "newline", False),
    (PipelineCodec.CSV, PipelineCompression.NONE, "csv", False),
    (PipelineCodec.PARQUET, PipelineCompression.NONE, "parquet", False),
])
def test_pipeline_codecs(codec, compression, source_codec, parses_json):
    stack = _stack()
    _pipeline(stack, _parts(stack), codec=codec, compression=compression)
    sub = _body(Template.from_stack(stack))["s3-pipeline"]
    assert list(sub["source"]["s3"]["codec"]) == [source_codec]
    assert sub["source"]["s3"]["compression"] == compression.value
    assert any("parse_json" in step for step in sub["processor"]) is parses_json


def test_pipeline_resource_capacity_logs_encryption_and_network():
    stack = _stack()
    parts = _parts(stack)
    pipeline = _pipeline(stack, parts, min_units=2, max_units=8, pipeline_name="landing-logs")
    template = Template.from_stack(stack)
    [resource] = template.find_resources("AWS::OSIS::Pipeline").values()
    props = resource["Properties"]
    assert (props["PipelineName"], props["MinUnits"], props["MaxUnits"]) == (
        "landing-logs", 2, 8)
    assert props["EncryptionAtRestOptions"] == {"KmsKeyArn": stack.resolve(
        parts["key"].key_arn)}
    assert props["LogPublishingOptions"] == {"IsLoggingEnabled": True,
                                             "CloudWatchLogDestination": {"LogGroup": stack.resolve(
                                                 pipeline.log_group.log_group_name)}}
    template.has_resource_properties("AWS::Logs::LogGroup", {
        "LogGroupName": "/aws/vendedlogs/OpenSearchIngestion/landing-logs/audit-logs",
        "KmsKeyId": Match.any_value()})
    assert len(props["VpcOptions"]["SubnetIds"]) == 3
    assert props["VpcOptions"]["VpcEndpointManagement"] == "SERVICE"
    assert resource["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["E3006"]}}


def test_pipeline_without_a_vpc_has_no_vpc_options():
    stack = _stack()
    parts = _parts(stack)
    _pipeline(stack, parts, vpc=None)
    [resource] = Template.from_stack(stack).find_resources("AWS::OSIS::Pipeline").values()
    assert "VpcOptions" not in resource["Properties"]


def test_pipeline_events_reach_its_queue_through_eventbridge_with_a_dead_letter_queue():
    stack = _stack()
    parts = _parts(stack)
    _pipeline(stack, parts)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::Rule", {"EventPattern": {
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [stack.resolve(parts["data"].bucket_name)]},
                   "object": {"key": [{"prefix": "logs/"}]}}},
        "Targets": [Match.object_like({
            "DeadLetterConfig": {"Arn": Match.any_value()},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}})]})
    template.has_resource_properties("AWS::S3::Bucket", {"NotificationConfiguration": {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}}})
    template.has_resource_properties("AWS::SQS::Queue", {
        "KmsMasterKeyId": Match.any_value(),
        "RedrivePolicy": Match.object_like({"maxReceiveCount": Match.any_value()})})


def test_pipeline_role_and_the_collections_data_access_policy():
    stack = _stack()
    parts = _parts(stack)
    pipeline = _pipeline(stack, parts, pipeline_name="landing-logs")
    template = Template.from_stack(stack)
    [role] = template.find_resources("AWS::IAM::Role", {"Properties": {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "osis-pipelines.amazonaws.com"}})]}}}).values()
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": stack.resolve(
        pipeline.pipeline_arn)}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    statements = {s.get("Sid"): s for s in _statements(template, "IndexedRole")}
    collection = next(iter(template.find_resources("AWS::OpenSearchServerless::Collection")))
    assert statements["UseTheCollection"]["Resource"] == {"Fn::GetAtt": [collection, "Arn"]}
    assert set(statements["UseTheCollection"]["Action"]) == {
        "aoss:BatchGetCollection", "aoss:APIAccessAll"}
    assert statements["ReachTheCollection"]["Condition"] == {
        "StringEquals": {"aoss:collection": "landing-logs"}}
    assert statements["ReadTheObjects"]["Resource"] == stack.resolve(
        parts["data"].arn_for_objects("logs/*"))
    [access] = template.find_resources("AWS::OpenSearchServerless::AccessPolicy").values()
    assert access["Properties"]["Name"] == "landing-logs-data"
    assert access["Properties"]["Type"] == "data"
    [rule] = json.loads(_render(access["Properties"]["Policy"]))
    assert rule["Rules"] == [{"ResourceType": "index",
                              "Resource": ["index/landing-logs/landing-logs-*"],
                              "Permission": ["aoss:CreateIndex", "aoss:UpdateIndex",
                                             "aoss:DescribeIndex", "aoss:ReadDocument",
                                             "aoss:WriteDocument"]}]
    assert rule["Principal"] == [ROLE_ARN]


@pytest.mark.parametrize(("overrides", "prop"), [
    ({"min_units": 5, "max_units": 2}, "max_units"),
    ({"max_units": 385}, "max_units"),
    ({"min_units": 0}, "min_units"),
    ({"index": "Landing-Logs"}, "index"),
    ({"index": "_logs"}, "index"),
    ({"index": "logs today"}, "index"),
    ({"pipeline_name": "Landing_Logs"}, "pipeline_name"),
    ({"pipeline_name": "x" * 29}, "pipeline_name"),
    ({"key_prefix": "/logs/"}, "key_prefix"),
    ({"visibility_timeout": Duration.seconds(10)}, "visibility_timeout"),
    ({"vpc": None, "vpc_subnets": ec2.SubnetSelection()}, "vpc_subnets"),
])
def test_pipeline_refuses_what_opensearch_ingestion_would_refuse(overrides, prop):
    stack = _stack()
    with pytest.raises(ConfigurationError) as raised:
        _pipeline(stack, _parts(stack), **overrides)
    assert any(problem.startswith(f"{prop}:") for problem in raised.value.problems), (
        raised.value.problems)


def test_pipeline_on_an_imported_bucket_warns_that_its_events_must_be_on():
    stack = _stack()
    parts = _parts(stack)
    _pipeline(stack, parts, bucket=s3.Bucket.from_bucket_name(stack, "Theirs", "theirs"))
    Annotations.from_stack(stack).has_warning(
        "/Logs/Indexed", Match.string_like_regexp("turn on its EventBridge notifications"))


# ------------------------------------------------------------------ both, under the gates
def test_both_are_clean_under_the_strict_profile_and_cfn_lint(tmp_path: Path):
    """Every finding fixed or acknowledged (each acknowledgment suppressing one), no
    cfn-lint error or warning; composed with ServerlessAnalytics' collection."""
    app = App(outdir=str(tmp_path), context=cdk_json_context())
    with recording_acknowledgments() as acknowledgments:
        stack = _stack(app)
        parts = _parts(stack)
        search = ServerlessAnalytics(
            stack, "Search", encryption_key=parts["key"], enable_data_lake=False,
            enable_catalog=False, enable_athena=False, vpc=parts["vpc"],
            opensearch=OpenSearchOptions(collection_name="landing-logs",
                                         data_access_principals=[parts["admin"]],
                                         collection_type=CollectionType.TIMESERIES))
        _direct_query(stack, parts)
        assert search.opensearch_collection is not None
        S3IngestionPipeline(stack, "Indexed", bucket=parts["data"], key_prefix="logs/",
                            collection=search.opensearch_collection, index="landing-logs",
                            vpc=parts["vpc"], encryption_key=parts["key"])
        strict_profile(app)
        assembly = app.synth()  # raises on any unacknowledged finding
    report = json.loads((tmp_path / "validation-report.json").read_text())
    ours = [a for a in acknowledgments if "/InPlace" in a.construct_path
            or "/Indexed" in a.construct_path]
    assert any("OS3" in a.rule_id for a in ours)
    assert stale_acknowledgments(ours, report) == []
    template = assembly.get_stack_by_name("Logs").template
    assert lint_problems(template) == []
