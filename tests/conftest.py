"""Session-wide fixtures: the example app is synthesized once and shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_cdk import cx_api

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from tests.support import cdk_json_context


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cx_api.CloudAssembly]:
    """The example app synthesized once, with cdk-nag registered exactly as in app.py.

    Synthesis raises if any AwsSolutions or Serverless finding is not acknowledged.
    """
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir), context=cdk_json_context())
    yield app.synth()
