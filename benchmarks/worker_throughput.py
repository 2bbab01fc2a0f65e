#!/usr/bin/env python3
"""In-process throughput of SqsWorkerPool's reference worker (for `make bench`).

The Lambda handler (``lambda_src/job_worker/index.handler``) processes batches of 10 SQS
records, exactly as the event source mapping delivers them, against moto: every job is
parsed, claimed RECEIVED (with its lease) then recorded SUCCEEDED in the job table and
announced on an event bus. Each job is a ``summary`` of 100 values. Prints
messages per second (median of 3 runs of ``BATCHES`` batches) and, for scale, the rate of
the job logic alone. moto's DynamoDB and EventBridge stand in for AWS: on AWS the DynamoDB
round trips (two per job) dominate, so read this as the worker's CPU cost per message, not
as a deployed pool's throughput (which scales with ``max_concurrency``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

WORKER_DIR = (Path(__file__).resolve().parents[1] / "analytics_orchestration" / "lambda_src"
              / "job_worker")
BATCH_SIZE = 10
BATCHES = 50
RUNS = 3
JOB = {"job_type": "summary", "parameters": {"values": [float(i % 37) for i in range(100)]}}

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "JOB_TABLE_NAME": "jobs",
    "MAX_RECEIVE_COUNT": "5",
    "QUEUE_NAME": "work",
    "QUEUE_FIFO": "false",
    "EVENT_BUS_NAME": "jobs",
}


class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _record(job_id: str) -> dict[str, Any]:
    return {
        "messageId": job_id,
        "receiptHandle": job_id,
        "body": json.dumps(JOB),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
        "messageAttributes": {"job_id": {"stringValue": job_id, "dataType": "String"}},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work",
        "awsRegion": "us-east-1",
    }


def _one_run(run: int) -> float:
    """Messages per second of one run, in a fresh moto account and a fresh handler."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for table, key in (("jobs", "job_id"),):
            dynamodb.create_table(
                TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST")
        boto3.client("events").create_event_bus(Name="jobs")
        for name in ("index", "worker", "jobs"):
            sys.modules.pop(name, None)
        index = importlib.import_module("index")
        context = _Context()
        batches = [{"Records": [_record(f"r{run}-b{b}-m{m}") for m in range(BATCH_SIZE)]}
                   for b in range(BATCHES)]
        index.handler(batches[0], context)  # warm up: clients, models, imports
        start = time.perf_counter()
        for batch in batches[1:]:
            response = index.handler(batch, context)
            assert response == {"batchItemFailures": []}, response
        elapsed = time.perf_counter() - start
    return (BATCHES - 1) * BATCH_SIZE / elapsed


def _logic_rate() -> float:
    jobs = importlib.import_module("jobs")
    job = jobs.Job(job_id="x", job_type="summary", parameters=JOB["parameters"], message_id="x")
    count = 20_000
    start = time.perf_counter()
    for _ in range(count):
        jobs.run_job(job)
    return count / (time.perf_counter() - start)


def main() -> None:
    os.environ.update(ENVIRONMENT)
    sys.path.insert(0, str(WORKER_DIR))
    sys.dont_write_bytecode = True  # no __pycache__ in the handler folder (asset hash)
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's logs and EMF metrics
        rates = [_one_run(run) for run in range(RUNS)]
    results = {
        "worker_messages_per_second": round(statistics.median(rates), 1),
        "worker_batch_size": BATCH_SIZE,
        "job_logic_per_second": round(_logic_rate(), 1),
    }
    # One JSON object on the last line: benchmarks/run.py collects it.
    print(json.dumps(results))


if __name__ == "__main__":
    main()
