"""What each bundled handler costs at cold start (issue #16), for ``benchmarks/run.py``.

For every handler folder of ``analytics_orchestration/lambda_src`` (each is zipped as its
own asset root, so Lambda imports ``index`` with the folder on ``sys.path``): the time to
import ``index`` in a fresh interpreter with the layer's packages (Powertools and the X-Ray
SDK, as installed in this virtualenv; boto3 as in the runtime), environment as Lambda sets
it (``AWS_LAMBDA_FUNCTION_NAME`` present, so Powertools' tracer is active as it is in
Lambda), median of ``RUNS`` interpreters; and, from ``-X importtime`` of one more
interpreter, the top-level modules that cost most of it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_SRC = ROOT / "analytics_orchestration" / "lambda_src"
RUNS = 5
#: What Lambda's environment gives every function (fake credentials: nothing is called).
LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_LAMBDA_FUNCTION_NAME": "benchmark",
    "POWERTOOLS_SERVICE_NAME": "benchmark",
    "POWERTOOLS_METRICS_NAMESPACE": "Benchmark",
}
_IMPORT = (
    "import sys, time\n"
    "sys.path.insert(0, {folder!r})\n"
    "start = time.perf_counter()\n"
    "import index\n"
    "print(time.perf_counter() - start)\n"
)


def handlers() -> list[Path]:
    """Every bundled handler folder (one with an ``index.py``)."""
    return sorted(path.parent for path in LAMBDA_SRC.glob("*/index.py"))


def _env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_", "POWERTOOLS_"))}
    return {**env, **LAMBDA_ENV}


def import_seconds(folder: Path) -> float:
    """Seconds to import the handler's ``index`` in one fresh interpreter."""
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORT.format(folder=str(folder))], cwd=folder, env=_env(),
        capture_output=True, text=True, check=True)
    return float(completed.stdout.strip().splitlines()[-1])


def heaviest_imports(folder: Path, count: int = 3) -> list[tuple[str, float]]:
    """The modules ``index`` imports directly that cost most (with theirs), in ms."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _IMPORT.format(folder=str(folder))],
        cwd=folder, env=_env(), capture_output=True, text=True, check=True)
    # Each line: "import time: self | cumulative | <2 spaces per nesting level>name"; a
    # module is listed after the modules it imported, so index's direct imports are the
    # depth-1 lines just before the depth-0 "index" line.
    rows: list[tuple[int, str, float]] = []
    for line in completed.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip(
        ).isdigit():
            continue
        raw = parts[2][1:]
        depth = (len(raw) - len(raw.lstrip())) // 2
        rows.append((depth, raw.strip(), int(parts[1]) / 1000))
    end = max(i for i, (depth, name, _) in enumerate(rows) if depth == 0 and name == "index")
    start = end
    while start > 0 and rows[start - 1][0] > 0:
        start -= 1
    direct = [(name, ms) for depth, name, ms in rows[start:end] if depth == 1]
    return sorted(direct, key=lambda item: -item[1])[:count]


def measure(runs: int = RUNS) -> dict[str, Any]:
    """Cold-import figures of every handler (interleaved across handlers)."""
    folders = handlers()
    samples: dict[str, list[float]] = {folder.name: [] for folder in folders}
    for _ in range(runs):
        for folder in folders:
            samples[folder.name].append(import_seconds(folder))
    return {
        folder.name: {
            "cold_import_ms": round(statistics.median(samples[folder.name]) * 1000, 1),
            "heaviest_imports_ms": [[name, round(ms, 1)]
                                    for name, ms in heaviest_imports(folder)],
        }
        for folder in folders
    }


def report(figures: dict[str, Any]) -> list[str]:
    """Printable lines, one per handler."""
    lines = [f"handler cold import (median of {RUNS} fresh interpreters, ms):"]
    for name, handler in figures.items():
        heavy = ", ".join(f"{module} {ms}" for module, ms in handler["heaviest_imports_ms"])
        lines.append(f"  {name:26} {handler['cold_import_ms']:8.1f}   heaviest: {heavy}")
    return lines


if __name__ == "__main__":
    print("\n".join(report(measure())))
