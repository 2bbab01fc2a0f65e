"""The zero-ETL example stack deployed, updated and deleted on the offline harness.

The harness records the integrations (it does not replicate: no row reaches a database);
what runs for real is every ``RedshiftSqlRunner`` (the bundled handlers, as their IAM
roles, against the emulated Data API) and the MERGE workflow. Proved here: the order of
the statements on create (the warehouse's schemas first, then each construct's SQL, the
integration's id in ``CREATE DATABASE``), that an unchanged update runs nothing, the drop
SQL in reverse order on delete, and the workflow's MERGE after ingestion.
"""

from __future__ import annotations

import pytest

from stacks.zero_etl_stack import (
    CARTS_DATABASE,
    COPY_JOB,
    MERGE_SQL,
    ORDERS_DATABASE,
    REPLICA_DATABASE,
    WAREHOUSE_DDL,
    WAREHOUSE_DROP,
)

STACK = "AnalyticsZeroEtl"
RUNNERS = ("WarehouseSchema", "PartnerOrders/Sql", "ClickstreamView/Sql", "OrdersDatabase/Sql",
           "CartsReplica/Sql")


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _integration_sources(aws) -> dict[str, str]:
    """Integration ARN -> the source's resource type."""
    sources = {}
    for arn, props in aws.redshift_data.integrations.items():
        sources[arn] = props["SourceArn"].split(":")[2]
    return sources


def test_create_runs_the_warehouse_ddl_first_then_each_zero_etl_constructs_sql(aws):
    sql = aws.redshift_data.sql_run()
    assert sql[:len(WAREHOUSE_DDL)] == WAREHOUSE_DDL
    rest = sql[len(WAREHOUSE_DDL):]
    copy = [s for s in rest if s.startswith("COPY ")]
    [job] = copy
    assert f"JOB CREATE {COPY_JOB} AUTO ON" in job
    assert "IAM_ROLE 'arn:aws:iam::" in job and "FORMAT AS CSV IGNOREHEADER 1" in job
    # Each construct's table / schema comes before what uses it.
    assert rest.index('CREATE TABLE IF NOT EXISTS "partner"."orders_landing" ('
                      '"order_id" VARCHAR(64) NOT NULL, "partner_id" VARCHAR(32) NOT NULL, '
                      '"order_date" DATE, "amount" DECIMAL(18, 2))') < rest.index(job)
    schema = next(s for s in rest if s.startswith('CREATE EXTERNAL SCHEMA IF NOT EXISTS "kinesis"'))
    view = next(s for s in rest if s.startswith('CREATE MATERIALIZED VIEW "clickstream"."events"'))
    assert rest.index(schema) < rest.index(view)
    assert "JSON_PARSE(kinesis_data) AS payload" in view
    # The deployed stream's name, quoted, is the view's source.
    stream_name = aws.resource("Clickstream/Resource").physical_id
    assert f'FROM "kinesis"."{stream_name}"' in view
    # CREATE DATABASE names the deployed DynamoDB integration's id.
    [dynamo_arn] = [a for a, kind in _integration_sources(aws).items() if kind == "dynamodb"]
    assert (f'CREATE DATABASE "{CARTS_DATABASE}" FROM INTEGRATION '
            f"'{dynamo_arn.rsplit(':', 1)[1]}'") in rest
    # ... and the Aurora one's, with the source PostgreSQL database.
    [aurora_arn] = [a for a, kind in _integration_sources(aws).items() if kind == "rds"]
    assert (f'CREATE DATABASE "{REPLICA_DATABASE}" FROM INTEGRATION '
            f"'{aurora_arn.rsplit(':', 1)[1]}' DATABASE \"{ORDERS_DATABASE}\"") in rest
    # No statement was batched (none of these may run in a transaction).
    assert not any(s.batch for s in aws.redshift_data.statements)
    assert aws.iam_denials() == []
    assert [r.request_type for r in aws.custom_resource_requests] == ["Create"] * len(RUNNERS)


def test_the_integrations_target_the_namespace_and_their_sources_are_authorized(aws):
    sources = _integration_sources(aws)
    assert sorted(sources.values()) == ["dynamodb", "rds", "s3"]
    namespace = aws.resource("Warehouse/Redshift/Namespace")
    policy = namespace.properties["NamespaceResourcePolicy"]
    authorized = {s["Condition"]["StringEquals"]["aws:SourceArn"] for s in policy["Statement"]
                  if s["Action"] == "redshift:AuthorizeInboundIntegration"}
    assert authorized == {p["SourceArn"] for p in aws.redshift_data.integrations.values()}
    assert {p["TargetArn"] for p in aws.redshift_data.integrations.values()} == {
        namespace.attributes["Namespace.NamespaceArn"]}


def test_an_unchanged_update_runs_nothing_and_delete_drops_in_reverse(aws, example_stack):
    created = len(aws.redshift_data.sql_run())
    aws.update(example_stack(STACK))
    assert len(aws.redshift_data.sql_run()) == created
    aws.destroy(STACK)
    dropped = aws.redshift_data.sql_run()[created:]
    # Resources are deleted in reverse creation order: the warehouse DDL's drop SQL last.
    assert dropped[-len(WAREHOUSE_DROP):] == WAREHOUSE_DROP
    assert f'DROP DATABASE "{REPLICA_DATABASE}" FORCE' in dropped
    assert f'DROP DATABASE "{CARTS_DATABASE}" FORCE' in dropped
    assert dropped.index(f"COPY JOB DROP {COPY_JOB}") < dropped.index(
        'DROP TABLE IF EXISTS "partner"."orders_landing"')
    assert dropped.index('DROP MATERIALIZED VIEW IF EXISTS "clickstream"."events"') < (
        dropped.index('DROP SCHEMA IF EXISTS "kinesis"'))
    assert [r.request_type for r in aws.custom_resource_requests][-len(RUNNERS):] == [
        "Delete"] * len(RUNNERS)


def test_the_workflow_merges_the_landed_orders_in_one_transaction(aws):
    before = len(aws.redshift_data.statements)
    execution = aws.wait_for_execution(aws.start_execution(
        "PartnerMerge/StateMachine", {"trigger": "schedule"}), timeout=600)
    assert execution.status == "SUCCEEDED"
    [batch] = aws.redshift_data.statements[before:]
    assert batch.batch and batch.sqls == MERGE_SQL
    assert batch.sqls[0].startswith('MERGE INTO "warehouse"."partner_orders" USING '
                                    '"partner"."orders_landing" AS s ON ')
    [row] = aws.table_items("PartnerMerge/Ledger")
    assert row["status"] == "SUCCEEDED"


def test_the_orders_cluster_runs_in_the_warehouse_vpc_with_the_integrations_settings(aws):
    cluster_id = aws.resource("OrdersDatabase/Cluster/Resource").physical_id
    [cluster] = aws.client("rds").describe_db_clusters(
        DBClusterIdentifier=cluster_id)["DBClusters"]
    assert cluster["Engine"] == "aurora-postgresql" and cluster["StorageEncrypted"]
    assert cluster["DatabaseName"] == ORDERS_DATABASE
    assert cluster["IAMDatabaseAuthenticationEnabled"]
    parameters = aws.client("rds").describe_db_cluster_parameters(
        DBClusterParameterGroupName=cluster["DBClusterParameterGroup"])["Parameters"]
    values = {p["ParameterName"]: p["ParameterValue"] for p in parameters}
    assert values["rds.logical_replication"] == "1"
    assert values["aurora.enhanced_logical_replication"] == "1"
    subnets = aws.resource("OrdersDatabase/Cluster/Subnets/Default").properties["SubnetIds"]
    warehouse = {r.physical_id for r in aws.resources if r.resource_type == "AWS::EC2::Subnet"
                 and (r.path or "").startswith("AnalyticsZeroEtl/Warehouse/Vpc/")}
    assert set(subnets) <= warehouse and len(subnets) == 3
    [rds_arn] = [a for a, kind in _integration_sources(aws).items() if kind == "rds"]
    assert aws.redshift_data.integrations[rds_arn]["SourceArn"] == cluster["DBClusterArn"]
