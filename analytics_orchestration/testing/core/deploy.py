"""Creating a template's resources, in dependency order, through the services' handlers.

Each service module contributes resource handlers (``resource_handlers()``): a handler
receives resolved properties and returns the value of ``Ref`` and the ``Fn::GetAtt``
attributes. Types in :data:`NO_OP_TYPES` only matter for permissions or operations on AWS
(IAM policies, alarms, the CDK's own custom resources) and are recorded without being
created; any other unknown type raises :class:`UnsupportedResourceError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import DeployedResource, generated_name
from analytics_orchestration.testing.core.template import Resolver, StackTemplate, creation_order
from analytics_orchestration.testing.exceptions import (
    UnsupportedIntegrationError,
    UnsupportedResourceError,
)

Handler = Callable[[StackTemplate, str, dict[str, Any]], tuple[Any, dict[str, Any]]]
"""Creates one resource from resolved properties; returns its ``Ref`` value and attributes."""

Observer = Callable[[str, str, Mapping[str, Any], Any, Mapping[str, Any]], None]
"""Told of every deployed resource (type, logical id, resolved properties, ``Ref``,
attributes), no-op types included: IAM indexes the policies this way."""

NO_OP_TYPES: frozenset[str] = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::Logs::SubscriptionFilter",
        "AWS::KMS::Alias",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Events::Archive",
        "AWS::Lambda::LayerVersion",
        "Custom::S3AutoDeleteObjects",
        "Custom::LogRetention",
    }
)
"""Types deployed as no-ops: they change permissions, telemetry or deletion, not behaviour."""


class Deployer:
    """Creates resources for one harness from the handler table the services contribute."""

    def __init__(self, kernel: Kernel, handlers: Mapping[str, Handler],
                 observers: Sequence[Observer] = (),
                 after_stack: Sequence[Callable[[], None]] = ()) -> None:
        self.kernel = kernel
        self.handlers = dict(handlers)
        self.observers = tuple(observers)
        self.after_stack = tuple(after_stack)
        """Run once a whole stack is deployed (checks that need every policy in place)."""

    def create(self, stack: StackTemplate, logical_id: str, resource_type: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Create one resource; return its ``Ref`` value and attributes."""
        handler = self.handlers.get(resource_type)
        if handler is not None:
            return handler(stack, logical_id, props)
        if resource_type in NO_OP_TYPES or resource_type in self.kernel.ignore_resource_types:
            return self.no_op(stack, logical_id, resource_type, props)
        raise UnsupportedResourceError(resource_type, logical_id)

    def no_op(self, stack: StackTemplate, logical_id: str, resource_type: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Record a resource without creating anything; attributes shaped like AWS's."""
        kernel = self.kernel
        service = resource_type.split("::")[1].lower() if "::" in resource_type else "custom"
        arn = kernel.arn(service, f"{logical_id}")
        if resource_type == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName") or generated_name(stack.stack_name, logical_id, 512)
            arn = kernel.arn("logs", f"log-group:{name}:*")
            return name, {"Arn": arn}
        if resource_type == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName") or generated_name(stack.stack_name,
                                                                    logical_id, 128)
            arn = f"arn:aws:iam::{kernel.account_id}:policy/{name}"
            return arn, {"PolicyArn": arn}
        if resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            # Ref is the alarm's name; its ARN ends in alarm:NAME (what aws:SourceArn
            # conditions of the topics and keys its actions publish to match).
            name = props.get("AlarmName") or generated_name(stack.stack_name, logical_id, 255)
            return name, {"Arn": kernel.arn("cloudwatch", f"alarm:{name}")}
        if resource_type == "AWS::Lambda::LayerVersion":
            name = props.get("LayerName") or logical_id
            arn = kernel.arn("lambda", f"layer:{name}:1")
            return arn, {"LayerVersionArn": arn}
        return logical_id, {"Arn": arn}

    def deploy(self, source: StackTemplate, parameters: Mapping[str, Any] | None) -> None:
        """Create every resource of ``source`` (conditions honoured) and register it."""
        kernel = self.kernel
        if "AWS::NestedStack" in str(source.template.get("Transform", "")):
            raise UnsupportedIntegrationError("template transform")
        pseudo = {
            "AWS::AccountId": kernel.account_id,
            "AWS::Region": kernel.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": source.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{kernel.region}:{kernel.account_id}:"
                            f"stack/{source.stack_name}/{uuid.uuid4()}",
        }
        resolver = Resolver(source.template, pseudo, parameters)
        resources = source.resources
        for logical_id in creation_order(resources):
            spec = resources[logical_id]
            condition = spec.get("Condition")
            if condition and not resolver.condition(condition):
                continue
            resource_type = str(spec["Type"])
            if resource_type == "AWS::CloudFormation::Stack":
                raise UnsupportedIntegrationError("nested stacks (AWS::CloudFormation::Stack)")
            props = resolver.resolve(spec.get("Properties", {}))
            ref, attrs = self.create(source, logical_id, resource_type, props)
            for observe in self.observers:
                observe(resource_type, logical_id, props, ref, attrs)
            resolver.refs[logical_id] = ref
            resolver.attrs[logical_id] = attrs
            kernel.registry.add(DeployedResource(
                stack_name=source.stack_name, logical_id=logical_id,
                resource_type=resource_type, physical_id=str(ref),
                path=source.paths.get(logical_id), attributes=attrs))
        for check in self.after_stack:
            check()
