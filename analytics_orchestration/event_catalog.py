"""The events that analytics-orchestration's constructs put on EventBridge.

One definition per event, used both by the construct that emits it (it passes the source
and detail-type to its handler) and by rules that subscribe to it, so a rule can never
misspell what an emitter sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_events as events

__all__ = ["OBJECT_ACCEPTED", "OBJECT_NOTIFICATION_FIELDS", "OBJECT_REJECTED", "LibraryEvent"]

#: The compact shape every ingestion target receives (and ObjectAccepted's detail starts
#: with): bucket name, object key, size in bytes, ETag, version id (null when the bucket
#: is unversioned) and the time S3 created the object (ISO-8601).
OBJECT_NOTIFICATION_FIELDS = ("bucket", "key", "size", "etag", "version_id", "event_time")


@dataclass(frozen=True)
class LibraryEvent:
    """An event type: its EventBridge ``source`` and ``detail-type``."""

    source: str
    detail_type: str

    def pattern(self, detail: dict[str, object] | None = None) -> events.EventPattern:
        """An event pattern matching this event type, optionally narrowed by ``detail``."""
        return events.EventPattern(
            source=[self.source], detail_type=[self.detail_type], detail=detail
        )


_INGESTION_SOURCE = "analytics-orchestration.ingestion"

#: An object passed validation. Detail: the compact object notification plus
#: ``object_id`` (its ledger key) and ``status`` ("ACCEPTED").
OBJECT_ACCEPTED = LibraryEvent(_INGESTION_SOURCE, "ObjectAccepted")
#: An object failed validation and was moved to quarantine. Detail: the compact object
#: notification plus ``object_id``, ``status`` ("REJECTED"), ``reason`` and
#: ``quarantine_key``.
OBJECT_REJECTED = LibraryEvent(_INGESTION_SOURCE, "ObjectRejected")
