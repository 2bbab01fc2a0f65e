"""``make demo``: the example ingestion and job-queue stacks, run offline, and their report.

Deploys the two stacks into the offline harness (``analytics_orchestration.testing``), drops
the sample data a pipeline meets on a normal day (a good extract, a bad one, a poison
message, a job that fails) and writes the run report (``aws.report``) to ``demo/run.html``,
printing its path. Only the example app's own code and the harness run: no AWS account.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402

from analytics_orchestration.testing import OfflineAws  # noqa: E402
from app import context_without_cli  # noqa: E402
from stacks.ingestion_stack import IngestionStack  # noqa: E402
from stacks.job_queue_stack import JobQueueStack  # noqa: E402

#: The container worker pool (ECS on Fargate) cannot run offline: deployed as no-ops.
CONTAINER_TYPES = ("AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service",
                   "AWS::ApplicationAutoScaling::ScalableTarget",
                   "AWS::ApplicationAutoScaling::ScalingPolicy")
JOBS = "ReportJobs/Queue"


def submit(aws: OfflineAws, body: object, job_id: str) -> None:
    """What the job API queues for a client: the body, the job id and the caller."""
    aws.send_message(JOBS, body if isinstance(body, str) else json.dumps(body),
                     MessageAttributes={
                         "job_id": {"DataType": "String", "StringValue": job_id},
                         "submitted_by": {"DataType": "String",
                                          "StringValue": "arn:aws:iam::123456789012:role/demo"}})


def run(out: Path) -> Path:
    """Deploy, drive and report; returns the report's path."""
    with tempfile.TemporaryDirectory(prefix="demo-cdk-out-") as outdir:
        app = App(context=context_without_cli(ROOT), outdir=outdir)
        ingestion = IngestionStack(app, "AnalyticsIngestion",
                                   description="Event-driven ingestion example")
        jobs = JobQueueStack(app, "AnalyticsJobQueue",
                             description="Job queue with Lambda and Fargate worker pools")
        with OfflineAws(ignore_resource_types=CONTAINER_TYPES) as aws:
            aws.deploy(ingestion)
            aws.deploy(jobs)
            # A good extract: validated, recorded, announced, dispatched to the sales team.
            aws.put_object("Ingestion/LandingBucket", "incoming/sales/2026-12-01.csv",
                           b"order_id,amount\n1,19.90\n2,5.00\n")
            # A bad one (empty): quarantined with its reason, ObjectRejected emitted.
            aws.put_object("Ingestion/LandingBucket", "incoming/inventory/stock.csv", b"")
            # A job that succeeds, a poison message (not a job at all) and a job that fails:
            # both failures are retried by SQS and end in the queue's dead-letter queue.
            submit(aws, {"job_type": "summary", "parameters": {"values": [3, 4, 5]}}, "job-1")
            submit(aws, "this is not a job", "job-2")
            submit(aws, {"job_type": "summary", "parameters": {"values": "not numbers"}},
                   "job-3")
            aws.expect_lambda_errors()  # the failures above are the point of the demo
            return aws.report(out, title="Demo: ingestion and job queue, offline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "demo" / "run.html"))
    args = parser.parse_args()
    out = Path(args.out)
    log = out.with_suffix(".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The handlers log (Powertools' JSON lines, metrics) to standard output, as on Lambda:
    # into the log file next to the report, so that the demo prints only where to look.
    sys.stdout.flush()
    saved = os.dup(1)
    with log.open("w") as handle:
        os.dup2(handle.fileno(), 1)
        try:
            report = run(out)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
    print(f"handler logs: {log}")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
