"""Pure record logic of the record partitioner: parse, check, partition, serialise.

No AWS calls here, so tests exercise every rule directly. Formats:

- CSV (``.csv``): first row is the header; every value stays a string; a UTF-8 BOM is ignored;
  a row with more fields than the header is rejected, not truncated.
- JSON lines (``.jsonl``, ``.ndjson``, ``.json``): one JSON object per line; blank lines are
  skipped; a line that is not a JSON object is rejected.

Output is JSON lines, partitioned Hive-style (``key=value/``) by the configured keys, one object
per partition and source object, named after the source so that a retry overwrites its own
output instead of duplicating it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = [
    "HIVE_DEFAULT_PARTITION",
    "ConfigurationError",
    "InvalidEventError",
    "Partitioned",
    "Rejected",
    "Settings",
    "SourceRef",
    "TooManyRejectedRecordsError",
    "detect_format",
    "load_settings",
    "output_key",
    "parse_event",
    "parse_records",
    "partition_path",
    "partition_records",
    "source_id",
    "to_json_lines",
]

#: The partition value Hive and Athena use for a missing or empty value.
HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_UNSAFE_PARTITION_CHARS = re.compile(r"[/=\\\x00-\x1f#%?*]")
_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigurationError(ValueError):
    """The function's environment is missing or malformed."""


class InvalidEventError(ValueError):
    """The invocation payload does not name a source object or prefix."""


class TooManyRejectedRecordsError(RuntimeError):
    """More records were rejected than the configured fraction allows; the step fails."""


@dataclass(frozen=True)
class Settings:
    """Configuration from the environment the construct sets."""

    target_bucket: str
    target_prefix: str
    partition_keys: tuple[str, ...]
    max_rejected_fraction: float


@dataclass(frozen=True)
class SourceRef:
    """What one invocation converts: one object, or every object under a prefix."""

    bucket: str
    key: str | None = None
    prefix: str | None = None
    version_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    """A record that could not be used, with where it was and why."""

    line: int
    reason: str
    raw: str


@dataclass
class Partitioned:
    """Records grouped by partition path, plus what was rejected."""

    partitions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        return sum(len(records) for records in self.partitions.values())


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check the environment; every problem is reported in one error."""
    problems: list[str] = []
    bucket = environ.get("TARGET_BUCKET", "")
    if not bucket:
        problems.append("TARGET_BUCKET must be set")
    prefix = environ.get("TARGET_PREFIX", "")
    if prefix and not prefix.endswith("/"):
        problems.append(f"TARGET_PREFIX must be empty or end in '/', got {prefix!r}")
    raw_keys = environ.get("PARTITION_KEYS", "[]")
    keys: tuple[str, ...] = ()
    try:
        parsed = json.loads(raw_keys)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(k, str) and _KEY_NAME.match(k) for k in parsed):
        keys = tuple(parsed)
    else:
        problems.append(
            f"PARTITION_KEYS must be a JSON list of field names, got {raw_keys!r}"
        )
    raw_fraction = environ.get("MAX_REJECTED_FRACTION", "0")
    try:
        fraction = float(raw_fraction)
    except ValueError:
        fraction = -1.0
    if not 0.0 <= fraction <= 1.0:
        problems.append(f"MAX_REJECTED_FRACTION must be 0 to 1, got {raw_fraction!r}")
    if problems:
        raise ConfigurationError("invalid record partitioner configuration: " + "; ".join(problems))
    return Settings(bucket, prefix, keys, fraction)


def parse_event(event: Any) -> SourceRef:
    """The source named by a Step Functions payload.

    Accepted shapes: ``{"bucket", "key"[, "version_id"]}`` (an object, e.g. the ingestion
    construct's notification), ``{"bucket", "prefix"}`` (every object under it), and a
    Distributed Map item ``{"bucket", "Key"}`` as S3 listings name it.
    """
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"expected a JSON object, got {type(event).__name__}")
    bucket = event.get("bucket")
    key = event.get("key", event.get("Key"))
    prefix = event.get("prefix")
    if not isinstance(bucket, str) or not bucket:
        raise InvalidEventError("the payload needs a non-empty 'bucket'")
    if (key is None) == (prefix is None):
        raise InvalidEventError("the payload needs exactly one of 'key' and 'prefix'")
    if key is not None and (not isinstance(key, str) or not key):
        raise InvalidEventError("'key' must be a non-empty string")
    if prefix is not None and not isinstance(prefix, str):
        raise InvalidEventError("'prefix' must be a string")
    version = event.get("version_id")
    return SourceRef(bucket=bucket, key=key, prefix=prefix,
                     version_id=version if isinstance(version, str) and version else None)


def detect_format(key: str) -> str | None:
    """``csv`` or ``jsonl`` from the key's suffix (case-insensitive); None when unknown."""
    lowered = key.lower()
    for suffix, fmt in _FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    return None


def parse_records(stream: IO[bytes], fmt: str) -> Iterator[dict[str, Any] | Rejected]:
    """Yield each record of ``stream`` (a dict) or a :class:`Rejected` in its place."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    if fmt == "csv":
        yield from _csv_records(text)
    elif fmt == "jsonl":
        yield from _json_line_records(text)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _csv_records(text: IO[str]) -> Iterator[dict[str, Any] | Rejected]:
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    names = [name.strip() for name in header]
    for row in reader:
        line = reader.line_num
        if not row or all(not value for value in row):
            continue
        if len(row) > len(names):
            yield Rejected(line, f"{len(row)} fields where the header has {len(names)}",
                           ",".join(row))
            continue
        yield {name: (row[i] if i < len(row) else "") for i, name in enumerate(names)}


def _json_line_records(text: IO[str]) -> Iterator[dict[str, Any] | Rejected]:
    for line_number, line in enumerate(text, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except ValueError as err:
            yield Rejected(line_number, f"not JSON: {err.msg}", stripped)
            continue
        if not isinstance(value, dict):
            yield Rejected(line_number, f"a JSON {type(value).__name__}, not an object",
                           stripped)
            continue
        yield value


def partition_path(record: Mapping[str, Any], keys: Iterable[str]) -> str:
    """``k1=v1/k2=v2/`` for ``record``; empty or missing values use Hive's default partition."""
    parts = []
    for name in keys:
        value = record.get(name)
        if value is None or value == "":
            text = HIVE_DEFAULT_PARTITION
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = _UNSAFE_PARTITION_CHARS.sub("_", str(value))
        parts.append(f"{name}={text}/")
    return "".join(parts)


def partition_records(
    items: Iterable[dict[str, Any] | Rejected], keys: Iterable[str]
) -> Partitioned:
    """Group records by partition path; rejected records are kept aside, in order."""
    key_list = tuple(keys)
    result = Partitioned()
    for item in items:
        if isinstance(item, Rejected):
            result.rejected.append(item)
            continue
        nested = [name for name in key_list if isinstance(item.get(name), dict | list)]
        if nested:
            result.rejected.append(Rejected(
                0, f"partition key {nested[0]!r} holds a {type(item[nested[0]]).__name__}",
                json.dumps(item, sort_keys=True)))
            continue
        result.partitions.setdefault(partition_path(item, key_list), []).append(item)
    return result


def to_json_lines(records: Iterable[Mapping[str, Any]]) -> bytes:
    """One compact JSON object per line, UTF-8, ending in a newline."""
    lines = [json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
             for record in records]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def source_id(bucket: str, key: str, version_id: str | None) -> str:
    """A short stable id of a source object version: the output names derive from it."""
    digest = hashlib.sha256(f"{bucket}/{key}#{version_id or ''}".encode()).hexdigest()
    return digest[:20]


def output_key(prefix: str, partition: str, source: str) -> str:
    """Where one partition of one source object is written."""
    return f"{prefix}{partition}part-{source}.jsonl"
