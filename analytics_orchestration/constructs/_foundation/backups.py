"""The stack's AWS Backup plan: daily backups of every table, in a vault under a CMK."""

from __future__ import annotations

from aws_cdk import Duration, Names, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from .compliance import acknowledge
from .keys import stack_key
from .removal import stateful_removal_policy

#: The construct id, at stack level, of the stack's backup plan (see :func:`backup_plan`).
BACKUP_PLAN_ID = "AnalyticsOrchestrationBackupPlan"
#: How long a daily recovery point is kept: five weeks, beyond the 35 days of PITR.
DEFAULT_BACKUP_RETENTION = Duration.days(35)
#: Daily at 05:00 UTC, outside the usual European and American business hours.
DEFAULT_BACKUP_SCHEDULE = events.Schedule.cron(hour="5", minute="0")
_SERVICE_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


def backup_plan(scope: Construct) -> backup.BackupPlan:
    """The stack's one backup plan, created on first use.

    Point-in-time recovery (on for every table) covers 35 days of mistakes; AWS Backup adds
    recovery points that live outside the table, survive its deletion and sit in a vault
    encrypted with the stack's customer-managed key (:func:`.keys.stack_key`). Plan and
    vault follow the stateful removal switch.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(BACKUP_PLAN_ID)
    if isinstance(existing, backup.BackupPlan):
        return existing
    vault = backup.BackupVault(
        stack,
        f"{BACKUP_PLAN_ID}Vault",
        encryption_key=stack_key(stack),
        removal_policy=stateful_removal_policy(stack),
    )
    plan = backup.BackupPlan(
        stack,
        BACKUP_PLAN_ID,
        # Plan names are the account's and region's, like the vault's: derived from the
        # vault's unique name (stack and path), not the construct id every stack shares.
        backup_plan_name=f"{Names.unique_resource_name(vault, max_length=46)}Plan",
        backup_vault=vault,
        backup_plan_rules=[
            backup.BackupPlanRule(
                rule_name="Daily",
                schedule_expression=DEFAULT_BACKUP_SCHEDULE,
                delete_after=DEFAULT_BACKUP_RETENTION,
            )
        ],
    )
    plan.apply_removal_policy(stateful_removal_policy(stack))
    role = iam.Role(
        plan,
        "Role",
        assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
        description=f"AWS Backup's role for the tables of {stack.node.path}",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(name)
            for name in _SERVICE_ROLE_POLICIES
        ],
    )
    for name in _SERVICE_ROLE_POLICIES:
        acknowledge(
            role,
            f"AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            f"{name}]",
            "AWS Backup's documented service-role policy: it names exactly the backup and "
            "restore actions of each supported service and is maintained by AWS.",
        )
    return plan


def back_up_table(table: dynamodb.Table) -> backup.BackupSelection:
    """Put ``table`` in its stack's backup plan (one selection per table)."""
    plan = backup_plan(table)
    role = plan.node.find_child("Role")
    assert isinstance(role, iam.Role)
    return plan.add_selection(
        f"Table{Names.unique_id(table)}",
        resources=[backup.BackupResource.from_dynamo_db_table(table)],
        role=role,
    )
