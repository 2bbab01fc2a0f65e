"""The rules of the lake record normaliser, as plain functions (no AWS, no Powertools).

One record in, one :class:`Outcome` out: ``Ok`` with the normalised JSON line, ``Dropped``
(intentionally left out: a value listed in ``DROP_VALUES``), or ``ProcessingFailed`` with the
reason (not JSON, not an object, a required field missing, an unreadable timestamp). These are
the three results of Firehose's data-transformation contract:
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html

Normalising means: field names lower-cased with surrounding spaces removed (Glue column
names are lower case, and the OpenX JSON SerDe matches them case-insensitively); string
values stripped; the timestamp field (ISO 8601 with an offset or ``Z``, or epoch seconds or
milliseconds) rewritten as ISO 8601 UTC with milliseconds (``2026-12-01T23:05:00.000Z``);
and the date field set to that timestamp's UTC date (``yyyy-MM-dd``), the value the stream's
date partition reads. The output is one JSON document followed by a newline, so the files
Firehose writes without format conversion are JSON lines.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OK = "Ok"
DROPPED = "Dropped"
PROCESSING_FAILED = "ProcessingFailed"

#: Epoch values above this are milliseconds (1e11 seconds is in the year 5138).
_EPOCH_MILLIS_FROM = 100_000_000_000


class ConfigurationError(ValueError):
    """The function's environment does not describe a valid normalisation."""


@dataclass(frozen=True)
class Settings:
    """What to require, where the timestamp is, what to drop (from the environment)."""

    required_fields: tuple[str, ...] = ()
    timestamp_field: str = "event_time"
    date_field: str = "event_date"
    drop_values: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The result of one record: its status, the output line (``Ok``) or the reason."""

    result: str
    data: bytes = b""
    reason: str | None = None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``REQUIRED_FIELDS`` (JSON list), ``TIMESTAMP_FIELD``, ``DATE_FIELD`` and
    ``DROP_VALUES`` (JSON object: field -> list of values) from the environment."""
    env = os.environ if environ is None else environ
    try:
        required = json.loads(env.get("REQUIRED_FIELDS", "[]"))
        drop = json.loads(env.get("DROP_VALUES", "{}"))
    except ValueError as error:
        raise ConfigurationError(f"REQUIRED_FIELDS/DROP_VALUES are not JSON: {error}") from error
    if not isinstance(required, list) or not all(isinstance(f, str) for f in required):
        raise ConfigurationError("REQUIRED_FIELDS must be a JSON list of field names")
    if not isinstance(drop, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in drop.values()):
        raise ConfigurationError("DROP_VALUES must be a JSON object of lists of strings")
    return Settings(
        required_fields=tuple(_name(f) for f in required),
        timestamp_field=_name(env.get("TIMESTAMP_FIELD", "event_time")),
        date_field=_name(env.get("DATE_FIELD", "event_date")),
        drop_values={_name(k): frozenset(v) for k, v in drop.items()},
    )


def _name(key: str) -> str:
    return key.strip().lower()


def parse_timestamp(value: Any) -> dt.datetime:
    """A UTC datetime from ISO 8601 (with an offset or ``Z``) or epoch seconds/milliseconds.

    A timestamp without an offset is refused: its time zone is a guess.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLIS_FROM else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return parse_timestamp(float(text))
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no UTC offset")
        return parsed.astimezone(dt.UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def iso_utc(moment: dt.datetime) -> str:
    """``2026-12-01T23:05:00.000Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def normalise(data: bytes, settings: Settings) -> Outcome:
    """Validate and normalise one record (see the module docstring)."""
    try:
        document = json.loads(data)
    except ValueError as error:
        return Outcome(PROCESSING_FAILED, reason=f"not JSON: {error}")
    if not isinstance(document, dict):
        return Outcome(PROCESSING_FAILED,
                       reason=f"a JSON object is needed, got {type(document).__name__}")
    record: dict[str, Any] = {}
    for key, value in document.items():
        record[_name(str(key))] = value.strip() if isinstance(value, str) else value
    missing = [f for f in settings.required_fields if record.get(f) in (None, "")]
    if missing:
        return Outcome(PROCESSING_FAILED, reason=f"missing required fields: {', '.join(missing)}")
    for name, values in settings.drop_values.items():
        if str(record.get(name)) in values:
            return Outcome(DROPPED, reason=f"{name}={record.get(name)} is dropped")
    if settings.timestamp_field in record and record[settings.timestamp_field] is not None:
        try:
            moment = parse_timestamp(record[settings.timestamp_field])
        except (ValueError, OverflowError, OSError) as error:
            return Outcome(PROCESSING_FAILED,
                           reason=f"{settings.timestamp_field}: {error}")
        record[settings.timestamp_field] = iso_utc(moment)
        record[settings.date_field] = moment.strftime("%Y-%m-%d")
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
    return Outcome(OK, data=line.encode())


def normalise_all(records: Sequence[bytes], settings: Settings) -> list[Outcome]:
    """:func:`normalise` for each record, in order (one outcome per record, always)."""
    return [normalise(data, settings) for data in records]
