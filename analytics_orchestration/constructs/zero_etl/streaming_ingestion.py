"""``KinesisStreamingIngestion``: a Kinesis stream queryable in Redshift within seconds.

Redshift streaming ingestion has no CloudFormation resource: an IAM role that reads the
stream, attached to the namespace, and SQL (Amazon Redshift Database Developer Guide,
"Streaming ingestion to a materialized view"; the steps shared with MSK are in
:mod:`._streaming`):

- ``CREATE EXTERNAL SCHEMA <s> FROM KINESIS IAM_ROLE '<arn>'`` maps the account's streams;
- ``CREATE MATERIALIZED VIEW ... AUTO REFRESH YES AS SELECT ..., JSON_PARSE(kinesis_data)
  AS payload FROM <s>."<stream>" WHERE CAN_JSON_PARSE(kinesis_data)``: the record's
  metadata columns and its payload as SUPER;
- ``GRANT USAGE`` on the view's schema and ``SELECT`` on the view to the reading roles.

Regions: streaming ingestion is SQL, not a CloudFormation resource type, so no cfn-lint
exception applies; it runs wherever Redshift Serverless and Kinesis Data Streams do.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation import acknowledge
from .._foundation.validation import ProblemCollector, validated_props
from ..warehouse import RedshiftTarget
from ..warehouse.sql import quote_literal
from ._streaming import VIEW_RULES, StreamingIngestionBase

__all__ = ["KinesisStreamingIngestion"]

#: The columns a Kinesis streaming view selects besides the payload.
METADATA_COLUMNS = ("approximate_arrival_timestamp", "partition_key", "shard_id",
                    "sequence_number", "refresh_time")
#: The column holding a Kinesis record's data (VARBYTE).
VALUE_COLUMN = "kinesis_data"


@validated_props(VIEW_RULES)
class KinesisStreamingIngestion(StreamingIngestionBase):
    """``stream`` ingested into the auto-refreshed materialized view ``view_schema.view``.

    :param stream: the Kinesis data stream (e.g. a ``KinesisDataStream``'s ``stream``).
    :param namespace: the Redshift Serverless namespace of ``target`` (the stream-reading
        role is attached to it).
    :param workgroup: the namespace's workgroup: case-sensitive identifiers are turned on
        (a stream's name keeps its upper-case letters only then, and generated stream
        names have some).
    :param target: the workgroup and database the schema and view are created in.
    :param external_schema: the schema that maps Kinesis streams.
    :param view: the materialized view's name.
    :param view_schema: the view's (local) schema. Default: ``public``.
    :param grant_select_to: database roles that may read the view (they must exist).
        Default: none.
    :param encryption_key: encrypts the runner's logs. Default: the stack's shared key.
    :param database_roles: the runner's database roles (creating an external schema needs
        a superuser or CREATE on the database). Default: ``["sys:superuser"]``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stream: kinesis.IStream,
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        target: RedshiftTarget,
        external_schema: str,
        view: str,
        view_schema: str = "public",
        grant_select_to: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        database_roles: Sequence[str] = ("sys:superuser",),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"KinesisStreamingIngestion {self.node.path}")
        self._check_props(problems, workgroup, external_schema, view_schema)
        problems.raise_if_any()
        role = self._create_role()
        stream.grant_read(role)
        # Redshift lists the account's streams to map them into the external schema.
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ListStreams", actions=["kinesis:ListStreams"], resources=["*"]))
        acknowledge(role.node.find_child("DefaultPolicy"),
                    "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    "kinesis:ListStreams accepts no resource but '*' (it reads no data).")
        self._ingest(
            namespace=namespace, target=target, external_schema=external_schema,
            source_clause=f"KINESIS IAM_ROLE {quote_literal(role.role_arn)}",
            source_object=stream.stream_name, metadata_columns=METADATA_COLUMNS,
            value_column=VALUE_COLUMN, view=view, view_schema=view_schema,
            grant_select_to=grant_select_to, encryption_key=encryption_key,
            database_roles=database_roles,
        )
