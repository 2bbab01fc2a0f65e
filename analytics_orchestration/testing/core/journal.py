"""The journal: what each service did, in the order it happened, for the run report.

Services record an entry where the thing happens (an object stored in moto's S3 backend, a
message added to a queue, whoever sent it; an event put on a bus and each rule it matched;
a function invoked and its result), so the journal sees the harness's own deliveries and
moto's internal ones (SNS to SQS, a redrive to a dead-letter queue) as well as the calls of
tests and handlers. :meth:`~analytics_orchestration.testing.OfflineAws.report` reads it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Longest text kept of a payload (a message body, a function's result).
PAYLOAD_CHARS = 600


def summary(value: Any, limit: int = PAYLOAD_CHARS) -> str:
    """``value`` as short text (JSON where it can be), cut at ``limit`` characters."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class JournalEntry:
    """One thing a service did."""

    seq: int
    """Its place in the run (0, 1, 2...)."""
    at: float
    """Virtual seconds since the harness started (Wait states and back-offs count)."""
    service: str
    """``s3``, ``sqs``, ``sns``, ``events``, ``lambda``, ``dynamodb``, ``stepfunctions``."""
    action: str
    """What happened: ``object stored``, ``message queued``, ``event routed``..."""
    resource: str
    """The resource's name (bucket, queue, topic, rule, function, table, state machine)."""
    detail: str = ""
    """A key, an event's source and type, a function's result or error."""
    actor: str | None = None
    """Who did it: a function, a state machine execution, an AWS service, or the test."""
    failed: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    """Payloads, shortened (``summary``)."""


class Journal:
    """The entries of one harness, in order (thread-safe: executions run in threads)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self.entries: list[JournalEntry] = []
        self.actor: Callable[[], str | None] = lambda: None
        """Who the current call runs as (the facade sets it from the IAM principal)."""

    def record(self, service: str, action: str, resource: str, detail: str = "", *,
               failed: bool = False, actor: str | None = None, **data: Any) -> JournalEntry:
        """Append an entry (``data`` values are shortened with :func:`summary`)."""
        with self._lock:
            entry = JournalEntry(
                seq=len(self.entries), at=self._now(), service=service, action=action,
                resource=resource, detail=detail, actor=actor if actor else self.actor(),
                failed=failed, data={k: summary(v) for k, v in data.items()})
            self.entries.append(entry)
            return entry
