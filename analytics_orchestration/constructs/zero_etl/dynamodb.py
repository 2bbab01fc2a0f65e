"""``DynamoDbToRedshift``: a DynamoDB table replicated into a Redshift database.

A zero-ETL integration (``AWS::Redshift::Integration`` whose source is the table) with
what AWS requires of each side ("Getting started with DynamoDB zero-ETL integrations",
Amazon Redshift Management Guide):

- the table: point-in-time recovery on, and a resource policy that lets
  ``redshift.amazonaws.com`` call ``ExportTableToPointInTime``, ``DescribeTable`` and
  ``DescribeExport`` for this account's integrations only;
- the namespace: a resource policy authorizing the table as an inbound source;
- the workgroup: ``enable_case_sensitive_identifier=true``;
- the target database: ``CREATE DATABASE <db> FROM INTEGRATION '<id>'`` through the SQL
  runner (it cannot run in a transaction), ``DROP DATABASE <db> FORCE`` on delete. The
  database is read-only: Redshift keeps it in step with the table.

Regions: cfn-lint 1.58.0's per-region schemas list ``AWS::Redshift::Integration`` in every
Region it checks, so the integration carries no cfn-lint exception
(``tests/stacks/test_region_support.py`` recomputes this; the README's region table is the
overview). DynamoDB zero-ETL itself is offered where AWS lists it.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Names, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshift as redshift_cluster
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation.validation import Items, ProblemCollector, Text, validated_props
from ..warehouse import RedshiftSqlRunner, RedshiftTarget
from ..warehouse.sql import quote_identifier, quote_literal
from ._common import (
    Identifier,
    authorize_inbound_integration,
    integration_id,
    require_case_sensitive_identifiers,
)

__all__ = ["DynamoDbToRedshift"]


@validated_props({"database": Identifier(),
                  "database_roles": Items(min_items=0, unique=True,
                                          each=Text(max_length=127))})
class DynamoDbToRedshift(Construct):
    """``table`` replicated into the Redshift database ``database``.

    :param table: the source table (a table of this stack: PITR and its resource policy
        are set on it).
    :param namespace: the target Redshift Serverless namespace (encrypted).
    :param workgroup: the namespace's workgroup (case-sensitive identifiers are turned on).
    :param target: where ``CREATE DATABASE`` runs (a database of ``workgroup``).
    :param database: the replicated database's name.
    :param encryption_key: encrypts the runner's logs. Default: the stack's shared key.
    :param database_roles: the runner's database roles (``CREATE DATABASE`` needs a
        superuser or CREATEDB). Default: ``["sys:superuser"]``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        target: RedshiftTarget,
        database: str,
        encryption_key: kms.IKey | None = None,
        database_roles: Sequence[str] = ("sys:superuser",),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"DynamoDbToRedshift {self.node.path}")
        try:
            require_case_sensitive_identifiers(workgroup)
        except ValueError as error:
            problems.add("workgroup", workgroup.node.path, str(error))
        cfn_table = table.node.default_child
        if not isinstance(cfn_table, dynamodb.CfnTable):
            problems.add("table", table.node.path, "must be a table of this app "
                         "(dynamodb.Table): PITR and its resource policy are set on it")
        problems.raise_if_any()
        assert isinstance(cfn_table, dynamodb.CfnTable)
        stack = Stack.of(self)
        cfn_table.point_in_time_recovery_specification = (
            dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True))
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack.format_arn(
                service="redshift", resource="integration", resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME)},
        }
        # A table's policy names the table as "*" (its own ARN would be a circular
        # reference); it covers the table's exports too.
        table.add_to_resource_policy(iam.PolicyStatement(
            sid="RedshiftZeroEtlExports",
            principals=[iam.ServicePrincipal("redshift.amazonaws.com")],
            actions=["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeTable",
                     "dynamodb:DescribeExport"],
            resources=["*"], conditions=conditions))
        authorize_inbound_integration(namespace, table.table_arn)
        self.integration = redshift_cluster.CfnIntegration(
            self, "Integration", source_arn=table.table_arn,
            target_arn=namespace.attr_namespace_namespace_arn,
            integration_name=Names.unique_resource_name(self, max_length=60, separator=""),
        )
        self.integration.node.add_dependency(workgroup)
        name = quote_identifier(database)
        self.create_sql = [f"CREATE DATABASE {name} FROM INTEGRATION "
                           f"{quote_literal(integration_id(self.integration.attr_integration_arn))}"]
        self.drop_sql = [f"DROP DATABASE {name} FORCE"]
        self.runner = RedshiftSqlRunner(
            self, "Sql", target=target, create_sql=self.create_sql, drop_sql=self.drop_sql,
            encryption_key=encryption_key, database_roles=database_roles,
        )
