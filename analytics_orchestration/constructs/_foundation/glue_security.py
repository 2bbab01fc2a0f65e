"""Glue security configurations: everything Glue writes encrypted with one KMS key."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .removal import stateful_removal_policy

#: Log groups Glue crawlers and jobs write to when a security configuration encrypts them.
GLUE_LOG_GROUP_PREFIX = "/aws-glue/"


def glue_security_configuration(
    scope: Construct, construct_id: str, *, encryption_key: kms.IKey
) -> glue.SecurityConfiguration:
    """A security configuration encrypting with ``encryption_key``.

    S3 data with SSE-KMS, job bookmarks with client-side KMS encryption, and CloudWatch
    logs with the key (cdk-nag GL1/GL3). CloudWatch Logs may use the key only for this
    account's ``/aws-glue/`` log groups (encryption-context condition); grant the crawler
    and job roles :func:`grant_glue_logging`. It follows the stateful removal switch (a
    job's bookmarks cannot be read without it).
    """
    stack = Stack.of(scope)
    encryption_key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="GlueLogsEncryption",
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                     "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": _glue_log_groups(
                stack)}},
        )
    )
    return glue.SecurityConfiguration(
        scope,
        construct_id,
        cloud_watch_encryption=glue.CloudWatchEncryption.kms(encryption_key),
        job_bookmarks_encryption=glue.JobBookmarksEncryption.client_side_kms(encryption_key),
        s3_encryption=glue.S3Encryption.kms(encryption_key),
        removal_policy=stateful_removal_policy(scope),
    )


def grant_glue_logging(role: iam.IRole) -> None:
    """Let a Glue crawler or job role write its encrypted logs (``/aws-glue/*`` only).

    ``logs:AssociateKmsKey`` lets Glue attach the security configuration's key to the log
    group it creates on the first run.
    """
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="WriteEncryptedGlueLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                     "logs:AssociateKmsKey"],
            resources=[_glue_log_groups(Stack.of(role)),
                       _glue_log_groups(Stack.of(role)) + ":log-stream:*"],
        )
    )


def _glue_log_groups(stack: Stack) -> str:
    return stack.format_arn(
        service="logs", resource="log-group", resource_name=f"{GLUE_LOG_GROUP_PREFIX}*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
