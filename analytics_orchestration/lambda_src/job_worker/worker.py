"""Processing one job record: job table, idempotency, outcome events (Lambda and container).

``process_record`` is the per-record handler that Powertools' batch processor calls, both in
the Lambda handler (``index.py``) and in the container poller (``poller.py``), so the two
kinds of worker share every semantic:

1. The job is parsed (``jobs.parse_job``); a malformed message raises :class:`InvalidJob`:
   its row (when it names a job id) records FAILED with the error, the record is reported as
   a batch item failure, and after ``MAX_RECEIVE_COUNT`` receives SQS parks it in the DLQ.
2. Powertools idempotency on the job id answers a redelivered job that already succeeded
   (within ``IDEMPOTENCY_EXPIRY_SECONDS``, the queue's retention) from the idempotency table,
   without touching anything. A second delivery of a job still in progress fails and is
   retried later.
3. The job row is set to RECEIVED (with ``received_at`` and the receive count) unless it
   already SUCCEEDED: that conditional write guards against duplicates after the idempotency
   window, too.
4. The job runs; JobSucceeded is put on the bus (when ``EVENT_BUS_NAME`` is set) and then
   SUCCEEDED (with ``finished_at`` and the JSON result) recorded; or FAILED (with the error)
   is recorded, and JobFailed put once the last receive failed (the message is about to be
   parked in the DLQ).

Clients and configuration are built on first use, so a missing variable surfaces as a clear
:class:`jobs.ConfigurationError` and tests can start moto first.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
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
    "new_processor",
    "process_record",
    "runtime",
]

RECEIVED = "RECEIVED"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

logger = Logger()
metrics = Metrics()


class EventPublishError(RuntimeError):
    """EventBridge did not accept an outcome event; the record fails and is retried."""


class _JobTable:
    """The job table: one row per job id, status RECEIVED -> SUCCEEDED | FAILED."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def mark_received(self, job: Job, now: str) -> bool:
        """Record the receive; False when the job already SUCCEEDED (a late duplicate)."""
        values: dict[str, Any] = {
            ":received": {"S": RECEIVED},
            ":succeeded": {"S": SUCCEEDED},
            ":now": {"S": now},
            ":attempts": {"N": str(job.receive_count)},
            ":job_type": {"S": job.job_type},
            ":message_id": {"S": job.message_id},
        }
        assignments = ["#status = :received", "received_at = :now", "attempts = :attempts",
                       "job_type = :job_type", "message_id = :message_id"]
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
                ConditionExpression="attribute_not_exists(job_id) OR #status <> :succeeded",
                ExpressionAttributeNames={"#status": "status", "#error": "error",
                                          "#result": "result"},
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_succeeded(self, job_id: str, result: Mapping[str, Any], now: str) -> None:
        self._client.update_item(
            TableName=self._table_name,
            Key={"job_id": {"S": job_id}},
            UpdateExpression="SET #status = :status, finished_at = :now, #result = :result",
            ExpressionAttributeNames={"#status": "status", "#result": "result"},
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
                                 "attempts = :attempts",
                ConditionExpression="attribute_not_exists(job_id) OR #status <> :succeeded",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": {"S": FAILED}, ":succeeded": {"S": SUCCEEDED},
                    ":now": {"S": now}, ":error": {"S": error},
                    ":attempts": {"N": str(attempts)},
                },
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


@dataclass(frozen=True)
class Runtime:
    """Everything built once per execution environment (or container), on first use."""

    settings: Settings
    table: _JobTable
    events: BaseClient | None
    idempotency_config: IdempotencyConfig
    process_job: Callable[..., dict[str, Any]]


@functools.cache
def runtime() -> Runtime:
    """Read the configuration and create the clients (once)."""
    settings = load_settings(os.environ)
    dynamodb = boto3.client("dynamodb", config=_BOTO_CONFIG)
    config = IdempotencyConfig(
        event_key_jmespath="job_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_expiry_seconds,
        response_hook=_on_duplicate,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name, boto3_client=dynamodb
    )
    process_job = idempotent_function(
        _process_job,
        data_keyword_argument="job",
        persistence_store=persistence,
        config=config,
        # Fixed, so renaming code never makes in-window duplicates look new.
        key_prefix="job-worker",
    )
    return Runtime(
        settings=settings,
        table=_JobTable(dynamodb, settings.job_table_name),
        events=(boto3.client("events", config=_BOTO_CONFIG)
                if settings.event_bus_name else None),
        idempotency_config=config,
        process_job=process_job,
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
    return current.process_job(job=job)


def _process_job(job: Job) -> dict[str, Any]:
    """RECEIVED, run, SUCCEEDED (or FAILED and re-raise); idempotent on the job id."""
    current = runtime()
    received_at = _utc_now()
    if not current.table.mark_received(job, received_at):
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


def _on_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """A redelivered job answered from the idempotency store: count it, run nothing."""
    logger.info("Duplicate job answered from the idempotency store")
    metrics.add_metric(name="DuplicateJobs", unit=MetricUnit.Count, value=1)
    return response


def _receive_count(record: SQSRecord) -> int:
    raw = str((record.raw_event.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    return int(raw) if raw.isdigit() else 1


def _utc_now() -> str:
    """Current time as ISO-8601 UTC, e.g. ``2026-01-31T12:00:00.000+00:00``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
