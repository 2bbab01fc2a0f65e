"""``MskStreamingIngestion``: its role, its network rule, its validation and its SQL.

The SQL is rendered as CloudFormation would (the role's and the cluster's ARN given
deploy-time-like values) and parsed with sqlglot's Redshift dialect; every name from props
comes back as the same quoted identifier, however odd. The expected columns, clauses and
IAM actions are the Amazon Redshift Database Developer Guide's ("Getting started with
streaming ingestion from Apache Kafka sources"), not read back from the code.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_msk as msk
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk.assertions import Annotations, Match, Template
from sqlglot import exp

from analytics_orchestration import ConfigurationError, MskStreamingIngestion, RedshiftTarget
from tests.constructs.test_zero_etl import _parses
from tests.support import new_stack

ROLE_ARN = "arn:aws:iam::111111111111:role/Msk"
CLUSTER_ARN = ("arn:aws:kafka:us-east-1:111111111111:cluster/events/"
               "0b6b7ab0-7b3f-4b5e-9d2c-1c2d3e4f5a6b-s1")
#: The guide's metadata columns of a Kafka streaming view (its example's, plus refresh_time).
GUIDE_COLUMNS = ["kafka_partition", "kafka_offset", "kafka_timestamp_type", "kafka_timestamp",
                 "kafka_key", "kafka_headers", "refresh_time"]


def _ingestion(stack: Stack, *, egress: bool = True, **overrides: Any) -> MskStreamingIngestion:
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name="sales", enhanced_vpc_routing=True)
    cluster = msk.CfnServerlessCluster(
        stack, "Cluster", cluster_name="events",
        client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
            sasl=msk.CfnServerlessCluster.SaslProperty(
                iam=msk.CfnServerlessCluster.IamProperty(enabled=True))),
        vpc_configs=[msk.CfnServerlessCluster.VpcConfigProperty(subnet_ids=["s-1", "s-2"])])
    props: dict[str, Any] = {
        "cluster": cluster, "topic": "Click.Events-v1",
        "cluster_security_group": ec2.SecurityGroup.from_security_group_id(
            stack, "ClusterGroup", "sg-0c1a5e7c1a5e7c1a5"),
        "workgroup_security_group": ec2.SecurityGroup.from_security_group_id(
            stack, "WorkgroupGroup", "sg-0e0e0e0e0e0e0e0e0", allow_all_outbound=egress),
        "namespace": namespace, "workgroup": workgroup,
        "target": RedshiftTarget.of_workgroup(workgroup, database="dev"),
        "external_schema": "msk", "view": "Click Events", "grant_select_to": ["analyst"],
    }
    props.update(overrides)
    return MskStreamingIngestion(stack, "Streaming", **props)


def _render(stack: Stack, ingestion: MskStreamingIngestion, value: Any) -> str:
    """A resolved CloudFormation string with the role's and the cluster's ARN filled in."""
    arns = {stack.get_logical_id(ingestion.role.node.default_child): ROLE_ARN,
            stack.get_logical_id(ingestion.cluster): CLUSTER_ARN}
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(stack, ingestion, part) for part in parts)
    [logical_id, attribute] = value["Fn::GetAtt"]
    assert attribute == "Arn"
    return arns[stack.resolve(logical_id)]


def _sql(stack: Stack, ingestion: MskStreamingIngestion) -> list[str]:
    return [_render(stack, ingestion, stack.resolve(sql)) for sql in ingestion.create_sql]


def test_the_schema_maps_the_cluster_with_iam_and_the_view_keeps_the_payload_as_super():
    stack = new_stack()
    ingestion = _ingestion(stack)
    create = _sql(stack, ingestion)
    assert create[0] == (f"CREATE EXTERNAL SCHEMA IF NOT EXISTS \"msk\" FROM MSK IAM_ROLE "
                         f"'{ROLE_ARN}' AUTHENTICATION iam CLUSTER_ARN '{CLUSTER_ARN}'")
    view = _parses(create[1])
    assert isinstance(view, exp.Create) and view.args["kind"] == "VIEW"
    assert (view.this.db, view.this.name) == ("public", "Click Events")
    assert view.this.this.quoted
    select = view.expression
    assert [c.alias_or_name for c in select.expressions] == [*GUIDE_COLUMNS, "payload"]
    payload = select.expressions[-1].this
    assert payload.sql(dialect="redshift").upper() == "JSON_PARSE(KAFKA_VALUE)"
    [source] = list(select.find_all(exp.Table))
    assert (source.db, source.name, source.this.quoted) == ("msk", "Click.Events-v1", True)
    assert select.args["where"].this.sql(dialect="redshift").upper() == (
        "CAN_JSON_PARSE(KAFKA_VALUE)")
    assert "AUTO REFRESH YES" in create[1] and not list(view.find_all(exp.Cast))
    assert create[2:] == ['GRANT USAGE ON SCHEMA "public" TO ROLE "analyst"',
                          'GRANT SELECT ON "public"."Click Events" TO ROLE "analyst"']
    assert ingestion.drop_sql == ['DROP MATERIALIZED VIEW IF EXISTS "public"."Click Events"',
                                  'DROP SCHEMA IF EXISTS "msk"']
    for sql in [*create, *ingestion.drop_sql]:
        _parses(sql)


@pytest.mark.parametrize("name", ["Order Lines", "select", 'we"ird', "Ünïcode"])
def test_names_from_props_come_back_as_the_same_quoted_identifiers(name):
    stack = new_stack()
    ingestion = _ingestion(stack, external_schema=name, view=name, view_schema=f"{name} v")
    create = _sql(stack, ingestion)
    view = _parses(create[1])
    assert (view.this.db, view.this.name) == (f"{name} v", name)
    [source] = list(view.expression.find_all(exp.Table))
    assert (source.db, source.name) == (name, "Click.Events-v1")
    assert source.args["db"].quoted and view.this.args["db"].quoted
    quoted = '"' + name.replace('"', '""') + '"'
    assert create[0].startswith(f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {quoted} FROM MSK ")


def test_the_role_is_attached_and_holds_the_guides_actions_on_the_cluster_and_topic_only():
    stack = new_stack()
    ingestion = _ingestion(stack)
    template = Template.from_stack(stack)
    [namespace] = template.find_resources("AWS::RedshiftServerless::Namespace").values()
    assert namespace["Properties"]["IamRoles"] == [stack.resolve(ingestion.role.role_arn)]
    template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
        "ConfigParameters": [{"ParameterKey": "enable_case_sensitive_identifier",
                              "ParameterValue": "true"}]})
    [policy] = [p for p in template.find_resources("AWS::IAM::Policy").values()
                if p["Properties"]["Roles"] == [{"Ref": stack.get_logical_id(
                    ingestion.role.node.default_child)}]]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    cluster_arn = {"Fn::GetAtt": [stack.get_logical_id(ingestion.cluster), "Arn"]}
    assert statements == [
        {"Sid": "ConnectToCluster", "Effect": "Allow", "Action": "kafka-cluster:Connect",
         "Resource": cluster_arn},
        {"Sid": "ReadTopic", "Effect": "Allow",
         "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
         "Resource": {"Fn::Join": ["", [
             "arn:", {"Ref": "AWS::Partition"}, ":kafka:", {"Ref": "AWS::Region"}, ":",
             {"Ref": "AWS::AccountId"}, ":topic/events/",
             {"Fn::Select": [2, {"Fn::Split": ["/", cluster_arn]}]}, "/Click.Events-v1"]]}},
    ]
    # The schema is created only once the role may read the topic.
    [runner] = template.find_resources("Custom::RedshiftSql").values()
    assert stack.get_logical_id(policy_child(ingestion)) in runner["DependsOn"]


def policy_child(ingestion: MskStreamingIngestion) -> Any:
    return ingestion.role.node.find_child("DefaultPolicy").node.default_child


@pytest.mark.parametrize("egress", [True, False])
def test_the_cluster_admits_the_workgroup_on_the_iam_port(egress):
    stack = new_stack()
    _ingestion(stack, egress=egress)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "GroupId": "sg-0c1a5e7c1a5e7c1a5", "SourceSecurityGroupId": "sg-0e0e0e0e0e0e0e0e0",
        "IpProtocol": "tcp", "FromPort": 9098, "ToPort": 9098})
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 1)
    # A workgroup group that restricts outbound traffic gets the matching egress rule.
    template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0 if egress else 1)
    if not egress:
        template.has_resource_properties("AWS::EC2::SecurityGroupEgress", {
            "GroupId": "sg-0e0e0e0e0e0e0e0e0", "DestinationSecurityGroupId": "sg-0c1a5e7c1a5e7c1a5",
            "IpProtocol": "tcp", "FromPort": 9098, "ToPort": 9098})


@pytest.mark.parametrize(("topic", "why"), [
    ("", "Kafka topic name"), (".", "'.' or '..'"), ("..", "'.' or '..'"),
    ("clicks/v1", "Kafka topic name"), ("clicks v1", "Kafka topic name"),
    ("clïcks", "Kafka topic name"), ("a" * 128, "127"), ("a" * 250, "249"),
])
def test_topic_names_kafka_or_redshift_would_refuse_are_refused(topic, why):
    with pytest.raises(ConfigurationError, match="topic") as raised:
        _ingestion(new_stack(), topic=topic)
    assert why in str(raised.value)


def test_a_topic_of_127_characters_with_every_legal_character_is_accepted():
    _ingestion(new_stack(), topic="A-z_0.9" + "x" * 120)


def test_every_problem_is_reported_together():
    stack = new_stack()
    group = ec2.SecurityGroup.from_security_group_id(stack, "Same", "sg-05a3e05a3e05a3e05")
    workgroup = redshift.CfnWorkgroup(stack, "Other", workgroup_name="o", namespace_name="o",
                                      config_parameters=[
                                          redshift.CfnWorkgroup.ConfigParameterProperty(
                                              parameter_key="enable_case_sensitive_identifier",
                                              parameter_value="false")])
    with pytest.raises(ConfigurationError) as raised:
        _ingestion(stack, workgroup=workgroup, cluster_security_group=group,
                   workgroup_security_group=group, view_schema="msk")
    message = str(raised.value)
    for prop in ("workgroup", "cluster_security_group", "view_schema"):
        assert f"{prop}:" in message


def test_a_workgroup_without_enhanced_vpc_routing_is_warned_about():
    stack = new_stack()
    workgroup = redshift.CfnWorkgroup(stack, "Plain", workgroup_name="plain",
                                      namespace_name="plain")
    _ingestion(stack, workgroup=workgroup)
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Streaming", Match.string_like_regexp("enhanced VPC routing is off"))
    for egress in (True, False):  # and no warning about a needless egress rule either
        quiet = new_stack()
        _ingestion(quiet, egress=egress)
        assert Annotations.from_stack(quiet).find_warning("*", Match.any_value()) == []


def test_a_workgroup_group_created_here_that_allows_all_outbound_gets_no_egress_warning():
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    _ingestion(stack, workgroup_security_group=ec2.SecurityGroup(stack, "Open", vpc=vpc),
               cluster_security_group=ec2.SecurityGroup(stack, "Kafka", vpc=vpc,
                                                        allow_all_outbound=False))
    assert Annotations.from_stack(stack).find_warning("*", Match.any_value()) == []
    Template.from_stack(stack).has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "IpProtocol": "tcp", "FromPort": 9098, "ToPort": 9098,
        "SourceSecurityGroupId": {"Fn::GetAtt": [Match.string_like_regexp("Open"), "GroupId"]},
        "GroupId": {"Fn::GetAtt": [Match.string_like_regexp("Kafka"), "GroupId"]}})
