"""Errors raised by the offline harness.

One base class, :class:`OfflineHarnessError`, so that a test (or a user's conftest) can tell
"the harness cannot do this" apart from "the code under test failed". Every message names the
thing that was not supported (resource type, target service, integration, moto version), so a
failure reads as a to-do item rather than as a traceback deep inside moto.
"""

from __future__ import annotations

__all__ = [
    "ExecutionTimeoutError",
    "HarnessStateError",
    "MotoVersionMismatchError",
    "OfflineHarnessError",
    "ResourceNotFoundError",
    "TemplateResolutionError",
    "UnsupportedIntegrationError",
    "UnsupportedResourceError",
]


class OfflineHarnessError(Exception):
    """Base class of every error the offline harness raises itself."""


class MotoVersionMismatchError(OfflineHarnessError, ImportError):
    """The installed moto is not the exact version the harness was written against.

    The harness patches moto internals (its Lambda invoker, its EventBridge target dispatch,
    its Step Functions interpreter). Those are not public API, so any other version may break
    in ways that surface far from the cause; failing early with both versions named is kinder.
    """

    def __init__(self, installed: str | None, required: str) -> None:
        self.installed = installed
        self.required = required
        shown = installed if installed is not None else "not installed"
        super().__init__(
            f"analytics_orchestration.testing needs moto=={required}, but moto {shown} is "
            f"installed. Install the extra: pip install 'analytics-orchestration[testing]'."
        )


class UnsupportedResourceError(OfflineHarnessError):
    """The template holds a resource type the harness cannot create.

    Pass the type in ``ignore_resource_types`` (of :class:`OfflineAws`, or of the
    ``offline_aws`` fixture's marker) to deploy it as a no-op when the test does not depend
    on it; the message says exactly what to write.
    """

    def __init__(self, resource_type: str, logical_id: str, detail: str = "") -> None:
        self.resource_type = resource_type
        self.logical_id = logical_id
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"resource type {resource_type!r} (logical id {logical_id!r}) is not supported by "
            f"the offline harness{extra}. Pass ignore_resource_types={{{resource_type!r}}} to "
            f"OfflineAws(...) or to @pytest.mark.offline_aws(...) to deploy it as a no-op."
        )


class UnsupportedIntegrationError(OfflineHarnessError):
    """A wiring (event target, event source, destination, runtime) the harness cannot run."""

    def __init__(self, integration: str, detail: str = "") -> None:
        self.integration = integration
        extra = f": {detail}" if detail else ""
        super().__init__(f"integration {integration!r} is not supported offline{extra}")


class TemplateResolutionError(OfflineHarnessError):
    """An intrinsic function or reference in the template could not be resolved."""


class ResourceNotFoundError(OfflineHarnessError, LookupError):
    """A construct path, logical id or name matches no deployed resource."""


class ExecutionTimeoutError(OfflineHarnessError, TimeoutError):
    """Executions did not reach the expected state within the wall-clock limit."""


class HarnessStateError(OfflineHarnessError, RuntimeError):
    """The harness was used outside its context or two harnesses were active at once."""
