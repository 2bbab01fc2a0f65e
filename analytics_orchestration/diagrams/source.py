"""Where a diagram's template comes from: a stack, a cloud assembly, a file or a dict.

Every source becomes a :class:`StackTemplate`: the synthesized CloudFormation template plus
each resource's construct path. The construct path groups resources into clusters; it is
read from the ``aws:cdk:path`` metadata when the template carries it, and otherwise from the
cloud assembly manifest, which records a ``aws:cdk:logicalId`` entry for every construct
path whatever the path-metadata setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
STACK_ARTIFACT = "aws:cloudformation:stack"


class DiagramSourceError(ValueError):
    """The given source is not a stack, a cloud assembly, a template file or a template."""


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its name, its template and its resources' construct paths."""

    name: str
    template: Mapping[str, Any]
    paths: Mapping[str, str] = field(default_factory=dict)
    """Logical id -> construct path without the stack (``Ingestion/Validator/Resource``)."""

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        """The template's ``Resources`` section."""
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    def path(self, logical_id: str) -> str:
        """The construct path of a resource, or its logical id when none is known."""
        if logical_id in self.paths:
            return self.paths[logical_id]
        metadata = self.resources.get(logical_id, {}).get("Metadata", {})
        path = metadata.get("aws:cdk:path") if isinstance(metadata, Mapping) else None
        if isinstance(path, str):
            return path.split("/", 1)[1] if "/" in path else path
        return logical_id


def load(source: Any) -> list[StackTemplate]:
    """Every stack in ``source``.

    ``source`` is an ``aws_cdk.Stack`` (its app is synthesized), an ``aws_cdk.cx_api``
    cloud assembly, a ``cdk.out`` directory, a ``*.template.json`` file, a template as a
    mapping, or a :class:`StackTemplate`.
    """
    if isinstance(source, StackTemplate):
        return [source]
    if isinstance(source, Mapping):
        if "Resources" not in source:
            raise DiagramSourceError("a template mapping needs a 'Resources' section")
        return [StackTemplate(name="Stack", template=source)]
    if isinstance(source, (str, Path)):
        return _load_path(Path(source))
    directory = getattr(source, "directory", None)
    if isinstance(directory, str) and hasattr(source, "stacks"):
        return _load_assembly_dir(Path(directory))
    if hasattr(source, "artifact_id") and hasattr(source, "node"):
        return [_load_cdk_stack(source)]
    raise DiagramSourceError(
        f"cannot draw {type(source).__name__}: pass an aws_cdk.Stack, a cloud assembly, a "
        "cdk.out directory, a template file or a template mapping")


def _load_path(path: Path) -> list[StackTemplate]:
    if path.is_dir():
        if not (path / MANIFEST).exists():
            raise DiagramSourceError(f"{path} is a directory without {MANIFEST}: not a cdk.out")
        return _load_assembly_dir(path)
    if not path.exists():
        raise DiagramSourceError(f"{path} does not exist")
    template = json.loads(path.read_text())
    if not isinstance(template, Mapping) or "Resources" not in template:
        raise DiagramSourceError(f"{path} is not a CloudFormation template (no Resources)")
    name = path.name.removesuffix(".json").removesuffix(".template")
    paths: dict[str, str] = {}
    manifest = path.parent / MANIFEST
    if manifest.exists():
        for stack in _load_assembly_dir(path.parent):
            if stack.name == name:
                paths = dict(stack.paths)
    return [StackTemplate(name=name, template=template, paths=paths)]


def _load_assembly_dir(directory: Path) -> list[StackTemplate]:
    manifest = json.loads((directory / MANIFEST).read_text())
    stacks: list[StackTemplate] = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        template_file = artifact.get("properties", {}).get("templateFile")
        if not template_file:
            continue
        template = json.loads((directory / template_file).read_text())
        name = str(artifact.get("displayName") or artifact_id)
        metadata = dict(artifact.get("metadata", {}))
        extra = artifact.get("additionalMetadataFile")  # where newer CDK versions put it
        if isinstance(extra, str) and (directory / extra).exists():
            metadata.update(json.loads((directory / extra).read_text()))
        stacks.append(StackTemplate(name=name, template=template,
                                    paths=_manifest_paths(metadata)))
    if not stacks:
        raise DiagramSourceError(f"{directory} holds no CloudFormation stack")
    return stacks


def _manifest_paths(metadata: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """Logical id -> construct path (stack name dropped), from a stack artifact's metadata."""
    paths: dict[str, str] = {}
    for construct_path, entries in metadata.items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                parts = construct_path.strip("/").split("/", 1)
                paths[entry["data"]] = parts[1] if len(parts) == 2 else parts[0]
    return paths


def _load_cdk_stack(stack: Any) -> StackTemplate:
    assembly = stack.node.root.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    directory = Path(assembly.directory)
    for loaded in _load_assembly_dir(directory):
        if loaded.name == artifact.display_name or loaded.name == stack.stack_name:
            return StackTemplate(name=stack.stack_name, template=loaded.template,
                                 paths=loaded.paths)
    return StackTemplate(name=stack.stack_name, template=artifact.template)
