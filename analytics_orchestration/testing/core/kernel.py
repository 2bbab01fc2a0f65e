"""The kernel: the state one harness's service emulators share.

A :class:`Kernel` is created by the facade (:class:`~analytics_orchestration.testing.OfflineAws`)
and handed to every service emulator; services reach each other through the references the
facade gives them, never through the facade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analytics_orchestration.testing.core.journal import Journal
from analytics_orchestration.testing.core.loop import EventLoop
from analytics_orchestration.testing.core.patching import Patcher, VirtualClock
from analytics_orchestration.testing.core.registry import ResourceRegistry
from analytics_orchestration.testing.exceptions import HarnessStateError

ACTIVE: list[Kernel] = []
"""The kernels whose harness context is open (moto's mock is process-wide: at most one)."""

_SESSION: list[Any] = []
#: One client per (service, Region) for every harness in the process. A botocore client
#: holds no AWS state of its own (moto's backends, reset by each harness, hold it all) and
#: moto's stubber intercepts every client while a mock is active; creating a client costs
#: about 15 ms (its service model's methods), and a deploy made about ten per harness.
_CLIENTS: dict[tuple[str, str], Any] = {}


def shared_session() -> Any:
    """One boto3 session for every harness in the process (service models loaded once).

    Created under moto's fake credentials; requests never leave the process while the mock
    is active, and the caller's own default session is restored when the harness exits.
    """
    if not _SESSION:
        import boto3

        session = boto3.session.Session(aws_access_key_id="FOOBARKEY",
                                        aws_secret_access_key="FOOBARSECRET")
        # Before any client exists: clients copy the session's event handlers when created.
        session.events.register("before-parameter-build", _before_parameter_build,
                                unique_id="analytics-orchestration-offline-authorize")
        _SESSION.append(session)
    return _SESSION[0]


def _before_parameter_build(params: Mapping[str, Any], model: Any, **kwargs: Any) -> None:
    """Hand every API call made while a harness is active to its authorizer (IAM)."""
    if ACTIVE and ACTIVE[0].authorize is not None:
        ACTIVE[0].authorize(params, model)
    if ACTIVE and model.name == "StartExecution":
        # Rules, pipes, schedules, workflows and tests all start executions through a client.
        machine = str(params.get("stateMachineArn", ""))
        ACTIVE[0].journal.record("stepfunctions", "execution started",
                                 machine.rsplit(":", 1)[-1], str(params.get("name") or ""),
                                 state_machine_arn=machine, input=params.get("input", ""))


class Kernel:
    """Account, region, clients, clock, work loop, resource registry and patcher."""

    def __init__(self, *, region: str, account_id: str,
                 ignore_resource_types: frozenset[str],
                 max_deliveries_without_dlq: int) -> None:
        self.region = region
        self.account_id = account_id
        self.ignore_resource_types = ignore_resource_types
        self.max_deliveries_without_dlq = max_deliveries_without_dlq
        self.clock = VirtualClock()
        self.journal = Journal(lambda: self.clock.elapsed)
        """What each service did, in order (the run report's timeline)."""
        self.loop = EventLoop()
        self.registry = ResourceRegistry()
        self.patcher = Patcher()
        self.work_dir = Path(".")
        self._first_use: dict[str, Callable[[], None]] = {}
        self.authorize: Callable[[Mapping[str, Any], Any], None] | None = None
        """Called with each boto3 call's parameters and operation model before it is sent
        (the IAM service sets it); raising refuses the call."""

    @property
    def active(self) -> bool:
        """Whether this kernel's harness context is open."""
        return self in ACTIVE

    def require_active(self) -> None:
        """Raise unless the harness is entered."""
        if not self.active:
            raise HarnessStateError("use OfflineAws as a context manager (with OfflineAws() ...)")

    def on_first_client(self, service: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` once, before the first client of ``service`` is handed out.

        Step Functions uses it to patch moto's interpreter lazily: a stack without a state
        machine never pays for importing it.
        """
        self._first_use[service] = hook

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in the harness's region (one per process)."""
        hook = self._first_use.pop(service, None)
        if hook is not None:
            hook()
        key = (service, self.region)
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = shared_session().client(service, region_name=self.region)
        return client

    def arn(self, service: str, resource: str, *, region: bool = True,
            account: bool = True) -> str:
        """An ARN in this account and region."""
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")
