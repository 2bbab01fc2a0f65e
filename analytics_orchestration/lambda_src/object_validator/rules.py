"""Pure logic of the object validator: event parsing, settings, validation rules, metadata.

Nothing here talks to AWS, reads the clock or the process environment, so every function can
be unit-tested directly (see ``tests/lambda_src/test_object_validator.py``); ``index.py``
wires these functions to S3, DynamoDB and EventBridge. This module is a plain top-level
module next to ``index.py`` because the handler folder is the root of the Lambda asset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

__all__ = [
    "DEFAULT_ACCEPTED_DETAIL_TYPE",
    "DEFAULT_REJECTED_DETAIL_TYPE",
    "GONE_REASON",
    "QUARANTINE_REASON_METADATA_KEY",
    "S3_USER_METADATA_LIMIT_BYTES",
    "ConfigurationError",
    "InvalidObjectEvent",
    "ObjectRef",
    "Settings",
    "ValidationRules",
    "Verdict",
    "ascii_safe",
    "evaluate_object",
    "key_candidates",
    "load_settings",
    "make_object_id",
    "parse_object_event",
    "quarantine_metadata",
]

#: Reason recorded when the object an event names is gone before it could be quarantined.
GONE_REASON = "object no longer exists"

#: User-metadata key (without the ``x-amz-meta-`` prefix) carrying the reason on the
#: quarantined copy, so whoever inspects the quarantine sees why without the ledger.
QUARANTINE_REASON_METADATA_KEY = "rejection-reason"

#: S3 limits user-defined metadata to 2 KB, measured as the UTF-8 bytes of every key and value.
S3_USER_METADATA_LIMIT_BYTES = 2048

#: Detail types used when ACCEPTED_DETAIL_TYPE / REJECTED_DETAIL_TYPE are not set.
DEFAULT_ACCEPTED_DETAIL_TYPE = "ObjectAccepted"
DEFAULT_REJECTED_DETAIL_TYPE = "ObjectRejected"

_DIGITS = re.compile(r"[0-9]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_TRUE_FALSE = {"true": True, "false": False}


class InvalidObjectEvent(ValueError):
    """The invocation payload is not the compact object event the construct sends.

    Raised before any side effect, with every bad field named in one message, so the event
    that lands in the function's on-failure destination explains itself.
    """


class ConfigurationError(ValueError):
    """The function's environment variables are missing or invalid (names every bad one)."""


@dataclass(frozen=True)
class ObjectRef:
    """One S3 object version, as named by the compact event.

    ``size`` is ``None`` when the event did not carry it (EventBridge omits it for some
    0-byte objects); the handler then asks S3 instead of guessing, because guessing 0 would
    quarantine a real object whenever ``REJECT_EMPTY`` is on.
    ``version_id`` is ``None`` for unversioned buckets (the event's ``""`` and ``null`` alike).
    """

    bucket: str
    key: str
    etag: str
    event_time: str
    size: int | None = None
    version_id: str | None = None

    @property
    def object_id(self) -> str:
        """Ledger partition key of this object version."""
        return make_object_id(self.bucket, self.key, self.version_id)


def make_object_id(bucket: str, key: str, version_id: str | None) -> str:
    """Return the ledger key ``s3://bucket/key#version`` (``#null`` for unversioned buckets)."""
    return f"s3://{bucket}/{key}#{version_id or 'null'}"


def parse_object_event(event: Any) -> ObjectRef:
    """Validate the compact event and normalise it into an :class:`ObjectRef`.

    Every problem is collected first and reported in one :class:`InvalidObjectEvent`, so a
    malformed payload is diagnosed in one look instead of one field per retry.
    ``size`` may be an int or a string of decimal digits; missing or null means unknown.
    ``key`` is kept exactly as the event carries it. Whether S3 URL-encodes keys in the
    events it sends to EventBridge is not documented (classic notifications do; observed
    EventBridge events do not), so no decoding is guessed here: the handler resolves the
    real key against S3 from the candidates of :func:`key_candidates`.
    """
    if not isinstance(event, Mapping):
        raise InvalidObjectEvent(
            f"object event must be a JSON object with bucket, key, etag, event_time, size and "
            f"version_id; got {type(event).__name__}"
        )
    problems: list[str] = []

    def required_string(field: str) -> str:
        value = event.get(field)
        if not isinstance(value, str) or not value:
            problems.append(f"{field}: expected a non-empty string, got {value!r}")
            return ""
        return value

    bucket = required_string("bucket")
    key = required_string("key")
    etag = required_string("etag")
    event_time = required_string("event_time")

    raw_size = event.get("size")
    size: int | None = None
    if isinstance(raw_size, bool):
        problems.append(f"size: expected an integer >= 0, got {raw_size!r}")
    elif isinstance(raw_size, int):
        if raw_size < 0:
            problems.append(f"size: expected an integer >= 0, got {raw_size!r}")
        else:
            size = raw_size
    elif isinstance(raw_size, str) and _DIGITS.fullmatch(raw_size.strip()):
        size = int(raw_size.strip())
    elif raw_size is not None:
        problems.append(f"size: expected an integer >= 0, got {raw_size!r}")

    raw_version = event.get("version_id")
    version_id: str | None = None
    if isinstance(raw_version, str):
        version_id = raw_version or None
    elif raw_version is not None:
        problems.append(f"version_id: expected a string or null, got {raw_version!r}")

    if problems:
        raise InvalidObjectEvent("invalid object event: " + "; ".join(problems))
    return ObjectRef(
        bucket=bucket,
        key=key,
        etag=etag,
        event_time=event_time,
        size=size,
        version_id=version_id,
    )


def key_candidates(key: str) -> tuple[str, ...]:
    """The keys an event's ``key`` may stand for, most likely first, without duplicates.

    1. the key as sent: S3's events to EventBridge have been seen carrying the raw key;
    2. form-decoded (``unquote_plus``: ``+`` is a space, ``%2B`` a plus), the encoding S3
       documents for its classic notifications;
    3. percent-decoded only (``unquote``: ``+`` stays a plus), as other producers encode.

    A key without ``%`` or ``+`` has a single candidate, so the common case costs no extra
    S3 call. Each candidate is tried against S3 with the event's version id (or ETag), so
    ``a+b`` and ``a b`` existing side by side are told apart by the object itself.
    """
    found: list[str] = []
    for candidate in (key, unquote_plus(key), unquote(key)):
        if candidate and candidate not in found:
            found.append(candidate)
    return tuple(found)


@dataclass(frozen=True)
class ValidationRules:
    """What an object must satisfy to be accepted.

    ``allowed_suffixes`` are lower-case (matching is case-insensitive); empty means any key.
    ``max_object_size_bytes`` of 0 means no limit.
    """

    allowed_suffixes: tuple[str, ...] = ()
    max_object_size_bytes: int = 0
    reject_empty: bool = True


@dataclass(frozen=True)
class Verdict:
    """Outcome of :func:`evaluate_object`: accepted, or every broken rule in ``reasons``."""

    reasons: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when no rule was broken."""
        return not self.reasons

    @property
    def reason(self) -> str:
        """All broken rules as one human-readable sentence ("" when accepted)."""
        return "; ".join(self.reasons)


def evaluate_object(key: str, size: int, rules: ValidationRules) -> Verdict:
    """Apply every rule and report all that fail, not just the first.

    Listing every broken rule saves the uploader a second round trip (fix the suffix, get
    rejected again for the size).
    """
    reasons: list[str] = []
    if rules.allowed_suffixes and not key.lower().endswith(rules.allowed_suffixes):
        reasons.append(
            "key suffix is not allowed (allowed: " + ", ".join(rules.allowed_suffixes) + ")"
        )
    if rules.max_object_size_bytes and size > rules.max_object_size_bytes:
        reasons.append(
            f"size {size} bytes exceeds the maximum of {rules.max_object_size_bytes} bytes"
        )
    if rules.reject_empty and size == 0:
        reasons.append("object is empty (0 bytes)")
    return Verdict(reasons=tuple(reasons))


def ascii_safe(text: str) -> str:
    """Make ``text`` safe for an S3 metadata header value.

    Header values must be ASCII (botocore refuses to sign others) and a line break would end
    the header: control characters become one space, non-ASCII becomes backslash escapes
    (``\\xe9``, ``\\u20ac``).
    """
    flattened = _CONTROL_CHARS.sub(" ", text)
    return flattened.encode("ascii", "backslashreplace").decode("ascii")


def quarantine_metadata(original: Mapping[str, str], reason: str) -> dict[str, str]:
    """Return the user metadata for the quarantined copy: the original's plus the reason.

    The reason is made ASCII-safe and truncated (ending in ``...``) so the total stays within
    S3's 2 KB user-metadata limit whatever the original already used: a copy refused for its
    metadata would leave the rejected object in place. If the original's metadata leaves no
    room at all, the reason is left out (the ledger and the event still carry it).
    """
    metadata = {k: v for k, v in original.items() if k != QUARANTINE_REASON_METADATA_KEY}
    used = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    budget = S3_USER_METADATA_LIMIT_BYTES - used - len(QUARANTINE_REASON_METADATA_KEY)
    if budget <= 0:
        return metadata
    value = ascii_safe(reason)
    if len(value) > budget:
        value = value[: budget - 3] + "..." if budget > 3 else value[:budget]
    metadata[QUARANTINE_REASON_METADATA_KEY] = value
    return metadata


@dataclass(frozen=True)
class Settings:
    """The function's configuration, read once from the environment the construct sets."""

    ledger_table_name: str
    event_bus_name: str
    event_source: str
    accepted_detail_type: str
    rejected_detail_type: str
    quarantine_prefix: str
    rules: ValidationRules


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse and check the environment, reporting every bad variable in one error.

    ``ACCEPTED_DETAIL_TYPE`` / ``REJECTED_DETAIL_TYPE`` are optional (the construct passes
    its event catalog's values; the defaults are the same). An empty ``QUARANTINE_PREFIX`` is
    refused: the quarantine key would equal the original
    key, so the "move" would copy an object onto itself and then delete it.
    """
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "")
        if not value:
            problems.append(f"{name} must be set to a non-empty value")
        return value

    def non_negative_int(name: str, *, minimum: int) -> int:
        raw = environ.get(name, "")
        if not _DIGITS.fullmatch(raw.strip()) or int(raw) < minimum:
            problems.append(f"{name} must be an integer >= {minimum}, got {raw!r}")
            return minimum
        return int(raw)

    ledger = required("LEDGER_TABLE_NAME")
    bus = required("EVENT_BUS_NAME")
    source = required("EVENT_SOURCE")
    prefix = required("QUARANTINE_PREFIX")
    max_size = non_negative_int("MAX_OBJECT_SIZE_BYTES", minimum=0)

    raw_reject = environ.get("REJECT_EMPTY", "")
    reject_empty = _TRUE_FALSE.get(raw_reject.strip().lower())
    if reject_empty is None:
        problems.append(f"REJECT_EMPTY must be 'true' or 'false', got {raw_reject!r}")

    raw_suffixes = environ.get("ALLOWED_SUFFIXES", "")
    suffixes: tuple[str, ...] = ()
    try:
        parsed = json.loads(raw_suffixes)
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and all(isinstance(s, str) and s for s in parsed):
        suffixes = tuple(s.lower() for s in parsed)
    else:
        problems.append(
            "ALLOWED_SUFFIXES must be a JSON list of non-empty strings such as "
            f"'[\".csv\"]' ('[]' allows any suffix), got {raw_suffixes!r}"
        )

    if problems:
        raise ConfigurationError("invalid object validator configuration: " + "; ".join(problems))
    return Settings(
        ledger_table_name=ledger,
        event_bus_name=bus,
        event_source=source,
        accepted_detail_type=environ.get("ACCEPTED_DETAIL_TYPE") or DEFAULT_ACCEPTED_DETAIL_TYPE,
        rejected_detail_type=environ.get("REJECTED_DETAIL_TYPE") or DEFAULT_REJECTED_DETAIL_TYPE,
        quarantine_prefix=prefix,
        rules=ValidationRules(
            allowed_suffixes=suffixes,
            max_object_size_bytes=max_size,
            reject_empty=bool(reject_empty),
        ),
    )
