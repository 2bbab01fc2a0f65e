"""The IAM policies of the deployed stacks, indexed by what they are attached to.

Filled while templates deploy (``services.iam_enforcement.Iam.record``) and read by the
action table (:mod:`.iam_actions`) and the evaluation (:mod:`.iam_engine`): roles and their
inline, customer-managed and AWS-managed policies; resource policies; key policies and which
resource uses which key; and who runs what (a function's role, a state machine's role, a
rule target's role, a pipe's role, a subscription's role). Pure data: nothing here calls
moto or boto3.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.iam_engine import ContextValue, Policy

# AWS managed policies the library attaches, as published (policy version in the comment).
AWS_MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
    # (version v1)
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}],
    },
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonAPIGatewayPushToCloudWatchLogs.html
    # (version v1)
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
            "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents",
            "logs:FilterLogEvents"]}],
    },
}


@dataclass(frozen=True)
class ActionRequest:
    """One IAM action a call needs, on one resource (a call may need several)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    kms: bool = False
    """An implied KMS use (the service reports its own KMS error code)."""


@dataclass
class PolicyIndex:
    """Every policy of the deployed stacks, by what it is attached to (physical ARNs)."""

    role_arns: dict[str, str] = field(default_factory=dict)
    """Role name -> role ARN."""
    inline: dict[str, list[Policy]] = field(default_factory=dict)
    """Role name -> inline policies (``Policies`` and ``AWS::IAM::Policy``)."""
    attached: dict[str, list[str]] = field(default_factory=dict)
    """Role name -> attached managed policy ARNs."""
    managed: dict[str, Policy] = field(default_factory=dict)
    """Customer-managed policy ARN -> policy."""
    resource_policies: dict[str, list[Policy]] = field(default_factory=dict)
    """Resource ARN (queue, topic, bucket, bus, table, function) -> resource policies."""
    key_policies: dict[str, Policy] = field(default_factory=dict)
    """Key ARN -> key policy."""
    key_ids: dict[str, str] = field(default_factory=dict)
    """Key id, ARN or alias name -> key ARN."""
    encryption: dict[str, str] = field(default_factory=dict)
    """Resource ARN -> the customer-managed key ARN (or key reference) encrypting it."""
    function_roles: dict[str, str] = field(default_factory=dict)
    """Function name -> execution role ARN."""
    state_machine_roles: dict[str, str] = field(default_factory=dict)
    target_roles: dict[tuple[str, str], str] = field(default_factory=dict)
    """(rule ARN, target ARN) -> the role EventBridge assumes for that target."""
    subscription_roles: dict[str, str] = field(default_factory=dict)
    """Subscription endpoint ARN -> ``SubscriptionRoleArn`` (Firehose subscriptions)."""
    pipe_roles: dict[str, str] = field(default_factory=dict)
    unknown_managed: set[str] = field(default_factory=set)
    workgroup_arns: dict[str, str] = field(default_factory=dict)
    """Redshift Serverless workgroup name -> ARN (the ARN carries the workgroup's id)."""
    statement_owners: dict[str, str] = field(default_factory=dict)
    """Data API statement id -> the ``aws:userid`` that ran it
    (``redshift-data:statement-owner-iam-userid``)."""

    def identity_policies(self, role_arn: str) -> list[Policy]:
        """Inline and managed policies of a role (by ARN); unknown ones are remembered."""
        name = role_arn.rsplit("/", 1)[-1]
        found = list(self.inline.get(name, []))
        for arn in self.attached.get(name, []):
            normal = arn.replace("arn:aws-cn:", "arn:aws:").replace("arn:aws-us-gov:", "arn:aws:")
            if normal in self.managed:
                found.append(self.managed[normal])
            elif normal in AWS_MANAGED_POLICIES:
                found.append(Policy(AWS_MANAGED_POLICIES[normal],
                                    f"AWS managed policy {normal.rsplit('/', 1)[-1]}"))
            else:
                self.unknown_managed.add(arn)
        return found

    def key_arn(self, reference: str | None) -> str | None:
        """The ARN of a key given as id, ARN or alias; None for AWS managed keys."""
        if not reference:
            return None
        if reference in self.key_ids:
            return self.key_ids[reference]
        if "alias/aws/" in reference:
            return None  # an AWS managed key: its policy allows the account through the service
        return self.key_ids.get(reference.rsplit("/", 1)[-1])


def policy_document(value: Any) -> Mapping[str, Any]:
    """A policy document given as JSON text or as a mapping (anything else: empty)."""
    if isinstance(value, str):
        loaded: Mapping[str, Any] = json.loads(value)
        return loaded
    return value if isinstance(value, Mapping) else {}


def queue_arn_from_url(url: str, region: str) -> str:
    """``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`` -> the queue's ARN."""
    parts = url.rstrip("/").split("/")
    host = parts[2] if len(parts) > 2 else ""
    host_region = host.split(".")[1] if host.startswith("sqs.") else region
    return f"arn:aws:sqs:{host_region}:{parts[-2]}:{parts[-1]}"
