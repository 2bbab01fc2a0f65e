"""Where Redshift SQL runs: a Redshift Serverless workgroup, a database, credentials."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_secretsmanager as secretsmanager

from .._foundation.validation import Text, validated_props

__all__ = ["RedshiftTarget"]

#: Redshift database names: 1 to 64 characters (Data API parameter, not quoted SQL).
_DATABASE = Text(max_length=64, pattern=r"[A-Za-z_][A-Za-z0-9_$]*",
                 meaning="a Redshift database name (letters, digits, _ and $, not first a "
                         "digit)")

#: The Data API's statement calls accept no resource but ``*``; AWS documents this
#: condition key to limit them to the statements the caller itself ran (Service
#: Authorization Reference, "Actions, resources, and condition keys for Amazon Redshift
#: Data API").
STATEMENT_OWNER_CONDITION = {
    "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}
STATEMENT_ACTIONS = ("redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
                     "redshift-data:CancelStatement")


@validated_props({"workgroup_name": Text(pattern=r"[a-z0-9-]{3,64}",
                                        meaning="3 to 64 lowercase letters, digits or hyphens "
                                                "(a workgroup name)"),
                  "workgroup_arn": Text(max_length=1024,
                                        pattern=r"arn:[a-z-]+:redshift-serverless:[a-z0-9-]+:"
                                                r"\d{12}:workgroup/[0-9a-f-]{36}",
                                        meaning="a Redshift Serverless workgroup ARN "
                                                "(arn:<partition>:redshift-serverless:<region>:"
                                                "<account>:workgroup/<workgroup id>)"),
                  "database": _DATABASE},
                 factories={"of_workgroup": {"database": _DATABASE}})
@dataclass(frozen=True)
class RedshiftTarget:
    """A Redshift Serverless database the Data API runs statements in.

    Build one with :meth:`of_workgroup` (your workgroup, or ``ServerlessAnalytics``'s
    ``redshift_workgroup``).

    :param workgroup_name: the workgroup's name (the Data API's ``WorkgroupName``).
    :param workgroup_arn: the workgroup's ARN (what IAM names).
    :param database: the database statements run in.
    :param secret: a Secrets Manager secret with ``username`` and ``password``. Default:
        None, IAM authentication: the caller's role becomes database user ``IAMR:<role>``
        (``redshift-serverless:GetCredentials``); grant it what it needs in SQL.
    """

    workgroup_name: str
    workgroup_arn: str
    database: str
    secret: secretsmanager.ISecret | None = None

    @classmethod
    def of_workgroup(cls, workgroup: redshift.CfnWorkgroup, *, database: str,
                     secret: secretsmanager.ISecret | None = None) -> RedshiftTarget:
        """``database`` in ``workgroup`` (with IAM credentials unless ``secret`` is given).

        For ``ServerlessAnalytics``: ``RedshiftTarget.of_workgroup(platform.redshift_workgroup,
        database=platform.redshift_options.database_name)``.
        """
        return cls(workgroup_name=workgroup.attr_workgroup_workgroup_name,
                   workgroup_arn=workgroup.attr_workgroup_workgroup_arn,
                   database=database, secret=secret)

    def execute_parameters(self) -> dict[str, str]:
        """The ``ExecuteStatement`` parameters that name this target."""
        found = {"WorkgroupName": self.workgroup_name, "Database": self.database}
        if self.secret is not None:
            found["SecretArn"] = self.secret.secret_arn
        return found

    def grant_execute(self, grantee: iam.IGrantable) -> iam.Grant:
        """Run statements here and read back only the statements ``grantee`` ran.

        ``ExecuteStatement`` and ``BatchExecuteStatement`` on the workgroup; the credentials
        (``GetCredentials`` on the workgroup, or reading the secret); Describe, result and
        cancel of statements whose owner is the caller (:data:`STATEMENT_OWNER_CONDITION`).
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
            resource_arns=[self.workgroup_arn],
        )
        iam.Grant.add_to_principal(grantee=grantee, actions=list(STATEMENT_ACTIONS),
                                   resource_arns=["*"], conditions=STATEMENT_OWNER_CONDITION)
        if self.secret is None:
            iam.Grant.add_to_principal(grantee=grantee,
                                       actions=["redshift-serverless:GetCredentials"],
                                       resource_arns=[self.workgroup_arn])
        else:
            self.secret.grant_read(grantee)
        return grant

