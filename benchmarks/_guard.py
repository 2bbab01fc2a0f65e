"""Where cfn-guard's share of a synth goes (issue #16): the guard binary itself, per template.

Run after ``make synth`` (it reads ``cdk.out``)::

    .venv/bin/python benchmarks/_guard.py

For each synthesized template it runs the cfn-guard binary bundled in
``cdk-validator-cfnguard`` exactly as the plugin does (``--output-format json --show-summary
none --structured``) with the rules :class:`~analytics_orchestration.compliance.ControlTowerRules`
hands it for that template, one after another as the plugin runs them, and prints the wall
time and the output size; then the time of ``ControlTowerRules``' own run (on every core, on
the part of each template its rules can look at). Then, on the
largest template, one rule given once, the same rule given as ten files, and the ten
concatenated into one file: guard's cost grows with the number of rule *files* it is given
per template, not only with the rules in them. (Concatenating the Control Tower files is not a
safe cut: they share top-level names and the findings change; see ``docs/performance.md``.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics_orchestration._cfn_guard import (  # noqa: E402
    GuardPackage,
    guard_command,
    unpacked_package,
)
from analytics_orchestration.compliance import (  # noqa: E402
    ControlTowerRules,
    inapplicable_rules,
)


def _run(guard: GuardPackage, rules: list[Path], template: Path) -> tuple[float, int]:
    """Seconds and output bytes of one cfn-guard run, with the plugin's flags."""
    start = time.perf_counter()
    out = subprocess.run(guard_command(guard, rules, str(template)), capture_output=True,
                         check=False)
    return time.perf_counter() - start, len(out.stdout)


def main() -> None:
    templates = sorted((ROOT / "cdk.out").glob("*.template.json"))
    if not templates:
        raise SystemExit("no cdk.out/*.template.json: run `make synth` first")
    with tempfile.TemporaryDirectory() as scratch:
        guard = unpacked_package()  # the plugin's own binary and rule files
        all_rules = list(guard.rule_files().values())
        total = 0.0
        sizes: dict[Path, int] = {}
        for template in templates:
            resources = json.loads(template.read_text()).get("Resources", {})
            skip = set(inapplicable_rules({str(r.get("Type")) for r in resources.values()}))
            rules = [r for r in all_rules if r.stem not in skip]
            seconds, size = _run(guard, rules, template)
            total += seconds
            sizes[template] = len(resources)
            print(f"{template.name:42} {len(resources):4} resources {len(rules):3} rules "
                  f"{seconds:6.2f} s  {size / 1e6:.2f} MB out")
        print(f"guard binary, all templates one after another (the plugin): {total:.2f} s")
        start = time.perf_counter()
        report = ControlTowerRules().validate(
            types.SimpleNamespace(template_paths=[str(t) for t in templates]))
        print(f"ControlTowerRules' own run (parts of each template, one guard per core, "
              f"{os.cpu_count()} cores): {time.perf_counter() - start:.2f} s, "
              f"{len(report.violations)} violations")
        largest = max(sizes, key=lambda t: sizes[t])
        rule = next(r for r in all_rules if r.stem == "ct-rds-pr-6")
        ten = Path(scratch) / "ten"
        ten.mkdir()
        copies = [ten / f"copy{i}.guard" for i in range(10)]
        for copy in copies:
            copy.write_text(rule.read_text())
        combined = Path(scratch) / "combined.guard"
        combined.write_text("\n".join(rule.read_text() for _ in copies))
        print(f"on {largest.name}: one rule file {_run(guard, [rule], largest)[0]:.2f} s, "
              f"ten files {_run(guard, copies, largest)[0]:.2f} s, "
              f"the ten in one file {_run(guard, [combined], largest)[0]:.2f} s")


if __name__ == "__main__":
    main()
