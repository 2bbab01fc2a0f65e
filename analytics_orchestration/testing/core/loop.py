"""The work loop: asynchronous deliveries queued by services, run by ``settle()``.

AWS does many things after a call returns (an S3 notification, an EventBridge delivery, an
asynchronous Lambda invocation, an SQS poll). Offline they are queued here and run, in order,
when the test settles the system; pollers (SQS event source mappings, pipes) run whenever
the queue is empty, until nothing makes progress.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from analytics_orchestration.testing.exceptions import OfflineHarnessError

MAX_SETTLE_STEPS = 10_000

Poller = Callable[[], bool]
"""Runs one round of polling; returns True if it did any work."""


class EventLoop:
    """Queued work and pollers, run until the system is quiet."""

    def __init__(self) -> None:
        self._pending: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self._pollers: list[Poller] = []

    def enqueue(self, work: Callable[[], None]) -> None:
        """Run ``work`` later, from :meth:`settle` (thread-safe: interpreters call it)."""
        with self._lock:
            self._pending.append(work)

    def add_poller(self, poller: Poller) -> None:
        """Poll ``poller`` whenever no queued work is left (in registration order)."""
        self._pollers.append(poller)

    def _poll(self) -> bool:
        progressed = False
        for poller in self._pollers:
            progressed = poller() or progressed
        return progressed

    def settle(self) -> None:
        """Run queued work and pollers until nothing is left to do.

        Errors of the harness itself (an unsupported target, a missing function) that
        happened in the background are raised here, the first one with the rest attached.
        """
        for _ in range(MAX_SETTLE_STEPS):
            with self._lock:
                work = self._pending.popleft() if self._pending else None
            if work is not None:
                try:
                    work()
                except Exception as exc:
                    self._errors.append(exc)
                continue
            if not self._poll():
                break
        else:
            raise OfflineHarnessError(
                f"the system did not settle after {MAX_SETTLE_STEPS} steps (an event loop?)")
        if self._errors:
            errors, self._errors = self._errors, []
            first = errors[0]
            if len(errors) > 1:
                first.add_note(f"{len(errors) - 1} more background error(s): "
                               + "; ".join(repr(e) for e in errors[1:]))
            raise first
