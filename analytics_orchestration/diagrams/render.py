"""DOT -> SVG -> PNG, with nothing but what ``make setup`` installs.

Graphviz runs compiled to WebAssembly (``@viz-js/viz``) and PNGs are rasterized by resvg
(``@resvg/resvg-js``, a prebuilt binary shipped in the npm package), both pinned in the
project's ``package.json`` and run through ``node`` by ``render.cjs``: no system Graphviz,
Cairo or browser. AWS service icons come from the PyPI ``diagrams`` package's PNG resources
when it is installed (the project's ``dev`` extra pins it); each icon is embedded once as a
data URI in the SVG's ``<defs>`` and placed with ``<use>``, so a file is self-contained.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

SCRIPT = Path(__file__).with_name("render.cjs")
REQUIRED_MODULES = ("@viz-js/viz", "@resvg/resvg-js")
NODE_MODULES_ENV = "ANALYTICS_ORCHESTRATION_NODE_MODULES"
"""Points at a ``node_modules`` directory holding the renderers, when not found by walking up
from the working directory or from this package."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_SANS_SERIF = "DejaVu Sans"
"""The PNG's font when Helvetica and Arial are missing (Graphviz measured the labels with
Helvetica's metrics; DejaVu Sans condensed is about as wide)."""

_ICON_REF = re.compile(r'<image xlink:href="icon:([^"]+)" width="[^"]*" height="[^"]*"'
                       r'(?: preserveAspectRatio="[^"]*")? x="([^"]*)" y="([^"]*)"\s*/>')
_TAKEN = re.compile(r'(<g id="[^"]*" class="[^"]*\btaken\b[^"]*")')


class RendererUnavailableError(RuntimeError):
    """``node`` or the pinned npm renderers are missing (run ``make setup``)."""


def find_node_modules() -> Path:
    """The ``node_modules`` directory that holds both renderers."""
    candidates: list[Path] = []
    if os.environ.get(NODE_MODULES_ENV):
        candidates.append(Path(os.environ[NODE_MODULES_ENV]))
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        candidates.extend(directory / "node_modules" for directory in (start, *start.parents))
    for candidate in candidates:
        if all((candidate / module / "package.json").exists() for module in REQUIRED_MODULES):
            return candidate
    raise RendererUnavailableError(
        "the diagram renderers are not installed: run `npm ci` (or `make setup`) in a "
        f"project whose package.json pins {' and '.join(REQUIRED_MODULES)}, or set "
        f"{NODE_MODULES_ENV} to its node_modules directory")


def _run(jobs: list[dict[str, object]]) -> list[dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        raise RendererUnavailableError("`node` is not on PATH (the diagram renderer runs on it)")
    completed = subprocess.run(  # a fixed script, run by the project's own node
        [node, str(SCRIPT), str(find_node_modules())], input=json.dumps(jobs).encode(),
        capture_output=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the diagram renderer failed: {completed.stderr.decode()[-2000:]}")
    results: list[dict[str, str]] = json.loads(completed.stdout)
    for result in results:
        if "error" in result:
            raise RuntimeError(f"the diagram renderer failed: {result['error']}")
    return results


@lru_cache(maxsize=1)
def icon_directory() -> Path | None:
    """The AWS icon PNGs of the installed ``diagrams`` package, if any."""
    spec = importlib.util.find_spec("diagrams")
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))).parent / "resources" / "aws"
    return directory if directory.is_dir() else None


def available_icons() -> frozenset[str]:
    """The icon names (``compute/lambda``) that can be embedded."""
    from analytics_orchestration.diagrams.dot import STYLES

    directory = icon_directory()
    if directory is None:
        return frozenset()
    return frozenset(icon for icon, _ in STYLES.values()
                     if icon and (directory / f"{icon}.png").exists())


def _icon_data_uri(icon: str) -> str:
    directory = icon_directory()
    assert directory is not None
    return "data:image/png;base64," + base64.b64encode(
        (directory / f"{icon}.png").read_bytes()).decode()


def _finish_svg(svg: str) -> str:
    """Icons embedded once each, ``data-taken`` on what a run took."""
    from analytics_orchestration.diagrams.dot import ICON_SIZE, safe_id

    used: dict[str, None] = {}

    def place(match: re.Match[str]) -> str:
        used[match.group(1)] = None
        return (f'<use xlink:href="#icon-{safe_id(match.group(1))}" x="{match.group(2)}" '
                f'y="{match.group(3)}"/>')

    svg = _ICON_REF.sub(place, svg)
    if used:
        defs = "".join(
            f'<image id="icon-{safe_id(icon)}" width="{ICON_SIZE}" height="{ICON_SIZE}" '
            f'xlink:href="{_icon_data_uri(icon)}"/>' for icon in used)
        svg = re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1) + f"\n<defs>{defs}</defs>", svg,
                     count=1)
    return _TAKEN.sub(r'\1 data-taken="true"', svg)


def dot_to_svg(dots: Sequence[str]) -> list[str]:
    """Each DOT document as a self-contained SVG document (one renderer process)."""
    images = [{"name": f"icon:{icon}", "width": "36px", "height": "36px"}
              for icon in sorted(available_icons())]
    results = _run([{"op": "svg", "dot": dot, "images": images} for dot in dots])
    return [_finish_svg(result["svg"]) for result in results]


def svg_to_png(svgs: Sequence[str], *, width: int = 1600) -> list[bytes]:
    """Each SVG rasterized to a PNG ``width`` pixels wide (at most the drawing's width x 2)."""
    jobs: list[dict[str, object]] = []
    for svg in svgs:
        match = re.search(r'<svg width="([0-9.]+)pt"', svg)
        natural = int(float(match.group(1)) * 4 / 3) if match else width
        # Condensed: DejaVu's regular face is wider than the Helvetica metrics Graphviz laid
        # the labels out with.
        svg = re.sub(r"<svg\b", '<svg font-stretch="condensed"', svg, count=1)
        jobs.append({"op": "png", "svg": svg, "width": max(1, min(width, natural * 2)),
                     "sansSerif": PNG_SANS_SERIF})
    return [base64.b64decode(result["png"]) for result in _run(jobs)]


def inline_svg(svg: str) -> str:
    """An SVG document as markup to place inside HTML (no XML declaration or doctype)."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg)
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S).strip()
