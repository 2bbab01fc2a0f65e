"""Pure logic of the reconciliation sweep: settings, sweep state, which versions to check.

Nothing here talks to AWS, reads the clock or the process environment, so every function can
be unit-tested directly; ``index.py`` wires them to S3, the ledger, Lambda, SSM and
EventBridge. A plain top-level module next to ``index.py``: the folder is the asset root.

How a sweep stays complete without listing the whole bucket's history every time:

- A *pass* lists every object version under the watched prefixes (ListObjectVersions, in key
  order) and checks those whose ``LastModified`` lies in its window:
  ``(watermark - overlap, as_of - minimum_age]``. ``as_of`` is the schedule's scheduled time
  (or the invocation time), ``minimum_age`` leaves young objects to their own events.
- A pass may span several runs: each run examines at most ``max_objects_per_run`` versions
  (and stops early when its time runs out), then stores a *cursor* (prefix, key and version
  markers) so the next run continues where it stopped.
- Only a finished pass moves the watermark, to its ``as_of - minimum_age``: every version
  modified up to then has been examined. The next window starts ``overlap`` earlier still,
  so a version whose ``LastModified`` predates its arrival in listings (a multipart upload
  is dated when it started) is not missed. Concurrent runs can only repeat work, never skip
  it: every watermark written was earned by a complete pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "ConfigurationError",
    "Cursor",
    "SweepSettings",
    "SweepState",
    "compact_event",
    "dump_state",
    "in_window",
    "load_settings",
    "make_object_id",
    "parse_state",
    "reference_time",
    "start_pass",
    "version_id_of",
    "wanted",
    "watched_prefixes",
]

_DIGITS = re.compile(r"[0-9]+")


class ConfigurationError(ValueError):
    """The function's environment variables are missing or invalid (names every bad one)."""


@dataclass(frozen=True)
class SweepSettings:
    """The sweep's configuration, read once from the environment the construct sets."""

    bucket: str
    key_prefixes: tuple[str, ...]
    key_suffixes: tuple[str, ...]
    minimum_object_size: int | None
    quarantine_prefix: str
    ledger_table_name: str
    validator_function: str
    state_parameter_name: str
    event_bus_name: str
    event_source: str
    reconciled_detail_type: str
    overlap: timedelta
    minimum_age: timedelta
    max_objects_per_run: int


def load_settings(environ: Mapping[str, str]) -> SweepSettings:
    """Parse and check the environment, reporting every bad variable in one error."""
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "")
        if not value:
            problems.append(f"{name} must be set to a non-empty value")
        return value

    def integer(name: str, *, minimum: int) -> int:
        raw = environ.get(name, "").strip()
        if not _DIGITS.fullmatch(raw) or int(raw) < minimum:
            problems.append(f"{name} must be an integer >= {minimum}, got {raw!r}")
            return minimum
        return int(raw)

    def string_list(name: str) -> tuple[str, ...]:
        raw = environ.get(name, "")
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(v, str) and v for v in parsed):
            return tuple(parsed)
        problems.append(f"{name} must be a JSON list of non-empty strings, got {raw!r}")
        return ()

    bucket = required("BUCKET_NAME")
    prefixes = string_list("KEY_PREFIXES")
    suffixes = string_list("KEY_SUFFIXES")
    raw_size = environ.get("MINIMUM_OBJECT_SIZE", "").strip()
    minimum_size: int | None = None
    if raw_size:
        minimum_size = integer("MINIMUM_OBJECT_SIZE", minimum=0)
    quarantine = required("QUARANTINE_PREFIX")
    ledger = required("LEDGER_TABLE_NAME")
    validator = required("VALIDATOR_FUNCTION_NAME")
    state = required("STATE_PARAMETER_NAME")
    bus = required("EVENT_BUS_NAME")
    source = required("EVENT_SOURCE")
    detail_type = required("RECONCILED_DETAIL_TYPE")
    overlap = integer("OVERLAP_SECONDS", minimum=0)
    minimum_age = integer("MINIMUM_AGE_SECONDS", minimum=0)
    budget = integer("MAX_OBJECTS_PER_RUN", minimum=1)
    if problems:
        raise ConfigurationError("invalid reconciliation configuration: " + "; ".join(problems))
    return SweepSettings(
        bucket=bucket,
        key_prefixes=prefixes,
        key_suffixes=suffixes,
        minimum_object_size=minimum_size,
        quarantine_prefix=quarantine,
        ledger_table_name=ledger,
        validator_function=validator,
        state_parameter_name=state,
        event_bus_name=bus,
        event_source=source,
        reconciled_detail_type=detail_type,
        overlap=timedelta(seconds=overlap),
        minimum_age=timedelta(seconds=minimum_age),
        max_objects_per_run=budget,
    )


# --- which versions ---------------------------------------------------------------------


def watched_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """The prefixes to list: all of them, sorted, without one inside another ("" = all).

    A prefix under another (``in/`` and ``in/a/``) would list the same versions twice.
    """
    if not prefixes:
        return ("",)
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not any(prefix.startswith(other) for other in kept):
            kept.append(prefix)
    return tuple(kept)


def wanted(key: str, size: int, settings: SweepSettings) -> bool:
    """True when the Object Created rule would have sent this object to the validator.

    The same filters as the construct's rule: one of the key prefixes, one of the suffixes
    (both case-sensitive, as EventBridge matches), at least the minimum size, and never
    under the quarantine prefix (the validator's own copies).
    """
    if key.startswith(settings.quarantine_prefix):
        return False
    if settings.key_prefixes and not key.startswith(settings.key_prefixes):
        return False
    if settings.key_suffixes and not key.endswith(settings.key_suffixes):
        return False
    return settings.minimum_object_size is None or size >= settings.minimum_object_size


def in_window(last_modified: datetime, cutoff: datetime | None, until: datetime) -> bool:
    """True for a version modified after ``cutoff`` (None: no lower bound) and by ``until``."""
    if last_modified > until:
        return False
    return cutoff is None or last_modified > cutoff


# --- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a pass stands: its window ``(cutoff, until]`` and the next listing position.

    ``until`` (``as_of - minimum_age``) becomes the watermark once the pass is complete.
    """

    until: datetime
    cutoff: datetime | None
    prefix_index: int = 0
    key_marker: str | None = None
    version_id_marker: str | None = None

    def advanced(self, page: Mapping[str, Any]) -> Cursor:
        """The cursor after one ListObjectVersions page of the current prefix."""
        if page.get("IsTruncated"):
            return replace(
                self,
                key_marker=page.get("NextKeyMarker"),
                version_id_marker=page.get("NextVersionIdMarker"),
            )
        return replace(
            self, prefix_index=self.prefix_index + 1, key_marker=None, version_id_marker=None
        )


@dataclass(frozen=True)
class SweepState:
    """What the sweep keeps between runs: the watermark and an unfinished pass, if any."""

    watermark: datetime | None = None
    cursor: Cursor | None = None


def start_pass(
    state: SweepState, as_of: datetime, *, overlap: timedelta, minimum_age: timedelta
) -> Cursor:
    """The cursor of a new pass: ``(watermark - overlap, as_of - minimum_age]``.

    Without a watermark (the first pass) there is no lower bound: every version under the
    watched prefixes is examined once, so objects that landed before the sweep existed are
    reconciled too.
    """
    cutoff = state.watermark - overlap if state.watermark is not None else None
    return Cursor(until=as_of - minimum_age, cutoff=cutoff)


def parse_state(text: str) -> SweepState:
    """Read the stored state; anything unreadable starts afresh (a full pass, never less)."""
    try:
        raw = json.loads(text)
    except ValueError:
        return SweepState()
    if not isinstance(raw, dict):
        return SweepState()
    watermark = _time_or_none(raw.get("watermark"))
    cursor = None
    raw_cursor = raw.get("cursor")
    if isinstance(raw_cursor, dict):
        until = _time_or_none(raw_cursor.get("until"))
        index = raw_cursor.get("prefix_index")
        if until is not None and isinstance(index, int) and index >= 0:
            cursor = Cursor(
                until=until,
                cutoff=_time_or_none(raw_cursor.get("cutoff")),
                prefix_index=index,
                key_marker=_string_or_none(raw_cursor.get("key_marker")),
                version_id_marker=_string_or_none(raw_cursor.get("version_id_marker")),
            )
    return SweepState(watermark=watermark, cursor=cursor)


def dump_state(state: SweepState) -> str:
    """The state as stored (compact JSON)."""
    raw: dict[str, Any] = {"watermark": _iso(state.watermark)}
    if state.cursor is not None:
        raw["cursor"] = {
            "until": _iso(state.cursor.until),
            "cutoff": _iso(state.cursor.cutoff),
            "prefix_index": state.cursor.prefix_index,
            "key_marker": state.cursor.key_marker,
            "version_id_marker": state.cursor.version_id_marker,
        }
    return json.dumps(raw, separators=(",", ":"), ensure_ascii=False)


# --- events -------------------------------------------------------------------------------


def reference_time(event: Any, now: datetime) -> datetime:
    """The sweep's ``as_of``: the schedule's ``scheduled_time``, else ``now``.

    Using the scheduled time keeps a late retry of a schedule from widening its window; an
    invocation by hand (any other payload) sweeps as of now.
    """
    if isinstance(event, Mapping):
        scheduled = _time_or_none(event.get("scheduled_time"))
        if scheduled is not None:
            return scheduled
    return now


def make_object_id(bucket: str, key: str, version_id: str | None) -> str:
    """The ledger key, exactly as the validator writes it (``s3://bucket/key#version``)."""
    return f"s3://{bucket}/{key}#{version_id or 'null'}"


def version_id_of(version: Mapping[str, Any]) -> str | None:
    """A listed version's id; None for the ``"null"`` version of an unversioned object."""
    value = version.get("VersionId")
    return None if value in (None, "", "null") else str(value)


def compact_event(bucket: str, version: Mapping[str, Any]) -> dict[str, Any]:
    """The validator's input for a listed version: the shape the Object Created rule sends,
    with the real key (the validator resolves it as it does any key)."""
    last_modified: datetime = version["LastModified"]
    return {
        "bucket": bucket,
        "key": version["Key"],
        "size": int(version.get("Size", 0)),
        "etag": str(version.get("ETag", "")).strip('"'),
        "version_id": version_id_of(version),
        "event_time": _iso(last_modified, seconds=True),
    }


# --- helpers ------------------------------------------------------------------------------


def _time_or_none(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _iso(value: datetime | None, *, seconds: bool = False) -> str | None:
    """ISO-8601 UTC with a ``Z`` (EventBridge's style), or None."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat(timespec="seconds" if seconds else "milliseconds")
    return text.replace("+00:00", "Z")
