"""How AWS polls a stream for a consumer: batches per shard, retries, bisect, age, windows.

One engine for Lambda's stream event source mappings (:mod:`..services.stream_sources`)
and for pipes with a stream source (:mod:`..services.stream_pipes`), which AWS documents
with the same parameters. Per shard, in sequence order:

- a batch is up to ``batch_size`` records after the shard's checkpoint that match the
  filter criteria (records matching none are skipped and checkpointed, never delivered);
  with a tumbling window only records of the open window (windows aligned to the epoch,
  by arrival time);
- records older than ``max_record_age`` are discarded before an invocation, to the
  on-failure destination with ``RecordAgeExceeded``;
- success checkpoints the batch; a partial batch response (the lowest failed sequence
  number) checkpoints the records before it and retries the rest, counting one retry
  ("Configuring partial batch response with Kinesis Data Streams": "Lambda uses the record
  with the lowest sequence number as the checkpoint. Lambda then retries all records
  starting from that checkpoint");
- a failed invocation with ``bisect`` splits a batch of two or more in halves, retried in
  order without counting a retry ("Splitting batches doesn't consume the retry quota",
  Lambda developer guide, "Retain discarded batch records for a Kinesis Data Streams event
  source"); otherwise it counts one retry, and after ``max_retries`` retries the batch is
  discarded with ``RetryAttemptsExhausted``. A discarded batch's invocation count is every
  invocation its records were part of (before splits and partial retries too);
- with a tumbling window, each invocation gets the window's state and returns the next;
  once virtual time passes the window's end and its records are processed, a final
  invocation (``isFinalInvokeForWindow``, no records) closes it and the state is dropped.
  Whether AWS's final invocation carries records is not documented: handlers should
  accept both;
- infinite retries (``-1``) without a maximum age block the shard, as on AWS: after
  ``blocked_after`` failed attempts the engine stops retrying (a test can see the
  stuck records) until time passes a maximum age.

Not emulated: parallelization factor (batches of a shard run one at a time), batching
windows (a batch is formed as soon as records exist), concurrency and throttling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.patching import VirtualClock
from analytics_orchestration.testing.core.patterns import matches_any
from analytics_orchestration.testing.core.streams import StreamRecord, window_bounds

RETRY_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True)
class PollingSettings:
    """The mapping's (or pipe's) parameters, as CloudFormation gives them."""

    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    max_retries: int = -1
    max_record_age: int = -1
    bisect: bool = False
    tumbling_window: int = 0
    filter_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """The tumbling window an invocation belongs to, and its state so far."""

    start: dt.datetime
    end: dt.datetime
    state: dict[str, Any]
    final: bool


@dataclass(frozen=True)
class Outcome:
    """What an invocation came to."""

    #: "success", "partial" (``failed_sequence`` is the lowest failed record) or "error".
    kind: str
    failed_sequence: int | None = None
    #: The window state the invocation returned (tumbling windows).
    state: dict[str, Any] | None = None
    #: True when the handler (or target) itself failed, not only some records.
    function_error: bool = False


@dataclass
class Discard:
    """Records given up on, for the on-failure destination."""

    shard_id: str
    records: list[StreamRecord]
    condition: str
    invoke_count: int
    function_error: bool
    #: The last event the records were delivered in (None: never delivered).
    event: Any = None


@dataclass
class _Piece:
    records: list[StreamRecord]
    attempts: int = 0
    invokes: int = 0
    final: bool = False
    function_error: bool = False
    event: Any = None


@dataclass
class _Cursor:
    checkpoint: int
    pieces: list[_Piece] = field(default_factory=list)
    window: tuple[dt.datetime, dt.datetime] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    blocked: bool = False


Invoke = Callable[[str, list[StreamRecord], Window | None], tuple[Outcome, Any]]
"""Deliver records of a shard (with the window, if any); the outcome and the event sent."""


class StreamPoller:
    """One consumer's position in every shard of one stream."""

    def __init__(self, settings: PollingSettings,
                 read_shards: Callable[[], dict[str, list[StreamRecord]]],
                 invoke: Invoke, discard: Callable[[Discard], None], clock: VirtualClock,
                 *, blocked_after: int = 3) -> None:
        self.settings = settings
        self.read_shards = read_shards
        self.invoke = invoke
        self.discard = discard
        self.clock = clock
        self.blocked_after = blocked_after
        self.cursors: dict[str, _Cursor] = {}
        latest = settings.starting_position == "LATEST"
        for shard_id, records in read_shards().items():
            start = records[-1].sequence if latest and records else -1
            self.cursors[shard_id] = _Cursor(checkpoint=start)

    def blocked_shards(self) -> list[str]:
        """Shards whose head batch keeps failing with nothing left to stop it."""
        return [shard for shard, cursor in self.cursors.items() if cursor.blocked]

    def poll(self) -> bool:
        """One invocation (or skip, or discard) per shard that has work; True if any."""
        progressed = False
        for shard_id, records in self.read_shards().items():
            cursor = self.cursors.setdefault(shard_id, _Cursor(checkpoint=-1))
            progressed = self._step(shard_id, cursor, records) or progressed
        return progressed

    # -- one shard --------------------------------------------------------------------
    def _step(self, shard_id: str, cursor: _Cursor, records: list[StreamRecord]) -> bool:
        if cursor.pieces:
            piece = cursor.pieces[0]
            if cursor.blocked and not self._expired(piece.records):
                return False
            cursor.blocked = False
            return self._run(shard_id, cursor, piece)
        pending = [r for r in records if r.sequence > cursor.checkpoint]
        window_seconds = self.settings.tumbling_window
        if window_seconds and cursor.window is None and pending:
            cursor.window = window_bounds(pending[0].arrival, window_seconds)
        considered: list[StreamRecord] = []
        batch: list[StreamRecord] = []
        for record in pending:
            if cursor.window is not None and record.arrival >= cursor.window[1]:
                break
            considered.append(record)
            if not self.settings.filter_patterns or matches_any(
                    list(self.settings.filter_patterns), record.filter_view):
                batch.append(record)
                if len(batch) >= self.settings.batch_size:
                    break
        if batch:
            skipped = [r for r in considered if r.sequence < batch[0].sequence]
            if skipped:
                cursor.checkpoint = skipped[-1].sequence
            cursor.pieces.append(_Piece(records=batch))
            return self._run(shard_id, cursor, cursor.pieces[0])
        if considered:  # only records no filter matches: skipped
            cursor.checkpoint = considered[-1].sequence
            return True
        if cursor.window is not None and self.clock.now() >= cursor.window[1]:
            cursor.pieces.append(_Piece(records=[], final=True))
            return self._run(shard_id, cursor, cursor.pieces[0])
        return False

    def _expired(self, records: list[StreamRecord]) -> list[StreamRecord]:
        age = self.settings.max_record_age
        if age < 0:
            return []
        now = self.clock.now()
        return [r for r in records if (now - r.arrival).total_seconds() > age]

    def _run(self, shard_id: str, cursor: _Cursor, piece: _Piece) -> bool:
        expired = self._expired(piece.records)
        if expired:
            self.discard(Discard(shard_id, expired, RECORD_AGE_EXCEEDED, piece.invokes,
                                 piece.function_error, piece.event))
            cursor.checkpoint = max(cursor.checkpoint, expired[-1].sequence)
            piece.records = [r for r in piece.records if r not in expired]
            if not piece.records:
                cursor.pieces.pop(0)
                return True
        window = None
        if cursor.window is not None:
            window = Window(start=cursor.window[0], end=cursor.window[1],
                            state=dict(cursor.state), final=piece.final)
        outcome, event = self.invoke(shard_id, piece.records, window)
        piece.invokes += 1
        piece.event = event
        piece.function_error = outcome.function_error
        if outcome.kind == "success":
            self._checkpoint(cursor, piece.records)
            cursor.pieces.pop(0)
            self._keep_state(cursor, outcome, piece)
            return True
        if outcome.kind == "partial" and outcome.failed_sequence is not None:
            done = [r for r in piece.records if r.sequence < outcome.failed_sequence]
            self._checkpoint(cursor, done)
            if window is not None and outcome.state is not None:
                cursor.state = dict(outcome.state)
            piece.records = [r for r in piece.records if r.sequence >= outcome.failed_sequence]
            piece.attempts += 1
            return self._maybe_give_up(shard_id, cursor, piece)
        if self.settings.bisect and len(piece.records) > 1:
            half = len(piece.records) // 2
            cursor.pieces[0:1] = [
                _Piece(records=piece.records[:half], attempts=piece.attempts,
                       invokes=piece.invokes),
                _Piece(records=piece.records[half:], attempts=piece.attempts,
                       invokes=piece.invokes),
            ]
            return True
        piece.attempts += 1
        return self._maybe_give_up(shard_id, cursor, piece)

    def _maybe_give_up(self, shard_id: str, cursor: _Cursor, piece: _Piece) -> bool:
        limit = self.settings.max_retries
        if limit >= 0 and piece.attempts > limit:
            self.discard(Discard(shard_id, piece.records, RETRY_EXHAUSTED, piece.invokes,
                                 piece.function_error, piece.event))
            self._checkpoint(cursor, piece.records)
            cursor.pieces.pop(0)
            if piece.final:
                cursor.window, cursor.state = None, {}
            return True
        if limit < 0 and piece.attempts >= self.blocked_after:
            cursor.blocked = True
        return True

    @staticmethod
    def _checkpoint(cursor: _Cursor, records: list[StreamRecord]) -> None:
        if records:
            cursor.checkpoint = max(cursor.checkpoint, records[-1].sequence)

    @staticmethod
    def _keep_state(cursor: _Cursor, outcome: Outcome, piece: _Piece) -> None:
        if cursor.window is None:
            return
        if piece.final:
            cursor.window, cursor.state = None, {}
        elif outcome.state is not None:
            cursor.state = dict(outcome.state)
