"""The serverless analytics example deployed, updated and deleted on the offline harness.

What runs for real here is the clickstream's streaming ingestion from MSK Serverless: the
``RedshiftSqlRunner`` of ``MskStreamingIngestion`` (its bundled handlers, as their IAM
roles, against the emulated Data API). The harness records the MSK Serverless cluster with
an ARN shaped as MSK's (no broker: no record reaches the view); Glue databases, Athena
saved queries and OpenSearch Serverless are deployed as no-ops. Proved here: the order of
the SQL on create (the external schema over the deployed cluster, with the deployed role,
before the view over the topic), that an unchanged update runs nothing, the drop SQL in
reverse on delete, and the network rule that lets the workgroup reach the cluster.
"""

from __future__ import annotations

import pytest

from stacks.serverless_analytics_stack import CLICKSTREAM_TOPIC, CLICKSTREAM_VIEW, MSK_SCHEMA

STACK = "AnalyticsServerless"
#: Not emulated, and not what this test is about.
NO_OPS = {"AWS::Athena::NamedQuery"}
VIEW = f'"public"."{CLICKSTREAM_VIEW}"'
pytestmark = pytest.mark.offline_aws(ignore_resource_types=NO_OPS)


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def test_create_maps_the_deployed_cluster_then_creates_the_view_over_the_topic(aws):
    cluster_arn = aws.resource("Platform/Msk/Cluster").attributes["Arn"]
    assert cluster_arn.startswith("arn:aws:kafka:") and ":cluster/" in cluster_arn
    role_arn = aws.resource("ClickstreamView/StreamRole/Resource").attributes["Arn"]
    assert aws.redshift_data.sql_run() == [
        f'CREATE EXTERNAL SCHEMA IF NOT EXISTS "{MSK_SCHEMA}" FROM MSK '
        f"IAM_ROLE '{role_arn}' AUTHENTICATION iam CLUSTER_ARN '{cluster_arn}'",
        f"CREATE MATERIALIZED VIEW {VIEW} AUTO REFRESH YES AS SELECT kafka_partition, "
        "kafka_offset, kafka_timestamp_type, kafka_timestamp, kafka_key, kafka_headers, "
        "refresh_time, JSON_PARSE(kafka_value) AS payload "
        f'FROM "{MSK_SCHEMA}"."{CLICKSTREAM_TOPIC}" WHERE CAN_JSON_PARSE(kafka_value)',
    ]
    # The platform's workgroup and database, one statement at a time.
    workgroup = aws.resource("Platform/Redshift/Workgroup")
    assert {s.workgroup_name for s in aws.redshift_data.statements} == {
        workgroup.attributes["Workgroup.WorkgroupName"]}
    assert not any(s.batch for s in aws.redshift_data.statements)
    assert aws.iam_denials() == []
    assert [r.request_type for r in aws.custom_resource_requests] == ["Create"]


def test_the_role_is_attached_and_reads_only_the_clickstream_topic(aws):
    role_arn = aws.resource("ClickstreamView/StreamRole/Resource").attributes["Arn"]
    namespace = aws.resource("Platform/Redshift/Namespace")
    assert role_arn in namespace.properties["IamRoles"]
    cluster_arn = aws.resource("Platform/Msk/Cluster").attributes["Arn"]
    name, cluster_uuid = cluster_arn.split("/")[1:]
    policy = aws.resource("ClickstreamView/StreamRole/DefaultPolicy/Resource")
    statements = {s["Sid"]: s for s in policy.properties["PolicyDocument"]["Statement"]}
    assert statements["ConnectToCluster"]["Resource"] == cluster_arn
    assert statements["ReadTopic"]["Resource"] == (
        f"arn:aws:kafka:{aws.region}:{aws.account_id}:topic/{name}/{cluster_uuid}/"
        f"{CLICKSTREAM_TOPIC}")


def test_the_workgroup_reaches_the_cluster_on_the_iam_port(aws):
    redshift_group = aws.resource("Platform/Redshift/SecurityGroup/Resource").physical_id
    msk_group = aws.resource("Platform/Msk/SecurityGroup/Resource").physical_id
    rules = [r.properties for r in aws.resources
             if r.resource_type == "AWS::EC2::SecurityGroupIngress"]
    assert {"IpProtocol": "tcp", "FromPort": 9098, "ToPort": 9098, "GroupId": msk_group,
            "SourceSecurityGroupId": redshift_group} in [
        {k: r[k] for k in ("IpProtocol", "FromPort", "ToPort", "GroupId",
                           "SourceSecurityGroupId") if k in r} for r in rules]


def test_an_unchanged_update_runs_nothing_and_delete_drops_the_view_then_the_schema(
        aws, example_stack):
    created = len(aws.redshift_data.sql_run())
    aws.update(example_stack(STACK))
    assert len(aws.redshift_data.sql_run()) == created
    aws.destroy(STACK)
    assert aws.redshift_data.sql_run()[created:] == [
        f"DROP MATERIALIZED VIEW IF EXISTS {VIEW}", f'DROP SCHEMA IF EXISTS "{MSK_SCHEMA}"']
    assert [r.request_type for r in aws.custom_resource_requests] == ["Create", "Delete"]
