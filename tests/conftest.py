"""Session-wide fixtures: the example app is synthesized once and shared."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_cdk import App, Stack, cx_api

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from tests.support import cdk_json_context


@pytest.fixture(scope="session")
def example_app(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[App, cx_api.CloudAssembly]]:
    """The example app synthesized once, with cdk-nag registered exactly as in app.py.

    Synthesis raises if any AwsSolutions or Serverless finding is not acknowledged.
    """
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir), context=cdk_json_context())
    yield app, app.synth()


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
