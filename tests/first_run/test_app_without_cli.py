"""``python app.py`` without the CDK CLI builds the same app as ``cdk synth``.

The CLI passes cdk.json's context (the feature flags) in ``CDK_CONTEXT_JSON``; run directly,
the app reads it itself. Where a library builder still depends on a flag being on outside
the patterns (server access logs delivered through a bucket policy), an app without it
gets one ``ConfigurationError`` naming the flag instead of a jsii error from deep in CDK.
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack

from analytics_orchestration import ConfigurationError, EventDrivenIngestion
from analytics_orchestration import building_blocks as blocks


def test_python_app_py_synthesizes_what_cdk_synth_does(app_py_run, cloud_assembly):
    """The session's in-process app is built with cdk.json's context, as the CLI builds it,
    and without the compliance packs: equal templates also show the packs change none."""
    assert app_py_run.returncode == 0, app_py_run.stderr[-4000:]
    expected = {stack.stack_name: stack.template for stack in cloud_assembly.stacks}
    assert f"Synthesized {len(expected)} stacks to cdk.out" in app_py_run.stdout
    produced = app_py_run.templates()
    assert sorted(produced) == sorted(expected)
    for name, template in produced.items():
        assert template == expected[name], name


def test_an_app_without_the_flags_gets_one_error_naming_the_missing_setting():
    """The Glue ETL stack's shape: a stack-level log bucket shared with a pattern."""
    stack = Stack(App(), "NoFlags")  # no cdk.json context: every feature flag is off
    logs = blocks.access_log_bucket(stack, "AccessLogs")
    with pytest.raises(ConfigurationError) as raised:
        EventDrivenIngestion(stack, "Ingestion", server_access_logs_bucket=logs)
    [problem] = raised.value.problems
    assert "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy" in problem
    assert "NoFlags/AccessLogs" in problem and "cdk.json" in problem
