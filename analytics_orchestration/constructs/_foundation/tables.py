"""DynamoDB tables: on-demand, encrypted, point-in-time recovery, protected."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from .backups import back_up_table
from .removal import destroy_on_removal, stateful_removal_policy


def secure_table(
    scope: Construct,
    construct_id: str,
    *,
    partition_key: str,
    sort_key: str | None = None,
    encryption_key: kms.IKey | None = None,
    time_to_live_attribute: str | None = None,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    """An on-demand table with PITR, encrypted with ``encryption_key`` (else AWS-owned).

    Every table is in its stack's AWS Backup plan (:func:`.backups.backup_plan`): daily
    recovery points outside the table, in a vault under a customer-managed key.

    ``stream`` turns on DynamoDB Streams with that view of each change (None: no stream).

    Deletion protection is on unless the development removal switch is on. The v1
    ``Table`` L2, because ``TableV2`` cannot render a customer-managed key in an
    environment-agnostic stack.
    """
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=(
            dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
            if sort_key
            else None
        ),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=(
            dynamodb.TableEncryption.CUSTOMER_MANAGED
            if encryption_key
            else dynamodb.TableEncryption.AWS_MANAGED
        ),
        encryption_key=encryption_key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=time_to_live_attribute,
        stream=stream,
        deletion_protection=not destroy_on_removal(scope),
        removal_policy=stateful_removal_policy(scope),
    )
    back_up_table(table)
    return table
