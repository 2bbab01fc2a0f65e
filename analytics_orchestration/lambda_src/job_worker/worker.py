"""Processing one job record: job table, idempotency, outcome events (Lambda and container).

``process_record`` is the per-record handler that Powertools' batch processor calls, both in
the Lambda handler (``index.py``) and in the container poller (``poller.py``), so the two
kinds of worker share every semantic:

1. The job is parsed (``jobs.parse_job``); a malformed message raises :class:`InvalidJob`:
   its row (when it names a job id) records FAILED with the error, the record is reported as
   a batch item failure, and after ``MAX_RECEIVE_COUNT`` receives SQS parks it in the DLQ.
2. The job row is set to RECEIVED (with ``received_at``, the receive count and a *lease*,
   ``lease_until``: the batch's deadline in epoch ms) in one conditional write, the claim.
   It is refused when the job already SUCCEEDED (a redelivery, at any time: answered as a
   duplicate, nothing runs) or when another attempt holds a running lease (a concurrent
   duplicate: :class:`JobInProgressError` fails the record, SQS redelivers it after the
   visibility timeout and it is answered then). The refusal returns the row with the error
   (``ReturnValuesOnConditionCheckFailure``), so a duplicate costs that one call. A lease
   that ran out (the attempt died) is simply taken: SQS redelivers a message only after its
   visibility timeout, at least 6 x the function's timeout, so a live attempt's lease has
   always run out by then.
3. The job runs; JobSucceeded is put on the bus (when ``EVENT_BUS_NAME`` is set) and then
   SUCCEEDED (with ``finished_at`` and the JSON result) recorded; or FAILED (with the error)
   is recorded, and JobFailed put once the last receive failed (the message is about to be
   parked in the DLQ). Either write drops the lease.

So a job costs 3 AWS calls: the claim, PutEvents, SUCCEEDED. The event must go out before
SUCCEEDED is recorded (else a refused event would be lost behind a "duplicate" answer) and
after the claim (else a concurrent duplicate would announce it too): neither write can go.
Powertools idempotency is deliberately not used (it was, until issue #16): its in-progress
and completed records (two more DynamoDB writes per job) repeated what the claim decides;
its in-progress lock is the lease, carried by the claim at no extra call. Powertools still
does the batch processing, logging and metrics.

Clients and configuration are built on first use, so a missing variable surfaces as a clear
:class:`jobs.ConfigurationError` and tests can start moto first.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BasePartialBatchProcessor,
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from jobs import (
    ConfigurationError,
    InvalidJob,
    Job,
    Settings,
    error_text,
    load_settings,
    parse_job,
    run_job,
)

__all__ = [
    "FAILED",
    "RECEIVED",
    "SUCCEEDED",
    "ConfigurationError",
    "EventPublishError",
    "InvalidJob",
    "JobInProgressError",
    "new_processor",
    "process_record",
    "runtime",
]

RECEIVED = "RECEIVED"
#: Job-row attribute of a RECEIVED job: until then (epoch ms) its attempt is running it.
LEASE_UNTIL = "lease_until"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

logger = Logger()
metrics = Metrics()


class _RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class EventPublishError(RuntimeError):
    """EventBridge did not accept an outcome event; the record fails and is retried."""


class JobInProgressError(RuntimeError):
    """Another attempt holds a running lease on this job: the record fails, SQS redelivers it
    after the visibility timeout, and it is answered then (a duplicate, or the job taken over)."""


class _JobTable:
    """The job table: one row per job id, status RECEIVED -> SUCCEEDED | FAILED."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def mark_received(self, job: Job, now: str, *, now_ms: int, lease_until: int) -> bool:
        """Claim the job with a lease; False when it already SUCCEEDED (a duplicate).

        Raises :class:`JobInProgressError` when another attempt's lease still runs.
        """
        values: dict[str, Any] = {
            ":received": {"S": RECEIVED},
            ":succeeded": {"S": SUCCEEDED},
            ":now": {"S": now},
            ":now_ms": {"N": str(now_ms)},
            ":lease": {"N": str(lease_until)},
            ":attempts": {"N": str(job.receive_count)},
            ":job_type": {"S": job.job_type},
            ":message_id": {"S": job.message_id},
        }
        assignments = ["#status = :received", "received_at = :now", "attempts = :attempts",
                       "job_type = :job_type", "message_id = :message_id", "#lease = :lease"]
        for name in ("submitted_by", "submitted_at"):
            value = getattr(job, name)
            if value:
                values[f":{name}"] = {"S": value}
                assignments.append(f"{name} = :{name}")
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"job_id": {"S": job.job_id}},
                UpdateExpression="SET " + ", ".join(assignments)
                + " REMOVE finished_at, #error, #result",
                ConditionExpression=(
                    "attribute_not_exists(job_id) OR (#status <> :succeeded AND (#status <> "
                    ":received OR attribute_not_exists(#lease) OR #lease < :now_ms))"
                ),
                ExpressionAttributeNames={"#status": "status", "#error": "error",
                                          "#result": "result", "#lease": LEASE_UNTIL},
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as err:
            if not _condition_failed(err):
                raise
            old = err.response.get("Item") or {}
            if old.get("status", {}).get("S") == SUCCEEDED:
                return False
            raise JobInProgressError(
                f"job {job.job_id} is being run by another attempt (lease until "
                f"{old.get(LEASE_UNTIL, {}).get('N')} ms); it is answered on redelivery"
            ) from None
        return True

    def mark_succeeded(self, job_id: str, result: Mapping[str, Any], now: str) -> None:
        self._client.update_item(
            TableName=self._table_name,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET #status = :status, finished_at = :now, #result = :result "
                             "REMOVE #lease",
            ExpressionAttributeNames={"#status": "status", "#result": "result",
                                      "#lease": LEASE_UNTIL},
            ExpressionAttributeValues={":status": {"S": SUCCEEDED}, ":now": {"S": now},
                                       ":result": {"S": json.dumps(result, sort_keys=True)}},
        )

    def mark_failed(self, job_id: str, error: str, attempts: int, now: str) -> bool:
        """Record the failure; False (nothing written) when the job already SUCCEEDED."""
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"job_id": {"S": job_id}},
                UpdateExpression="SET #status = :failed, finished_at = :now, #error = :error, "
                                 "attempts = :attempts REMOVE #lease",
                ConditionExpression="attribute_not_exists(job_id) OR #status <> :succeeded",
                ExpressionAttributeNames={"#status": "status", "#error": "error",
                                          "#lease": LEASE_UNTIL},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED}, ":succeeded": {"S": SUCCEEDED},
                    ":now": {"S": now}, ":error": {"S": error},
                    ":attempts": {"N": str(attempts)},
                },
            )
        except ClientError as err:
            if _condition_failed(err):
                return False
            raise
        return True


class Deadline:
    """When the batch in hand must be done (epoch ms): the lease of every claim in it."""

    def __init__(self) -> None:
        self.epoch_ms = 0

    def start(self, context: _RemainingTime) -> None:
        """Set from a Lambda context (or the poller's stand-in) at the start of a batch."""
        self.epoch_ms = _now_ms() + context.get_remaining_time_in_millis()


@dataclass(frozen=True)
class Runtime:
    """Everything built once per execution environment (or container), on first use."""

    settings: Settings
    table: _JobTable
    events: BaseClient | None
    deadline: Deadline


@functools.cache
def runtime() -> Runtime:
    """Read the configuration and create the clients (once)."""
    settings = load_settings(os.environ)
    return Runtime(
        settings=settings,
        table=_JobTable(boto3.client("dynamodb", config=_BOTO_CONFIG), settings.job_table_name),
        events=(boto3.client("events", config=_BOTO_CONFIG)
                if settings.event_bus_name else None),
        deadline=Deadline(),
    )


def new_processor() -> BasePartialBatchProcessor:
    """The batch processor for this queue.

    FIFO queues skip the rest of a message group after a failure (order within a group is
    kept; other groups go on). A batch in which every record failed is answered with every
    record as a failure rather than by raising: the outcome is the same (all are retried),
    and the function's error alarm stays for real crashes.
    """
    processor: BasePartialBatchProcessor
    if runtime().settings.fifo:
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    else:
        processor = BatchProcessor(event_type=EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    return processor


def process_record(record: SQSRecord) -> dict[str, Any]:
    """The per-record handler: run one job exactly once, record and announce its outcome."""
    current = runtime()
    try:
        job = parse_job(record.raw_event)
    except InvalidJob as err:
        metrics.add_metric(name="InvalidJobs", unit=MetricUnit.Count, value=1)
        logger.warning("Invalid job message", extra={"message_id": record.message_id,
                                                      "error": str(err)})
        if err.job_id:
            count = _receive_count(record)
            _record_failure(current, err.job_id, err, count)
        raise
    logger.append_keys(job_id=job.job_id)
    return _process_job(current, job)


def _process_job(current: Runtime, job: Job) -> dict[str, Any]:
    """RECEIVED, run, SUCCEEDED (or FAILED and re-raise); idempotent on the job id."""
    received_at = _utc_now()
    if not current.table.mark_received(job, received_at, now_ms=_now_ms(),
                                       lease_until=current.deadline.epoch_ms):
        logger.info("Job already succeeded: duplicate delivery skipped")
        metrics.add_metric(name="DuplicateJobs", unit=MetricUnit.Count, value=1)
        return {"job_id": job.job_id, "status": SUCCEEDED, "duplicate": True}
    try:
        result = run_job(job)
    except Exception as err:
        _record_failure(current, job.job_id, err, job.receive_count, received_at)
        raise
    finished_at = _utc_now()
    # The event goes first: if it is refused, the record fails and the job runs again (jobs
    # are pure computations); the row is marked SUCCEEDED only once the event is out, so an
    # announced outcome is never lost behind a "duplicate, skip" answer.
    _publish(current, {"job_id": job.job_id, "queue": current.settings.queue_name,
                       "received_at": received_at, "finished_at": finished_at,
                       "status": SUCCEEDED})
    current.table.mark_succeeded(job.job_id, result, finished_at)
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)
    logger.info("Job succeeded", extra={"job_type": job.job_type})
    return {"job_id": job.job_id, "status": SUCCEEDED}


def _record_failure(current: Runtime, job_id: str, err: BaseException, receive_count: int,
                    received_at: str | None = None) -> None:
    """Write FAILED; on the last receive, count the job as failed and announce it."""
    error = error_text(err)
    finished_at = _utc_now()
    if not current.table.mark_failed(job_id, error, receive_count, finished_at):
        return
    final = receive_count >= current.settings.max_receive_count
    logger.warning("Job failed", extra={"error": error, "attempts": receive_count,
                                        "final": final})
    metrics.add_metric(name="JobAttemptsFailed", unit=MetricUnit.Count, value=1)
    if final:
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        _publish(current, {"job_id": job_id, "queue": current.settings.queue_name,
                           "received_at": received_at or finished_at,
                           "finished_at": finished_at, "status": FAILED, "error": error})


def _publish(current: Runtime, detail: Mapping[str, Any]) -> None:
    """Put JobSucceeded/JobFailed on the bus (when one is configured); raise if refused."""
    if current.events is None:
        return
    settings = current.settings
    response = current.events.put_events(Entries=[{
        "EventBusName": settings.event_bus_name,
        "Source": settings.event_source,
        "DetailType": (settings.succeeded_detail_type if detail["status"] == SUCCEEDED
                       else settings.failed_detail_type),
        "Detail": json.dumps(detail),
    }])
    if response.get("FailedEntryCount", 0):
        entry = (response.get("Entries") or [{}])[0]
        raise EventPublishError(f"EventBridge rejected the {detail['status']} event of job "
                                f"{detail['job_id']}: {entry.get('ErrorCode')}: "
                                f"{entry.get('ErrorMessage')}")


def _condition_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _receive_count(record: SQSRecord) -> int:
    raw = str((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    return int(raw) if raw.isdigit() else 1


def _now_ms() -> int:
    """Current time in epoch milliseconds (the lease's unit)."""
    return int(time.time() * 1000)


def _utc_now() -> str:
    """Current time as ISO-8601 UTC, e.g. ``2026-01-31T12:00:00.000+00:00``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
