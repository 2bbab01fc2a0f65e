"""VPCs for the patterns that run inside one: private subnets only, endpoints, flow logs."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnResource, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from .compliance import acknowledge
from .logs import log_group as build_log_group

DEFAULT_CIDR = "10.0.0.0/16"
_RESTRICT_SG_PROVIDER_ID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


def private_vpc(
    scope: Construct,
    construct_id: str,
    *,
    max_azs: int = 2,
    interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService] = (),
    flow_logs_key: kms.IKey | None = None,
    cidr: str = DEFAULT_CIDR,
) -> ec2.Vpc:
    """A VPC with isolated private subnets only: no internet gateway, no NAT.

    Workloads reach AWS services through endpoints: gateway endpoints for S3 and DynamoDB
    always, interface endpoints (private DNS, reachable from the VPC's CIDR only) for
    ``interface_endpoints``. Every flow (accepted and rejected) is logged to a log group
    with finite retention, encrypted with ``flow_logs_key`` (else the stack's shared
    customer-managed key). The default
    security group is stripped of its rules.

    ``max_azs`` above 2 needs an environment or an ``availability_zones`` override on an
    environment-agnostic stack, which CDK otherwise assumes has 2 zones.
    """
    vpc = ec2.Vpc(
        scope,
        construct_id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        max_azs=max_azs,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20
            )
        ],
        restrict_default_security_group=True,
        gateway_endpoints={
            "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            "DynamoDB": ec2.GatewayVpcEndpointOptions(
                service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
            ),
        },
    )
    flow_log_group = build_log_group(
        scope, f"{construct_id}FlowLogs", encryption_key=flow_logs_key
    )
    vpc.add_flow_log(
        "FlowLog",
        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
        traffic_type=ec2.FlowLogTrafficType.ALL,
    )
    for service in interface_endpoints:
        endpoint = vpc.add_interface_endpoint(
            _endpoint_id(service),
            service=service,
            private_dns_enabled=True,
            open=False,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )
        # The literal CIDR (not the VPC's GetAtt) lets cdk-nag check the rule.
        endpoint.connections.allow_from(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
    _drop_redundant_provider_dependency(Stack.of(scope))
    return vpc


def _drop_redundant_provider_dependency(stack: Stack) -> None:
    """Remove the DependsOn of CDK's restrict-default-SG handler on its role.

    The handler already references the role with GetAtt, so the explicit dependency is
    redundant (cfn-lint W3005).
    """
    provider = stack.node.try_find_child(_RESTRICT_SG_PROVIDER_ID)
    handler = provider.node.try_find_child("Handler") if provider else None
    if isinstance(handler, CfnResource):
        handler.add_deletion_override("DependsOn")
        acknowledge(
            handler,
            "cdk-validator-cfnguard::lambda_inside_vpc_check",
            "CDK's restrict-default-security-group handler runs only during deployment and "
            "calls the EC2 API to revoke the default group's rules; it reaches nothing "
            "inside the VPC it configures.",
        )


def _endpoint_id(service: ec2.InterfaceVpcEndpointAwsService) -> str:
    """A construct id from the endpoint's short name (``ecr.dkr`` -> ``EcrDkrEndpoint``)."""
    short = service.short_name
    return "".join(part.capitalize() for part in short.replace("-", ".").split(".")) + "Endpoint"


def literal_cidr(vpc: ec2.IVpc) -> str:
    """``vpc``'s CIDR as written where it was built, else its (deploy-time) ``CidrBlock``.

    An ingress rule from the literal CIDR can be checked by the rule packs (a ``GetAtt``
    cannot: cdk-nag then reports the rule as open); the value is the same once deployed.
    """
    cfn_vpc = vpc.node.default_child
    if isinstance(cfn_vpc, ec2.CfnVPC) and isinstance(cfn_vpc.cidr_block, str) and not (
            Token.is_unresolved(cfn_vpc.cidr_block)):
        return cfn_vpc.cidr_block
    return vpc.vpc_cidr_block
