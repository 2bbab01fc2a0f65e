"""Container entry point of the job worker: long-polls the queue, processes, deletes.

Run by the ECS Fargate service of ``SqsWorkerPool`` with ``ContainerWorkers`` (the image is
built from this folder's Dockerfile). Each receive of up to ``BATCH_SIZE`` messages goes
through the same Powertools batch processor and per-record handler as the Lambda worker
(``worker.process_record``), with the records in Lambda's event shape, so job semantics
(job table and its leases, outcome events) are identical. Records that succeeded are deleted;
failed ones are left alone, reappear after the visibility timeout and are parked in the
DLQ after ``MAX_RECEIVE_COUNT`` receives. SIGTERM (ECS scaling in or deploying) stops the
loop after the batch in hand.

Environment (besides ``worker.py``'s): ``QUEUE_URL``, ``QUEUE_ARN``, ``BATCH_SIZE``
(1-10, default 10), ``WAIT_TIME_SECONDS`` (0-20, default 20) and
``VISIBILITY_TIMEOUT_SECONDS`` (the queue's, default 300): a received batch must be done by
then, and the job rows' leases run out then, so a job whose task died mid-way is picked
up again by the next receive instead of looking "in progress" for days.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import process_partial_response
from botocore.client import BaseClient
from worker import logger, metrics, new_processor, process_record, runtime

__all__ = ["PollerSettings", "Stopper", "load_poller_settings", "main", "poll_once",
           "to_lambda_record"]


@dataclass(frozen=True)
class PollerSettings:
    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    wait_time_seconds: int = 20
    visibility_timeout_seconds: int = 300


class _BatchDeadline:
    """What the worker reads from a Lambda context: the time left for the batch."""

    def __init__(self, seconds: int) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_poller_settings(environ: Mapping[str, str]) -> PollerSettings:
    """Read and check the poller's variables, naming every bad one."""
    problems = []
    queue_url = environ.get("QUEUE_URL", "")
    queue_arn = environ.get("QUEUE_ARN", "")
    if not queue_url:
        problems.append("QUEUE_URL must be set")
    if not queue_arn:
        problems.append("QUEUE_ARN must be set")
    numbers = {}
    for name, default, low, high in (("BATCH_SIZE", 10, 1, 10),
                                     ("WAIT_TIME_SECONDS", 20, 0, 20),
                                     ("VISIBILITY_TIMEOUT_SECONDS", 300, 1, 43200)):
        raw = environ.get(name, str(default))
        if not raw.isdigit() or not low <= int(raw) <= high:
            problems.append(f"{name} must be an integer from {low} to {high}, got {raw!r}")
            numbers[name] = default
        else:
            numbers[name] = int(raw)
    if problems:
        raise ValueError("invalid job poller configuration: " + "; ".join(problems))
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or queue_arn.split(
        ":")[3]
    return PollerSettings(queue_url=queue_url, queue_arn=queue_arn, region=region,
                          batch_size=numbers["BATCH_SIZE"],
                          wait_time_seconds=numbers["WAIT_TIME_SECONDS"],
                          visibility_timeout_seconds=numbers["VISIBILITY_TIMEOUT_SECONDS"])


def to_lambda_record(message: Mapping[str, Any], settings: PollerSettings) -> dict[str, Any]:
    """A ReceiveMessage message in the shape of a Lambda SQS event record."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {"dataType": value.get("DataType"), "stringListValues": [],
                                 "binaryListValues": []}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]
        attributes[name] = entry
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": settings.queue_arn,
        "awsRegion": settings.region,
    }


def poll_once(sqs: BaseClient, settings: PollerSettings) -> tuple[int, int]:
    """Receive one batch, process it, delete what succeeded; returns (received, failed)."""
    messages: Sequence[Mapping[str, Any]] = sqs.receive_message(
        QueueUrl=settings.queue_url,
        MaxNumberOfMessages=settings.batch_size,
        WaitTimeSeconds=settings.wait_time_seconds,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    if not messages:
        return 0, 0
    runtime().deadline.start(_BatchDeadline(settings.visibility_timeout_seconds))
    records = [to_lambda_record(m, settings) for m in messages]
    response = process_partial_response(
        event={"Records": records}, record_handler=process_record, processor=new_processor()
    )
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    done = [{"Id": str(index), "ReceiptHandle": r["receiptHandle"]}
            for index, r in enumerate(records) if r["messageId"] not in failed]
    if done:
        result = sqs.delete_message_batch(QueueUrl=settings.queue_url, Entries=done)
        for entry in result.get("Failed", []):
            # The job is recorded; a redelivery will be answered as a duplicate.
            logger.warning("Could not delete a processed message", extra={"entry": entry})
    metrics.flush_metrics()
    return len(records), len(failed)


class Stopper:
    """Turns SIGTERM/SIGINT into a flag the loop checks between batches."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("Stopping after the current batch", extra={"signal": signum})
        self.stopping = True


def main() -> None:
    """Poll until stopped."""
    settings = load_poller_settings(os.environ)
    runtime()  # fail fast on a bad configuration, before the first receive
    sqs = boto3.client("sqs", region_name=settings.region)
    stopper = Stopper()
    stopper.install()
    logger.info("Polling", extra={"queue_url": settings.queue_url})
    while not stopper.stopping:
        poll_once(sqs, settings)


if __name__ == "__main__":
    main()
