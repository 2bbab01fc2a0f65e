"""pytest-xdist scheduling for this suite: the in-process example app's tests on one worker.

A session fixture is built once per worker. Building the example app in-process
(``tests/conftest.py``'s ``_example_app_build``) costs about 10 s of CPU, so on a 2-core
machine a second build costs the whole suite about as much wall time. The tests that read
it run as one work unit on one worker; every other module (or test class) is its own unit,
as under ``--dist loadscope``, so that a module-scoped fixture (a stack synthesized for the
module's tests, a harness session) is built once too. On 2 cores the two ways measured
within noise of each other for the whole suite (126.7-138.4 s in three runs by module,
135.2 s in one by test); by module cannot build a module's fixtures twice. Units are
handed out largest first, to whichever worker is free.

pytest-xdist's own ``--dist loadgroup`` would do this with an ``xdist_group`` mark, but on
pytest 9.2 it silently stops grouping: it marks the group by rewriting ``item._nodeid``,
which pytest 9.2's structured node ids no longer read (pytest-dev/pytest-xdist#1386, fix
not released with 3.8.0). So the workers write the group's node ids to a file of the
session's shared temporary directory before they report their collection, and the
controller's scheduler (made by the public ``pytest_xdist_make_scheduler`` hook) reads it
when it splits the collection into work units.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

#: The work unit of the tests that read the in-process example app.
EXAMPLE_APP_UNIT = "example app (built in-process once)"
_GROUP_FILE = "example-app-tests.json"


def shared_directory(config: pytest.Config) -> Path:
    """The session's base temporary directory, the same for the controller and each worker.

    A worker's base temporary directory is a child of the session's (what
    ``tmp_path_factory`` gives a fixture).
    """
    base: Path = config._tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def record_group(config: pytest.Config, nodeids: Iterable[str]) -> None:
    """Record the group's node ids (each worker collects the same; the last write wins)."""
    path = shared_directory(config) / _GROUP_FILE
    partial = path.with_name(f"{path.name}.{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    partial.write_text(json.dumps(sorted(nodeids)))
    os.replace(partial, path)


class ExampleAppOnOneWorker(LoadScopeScheduling):
    """``loadscope`` distribution, except that the recorded group is one work unit.

    ``LoadScopeScheduling`` splits the collection into units with ``_split_scope`` (module,
    or class), the override point pytest-xdist's own ``loadgroup`` and ``loadfile``
    schedulers use. It hands the largest unit out first (``--loadscope-reorder``, the
    default): the group's worker starts building the app while the other runs the rest.
    """

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._group: frozenset[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._group is None:  # first called once every worker has reported its collection
            path = shared_directory(self.config) / _GROUP_FILE
            self._group = frozenset(json.loads(path.read_text())) if path.exists() \
                else frozenset()
        return EXAMPLE_APP_UNIT if nodeid in self._group else super()._split_scope(nodeid)


class SchedulerPlugin:
    """The ``pytest_xdist_make_scheduler`` hook, registered only where pytest-xdist is."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config,
                                    log: Producer) -> ExampleAppOnOneWorker | None:
        """For the default ``--dist`` (``load``): modules as units, the example app's tests
        as one; any other ``--dist`` as pytest-xdist makes it."""
        if config.getvalue("dist") == "load":
            return ExampleAppOnOneWorker(config, log)
        return None
