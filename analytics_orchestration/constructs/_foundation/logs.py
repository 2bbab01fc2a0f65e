"""CloudWatch log groups with finite retention, encrypted with a customer-managed key."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .keys import stack_key
from .removal import stateful_removal_policy

#: Logs are kept for a year: long enough for an audit, short enough to bound cost.
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
    encryption_key: kms.IKey | None = None,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A log group with finite retention, encrypted with ``encryption_key``.

    ``log_group_name`` only for a service that writes to a group it names itself (MWAA's
    ``airflow-<environment>-<Type>``): created here first, the group gets the retention and
    key the service would not give it. Otherwise CDK names it.

    Without ``encryption_key`` the stack's shared key (:func:`.keys.stack_key`) is used:
    log groups hold execution data (state-machine inputs and outputs, function logs, flow
    records), so none relies on CloudWatch's AWS-owned key alone; a customer-managed key
    adds control over who can read and an audit trail of every decrypt. The key is granted
    to this region's CloudWatch Logs service, limited by the encryption context to log
    groups of this account.
    """
    key = encryption_key if encryption_key is not None else stack_key(scope)
    stack = Stack.of(scope)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                     "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs", resource="log-group", resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=key,
        removal_policy=stateful_removal_policy(scope),
    )
