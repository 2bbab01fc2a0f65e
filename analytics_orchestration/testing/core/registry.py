"""The deployed resources of a harness, and how tests and services find them.

A resource is found by construct path (``"Ingestion/Ledger"``), logical id, physical id or
ARN; services resolve the names a test passes (``aws.send_message("Ingestion/Queue", ...)``)
through :meth:`ResourceRegistry.lookup` with the resource type they handle.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.exceptions import ResourceNotFoundError


@dataclass
class DeployedResource:
    """One resource of a deployed stack, for lookups from tests."""

    stack_name: str
    logical_id: str
    resource_type: str
    physical_id: str
    path: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict, repr=False)
    """The resolved template properties it was created from (policies are read from them)."""

    @property
    def arn(self) -> str | None:
        """The resource's ARN when it has one (``Arn``, ``TopicArn`` or an ARN ``Ref``)."""
        for key in ("Arn", "TopicArn", "StateMachineArn"):
            if key in self.attributes:
                return str(self.attributes[key])
        return self.physical_id if self.physical_id.startswith("arn:") else None


class ResourceRegistry:
    """Every deployed resource, in creation order."""

    def __init__(self) -> None:
        self.resources: list[DeployedResource] = []

    def add(self, resource: DeployedResource) -> None:
        """Record a created resource."""
        self.resources.append(resource)

    def find(self, ref: str, resource_type: str | None = None) -> DeployedResource:
        """Find a deployed resource by construct path, logical id, physical id or ARN.

        Paths may omit the stack name and the trailing ``/Resource``: ``"Ingestion/Ledger"``
        finds ``MyStack/Ingestion/Ledger/Resource``, and ``"Clickstream"`` finds
        ``MyStack/Clickstream/Resource/Resource`` (a construct whose main child is an L2).
        """
        candidates = [r for r in self.resources
                      if resource_type is None or r.resource_type == resource_type]
        ref = ref.strip("/")

        def path_matches(r: DeployedResource) -> bool:
            if not r.path:
                return False
            options = {ref, f"{ref}/Resource", f"{r.stack_name}/{ref}",
                       f"{r.stack_name}/{ref}/Resource", f"{ref}/Resource/Resource",
                       f"{r.stack_name}/{ref}/Resource/Resource"}
            return r.path in options

        for test in (
            lambda r: r.logical_id == ref,
            path_matches,
            lambda r: r.physical_id == ref or r.arn == ref,
            lambda r: bool(r.path) and (r.path.endswith("/" + ref)
                                        or r.path.endswith(f"/{ref}/Resource")
                                        or r.path.endswith(f"/{ref}/Resource/Resource")),
        ):
            found = [r for r in candidates if test(r)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise ResourceNotFoundError(
                    f"{ref!r} is ambiguous: {', '.join(r.path or r.logical_id for r in found)}")
        known = ", ".join(sorted(r.path or r.logical_id for r in candidates)[:40])
        raise ResourceNotFoundError(f"no deployed resource matches {ref!r}; known: {known}")

    def lookup(self, ref: str, resource_type: str) -> DeployedResource | None:
        """Like :meth:`find` for one type, None when nothing (or several) match."""
        try:
            return self.find(ref, resource_type)
        except ResourceNotFoundError:
            return None

    def physical_id(self, ref: str, resource_type: str) -> str:
        """The physical id of a resource of ``resource_type``, else ``ref`` unchanged."""
        found = self.lookup(ref, resource_type)
        return found.physical_id if found else ref


def generated_name(stack: str, logical_id: str, max_len: int, *, lower: bool = False,
                   suffix: str = "") -> str:
    """A CloudFormation-style physical name: stack, logical id, stable hash; within limits."""
    digest = hashlib.sha1(f"{stack}/{logical_id}".encode()).hexdigest()[:12]
    digest = digest.lower() if lower else digest.upper()
    room = max_len - len(digest) - 1 - len(suffix)
    base = f"{stack}-{logical_id}"[:room]
    name = f"{base}-{digest}{suffix}"
    if lower:
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
    return name
