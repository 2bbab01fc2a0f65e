"""How the suite shares its two syntheses: the background ``python app.py`` run and its record,
and the scheduler that keeps the in-process example app's tests on one worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import app_py_runner
from tests.scheduling import (
    EXAMPLE_APP_UNIT,
    ExampleAppOnOneWorker,
    SchedulerPlugin,
    record_group,
)
from tests.support import AppPyRun, AppRun


def _config(base: Path, dist: str = "load") -> Any:
    """What the scheduler reads of pytest's config: ``--dist``, ``--tx`` (``-n 2``), basetemp."""
    options = {"dist": dist, "tx": ["2*popen"]}
    return SimpleNamespace(getvalue=options.__getitem__,
                           _tmp_path_factory=SimpleNamespace(getbasetemp=lambda: base))


def test_the_recorded_group_is_one_work_unit_and_every_other_module_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    worker_base = tmp_path / "popen-gw1"
    worker_base.mkdir()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    record_group(_config(worker_base), ["b.py::test_deploys", "a.py::test_reads"])
    monkeypatch.delenv("PYTEST_XDIST_WORKER")  # the controller: its base is the session's
    scheduler = SchedulerPlugin.pytest_xdist_make_scheduler(_config(tmp_path), None)
    assert isinstance(scheduler, ExampleAppOnOneWorker)
    assert scheduler._split_scope("a.py::test_reads") == EXAMPLE_APP_UNIT
    assert scheduler._split_scope("b.py::test_deploys") == EXAMPLE_APP_UNIT
    assert scheduler._split_scope("a.py::test_other") == "a.py"
    assert scheduler._split_scope("a.py::TestCase::test_other") == "a.py::TestCase"


def test_without_a_recorded_group_every_module_is_its_own_unit(tmp_path: Path):
    scheduler = ExampleAppOnOneWorker(_config(tmp_path))
    assert scheduler._split_scope("a.py::test_reads[1]") == "a.py"


@pytest.mark.parametrize("dist", ["loadfile", "loadscope", "worksteal", "each"])
def test_any_other_distribution_is_left_to_pytest_xdist(tmp_path: Path, dist: str):
    assert SchedulerPlugin.pytest_xdist_make_scheduler(_config(tmp_path, dist), None) is None


def test_a_written_record_is_read_as_the_run(tmp_path: Path):
    run = AppPyRun(tmp_path)
    (tmp_path / "app-py-run.pid").write_text("1")  # started: start() starts nothing
    app_py_runner.write_record(run.record, {"returncode": 0, "stdout": "Synthesized",
                                            "stderr": "", "directory": str(run.directory)})
    assert run.result() == AppRun(0, "Synthesized", "", run.directory)
    assert not list(tmp_path.glob("*.partial"))


def test_a_runner_that_ended_without_a_record_fails_the_wait_and_names_it(tmp_path: Path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid names no process now
    (tmp_path / "app-py-run.pid").write_text(str(ended.pid))
    with pytest.raises(RuntimeError, match=rf"pid {ended.pid}\) ended without writing"):
        AppPyRun(tmp_path).result(poll_seconds=0.01)


def test_an_app_that_cannot_run_is_recorded_as_failed_instead_of_never_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def hangs(*args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(args[0], app_py_runner.TIMEOUT_SECONDS)

    monkeypatch.setattr(app_py_runner.subprocess, "run", hangs)
    record = tmp_path / "record.json"
    assert app_py_runner.main([str(tmp_path / "run"), str(record)]) == 0
    fields = json.loads(record.read_text())
    assert fields["returncode"] == -1
    assert "python app.py could not run" in fields["stderr"]
    assert "timed out" in fields["stderr"]


def test_the_run_leaves_out_what_only_the_cdk_cli_sets(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    seen: dict[str, Any] = {}

    def records(command: list[str], **kwargs: Any) -> Any:
        seen.update(command=command, **kwargs)
        return subprocess.CompletedProcess(command, 0, "out", "err")

    monkeypatch.setenv("CDK_CONTEXT_JSON", "{}")
    monkeypatch.setenv("CDK_OUTDIR", "/elsewhere")
    monkeypatch.setattr(app_py_runner.subprocess, "run", records)
    fields = app_py_runner.run(tmp_path)
    assert fields == {"returncode": 0, "stdout": "out", "stderr": "err",
                      "directory": str(tmp_path)}
    assert seen["command"][1].endswith("app.py") and seen["cwd"] == tmp_path
    assert not set(app_py_runner.CLI_ENVIRONMENT) & set(seen["env"])
