"""The work loop: asynchronous deliveries queued by services, run by ``settle()``.

AWS does many things after a call returns (an S3 notification, an EventBridge delivery, an
asynchronous Lambda invocation, an SQS poll). Offline they are queued here and run, in order,
when the test settles the system; pollers (SQS event source mappings, pipes) run whenever
the queue is empty, until nothing makes progress.

Some work runs beside the loop, in threads: moto runs each Step Functions execution in its
own. An execution can queue work (an SNS publish, an SQS message, a started child) long
after the call that started it returned, so the system is only settled once such work is at
rest too: finished, or waiting for something only the test can give (a task token). Services
report it through :meth:`EventLoop.add_background`; :meth:`EventLoop.settle` waits for it, up
to :data:`BACKGROUND_WAIT_SECONDS` without progress.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from analytics_orchestration.testing.exceptions import OfflineHarnessError

MAX_SETTLE_STEPS = 10_000

BACKGROUND_WAIT_SECONDS = 10.0
"""How long :meth:`EventLoop.settle` waits for busy background work that queues nothing.

Work that never comes to rest on its own (a parent polling a ``.sync`` child that waits for a
task token) is left running after this; the wait ends at once when it rests."""

Poller = Callable[[], bool]
"""Runs one round of polling; returns True if it did any work."""

BusyProbe = Callable[[], bool]
"""Whether work running beside the loop (in another thread) is still busy."""


class EventLoop:
    """Queued work and pollers, run until the system is quiet."""

    def __init__(self) -> None:
        self._pending: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self._pollers: list[Poller] = []
        self._background: list[BusyProbe] = []

    def enqueue(self, work: Callable[[], None]) -> None:
        """Run ``work`` later, from :meth:`settle` (thread-safe: interpreters call it)."""
        with self._lock:
            self._pending.append(work)

    def add_poller(self, poller: Poller) -> None:
        """Poll ``poller`` whenever no queued work is left (in registration order)."""
        self._pollers.append(poller)

    def add_background(self, busy: BusyProbe) -> None:
        """Make :meth:`settle` wait while ``busy()`` is true (see the module's docstring)."""
        self._background.append(busy)

    def _background_busy(self) -> bool:
        return any(busy() for busy in self._background)

    def _poll(self) -> bool:
        progressed = False
        for poller in self._pollers:
            progressed = poller() or progressed
        return progressed

    def settle(self) -> None:
        """Run queued work and pollers until nothing is left to do and background work rests.

        Errors of the harness itself (an unsupported target, a missing function) that
        happened in the background are raised here, the first one with the rest attached.
        """
        steps = 0
        waiting_since: float | None = None
        while True:
            with self._lock:
                work = self._pending.popleft() if self._pending else None
            if work is not None:
                try:
                    work()
                except Exception as exc:
                    self._errors.append(exc)
            elif not self._poll():
                if not self._background_busy():
                    break
                now = time.monotonic()
                waiting_since = now if waiting_since is None else waiting_since
                if now - waiting_since > BACKGROUND_WAIT_SECONDS:
                    break
                time.sleep(0.001)  # lets the busy thread run; not a step
                continue
            waiting_since = None
            steps += 1
            if steps >= MAX_SETTLE_STEPS:
                raise OfflineHarnessError(
                    f"the system did not settle after {MAX_SETTLE_STEPS} steps (an event loop?)")
        if self._errors:
            errors, self._errors = self._errors, []
            first = errors[0]
            if len(errors) > 1:
                first.add_note(f"{len(errors) - 1} more background error(s): "
                               + "; ".join(repr(e) for e in errors[1:]))
            raise first
