"""``S3AutoCopy``: files landing under an S3 prefix are loaded into a Redshift table.

Redshift's auto-copy: an S3 event integration (``AWS::Redshift::Integration`` whose source
is the bucket) tells Redshift of each new object, and a COPY job
(``COPY ... JOB CREATE <name> AUTO ON``) loads it. The job loads only files created after
it exists; it cannot run in a transaction and its name has no hyphen (Amazon Redshift
Database Developer Guide, "COPY JOB"). Here:

- the bucket policy lets ``redshift.amazonaws.com`` read and set the bucket's
  notifications, for this account's integrations only;
- the namespace's resource policy authorizes the bucket as an inbound source;
- an IAM role, attached to the namespace, reads the prefix (and decrypts with the
  bucket's key);
- a :class:`~analytics_orchestration.constructs.warehouse.RedshiftSqlRunner` creates the
  table and the job (``COPY JOB DROP`` and ``DROP TABLE`` on delete).

Regions: S3 event integrations are offered where Redshift's auto-copy is. cfn-lint
1.58.0's per-region schemas list ``AWS::Redshift::Integration`` in every Region it checks,
so the integration carries no cfn-lint exception (``tests/stacks/test_region_support.py``
recomputes this; the README's region table is the overview).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Names, Stack, Tokenization
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshift as redshift_cluster
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import acknowledge, is_unresolved
from .._foundation.validation import Items, Number, ProblemCollector, Text, validated_props
from ..warehouse import RedshiftSqlRunner, RedshiftTarget
from ..warehouse.sql import column_list, qualified_name, quote_identifier, quote_literal
from ._common import JOB_NAME, Identifier, attach_role, authorize_inbound_integration, service_role

__all__ = ["CopyFormat", "S3AutoCopy"]

#: A column type as Redshift writes it: ``VARCHAR(64)``, ``DECIMAL(18, 2)``, ``TIMESTAMPTZ``,
#: ``DOUBLE PRECISION`` (words, then an optional size), optionally ``NOT NULL``.
COLUMN_TYPE = (r"[A-Za-z][A-Za-z0-9]*( [A-Za-z][A-Za-z0-9]*)?"
               r"( ?\(\d{1,5}( ?, ?\d{1,3})?\))?( NOT NULL)?")
_TYPE = Text(max_length=64, pattern=COLUMN_TYPE,
             meaning="a Redshift column type such as VARCHAR(64), DECIMAL(18, 2) or DATE "
                     "(optionally NOT NULL)")


class CopyFormat(enum.Enum):
    """The files' format, as COPY's ``FORMAT AS`` clause."""

    CSV = "CSV"
    JSON = "JSON 'auto'"
    PARQUET = "PARQUET"


@validated_props({"table": Identifier(), "schema": Identifier(),
                  "columns": Items(min_items=1, max_items=1600, each=_TYPE),
                  "key_prefix": Text(non_empty=False, max_length=1024),
                  "job_name": Text(max_length=127, pattern=JOB_NAME.pattern,
                                   meaning="letters, digits and _ (no hyphen), not first a "
                                           "digit"),
                  "ignore_header_rows": Number(minimum=0, maximum=100, integer=True),
                  "database_roles": Items(min_items=0, unique=True,
                                          each=Text(max_length=127))})
class S3AutoCopy(Construct):
    """New files under ``key_prefix`` of ``bucket`` copied into ``schema.table``.

    :param bucket: where the files land (a bucket of this stack: its policy is extended).
    :param namespace: the Redshift Serverless namespace of ``target`` (the integration's
        target; the copy role is attached to it, its resource policy authorizes the bucket).
    :param target: the workgroup and database the table and the job are created in.
    :param table: the table's name (quoted: any case, reserved words allowed).
    :param columns: column name -> Redshift type, in the files' column order.
    :param job_name: the COPY job's name (letters, digits, ``_``; unique in the database).
    :param schema: the table's schema. Default: ``public``.
    :param key_prefix: only files under this prefix are loaded. Default: the whole bucket.
    :param file_format: the files' format. Default: CSV.
    :param ignore_header_rows: CSV header rows to skip. Default: 0.
    :param encryption_key: encrypts the runner's logs. Default: the stack's shared key.
    :param database_roles: the runner's database roles (see ``RedshiftSqlRunner``).
        Default: none (the runner's user creates the table in a schema it may use).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        namespace: redshift.CfnNamespace,
        target: RedshiftTarget,
        table: str,
        columns: Mapping[str, str],
        job_name: str,
        schema: str = "public",
        key_prefix: str = "",
        file_format: CopyFormat = CopyFormat.CSV,
        ignore_header_rows: int = 0,
        encryption_key: kms.IKey | None = None,
        database_roles: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"S3AutoCopy {self.node.path}")
        for name in columns:
            problems.extend([("columns", name, f"column name {p}")
                             for p in [Identifier().problem(name)] if p])
        problems.check(ignore_header_rows == 0 or file_format is CopyFormat.CSV,
                       "ignore_header_rows", ignore_header_rows,
                       "applies to CSV files only (leave it 0 for JSON and Parquet)")
        problems.check(not key_prefix or not key_prefix.startswith("/"), "key_prefix",
                       key_prefix, "an S3 key prefix does not start with '/'")
        problems.raise_if_any()
        stack = Stack.of(self)
        self.role = service_role(self, "CopyRole",
                                 f"Redshift auto-copy of {self.node.path}: reads the files")
        bucket.grant_read(self.role, f"{key_prefix}*")
        attach_role(namespace, self.role)
        self._acknowledge_read(bucket, key_prefix)
        added = bucket.add_to_resource_policy(iam.PolicyStatement(
            sid=f"RedshiftAutoCopy{Names.unique_id(self)[-40:]}",
            principals=[iam.ServicePrincipal("redshift.amazonaws.com")],
            actions=["s3:GetBucketNotification", "s3:PutBucketNotification",
                     "s3:GetBucketLocation"],
            resources=[bucket.bucket_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="redshift", resource="integration", resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME)},
            },
        ))
        if not added.statement_added:
            problems.add("bucket", bucket.node.path, "must be a bucket of this app: its "
                         "policy must let Redshift manage its notifications (for a bucket "
                         "you imported, add that statement to its policy where it is "
                         "defined)")
            problems.raise_if_any()
        authorize_inbound_integration(namespace, bucket.bucket_arn)
        self.integration = redshift_cluster.CfnIntegration(
            self, "Integration", source_arn=bucket.bucket_arn,
            target_arn=namespace.attr_namespace_namespace_arn,
            integration_name=Names.unique_resource_name(self, max_length=60, separator=""),
        )
        if bucket.policy is not None:
            self.integration.node.add_dependency(bucket.policy)
        self.table_name = qualified_name(schema, table)
        self.create_sql = [
            f"CREATE TABLE IF NOT EXISTS {self.table_name} ("
            + ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in columns.items())
            + ")",
            self.copy_job_sql(bucket=bucket, key_prefix=key_prefix, column_names=list(columns),
                              file_format=file_format, ignore_header_rows=ignore_header_rows,
                              job_name=job_name),
        ]
        self.drop_sql = [f"COPY JOB DROP {job_name}", f"DROP TABLE IF EXISTS {self.table_name}"]
        self.runner = RedshiftSqlRunner(
            self, "Sql", target=target, create_sql=self.create_sql, drop_sql=self.drop_sql,
            encryption_key=encryption_key, database_roles=database_roles,
        )
        # The job needs the integration, and the role's read access for its first files.
        self.runner.resource.node.add_dependency(self.integration)
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.runner.resource.node.add_dependency(policy)

    def copy_job_sql(self, *, bucket: s3.IBucket, key_prefix: str, column_names: list[str],
                     file_format: CopyFormat, ignore_header_rows: int, job_name: str) -> str:
        """``COPY ... JOB CREATE <job_name> AUTO ON`` (job names are never quoted)."""
        header = ("" if ignore_header_rows == 0 else
                  f" IGNOREHEADER {Tokenization.stringify_number(ignore_header_rows)}")
        location = quote_literal(f"s3://{bucket.bucket_name}/{key_prefix}")
        return (f"COPY {self.table_name} {column_list(column_names)} FROM {location} "
                f"IAM_ROLE {quote_literal(self.role.role_arn)} FORMAT AS {file_format.value}"
                f"{header} JOB CREATE {job_name} AUTO ON")

    def _acknowledge_read(self, bucket: s3.IBucket, key_prefix: str) -> None:
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        reason = ("Auto-copy loads every new file under the prefix: their names are only "
                  "known when they land.")
        for finding in _read_findings(bucket, key_prefix):
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason)


def _read_findings(bucket: s3.IBucket, key_prefix: str) -> list[str]:
    """The IAM5 findings of ``grant_read``: s3:GetObject*/GetBucket*/List* and the
    objects' ARN (its KMS grant is Decrypt and DescribeKey only: no wildcard)."""
    stack = Stack.of(bucket)
    findings = ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"]
    cfn = bucket.node.default_child
    if cfn is not None and not is_unresolved(key_prefix):
        logical = stack.resolve(stack.get_logical_id(cfn))  # type: ignore[arg-type]
        findings.append(f"Resource::<{logical}.Arn>/{key_prefix}*")
    return findings


