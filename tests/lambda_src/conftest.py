"""Shared fixtures for handler tests: fake AWS credentials, moto, a Lambda context, a loader.

Handlers live in ``analytics_orchestration/lambda_src/<name>/`` and are zipped with that folder
as the asset root, so they import their siblings as top-level modules (``import rules``) and
cannot be imported as part of the package. ``load_handler`` imports them the way Lambda does.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "analytics_orchestration" / "lambda_src"
REGION = "us-east-1"

_load_counter = itertools.count()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "handler-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "AnalyticsOrchestrationTests",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _shared_boto3_session() -> boto3.session.Session:
    """One boto3 session for the whole run (created after moto is imported, so moto's hooks
    are in it). It resolves credentials once, from the first test's fake ones: every test
    uses the same fake credentials, so that is safe.

    The service models the handler tests use are loaded once here and then moved out of the
    garbage collector's sight (``gc.freeze``): they live for the whole run anyway, and
    rescanning botocore's and moto's large object graphs was a third of the tests' time.
    """
    session = boto3.session.Session()
    for service in ("s3", "dynamodb", "events", "sqs"):
        session.client(
            service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
    gc.collect()
    gc.freeze()
    return session


@pytest.fixture(scope="session")
def _client_cache() -> dict[tuple[str, str], Any]:
    return {}


@pytest.fixture
def aws_client(
    aws: None,
    _shared_boto3_session: boto3.session.Session,
    _client_cache: dict[tuple[str, str], Any],
) -> Callable[..., Any]:
    """``aws_client("s3")`` (or ``aws_client("dynamodb", resource=True)``) for test code.

    Clients are created once per run and reused: moto intercepts requests, not clients, and
    creating a botocore client costs several milliseconds.
    """

    def get(service: str, *, resource: bool = False) -> Any:
        kind = "resource" if resource else "client"
        if (service, kind) not in _client_cache:
            factory = _shared_boto3_session.resource if resource else _shared_boto3_session.client
            _client_cache[service, kind] = factory(service, region_name=REGION)
        return _client_cache[service, kind]

    return get


@pytest.fixture
def aws(aws_credentials: None, _shared_boto3_session: boto3.session.Session) -> Iterator[None]:
    """All AWS calls of the test go to moto (started before any handler is loaded).

    ``mock_aws`` resets boto3's default session so every test would re-parse botocore's
    endpoint and service models (about 0.2 s each); handing it the shared session instead
    keeps the handler tests fast. moto restores the real default session on exit.
    """
    with mock_aws():
        boto3.DEFAULT_SESSION = _shared_boto3_session
        yield


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2025/01/01/[$LATEST]0000"
    remaining_time_in_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        """The validator and the job worker take it as their claim's lease (its deadline)."""
        return self.remaining_time_in_millis


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ModuleType]]:
    """Return ``load(name, module="index")`` importing ``lambda_src/<name>/<module>.py``.

    Each load is a fresh module under a unique name (no state leaks between tests), with the
    handler folder put first on ``sys.path`` only while it is imported, so sibling modules
    resolve as they do in Lambda. Sibling modules are dropped from ``sys.modules`` right away
    (two handlers may both have a ``rules.py``), the handler module at teardown. Bytecode
    writing is off for the test: a ``__pycache__`` in a handler folder would end up in the
    Lambda asset and change its hash.
    """
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    loaded: list[str] = []

    def load(name: str, module: str = "index") -> ModuleType:
        folder = (LAMBDA_SRC / name).resolve()
        path = folder / f"{module}.py"
        if not path.is_file():
            raise FileNotFoundError(f"no handler module {path}")
        unique = f"_lambda_{name}_{module}_{next(_load_counter)}"
        spec = importlib.util.spec_from_file_location(unique, path)
        assert spec is not None and spec.loader is not None
        handler_module = importlib.util.module_from_spec(spec)
        # A same-named module already imported (another handler's ``rules``) would shadow
        # this handler's sibling: set it aside while loading, put it back afterwards.
        siblings = {child.stem for child in folder.iterdir() if child.suffix == ".py"}
        siblings |= {child.name for child in folder.iterdir() if (child / "__init__.py").exists()}
        shadowed = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in siblings}
        before = set(sys.modules)
        sys.path.insert(0, str(folder))
        sys.modules[unique] = handler_module
        loaded.append(unique)
        try:
            spec.loader.exec_module(handler_module)
        finally:
            sys.path.remove(str(folder))
            for added in set(sys.modules) - before - {unique}:
                origin = getattr(sys.modules[added], "__file__", None)
                if origin and Path(origin).resolve().is_relative_to(folder):
                    del sys.modules[added]
            sys.modules.update(shadowed)
        return handler_module

    yield load
    for unique in loaded:
        sys.modules.pop(unique, None)
