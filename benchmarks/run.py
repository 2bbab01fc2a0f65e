#!/usr/bin/env python3
"""Benchmarks of issue #2's targets (run by `make bench`; never asserted in tests).

- synth time of the example app (``python app.py``, run exactly as the CDK CLI runs it:
  context from cdk.json, output directory from ``CDK_OUTDIR``) against an empty CDK app,
  median of 5 interleaved runs each, and their ratio (target <= 1.5);
- peak memory of the example app's synth: the largest sum of resident memory over the
  whole process tree (Python and its jsii Node.js child), sampled every 10 ms
  (target < 1 GiB);
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


def _tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _run(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak process-tree RSS of one run; raises if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_bytes(process.pid))
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{stdout.decode()}\n{stderr.decode()}")
    return elapsed, peak


def _synth_env(outdir: str) -> dict[str, str]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {
        **os.environ,
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }


def measure_synth() -> dict[str, float]:
    empty_times: list[float] = []
    example_times: list[float] = []
    peaks: list[int] = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as outdir:
            elapsed, _ = _run([sys.executable, "-c", EMPTY_APP], _synth_env(outdir))
            empty_times.append(elapsed)
        with tempfile.TemporaryDirectory() as outdir:
            elapsed, peak = _run([sys.executable, "app.py"], _synth_env(outdir))
            example_times.append(elapsed)
            peaks.append(peak)
    empty, example = statistics.median(empty_times), statistics.median(example_times)
    return {
        "empty_app_synth_s": round(empty, 3),
        "example_app_synth_s": round(example, 3),
        "synth_ratio": round(example / empty, 3),
        "example_app_peak_memory_mib": round(max(peaks) / 2**20, 1),
    }


def measure_test_suite() -> dict[str, float]:
    elapsed, peak = _run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    return {"test_suite_s": round(elapsed, 2), "test_suite_peak_memory_mib": round(peak / 2**20, 1)}


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
