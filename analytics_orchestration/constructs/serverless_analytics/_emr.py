"""EMR Serverless: a Spark application in the VPC and its data-lake-scoped job role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emr
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import log_group
from ._catalog import CATALOG_READ_ACTIONS, catalog_resource_arns
from ._common import acknowledge_wildcards, grant_objects, object_wildcards, table_wildcards
from .options import DataZone, EmrOptions

#: Where the application's job logs go in the analytics zone.
EMR_LOGS_PREFIX = "emr-logs/"
#: What Spark jobs may do in the lake's Glue databases besides reading: create and
#: update tables and partitions (never drop them).
_CATALOG_WRITE_ACTIONS = (
    "glue:CreateTable", "glue:UpdateTable", "glue:CreatePartition",
    "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition",
)


@dataclass(frozen=True)
class EmrServerless:
    application: emr.CfnApplication
    execution_role: iam.Role
    security_group: ec2.SecurityGroup
    log_group: logs.LogGroup


def build_emr(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    vpc: ec2.IVpc,
    subnets: ec2.SelectedSubnets,
    buckets: Mapping[DataZone, s3.IBucket],
    databases: Sequence[glue.IDatabase],
    options: EmrOptions,
) -> EmrServerless:
    """A Spark application that starts on the first job and stops when idle.

    Workers run in ``subnets`` (a security group with egress only), capped by the
    maximum capacity; job logs go to an encrypted log group and to the analytics zone.
    The execution role reads the raw zone, reads and writes the curated and analytics
    zones and their Glue tables, and writes its logs: nothing outside the data lake.
    """
    stack = Stack.of(scope)
    security_group = ec2.SecurityGroup(
        scope, "SecurityGroup", vpc=vpc, allow_all_outbound=True,
        description=f"EMR Serverless workers of {scope.node.path}",
    )
    job_logs = log_group(scope, "JobLogs", encryption_key=encryption_key)
    analytics = buckets[DataZone.ANALYTICS]
    application = emr.CfnApplication(
        scope,
        "Application",
        release_label=options.release_label,
        type="SPARK",
        architecture=options.architecture.value,
        auto_start_configuration=emr.CfnApplication.AutoStartConfigurationProperty(enabled=True),
        auto_stop_configuration=emr.CfnApplication.AutoStopConfigurationProperty(
            enabled=True, idle_timeout_minutes=int(options.idle_timeout.to_minutes())
        ),
        maximum_capacity=emr.CfnApplication.MaximumAllowedResourcesProperty(
            cpu=f"{options.maximum_vcpu} vCPU",
            memory=f"{options.maximum_memory_gb} GB",
            disk=f"{options.maximum_disk_gb} GB",
        ),
        network_configuration=emr.CfnApplication.NetworkConfigurationProperty(
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[security_group.security_group_id],
        ),
        monitoring_configuration=emr.CfnApplication.MonitoringConfigurationProperty(
            cloud_watch_logging_configuration=(
                emr.CfnApplication.CloudWatchLoggingConfigurationProperty(
                    enabled=True,
                    log_group_name=job_logs.log_group_name,
                    encryption_key_arn=encryption_key.key_arn,
                )
            ),
            s3_monitoring_configuration=emr.CfnApplication.S3MonitoringConfigurationProperty(
                log_uri=analytics.s3_url_for_object(EMR_LOGS_PREFIX),
                encryption_key_arn=encryption_key.key_arn,
            ),
            managed_persistence_monitoring_configuration=(
                emr.CfnApplication.ManagedPersistenceMonitoringConfigurationProperty(
                    enabled=True, encryption_key_arn=encryption_key.key_arn
                )
            ),
        ),
    )
    role = iam.Role(
        scope,
        "ExecutionRole",
        assumed_by=iam.ServicePrincipal(
            "emr-serverless.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": application.attr_arn},
            },
        ),
        description=f"Job runtime role of the EMR Serverless application of {scope.node.path}",
    )
    grant_objects(role, buckets[DataZone.RAW])
    grant_objects(role, buckets[DataZone.CURATED], write=True)
    grant_objects(role, analytics, write=True)
    if databases:
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="SparkUsesTheLakeCatalog",
            actions=sorted({*CATALOG_READ_ACTIONS, *_CATALOG_WRITE_ACTIONS}),
            resources=catalog_resource_arns(stack, databases),
        ))
    job_logs.grant_write(role)
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="DescribeJobLogStreams",
        actions=["logs:DescribeLogStreams"],
        resources=[job_logs.log_group_arn],
    ))
    # EMR looks the log group up by name before writing: DescribeLogGroups lists groups
    # and takes no single group as its resource.
    log_groups = stack.format_arn(
        service="logs", resource="log-group", resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    role.add_to_principal_policy(iam.PolicyStatement(
        sid="FindJobLogGroup", actions=["logs:DescribeLogGroups"], resources=[log_groups],
    ))
    acknowledge_wildcards(
        role,
        ["Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*"],
        "logs:DescribeLogGroups lists log groups: it cannot be limited to one group, and "
        "it reads names only.",
    )
    acknowledge_wildcards(
        role, [*object_wildcards(list(buckets.values())), *table_wildcards(databases)],
        "Spark jobs read the raw zone and read and write the curated and analytics zones "
        "and their Glue tables: the job scripts, their objects and tables are not known in "
        "advance.",
    )
    return EmrServerless(
        application=application, execution_role=role, security_group=security_group,
        log_group=job_logs,
    )
