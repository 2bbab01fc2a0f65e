"""The stale-acknowledgment check itself: it flags what suppresses nothing, only that."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from analytics_orchestration.constructs._foundation import acknowledge
from tests.support import cdk_json_context, recording_acknowledgments, stale_acknowledgments


def test_flags_acknowledgments_that_suppress_no_finding(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context=cdk_json_context())
    stack = Stack(app, "Checked")
    with recording_acknowledgments() as acknowledgments:
        bucket = s3.Bucket(stack, "Unlogged", enforce_ssl=True)  # S1 fires: no access logs
        acknowledge(bucket, "AwsSolutions::AwsSolutions-S1", "used: suppresses S1 here")
        acknowledge(bucket, "AwsSolutions::AwsSolutions-SQS3", "stale: no queue anywhere")
        other = s3.Bucket(stack, "Other", enforce_ssl=True)
        acknowledge(other, "AwsSolutions::AwsSolutions-S1", "used on the other bucket")
        acknowledge(stack, "AwsSolutions::AwsSolutions-S1", "stale: shadowed by closer ones")
        acknowledge(other, "NoSuchPack::Rule1", "stale: no plugin has this rule")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())

    stale = stale_acknowledgments(acknowledgments, report)

    assert len(acknowledgments) == 5
    assert sorted((a.rule_id, a.construct_path) for a in stale) == [
        ("AwsSolutions::AwsSolutions-S1", "Checked"),
        ("AwsSolutions::AwsSolutions-SQS3", "Checked/Unlogged"),
        ("NoSuchPack::Rule1", "Checked/Other"),
    ]
    assert Validations.of.__func__.__name__ == "of"  # the recorder restored Validations.of
