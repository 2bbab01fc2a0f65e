"""What Redshift streaming ingestion from Kinesis and from MSK share.

Both are, in the Amazon Redshift Database Developer Guide ("Streaming ingestion to a
materialized view"), the same three steps with a different source clause:

- a role Redshift assumes (attached to the namespace: Redshift assumes only those) that may
  read the source, then ``CREATE EXTERNAL SCHEMA <s> FROM <source clause>``;
- ``CREATE MATERIALIZED VIEW <view> AUTO REFRESH YES AS SELECT <metadata columns>,
  JSON_PARSE(<value column>) AS payload FROM <s>."<stream or topic>" WHERE
  CAN_JSON_PARSE(<value column>)``: records that are not JSON are skipped instead of
  failing every refresh, and the payload is kept as SUPER (casting inside a streaming view
  is a known failure: query ``payload.field`` from the view instead);
- ``GRANT USAGE`` on the view's schema and ``SELECT`` on the view to the reading roles.

Stream and topic names are case sensitive, and a view refers to one only with
``enable_case_sensitive_identifier`` on: the workgroup gets it.
:class:`StreamingIngestionBase` holds the steps once; a subclass says how its role reads the
source and writes the source clause.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation.validation import Items, ProblemCollector, Rule, Text
from ..warehouse import RedshiftSqlRunner, RedshiftTarget
from ..warehouse.sql import qualified_name, quote_identifier
from ._common import Identifier, attach_role, require_case_sensitive_identifiers, service_role

__all__ = ["VIEW_RULES", "StreamingIngestionBase"]

#: The value rules of the props every streaming ingestion takes (``validated_props``).
VIEW_RULES: dict[str, Rule] = {
    "external_schema": Identifier(), "view": Identifier(), "view_schema": Identifier(),
    # Two statements each, within the runner's 100 (with the schema and view).
    "grant_select_to": Items(min_items=0, max_items=49, unique=True, each=Identifier()),
    "database_roles": Items(min_items=0, unique=True, each=Text(max_length=127)),
}


class StreamingIngestionBase(Construct):
    """An external schema over a streaming source and an auto-refreshed view of it.

    Subclasses call :meth:`_check_props` with their own problems, create
    :attr:`role` with :meth:`_create_role`, let it read their source, then call
    :meth:`_ingest`.

    Attributes once built: ``role`` (attached to the namespace), ``view_name`` (quoted,
    schema-qualified), ``create_sql`` / ``drop_sql`` (what the runner runs) and ``runner``.
    """

    role: iam.Role
    view_name: str
    create_sql: list[str]
    drop_sql: list[str]
    runner: RedshiftSqlRunner

    def _check_props(self, problems: ProblemCollector, workgroup: redshift.CfnWorkgroup,
                     external_schema: str, view_schema: str) -> None:
        """Turn on case-sensitive identifiers, or record why the workgroup refuses; the
        view needs a local schema (an external schema holds no materialized view)."""
        try:
            require_case_sensitive_identifiers(workgroup)
        except ValueError as error:
            problems.add("workgroup", workgroup.node.path, str(error))
        problems.check(view_schema != external_schema, "view_schema", view_schema,
                       f"must not be the external schema {external_schema!r}: a "
                       "materialized view lives in a local schema (e.g. public)")

    def _create_role(self) -> iam.Role:
        """The role Redshift assumes to read the source (the subclass grants it that)."""
        self.role = service_role(self, "StreamRole",
                                 f"Redshift streaming ingestion of {self.node.path}")
        return self.role

    def _ingest(
        self,
        *,
        namespace: redshift.CfnNamespace,
        target: RedshiftTarget,
        external_schema: str,
        source_clause: str,
        source_object: str,
        metadata_columns: Sequence[str],
        value_column: str,
        view: str,
        view_schema: str,
        grant_select_to: Sequence[str],
        encryption_key: kms.IKey | None,
        database_roles: Sequence[str],
    ) -> None:
        """Attach the role, write the SQL and run it (after the role's policy exists).

        :param source_clause: what follows ``FROM`` in ``CREATE EXTERNAL SCHEMA`` (``KINESIS
            IAM_ROLE '...'``, ``MSK IAM_ROLE '...' AUTHENTICATION iam CLUSTER_ARN '...'``).
        :param source_object: the stream's or topic's name (quoted here).
        """
        attach_role(namespace, self.role)
        schema = quote_identifier(external_schema)
        self.view_name = qualified_name(view_schema, view)
        source = f"{schema}.{quote_identifier(source_object)}"
        columns = ", ".join(metadata_columns)
        self.create_sql = [
            f"CREATE EXTERNAL SCHEMA IF NOT EXISTS {schema} FROM {source_clause}",
            f"CREATE MATERIALIZED VIEW {self.view_name} AUTO REFRESH YES AS SELECT {columns}, "
            f"JSON_PARSE({value_column}) AS payload FROM {source} "
            f"WHERE CAN_JSON_PARSE({value_column})",
        ]
        for role in grant_select_to:
            grantee = quote_identifier(role)
            self.create_sql += [
                f"GRANT USAGE ON SCHEMA {quote_identifier(view_schema)} TO ROLE {grantee}",
                f"GRANT SELECT ON {self.view_name} TO ROLE {grantee}",
            ]
        self.drop_sql = [f"DROP MATERIALIZED VIEW IF EXISTS {self.view_name}",
                         f"DROP SCHEMA IF EXISTS {schema}"]
        self.runner = RedshiftSqlRunner(
            self, "Sql", target=target, create_sql=self.create_sql, drop_sql=self.drop_sql,
            encryption_key=encryption_key, database_roles=database_roles,
        )
        # The role must be able to read the source before the schema maps it.
        self.runner.resource.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
