"""Where the example app's synth time goes (issue #16), for ``benchmarks/run.py``.

Run as a script, it synthesizes ``app.py`` once in this process, instrumented:

- Python imports, timed by phase: aws-cdk-lib (which starts jsii's Node.js process and
  loads the jsii assemblies), the rule packs, then the library and the example stacks;
- construction (``build_app``) and synthesis (``app.synth()``): every jsii round trip
  Python makes, by kind (create, invoke, get, set, callbacks completed...), counted and
  timed by wrapping the jsii kernel client's ``send`` (Node's work and the pipe included);
  the rest of the phase's wall time is Python's own;
- each policy-validation plugin, timed by registering it behind a Python plugin that
  delegates ``validate`` to it;
- Node.js is started with ``--cpu-prof`` (through ``JSII_NODE``); :func:`profile_phases`
  attributes that profile to CDK's own template validation, aspects, app preparation,
  template synthesis and writing, asset staging and hashing, the validation plugins, and
  the time Node waits for Python;
- asset staging's output: the asset directories and files in the cloud assembly, their
  bytes, and how many asset references the manifests make to them.

It prints one JSON object; :func:`breakdown` runs it in a fresh process and adds the
profile analysis.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Node.js profile phases: a sample belongs to the first phase (from the stack's root)
#: whose marker matches a frame: (phase, function name or "", url suffix or "").
PROFILE_MARKERS: tuple[tuple[str, str, str], ...] = (
    ("validation_plugins", "invokeSinglePlugin", ""),
    ("cdk_template_validation", "", "cloudformation-validate-plugin.js"),
    ("aspects", "invokeAspects", ""),
    ("aspects", "invokeAspectsV2", ""),
    ("prepare_app", "prepareApp", ""),
    ("template_synthesis_and_writing", "synthesizeTree", ""),
    ("asset_staging_and_hashing", "", "asset-staging.js"),
    ("asset_staging_and_hashing", "", "fs/fingerprint.js"),
    ("asset_staging_and_hashing", "", "fs/copy.js"),
)


def _frame_phase(function_name: str, url: str) -> str | None:
    for phase, name, suffix in PROFILE_MARKERS:
        if (name and function_name == name) or (suffix and url.endswith(suffix)):
            return phase
    return None


def profile_phases(profile_path: Path) -> dict[str, float]:
    """Milliseconds of the Node.js profile per phase (see :data:`PROFILE_MARKERS`).

    Outside every phase, samples whose innermost frames are jsii's blocking read of the
    next request are Node waiting for Python (``node_waiting_for_python``); writes of
    responses are ``jsii_responses``; the rest is ``other_js`` (construct code, the
    kernel's own work).
    """
    profile = json.loads(profile_path.read_text())
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"]
              for child in node.get("children", [])}
    self_us: collections.Counter[int] = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_us[sample] += delta
    phase_of: dict[int, str] = {}

    def classify(node_id: int) -> str:
        if node_id in phase_of:
            return phase_of[node_id]
        chain = []
        current: int | None = node_id
        while current is not None:
            chain.append(current)
            current = parent.get(current)
        phase = None
        for frame_id in reversed(chain):  # from the root
            frame = nodes[frame_id]["callFrame"]
            phase = _frame_phase(frame["functionName"], frame["url"])
            if phase:
                break
        if phase is None:
            names = {nodes[f]["callFrame"]["functionName"] for f in chain[:6]}
            if "(idle)" in names or "readSync" in names or "readLine" in names:
                phase = "node_waiting_for_python"
            elif "writeSync" in names or "writeLine" in names:
                phase = "jsii_responses"
            elif "(garbage collector)" in names:
                phase = "garbage_collection"
            else:
                phase = "other_js"
        phase_of[node_id] = phase
        return phase

    totals: collections.Counter[str] = collections.Counter()
    for node_id, micros in self_us.items():
        totals[classify(node_id)] += micros
    return {phase: round(micros / 1000, 1) for phase, micros in totals.most_common()}


def _asset_output(outdir: Path) -> dict[str, int]:
    staged = [path for path in outdir.iterdir() if path.name.startswith("asset.")]
    files = [f for path in staged for f in ([path] if path.is_file() else path.rglob("*"))
             if f.is_file()]
    references = 0
    for manifest in outdir.glob("*.assets.json"):
        references += len(json.loads(manifest.read_text()).get("files", {}))
    return {
        "assets_staged": len(staged),
        "asset_files_copied": len(files),
        "asset_bytes_copied": sum(f.stat().st_size for f in files),
        "asset_references_in_manifests": references,
    }


def _instrument() -> dict[str, Any]:
    """Wrap jsii's kernel client; return the live statistics it fills in by phase."""
    from jsii._kernel.providers import process

    stats: dict[str, Any] = {"phase": "imports", "by_phase": {}}
    original = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, request, response_type)
        finally:
            elapsed = time.perf_counter() - start
            phase = stats["by_phase"].setdefault(stats["phase"], {})
            kind = type(request).__name__.removesuffix("Request").lower()
            count, seconds = phase.get(kind, (0, 0.0))
            phase[kind] = (count + 1, seconds + elapsed)

    process._NodeProcess.send = send  # type: ignore[method-assign]
    return stats


def _timed_plugins(timings: dict[str, float]) -> None:
    """Register every plugin behind a Python plugin timing its ``validate``.

    cdk-nag 3's packs implement ``IPolicyValidationPlugin``, cfn-guard's plugin the Beta1
    interface (whose report is a different struct): each is wrapped in its own kind.
    """
    import jsii
    from aws_cdk import IPolicyValidationPlugin, IPolicyValidationPluginBeta1, Validations
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    class _Timed:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        @property
        def name(self) -> str:
            return str(self._inner.name)

        @property
        def version(self) -> str | None:
            return self._inner.version  # type: ignore[no-any-return]

        @property
        def rule_ids(self) -> list[str] | None:
            return self._inner.rule_ids  # type: ignore[no-any-return]

        def validate(self, context: Any) -> Any:
            start = time.perf_counter()
            try:
                return self._inner.validate(context)
            finally:
                timings[self.name] = timings.get(self.name, 0.0) + time.perf_counter() - start

    @jsii.implements(IPolicyValidationPlugin)
    class Timed(_Timed):
        pass

    @jsii.implements(IPolicyValidationPluginBeta1)
    class TimedBeta1(_Timed):
        pass

    original = Validations.add_plugins

    def add_plugins(self: Validations, *plugins: Any) -> None:
        original(self, *(TimedBeta1(plugin) if isinstance(plugin, CfnGuardValidator)
                         else Timed(plugin) for plugin in plugins))

    Validations.add_plugins = add_plugins  # type: ignore[method-assign]


def main(outdir: Path) -> dict[str, Any]:
    """Synthesize app.py once, instrumented; the Python-side figures."""
    started = time.perf_counter()
    marks: dict[str, float] = {}
    stats = _instrument()
    import aws_cdk  # noqa: F401 - starts Node and loads aws-cdk-lib's assembly
    marks["import_aws_cdk_s"] = time.perf_counter() - started
    import cdk_nag  # noqa: F401
    import cdklabs.cdk_validator_cfnguard  # noqa: F401
    marks["import_rule_packs_s"] = time.perf_counter() - started - sum(marks.values())
    sys.path.insert(0, str(ROOT))
    import app as example

    marks["import_library_and_stacks_s"] = (
        time.perf_counter() - started - sum(marks.values()))
    plugin_s: dict[str, float] = {}
    _timed_plugins(plugin_s)
    stats["phase"] = "construction"
    start = time.perf_counter()
    built = example.build_app(context=example.context_without_cli(), outdir=str(outdir))
    marks["construction_s"] = time.perf_counter() - start
    stats["phase"] = "synth"
    start = time.perf_counter()
    built.synth()
    marks["synth_s"] = time.perf_counter() - start
    jsii_calls = {
        phase: {
            "round_trips": sum(count for count, _ in kinds.values()),
            "round_trip_s": round(sum(seconds for _, seconds in kinds.values()), 3),
            "by_kind": {kind: [count, round(seconds, 3)]
                        for kind, (count, seconds) in sorted(kinds.items())},
        }
        for phase, kinds in stats["by_phase"].items()
    }
    for phase in ("construction", "synth"):
        calls = jsii_calls.get(phase, {"round_trip_s": 0.0})
        calls["python_side_s"] = round(marks[f"{phase}_s"] - calls["round_trip_s"], 3)
    return {
        **{name: round(value, 3) for name, value in marks.items()},
        "jsii": jsii_calls,
        "validation_plugins_s": {name: round(s, 3) for name, s in plugin_s.items()},
        **_asset_output(outdir),
    }


def breakdown() -> dict[str, Any]:
    """Run :func:`main` in a fresh process with Node profiled; all figures."""
    with tempfile.TemporaryDirectory() as work:
        profiles = Path(work) / "profiles"
        node = Path(work) / "node"
        node.write_text(f'#!/bin/sh\nexec node --cpu-prof --cpu-prof-dir={profiles} "$@"\n')
        node.chmod(0o755)
        outdir = Path(work) / "cdk.out"
        context = json.loads((ROOT / "cdk.json").read_text())["context"]
        env = {**os.environ, "JSII_NODE": str(node),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
               "CDK_CONTEXT_JSON": json.dumps(context)}
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, str(Path(__file__)), str(outdir)], cwd=ROOT, env=env,
            capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise RuntimeError(f"breakdown failed:\n{completed.stderr[-4000:]}")
        figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        figures["process_wall_s"] = round(wall, 3)
        # jsii's runtime runs the kernel in a child Node process: its profile is the
        # largest one.
        largest = max(profiles.glob("*.cpuprofile"), key=lambda p: p.stat().st_size)
        figures["node_profile_ms"] = profile_phases(largest)
        return figures


def report(figures: dict[str, Any]) -> list[str]:
    """Printable lines of the breakdown."""
    lines = [f"breakdown of the example app (one profiled run, {figures['process_wall_s']} s):"]
    for name in ("import_aws_cdk_s", "import_rule_packs_s", "import_library_and_stacks_s",
                 "construction_s", "synth_s"):
        lines.append(f"  {name:40} {figures[name]}")
    for phase, calls in figures["jsii"].items():
        lines.append(f"  jsii {phase:35} {calls['round_trips']} round trips, "
                     f"{calls['round_trip_s']} s in them"
                     + (f", Python side {calls['python_side_s']} s"
                        if "python_side_s" in calls else ""))
        lines.append(f"       by kind [count, s]: {calls['by_kind']}")
    for name, seconds in figures["validation_plugins_s"].items():
        lines.append(f"  plugin {name:33} {seconds} s")
    for name in ("assets_staged", "asset_files_copied", "asset_bytes_copied",
                 "asset_references_in_manifests"):
        lines.append(f"  {name:40} {figures[name]}")
    lines.append("  Node.js profile (ms by phase):")
    for phase, millis in figures["node_profile_ms"].items():
        lines.append(f"    {phase:38} {millis}")
    return lines


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
