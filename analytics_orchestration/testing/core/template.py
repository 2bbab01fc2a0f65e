"""Reading a synthesized stack and resolving CloudFormation intrinsics.

Why not moto's CloudFormation? It skips ``AWS::SNS::Subscription`` and
``AWS::SQS::QueuePolicy``, leaves ``Custom::S3BucketNotifications`` stuck in
``CREATE_IN_PROGRESS``, creates state machines in the non-executing backend, and needs every
asset zipped and uploaded first. Creating resources ourselves from the template costs one
small resolver (this module), gives every unsupported type a clear error, lets the Lambda
code run straight from the asset directory without zipping, and is faster (no CFN stack
bookkeeping, no asset upload).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics_orchestration.testing.exceptions import TemplateResolutionError

NO_VALUE = object()
"""Sentinel for ``AWS::NoValue``: the key or list item is dropped."""

_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class StackTemplate:
    """A synthesized stack as the harness needs it.

    ``assets`` maps the S3 object key a resource's ``Code``/``DefinitionS3Location`` points at
    to the asset's source directory or file inside the cloud assembly, read from the assembly's
    asset manifests, so no zip is built or uploaded.
    """

    stack_name: str
    template: Mapping[str, Any]
    assembly_dir: Path | None = None
    assets: Mapping[str, Path] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=dict)
    """Logical id -> construct path (e.g. ``MyStack/Ingestion/Ledger/Resource``)."""

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        """The template's ``Resources`` section."""
        res: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return res


def read_asset_manifests(assembly_dir: Path) -> dict[str, Path]:
    """Map every file asset's object key to its source path in the assembly directory."""
    assets: dict[str, Path] = {}
    for manifest in assembly_dir.glob("*.assets.json"):
        data = json.loads(manifest.read_text())
        for asset_hash, entry in data.get("files", {}).items():
            source = entry.get("source", {}).get("path")
            if not source:
                continue
            path = assembly_dir / source
            for dest in entry.get("destinations", {}).values():
                key = dest.get("objectKey")
                if key:
                    assets[key] = path
            assets.setdefault(f"{asset_hash}.zip", path)
            assets.setdefault(asset_hash, path)
    for child in assembly_dir.glob("asset.*"):
        stem = child.name.removeprefix("asset.")
        assets.setdefault(f"{stem}.zip", child)
    return assets


def paths_from_metadata(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> construct path from ``aws:cdk:path`` metadata, when synth emitted it."""
    found: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        path = resource.get("Metadata", {}).get("aws:cdk:path")
        if isinstance(path, str):
            found[logical_id] = path
    return found


def references(value: Any) -> set[str]:
    """Every logical id (or parameter) that ``value`` refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                local = set(inner[1]) if isinstance(inner, list) and len(inner) > 1 else set()
                if isinstance(text, str):
                    for match in _SUB_VAR.findall(text):
                        name = match.split(".")[0]
                        if name not in local:
                            found.add(name)
                if isinstance(inner, list) and len(inner) > 1:
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def creation_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Logical ids ordered so that every resource comes after what it references.

    Kahn's algorithm; ties keep template order so that runs are deterministic.
    """
    deps: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        needed = references(resource.get("Properties", {}))
        depends_on = resource.get("DependsOn", [])
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        needed |= set(depends_on)
        deps[logical_id] = {d for d in needed if d in resources and d != logical_id}
    order: list[str] = []
    done: set[str] = set()
    pending = list(resources)
    while pending:
        progressed = False
        for logical_id in list(pending):
            if deps[logical_id] <= done:
                order.append(logical_id)
                done.add(logical_id)
                pending.remove(logical_id)
                progressed = True
        if not progressed:
            raise TemplateResolutionError(
                f"circular references between resources: {', '.join(sorted(pending))}"
            )
    return order


class Resolver:
    """Resolves CloudFormation intrinsic functions against what has been created so far.

    ``refs`` and ``attrs`` are filled by the deployer as resources are created; a reference to
    a resource that does not exist yet is a bug in :func:`creation_order` or a skipped
    resource, and is reported with the logical id.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        pseudo: Mapping[str, str],
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.pseudo = dict(pseudo)
        self.refs: dict[str, Any] = {}
        self.attrs: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            if parameters and name in parameters:
                self.parameters[name] = parameters[name]
            elif "Default" in spec:
                self.parameters[name] = spec["Default"]
        self._conditions: dict[str, bool] = {}

    # -- conditions -------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        """Evaluate (and memoise) a named condition of the template."""
        if name not in self._conditions:
            spec = self.template.get("Conditions", {}).get(name)
            if spec is None:
                raise TemplateResolutionError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(spec))
        return self._conditions[name]

    # -- references -------------------------------------------------------------------
    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateResolutionError(f"Ref to {name!r}, which is not (yet) deployed")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        attrs = self.attrs.get(logical_id)
        if attrs is None:
            raise TemplateResolutionError(
                f"Fn::GetAtt on {logical_id!r}, which is not (yet) deployed"
            )
        if attribute not in attrs:
            raise TemplateResolutionError(
                f"Fn::GetAtt {logical_id}.{attribute}: attribute not provided by the harness "
                f"(known: {', '.join(sorted(attrs)) or 'none'})"
            )
        return attrs[attribute]

    def _sub(self, spec: Any) -> str:
        if isinstance(spec, list):
            text, local = spec[0], self.resolve(spec[1]) if len(spec) > 1 else {}
        else:
            text, local = spec, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and name.split(".")[0] not in self.pseudo:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(name))

        out = _SUB_VAR.sub(replace, text)
        return out.replace("${!", "${")

    # -- the walker -------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its value."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = (
                    arg if isinstance(arg, list) else str(arg).split(".", 1)
                )
                return self._get_att(logical_id, self.resolve(attribute))
            if key == "Fn::Join":
                sep, parts = arg
                return str(sep).join(_to_str(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Select":
                index, items = self.resolve(arg)
                return items[int(index)]
            if key == "Fn::Split":
                sep, text = self.resolve(arg)
                return str(text).split(sep)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return _to_str(left) == _to_str(right)
            if key == "Fn::Not":
                return not self.resolve(arg)[0]
            if key == "Fn::And":
                return all(self.resolve(arg))
            if key == "Fn::Or":
                return any(self.resolve(arg))
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(arg)).encode()).decode()
            if key == "Fn::GetAZs":
                region = self.pseudo["AWS::Region"]
                return [f"{region}a", f"{region}b", f"{region}c"]
            if key == "Fn::FindInMap":
                name, top, second = self.resolve(arg)[:3]
                try:
                    return self.template["Mappings"][name][top][second]
                except KeyError as exc:
                    raise TemplateResolutionError(
                        f"Fn::FindInMap {name}/{top}/{second} not found"
                    ) from exc
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg), separators=(",", ":"))
            if key == "Fn::Length":
                return len(self.resolve(arg))
            if key.startswith("Fn::"):
                raise TemplateResolutionError(f"intrinsic function {key} is not supported")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def sorted_unique(items: Iterable[str]) -> list[str]:
    """Sorted list without duplicates (used for stable error messages)."""
    return sorted(set(items))


_TEMPLATE_CACHE: dict[int, tuple[Any, StackTemplate]] = {}


def template_of_stack(stack: Any) -> StackTemplate:
    """Synthesize ``stack``'s app (once: CDK caches the assembly) and read what the harness needs.

    Construct paths come from walking the stack's construct tree, because plain ``App()``
    synthesis (outside the CDK CLI) emits no ``aws:cdk:path`` metadata. The result is cached
    per stack object: every jsii call costs a round trip to node, and tests deploy a
    module-scoped stack many times.
    """
    cached = _TEMPLATE_CACHE.get(id(stack))
    if cached is not None and cached[0] is stack:
        return cached[1]
    result = _read_stack(stack)
    _TEMPLATE_CACHE[id(stack)] = (stack, result)
    return result


def _read_stack(stack: Any) -> StackTemplate:
    import aws_cdk as cdk

    from analytics_orchestration.testing.exceptions import OfflineHarnessError

    stage = cdk.Stage.of(stack)
    if stage is None:
        raise OfflineHarnessError("the stack is not part of an App or Stage")
    assembly = stage.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template = dict(artifact.template)
    directory = Path(assembly.directory)
    paths = paths_from_metadata(template)
    if not paths:
        for construct in stack.node.find_all():
            if isinstance(construct, cdk.CfnElement) and cdk.Stack.of(construct) is stack:
                logical_id = stack.resolve(construct.logical_id)
                paths[str(logical_id)] = construct.node.path
    return StackTemplate(
        stack_name=artifact.stack_name,
        template=template,
        assembly_dir=directory,
        assets=read_asset_manifests(directory),
        paths=paths,
    )


def template_from_dict(template: Mapping[str, Any], asset_dir: str | Path | None,
                       stack_name: str) -> StackTemplate:
    """A template given as a dict, with the cloud assembly directory holding its assets."""
    directory = Path(asset_dir) if asset_dir is not None else None
    return StackTemplate(
        stack_name=stack_name,
        template=dict(template),
        assembly_dir=directory,
        assets=read_asset_manifests(directory) if directory else {},
        paths=paths_from_metadata(template),
    )

