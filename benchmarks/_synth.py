"""Synth cost side by side with the jsii floor (issue #16), for ``benchmarks/run.py``.

Four apps, each synthesized in a whole fresh process exactly as the CDK CLI runs an app
(cdk.json's context in ``CDK_CONTEXT_JSON``, the output directory in ``CDK_OUTDIR``), the
runs interleaved (floor, hand-written x1, hand-written x20, library pipeline, example app,
then again), so that a busy moment on a shared machine slows every app alike:

1. ``floor``: one trivial resource (an SQS queue) with the app's context: what any CDK
   app pays (Python and Node start-up, loading aws-cdk-lib's jsii assembly);
2. ``handwritten``: :mod:`benchmarks.apps.handwritten_pipeline`, a typical two-pattern
   pipeline written with aws-cdk-lib's L2 constructs and the same four packs; also
   ``handwritten_many`` (twenty copies; five in a quick run), the hand-written yardstick
   at the example app's scale;
3. ``library``: :mod:`benchmarks.apps.library_pipeline`, the same pipeline from this
   library's constructs;
4. ``example_app``: ``app.py``, every example stack with the strict profile.

Each run records wall time and the CPU time (user + system) of the process and its
children (Python, jsii's Node.js and the cfn-guard binary), from
``getrusage(RUSAGE_CHILDREN)``: CPU time barely moves when other work shares the cores,
wall time does. Resources are counted from the synthesized templates. Reported per app:
medians, the ratio to the floor and the cost per resource above the floor
(``(t - t_floor) / (resources - resources_floor)``), and the comparisons of issue #16's
targets: the library against the hand-written app scaled to the same resource count (a
straight line through hand-written x1 and x20), the example app against the same line.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APPS = Path(__file__).resolve().parent / "apps"
FLOOR_APP = (
    "from aws_cdk import App, Stack\n"
    "from aws_cdk import aws_sqs as sqs\n"
    "app = App()\n"
    "sqs.Queue(Stack(app, 'Floor'), 'Queue')\n"
    "app.synth()\n"
)
HANDWRITTEN_COPIES = 20
#: A quick run's hand-written yardstick (the line through x1 and x5 instead of x20).
QUICK_HANDWRITTEN_COPIES = 5


def commands(copies: int = HANDWRITTEN_COPIES) -> dict[str, list[str]]:
    """The apps measured, by name, as the command lines that synthesize them."""
    python = sys.executable
    return {
        "floor": [python, "-c", FLOOR_APP],
        "handwritten": [python, str(APPS / "handwritten_pipeline.py"), "1"],
        "handwritten_many": [python, str(APPS / "handwritten_pipeline.py"), str(copies)],
        "library": [python, str(APPS / "library_pipeline.py"), "1"],
        "example_app": [python, "app.py"],
    }


def synth_env(outdir: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the CDK CLI gives an app: context and output directory."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {
        **os.environ,
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }


def count_resources(outdir: Path) -> int:
    """CloudFormation resources in every template of a cloud assembly."""
    return sum(
        len(json.loads(template.read_text()).get("Resources", {}))
        for template in outdir.glob("*.template.json")
    )


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    resources: int


def run_once(command: list[str]) -> Run:
    """One synth in a fresh process: wall and CPU seconds, resources written."""
    with tempfile.TemporaryDirectory() as outdir:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, env=synth_env(outdir),
                                   capture_output=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if completed.returncode != 0:
            raise RuntimeError(f"{command} failed:\n{completed.stdout.decode()}\n"
                               f"{completed.stderr.decode()[-4000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return Run(wall, cpu, count_resources(Path(outdir)))


def measure(runs: int, only: list[str] | None = None,
            copies: int = HANDWRITTEN_COPIES) -> dict[str, Any]:
    """Medians of ``runs`` interleaved runs of every app, and the derived figures."""
    selected = {name: command for name, command in commands(copies).items()
                if only is None or name in only or name == "floor"}
    samples: dict[str, list[Run]] = {name: [] for name in selected}
    for _ in range(runs):
        for name, command in selected.items():
            samples[name].append(run_once(command))
    apps: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        counts = {run.resources for run in values}
        if len(counts) != 1:
            raise RuntimeError(f"{name}: resource count changed between runs: {counts}")
        apps[name] = {
            "resources": counts.pop(),
            "wall_s": statistics.median(run.wall_s for run in values),
            "cpu_s": statistics.median(run.cpu_s for run in values),
            "wall_runs_s": [round(run.wall_s, 2) for run in values],
        }
    return {"runs": runs, "handwritten_copies": copies, "apps": apps, "derived": derive(apps)}


def _per_resource(app: dict[str, float], floor: dict[str, float], key: str) -> float:
    return (app[key] - floor[key]) / max(app["resources"] - floor["resources"], 1) * 1000


def derive(apps: dict[str, dict[str, float]]) -> dict[str, float]:
    """Ratios to the floor, ms per resource above it, and the target comparisons."""
    floor = apps["floor"]
    derived: dict[str, float] = {}
    for name, app in apps.items():
        if name == "floor":
            continue
        for key in ("wall_s", "cpu_s"):
            unit = key[:-2]
            derived[f"{name}_{unit}_ratio"] = round(app[key] / floor[key], 2)
            derived[f"{name}_{unit}_ms_per_resource"] = round(
                _per_resource(app, floor, key), 2)
    one, many = apps.get("handwritten"), apps.get("handwritten_many")
    if one and many:
        for key in ("wall_s", "cpu_s"):
            unit = key[:-2]
            slope = (many[key] - one[key]) / (many["resources"] - one["resources"])
            derived[f"handwritten_{unit}_ms_per_added_resource"] = round(slope * 1000, 2)
            for name in ("library", "example_app"):
                app = apps.get(name)
                if not app:
                    continue
                # The hand-written app grown (or shrunk) to this app's resource count.
                scaled = {"resources": app["resources"],
                          key: one[key] + slope * (app["resources"] - one["resources"])}
                yardstick = _per_resource(scaled, floor, key)
                derived[f"{name}_vs_handwritten_{unit}_per_resource"] = round(
                    _per_resource(app, floor, key) / yardstick, 2)
    return derived


def report(results: dict[str, Any]) -> list[str]:
    """Printable lines: one per app, then the derived figures."""
    lines = [f"synth, median of {results['runs']} interleaved runs, hand-written x1 and "
             f"x{results['handwritten_copies']} (wall s / CPU s of the process tree):"]
    for name, app in results["apps"].items():
        lines.append(f"  {name:16} wall {app['wall_s']:7.2f}  cpu {app['cpu_s']:7.2f}  "
                     f"resources {app['resources']:5}  runs {app['wall_runs_s']}")
    for name, value in results["derived"].items():
        lines.append(f"  {name:48} {value}")
    return lines


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    figures = (measure(runs=2, copies=QUICK_HANDWRITTEN_COPIES) if quick else measure(runs=5))
    print("\n".join(report(figures)))
    print(json.dumps(figures))
