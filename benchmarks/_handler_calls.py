"""AWS API calls and in-process time per unit of work of each bundled handler (issue #16).

A pytest plugin (``-p _handler_calls``) run over one handler test per unit of work
(:data:`UNIT_TESTS`), against moto as those tests run. Every handler module the tests load
from ``lambda_src`` has its entry points wrapped; while one runs, every botocore API call
is counted (``service.Operation``) and timed. Per test it records the handler invocations,
the units they carried (SQS/Kinesis/Firehose ``Records``, a list's items, else 1), the
calls, and the handler's in-process time without the AWS calls (the time inside
botocore's ``_make_api_call``, moto's included, is subtracted: what the handler costs with
the calls stubbed). :func:`measure` runs it and reads the figures back.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import _bootstrap_external
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SRC = ROOT / "analytics_orchestration" / "lambda_src"
ENTRY_POINTS = ("handler", "on_event", "is_complete")

#: One test per unit of work, and the least AWS calls that work needs (the yardstick).
UNIT_TESTS: dict[str, tuple[str, str]] = {
    "object_validator (accepted object)": (
        "tests/lambda_src/test_object_validator.py::"
        "test_accepted_object_is_recorded_and_announced",
        "2: one ledger write, one ObjectAccepted event"),
    "object_validator (rejected object)": (
        "tests/lambda_src/test_object_validator.py::"
        "test_rejected_by_suffix_is_moved_to_quarantine",
        "4: copy to quarantine, delete the rejected version, one ledger write, one "
        "ObjectRejected event"),
    "job_worker (job)": (
        "tests/lambda_src/test_job_worker.py::test_job_succeeds_with_result_row_and_event",
        "3: claim the job (RECEIVED), record SUCCEEDED with its result, one JobSucceeded "
        "event"),
    "record_partitioner (object)": (
        "tests/lambda_src/test_record_partitioner.py::"
        "test_csv_object_is_partitioned_into_json_lines",
        "1 + P: read the object, one write per partition"),
    "object_reconciler (pass)": (
        "tests/lambda_src/test_object_reconciler.py::"
        "test_first_pass_redrives_every_unrecorded_object_the_rule_would_ingest",
        "read state, list versions (one page), one ledger batch read, one event batch, "
        "write state"),
    "redshift_sql (on_event)": (
        "tests/lambda_src/test_redshift_sql.py::"
        "test_on_event_calls_no_data_api_and_names_the_resource",
        "0: on_event only names the resource; is_complete's statements (1 call to start "
        "each, 1 per status poll) run against a fake Data API in the tests, not measured"),
    "stream_window_counter (batch)": (
        "tests/lambda_src/test_stream_window_counter.py::"
        "test_counts_accumulate_in_the_state_and_are_written_when_the_window_ends",
        "0 per record inside a window, one table write per key when a window ends"),
    "pipe_enricher (message)": (
        "tests/lambda_src/test_pipe_enricher.py::"
        "test_sqs_messages_become_workflow_inputs_in_order",
        "0: the enrichment is pure"),
    "lake_record_normaliser (record)": (
        "tests/lambda_src/test_lake_record_normaliser.py::"
        "test_each_record_gets_its_own_result_in_one_response",
        "0: the transformation is pure"),
    "dag_trigger (request)": (
        "tests/lambda_src/test_dag_trigger.py::"
        "test_a_step_functions_request_starts_a_run_with_its_conf",
        "1: one MWAA REST API call (the web login token is part of it)"),
}


class _Recorder:
    def __init__(self) -> None:
        self.depth = 0
        self.tests: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None

    def start(self, test_id: str) -> None:
        self.current = {"invocations": 0, "units": 0, "handler_s": 0.0, "aws_s": 0.0,
                        "calls": collections.Counter()}
        self.tests[test_id] = self.current


RECORDER = _Recorder()


def _units(event: Any) -> int:
    if isinstance(event, dict) and isinstance(event.get("Records", event.get("records")), list):
        return len(event.get("Records", event.get("records")))
    if isinstance(event, list):
        return len(event)
    return 1


def _wrap(function: Any) -> Any:
    def entry(event: Any, *args: Any, **kwargs: Any) -> Any:
        current = RECORDER.current
        RECORDER.depth += 1
        start = time.perf_counter()
        try:
            return function(event, *args, **kwargs)
        finally:
            RECORDER.depth -= 1
            if current is not None:
                current["invocations"] += 1
                current["units"] += _units(event)
                current["handler_s"] += time.perf_counter() - start

    entry.__wrapped__ = function  # type: ignore[attr-defined]
    return entry


def _install() -> None:
    import botocore.client

    original_exec = _bootstrap_external.SourceFileLoader.exec_module

    def exec_module(self: Any, module: Any) -> None:
        original_exec(self, module)
        path = Path(getattr(module, "__file__", "") or "")
        if path.name == "index.py" and path.parent.parent == LAMBDA_SRC:
            for name in ENTRY_POINTS:
                if callable(getattr(module, name, None)):
                    setattr(module, name, _wrap(getattr(module, name)))

    _bootstrap_external.SourceFileLoader.exec_module = exec_module  # type: ignore[method-assign]
    original_call = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation: str, params: Any) -> Any:
        current = RECORDER.current
        if RECORDER.depth == 0 or current is None:
            return original_call(self, operation, params)
        start = time.perf_counter()
        try:
            return original_call(self, operation, params)
        finally:
            current["aws_s"] += time.perf_counter() - start
            current["calls"][f"{self.meta.service_model.service_name}.{operation}"] += 1

    botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]


_install()


def pytest_runtest_setup(item: Any) -> None:
    RECORDER.start(item.nodeid)


def pytest_sessionfinish(session: Any) -> None:
    out = os.environ.get("HANDLER_CALLS_OUT")
    if out:
        Path(out).write_text(json.dumps(
            {test: {**figures, "calls": dict(figures["calls"])}
             for test, figures in RECORDER.tests.items()}))


def measure() -> dict[str, Any]:
    """Run :data:`UNIT_TESTS` under the plugin; calls and time per unit, per handler."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "calls.json"
        env = {**os.environ, "HANDLER_CALLS_OUT": str(out),
               "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)])}
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-p", "_handler_calls", *(test for test, _ in UNIT_TESTS.values())],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"handler tests failed:\n{completed.stdout[-4000:]}")
        recorded = json.loads(out.read_text())
    figures: dict[str, Any] = {}
    for name, (test, least) in UNIT_TESTS.items():
        got = recorded[test]
        units = max(got["units"], 1)
        figures[name] = {
            "invocations": got["invocations"],
            "units": got["units"],
            "aws_calls_per_unit": round(sum(got["calls"].values()) / units, 2),
            "calls": got["calls"],
            "least_needed": least,
            "in_process_ms_per_unit": round((got["handler_s"] - got["aws_s"]) / units * 1000, 2),
        }
    return figures


def report(figures: dict[str, Any]) -> list[str]:
    lines = ["handler AWS calls per unit (offline harness) and in-process ms per unit "
             "(AWS call time excluded):"]
    for name, handler in figures.items():
        lines.append(f"  {name:36} units {handler['units']:3}  calls/unit "
                     f"{handler['aws_calls_per_unit']:5}  in-process "
                     f"{handler['in_process_ms_per_unit']} ms/unit  {handler['calls']}")
        lines.append(f"  {'':36} least: {handler['least_needed']}")
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
