"""Generate the parts of the documentation site that are read from the code and the app.

``python -m tools.docs.generate --cdk-out build/docs/cdk.out`` (``make docs`` runs it
before ``mkdocs build``) writes ``docs/generated/`` (gitignored), so that nothing on the
site is a hand-made copy that can drift:

- ``diagrams/``: the architecture diagram of every example stack and the graph of every
  state machine, rendered from the synthesized app by ``python -m
  analytics_orchestration.diagrams`` (the library's own CLI, the one users run);
- ``snippets/diagrams-<Stack>.md``: those images for a stack page, each workflow captioned
  with its construct path;
- ``snippets/resources-<Stack>.md``: what the stack creates, by resource type;
- ``snippets/creates-<pattern>.md``: each example-app instance of a pattern with its stack's
  diagram and the resources under the construct;
- ``snippets/defaults-<pattern>.md``: the documented module constants of a pattern's modules
  (``#:`` comments: the default and why), exactly as the code holds them;
- ``snippets/extension-points-<pattern>.md``: mkdocstrings directives for the protected
  methods in each public class's "extension points" section;
- ``snippets/events-<pattern>.md``: the events of :mod:`analytics_orchestration.event_catalog`
  the pattern emits.

The pages include these with ``--8<--`` (pymdownx.snippets, ``check_paths: true``): a
missing file fails the strict build.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.docs.catalog import PATTERNS, Pattern
from tools.docs.griffe_rst import markdown

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "docs" / "generated"
DIAGRAMS = GENERATED / "diagrams"
SNIPPETS = GENERATED / "snippets"
#: Where a page (``docs/<section>/<page>.md``) finds the generated diagrams.
DIAGRAM_LINK = "../generated/diagrams"
_EXTENSION_SECTION = re.compile(r"^\s*# -+ extension points\s*$")
_SECTION = re.compile(r"^\s*# -{5,}")


# ----------------------------------------------------------------------------- the app
@dataclass(frozen=True)
class SynthesizedStack:
    """One stack of a cloud assembly: its name and template."""

    name: str
    template: Mapping[str, Any]

    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    def path_of(self, logical_id: str) -> str:
        """The construct path of a resource, under the stack (``Ingestion/Ledger/Resource``)."""
        metadata = self.resources()[logical_id].get("Metadata", {})
        path = str(metadata.get("aws:cdk:path", logical_id))
        return path.removeprefix(f"{self.name}/")


def stacks_of(cdk_out: Path) -> list[SynthesizedStack]:
    """Every CloudFormation stack of the cloud assembly in ``cdk_out``, in manifest order.

    Resources are found by their ``aws:cdk:path`` metadata, which ``cdk synth`` records
    (an ``App`` synthesized in-process records it only with the context key
    ``aws:cdk:enable-path-metadata``).
    """
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        stacks.append(SynthesizedStack(name, template))
    if not stacks:
        raise SystemExit(f"{cdk_out} holds no stack: synthesize the example app first")
    return stacks


def render_diagrams(cdk_out: Path, out: Path) -> None:
    """Render every stack and state machine of ``cdk_out`` with the library's diagram CLI."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    command = [sys.executable, "-m", "analytics_orchestration.diagrams", str(cdk_out),
               "--out", str(out), "--format", "svg"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n"
                         f"{result.stdout[-3000:]}{result.stderr[-3000:]}")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _resource_rows(stack: SynthesizedStack, prefix: str = "") -> list[tuple[str, ...]]:
    counts = Counter(
        resource["Type"] for logical_id, resource in stack.resources().items()
        if stack.path_of(logical_id).startswith(prefix)
    )
    counts.pop("AWS::CDK::Metadata", None)  # CDK's own version reporting, not the app's
    return [(f"`{kind}`", str(count)) for kind, count in sorted(counts.items())]


def state_machines(stack: SynthesizedStack) -> list[tuple[str, str]]:
    """``(logical id, construct path)`` of every state machine of ``stack``."""
    return sorted(
        (logical_id, stack.path_of(logical_id).removesuffix("/Resource"))
        for logical_id, resource in stack.resources().items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    )


def architecture_image(stack: str, diagrams: Path) -> str:
    """The Markdown image of ``stack``'s architecture diagram (which must exist)."""
    image = diagrams / f"{stack}.svg"
    if not image.is_file():
        raise SystemExit(f"the diagram CLI wrote no {image.name} into {diagrams}")
    return _linked_image(f"Architecture of {stack}", image.name)


def _linked_image(alt: str, name: str) -> str:
    """An image that opens at full size when clicked (a whole stack is a large drawing)."""
    return f"[![{alt}]({DIAGRAM_LINK}/{name})]({DIAGRAM_LINK}/{name})"


def diagrams_snippet(stack: SynthesizedStack, diagrams: Path) -> str:
    """The stack's architecture image, then each workflow image the CLI drew.

    The CLI draws every state machine of the app's own (not those of CDK's provider
    framework, which are plumbing): each ``<Stack>.<LogicalId>.svg`` is captioned with its
    state machine's construct path.
    """
    parts = [architecture_image(stack.name, diagrams), ""]
    paths = dict(state_machines(stack))
    workflows = []
    for image in sorted(diagrams.glob(f"{stack.name}.*.svg")):
        logical_id = image.name.removeprefix(f"{stack.name}.").removesuffix(".svg")
        if logical_id not in paths:
            raise SystemExit(f"{image.name}: {stack.name} has no state machine {logical_id}")
        workflows.append((paths[logical_id], image.name))
    if workflows:
        parts += ["### Workflows", ""]
    for path, name in sorted(workflows):
        parts += [f"#### `{path}`", "",
                  _linked_image(f"Workflow {path} of {stack.name}", name), ""]
    return "\n".join(parts)


def pattern_instances(pattern: Pattern, stacks: Mapping[str, SynthesizedStack]
                      ) -> list[tuple[str, str, list[tuple[str, ...]]]]:
    """``(stack, construct, resource rows)`` of each instance of ``pattern`` in the app."""
    instances = []
    for stack_name, construct in pattern.instances:
        if stack_name not in stacks:
            raise SystemExit(f"{pattern.slug}: no stack {stack_name} in the app")
        rows = _resource_rows(stacks[stack_name], f"{construct}/")
        if not rows:
            raise SystemExit(f"{pattern.slug}: no resource under {stack_name}/{construct}")
        instances.append((stack_name, construct, rows))
    return instances


def creates_snippet(pattern: Pattern, stacks: Mapping[str, SynthesizedStack],
                    diagrams: Path) -> str:
    parts: list[str] = []
    for stack_name, construct, rows in pattern_instances(pattern, stacks):
        created = ", ".join(f"{count} {kind}" for kind, count in rows)
        parts += [f"### `{construct}` in [{stack_name}](../stacks/{stack_name}.md)", "",
                  architecture_image(stack_name, diagrams), "",
                  f"What `{stack_name}/{construct}` creates, as synthesized: {created}.", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- the code
@dataclass(frozen=True)
class Documented:
    """A module-level constant with its ``#:`` comment."""

    module: str
    name: str
    value: str
    comment: str


def _source(module: str) -> tuple[Path, str]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SystemExit(f"no module {module}")
    path = Path(spec.origin)
    return path, path.read_text()


def documented_constants(module: str) -> Iterator[Documented]:
    """Public UPPER_CASE constants of ``module`` that a ``#:`` comment documents.

    The comment is returned as Markdown (its reST roles as code spans, as for docstrings).
    """
    _, source = _source(module)
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or not re.fullmatch(r"[A-Z][A-Z0-9_]*",
                                                                target.id):
            continue
        comment: list[str] = []
        line = node.lineno - 2
        while line >= 0 and lines[line].startswith("#:"):
            comment.insert(0, lines[line][2:].strip())
            line -= 1
        if not comment:
            continue
        text = " ".join((ast.get_source_segment(source, value) or "").split())
        yield Documented(module, target.id, text, markdown(" ".join(comment)))


def defaults_snippet(pattern: Pattern) -> str:
    rows = []
    for module in pattern.modules:
        for constant in documented_constants(module):
            value = constant.value if len(constant.value) <= 60 else "(see the source)"
            rows.append((f"`{constant.name}`", f"`{value}`" if value != "(see the source)"
                         else value, constant.comment, f"`{module.rsplit('.', 1)[-1]}`"))
    if not rows:
        return "This pattern's modules document no module-level defaults.\n"
    return _table(("constant", "value", "what and why", "module"), rows)


def extension_points(module: str) -> Iterator[tuple[str, str]]:
    """``(class, method)`` for the methods of each class's "extension points" section."""
    _, source = _source(module)
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        start = next((n for n in range(node.lineno, node.end_lineno or node.lineno)
                      if _EXTENSION_SECTION.match(lines[n - 1])), None)
        if start is None:
            continue
        end = next((n for n in range(start + 1, node.end_lineno or start)
                    if _SECTION.match(lines[n - 1])), node.end_lineno or start)
        for item in node.body:
            if (isinstance(item, ast.FunctionDef) and start < item.lineno < end
                    and item.name.startswith("_") and not item.name.startswith("__")):
                yield node.name, item.name


def extension_points_snippet(pattern: Pattern) -> str:
    parts = []
    for module in pattern.modules:
        for cls, method in extension_points(module):
            parts += [f"::: {module}.{cls}.{method}",
                      "    options:",
                      "      show_root_heading: true",
                      "      show_root_full_path: false",
                      "      heading_level: 3",
                      ""]
    if not parts:
        return ("This pattern has no protected extension points: change it through its "
                "props and the resources you bring (bring-your-own props), or its "
                "public attributes (`node.default_child` for an escape hatch).\n")
    intro = ("Subclass the construct and override these protected methods; each is "
             "called while the construct is built.\n")
    return intro + "\n" + "\n".join(parts)


def wrapped_builders() -> list[tuple[str, str]]:
    """``(name, path)`` of each public building block that wraps a foundation builder.

    ``building_blocks`` publishes most builders as ``name = validated_props(...)(
    foundation.name)``: an attribute without a docstring of its own to a static reader. The
    docstring is the foundation builder's, so the site renders that one, under the public
    name.
    """
    foundation = importlib.import_module("analytics_orchestration.constructs._foundation")
    module = "analytics_orchestration.building_blocks"
    _, source = _source(module)
    wrapped = []
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and len(node.value.args) == 1
                and isinstance(node.value.args[0], ast.Attribute)
                and isinstance(node.value.args[0].value, ast.Name)
                and node.value.args[0].value.id == "foundation"):
            builder = getattr(foundation, node.value.args[0].attr)
            wrapped.append((node.targets[0].id, f"{builder.__module__}.{builder.__qualname__}"))
    return wrapped


def building_blocks_snippet() -> str:
    parts = []
    for name, path in wrapped_builders():
        parts += [f"### `blocks.{name}`", "", f"::: {path}", "    options:",
                  "      show_root_heading: false", "      heading_level: 4", ""]
    return "\n".join(parts)


def event_comments() -> dict[str, str]:
    return {c.name: c.comment
            for c in documented_constants("analytics_orchestration.event_catalog")}


def events_snippet(pattern: Pattern) -> str:
    if not pattern.events:
        return ("This pattern emits no event of its own (see the [event catalog]"
                "(../events.md) for the events the library emits).\n")
    catalog = importlib.import_module("analytics_orchestration.event_catalog")
    comments = event_comments()
    rows = []
    for name in pattern.events:
        event = getattr(catalog, name)
        rows.append((f"`{name}`", f"`{event.source}`", f"`{event.detail_type}`",
                     ", ".join(f"`{f}`" for f in event.detail_fields), comments.get(name, "")))
    return _table(("catalog name", "source", "detail-type", "detail fields", "when"), rows)


def all_events_snippet() -> str:
    catalog = importlib.import_module("analytics_orchestration.event_catalog")
    comments = event_comments()
    emitted_by = {name: p for p in PATTERNS for name in p.events}
    rows = []
    for event in catalog.LIBRARY_EVENTS:
        [name] = [n for n in dir(catalog) if getattr(catalog, n) is event]
        pattern = emitted_by[name]
        rows.append((f"`{name}`", f"`{event.source}`", f"`{event.detail_type}`",
                     ", ".join(f"`{f}`" for f in event.detail_fields), comments.get(name, ""),
                     f"[{pattern.title}](patterns/{pattern.slug}.md)"))
    return _table(("catalog name", "source", "detail-type", "detail fields", "when",
                   "emitted by"), rows)


# ------------------------------------------------------------------------------- main
def generate(cdk_out: Path, *, diagrams: bool = True) -> list[Path]:
    """Write ``docs/generated/``; returns the files written."""
    stacks = {s.name: s for s in stacks_of(cdk_out)}
    if diagrams:
        render_diagrams(cdk_out, DIAGRAMS)
    if SNIPPETS.exists():
        shutil.rmtree(SNIPPETS)
    SNIPPETS.mkdir(parents=True)
    files: dict[str, str] = {"events.md": all_events_snippet(),
                             "building-blocks-api.md": building_blocks_snippet()}
    for stack in stacks.values():
        files[f"diagrams-{stack.name}.md"] = diagrams_snippet(stack, DIAGRAMS)
        files[f"resources-{stack.name}.md"] = _table(("resource type", "count"),
                                                     _resource_rows(stack))
    for pattern in PATTERNS:
        files[f"creates-{pattern.slug}.md"] = creates_snippet(pattern, stacks, DIAGRAMS)
        files[f"defaults-{pattern.slug}.md"] = defaults_snippet(pattern)
        files[f"extension-points-{pattern.slug}.md"] = extension_points_snippet(pattern)
        files[f"events-{pattern.slug}.md"] = events_snippet(pattern)
    written = []
    for name, text in files.items():
        (SNIPPETS / name).write_text(text)
        written.append(SNIPPETS / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cdk-out", type=Path, required=True,
                        help="the synthesized example app (a cloud assembly directory)")
    args = parser.parse_args(argv)
    written = generate(args.cdk_out)
    images = sorted(DIAGRAMS.glob("*.svg"))
    print(f"docs/generated: {len(images)} diagrams, {len(written)} snippets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
