"""OpenSearch Serverless: a collection and its encryption, network and data policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from .._foundation.regions import available_in_some_regions_only
from ._common import lowercase_name
from .options import (
    OPENSEARCH_COLLECTION_PERMISSIONS,
    OPENSEARCH_INDEX_PERMISSIONS,
    OpenSearchOptions,
)

#: Longest policy and VPC endpoint names OpenSearch Serverless accepts.
_POLICY_NAME_LENGTH = 32


@dataclass(frozen=True)
class OpenSearchServerless:
    collection: aoss.CfnCollection
    encryption_policy: aoss.CfnSecurityPolicy
    network_policy: aoss.CfnSecurityPolicy
    data_access_policy: aoss.CfnAccessPolicy
    vpc_endpoint: aoss.CfnVpcEndpoint | None
    endpoint_security_group: ec2.SecurityGroup | None


def build_opensearch(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    vpc: ec2.IVpc | None,
    subnets: ec2.SelectedSubnets | None,
    vpc_cidr: str | None,
    options: OpenSearchOptions,
    removal_policy: RemovalPolicy,
) -> OpenSearchServerless:
    """The collection, encrypted with ``encryption_key``.

    Reachable through its own VPC endpoint in ``subnets`` (HTTPS from the VPC's CIDR)
    and, only with ``allow_public_access``, from the internet; the data access policy
    lets exactly ``options.data_access_principals`` use its indexes, and each of them is
    granted ``aoss:APIAccessAll`` on it.
    """
    name = options.collection_name
    stack = Stack.of(scope)
    resources = [f"collection/{name}"]
    encryption_policy = aoss.CfnSecurityPolicy(
        scope,
        "EncryptionPolicy",
        name=_policy_name(name, "enc"),
        type="encryption",
        description=f"Customer-managed key for {name}",
        policy=stack.to_json_string({
            "Rules": [{"ResourceType": "collection", "Resource": resources}],
            "AWSOwnedKey": False,
            "KmsARN": encryption_key.key_arn,
        }),
    )
    vpc_endpoint = None
    endpoint_security_group = None
    if vpc is not None and subnets is not None and vpc_cidr is not None:
        endpoint_security_group = ec2.SecurityGroup(
            scope, "EndpointSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"VPC endpoint of the OpenSearch collection of {scope.node.path}",
        )
        endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        vpc_endpoint = aoss.CfnVpcEndpoint(
            scope,
            "VpcEndpoint",
            name=_policy_name(lowercase_name(scope, max_length=_POLICY_NAME_LENGTH), "vpce"),
            vpc_id=vpc.vpc_id,
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[endpoint_security_group.security_group_id],
        )
    network_rule: dict[str, object] = {
        "Rules": [
            {"ResourceType": "collection", "Resource": resources},
            {"ResourceType": "dashboard", "Resource": resources},
        ],
        "AllowFromPublic": options.allow_public_access,
    }
    if vpc_endpoint is not None:
        network_rule["SourceVPCEs"] = [vpc_endpoint.attr_id]
    network_policy = aoss.CfnSecurityPolicy(
        scope,
        "NetworkPolicy",
        name=_policy_name(name, "net"),
        type="network",
        description=f"Who can reach {name} over the network",
        policy=stack.to_json_string([network_rule]),
    )
    principals = list(options.data_access_principals)
    data_access_policy = aoss.CfnAccessPolicy(
        scope,
        "DataAccessPolicy",
        name=_policy_name(name, "data"),
        type="data",
        description=f"Who can use the indexes of {name}",
        policy=stack.to_json_string([{
            "Rules": [
                {"ResourceType": "collection", "Resource": resources,
                 "Permission": list(OPENSEARCH_COLLECTION_PERMISSIONS)},
                {"ResourceType": "index", "Resource": [f"index/{name}/*"],
                 "Permission": list(OPENSEARCH_INDEX_PERMISSIONS)},
            ],
            "Principal": [role.role_arn for role in principals],
        }]),
    )
    collection = aoss.CfnCollection(
        scope,
        "Collection",
        name=name,
        type=options.collection_type.value,
        description=f"OpenSearch Serverless collection of {scope.node.path}",
        standby_replicas="ENABLED" if options.standby_replicas else "DISABLED",
    )
    collection.node.add_dependency(encryption_policy)
    collection.node.add_dependency(network_policy)
    collection.apply_removal_policy(removal_policy)
    _grant_api_access(principals, collection)
    for resource in (encryption_policy, network_policy, data_access_policy, vpc_endpoint,
                     collection):
        if resource is not None:
            available_in_some_regions_only(resource)
    return OpenSearchServerless(
        collection=collection, encryption_policy=encryption_policy,
        network_policy=network_policy, data_access_policy=data_access_policy,
        vpc_endpoint=vpc_endpoint, endpoint_security_group=endpoint_security_group,
    )


def _grant_api_access(principals: Sequence[iam.IRole], collection: aoss.CfnCollection) -> None:
    for role in principals:
        iam.Grant.add_to_principal(
            grantee=role, actions=["aoss:APIAccessAll"], resource_arns=[collection.attr_arn]
        )


def _policy_name(name: str, suffix: str) -> str:
    """``<name>-<suffix>`` within the 32-character limit of policy and endpoint names."""
    return f"{name[: _POLICY_NAME_LENGTH - len(suffix) - 1]}-{suffix}"
