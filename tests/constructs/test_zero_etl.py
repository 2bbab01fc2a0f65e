"""The zero-ETL constructs: their resources, policies, validation and the SQL they generate.

The SQL is rendered as CloudFormation would (tokens of the stream name, role ARN and
integration ARN replaced by deploy-time-like values) and parsed with sqlglot's Redshift
dialect: each statement is exactly one statement, and every name from props comes back
as the same quoted identifier, however odd (a reserved word, upper case, a quote).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_rds as rds
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk.assertions import Match, Template
from sqlglot import exp

from analytics_orchestration import (
    AuroraToRedshift,
    ConfigurationError,
    CopyFormat,
    DynamoDbToRedshift,
    KinesisStreamingIngestion,
    RedshiftTarget,
    S3AutoCopy,
    StreamingTable,
)
from analytics_orchestration import building_blocks as blocks
from stacks.zero_etl_stack import MERGE_SQL, WAREHOUSE_DDL, WAREHOUSE_DROP
from tests.support import new_stack, render_joined

ROLE_ARN = "arn:aws:iam::111111111111:role/Copy"
STREAM = "Zero-Stream-AbC1"
INTEGRATION = "arn:aws:redshift:us-east-1:111111111111:integration:0f1e2d3c-4b5a-6978-8a9b"
#: Statement kinds sqlglot does not model (it falls back to ``exp.Command``).
OPAQUE = ("CREATE EXTERNAL SCHEMA", "GRANT", "CREATE ROLE", "DROP ROLE")


def _warehouse(stack: Stack) -> tuple[redshift.CfnNamespace, redshift.CfnWorkgroup,
                                      RedshiftTarget]:
    namespace = redshift.CfnNamespace(stack, "Namespace", namespace_name="sales",
                                      kms_key_id="alias/warehouse")
    workgroup = redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="sales",
                                      namespace_name=namespace.namespace_name)
    return namespace, workgroup, RedshiftTarget.of_workgroup(workgroup, database="dev")


def _bucket(stack: Stack) -> Any:
    return blocks.secure_bucket(stack, "Landing", server_access_logs_bucket=(
        blocks.access_log_bucket(stack, "AccessLogs")), server_access_logs_prefix="landing/")


def _render(value: Any) -> str:
    """A resolved CloudFormation string as deployed (Refs and GetAtts given values)."""
    return render_joined(value, _deployed_value)


def _deployed_value(value: dict[str, Any]) -> str:
    if "Ref" in value:
        return STREAM
    if "Fn::GetAtt" in value:
        return ROLE_ARN
    if "Fn::Select" in value:
        return INTEGRATION.rsplit(":", 1)[1]
    raise AssertionError(f"unexpected intrinsic {value}")


def _sql(stack: Stack, statements: list[str]) -> list[str]:
    return [_render(stack.resolve(sql)) for sql in statements]


def _parse(sql: str) -> exp.Expression:
    trees = sqlglot.parse(sql, read="redshift")
    assert len(trees) == 1, f"not one statement: {sql}"
    assert trees[0] is not None
    return trees[0]


def _parses(sql: str) -> exp.Expression:
    tree = _parse(sql)
    if isinstance(tree, exp.Command):
        assert sql.startswith(OPAQUE), f"unexpectedly opaque: {sql}"
        assert sql.count('"') % 2 == 0 and sql.count("'") % 2 == 0
    return tree


def _auto_copy(stack: Stack, **overrides: Any) -> S3AutoCopy:
    namespace, _, target = _warehouse(stack)
    props: dict[str, Any] = {
        "bucket": _bucket(stack), "namespace": namespace,
        "target": target, "table": "orders", "job_name": "orders_copy",
        "columns": {"order_id": "VARCHAR(64) NOT NULL", "amount": "DECIMAL(18, 2)"},
        "key_prefix": "partners/", "ignore_header_rows": 1,
    }
    props.update(overrides)
    return S3AutoCopy(stack, "AutoCopy", **props)


# ------------------------------------------------------------------ S3 auto-copy
def test_auto_copy_integrates_the_bucket_into_the_namespace():
    stack = new_stack()
    copy = _auto_copy(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Redshift::Integration", {
        "SourceArn": {"Fn::GetAtt": [Match.string_like_regexp("Landing"), "Arn"]},
        "TargetArn": {"Fn::GetAtt": [Match.any_value(), "Namespace.NamespaceArn"]},
    })
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": ["s3:GetBucketLocation", "s3:GetBucketNotification",
                       "s3:PutBucketNotification"],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                          "ArnLike": {"aws:SourceArn": Match.any_value()}},
        })])}})
    namespace = template.find_resources("AWS::RedshiftServerless::Namespace")
    [props] = [r["Properties"] for r in namespace.values()]
    assert stack.resolve(copy.role.role_arn) in props["IamRoles"]
    actions = [s["Action"] for s in props["NamespaceResourcePolicy"]["Statement"]]
    assert actions == ["redshift:AuthorizeInboundIntegration",
                       "redshift:CreateInboundIntegration"]
    # The job runs only after the integration exists.
    [runner] = template.find_resources("Custom::RedshiftSql").values()
    assert stack.get_logical_id(copy.integration) in runner["DependsOn"]


def test_auto_copy_sql_creates_the_table_then_the_job_and_drops_them():
    stack = new_stack()
    copy = _auto_copy(stack)
    create = _sql(stack, copy.create_sql)
    assert create[1] == (
        'COPY "public"."orders" ("order_id", "amount") FROM \'s3://' + STREAM + "/partners/' "
        f"IAM_ROLE '{ROLE_ARN}' FORMAT AS CSV IGNOREHEADER 1 JOB CREATE orders_copy AUTO ON")
    table = _parses(create[0])
    assert isinstance(table, exp.Create) and table.args["kind"] == "TABLE"
    copy_tree = _parses(create[1])
    assert isinstance(copy_tree, exp.Copy)
    assert copy.drop_sql == ["COPY JOB DROP orders_copy", 'DROP TABLE IF EXISTS "public"."orders"']
    for sql in copy.drop_sql:
        _parses(sql)


@pytest.mark.parametrize("name", ["Order Lines", "select", 'we"ird', "Ünïcode"])
def test_auto_copy_quotes_the_names_it_is_given(name):
    stack = new_stack()
    copy = _auto_copy(stack, schema=name, table=name, columns={name: "INTEGER"})
    tree = _parses(_sql(stack, copy.create_sql)[0])
    [table] = [t for t in tree.find_all(exp.Table)]
    assert (table.db, table.name) == (name, name) and table.this.quoted
    assert name in {i.name for i in tree.find_all(exp.Identifier) if i.quoted}


@pytest.mark.parametrize("file_format, clause", [(CopyFormat.JSON, "FORMAT AS JSON 'auto'"),
                                                 (CopyFormat.PARQUET, "FORMAT AS PARQUET")])
def test_auto_copy_formats(file_format, clause):
    stack = new_stack()
    copy = _auto_copy(stack, file_format=file_format, ignore_header_rows=0)
    sql = _sql(stack, copy.create_sql)[1]
    assert f"{clause} JOB CREATE" in sql
    assert isinstance(_parses(sql), exp.Copy)


@pytest.mark.parametrize("overrides, prop", [
    ({"job_name": "orders-copy"}, "job_name"),
    ({"job_name": "1job"}, "job_name"),
    ({"columns": {"a": "INT); DROP TABLE users; --"}}, "columns"),
    ({"columns": {}}, "columns"),
    ({"columns": {"": "INT"}}, "columns"),
    ({"table": "x" * 128}, "table"),
    ({"file_format": CopyFormat.PARQUET}, "ignore_header_rows"),
    ({"key_prefix": "/partners/"}, "key_prefix"),
])
def test_auto_copy_refuses_what_redshift_would_refuse(overrides, prop):
    with pytest.raises(ConfigurationError, match=prop):
        _auto_copy(new_stack(), **overrides)


# ------------------------------------------------------------------ streaming ingestion
def _streaming(stack: Stack, **overrides: Any) -> KinesisStreamingIngestion:
    namespace, workgroup, target = _warehouse(stack)
    props: dict[str, Any] = {
        "stream": kinesis.Stream(stack, "Stream", encryption=kinesis.StreamEncryption.MANAGED),
        "namespace": namespace, "workgroup": workgroup, "target": target,
        "external_schema": "kinesis", "view": "Click Events", "grant_select_to": ["analyst"],
    }
    props.update(overrides)
    return KinesisStreamingIngestion(stack, "Streaming", **props)


def test_streaming_ingestion_attaches_a_stream_reading_role_and_turns_on_case_sensitivity():
    stack = new_stack()
    ingestion = _streaming(stack)
    template = Template.from_stack(stack)
    [namespace] = template.find_resources("AWS::RedshiftServerless::Namespace").values()
    assert namespace["Properties"]["IamRoles"] == [stack.resolve(ingestion.role.role_arn)]
    template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
        "ConfigParameters": [{"ParameterKey": "enable_case_sensitive_identifier",
                              "ParameterValue": "true"}]})
    template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Action": Match.array_with(["kinesis:GetRecords", "kinesis:GetShardIterator"]),
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("Stream"), "Arn"]}})])}})


def test_streaming_ingestion_sql_keeps_the_payload_as_super_and_grants_the_readers():
    stack = new_stack()
    ingestion = _streaming(stack)
    create = _sql(stack, ingestion.create_sql)
    assert create[0] == f"CREATE EXTERNAL SCHEMA IF NOT EXISTS \"kinesis\" FROM KINESIS " \
                        f"IAM_ROLE '{ROLE_ARN}'"
    view = _parses(create[1])
    assert isinstance(view, exp.Create) and view.args["kind"] == "VIEW"
    assert (view.this.db, view.this.name) == ("public", "Click Events")
    [source] = [t for t in view.find_all(exp.Table) if t.db == "kinesis"]
    assert source.name == STREAM and source.this.quoted
    # The payload is JSON_PARSE'd (SUPER) and never cast inside the streaming view.
    assert "AUTO REFRESH YES" in create[1] and "JSON_PARSE(kinesis_data) AS payload" in create[1]
    assert not list(view.find_all(exp.Cast))
    assert create[2:] == ['GRANT USAGE ON SCHEMA "public" TO ROLE "analyst"',
                          'GRANT SELECT ON "public"."Click Events" TO ROLE "analyst"']
    for sql in [*create, *ingestion.drop_sql]:
        _parses(sql)
    assert ingestion.drop_sql == ['DROP MATERIALIZED VIEW IF EXISTS "public"."Click Events"',
                                  'DROP SCHEMA IF EXISTS "kinesis"']


def test_streaming_ingestion_refuses_a_case_insensitive_workgroup_and_bad_names():
    stack = new_stack()
    namespace, workgroup, target = _warehouse(stack)
    workgroup.config_parameters = [redshift.CfnWorkgroup.ConfigParameterProperty(
        parameter_key="enable_case_sensitive_identifier", parameter_value="false")]
    with pytest.raises(ConfigurationError, match="workgroup"):
        KinesisStreamingIngestion(stack, "S", stream=kinesis.Stream(stack, "Stream"),
                                  namespace=namespace, workgroup=workgroup, target=target,
                                  external_schema="k", view="v")
    with pytest.raises(ConfigurationError, match="grant_select_to"):
        _streaming(new_stack(), grant_select_to=["a\nb"])


# ------------------------------------------------------------------ DynamoDB
def _dynamodb(stack: Stack, **overrides: Any) -> DynamoDbToRedshift:
    namespace, workgroup, target = _warehouse(stack)
    props: dict[str, Any] = {
        "table": StreamingTable(stack, "Orders", partition_key="order_id").table,
        "namespace": namespace, "workgroup": workgroup, "target": target,
        "database": "Orders Replica",
    }
    props.update(overrides)
    return DynamoDbToRedshift(stack, "Replica", **props)


def test_dynamodb_table_gets_pitr_and_the_policy_redshift_needs():
    stack = new_stack()
    _dynamodb(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "ResourcePolicy": {"PolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": ["dynamodb:DescribeExport", "dynamodb:DescribeTable",
                       "dynamodb:ExportTableToPointInTime"],
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                          "ArnLike": {"aws:SourceArn": Match.any_value()}}})]}},
    })
    template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
        "ConfigParameters": [{"ParameterKey": "enable_case_sensitive_identifier",
                              "ParameterValue": "true"}]})
    [namespace] = template.find_resources("AWS::RedshiftServerless::Namespace").values()
    [authorize, create] = namespace["Properties"]["NamespaceResourcePolicy"]["Statement"]
    source = authorize["Condition"]["StringEquals"]["aws:SourceArn"]["Fn::GetAtt"]
    assert source[0].startswith("Orders") and source[1] == "Arn"
    assert authorize["Principal"] == {"Service": "redshift.amazonaws.com"}
    assert create["Action"] == "redshift:CreateInboundIntegration"
    assert set(create["Principal"]) == {"AWS"}


def test_dynamodb_creates_the_database_from_the_integration_outside_a_transaction():
    stack = new_stack()
    replica = _dynamodb(stack)
    [create] = _sql(stack, replica.create_sql)
    assert create == ('CREATE DATABASE "Orders Replica" FROM INTEGRATION '
                      f"'{INTEGRATION.rsplit(':', 1)[1]}'")
    tree = _parses(create)
    assert isinstance(tree, exp.Create) and tree.args["kind"] == "DATABASE"
    assert replica.drop_sql == ['DROP DATABASE "Orders Replica" FORCE']
    _parses(replica.drop_sql[0])


def test_two_integrations_share_one_namespace_policy():
    stack = new_stack()
    namespace, workgroup, target = _warehouse(stack)
    S3AutoCopy(stack, "Copy", bucket=_bucket(stack),
               namespace=namespace, target=target, table="t", columns={"a": "INT"},
               job_name="j")
    DynamoDbToRedshift(stack, "Replica", table=StreamingTable(stack, "T",
                                                               partition_key="k").table,
                       namespace=namespace, workgroup=workgroup, target=target, database="r")
    policy = stack.resolve(namespace.namespace_resource_policy)
    actions = [s["Action"] for s in policy["Statement"]]
    assert actions.count("redshift:CreateInboundIntegration") == 1
    assert actions.count("redshift:AuthorizeInboundIntegration") == 2
    assert len({s["Sid"] for s in policy["Statement"]}) == 3


# ------------------------------------------------------------------ the example's SQL
@pytest.mark.parametrize("sql", [*WAREHOUSE_DDL, *WAREHOUSE_DROP, *MERGE_SQL])
def test_the_zero_etl_examples_sql_parses(sql):
    tree = _parses(sql)
    if not isinstance(tree, exp.Command):
        assert _parse(tree.sql(dialect="redshift")) == tree


def test_the_example_merge_upserts_the_landed_orders():
    merge = _parses(MERGE_SQL[0])
    assert isinstance(merge, exp.Merge)
    assert (merge.this.db, merge.this.name) == ("warehouse", "partner_orders")
    assert {i.name for i in merge.find_all(exp.Identifier) if not i.quoted} == {"s"}


# ------------------------------------------------------------------ Aurora
def _aurora(stack: Stack, **overrides: Any) -> AuroraToRedshift:
    namespace, workgroup, target = _warehouse(stack)
    props: dict[str, Any] = {
        "namespace": namespace, "workgroup": workgroup, "target": target,
        "database": "Orders Replica", "source_database": "orders",
        "vpc": blocks.private_vpc(stack, "Vpc"),
        "encryption_key": blocks.secure_key(stack, "Key", description="k"),
    }
    props.update(overrides)
    return AuroraToRedshift(stack, "Aurora", **props)


_MYSQL = rds.DatabaseClusterEngine.aurora_mysql(version=rds.AuroraMysqlEngineVersion.VER_3_05_2)


@pytest.mark.parametrize("engine, expected", [
    (None, {"rds.logical_replication": "1", "aurora.enhanced_logical_replication": "1",
            "aurora.logical_replication_backup": "0",
            "aurora.logical_replication_globaldb": "0", "rds.force_ssl": "1"}),
    (_MYSQL, {"aurora_enhanced_binlog": "1", "binlog_backup": "0", "binlog_format": "ROW",
              "binlog_replication_globaldb": "0", "binlog_row_image": "full",
              "binlog_row_metadata": "full", "require_secure_transport": "ON"}),
])
def test_aurora_parameter_group_holds_exactly_what_the_engine_needs(engine, expected):
    stack = new_stack()
    _aurora(stack, engine=engine, source_database=None if engine else "orders")
    template = Template.from_stack(stack)
    [group] = template.find_resources("AWS::RDS::DBClusterParameterGroup").values()
    assert group["Properties"]["Parameters"] == expected
    assert group["Properties"]["Family"] == ("aurora-mysql8.0" if engine else "aurora-postgresql16")


def test_aurora_cluster_is_serverless_v2_private_encrypted_and_protected():
    stack = new_stack()
    aurora = _aurora(stack)
    template = Template.from_stack(stack)
    key = {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]}
    template.has_resource_properties("AWS::RDS::DBCluster", {
        "Engine": "aurora-postgresql", "EngineVersion": "16.13", "DatabaseName": "orders",
        "StorageEncrypted": True, "KmsKeyId": key, "ManageMasterUserPassword": True,
        "MasterUserSecret": {"KmsKeyId": key}, "MasterUserPassword": Match.absent(),
        "EnableIAMDatabaseAuthentication": True, "DeletionProtection": True,
        "BackupRetentionPeriod": 7, "EnableCloudwatchLogsExports": ["postgresql"],
        "PerformanceInsightsEnabled": True, "PerformanceInsightsKmsKeyId": key,
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
    })
    template.has_resource_properties("AWS::RDS::DBInstance", {
        "DBInstanceClass": "db.serverless", "PubliclyAccessible": False,
        "MonitoringInterval": 60, "AutoMinorVersionUpgrade": True})
    [subnets] = template.find_resources("AWS::RDS::DBSubnetGroup").values()
    isolated = [stack.resolve(s.subnet_id) for s in aurora.cluster.vpc.isolated_subnets]
    assert subnets["Properties"]["SubnetIds"] == isolated and len(isolated) == 2
    [group] = [g for g in template.find_resources("AWS::EC2::SecurityGroup").values()
               if "Aurora" in g["Properties"]["GroupDescription"]]
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"
    # The cluster is in the stack's AWS Backup plan.
    template.has_resource_properties("AWS::Backup::BackupSelection", {"BackupSelection": {
        "Resources": [Match.object_like({"Fn::Join": ["", Match.array_with([":cluster:"])]})]}})


def test_aurora_integration_authorized_by_the_namespace_and_ordered_after_its_parts():
    stack = new_stack()
    aurora = _aurora(stack, data_filter="include: orders.*.*")
    template = Template.from_stack(stack)
    [integration] = template.find_resources("AWS::RDS::Integration").values()
    cluster_arn = stack.resolve(aurora.cluster.cluster_arn)
    assert integration["Properties"]["SourceArn"] == cluster_arn
    assert integration["Properties"]["TargetArn"] == {
        "Fn::GetAtt": ["Namespace", "Namespace.NamespaceArn"]}
    assert integration["Properties"]["DataFilter"] == "include: orders.*.*"
    writer = stack.resolve(aurora.cluster.node.find_child("Writer").node.default_child.logical_id)
    # Only what it does not reference already (cfn-lint W3005): the writer, the workgroup.
    assert sorted(integration["DependsOn"]) == sorted(["Workgroup", writer])
    # cfn-lint's E3006 is ignored on the integration alone (not in every Region's schema).
    assert integration["Metadata"] == {"cfn-lint": {"config": {"ignore_checks": ["E3006"]}}}
    assert [r for r in template.to_json()["Resources"].values()
            if "cfn-lint" in r.get("Metadata", {})] == [integration]
    [namespace] = template.find_resources("AWS::RedshiftServerless::Namespace").values()
    [authorize, _] = namespace["Properties"]["NamespaceResourcePolicy"]["Statement"]
    assert authorize["Condition"] == {"StringEquals": {"aws:SourceArn": cluster_arn}}
    template.has_resource_properties("AWS::RedshiftServerless::Workgroup", {
        "ConfigParameters": [{"ParameterKey": "enable_case_sensitive_identifier",
                              "ParameterValue": "true"}]})
    # The runner references the integration's ARN: it runs only once the integration exists.
    [runner] = template.find_resources("Custom::RedshiftSql").values()
    integration_id = stack.resolve(aurora.integration.logical_id)
    assert f"'{integration_id}', 'IntegrationArn'" in str(runner["Properties"]["CreateSql"])


@pytest.mark.parametrize("name", ["Order Lines", "select", 'we"ird', "Ünïcode"])
def test_aurora_sql_names_the_integration_and_quotes_both_databases(name):
    stack = new_stack()
    aurora = _aurora(stack, database=name, cluster=_brought(stack), vpc=None,
                     engine=rds.DatabaseClusterEngine.aurora_postgres(
                         version=rds.AuroraPostgresEngineVersion.VER_16_4),
                     source_database=name)
    [create] = _sql(stack, aurora.create_sql)
    quoted = '"' + name.replace('"', '""') + '"'
    assert create == (f"CREATE DATABASE {quoted} FROM INTEGRATION "
                      f"'{INTEGRATION.rsplit(':', 1)[1]}' DATABASE {quoted}")
    # sqlglot does not model the DATABASE clause (one opaque statement): its tokenizer
    # proves both names are single quoted identifiers and the id one string literal.
    _parse(create)
    tokens = [(t.token_type.name, t.text) for t in sqlglot.tokenize(create, read="redshift")]
    assert tokens == [("CREATE", "CREATE"), ("DATABASE", "DATABASE"), ("IDENTIFIER", name),
                      ("FROM", "FROM"), ("VAR", "INTEGRATION"),
                      ("STRING", INTEGRATION.rsplit(":", 1)[1]), ("DATABASE", "DATABASE"),
                      ("IDENTIFIER", name)]
    assert aurora.drop_sql == [f"DROP DATABASE {quoted} FORCE"]
    drop = _parses(aurora.drop_sql[0])
    assert isinstance(drop, exp.Drop)
    assert [i.name for i in drop.find_all(exp.Identifier) if i.quoted] == [name]


def test_aurora_mysql_sql_has_no_source_database():
    stack = new_stack()
    aurora = _aurora(stack, engine=_MYSQL, source_database=None)
    [create] = _sql(stack, aurora.create_sql)
    tree = _parses(create)
    assert isinstance(tree, exp.Create) and tree.args["kind"] == "DATABASE"
    assert not create.endswith('"') and " DATABASE " not in create.split("INTEGRATION")[1]


def _brought(stack: Stack) -> rds.IDatabaseCluster:
    return rds.DatabaseCluster.from_database_cluster_attributes(
        stack, "Brought", cluster_identifier="orders-cluster")


def test_aurora_brings_a_cluster_without_creating_one():
    stack = new_stack()
    aurora = _aurora(stack, cluster=_brought(stack), vpc=None, engine=rds.DatabaseClusterEngine
                     .aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_4))
    template = Template.from_stack(stack)
    for kind in ("AWS::RDS::DBCluster", "AWS::RDS::DBClusterParameterGroup",
                 "AWS::RDS::DBInstance"):
        template.resource_count_is(kind, 0)
    assert aurora.parameter_group is None
    [integration] = template.find_resources("AWS::RDS::Integration").values()
    assert ":cluster:orders-cluster" in str(integration["Properties"]["SourceArn"])


@pytest.mark.parametrize("overrides, prop, words", [
    ({"engine": rds.DatabaseClusterEngine.aurora_postgres(
        version=rds.AuroraPostgresEngineVersion.VER_16_3)}, "engine", "16.4 or later"),
    ({"engine": rds.DatabaseClusterEngine.aurora_postgres(
        version=rds.AuroraPostgresEngineVersion.VER_16_4_LIMITLESS)}, "engine", "Limitless"),
    ({"engine": rds.DatabaseClusterEngine.aurora_mysql(
        version=rds.AuroraMysqlEngineVersion.VER_3_05_1), "source_database": None},
     "engine", "3.05.2 or later"),
    ({"engine": rds.DatabaseClusterEngine.AURORA_POSTGRESQL}, "engine", "version"),
    ({"source_database": None}, "source_database", "name it"),
    ({"engine": _MYSQL}, "source_database", "only for PostgreSQL"),
    ({"source_database": "1orders"}, "source_database", "a letter"),
    ({"database": "a\nb"}, "database", "control characters"),
    ({"vpc": None}, "vpc", "ServerlessAnalytics.vpc"),
    ({"min_capacity": 8, "max_capacity": 4}, "max_capacity", "at least min_capacity"),
    ({"min_capacity": 0.75}, "min_capacity", "multiple of 0.5"),
    ({"max_capacity": 300}, "max_capacity", "0.5 to 256"),
    ({"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)}, "vpc_subnets",
     "private subnets only"),
])
def test_aurora_refuses_what_aws_would_refuse(overrides, prop, words):
    with pytest.raises(ConfigurationError, match=prop) as raised:
        _aurora(new_stack(), **overrides)
    assert len(raised.value.problems) == 1 and words in raised.value.problems[0]


def test_aurora_refuses_a_brought_cluster_with_creation_props_and_a_foreign_target():
    stack = new_stack()
    namespace, workgroup, _ = _warehouse(stack)
    other = redshift.CfnWorkgroup(stack, "Other", workgroup_name="other",
                                  namespace_name="elsewhere")
    with pytest.raises(ConfigurationError) as raised:
        AuroraToRedshift(stack, "A", namespace=namespace, workgroup=other,
                         target=RedshiftTarget.of_workgroup(workgroup, database="dev"),
                         database="r", source_database="orders", cluster=_brought(stack),
                         vpc=blocks.private_vpc(stack, "Vpc"), min_capacity=1)
    text = "\n".join(raised.value.problems)
    assert [p.split(":")[0] for p in raised.value.problems] == [
        "engine", "vpc", "min_capacity", "target", "workgroup"], text
