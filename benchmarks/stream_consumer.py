#!/usr/bin/env python3
"""In-process throughput of StreamConsumer's window counter against a bare handler.

The library's handler (``lambda_src/stream_window_counter/index.handler``: Powertools
``Logger`` context, the ``InOrderStreamProcessor`` built on Powertools' ``BatchProcessor``
with ``EventType.KinesisDataStreams``, its record data classes and the partial batch
response) and a bare handler doing the same work (base64-decode each record, parse the JSON,
count it under its ``page``, return the tumbling-window state) process the same batches of
``BATCH_SIZE`` Kinesis records, as Lambda delivers them within a tumbling window (not the
window's final invocation: that one writes to DynamoDB once per window and key). Both run
in this process, interleaved, ``RUNS`` times; the figures are medians: records per second
of each, and the library's overhead per record (microseconds) and per batch.
"""

from __future__ import annotations

import base64
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

HANDLER_DIR = (Path(__file__).resolve().parents[1] / "analytics_orchestration" / "lambda_src"
               / "stream_window_counter")
BATCH_SIZE = 100
BATCHES = 200
RUNS = 5
PAGES = ("/home", "/search", "/product", "/cart", "/checkout")

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_LOG_LEVEL": "ERROR", "TABLE_NAME": "counts", "KEY_FIELD": "page",
}


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _batch(start: int) -> dict[str, Any]:
    records = []
    for offset in range(BATCH_SIZE):
        sequence = start + offset
        event = {"session_id": f"s-{sequence % 97}", "page": PAGES[sequence % len(PAGES)],
                 "action": "view", "bot_score": 0.1}
        records.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": event["session_id"],
                        "sequenceNumber": str(sequence),
                        "data": base64.b64encode(json.dumps(event).encode()).decode(),
                        "approximateArrivalTimestamp": 1796169595.0},
            "eventSource": "aws:kinesis", "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{sequence}", "eventName": "aws:kinesis:record",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
        })
    return {"Records": records, "window": {"start": "2026-12-01T10:00:00Z",
                                           "end": "2026-12-01T10:01:00Z"},
            "state": {}, "shardId": "shardId-000000000000",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
            "isFinalInvokeForWindow": False, "isWindowTerminatedEarly": False}


def bare_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The same work without the library: decode, parse, count, return the state."""
    counts: dict[str, int] = dict(event.get("state") or {})
    for record in event["Records"]:
        page = str(json.loads(base64.b64decode(record["kinesis"]["data"]))["page"])
        counts[page] = counts.get(page, 0) + 1
    return {"state": counts, "batchItemFailures": []}


def _time(handler: Any, events: list[dict[str, Any]]) -> float:
    context = Context()
    started = time.perf_counter()
    for event in events:
        result = handler(event, context)
        assert sum(result["state"].values()) == BATCH_SIZE, result
    return time.perf_counter() - started


def main() -> None:
    os.environ.update(ENVIRONMENT)
    sys.path.insert(0, str(HANDLER_DIR))
    sys.dont_write_bytecode = True
    with contextlib.redirect_stdout(io.StringIO()):
        library = importlib.import_module("index").handler
    events = [_batch(i * BATCH_SIZE) for i in range(BATCHES)]
    _time(library, events[:10])  # warm both (imports, caches)
    _time(bare_handler, events[:10])
    library_s, bare_s = [], []
    for _ in range(RUNS):
        with contextlib.redirect_stdout(io.StringIO()):
            library_s.append(_time(library, events))
        bare_s.append(_time(bare_handler, events))
    records = BATCH_SIZE * BATCHES
    lib, bare = statistics.median(library_s), statistics.median(bare_s)
    figures = {
        "stream_consumer_records_per_s": round(records / lib),
        "stream_bare_handler_records_per_s": round(records / bare),
        "stream_consumer_overhead_us_per_record": round((lib - bare) / records * 1e6, 1),
        "stream_consumer_overhead_ms_per_batch": round((lib - bare) / BATCHES * 1e3, 3),
    }
    for name, value in figures.items():
        print(f"{name:42} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
