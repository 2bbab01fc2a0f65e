"""Replacing moto internals for the life of one harness, and the harness's virtual clock.

Each service module installs its own patches through a :class:`Patcher` (so bumping the
pinned moto means re-reading the ``apply`` method of each service); patched callables close
over the service instance that installed them and never stay installed after the harness
exits (``Patcher.undo`` restores the originals, even on error).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any


class Patcher:
    """Set attributes and remember the originals so that ``undo`` restores them in order."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        """Replace ``owner.name`` (an attribute, method or dict key) until ``undo``."""
        if isinstance(owner, dict):
            self._saved.append((owner, name, owner.get(name, _MISSING)))
            owner[name] = value
        else:
            self._saved.append((owner, name, _own_attribute(owner, name)))
            setattr(owner, name, value)

    def undo(self) -> None:
        """Restore every original, last patched first."""
        while self._saved:
            owner, name, original = self._saved.pop()
            if isinstance(owner, dict):
                if original is _MISSING:
                    owner.pop(name, None)
                else:
                    owner[name] = original
            elif original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_MISSING = object()


def _own_attribute(owner: Any, name: str) -> Any:
    """``owner``'s own attribute ``name`` as stored, descriptor included; else ``_MISSING``.

    ``getattr`` would unwrap a ``staticmethod`` to its function: set back on the class, that
    function binds ``self`` and every later call of it breaks (moto's ``Preprocessor.
    _inner_string_of`` did so in executions still running after a harness exited). An
    attribute the owner only inherits is ``_MISSING``, so ``undo`` deletes the patch and the
    inherited one shows again.
    """
    namespace = getattr(owner, "__dict__", None)
    if namespace is None:
        return getattr(owner, name, _MISSING)
    return namespace.get(name, _MISSING)


class VirtualClock:
    """Time that Wait states and retry back-offs spend, counted instead of slept.

    Wall-clock time is not changed (``time.time()`` stays real); ``elapsed`` tells a test how
    much time the workflow would have taken on AWS. Virtual "now" is ``start`` (the wall
    clock when the harness was created, to the second) plus ``elapsed``: schedules fire on
    it (``OfflineAws.advance``), and API Gateway's ``$context.requestTime`` reads it.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self.elapsed = 0.0
        self.start = (start or dt.datetime.now(dt.UTC)).replace(microsecond=0)

    def now(self) -> dt.datetime:
        """The virtual time (UTC)."""
        return self.start + dt.timedelta(seconds=self.elapsed)

    def advance_to(self, moment: dt.datetime) -> None:
        """Move virtual time forward to ``moment`` (never backwards)."""
        with self._lock:
            self.elapsed = max(self.elapsed, (moment - self.start).total_seconds())

    def sleep(self, seconds: float) -> None:
        """Advance virtual time instead of blocking."""
        with self._lock:
            self.elapsed += max(0.0, float(seconds))


class TimeShim:
    """Stands in for the ``time`` module inside moto's retrier: ``sleep`` is virtual."""

    def __init__(self, clock: VirtualClock) -> None:
        import time

        self._time = time
        self.sleep = clock.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._time, name)
