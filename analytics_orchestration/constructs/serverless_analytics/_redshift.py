"""Redshift Serverless: a namespace under the construct's key and a private workgroup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import stateful_removal_policy
from ._catalog import CATALOG_READ_ACTIONS, catalog_resource_arns
from ._common import (
    acknowledge_wildcards,
    grant_objects,
    lowercase_name,
    object_wildcards,
    table_wildcards,
)
from .options import RedshiftOptions


@dataclass(frozen=True)
class RedshiftServerless:
    namespace: redshift.CfnNamespace
    workgroup: redshift.CfnWorkgroup
    role: iam.Role
    security_group: ec2.SecurityGroup


def build_redshift(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    vpc: ec2.IVpc,
    subnets: ec2.SelectedSubnets,
    data_lake_buckets: Sequence[s3.IBucket],
    databases: Sequence[glue.IDatabase],
    options: RedshiftOptions,
    config_parameters: Mapping[str, str],
) -> RedshiftServerless:
    """Namespace and workgroup.

    - the admin password is generated and kept by Redshift in Secrets Manager, encrypted
      with ``encryption_key`` like the namespace's data;
    - one IAM role (the namespace's default) for COPY and Spectrum: it reads the data
      lake buckets and their Glue databases;
    - the workgroup in ``subnets``, not publicly accessible, with enhanced VPC routing
      (COPY traffic stays in the VPC) and ``config_parameters``;
    - the namespace follows the stateful removal switch (it holds the warehouse's data).
    """
    stack = Stack.of(scope)
    # Namespaces and workgroups are named apart: one unique name serves both.
    default_name = lowercase_name(scope, max_length=64)
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.CompositePrincipal(
            iam.ServicePrincipal("redshift.amazonaws.com"),
            iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
        ),
        description=f"COPY and Spectrum role of the Redshift namespace of {scope.node.path}",
    )
    for bucket in data_lake_buckets:
        grant_objects(role, bucket)
    if databases:
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="SpectrumReadsTheCatalog",
            actions=list(CATALOG_READ_ACTIONS),
            resources=catalog_resource_arns(stack, databases),
        ))
    namespace = redshift.CfnNamespace(
        scope,
        "Namespace",
        namespace_name=options.namespace_name or default_name,
        db_name=options.database_name,
        admin_username=options.admin_username,
        manage_admin_password=True,
        admin_password_secret_kms_key_id=encryption_key.key_arn,
        kms_key_id=encryption_key.key_arn,
        iam_roles=[role.role_arn],
        default_iam_role_arn=role.role_arn,
        log_exports=list(options.log_exports),
    )
    namespace.apply_removal_policy(stateful_removal_policy(scope))
    security_group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"Redshift Serverless workgroup of {scope.node.path}",
        allow_all_outbound=True,
    )
    workgroup = redshift.CfnWorkgroup(
        scope,
        "Workgroup",
        workgroup_name=options.workgroup_name or default_name,
        namespace_name=namespace.namespace_name,
        base_capacity=options.base_capacity,
        max_capacity=options.max_capacity,
        port=options.port,
        publicly_accessible=False,
        enhanced_vpc_routing=True,
        subnet_ids=subnets.subnet_ids,
        security_group_ids=[security_group.security_group_id],
        config_parameters=[
            redshift.CfnWorkgroup.ConfigParameterProperty(parameter_key=key, parameter_value=value)
            for key, value in sorted(config_parameters.items())
        ],
    )
    workgroup.node.add_dependency(namespace)
    acknowledge_wildcards(
        role, object_wildcards(data_lake_buckets),
        "COPY and Spectrum read any object of the raw and curated zones: the tables users "
        "load or define are not known in advance.",
    )
    acknowledge_wildcards(
        role, table_wildcards(databases),
        "Spectrum reads any table of the raw and curated Glue databases: tables are "
        "created by crawlers and jobs, their names are not known in advance.",
    )
    return RedshiftServerless(
        namespace=namespace, workgroup=workgroup, role=role, security_group=security_group
    )
