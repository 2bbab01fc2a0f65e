"""What every service role of the library needs: a dependency on its policies only, and
the one acknowledgment for actions that take no resource."""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IStableListProducer, Lazy, Stack
from aws_cdk import aws_iam as iam

from .compliance import acknowledge


@jsii.implements(IStableListProducer)
class _RolePolicyLogicalIds:
    """Produces, at synth, the logical ids of the policies attached to a role."""

    def __init__(self, role: iam.Role) -> None:
        self._role = role

    def produce(self) -> list[str]:
        stack = Stack.of(self._role)
        return [
            stack.resolve(stack.get_logical_id(child))
            for child in self._role.node.find_all()
            if isinstance(child, iam.CfnPolicy)
        ]


def depend_on_role_policies_only(resource: CfnResource, role: iam.Role) -> None:
    """Keep ``resource``'s DependsOn on its role's policies, not on the role itself.

    The resource already references the role (``GetAtt``), so CDK's explicit dependency
    on the role is redundant (cfn-lint W3005); the one on the policies is what makes sure
    it can use its permissions as soon as it exists. Resolved at synth, so policies
    granted after this call count too.
    """
    resource.add_override("DependsOn", Lazy.list(_RolePolicyLogicalIds(role)))


def acknowledge_resourceless_actions(role: iam.IRole, actions: str) -> None:
    """Acknowledge cdk-nag's ``Resource::*`` finding on ``role``'s default policy.

    Only for ``actions`` that AWS accepts on no resource but ``*`` (X-Ray, CloudWatch Logs
    delivery); every other grant of the library names its resource.
    """
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is not None:
        acknowledge(
            policy,
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            f"{actions} accept no resource but '*'.",
        )
