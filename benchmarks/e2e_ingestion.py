#!/usr/bin/env python3
"""Wall time of one end-to-end behavioural test of the ingestion stack, after synth.

The test is the one in tests/behaviour: deploy the synthesized AnalyticsIngestion stack
into the offline harness, put an object, and read back the ledger row, the ObjectAccepted
event and the loader queue's message. Synthesis happens once, before timing (a test suite
synthesizes once per session). The first run pays for importing moto and botocore's
service models; later runs are what each further test costs. Target: under 2 s.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
RUNS = 5


def main() -> dict[str, float]:
    from app import build_app
    from tests.support import cdk_json_context

    app = build_app(context=cdk_json_context())
    app.synth()
    stack = app.node.find_child("AnalyticsIngestion")

    from analytics_orchestration.testing import OfflineAws

    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        with OfflineAws() as aws:
            aws.deploy(stack)
            aws.put_object("Ingestion/LandingBucket", "incoming/sales/bench.csv", b"id\n1\n")
            [row] = aws.table_items("Ingestion/Ledger")
            assert row["status"] == "ACCEPTED", row
            [message] = aws.queue_messages("LoaderQueue")
            assert message.json()["key"] == "incoming/sales/bench.csv"
        timings.append(time.perf_counter() - start)
    results = {
        "e2e_ingestion_first_s": round(timings[0], 3),
        "e2e_ingestion_warm_median_s": round(statistics.median(timings[1:]), 3),
    }
    return results


if __name__ == "__main__":
    print(json.dumps(main()))
