"""Helpers of the parts: deterministic physical names, narrow cdk-nag acknowledgments."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import CfnElement, Names, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from .._foundation import acknowledge

_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


def lowercase_name(scope: IConstruct, *, max_length: int) -> str:
    """A name unique to ``scope``'s path: lowercase letters, digits, hyphens.

    Built from the construct path and its hash (so it is stable across synths and unique
    within the account), starting with a letter as every service here requires.
    """
    raw = Names.unique_resource_name(scope, max_length=max_length, separator="-").lower()
    name = _NOT_ALLOWED.sub("-", raw).strip("-")
    if not name[:1].isalpha():
        name = ("n" + name)[:max_length]
    return name


def acknowledge_wildcards(role: iam.Role, findings: Sequence[str], reason: str) -> None:
    """Acknowledge exactly ``findings`` (the ``AwsSolutions-IAM5[...]`` bracket contents
    cdk-nag prints, e.g. ``Action::s3:GetObject*``) on ``role``'s default policy."""
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is None:
        return
    for finding in findings:
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[{finding}]", reason)


def logical_id(construct: IConstruct) -> str:
    """The logical id cdk-nag prints for ``construct``'s CloudFormation resource."""
    child = construct.node.default_child
    resource = child if isinstance(child, CfnElement) else construct
    assert isinstance(resource, CfnElement)
    stack = Stack.of(resource)
    return str(stack.resolve(stack.get_logical_id(resource)))


#: Exactly what reading objects under a prefix needs (no ``s3:Get*``-style wildcards).
OBJECT_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
#: ... and writing them, multipart uploads included (Spark and Glue upload in parts).
OBJECT_WRITE_ACTIONS = (
    "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
)
BUCKET_READ_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
BUCKET_WRITE_ACTIONS = ("s3:ListBucketMultipartUploads",)


def grant_objects(
    grantee: iam.IGrantable, bucket: s3.IBucket, *, prefix: str = "", write: bool = False
) -> iam.Grant:
    """Read (and with ``write``, write) the objects of ``bucket`` under ``prefix``.

    Named actions only, and the bucket's key for exactly those: decrypt to read,
    encrypt and generate data keys to write.
    """
    grant = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=[*BUCKET_READ_ACTIONS, *(BUCKET_WRITE_ACTIONS if write else ())],
        resource_arns=[bucket.bucket_arn],
    ).combine(iam.Grant.add_to_principal(
        grantee=grantee,
        actions=[*OBJECT_READ_ACTIONS, *(OBJECT_WRITE_ACTIONS if write else ())],
        resource_arns=[bucket.arn_for_objects(f"{prefix}*")],
    ))
    if bucket.encryption_key is not None:
        key_actions = ["kms:Decrypt", *(("kms:Encrypt", "kms:GenerateDataKey") if write else ())]
        grant = grant.combine(bucket.encryption_key.grant(grantee, *key_actions))
    return grant


def object_wildcards(buckets: Sequence[s3.IBucket], prefix: str = "") -> list[str]:
    """The IAM5 finding of each bucket's ``<arn>/<prefix>*`` object resource."""
    return [f"Resource::<{logical_id(bucket)}.Arn>/{prefix}*" for bucket in buckets]


def table_wildcards(databases: Sequence[glue.IDatabase], table: str = "*") -> list[str]:
    """The IAM5 finding of each database's ``table/<database>/*`` resource."""
    return [
        "Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/"
        f"<{logical_id(database)}>/{table}"
        for database in databases
    ]
