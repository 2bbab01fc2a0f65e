#!/usr/bin/env python3
"""The example CDK app: every example stack, checked by cdk-nag on every synth.

``cdk synth`` (``make synth``) fails when any pack of the strict compliance profile
(cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 checks, and the AWS Control Tower
proactive controls through cfn-guard) reports a finding that is not acknowledged with a
reason on the construct it concerns.

``python app.py`` synthesizes the same templates without the CDK CLI: the CLI hands the app
cdk.json's context (the feature flags) through ``CDK_CONTEXT_JSON``; run directly, the app
reads that context itself (:func:`context_without_cli`) and writes to ``cdk.out``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App

from analytics_orchestration.compliance import strict_profile
from stacks.airflow_stack import AirflowStack
from stacks.etl_batch_stack import BatchProcessingStack
from stacks.etl_glue_stack import GlueEtlStack
from stacks.etl_ml_stack import MlWorkflowStack
from stacks.event_routing_stack import EventRoutingStack
from stacks.ingestion_stack import IngestionStack
from stacks.job_queue_stack import JobQueueStack
from stacks.serverless_analytics_stack import ServerlessAnalyticsStack
from stacks.streaming_stack import StreamingStack
from stacks.zero_etl_stack import ZeroEtlStack

APP_DIR = Path(__file__).resolve().parent
#: The environment variables through which the CDK CLI passes the context (aws-cdk-lib's
#: cx-api ``CONTEXT_ENV``, and ``CONTEXT_OVERFLOW_LOCATION_ENV`` for a large context) and
#: the output directory (``OUTDIR_ENV``).
CLI_CONTEXT_ENV = ("CDK_CONTEXT_JSON", "CONTEXT_OVERFLOW_LOCATION_ENV")
OUTDIR_ENV = "CDK_OUTDIR"
#: Where the CLI reads context from, in its order: later files override earlier ones.
CONTEXT_FILES = ("cdk.json", "cdk.context.json")


def run_by_cdk_cli() -> bool:
    """True when the CDK CLI started the app (it passes the context in the environment)."""
    return any(name in os.environ for name in CLI_CONTEXT_ENV)


def context_without_cli(app_dir: Path = APP_DIR) -> dict[str, Any]:
    """The context the CLI would pass: cdk.json's ``context``, then cdk.context.json.

    Without it the feature flags of cdk.json are off and the app is not the one
    ``cdk synth`` builds (server access logs would need an ACL, for instance).
    """
    context: dict[str, Any] = {}
    for name in CONTEXT_FILES:
        path = app_dir / name
        if path.exists():
            content = json.loads(path.read_text())
            context.update(content.get("context", {}) if name == "cdk.json" else content)
    return context


def build_app(*, compliance: bool = True, **app_props: Any) -> App:
    """The app with every example stack and the strict compliance profile registered.

    ``compliance=False`` leaves the profile out: the same templates, without the gate. The
    test suite builds that one in-process for its structural tests and runs ``python
    app.py`` itself as the gate (``tests/conftest.py``), so the packs run once per session
    instead of twice; a test checks both give identical templates.
    """
    app = App(**app_props)
    IngestionStack(app, "AnalyticsIngestion", description="Event-driven ingestion example")
    EventRoutingStack(app, "AnalyticsEventRouting",
                      description="Event routing, notification fan-out and pipes example")
    JobQueueStack(app, "AnalyticsJobQueue",
                  description="Job queue with Lambda and Fargate worker pools and a job API")
    ServerlessAnalyticsStack(app, "AnalyticsServerless",
                             description="Serverless analytics platform: data lake, catalog, "
                             "Athena, Redshift, EMR, MSK and OpenSearch Serverless")
    GlueEtlStack(app, "AnalyticsGlueEtl",
                 description="Glue ETL from landed extracts to the curated zone and warehouse")
    MlWorkflowStack(app, "AnalyticsMlWorkflow",
                    description="ML workflow: preprocess, train, evaluate, deploy on SageMaker")
    BatchProcessingStack(app, "AnalyticsBatchProcessing",
                         description="Batch processing of S3 objects with AWS Batch on Fargate")
    AirflowStack(app, "AnalyticsAirflow",
                 description="Managed Airflow (MWAA) orchestrating the sales pipeline")
    StreamingStack(app, "AnalyticsStreaming",
                   description="Clickstream analytics on Kinesis Data Streams and DynamoDB "
                   "Streams with Lambda, EventBridge Pipes, Step Functions and Firehose into "
                   "the data lake")
    ZeroEtlStack(app, "AnalyticsZeroEtl",
                 description="Zero-ETL into Redshift Serverless: S3 auto-copy, Kinesis "
                 "streaming ingestion, DynamoDB replication and a MERGE workflow")
    if compliance:
        strict_profile(app)
    return app


if __name__ == "__main__":
    if run_by_cdk_cli():
        build_app().synth()
    else:
        outdir = os.environ.get(OUTDIR_ENV, "cdk.out")
        assembly = build_app(context=context_without_cli(), outdir=outdir).synth()
        print(f"Synthesized {len(assembly.stacks)} stacks to {assembly.directory}")
