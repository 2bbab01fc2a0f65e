"""MSK Serverless: an IAM-authenticated Kafka cluster reachable from one client group."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_msk as msk
from constructs import Construct

from .._foundation.regions import available_in_some_regions_only
from ._common import lowercase_name
from .options import MSK_IAM_PORT, MskOptions


@dataclass(frozen=True)
class MskServerless:
    cluster: msk.CfnServerlessCluster
    cluster_name: str
    security_group: ec2.SecurityGroup
    client_security_group: ec2.SecurityGroup


def build_msk(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SelectedSubnets,
    options: MskOptions,
    removal_policy: RemovalPolicy,
) -> MskServerless:
    """The cluster in ``subnets``; only members of the client security group reach it,
    on the SASL/IAM port, and every client authenticates with IAM (no unauthenticated
    or SCRAM access). It follows the removal switch: its topics hold data."""
    cluster_name = options.cluster_name or lowercase_name(scope, max_length=64)
    client_security_group = ec2.SecurityGroup(
        scope, "ClientSecurityGroup", vpc=vpc, allow_all_outbound=True,
        description=f"Clients of the MSK Serverless cluster of {scope.node.path}",
    )
    security_group = ec2.SecurityGroup(
        scope, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
        description=f"MSK Serverless cluster of {scope.node.path}",
    )
    security_group.add_ingress_rule(
        client_security_group, ec2.Port.tcp(MSK_IAM_PORT), "Kafka clients (SASL/IAM over TLS)"
    )
    cluster = msk.CfnServerlessCluster(
        scope,
        "Cluster",
        cluster_name=cluster_name,
        client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
            sasl=msk.CfnServerlessCluster.SaslProperty(
                iam=msk.CfnServerlessCluster.IamProperty(enabled=True)
            )
        ),
        vpc_configs=[msk.CfnServerlessCluster.VpcConfigProperty(
            subnet_ids=subnets.subnet_ids,
            security_groups=[security_group.security_group_id],
        )],
    )
    cluster.apply_removal_policy(removal_policy)
    available_in_some_regions_only(cluster)
    return MskServerless(
        cluster=cluster, cluster_name=cluster_name, security_group=security_group,
        client_security_group=client_security_group,
    )
