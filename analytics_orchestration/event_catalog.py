"""The events that analytics-orchestration's constructs put on EventBridge.

One definition per event, used both by the construct that emits it (it passes the source
and detail-type to its handler or state machine) and by rules that subscribe to it, so a
rule can never misspell what an emitter sends: :meth:`LibraryEvent.pattern` also rejects,
at synth, a detail field the event does not carry.

=================  ==================================  ====================================
detail-type        source                              detail fields
=================  ==================================  ====================================
ObjectAccepted     analytics-orchestration.ingestion   bucket, key, size, etag, version_id,
                                                       event_time, object_id, status
ObjectRejected     analytics-orchestration.ingestion   the same + reason, quarantine_key
ObjectsReconciled  analytics-orchestration.ingestion   bucket, count, objects,
                                                       objects_truncated, examined,
                                                       pass_complete, watermark
JobSucceeded       analytics-orchestration.jobs        job_id, queue, received_at,
                                                       finished_at, status
JobFailed          analytics-orchestration.jobs        the same + error
EtlRunSucceeded    analytics-orchestration.etl         workflow, execution_arn, started_at,
                                                       finished_at, status
EtlRunFailed       analytics-orchestration.etl         the same + error, cause
=================  ==================================  ====================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_events as events

from analytics_orchestration.errors import ConfigurationError

__all__ = [
    "ETL_RUN_FAILED",
    "ETL_RUN_SUCCEEDED",
    "JOB_FAILED",
    "JOB_SUCCEEDED",
    "LIBRARY_EVENTS",
    "OBJECTS_RECONCILED",
    "OBJECT_ACCEPTED",
    "OBJECT_NOTIFICATION_FIELDS",
    "OBJECT_REJECTED",
    "LibraryEvent",
]

#: The compact shape every ingestion target receives (and ObjectAccepted's detail starts
#: with): bucket name, object key, size in bytes, ETag, version id (null when the bucket
#: is unversioned) and the time S3 created the object (ISO-8601).
OBJECT_NOTIFICATION_FIELDS = ("bucket", "key", "size", "etag", "version_id", "event_time")


@dataclass(frozen=True)
class LibraryEvent:
    """An event type: its EventBridge ``source``, ``detail-type`` and detail fields."""

    source: str
    detail_type: str
    detail_fields: tuple[str, ...]

    def pattern(self, detail: Mapping[str, object] | None = None) -> events.EventPattern:
        """A pattern matching this event type, optionally narrowed by ``detail``.

        Raises :class:`~analytics_orchestration.errors.ConfigurationError` when ``detail``
        filters on a field this event does not carry: such a rule would never match.
        """
        unknown = sorted(set(detail or {}) - set(self.detail_fields))
        if unknown:
            raise ConfigurationError(
                f"{self.detail_type} pattern",
                [f"detail.{name}: not a field of {self.detail_type}; fields are "
                 f"{', '.join(self.detail_fields)}" for name in unknown],
            )
        return events.EventPattern(
            source=[self.source],
            detail_type=[self.detail_type],
            detail=dict(detail) if detail else None,
        )


_INGESTION = "analytics-orchestration.ingestion"
_JOBS = "analytics-orchestration.jobs"
_ETL = "analytics-orchestration.etl"
_JOB_FIELDS = ("job_id", "queue", "received_at", "finished_at", "status")
_ETL_FIELDS = ("workflow", "execution_arn", "started_at", "finished_at", "status")

#: An object passed validation.
OBJECT_ACCEPTED = LibraryEvent(
    _INGESTION, "ObjectAccepted", (*OBJECT_NOTIFICATION_FIELDS, "object_id", "status")
)
#: An object failed validation and was moved to quarantine.
OBJECT_REJECTED = LibraryEvent(
    _INGESTION, "ObjectRejected",
    (*OBJECT_NOTIFICATION_FIELDS, "object_id", "status", "reason", "quarantine_key"),
)
#: The reconciliation sweep re-drove objects whose events never reached the validator:
#: ``count`` versions, the first 100 named in ``objects`` (``key``, ``version_id``,
#: ``object_id``; ``objects_truncated`` when there were more), ``examined`` versions listed,
#: ``pass_complete`` and the sweep's ``watermark`` after the run.
OBJECTS_RECONCILED = LibraryEvent(
    _INGESTION, "ObjectsReconciled",
    ("bucket", "count", "objects", "objects_truncated", "examined", "pass_complete",
     "watermark"),
)
#: A worker finished a job.
JOB_SUCCEEDED = LibraryEvent(_JOBS, "JobSucceeded", _JOB_FIELDS)
#: A worker gave up on a job.
JOB_FAILED = LibraryEvent(_JOBS, "JobFailed", (*_JOB_FIELDS, "error"))
#: An ETL workflow run succeeded.
ETL_RUN_SUCCEEDED = LibraryEvent(_ETL, "EtlRunSucceeded", _ETL_FIELDS)
#: An ETL workflow run failed.
ETL_RUN_FAILED = LibraryEvent(_ETL, "EtlRunFailed", (*_ETL_FIELDS, "error", "cause"))

#: Every event of the catalog.
LIBRARY_EVENTS = (
    OBJECT_ACCEPTED, OBJECT_REJECTED, OBJECTS_RECONCILED, JOB_SUCCEEDED, JOB_FAILED,
    ETL_RUN_SUCCEEDED, ETL_RUN_FAILED,
)
