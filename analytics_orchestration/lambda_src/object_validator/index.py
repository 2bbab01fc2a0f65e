"""Validation stage of the S3 ingestion pipeline (entry point ``index.handler``).

EventBridge invokes this function asynchronously with one compact object event::

    {"bucket": "...", "key": "...", "size": 123, "etag": "...",
     "version_id": "..." | "" | null, "event_time": "..."}

``key`` is taken as the event carries it and resolved against S3 first (see
:func:`_resolve_object`): S3 may or may not URL-encode keys in its EventBridge events, so the
candidates (as sent, then decoded) are tried with the event's version id or ETag and the one
that names this very object becomes the key of record. The reconciliation sweep sends the
same compact event with the real key.

For each object version it decides ACCEPTED or REJECTED (rules in ``rules.py``), records the
decision once in the ingestion ledger, moves rejected objects under ``QUARANTINE_PREFIX`` and
publishes ``ObjectAccepted`` / ``ObjectRejected`` (overridable through ``ACCEPTED_DETAIL_TYPE`` /
``REJECTED_DETAIL_TYPE``) to ``EVENT_BUS_NAME``.

Why the steps run in this order (S3 and EventBridge deliver at least once, Lambda retries
failed async invocations, the reconciliation sweep re-drives):

1. The ledger row is written *before* any side effect, with ``attribute_not_exists``: the
   row is the claim on the object version and records the decision, so a duplicate (at any
   time later) never moves or announces the object a second time, and a resumed attempt
   carries out the recorded decision (a rejected object moved away by the first attempt is
   not re-judged as "gone"). A failed claim returns the existing row with the error
   (``ReturnValuesOnConditionCheckFailure``): a duplicate costs that one call.
2. The claim carries a *lease* (``lease_until``, epoch ms: the attempt's Lambda deadline).
   A duplicate that finds an unfinished row whose lease runs raises
   :class:`ObjectInProgressError` (Lambda retries it later) instead of publishing a second
   time next to the running attempt; once the lease has run out (the attempt died) a
   duplicate, Lambda's retry or the sweep's re-drive takes the lease over with a conditional
   write and finishes the recorded decision. An attempt that fails with an exception hands
   its lease back first, so Lambda's retry need not wait for the deadline.
3. The quarantine move and the event follow; ``published_at`` is set on the row last. If an
   attempt fails in between (PutEvents rejected the entry, a timeout), the retry finds a row
   without ``published_at`` and finishes the recorded decision instead of returning early -
   otherwise the outcome event would be lost for good. ``object_reconciler`` re-drives rows
   left without ``published_at``, so this second write is what makes "nothing lost" hold.

So an accepted object costs 3 AWS calls (claim, PutEvents, ``published_at``) and a rejected
one 6 (plus HeadObject for the headers a REPLACE copy must carry over, CopyObject,
DeleteObject); neither can lose one without losing a guarantee: one write cannot both claim
before the event and mark it sent after it, and PutEvents cannot be made conditional.
Powertools idempotency is deliberately not used here (it was, until issue #16): its
in-progress and completed records (two more DynamoDB writes per object) only repeated what
the ledger's conditional claim already decides, for longer than its expiry window; its one
extra, the in-progress lock against concurrent duplicates, is the lease above, carried by the
claim at no extra call. Powertools still does the logging, tracing and metrics.

Clients and configuration are built on first use, not at import, so a missing variable
surfaces as a clear :class:`rules.ConfigurationError` and tests can start moto first.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from rules import (
    GONE_REASON,
    ConfigurationError,
    InvalidObjectEvent,
    ObjectRef,
    Settings,
    ValidationRules,
    Verdict,
    evaluate_object,
    key_candidates,
    load_settings,
    parse_object_event,
    quarantine_metadata,
)

__all__ = [
    "ConfigurationError",
    "EventPublishError",
    "InvalidObjectEvent",
    "LedgerConflictError",
    "ObjectInProgressError",
    "ObjectRef",
    "Settings",
    "ValidationRules",
    "Verdict",
    "evaluate_object",
    "handler",
    "key_candidates",
    "load_settings",
    "parse_object_event",
]

ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
SKIPPED = "SKIPPED"

#: Ledger attribute set once the outcome event is on the bus: a row without it is unfinished.
PUBLISHED_AT = "published_at"
#: Ledger attribute of an unfinished row: until then (epoch ms) its attempt is working on it.
LEASE_UNTIL = "lease_until"

#: CopyObject refuses sources over 5 GiB; larger objects are copied part by part.
_MAX_SINGLE_COPY_BYTES = 5 * 1024**3
#: Smallest part for multipart copies (S3 allows 5 MiB to 5 GiB, at most 10,000 parts).
_COPY_PART_BYTES = 512 * 1024**2
_MAX_PARTS = 10_000
_COPY_CONCURRENCY = 8

#: Standard headers a REPLACE copy would otherwise drop; the quarantined copy keeps them.
_PRESERVED_HEADERS = (
    "ContentType",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "CacheControl",
)
#: S3 error codes meaning "the object version this event names is not there any more":
#: missing key or version, a delete marker (405), or a different object now under the key
#: of an unversioned bucket (412 on If-Match).
_GONE_CODES = frozenset(
    {"404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed", "412", "PreconditionFailed"}
)

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class EventPublishError(RuntimeError):
    """EventBridge did not accept the outcome event.

    Raised so Lambda retries the invocation (and finally hands it to the on-failure
    destination); the ledger row stays unfinished, so the retry publishes again.
    """


class ObjectInProgressError(RuntimeError):
    """Another attempt holds the lease on this object version and has not finished.

    Raised so Lambda retries the duplicate later (then it is answered from the ledger, or
    takes over a lease that ran out); never published next to the running attempt.
    """


class LedgerConflictError(RuntimeError):
    """The ledger already holds this object id for a different ETag.

    Only possible in an unversioned bucket whose key was overwritten: both objects map to
    ``...#null`` and the ledger can record one of them. Raised rather than dropping the
    newer object silently; versioned buckets never hit it.
    """


class _Ledger:
    """The ingestion ledger table: one row per object version, written once."""

    _serializer = TypeSerializer()
    _deserializer = TypeDeserializer()

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def claim(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """Write the row unless one exists; else return the existing row (one call either way).

        The failed condition hands back the stored item (``ALL_OLD``), so a duplicate needs
        no second read. Raises when DynamoDB refuses the condition without the item (it does
        not, but a row decided on nothing must never be resumed).
        """
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={k: self._serializer.serialize(v) for k, v in row.items()},
                ConditionExpression="attribute_not_exists(object_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as err:
            if not _condition_failed(err):
                raise
            item = err.response.get("Item")
            if not item:
                raise RuntimeError(
                    f"ledger refused the claim on {row['object_id']} without its row"
                ) from err
            return self._row(item)
        return None

    def take_over(self, object_id: str, *, expired: int | None, lease_until: int) -> bool:
        """Take the lease of an unfinished row whose lease (``expired``) ran out.

        Conditional on the row still being unfinished and its lease unchanged, so of two
        attempts taking over at once exactly one wins; False for the loser.
        """
        condition = "attribute_not_exists(#published_at) AND "
        values: dict[str, Any] = {":mine": {"N": str(lease_until)}}
        if expired is None:
            condition += "attribute_not_exists(#lease)"
        else:
            condition += "#lease = :expired"
            values[":expired"] = {"N": str(expired)}
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=self._key(object_id),
                UpdateExpression="SET #lease = :mine",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#lease": LEASE_UNTIL, "#published_at": PUBLISHED_AT},
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if _condition_failed(err):
                return False
            raise
        return True

    def release(self, object_id: str, lease_until: int) -> None:
        """Hand back this attempt's lease (it failed), so Lambda's retry can resume at once."""
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=self._key(object_id),
                UpdateExpression="REMOVE #lease",
                ConditionExpression="#lease = :mine",
                ExpressionAttributeNames={"#lease": LEASE_UNTIL},
                ExpressionAttributeValues={":mine": {"N": str(lease_until)}},
            )
        except ClientError as err:
            if not _condition_failed(err):
                raise

    def _row(self, item: Mapping[str, Any]) -> dict[str, Any]:
        row = {k: self._deserializer.deserialize(v) for k, v in item.items()}
        return {k: int(v) if isinstance(v, Decimal) else v for k, v in row.items()}

    def record_gone(self, object_id: str) -> None:
        """Re-record a rejection whose object vanished: new reason, no quarantine key."""
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key(object_id),
            UpdateExpression="SET #reason = :reason REMOVE #quarantine_key",
            ExpressionAttributeNames={"#reason": "reason", "#quarantine_key": "quarantine_key"},
            ExpressionAttributeValues={":reason": {"S": GONE_REASON}},
        )

    def mark_published(self, object_id: str) -> None:
        """Mark the row finished: its outcome event is on the bus (the lease goes with it)."""
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key(object_id),
            UpdateExpression="SET #published_at = :now REMOVE #lease",
            ExpressionAttributeNames={"#published_at": PUBLISHED_AT, "#lease": LEASE_UNTIL},
            ExpressionAttributeValues={":now": {"S": _utc_now()}},
        )

    @staticmethod
    def _key(object_id: str) -> dict[str, Any]:
        return {"object_id": {"S": object_id}}


@dataclass(frozen=True)
class _Runtime:
    """Everything built once per execution environment, on first use."""

    settings: Settings
    s3: BaseClient
    events: BaseClient
    ledger: _Ledger


@functools.cache
def _runtime() -> _Runtime:
    """Read the configuration and create the clients (once per container).

    All clients come from boto3's default session: every extra session or resource
    re-parses botocore's endpoint and service models, which is most of a cold start's
    client cost.
    """
    settings = load_settings(os.environ)
    return _Runtime(
        settings=settings,
        s3=boto3.client("s3", config=_BOTO_CONFIG),
        events=boto3.client("events", config=_BOTO_CONFIG),
        ledger=_Ledger(boto3.client("dynamodb", config=_BOTO_CONFIG), settings.ledger_table_name),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Validate one object version; return a summary (status, object_id, reason?, quarantine_key?).

    Raises :class:`InvalidObjectEvent` for a malformed payload and lets AWS errors propagate,
    so Lambda's async retries and on-failure destination keep the event.
    """
    runtime = _runtime()
    try:
        ref = parse_object_event(event)
    except InvalidObjectEvent:
        metrics.add_metric(name="InvalidObjectEvents", unit=MetricUnit.Count, value=1)
        logger.exception("Malformed object event")
        raise
    ref = _resolve_object(runtime.s3, ref)
    logger.append_keys(object_id=ref.object_id)

    if ref.key.startswith(runtime.settings.quarantine_prefix):
        # Our own quarantine copies raise S3 events too; validating them would loop.
        metrics.add_metric(name="ObjectsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("Skipping object under the quarantine prefix")
        return {
            "status": SKIPPED,
            "object_id": ref.object_id,
            "reason": f"key is under the quarantine prefix {runtime.settings.quarantine_prefix!r}",
        }

    lease_until = _now_ms() + context.get_remaining_time_in_millis()
    return _process_object(runtime, ref, lease_until=lease_until)


@tracer.capture_method
def _resolve_object(s3: BaseClient, ref: ObjectRef) -> ObjectRef:
    """The event's object under its real key: the first candidate S3 knows as this version.

    Each candidate of :func:`rules.key_candidates` (as sent, form-decoded, percent-decoded)
    is HEADed with the event's version id (unversioned: ``If-Match`` on its ETag, and the
    ETag is compared in both cases), so of ``a+b`` and ``a b`` only the one this event is
    about matches. A key with a single candidate is returned untouched, without a call.
    When no candidate exists any more the key stays as sent (the object is recorded as
    gone under it). A HEAD that answers the size fills in a missing one.
    """
    candidates = key_candidates(ref.key)
    if len(candidates) == 1:
        return ref
    for candidate in candidates:
        head = _head_source(s3, replace(ref, key=candidate))
        if head is None or _strip_quotes(str(head.get("ETag", ""))) != _strip_quotes(ref.etag):
            continue
        if candidate != ref.key:
            metrics.add_metric(name="ObjectKeysDecoded", unit=MetricUnit.Count, value=1)
            logger.info("Event key was URL-encoded", extra={"sent": ref.key, "key": candidate})
        size = ref.size if ref.size is not None else int(head["ContentLength"])
        return replace(ref, key=candidate, size=size)
    logger.warning("No candidate key names this object version",
                   extra={"sent": ref.key, "candidates": list(candidates)})
    return ref


@tracer.capture_method
def _process_object(runtime: _Runtime, ref: ObjectRef, *, lease_until: int) -> dict[str, Any]:
    """Decide, claim the ledger row, then carry out the decision (idempotent on the version).

    ``lease_until`` (epoch ms) is this attempt's deadline: the claim's lease.
    """
    exists = True
    size = ref.size
    if size is None:
        # Unknown size: ask S3 rather than assume 0 and quarantine a real object as "empty".
        head = _head_source(runtime.s3, ref)
        exists = head is not None
        size = int(head["ContentLength"]) if head else 0
        ref = replace(ref, size=size)

    if not exists:
        row = _new_row(ref, REJECTED, reason=GONE_REASON, quarantine_key=None)
    else:
        verdict = evaluate_object(ref.key, size, runtime.settings.rules)
        row = (
            _new_row(ref, ACCEPTED, reason=None, quarantine_key=None)
            if verdict.accepted
            else _new_row(
                ref,
                REJECTED,
                reason=verdict.reason,
                quarantine_key=f"{runtime.settings.quarantine_prefix}{ref.key}",
            )
        )

    row[LEASE_UNTIL] = lease_until
    existing = runtime.ledger.claim(row)
    if existing is None:
        return _carry_out_leased(runtime, row, lease_until, resuming=False)

    if _strip_quotes(existing["etag"]) != _strip_quotes(ref.etag):
        raise LedgerConflictError(
            f"ledger already records {row['object_id']} with ETag {existing['etag']!r}, "
            f"but this event names ETag {ref.etag!r}: the key of an unversioned bucket was "
            "overwritten; enable versioning on the bucket so each upload is its own record"
        )
    if PUBLISHED_AT in existing:
        logger.info("Duplicate delivery answered from the ledger", extra={"row": existing})
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
        return _summary(existing)
    lease = existing.get(LEASE_UNTIL)
    if lease is not None and lease > _now_ms():
        raise ObjectInProgressError(
            f"{row['object_id']} is being processed by another attempt (lease until "
            f"{lease} ms); retry later"
        )
    if not runtime.ledger.take_over(row["object_id"], expired=lease, lease_until=lease_until):
        raise ObjectInProgressError(
            f"another attempt took over or finished {row['object_id']} just now; retry later"
        )
    # An earlier attempt claimed the row but failed before publishing: finish *its* decision.
    logger.warning("Resuming unfinished processing", extra={"status": existing["status"]})
    return _carry_out_leased(runtime, {**existing, LEASE_UNTIL: lease_until}, lease_until,
                             resuming=True)


def _carry_out_leased(
    runtime: _Runtime, row: dict[str, Any], lease_until: int, *, resuming: bool
) -> dict[str, Any]:
    """:func:`_carry_out` under this attempt's lease, handed back if the attempt fails."""
    try:
        return _carry_out(runtime, row, resuming=resuming)
    except Exception:
        try:
            runtime.ledger.release(row["object_id"], lease_until)
        except ClientError:
            # The lease then runs out at the deadline: a retry waits, nothing is lost.
            logger.exception("Could not hand back the lease")
        raise


def _carry_out(runtime: _Runtime, row: dict[str, Any], *, resuming: bool) -> dict[str, Any]:
    """Quarantine (if rejected), publish, mark the row finished, count it."""
    if row["status"] == REJECTED and row.get("quarantine_key"):
        moved = _move_to_quarantine(
            runtime.s3,
            _ref_from_row(row),
            quarantine_key=row["quarantine_key"],
            reason=row["reason"],
            resuming=resuming,
        )
        if not moved:
            runtime.ledger.record_gone(row["object_id"])
            row = {k: v for k, v in row.items() if k != "quarantine_key"}
            row["reason"] = GONE_REASON
    _publish(runtime, row)
    runtime.ledger.mark_published(row["object_id"])
    accepted = row["status"] == ACCEPTED
    metrics.add_metric(
        name="ObjectsAccepted" if accepted else "ObjectsRejected", unit=MetricUnit.Count, value=1
    )
    logger.info("Object %s", row["status"].lower(), extra={"reason": row.get("reason")})
    return _summary(row)


# --- ledger -----------------------------------------------------------------------------


def _new_row(
    ref: ObjectRef, status: str, *, reason: str | None, quarantine_key: str | None
) -> dict[str, Any]:
    """Build the ledger item; ``reason``/``quarantine_key`` appear only when they apply."""
    row: dict[str, Any] = {
        "object_id": ref.object_id,
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "size": ref.size,
        "etag": ref.etag,
        "event_time": ref.event_time,
        "status": status,
        "recorded_at": _utc_now(),
    }
    if reason:
        row["reason"] = reason
    if quarantine_key:
        row["quarantine_key"] = quarantine_key
    return row


def _ref_from_row(row: Mapping[str, Any]) -> ObjectRef:
    """Rebuild the object reference from a ledger row (the row is the source of truth)."""
    return ObjectRef(
        bucket=row["bucket"],
        key=row["key"],
        etag=row["etag"],
        event_time=row["event_time"],
        size=int(row["size"]),
        version_id=row.get("version_id") or None,
    )


def _condition_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """The handler's return value, built from the row so duplicates answer identically."""
    summary = {"status": row["status"], "object_id": row["object_id"]}
    for optional in ("reason", "quarantine_key"):
        if row.get(optional):
            summary[optional] = row[optional]
    return summary


# --- S3 ---------------------------------------------------------------------------------


def _head_source(s3: BaseClient, ref: ObjectRef) -> dict[str, Any] | None:
    """HEAD the exact object version the event names; None when it no longer exists.

    Without a version id (unversioned bucket) ``If-Match`` on the event's ETag makes sure a
    newer upload under the same key is not mistaken for the object being validated.
    """
    try:
        head: dict[str, Any] = s3.head_object(
            Bucket=ref.bucket, Key=ref.key, **_source_selector(ref, "head")
        )
    except ClientError as err:
        if _is_gone(err):
            return None
        raise
    return head


@tracer.capture_method
def _move_to_quarantine(
    s3: BaseClient, ref: ObjectRef, *, quarantine_key: str, reason: str, resuming: bool
) -> bool:
    """Copy the version to ``quarantine_key`` with its headers and reason, then delete it.

    Deleting the specific version (or, unversioned, the key only while it still has the
    event's ETag) makes this a true move: no delete marker hides a recoverable copy and a
    newer upload is never removed. Returns False when the object is gone; when ``resuming``
    after a failed attempt, a gone source with an existing quarantine copy counts as moved.
    """
    head = _head_source(s3, ref)
    if head is None:
        if resuming and _exists(s3, ref.bucket, quarantine_key):
            logger.info("Object was already moved by an earlier attempt")
            return True
        logger.warning("Rejected object no longer exists")
        return False

    attributes = {name: head[name] for name in _PRESERVED_HEADERS if head.get(name)}
    attributes["Metadata"] = quarantine_metadata(head.get("Metadata") or {}, reason)
    copy_source = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        copy_source["VersionId"] = ref.version_id
    conditions = _source_selector(ref, "copy")
    try:
        if int(head["ContentLength"]) <= _MAX_SINGLE_COPY_BYTES:
            s3.copy_object(
                Bucket=ref.bucket,
                Key=quarantine_key,
                CopySource=copy_source,
                MetadataDirective="REPLACE",
                **attributes,
                **conditions,
            )
        else:
            _multipart_copy(
                s3,
                copy_source,
                key=quarantine_key,
                size=int(head["ContentLength"]),
                attributes=attributes,
                conditions=conditions,
            )
    except ClientError as err:
        if _is_gone(err):
            logger.warning("Rejected object vanished while being copied")
            return False
        raise

    try:
        s3.delete_object(Bucket=ref.bucket, Key=ref.key, **_source_selector(ref, "delete"))
    except ClientError as err:
        if not _is_gone(err):
            raise
        # Copied, then gone or replaced (unversioned): the rejected bytes are in quarantine.
        logger.warning("Original changed before it could be deleted; the newer object stays")
    return True


def _multipart_copy(
    s3: BaseClient,
    copy_source: dict[str, str],
    *,
    key: str,
    size: int,
    attributes: dict[str, Any],
    conditions: dict[str, str],
) -> None:
    """Server-side copy of an object too large for CopyObject, parts in parallel.

    Object tags are not carried over on this path (CopyObject copies them; a multipart
    upload would need GetObjectTagging and an explicit ``Tagging``).
    """
    bucket = copy_source["Bucket"]
    part_size = max(_COPY_PART_BYTES, math.ceil(size / _MAX_PARTS))
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **attributes)["UploadId"]

    def copy_part(number: int, first: int) -> dict[str, Any]:
        last = min(first + part_size, size) - 1
        result = s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=copy_source,
            CopySourceRange=f"bytes={first}-{last}",
            **conditions,
        )
        return {"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]}

    starts = range(0, size, part_size)
    try:
        with ThreadPoolExecutor(max_workers=_COPY_CONCURRENCY) as pool:
            parts = list(pool.map(copy_part, range(1, len(starts) + 1), starts))
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError:
            logger.exception("Could not abort multipart copy %s", upload_id)
        raise


def _exists(s3: BaseClient, bucket: str, key: str) -> bool:
    """True when ``key`` currently exists in ``bucket``."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _is_gone(err):
            return False
        raise
    return True


def _source_selector(ref: ObjectRef, operation: str) -> dict[str, str]:
    """Arguments that pin an S3 call to the event's object version.

    Versioned: the version id (copies carry it in ``CopySource``). Unversioned: the ETag
    as a precondition, so a newer upload under the same key is left alone.
    """
    if ref.version_id:
        return {} if operation == "copy" else {"VersionId": ref.version_id}
    etag = f'"{_strip_quotes(ref.etag)}"'
    return {"CopySourceIfMatch": etag} if operation == "copy" else {"IfMatch": etag}


def _is_gone(err: ClientError) -> bool:
    """True for the S3 errors that mean the object version is not there (see _GONE_CODES)."""
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = str(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code in _GONE_CODES or status in _GONE_CODES


# --- EventBridge --------------------------------------------------------------------------


@tracer.capture_method
def _publish(runtime: _Runtime, row: Mapping[str, Any]) -> None:
    """Put the outcome event; raise unless EventBridge accepted it (nothing may be lost)."""
    status = row["status"]
    detail: dict[str, Any] = {
        "bucket": row["bucket"],
        "key": row["key"],
        "size": int(row["size"]),
        "etag": row["etag"],
        "version_id": row.get("version_id") or None,
        "event_time": row["event_time"],
        "object_id": row["object_id"],
        "status": status,
    }
    if status == REJECTED:
        detail["reason"] = row["reason"]
        detail["quarantine_key"] = row.get("quarantine_key")
    response = runtime.events.put_events(
        Entries=[
            {
                "EventBusName": runtime.settings.event_bus_name,
                "Source": runtime.settings.event_source,
                "DetailType": (
                    runtime.settings.accepted_detail_type
                    if status == ACCEPTED
                    else runtime.settings.rejected_detail_type
                ),
                "Detail": json.dumps(detail),
            }
        ]
    )
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise EventPublishError(
            f"EventBridge rejected the {status} event for {row['object_id']}: "
            f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )


# --- helpers ------------------------------------------------------------------------------


def _utc_now() -> str:
    """Current time as ISO-8601 UTC, e.g. ``2025-01-31T12:00:00.000+00:00``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _now_ms() -> int:
    """Current time in epoch milliseconds (the lease's unit)."""
    return int(time.time() * 1000)


def _strip_quotes(etag: str) -> str:
    """ETags come quoted from S3 APIs and unquoted in events; compare them bare."""
    return etag.strip('"')
