"""``python app.py`` without the CDK CLI builds the same app as ``cdk synth``.

The CLI passes cdk.json's context (the feature flags) in ``CDK_CONTEXT_JSON``; run directly,
the app reads it itself. Where a library builder still depends on a flag being on outside
the patterns (server access logs delivered through a bucket policy), an app without it
gets one ``ConfigurationError`` naming the flag instead of a jsii error from deep in CDK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from analytics_orchestration import ConfigurationError, EventDrivenIngestion
from analytics_orchestration import building_blocks as blocks
from tests.support import REPOSITORY_ROOT

#: What the CLI sets for the app; none of it is there when a user runs ``python app.py``.
CLI_ENVIRONMENT = ("CDK_CONTEXT_JSON", "CONTEXT_OVERFLOW_LOCATION_ENV", "CDK_OUTDIR",
                   "CDK_CLI_VERSION", "CDK_CLI_ASM_VERSION")


def _templates(directory: Path) -> dict[str, dict]:
    manifest = json.loads((directory / "manifest.json").read_text())
    return {
        name: json.loads((directory / artifact["properties"]["templateFile"]).read_text())
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_python_app_py_synthesizes_what_cdk_synth_does(tmp_path, cloud_assembly):
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENVIRONMENT}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    # cwd is an empty directory: the default output goes there, cdk.json is found beside app.py.
    result = subprocess.run([sys.executable, str(REPOSITORY_ROOT / "app.py")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900, check=False)

    assert result.returncode == 0, result.stderr[-4000:]
    outdir = tmp_path / "cdk.out"
    # The session's example app is built with cdk.json's context, as the CLI builds it.
    expected = _templates(Path(cloud_assembly.directory))
    assert f"Synthesized {len(expected)} stacks to cdk.out" in result.stdout
    assert sorted(_templates(outdir)) == sorted(expected)
    for name, template in _templates(outdir).items():
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
