#!/usr/bin/env python3
"""The example CDK app: every example stack, checked by cdk-nag on every synth.

``cdk synth`` (``make synth``) fails when AwsSolutions or Serverless checks report a
finding that is not acknowledged with a reason on the construct it concerns.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks import IngestionStack


def build_app(**app_props: Any) -> App:
    """The app with every example stack and the compliance checks registered."""
    app = App(**app_props)
    IngestionStack(app, "AnalyticsIngestion", description="Event-driven ingestion example")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
