#!/usr/bin/env python3
"""Offline execution time of each ETL example workflow on its sample data (target < 2 s).

Synthesizes the three ETL example stacks once, then for each one: deploys it into the offline
harness, loads the sample data and job fakes of the behavioural tests
(``tests/behaviour/test_etl_workflows.py``, which run the real job logic), starts the workflow
the way its trigger does (an accepted object, a schedule) and times it until the execution is
SUCCEEDED. Waits and retry back-offs take virtual time, reported next to the wall time.
Median of 3 runs per workflow; the last line of output is one JSON object (``make bench``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

RUNS = 3


def main() -> None:
    from aws_cdk import App

    from analytics_orchestration.testing import OfflineAws
    from stacks.etl_batch_stack import BatchProcessingStack
    from stacks.etl_glue_stack import GlueEtlStack
    from stacks.etl_ml_stack import MlWorkflowStack
    from tests.behaviour import test_etl_workflows as flows
    from tests.support import cdk_json_context

    app = App(context=cdk_json_context())
    stacks = {"AnalyticsGlueEtl": GlueEtlStack(app, "AnalyticsGlueEtl"),
              "AnalyticsMlWorkflow": MlWorkflowStack(app, "AnalyticsMlWorkflow"),
              "AnalyticsBatchProcessing": BatchProcessingStack(app, "AnalyticsBatchProcessing")}
    started = time.perf_counter()
    app.synth()
    synth_seconds = time.perf_counter() - started

    def glue(aws: Any) -> str:
        flows._put_lines(aws, "AnalyticsGlueEtl/DataLake", "reference/customers/c.jsonl",
                         flows.CUSTOMERS)
        flows._glue_fakes(aws)
        aws.put_object("Ingestion/LandingBucket", "incoming/orders/bench.csv", flows.ORDERS_CSV)
        [execution] = aws.executions("SalesEtl/StateMachine")
        return execution.arn

    def ml(aws: Any) -> str:
        aws.put_object("ModelData", "activity/bench.csv", flows.ACTIVITY)
        flows._ml_fakes(aws, auc=0.9)
        return str(aws.analytics.run_schedule("ChurnModel/Trigger0"))

    def batch(aws: Any) -> str:
        flows._batch_fake(aws)
        for device in range(20):
            body = "".join(flows._reading(f"s-{device}", m, m / 2) for m in range(0, 60, 7))
            aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                        Key=f"{flows.RAW_PREFIX}device-{device:02d}.jsonl",
                                        Body=body)
        return str(aws.analytics.run_schedule("NightlyReadings/Trigger0"))

    scenarios: dict[str, Callable[[Any], str]] = {
        "AnalyticsGlueEtl": glue, "AnalyticsMlWorkflow": ml, "AnalyticsBatchProcessing": batch}
    figures: dict[str, Any] = {"etl_synth_seconds": round(synth_seconds, 2)}
    for name, start in scenarios.items():
        walls, virtual = [], 0.0
        for _ in range(RUNS):
            with OfflineAws(ignore_resource_types=flows.GLUE_IGNORED) as aws:
                aws.deploy(stacks[name])
                began = time.perf_counter()
                execution = aws.wait_for_execution(start(aws), timeout=60)
                walls.append(time.perf_counter() - began)
                virtual = aws.virtual_seconds
                if execution.status != "SUCCEEDED":
                    raise SystemExit(f"{name}: {execution.status} {execution.cause}")
        figures[f"{name}_offline_seconds"] = round(statistics.median(walls), 3)
        figures[f"{name}_virtual_seconds"] = virtual
        print(f"{name:28s} offline {statistics.median(walls):6.3f} s (median of {RUNS}), "
              f"virtual time {virtual:.0f} s", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
