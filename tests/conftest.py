"""Session-wide fixtures: the example app is synthesized once and shared."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_cdk import App, Stack, cx_api

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from tests.support import RecordedAcknowledgment, cdk_json_context, recording_acknowledgments

ExampleApp = tuple[App, cx_api.CloudAssembly, list[RecordedAcknowledgment]]


@pytest.fixture(scope="session")
def _example_app_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleApp]:
    """The example app built and synthesized once, recording the acknowledgments made."""
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    with recording_acknowledgments() as acknowledgments:
        app = build_app(outdir=str(outdir), context=cdk_json_context())
    yield app, app.synth(), acknowledgments


@pytest.fixture(scope="session")
def example_app(_example_app_build: ExampleApp) -> tuple[App, cx_api.CloudAssembly]:
    """The example app synthesized once, with cdk-nag registered exactly as in app.py.

    Synthesis raises if any AwsSolutions or Serverless finding is not acknowledged.
    """
    app, assembly, _ = _example_app_build
    return app, assembly


@pytest.fixture(scope="session")
def example_app_acknowledgments(_example_app_build: ExampleApp) -> list[RecordedAcknowledgment]:
    """Every acknowledgment the example app's code made, with the construct it is on."""
    return _example_app_build[2]


@pytest.fixture(scope="session")
def cloud_assembly(example_app: tuple[App, cx_api.CloudAssembly]) -> cx_api.CloudAssembly:
    """The example app's cloud assembly (templates, assets, validation report)."""
    return example_app[1]


@pytest.fixture(scope="session")
def example_stack(example_app: tuple[App, cx_api.CloudAssembly]) -> Callable[[str], Stack]:
    """Look up a synthesized example stack by its construct id."""

    def find(stack_id: str) -> Stack:
        stack = example_app[0].node.find_child(stack_id)
        assert isinstance(stack, Stack)
        return stack

    return find
