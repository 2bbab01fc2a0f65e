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
from typing import Any, Protocol

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
        # Every foundation table is in its stack's backup plan: recovery points are made
        # by AWS Backup on a schedule, outside anything a test observes.
        "AWS::Backup::BackupVault",
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
    }
)
"""Types deployed as no-ops: they change permissions, telemetry or deletion, not behaviour."""


class CustomResources(Protocol):
    """What the deployer needs of the provider-framework emulation (a service's)."""

    def is_provider_backed(self, props: Mapping[str, Any]) -> bool: ...

    def request(self, request_type: str, stack_name: str, logical_id: str,
                resource_type: str, props: dict[str, Any], *,
                old_props: Mapping[str, Any] | None = None,
                physical_id: str | None = None) -> tuple[Any, dict[str, Any]]: ...


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or (
        resource_type == "AWS::CloudFormation::CustomResource")


class NoOpAttributes(dict[str, Any]):
    """The attributes of a resource deployed as a no-op: every ``Fn::GetAtt`` resolves.

    A no-op resource (an ignored type, an alarm...) is often referenced by others (an ECS
    service's ``Name`` in an autoscaling target, a log group's ``Arn``); answering with a
    stand-in value keeps ``ignore_resource_types`` working as its advice promises, instead
    of failing later on a reference. Names end in the logical id, ARNs are shaped like ARNs.
    """

    def __init__(self, kernel: Kernel, service: str, logical_id: str,
                 known: Mapping[str, Any]) -> None:
        super().__init__(known)
        self._kernel = kernel
        self._service = service
        self._logical_id = logical_id

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> Any:
        if key.endswith("Arn"):
            return self._kernel.arn(self._service, self._logical_id)
        if key.endswith(("Name", "Id")):
            return self._logical_id
        return f"{self._logical_id}.{key}"


class Deployer:
    """Creates resources for one harness from the handler table the services contribute."""

    def __init__(self, kernel: Kernel, handlers: Mapping[str, Handler],
                 observers: Sequence[Observer] = (),
                 after_stack: Sequence[Callable[[], None]] = (),
                 custom_resources: CustomResources | None = None) -> None:
        self.kernel = kernel
        self.custom_resources = custom_resources
        """Provider-framework custom resources (Create, Update and Delete requests)."""
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
        custom = self.custom_resources
        if custom is not None and _is_custom(resource_type) and custom.is_provider_backed(props):
            return custom.request("Create", stack.stack_name, logical_id, resource_type, props)
        if resource_type in NO_OP_TYPES or resource_type in self.kernel.ignore_resource_types:
            return self.no_op(stack, logical_id, resource_type, props)
        raise UnsupportedResourceError(resource_type, logical_id)

    def no_op(self, stack: StackTemplate, logical_id: str, resource_type: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Record a resource without creating anything; attributes shaped like AWS's."""
        kernel = self.kernel
        service = resource_type.split("::")[1].lower() if "::" in resource_type else "custom"
        arn = kernel.arn(service, f"{logical_id}")
        ref: Any = logical_id
        known: dict[str, Any] = {"Arn": arn}
        if resource_type == "AWS::Logs::LogGroup":
            ref = props.get("LogGroupName") or generated_name(stack.stack_name, logical_id, 512)
            known = {"Arn": kernel.arn("logs", f"log-group:{ref}:*")}
        elif resource_type == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName") or generated_name(stack.stack_name,
                                                                    logical_id, 128)
            ref = f"arn:aws:iam::{kernel.account_id}:policy/{name}"
            known = {"PolicyArn": ref}
        elif resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            # Ref is the alarm's name; its ARN ends in alarm:NAME (what aws:SourceArn
            # conditions of the topics and keys its actions publish to match).
            ref = props.get("AlarmName") or generated_name(stack.stack_name, logical_id, 255)
            known = {"Arn": kernel.arn("cloudwatch", f"alarm:{ref}")}
        elif resource_type == "AWS::Lambda::LayerVersion":
            name = props.get("LayerName") or logical_id
            ref = kernel.arn("lambda", f"layer:{name}:1")
            known = {"LayerVersionArn": ref}
        elif resource_type == "AWS::Backup::BackupVault":
            ref = props.get("BackupVaultName") or logical_id
            known = {"BackupVaultName": ref,
                     "BackupVaultArn": kernel.arn("backup", f"backup-vault:{ref}")}
        elif resource_type == "AWS::Backup::BackupPlan":
            known = {"BackupPlanId": logical_id, "BackupPlanArn": arn, "VersionId": "1"}
        return ref, NoOpAttributes(kernel, service, logical_id, known)

    def _resolver(self, source: StackTemplate,
                  parameters: Mapping[str, Any] | None) -> Resolver:
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
        return Resolver(source.template, pseudo, parameters)

    def deploy(self, source: StackTemplate, parameters: Mapping[str, Any] | None) -> None:
        """Create every resource of ``source`` (conditions honoured) and register it."""
        kernel = self.kernel
        resolver = self._resolver(source, parameters)
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
                path=source.paths.get(logical_id), attributes=attrs, properties=props))
        for check in self.after_stack:
            check()

    def update(self, source: StackTemplate, parameters: Mapping[str, Any] | None) -> None:
        """Update a deployed stack to ``source``, as far as the harness updates anything.

        New resources are created; provider-framework custom resources whose resolved
        properties changed get an Update request (a new physical id is a replacement: the
        old resource gets a Delete once every update is done, as in CloudFormation's
        cleanup phase); custom resources no longer in the template get a Delete. Every
        other resource already deployed is kept as it is.
        """
        registry = self.kernel.registry
        deployed = {r.logical_id: r for r in registry.resources
                    if r.stack_name == source.stack_name}
        resolver = self._resolver(source, parameters)
        for logical_id, resource in deployed.items():
            resolver.refs[logical_id] = resource.physical_id
            resolver.attrs[logical_id] = resource.attributes
        resources = source.resources
        replaced: list[DeployedResource] = []
        for logical_id in creation_order(resources):
            spec = resources[logical_id]
            condition = spec.get("Condition")
            if condition and not resolver.condition(condition):
                continue
            resource_type = str(spec["Type"])
            props = resolver.resolve(spec.get("Properties", {}))
            old = deployed.get(logical_id)
            if old is None:
                ref, attrs = self.create(source, logical_id, resource_type, props)
            elif (self.custom_resources is not None and _is_custom(resource_type)
                  and self.custom_resources.is_provider_backed(props)
                  and props != old.properties):
                ref, attrs = self.custom_resources.request(
                    "Update", source.stack_name, logical_id, resource_type, props,
                    old_props=old.properties, physical_id=old.physical_id)
                if str(ref) != old.physical_id:
                    replaced.append(old)
                registry.resources.remove(old)
            else:
                continue
            for observe in self.observers:
                observe(resource_type, logical_id, props, ref, attrs)
            resolver.refs[logical_id] = ref
            resolver.attrs[logical_id] = attrs
            registry.add(DeployedResource(
                stack_name=source.stack_name, logical_id=logical_id,
                resource_type=resource_type, physical_id=str(ref),
                path=source.paths.get(logical_id), attributes=attrs, properties=props))
        removed = [r for logical_id, r in deployed.items() if logical_id not in resources]
        for old in [*replaced, *reversed(removed)]:
            self._delete_custom(old)
            if old in registry.resources:
                registry.resources.remove(old)

    def delete(self, stack_name: str) -> None:
        """Delete a stack: its provider-framework custom resources get Delete requests, in
        reverse creation order; then every resource of the stack leaves the registry."""
        registry = self.kernel.registry
        resources = [r for r in registry.resources if r.stack_name == stack_name]
        for resource in reversed(resources):
            self._delete_custom(resource)
        registry.resources[:] = [r for r in registry.resources if r.stack_name != stack_name]

    def _delete_custom(self, resource: DeployedResource) -> None:
        custom = self.custom_resources
        if custom is None or not _is_custom(resource.resource_type) or (
                not custom.is_provider_backed(resource.properties)):
            return
        custom.request("Delete", resource.stack_name, resource.logical_id,
                       resource.resource_type, dict(resource.properties),
                       physical_id=resource.physical_id)
