"""AWS API calls and in-process time per unit of work of each bundled handler (issue #16).

A pytest plugin (``-p _handler_calls``) run over one handler test per unit of work
(:data:`UNIT_TESTS`), against moto as those tests run. Every handler module the tests load
from ``lambda_src`` has its entry points wrapped; while one runs, every botocore API call
is counted (``service.Operation``) and timed. Per test it records the handler invocations,
the units they carried (SQS/Kinesis/Firehose ``Records``, a list's items, else 1), the
calls, and the handler's in-process time without the AWS calls (the time inside
botocore's ``_make_api_call``, moto's included, is subtracted: what the handler costs with
the calls stubbed) and without building its boto3 clients (botocore's ``create_client``,
reported apart as first-use time: a handler builds its clients once per execution
environment, and a test with one invocation would otherwise charge that to its one unit).
:func:`measure` runs it and reads the figures back.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import _bootstrap_external
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SRC = ROOT / "analytics_orchestration" / "lambda_src"
ENTRY_POINTS = ("handler", "on_event", "is_complete")

@dataclass(frozen=True)
class UnitTest:
    """One handler test that does a known amount of work, and the least that work needs."""

    test: str
    #: The least AWS calls per unit of work, as a number (the yardstick)...
    least: float
    #: ...and which calls they are, and why no fewer can keep the handler's guarantees.
    why: str
    #: Units the test's work carries when the events do not say (None: counted from them:
    #: SQS/Kinesis/Firehose ``Records``, a list's items, else 1 per invocation).
    units: int | None = None


#: One test per unit of work, and the least AWS calls that work needs.
UNIT_TESTS: dict[str, UnitTest] = {
    "object_validator (accepted object)": UnitTest(
        "tests/lambda_src/test_object_validator.py::"
        "test_accepted_object_is_recorded_and_announced",
        3, "the ledger claim (written before the event, with the attempt's lease), one "
        "ObjectAccepted event, published_at (after the event: a row without it is resumed by "
        "a retry or re-driven by object_reconciler; one write cannot be both before and "
        "after the event, and PutEvents cannot be conditional)"),
    "object_validator (rejected object)": UnitTest(
        "tests/lambda_src/test_object_validator.py::"
        "test_rejected_by_suffix_is_moved_to_quarantine",
        6, "HeadObject (the headers and metadata a REPLACE copy must carry over to add the "
        "reason), copy to quarantine, delete the rejected version, the ledger claim, one "
        "ObjectRejected event, published_at"),
    "job_worker (job)": UnitTest(
        "tests/lambda_src/test_job_worker.py::test_job_succeeds_with_result_row_and_event",
        3, "claim the job (RECEIVED, with the attempt's lease), one JobSucceeded event, "
        "record SUCCEEDED with its result (after the event, so a refused event is retried, "
        "never lost behind a duplicate answer)"),
    "record_partitioner (object)": UnitTest(
        "tests/lambda_src/test_record_partitioner.py::"
        "test_csv_object_is_partitioned_into_json_lines",
        4, "1 + P: read the object, one write per partition (P = 3 here)"),
    "object_reconciler (pass)": UnitTest(
        "tests/lambda_src/test_object_reconciler.py::"
        "test_first_pass_redrives_every_unrecorded_object_the_rule_would_ingest",
        6, "read state, list versions (one page), one ledger batch read (100 keys a call), "
        "one asynchronous Invoke per re-driven version (1 here), one event, write state"),
    "redshift_sql (on_event)": UnitTest(
        "tests/lambda_src/test_redshift_sql.py::"
        "test_on_event_calls_no_data_api_and_names_the_resource",
        0, "on_event only names the resource; is_complete runs the statements"),
    "redshift_sql (is_complete, request)": UnitTest(
        "tests/lambda_src/test_redshift_sql.py::"
        "test_is_complete_starts_each_statement_once_across_polls_of_the_data_api",
        5, "N + P for N statements over P polls (N = 2, P = 3 here, 10 s apart, against the "
        "harness's Data API): one ExecuteStatement per statement, one ListStatements per "
        "poll (the handler keeps no state between polls; a failure adds one "
        "DescribeStatement for Redshift's error)",
        units=1),
    "stream_window_counter (batch)": UnitTest(
        "tests/lambda_src/test_stream_window_counter.py::"
        "test_counts_accumulate_in_the_state_and_are_written_when_the_window_ends",
        1 / 3, "0 per record inside a window; when the window ends, one BatchWriteItem per "
        "25 keys (2 keys over 3 records here)"),
    "pipe_enricher (message)": UnitTest(
        "tests/lambda_src/test_pipe_enricher.py::"
        "test_sqs_messages_become_workflow_inputs_in_order",
        0, "the enrichment is pure"),
    "lake_record_normaliser (record)": UnitTest(
        "tests/lambda_src/test_lake_record_normaliser.py::"
        "test_each_record_gets_its_own_result_in_one_response",
        0, "the transformation is pure"),
    "dag_trigger (request)": UnitTest(
        "tests/lambda_src/test_dag_trigger.py::"
        "test_a_step_functions_request_starts_a_run_with_its_conf",
        1, "one MWAA REST API call (the web login token is part of it)"),
}


class _Recorder:
    def __init__(self) -> None:
        self.depth = 0
        self.tests: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None

    def start(self, test_id: str) -> None:
        self.current = {"invocations": 0, "units": 0, "handler_s": 0.0, "aws_s": 0.0,
                        "clients_s": 0.0, "calls": collections.Counter()}
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
    import botocore.session

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
    original_create = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        current = RECORDER.current
        if RECORDER.depth == 0 or current is None:
            return original_create(self, *args, **kwargs)
        start = time.perf_counter()
        try:
            return original_create(self, *args, **kwargs)
        finally:
            current["clients_s"] += time.perf_counter() - start

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]


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
             "-p", "_handler_calls", *(unit.test for unit in UNIT_TESTS.values())],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"handler tests failed:\n{completed.stdout[-4000:]}")
        recorded = json.loads(out.read_text())
    figures: dict[str, Any] = {}
    for name, unit in UNIT_TESTS.items():
        got = recorded[unit.test]
        units = unit.units if unit.units is not None else max(got["units"], 1)
        figures[name] = {
            "invocations": got["invocations"],
            "units": units,
            "aws_calls_per_unit": round(sum(got["calls"].values()) / units, 2),
            "calls": got["calls"],
            "least_calls_per_unit": round(unit.least, 2),
            "least_needed": unit.why,
            "in_process_ms_per_unit": round(
                (got["handler_s"] - got["aws_s"] - got["clients_s"]) / units * 1000, 2),
            "first_use_clients_ms": round(got["clients_s"] * 1000, 1),
        }
    return figures


def report(figures: dict[str, Any]) -> list[str]:
    lines = ["handler AWS calls per unit (offline harness) and in-process ms per unit "
             "(AWS call time and first-use client creation excluded):"]
    for name, handler in figures.items():
        lines.append(f"  {name:36} units {handler['units']:3}  calls/unit "
                     f"{handler['aws_calls_per_unit']:5} (least "
                     f"{handler['least_calls_per_unit']})  in-process "
                     f"{handler['in_process_ms_per_unit']} ms/unit (+ clients "
                     f"{handler['first_use_clients_ms']} ms once)  {handler['calls']}")
        lines.append(f"  {'':36} least: {handler['least_needed']}")
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
