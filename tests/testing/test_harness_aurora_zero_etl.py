"""The harness's Aurora side (``services.rds``) and its Aurora zero-ETL checks.

Each case is a fact from AWS's documentation, written into a hand-made template, not
from the library's constructs: the settings "Configure DB cluster parameters" (Getting
started with Aurora zero-ETL integrations, Amazon Aurora User Guide) requires, the
versions of "Supported Regions and Aurora DB engines for zero-ETL integrations", and the
target's authorization and case sensitivity ("Troubleshooting zero-ETL integrations",
Amazon Redshift Management Guide: "Creation of the integration failed").
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.services.rds import RdsError
from analytics_orchestration.testing.services.redshift_data import IntegrationRefused

SOURCE = {"Fn::GetAtt": ["Cluster", "DBClusterArn"]}
POSTGRES = {"rds.logical_replication": "1", "aurora.enhanced_logical_replication": "1",
            "aurora.logical_replication_backup": "0",
            "aurora.logical_replication_globaldb": "0"}
MYSQL = {"aurora_enhanced_binlog": "1", "binlog_backup": "0", "binlog_format": "ROW",
         "binlog_replication_globaldb": "0", "binlog_row_image": "full",
         "binlog_row_metadata": "full"}


def _template(engine: str = "aurora-postgresql", version: str = "16.4",
              family: str = "aurora-postgresql16",
              parameters: dict[str, str] | None = None) -> dict[str, Any]:
    return {"Resources": {
        "Params": {"Type": "AWS::RDS::DBClusterParameterGroup", "Properties": {
            "Family": family, "Description": "zero-ETL",
            "Parameters": POSTGRES if parameters is None else parameters}},
        "Subnets": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": "private", "SubnetIds": ["subnet-1", "subnet-2"]}},
        "Cluster": {"Type": "AWS::RDS::DBCluster", "Properties": {
            "Engine": engine, "EngineVersion": version, "MasterUsername": "admin_user",
            "ManageMasterUserPassword": True, "StorageEncrypted": True,
            "DBClusterParameterGroupName": {"Ref": "Params"},
            "DBSubnetGroupName": {"Ref": "Subnets"},
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 2}}},
        "Writer": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "DBClusterIdentifier": {"Ref": "Cluster"}, "DBInstanceClass": "db.serverless",
            "Engine": engine}},
        "Namespace": {"Type": "AWS::RedshiftServerless::Namespace", "Properties": {
            "NamespaceName": "sales", "NamespaceResourcePolicy": {"Statement": [
                {"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"},
                 "Action": "redshift:AuthorizeInboundIntegration", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceArn": SOURCE}}}]}}},
        "Workgroup": {"Type": "AWS::RedshiftServerless::Workgroup", "Properties": {
            "WorkgroupName": "sales", "NamespaceName": "sales", "ConfigParameters": [
                {"ParameterKey": "enable_case_sensitive_identifier",
                 "ParameterValue": "true"}]}},
        "Integration": {"Type": "AWS::RDS::Integration", "DependsOn": ["Writer", "Workgroup"],
                        "Properties": {"SourceArn": SOURCE, "TargetArn": {
                            "Fn::GetAtt": ["Namespace", "Namespace.NamespaceArn"]}}},
    }}


@pytest.fixture
def aws():
    with OfflineAws() as harness:
        yield harness


def test_a_well_configured_cluster_integrates_and_lives_in_moto(aws):
    aws.deploy(template=_template())
    [integration] = aws.redshift_data.integrations.values()
    cluster = aws.client("rds").describe_db_clusters()["DBClusters"][0]
    assert integration["SourceArn"] == cluster["DBClusterArn"]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("aurora-postgresql", "16.4")
    # RDS manages the master secret: the template holds no password, the cluster a secret.
    assert cluster["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:")
    assert aws.resource("Cluster").attributes["MasterUserSecret.SecretArn"] == (
        cluster["MasterUserSecret"]["SecretArn"])
    [member] = cluster["DBClusterMembers"]
    assert member["DBInstanceIdentifier"] == aws.resource("Writer").physical_id


def test_mysql_with_its_binlog_settings_integrates(aws):
    aws.deploy(template=_template("aurora-mysql", "8.0.mysql_aurora.3.05.2", "aurora-mysql8.0",
                                  MYSQL))
    assert len(aws.redshift_data.integrations) == 1


@pytest.mark.parametrize("missing", sorted(POSTGRES))
def test_each_missing_postgres_parameter_refuses_the_integration(aws, missing):
    parameters = {k: v for k, v in POSTGRES.items() if k != missing}
    with pytest.raises(IntegrationRefused, match=f"cluster parameter {missing} "):
        aws.deploy(template=_template(parameters=parameters))


@pytest.mark.parametrize("name", sorted(MYSQL))
def test_each_wrong_mysql_parameter_refuses_the_integration(aws, name):
    parameters = {**MYSQL, name: "2"}
    with pytest.raises(IntegrationRefused, match=f"cluster parameter {name} "):
        aws.deploy(template=_template("aurora-mysql", "8.0.mysql_aurora.3.05.2",
                                      "aurora-mysql8.0", parameters))


@pytest.mark.parametrize("engine, version, family", [
    ("aurora-postgresql", "16.3", "aurora-postgresql16"),
    ("aurora-postgresql", "15.8", "aurora-postgresql15"),
    ("aurora-mysql", "8.0.mysql_aurora.3.05.1", "aurora-mysql8.0"),
])
def test_an_unsupported_engine_version_refuses_the_integration(aws, engine, version, family):
    parameters = POSTGRES if engine == "aurora-postgresql" else MYSQL
    with pytest.raises(IntegrationRefused, match="not a zero-ETL source version"):
        aws.deploy(template=_template(engine, version, family, parameters))


def test_an_unauthorized_source_or_case_insensitive_target_refuses_it(aws):
    template = _template()
    namespace = template["Resources"]["Namespace"]["Properties"]
    namespace["NamespaceResourcePolicy"] = {"Statement": []}
    template["Resources"]["Workgroup"]["Properties"]["ConfigParameters"] = []
    with pytest.raises(IntegrationRefused) as raised:
        aws.deploy(template=template)
    assert "does not let redshift.amazonaws.com AuthorizeInboundIntegration" in str(
        raised.value)
    assert "enable_case_sensitive_identifier=true" in str(raised.value)


def test_a_subnet_group_of_one_subnet_is_refused(aws):
    template = copy.deepcopy(_template())
    template["Resources"]["Subnets"]["Properties"]["SubnetIds"] = ["subnet-1"]
    with pytest.raises(RdsError, match="DBSubnetGroupDoesNotCoverEnoughAZs"):
        aws.deploy(template=template)
