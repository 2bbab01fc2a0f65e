"""Customer-managed KMS keys."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .removal import stateful_removal_policy

#: The construct id, at stack level, of the stack's shared key (see :func:`stack_key`).
STACK_KEY_ID = "AnalyticsOrchestrationStackKey"


def secure_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A symmetric key with yearly automatic rotation, RETAINed by default.

    Deleting a key makes everything encrypted with it unreadable, so it follows the
    stateful removal switch; the 30-day pending window is the longest AWS allows.

    Grants are for AWS resources only: a statement denies ``kms:CreateGrant`` to every
    principal unless the grant is for an AWS resource or the caller is an AWS service
    (the statement the AWS Control Tower control CT.KMS.PR.3 requires). Services that
    encrypt with the key on a caller's behalf (EBS, RDS, Backup, ...) create their grants
    with ``kms:GrantIsForAWSResource`` true, so they are unaffected; a grant that would
    hand the key to an arbitrary principal outside a service is refused.
    """
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=stateful_removal_policy(scope),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsForNonAwsResources",
            effect=iam.Effect.DENY,
            actions=["kms:CreateGrant"],
            principals=[iam.AnyPrincipal()],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
    return key


def grant_create_grant_for_aws_resources(key: kms.IKey, grantee: iam.IGrantable) -> iam.Grant:
    """Let ``grantee`` create grants on ``key`` for AWS services only.

    Services such as SageMaker create a grant to use the key for a job's volumes on the
    caller's behalf; ``kms:GrantIsForAWSResource`` keeps the grantee from handing the key's
    use to any other principal (which a bare ``kms:CreateGrant`` would allow).
    """
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["kms:CreateGrant"], resource_arns=[key.key_arn],
        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    )


def stack_key(scope: Construct) -> kms.Key:
    """The stack's one shared key, created on first use, for data that has no key given.

    Log groups (function, state-machine, flow and access logs) and the AWS Backup vault
    use it when their construct was given no key, so that nothing the library writes is
    encrypted only with an AWS-owned key.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(STACK_KEY_ID)
    if isinstance(existing, kms.Key):
        return existing
    return secure_key(
        stack,
        STACK_KEY_ID,
        description=f"Log groups and backups of {stack.node.path} (analytics-orchestration)",
    )
