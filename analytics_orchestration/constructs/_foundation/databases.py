"""Aurora Serverless v2 clusters with the library's secure and reliable defaults.

:func:`serverless_aurora_cluster` holds every default once:

- **Private**: in the given subnets of the VPC (never public), behind a security group
  that allows no inbound traffic until the caller opens it (``cluster.connections``) and
  no outbound traffic (a database initiates no connections).
- **Encrypted**: storage and Performance Insights with the given customer-managed key;
  the parameter group forces TLS on every connection (``rds.force_ssl`` /
  ``require_secure_transport``, AWS Control Tower control CT.RDS.PR.27).
- **Credentials**: the master password is generated, stored and rotated by RDS in Secrets
  Manager (``ManageMasterUserPassword``), encrypted with the same key; no password ever
  appears in the template, and IAM database authentication is on for every other user.
- **Reliable**: deletion protection on, backups kept 7 days by RDS plus the stack's AWS
  Backup plan (daily recovery points in a CMK vault, see :mod:`.backups`), the engine's
  logs exported to CloudWatch Logs, enhanced monitoring every 60 seconds, minor version
  upgrades automatic. Removal follows the stateful switch (:mod:`.removal`): RETAIN, or
  DESTROY for development stacks (deletion protection then off too, or the stack could
  not be deleted).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from .backups import backup_plan
from .compliance import acknowledge
from .removal import stateful_removal_policy

__all__ = ["AURORA_LOG_EXPORTS", "TLS_PARAMETERS", "serverless_aurora_cluster"]

#: How long RDS keeps automated backups (point-in-time restore within it).
DEFAULT_BACKUP_RETENTION = Duration.days(7)
#: Enhanced monitoring's granularity.
DEFAULT_MONITORING_INTERVAL = Duration.seconds(60)
#: The master user's name (its password lives in Secrets Manager, managed by RDS).
DEFAULT_MASTER_USERNAME = "cluster_admin"
#: Engine type -> the logs exported to CloudWatch Logs (every log the engine offers;
#: Aurora MySQL's four are what cdk-nag's AwsSolutions-RDS16 asks for).
AURORA_LOG_EXPORTS: Mapping[str, tuple[str, ...]] = {
    "aurora-postgresql": ("postgresql",),
    "aurora-mysql": ("audit", "error", "general", "slowquery"),
}
#: Engine type -> the cluster parameter that refuses connections without TLS.
TLS_PARAMETERS: Mapping[str, Mapping[str, str]] = {
    "aurora-postgresql": {"rds.force_ssl": "1"},
    "aurora-mysql": {"require_secure_transport": "ON"},
}
#: The AWS-managed policy of RDS enhanced monitoring's role.
_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def serverless_aurora_cluster(
    scope: Construct,
    construct_id: str,
    *,
    engine: rds.IClusterEngine,
    vpc: ec2.IVpc,
    vpc_subnets: ec2.SubnetSelection,
    encryption_key: kms.IKey,
    parameters: Mapping[str, str],
    min_capacity: float,
    max_capacity: float,
    default_database_name: str | None = None,
) -> rds.DatabaseCluster:
    """An Aurora Serverless v2 cluster (one writer) with the defaults of the module doc.

    ``parameters`` go into the cluster's own parameter group, with the TLS setting of the
    engine (:data:`TLS_PARAMETERS`) added; ``engine`` must carry a version (the parameter
    group's family comes from it).
    """
    engine_type = engine.engine_type
    removal = stateful_removal_policy(scope)
    parameter_group = rds.ParameterGroup(
        scope, f"{construct_id}Parameters", engine=engine,
        description=f"Cluster parameters of {scope.node.path}/{construct_id}",
        parameters={**parameters, **TLS_PARAMETERS.get(engine_type, {})},
    )
    security_group = ec2.SecurityGroup(
        scope, f"{construct_id}SecurityGroup", vpc=vpc, allow_all_outbound=False,
        description=f"The Aurora cluster {scope.node.path}/{construct_id}: no inbound rule "
                    "until a client is allowed in, no outbound traffic",
    )
    monitoring_role = iam.Role(
        scope, f"{construct_id}MonitoringRole",
        assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
        description=f"RDS enhanced monitoring of {scope.node.path}/{construct_id}",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(_MONITORING_POLICY)],
    )
    acknowledge(
        monitoring_role,
        f"AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        f"{_MONITORING_POLICY}]",
        "RDS enhanced monitoring's documented service-role policy: it lets the monitoring "
        "agent write only to the RDSOSMetrics log group and is maintained by AWS.",
    )
    cluster = rds.DatabaseCluster(
        scope, construct_id,
        engine=engine,
        vpc=vpc,
        vpc_subnets=vpc_subnets,
        security_groups=[security_group],
        writer=rds.ClusterInstance.serverless_v2(
            "Writer", auto_minor_version_upgrade=True, publicly_accessible=False,
            enable_performance_insights=True, performance_insight_encryption_key=encryption_key,
        ),
        serverless_v2_min_capacity=min_capacity,
        serverless_v2_max_capacity=max_capacity,
        parameter_group=parameter_group,
        storage_encryption_key=encryption_key,
        iam_authentication=True,
        manage_master_user_password=True,
        credentials=rds.Credentials.from_username(DEFAULT_MASTER_USERNAME,
                                                  encryption_key=encryption_key),
        default_database_name=default_database_name,
        deletion_protection=removal is RemovalPolicy.RETAIN,
        removal_policy=removal,
        backup=rds.BackupProps(retention=DEFAULT_BACKUP_RETENTION),
        copy_tags_to_snapshot=True,
        cloudwatch_logs_exports=list(AURORA_LOG_EXPORTS.get(engine_type, ())),
        enable_performance_insights=True,
        performance_insight_encryption_key=encryption_key,
        monitoring_interval=DEFAULT_MONITORING_INTERVAL,
        monitoring_role=monitoring_role,
    )
    back_up_cluster(cluster)
    return cluster


def back_up_cluster(cluster: rds.DatabaseCluster) -> backup.BackupSelection:
    """Put ``cluster`` in its stack's backup plan (AWS Backup protects Aurora per cluster).

    cdk-nag's NIST ``RDSInBackupPlan`` looks for each *instance* in a selection; an Aurora
    instance has no storage of its own (the cluster volume is what a recovery point
    holds) and AWS Backup does not accept one, so the finding is acknowledged on each
    instance of the cluster, and only there.
    """
    plan = backup_plan(cluster)
    role = plan.node.find_child("Role")
    assert isinstance(role, iam.Role)
    selection = plan.add_selection(
        f"Cluster{Names.unique_id(cluster)}",
        resources=[backup.BackupResource.from_rds_database_cluster(cluster)],
        role=role,
    )
    for child in cluster.node.find_all():
        if isinstance(child, rds.CfnDBInstance):
            acknowledge(
                child, "NIST.800.53.R5::NIST.800.53.R5-RDSInBackupPlan",
                "An Aurora instance has no storage of its own: AWS Backup protects the "
                f"cluster volume, and the cluster {cluster.node.path} "
                "is in the stack's backup plan (daily recovery points in a CMK vault).",
            )
    return selection

