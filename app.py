#!/usr/bin/env python3
"""The example CDK app: every example stack, checked by cdk-nag on every synth.

``cdk synth`` (``make synth``) fails when any pack of the strict compliance profile
(cdk-nag's AwsSolutions, Serverless and NIST 800-53 R5 checks, and the AWS Control Tower
proactive controls through cfn-guard) reports a finding that is not acknowledged with a
reason on the construct it concerns.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App

from analytics_orchestration.compliance import strict_profile
from stacks.etl_batch_stack import BatchProcessingStack
from stacks.etl_glue_stack import GlueEtlStack
from stacks.etl_ml_stack import MlWorkflowStack
from stacks.event_routing_stack import EventRoutingStack
from stacks.ingestion_stack import IngestionStack
from stacks.job_queue_stack import JobQueueStack
from stacks.serverless_analytics_stack import ServerlessAnalyticsStack


def build_app(**app_props: Any) -> App:
    """The app with every example stack and the strict compliance profile registered."""
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
    strict_profile(app)
    return app


if __name__ == "__main__":
    build_app().synth()
