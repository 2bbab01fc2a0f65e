"""Customer-managed KMS keys, and the one grant that needs a condition to be safe."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .removal import stateful_removal_policy


def secure_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A symmetric key with yearly automatic rotation, RETAINed by default.

    Deleting a key makes everything encrypted with it unreadable, so it follows the
    stateful removal switch; the 30-day pending window is the longest AWS allows.
    """
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=stateful_removal_policy(scope),
    )


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
