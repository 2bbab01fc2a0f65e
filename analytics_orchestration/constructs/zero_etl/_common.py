"""What every zero-ETL pattern needs of the Redshift Serverless target.

- :func:`authorize_inbound_integration`: the namespace's resource policy (the
  ``NamespaceResourcePolicy`` property of ``AWS::RedshiftServerless::Namespace``) lets
  ``redshift.amazonaws.com`` authorize an inbound integration *from one source ARN only*
  and lets the account create it ("Configure authorization for your Amazon Redshift data
  warehouse", Amazon Redshift Management Guide). One policy document per namespace,
  shared by every integration into it.
- :func:`attach_role`: an IAM role in the namespace's ``IamRoles`` (Redshift can only assume
  the roles attached to the namespace: ``COPY ... IAM_ROLE`` and ``FROM KINESIS IAM_ROLE``
  name one).
- :func:`require_case_sensitive_identifiers`: ``enable_case_sensitive_identifier=true`` on the
  workgroup (zero-ETL targets need it: source tables and columns keep their case).
"""

from __future__ import annotations

import dataclasses
import re

from aws_cdk import Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation.validation import Rule, is_unresolved
from ..warehouse.sql import identifier_problem

__all__ = ["Identifier", "attach_role", "authorize_inbound_integration", "integration_id",
           "require_case_sensitive_identifiers", "service_role"]

CASE_SENSITIVE = "enable_case_sensitive_identifier"
_POLICY_CHILD = "ZeroEtlResourcePolicy"


@dataclasses.dataclass(frozen=True)
class Identifier(Rule):
    """A Redshift identifier (quoted in the SQL generated): see ``warehouse.sql``."""

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str) or is_unresolved(value):
            return None
        found = identifier_problem(value)
        return None if found is None else f"{found} (a Redshift identifier)"


#: An S3 COPY job's name: no hyphen (``COPY ... JOB CREATE``), letters, digits and ``_``.
JOB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")


class _NamespacePolicy(Construct):
    """Holds the one resource-policy document of a namespace (a child of it)."""

    def __init__(self, scope: redshift.CfnNamespace) -> None:
        super().__init__(scope, _POLICY_CHILD)
        self.document = iam.PolicyDocument()
        self.sources: list[str] = []
        if scope.namespace_resource_policy is not None:
            raise ValueError("the namespace already has a NamespaceResourcePolicy: give its "
                             "statements through authorize_inbound_integration instead")
        scope.namespace_resource_policy = self.document


def authorize_inbound_integration(namespace: redshift.CfnNamespace, source_arn: str) -> None:
    """Let ``source_arn`` (a bucket, table or Aurora cluster) integrate into ``namespace``."""
    holder = namespace.node.try_find_child(_POLICY_CHILD)
    if not isinstance(holder, _NamespacePolicy):
        holder = _NamespacePolicy(namespace)
    stack = Stack.of(namespace)
    # The namespace's own ARN would be a circular reference; the policy is the namespace's
    # own, so any namespace ARN of the account means this one.
    own_arn = stack.format_arn(service="redshift-serverless", resource="namespace",
                               resource_name="*")
    holder.sources.append(source_arn)
    number = len(holder.sources)
    holder.document.add_statements(
        iam.PolicyStatement(
            sid=f"AuthorizeInboundIntegration{number}",
            principals=[iam.ServicePrincipal("redshift.amazonaws.com")],
            actions=["redshift:AuthorizeInboundIntegration"],
            resources=[own_arn],
            conditions={"StringEquals": {"aws:SourceArn": source_arn}},
        ),
    )
    if number == 1:
        holder.document.add_statements(iam.PolicyStatement(
            sid="AccountCreatesInboundIntegrations",
            principals=[iam.AccountPrincipal(stack.account)],
            actions=["redshift:CreateInboundIntegration"],
            resources=[own_arn],
        ))


def attach_role(namespace: redshift.CfnNamespace, role: iam.IRole) -> None:
    """Add ``role`` to the namespace's ``IamRoles`` (keeping the roles already there)."""
    roles = list(namespace.iam_roles or [])
    if role.role_arn not in roles:
        roles.append(role.role_arn)
    namespace.iam_roles = roles


def require_case_sensitive_identifiers(workgroup: redshift.CfnWorkgroup) -> None:
    """Set ``enable_case_sensitive_identifier=true`` on ``workgroup``.

    Raises ValueError when the workgroup sets it to anything else (the integration would
    fail, or fold the source's names to lower case).
    """
    current = workgroup.config_parameters
    if current is not None and not isinstance(current, list):
        raise ValueError("the workgroup's ConfigParameters is a token: set "
                         f"{CASE_SENSITIVE}=true in it yourself")
    parameters = list(current or [])
    for parameter in parameters:
        key = getattr(parameter, "parameter_key", None)
        value = getattr(parameter, "parameter_value", None)
        if key == CASE_SENSITIVE:
            if str(value).lower() != "true" and not is_unresolved(value):
                raise ValueError(f"the workgroup sets {CASE_SENSITIVE}={value}: a zero-ETL "
                                 "target needs true")
            return
    parameters.append(redshift.CfnWorkgroup.ConfigParameterProperty(
        parameter_key=CASE_SENSITIVE, parameter_value="true"))
    workgroup.config_parameters = parameters


def integration_id(integration_arn: str) -> str:
    """The integration's id, the last part of its ARN (``...:integration:<id>``)."""
    return Fn.select(6, Fn.split(":", integration_arn))


def service_role(scope: Construct, construct_id: str, description: str) -> iam.Role:
    """A role Redshift (provisioned and Serverless) assumes once attached to a namespace."""
    return iam.Role(
        scope, construct_id,
        assumed_by=iam.CompositePrincipal(
            iam.ServicePrincipal("redshift.amazonaws.com"),
            iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
        ),
        description=description,
    )
