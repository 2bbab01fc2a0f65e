"""Session-wide fixtures: the example app is synthesized once and shared.

Two syntheses serve the whole session (and every pytest-xdist worker of it):

* ``python app.py``, run once as a user runs it (:func:`app_py_run`): the compliance gate
  (the strict profile's four packs fail it on any open finding) and its validation report;
* the same app built in-process without the packs (:func:`example_app`): the ``Stack``
  objects and templates the other tests read and deploy.

Running the packs in both cost a second gate per session (about 35 s of CPU, issue #16);
``tests/first_run/test_app_without_cli.py`` checks both give identical templates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_cdk import App, Stack, cx_api
from filelock import FileLock

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from tests.support import (
    AppRun,
    RecordedAcknowledgment,
    cdk_json_context,
    recording_acknowledgments,
    run_app_py,
)

ExampleApp = tuple[App, cx_api.CloudAssembly, list[RecordedAcknowledgment]]


@pytest.fixture(scope="session")
def _example_app_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleApp]:
    """The example app built and synthesized once, recording the acknowledgments made.

    Without the compliance packs: :func:`app_py_run` is the gate.
    """
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    with recording_acknowledgments() as acknowledgments:
        app = build_app(compliance=False, outdir=str(outdir), context=cdk_json_context())
    yield app, app.synth(), acknowledgments


@pytest.fixture(scope="session")
def app_py_run(tmp_path_factory: pytest.TempPathFactory) -> AppRun:
    """``python app.py`` run once per session, in an empty directory, without the CDK CLI.

    Under pytest-xdist every worker's base temporary directory is a child of the session's:
    the first worker to ask runs it under a file lock and records the result there, the
    others read that record (the pattern pytest-xdist documents for once-per-session work).
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    record = shared / "app-py-run.json"
    with FileLock(str(shared / "app-py-run.lock")):
        if not record.exists():
            directory = shared / "app-py-run"
            directory.mkdir()
            record.write_text(run_app_py(directory).to_json())
    return AppRun.from_json(record.read_text())


@pytest.fixture(scope="session")
def example_app(_example_app_build: ExampleApp) -> tuple[App, cx_api.CloudAssembly]:
    """The example app synthesized once, in-process, as app.py builds it minus the packs."""
    app, assembly, _ = _example_app_build
    return app, assembly


@pytest.fixture(scope="session")
def example_app_acknowledgments(_example_app_build: ExampleApp) -> list[RecordedAcknowledgment]:
    """Every acknowledgment the example app's code made, with the construct it is on."""
    return _example_app_build[2]


@pytest.fixture(scope="session")
def cloud_assembly(example_app: tuple[App, cx_api.CloudAssembly]) -> cx_api.CloudAssembly:
    """The example app's cloud assembly (templates, assets); the report is app_py_run's."""
    return example_app[1]


@pytest.fixture(scope="session")
def example_stack(example_app: tuple[App, cx_api.CloudAssembly]) -> Callable[[str], Stack]:
    """Look up a synthesized example stack by its construct id."""

    def find(stack_id: str) -> Stack:
        stack = example_app[0].node.find_child(stack_id)
        assert isinstance(stack, Stack)
        return stack

    return find


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the ``python app.py`` gate first, the rest in their order.

    The gate is the session's longest single piece of work (about 50 s): started first, it
    overlaps everything else on the other pytest-xdist worker instead of trailing it.
    """
    items.sort(key=lambda item: "app_py_run" not in getattr(item, "fixturenames", ()))
