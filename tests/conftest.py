"""Session-wide fixtures: the example app is synthesized once and shared.

Two syntheses serve the whole session (and every pytest-xdist worker of it):

* ``python app.py``, run once as a user runs it (:func:`app_py_run`): the compliance gate
  (the strict profile's four packs fail it on any open finding) and its validation report.
  It starts in the background as soon as the session is collected, and its tests run last;
* the same app built in-process without the packs (:func:`example_app`): the ``Stack``
  objects and templates the other tests read and deploy. The tests that read it run on one
  worker (:mod:`tests.scheduling`), so it is built once.

Running the packs in both cost a second gate per session (about 35 s of CPU, issue #16);
``tests/first_run/test_app_without_cli.py`` checks both give identical templates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_cdk import App, Stack, cx_api

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from app import build_app
from tests.scheduling import SchedulerPlugin, record_group, shared_directory
from tests.support import (
    AppPyRun,
    AppRun,
    RecordedAcknowledgment,
    cdk_json_context,
    recording_acknowledgments,
)

ExampleApp = tuple[App, cx_api.CloudAssembly, list[RecordedAcknowledgment]]


@pytest.fixture(scope="session")
def _example_app_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleApp]:
    """The example app built and synthesized once, recording the acknowledgments made.

    Without the compliance packs and without CDK's own template validation (its built-in
    CloudFormationValidatePlugin: 3.5 s of its 4.5 s synth): :func:`app_py_run` is the gate
    and runs them all. Neither changes a template; the comparison with app.py's templates
    (``tests/first_run/test_app_without_cli.py``) would show it if one did.
    """
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    with recording_acknowledgments() as acknowledgments:
        app = build_app(compliance=False, outdir=str(outdir), context=cdk_json_context(),
                        builtin_cloud_formation_validation=False)
    yield app, app.synth(), acknowledgments


def _app_py_run_of(config: pytest.Config) -> AppPyRun:
    """The session's one ``python app.py`` run, shared by every pytest-xdist worker."""
    return AppPyRun(shared_directory(config))


@pytest.fixture(scope="session")
def app_py_run(request: pytest.FixtureRequest) -> AppRun:
    """``python app.py`` run once per session, in an empty directory, without the CDK CLI.

    Started in the background when the session is collected (:func:`pytest_collection_finish`),
    so no worker sits idle while the app synthesizes; this waits for its record.
    """
    return _app_py_run_of(request.config).result()


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


#: The fixtures that build the example app in-process (:func:`_example_app_build`).
_IN_PROCESS_APP_FIXTURES = frozenset({"_example_app_build", "example_app",
                                      "example_app_acknowledgments", "cloud_assembly",
                                      "example_stack"})
#: The fixture of the ``python app.py`` gate.
_GATE_FIXTURES = frozenset({"app_py_run"})


def _needs(item: pytest.Item, fixtures: frozenset[str]) -> bool:
    return bool(fixtures & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the ``python app.py`` gate last, the rest in their order.

    The gate is the session's longest single piece of work (about 20 s). It runs in the
    background from the end of collection on (:func:`pytest_collection_finish`): its tests
    come last so that the workers have other tests to run meanwhile.
    """
    items.sort(key=lambda item: _needs(item, _GATE_FIXTURES))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reports the collection
def pytest_collection_finish(session: pytest.Session) -> None:
    """Start ``python app.py`` if a selected test needs it; record the example app's tests.

    Here, after ``-k`` / ``-m`` deselection: the app then synthesizes alongside the tests
    instead of blocking a worker, and only when a test needs it. The record of the tests
    that read the in-process example app is what :mod:`tests.scheduling` runs on one worker.
    """
    if any(_needs(item, _GATE_FIXTURES) for item in session.items):
        _app_py_run_of(session.config).start()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        record_group(session.config, (item.nodeid for item in session.items
                                      if _needs(item, _IN_PROCESS_APP_FIXTURES)))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Reap the ``python app.py`` run this process started (see :meth:`AppPyRun.reap`)."""
    AppPyRun.reap()


def pytest_configure(config: pytest.Config) -> None:
    """With pytest-xdist (not under ``-p no:xdist``), its scheduler for this suite."""
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(SchedulerPlugin(), "analytics-example-app-scheduler")
