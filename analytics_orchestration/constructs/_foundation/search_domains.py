"""OpenSearch Service domains with the library's secure and fault-tolerant defaults.

Built with the L1 ``CfnDomain`` on purpose: the L2 ``Domain`` publishes logs through an
``AwsCustomResource`` (a Lambda function that writes the log group's resource policy),
which the library's rule packs reject and the offline harness cannot run; here the
resource policy is an ``AWS::Logs::ResourcePolicy`` of the template.

Defaults (each a finding of the strict profile's packs when missing):

- private: in the VPC subnets given (one per Availability Zone), a security group of its
  own allowing HTTPS from the VPC only; no public endpoint;
- encrypted at rest with the customer-managed key, node-to-node encryption, HTTPS only with
  TLS 1.2 at least;
- fine-grained access control with an IAM master user (no internal user database, no
  password anywhere), and a domain access policy that names the account's principals only
  (fine-grained access control then decides per index);
- fault tolerant: zone awareness across every subnet's zone, one data node per zone at
  least, three dedicated master nodes;
- slow search, slow index, error and audit logs published to one encrypted log group.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from .compliance import acknowledge
from .logs import log_group

__all__ = ["DOMAIN_LOG_TYPES", "SearchDomain", "domain_arn", "secure_search_domain"]

#: Every log the domain publishes to CloudWatch Logs.
DOMAIN_LOG_TYPES = ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS")
#: Dedicated master nodes: three is the count AWS recommends (a quorum survives one loss).
DEDICATED_MASTER_NODES = 3


@dataclasses.dataclass(frozen=True)
class SearchDomain:
    """What :func:`secure_search_domain` built."""

    domain: opensearch.CfnDomain
    domain_name: str
    domain_arn: str
    security_group: ec2.SecurityGroup
    log_group: logs.LogGroup
    log_policy: logs.CfnResourcePolicy


def domain_arn(scope: Construct, domain_name: str) -> str:
    """The ARN of the domain named ``domain_name`` in ``scope``'s account and Region.

    Built from the name, not read from the domain: the domain's own access policy and the
    roles that trust it name this ARN, and a ``GetAtt`` there would be a cycle.
    """
    return Stack.of(scope).format_arn(service="es", resource="domain", resource_name=domain_name,
                                      arn_format=ArnFormat.SLASH_RESOURCE_NAME)


def secure_search_domain(
    scope: Construct,
    construct_id: str,
    *,
    domain_name: str,
    engine_version: str,
    vpc: ec2.IVpc,
    subnets: ec2.SelectedSubnets,
    vpc_cidr: str,
    encryption_key: kms.IKey,
    master_user: iam.IRole,
    instance_type: str,
    data_nodes: int,
    dedicated_master_type: str,
    volume_size_gib: int,
    removal_policy: RemovalPolicy,
) -> SearchDomain:
    """A private, encrypted, fault-tolerant domain named ``domain_name`` (see the module).

    ``subnets`` decide the zones: zone awareness spans one zone per subnet (2 or 3), and
    ``data_nodes`` must be a multiple of that count (checked by the caller).
    """
    stack = Stack.of(scope)
    arn = domain_arn(scope, domain_name)
    zones = len(subnets.subnet_ids)
    security_group = ec2.SecurityGroup(
        scope, f"{construct_id}SecurityGroup", vpc=vpc, allow_all_outbound=False,
        description=f"OpenSearch domain {domain_name}: HTTPS from the VPC",
    )
    security_group.add_ingress_rule(ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443),
                                    "HTTPS from the VPC")
    group = log_group(scope, f"{construct_id}Logs", encryption_key=encryption_key)
    log_policy = logs.CfnResourcePolicy(
        scope, f"{construct_id}LogPolicy",
        policy_name=f"opensearch-{domain_name}-logs",
        policy_document=stack.to_json_string({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "OpenSearchPublishesLogs",
                "Effect": "Allow",
                "Principal": {"Service": "es.amazonaws.com"},
                "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                "Resource": f"{group.log_group_arn}:*",
                "Condition": {"StringEquals": {"aws:SourceAccount": stack.account},
                              "ArnLike": {"aws:SourceArn": arn}},
            }],
        }),
    )
    publishing = {
        kind: opensearch.CfnDomain.LogPublishingOptionProperty(
            cloud_watch_logs_log_group_arn=group.log_group_arn, enabled=True)
        for kind in DOMAIN_LOG_TYPES
    }
    domain = opensearch.CfnDomain(
        scope, construct_id,
        domain_name=domain_name,
        engine_version=engine_version,
        cluster_config=opensearch.CfnDomain.ClusterConfigProperty(
            instance_type=instance_type,
            instance_count=data_nodes,
            zone_awareness_enabled=True,
            zone_awareness_config=opensearch.CfnDomain.ZoneAwarenessConfigProperty(
                availability_zone_count=zones),
            dedicated_master_enabled=True,
            dedicated_master_type=dedicated_master_type,
            dedicated_master_count=DEDICATED_MASTER_NODES,
        ),
        ebs_options=opensearch.CfnDomain.EBSOptionsProperty(
            ebs_enabled=True, volume_type="gp3", volume_size=volume_size_gib),
        vpc_options=opensearch.CfnDomain.VPCOptionsProperty(
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[security_group.security_group_id]),
        encryption_at_rest_options=opensearch.CfnDomain.EncryptionAtRestOptionsProperty(
            enabled=True, kms_key_id=encryption_key.key_id),
        node_to_node_encryption_options=(
            opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(enabled=True)),
        domain_endpoint_options=opensearch.CfnDomain.DomainEndpointOptionsProperty(
            enforce_https=True, tls_security_policy="Policy-Min-TLS-1-2-2019-07"),
        advanced_security_options=opensearch.CfnDomain.AdvancedSecurityOptionsInputProperty(
            enabled=True, internal_user_database_enabled=False,
            master_user_options=opensearch.CfnDomain.MasterUserOptionsProperty(
                master_user_arn=master_user.role_arn)),
        access_policies={
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AccountPrincipalsThenFineGrainedAccessControl",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{stack.partition}:iam::{stack.account}:root"},
                "Action": "es:ESHttp*",
                "Resource": f"{arn}/*",
            }],
        },
        log_publishing_options=publishing,
    )
    domain.node.add_dependency(log_policy)
    acknowledge(
        domain, "AwsSolutions::AwsSolutions-OS3",
        "A VPC domain cannot take an IP-based access policy (AWS: security groups enforce "
        "IP-based access there); its security group admits HTTPS from the VPC's CIDR only, "
        "and fine-grained access control authorizes each principal.")
    domain.apply_removal_policy(removal_policy)
    return SearchDomain(domain=domain, domain_name=domain_name, domain_arn=arn,
                        security_group=security_group, log_group=group, log_policy=log_policy)

