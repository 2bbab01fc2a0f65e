#!/usr/bin/env python3
"""Benchmarks of issue #2's targets (run by `make bench`; never asserted in tests).

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

Results are printed and written to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def measure_synth() -> dict[str, float]:
    """Empty app, the ingestion stack alone (issue #2's app) and the whole example app."""
    commands = {
        "empty_app": [sys.executable, "-c", EMPTY_APP],
        "ingestion_app": [sys.executable, "-c", INGESTION_APP],
        "example_app": [sys.executable, "app.py"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):  # interleaved, so a slow moment hurts every command alike
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


def measure_test_suite() -> dict[str, float]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    elapsed = _timed(command, env)
    return {"test_suite_s": round(elapsed, 2),
            "test_suite_peak_memory_mib": round(_peak_memory(command, env) / 2**20, 1)}


def measure_pattern_scripts() -> dict[str, float]:
    """Run every other benchmark script; each prints its figures as a JSON last line."""
    figures: dict[str, float] = {}
    for script in sorted(Path(__file__).parent.glob("*.py")):
        if script.name == Path(__file__).name:
            continue
        completed = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{completed.stdout}\n{completed.stderr}")
        figures.update(json.loads(completed.stdout.strip().splitlines()[-1]))
    return figures


def main() -> None:
    results = {
        "cpu_count": os.cpu_count(),
        **measure_synth(),
        **measure_test_suite(),
        **measure_pattern_scripts(),
    }
    targets = {
        "ingestion_synth_ratio": ("<=", 1.5),
        "synth_ratio": ("<=", 1.5),
        "example_app_peak_memory_mib": ("<", 1024),
        "test_suite_s": ("<", 60),
        "e2e_ingestion_first_s": ("<", 2),
        "e2e_ingestion_warm_median_s": ("<", 2),
    }
    for name, value in results.items():
        target = targets.get(name)
        verdict = ""
        if target:
            met = value <= target[1] if target[0] == "<=" else value < target[1]
            verdict = f"  (target {target[0]} {target[1]}: {'met' if met else 'MISSED'})"
        print(f"{name:32} {value}{verdict}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
