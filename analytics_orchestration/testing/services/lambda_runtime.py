"""Running a Lambda function's real handler in this process.

moto runs Lambda code in Docker, which is not available here and would cost seconds per call.
Instead the handler is imported from the function's asset directory (or inline code) and
called with a Lambda-like context, under the function's environment variables. Errors come
back as Lambda reports them (``errorType``/``errorMessage``/``stackTrace``) so that Step
Functions Retry/Catch and event-source retries see the same error names as on AWS.

Not emulated: memory size and timeout (neither is enforced; ``get_remaining_time_in_millis``
reports the configured timeout for the whole call), concurrency limits, cold starts beyond the
first import, and layers (their packages must be installed in the test environment).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from analytics_orchestration.testing.exceptions import (
    HandlerImportError,
    OfflineHarnessError,
    UnsupportedIntegrationError,
)

ENVIRONMENT_LOCK = threading.RLock()
"""Serialises invocations: ``os.environ`` and ``sys.path`` are process-wide.

Re-entrant so that a handler may invoke another function synchronously. The harness takes
it too while it changes ``os.environ`` on entry and exit, so that a Step Functions
execution still running in moto's thread never sees the variables change under a handler.
"""


@dataclass
class LambdaContext:
    """The subset of the Python runtime's context object that handlers commonly read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: int
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """The configured timeout: the harness does not count time (timeouts not enforced)."""
        return self.timeout_seconds * 1000


@dataclass
class Invocation:
    """One call of a function, kept for assertions (``handle.invocations(...)``)."""

    function_name: str
    event: Any
    result: Any = None
    error: dict[str, Any] | None = None
    request_id: str = ""

    @property
    def failed(self) -> bool:
        """True when the handler raised (Lambda's ``FunctionError: Unhandled``)."""
        return self.error is not None

    def describe(self) -> str:
        """The error as a test report shows it: function, error, message, handler traceback."""
        if self.error is None:
            return f"{self.function_name}: succeeded"
        event = json.dumps(self.event, default=str)
        lines = [f"{self.function_name}: {self.error.get('errorType')}: "
                 f"{self.error.get('errorMessage')}",
                 f"  event: {event[:500]}{'...' if len(event) > 500 else ''}"]
        trace = "".join(self.error.get("stackTrace") or [])
        if trace:
            lines += ["  Traceback (most recent call last):",
                      *(f"  {line}" for line in trace.rstrip().splitlines())]
        return "\n".join(lines)


@dataclass
class FunctionRuntime:
    """Everything needed to run one deployed function in-process."""

    function_name: str
    function_arn: str
    handler: str
    runtime: str
    code_dir: Path
    environment: dict[str, str]
    region: str
    timeout: int = 3
    memory_size: int = 128
    invocations: list[Invocation] = field(default_factory=list)
    _handler_fn: Callable[[Any, Any], Any] | None = field(default=None, repr=False)
    _modules: dict[str, ModuleType] = field(default_factory=dict, repr=False)

    def _base_environment(self) -> dict[str, str]:
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "offline",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "_HANDLER": self.handler,
            # No X-Ray daemon offline: Powertools' Tracer would try to emit segments.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        env.update(self.environment)
        return env

    @contextmanager
    def _environment(self) -> Iterator[None]:
        saved = _environment_snapshot()
        os.environ.update(self._base_environment())
        try:
            yield
        finally:
            _restore_environment(saved)

    def _load_handler(self) -> Callable[[Any, Any], Any]:
        """Import the handler module from the code directory, isolated from other functions.

        Two assets often both hold an ``index.py``; modules imported from this function's
        directory are therefore taken out of ``sys.modules`` after the import (the handler
        keeps its own references), and same-named modules of others are put back.
        """
        if self._handler_fn is not None:
            return self._handler_fn
        if not self.runtime.startswith("python"):
            raise UnsupportedIntegrationError(
                f"lambda runtime {self.runtime}",
                f"function {self.function_name} cannot run in-process (Python runtimes only)",
            )
        module_name, _, func_name = self.handler.rpartition(".")
        if not module_name:
            raise UnsupportedIntegrationError(
                f"lambda handler {self.handler!r}", "expected 'module.function'"
            )
        module_name = module_name.replace("/", ".")
        code_dir = str(self.code_dir.resolve())
        if not self.code_dir.is_dir():
            raise HandlerImportError(self.function_name, self.handler, code_dir,
                                     "the code directory does not exist")
        top_names = {p.stem for p in self.code_dir.iterdir() if p.suffix == ".py" or p.is_dir()}
        shadowed = {
            name: mod
            for name, mod in sys.modules.items()
            if name.split(".")[0] in top_names
        }
        for name in shadowed:
            del sys.modules[name]
        sys.path.insert(0, code_dir)
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise HandlerImportError(self.function_name, self.handler, code_dir,
                                     _import_traceback(exc)) from exc
        finally:
            sys.path.remove(code_dir)
            for name, mod in list(sys.modules.items()):
                mod_file = getattr(mod, "__file__", None) or ""
                if mod_file.startswith(code_dir):
                    self._modules[name] = mod
                    del sys.modules[name]
            sys.modules.update(shadowed)
        handler: Callable[[Any, Any], Any] | None = getattr(module, func_name, None)
        if not callable(handler):
            raise HandlerImportError(
                self.function_name, self.handler, code_dir,
                f"{module_name} has no callable {func_name!r} (Runtime.HandlerNotFound)")
        self._handler_fn = handler
        return self._handler_fn

    def load(self) -> None:
        """Import the handler now, as Lambda's init phase would on the first invocation.

        The harness calls this when it deploys a function, so a handler that cannot be
        imported raises :class:`HandlerImportError` there, with its traceback, whichever
        path (async event, queue, workflow) would have invoked it first. Non-Python runtimes
        are left to fail when invoked.
        """
        if not self.runtime.startswith("python"):
            return
        with ENVIRONMENT_LOCK, self._environment():
            self._load_handler()

    def invoke(self, event: Any) -> Invocation:
        """Call the handler once; never raises for a handler error (it is returned instead)."""
        request_id = str(uuid.uuid4())
        record = Invocation(self.function_name, event, request_id=request_id)
        context = LambdaContext(
            function_name=self.function_name,
            function_version="$LATEST",
            invoked_function_arn=self.function_arn,
            memory_limit_in_mb=self.memory_size,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{self.function_name}",
            log_stream_name="offline",
            timeout_seconds=self.timeout,
        )
        with ENVIRONMENT_LOCK, self._environment():
            try:
                handler = self._load_handler()
                result = handler(event, context)
                json.dumps(result)
                record.result = result
            except OfflineHarnessError:
                raise
            except TypeError as exc:
                if "JSON serializable" in str(exc):
                    record.error = {
                        "errorType": "Runtime.MarshalError",
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "requestId": request_id,
                        "stackTrace": [],
                    }
                else:
                    record.error = error_payload(exc, request_id)
            except Exception as exc:
                record.error = error_payload(exc, request_id)
        self.invocations.append(record)
        return record


def _environment_snapshot() -> dict[str, str]:
    """``os.environ`` as a dict. Copying it walks its keys in Python: should code the lock
    does not cover (a library's thread) change it meanwhile, the copy is taken again."""
    while True:
        try:
            return dict(os.environ)
        except (KeyError, RuntimeError):
            continue


def _restore_environment(saved: dict[str, str]) -> None:
    """Put back ``saved``: remove what was added, reset what changed. Unlike
    ``os.environ.clear()`` (which pops keys one by one and raises KeyError when another
    thread removed one first), each step here tolerates a concurrent change."""
    current = _environment_snapshot()
    for key in current.keys() - saved.keys():
        os.environ.pop(key, None)
    for key, value in saved.items():
        if current.get(key) != value:
            os.environ[key] = value


def _import_traceback(exc: BaseException) -> str:
    """The traceback of a failed handler import, without importlib's and the harness's frames."""
    report = traceback.TracebackException.from_exception(exc)
    report.stack = traceback.StackSummary.from_list([
        frame for frame in report.stack
        if not frame.filename.startswith("<frozen") and frame.filename not in (
            __file__, importlib.__file__)])
    return "".join(report.format()).rstrip()


def error_payload(exc: BaseException, request_id: str) -> dict[str, Any]:
    """Lambda's Python runtime error shape for an exception raised by a handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        # Drop the harness's own frame: the trace starts in the handler, as on AWS.
        "stackTrace": traceback.format_tb(
            exc.__traceback__.tb_next if exc.__traceback__ else None),
    }


def inline_code_dir(root: Path, function_name: str, code: str, handler: str) -> Path:
    """Write inline (``ZipFile``) code to a directory named after the function."""
    directory = root / f"inline-{function_name}"
    directory.mkdir(parents=True, exist_ok=True)
    module = handler.rpartition(".")[0] or "index"
    (directory / f"{module.replace('.', '/')}.py").write_text(code)
    return directory


def environment_of(properties: Mapping[str, Any]) -> dict[str, str]:
    """The function's environment variables as strings, as Lambda passes them."""
    variables = properties.get("Environment", {}).get("Variables", {}) or {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()}
