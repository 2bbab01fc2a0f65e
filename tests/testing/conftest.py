"""Shared fixtures for the harness's own tests.

The ``offline_aws`` fixture comes from the package's ``pytest11`` entry point, exactly as
users get it.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


MakeAsset = Callable[[str, str], str]


@pytest.fixture(scope="module")
def make_asset(tmp_path_factory: pytest.TempPathFactory) -> MakeAsset:
    """Write a one-module Lambda asset directory (``index.py``); returns its path."""

    def make(name: str, source: str) -> str:
        directory: Path = tmp_path_factory.mktemp(name)
        (directory / "index.py").write_text(textwrap.dedent(source))
        return str(directory)

    return make
