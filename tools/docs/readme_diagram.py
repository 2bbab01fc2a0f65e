"""The README's diagram: the ingestion pattern, as the README's own example composes it.

``python -m tools.docs.readme_diagram`` runs the README's "Compose a construct" block
(the one ``tests/first_run/test_readme.py`` runs as written) and draws its stack with the
library's :func:`analytics_orchestration.diagrams.architecture_svg` into
``docs/assets/ingestion.svg``, the image the README shows (GitHub renders the README
without building anything, so the image is committed). ``--check`` only compares;
``tests/docs/test_readme_diagram.py`` fails when the committed image is not what the code
draws today.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DIAGRAM = ROOT / "docs" / "assets" / "ingestion.svg"
#: The README section (pymdownx.snippets markers) holding the example.
SECTION = "compose"


def example_code() -> str:
    """The Python block of the README's ``compose`` section."""
    text = README.read_text()
    match = re.search(rf"\[start:{SECTION}\].*?```python\n(?P<code>.*?)^```.*?\[end:{SECTION}\]",
                      text, re.DOTALL | re.MULTILINE)
    if match is None:
        raise SystemExit(f"README.md has no python block in its {SECTION!r} section")
    return match.group("code")


def draw() -> str:
    """Run the README's example and draw the stack it builds."""
    from analytics_orchestration.diagrams import architecture_svg

    # The diagram groups resources by construct: record their paths as `cdk synth` does.
    previous = os.environ.get("CDK_CONTEXT_JSON")
    os.environ["CDK_CONTEXT_JSON"] = json.dumps({"aws:cdk:enable-path-metadata": True})
    try:
        namespace: dict[str, Any] = {"__name__": "readme_example"}
        exec(compile(example_code(), "README.md:compose", "exec"), namespace)
    finally:
        if previous is None:
            os.environ.pop("CDK_CONTEXT_JSON", None)
        else:
            os.environ["CDK_CONTEXT_JSON"] = previous
    return architecture_svg(namespace["stack"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the README's ingestion diagram.")
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed image differs from the drawing")
    args = parser.parse_args(argv)
    svg = draw()
    if args.check:
        if not DIAGRAM.is_file() or DIAGRAM.read_text() != svg:
            print(f"{DIAGRAM.relative_to(ROOT)} is out of date: python -m "
                  "tools.docs.readme_diagram", file=sys.stderr)
            return 1
        return 0
    DIAGRAM.parent.mkdir(parents=True, exist_ok=True)
    DIAGRAM.write_text(svg)
    print(f"wrote {DIAGRAM.relative_to(ROOT)} ({len(svg.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
