"""Errors raised by the offline harness.

One base class, :class:`OfflineHarnessError`, so that a test (or a user's conftest) can tell
"the harness cannot do this" apart from "the code under test failed". Every message names the
thing that was not supported (resource type, target service, integration, moto version), so a
failure reads as a to-do item rather than as a traceback deep inside moto.
"""

from __future__ import annotations

__all__ = [
    "CustomResourceFailedError",
    "ExecutionTimeoutError",
    "HandlerImportError",
    "HarnessStateError",
    "MotoVersionMismatchError",
    "OfflineHarnessError",
    "ResourceNotFoundError",
    "TemplateResolutionError",
    "UnexpectedHandlerErrors",
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


class HandlerImportError(OfflineHarnessError, ImportError):
    """A function's handler could not be loaded: its module raised on import, or lacks it.

    On AWS every invocation would fail with ``Runtime.ImportModuleError`` (or
    ``Runtime.HandlerNotFound``); offline the cause is nearly always the test environment
    (a package the handler imports is not installed), so the harness raises this when the
    function is deployed, with the import's traceback, instead of letting every invocation
    fail quietly into a dead-letter queue.
    """

    def __init__(self, function_name: str, handler: str, code_dir: str, detail: str) -> None:
        self.function_name = function_name
        self.handler = handler
        self.code_dir = code_dir
        self.detail = detail
        super().__init__(
            f"function {function_name}: handler {handler!r} cannot be loaded from {code_dir} "
            f"(on AWS every invocation would fail). Packages a handler imports from a Lambda "
            f"layer must be installed in the test environment "
            f"(pip install 'analytics-orchestration[testing]' for the bundled handlers).\n"
            f"{detail}"
        )


class UnexpectedHandlerErrors(OfflineHarnessError, AssertionError):
    """Handlers raised during a test that did not declare it expected them.

    A handler invoked asynchronously (S3, SNS, EventBridge), by an SQS event source or as a
    pipe enrichment fails without any caller seeing the error: its event is retried, then
    lands in a dead-letter queue, and the test only notices missing output. The ``offline_aws``
    fixture raises this at teardown with every such error's traceback; a test that drives a
    failure on purpose declares it with ``aws.expect_lambda_errors(...)``.
    """

    def __init__(self, report: str, count: int) -> None:
        self.count = count
        super().__init__(
            f"{count} unexpected handler error(s); declare intended ones with "
            f"aws.expect_lambda_errors(function, error_type=...):\n{report}"
        )


class CustomResourceFailedError(OfflineHarnessError):
    """A custom resource's request failed, as CloudFormation would report it.

    ``reason`` is what the provider framework sends CloudFormation (the handler's error
    message, or "Operation timed out"); on AWS the stack operation fails and rolls back
    with it.
    """

    def __init__(self, logical_id: str, request_type: str, reason: str) -> None:
        self.logical_id = logical_id
        self.request_type = request_type
        self.reason = reason
        super().__init__(f"custom resource {logical_id}: {request_type} failed: {reason}")
