#!/usr/bin/env python3
"""Benchmarks (run by `make bench`, `make bench QUICK=1`; never asserted in tests).

Issue #16's synth cost side by side with the floor and its breakdown (``_synth.py``,
``_breakdown.py``), the bundled handlers' costs (``_handlers.py``: cold imports;
``_handler_calls.py``: AWS calls and in-process time per unit of work), the test suite's time
with its slowest tests, and issue #2's figures:

- synth time of the example app (``python app.py``, run exactly as the CDK CLI runs it:
  context from cdk.json, output directory from ``CDK_OUTDIR``) and of the ingestion stack
  alone, against an empty CDK app, median of 5 interleaved runs each, and their ratios
  (target <= 1.5);
- peak memory of the example app's synth: the largest sum of resident memory over the
  whole process tree (Python and its jsii Node.js child), sampled every 20 ms in a
  separate run, so that sampling never slows a timed run (target < 1 GiB);
- wall time of the whole test suite, as `make test` runs it (target < 60 s);
- every other ``benchmarks/*.py`` script (one per pattern, e.g. the offline end-to-end
  test time): each prints one JSON object of figures as its last line of output.

Results are printed and written to ``benchmarks/results/latest.json``. ``--quick`` runs
each synth 2 times instead of 5 (the hand-written yardstick x1 and x5 instead of x20) and
skips the test suite and its peak-memory run: a quick comparison, not the issue's figures.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _breakdown
import _handler_calls
import _handlers
import _synth

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
EMPTY_APP = "from aws_cdk import App\nApp().synth()\n"
#: The example app as issue #2 shipped it: the ingestion stack, with cdk-nag.
INGESTION_APP = (
    "from aws_cdk import App, Validations\n"
    "from cdk_nag import AwsSolutionsChecks, ServerlessChecks\n"
    "from stacks.ingestion_stack import IngestionStack\n"
    "app = App()\n"
    "IngestionStack(app, 'AnalyticsIngestion')\n"
    "Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))\n"
    "app.synth()\n"
)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, read from /proc's children lists."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                stack.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and all its descendants (Python and jsii's Node)."""
    total = 0
    for pid in _descendants(root_pid):
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


def _timed(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run, with nothing else watching it; raises if it fails."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{completed.stdout.decode()}\n"
                           f"{completed.stderr.decode()}")
    return elapsed


def _peak_memory(command: list[str], env: dict[str, str]) -> int:
    """Peak process-tree resident memory of one run, sampled every 20 ms."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_bytes(process.pid))
        time.sleep(0.02)
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed with exit code {process.returncode}")
    return peak


def _synth_env(outdir: str) -> dict[str, str]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {
        **os.environ,
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }


def measure_synth(runs: int = RUNS) -> dict[str, float]:
    """Empty app, the ingestion stack alone (issue #2's app) and the whole example app."""
    commands = {
        "empty_app": [sys.executable, "-c", EMPTY_APP],
        "ingestion_app": [sys.executable, "-c", INGESTION_APP],
        "example_app": [sys.executable, "app.py"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so a slow moment hurts every command alike
        for name, command in commands.items():
            with tempfile.TemporaryDirectory() as outdir:
                times[name].append(_timed(command, _synth_env(outdir)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    with tempfile.TemporaryDirectory() as outdir:
        peak = _peak_memory(commands["example_app"], _synth_env(outdir))
    return {
        "empty_app_synth_s": round(medians["empty_app"], 3),
        "ingestion_app_synth_s": round(medians["ingestion_app"], 3),
        "ingestion_synth_ratio": round(medians["ingestion_app"] / medians["empty_app"], 3),
        "example_app_synth_s": round(medians["example_app"], 3),
        "synth_ratio": round(medians["example_app"] / medians["empty_app"], 3),
        "example_app_peak_memory_mib": round(peak / 2**20, 1),
    }


def slowest_tests(junit_xml: Path, count: int = 10) -> dict[str, Any]:
    """The ``count`` slowest tests of a recorded run and each test directory's total.

    A test's time is pytest's: its setup (fixtures it is first to use, such as a
    session's synthesized app), call and teardown.
    """
    cases = []
    for case in ET.parse(junit_xml).iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        cases.append((float(case.get("time", 0)), name))
    cases.sort(reverse=True)
    by_directory: Counter[str] = Counter()
    for seconds, name in cases:
        by_directory[".".join(name.split(".")[:2])] += seconds
    return {
        "tests": len(cases),
        "slowest_tests": [[round(seconds, 2), name] for seconds, name in cases[:count]],
        "seconds_by_directory": {d: round(s, 1) for d, s in by_directory.most_common()},
    }


def measure_test_suite(memory: bool = True) -> dict[str, Any]:
    """`make test`'s wall and CPU time, the slowest 10 tests; optionally its peak memory."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    with tempfile.TemporaryDirectory() as work:
        junit = Path(work) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "auto",
                   f"--junitxml={junit}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = _timed(command, env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures: dict[str, Any] = {
            "test_suite_s": round(elapsed, 2),
            "test_suite_cpu_s": round(after.ru_utime - before.ru_utime
                                      + after.ru_stime - before.ru_stime, 2),
            **slowest_tests(junit),
        }
    if memory:
        figures["test_suite_peak_memory_mib"] = round(_peak_memory(command[:-1], env) / 2**20, 1)
    return figures


def measure_pattern_scripts() -> dict[str, float]:
    """Run every other benchmark script; each prints its figures as a JSON last line."""
    figures: dict[str, float] = {}
    for script in sorted(Path(__file__).parent.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue  # this runner and its modules
        completed = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{completed.stdout}\n{completed.stderr}")
        figures.update(json.loads(completed.stdout.strip().splitlines()[-1]))
    return figures


def main(quick: bool = False) -> None:
    runs = 2 if quick else RUNS
    synth = _synth.measure(runs=runs, copies=_synth.QUICK_HANDWRITTEN_COPIES if quick
                           else _synth.HANDWRITTEN_COPIES)
    print("\n".join(_synth.report(synth)), flush=True)
    breakdown = _breakdown.breakdown()
    print("\n".join(_breakdown.report(breakdown)), flush=True)
    handlers = _handlers.measure()
    print("\n".join(_handlers.report(handlers)), flush=True)
    handler_calls = _handler_calls.measure()
    print("\n".join(_handler_calls.report(handler_calls)), flush=True)
    results: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "quick": quick,
        "synth": synth,
        "synth_breakdown": breakdown,
        "handlers": handlers,
        "handler_calls": handler_calls,
        **measure_synth(runs),
    }
    if not quick:
        results.update(measure_test_suite())
    results.update(measure_pattern_scripts())
    targets = {
        "ingestion_synth_ratio": ("<=", 1.5),
        "synth_ratio": ("<=", 1.5),
        "example_app_peak_memory_mib": ("<", 1024),
        "test_suite_s": ("<", 90),
        "e2e_ingestion_first_s": ("<", 2),
        "e2e_ingestion_warm_median_s": ("<", 2),
    }
    derived = synth["derived"]
    issue16 = {
        "library_vs_handwritten_cpu_per_resource": ("<=", 1.2),
        "library_vs_handwritten_wall_per_resource": ("<=", 1.2),
        "example_app_vs_handwritten_cpu_per_resource": ("<=", 1.2),
        "example_app_vs_handwritten_wall_per_resource": ("<=", 1.2),
        "example_app_wall_ratio": ("<", 2.7),
    }
    print("issue #16 targets:")
    for name, (op, limit) in issue16.items():
        if name in derived:
            met = derived[name] <= limit if op == "<=" else derived[name] < limit
            print(f"  {name:48} {derived[name]}  (target {op} {limit}: "
                  f"{'met' if met else 'MISSED'})")
    for name, value in results.items():
        if isinstance(value, (dict, list)):
            continue
        target = targets.get(name)
        verdict = ""
        if target:
            met = value <= target[1] if target[0] == "<=" else value < target[1]
            verdict = f"  (target {target[0]} {target[1]}: {'met' if met else 'MISSED'})"
        print(f"{name:32} {value}{verdict}")
    for seconds, name in results.get("slowest_tests", []):
        print(f"  slow test {seconds:8.2f} s  {name}")
    for directory, seconds in results.get("seconds_by_directory", {}).items():
        print(f"  test time {seconds:8.1f} s  {directory}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / ("quick.json" if quick else "latest.json")).write_text(
        json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
