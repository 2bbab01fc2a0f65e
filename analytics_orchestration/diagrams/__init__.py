"""Architecture and workflow diagrams drawn from the synthesized app, so they cannot drift.

One call renders a stack (or a whole ``cdk.out``) to files::

    from analytics_orchestration.diagrams import render_stack
    render_stack("cdk.out", "diagrams", formats=("svg", "png"))

and the same from a shell: ``python -m analytics_orchestration.diagrams cdk.out --out diagrams
--format svg``. Each stack gives ``<StackName>.svg`` (its data flow: :mod:`.architecture`)
and each of its state machines ``<StackName>.<StateMachineLogicalId>.svg`` (its states:
:mod:`.workflow`). The graphs are plain data (:class:`Graph`) for tests and other renderers.
Rendering needs ``node`` and the npm packages the project pins (:mod:`.render`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from analytics_orchestration.diagrams.architecture import architecture_graph, is_framework
from analytics_orchestration.diagrams.dot import architecture_dot, workflow_dot
from analytics_orchestration.diagrams.model import Cluster, Edge, EdgeKind, Graph, Node
from analytics_orchestration.diagrams.render import (
    PNG_SIGNATURE,
    RendererUnavailableError,
    available_icons,
    dot_to_svg,
    inline_svg,
    svg_to_png,
)
from analytics_orchestration.diagrams.source import DiagramSourceError, StackTemplate, load
from analytics_orchestration.diagrams.workflow import definition_of, state_machines, workflow_graph

FORMATS = ("svg", "png")

__all__ = [
    "FORMATS",
    "PNG_SIGNATURE",
    "Cluster",
    "DiagramSourceError",
    "Edge",
    "EdgeKind",
    "Graph",
    "Node",
    "RendererUnavailableError",
    "StackTemplate",
    "architecture_dot",
    "architecture_graph",
    "architecture_svg",
    "definition_of",
    "dot_to_svg",
    "inline_svg",
    "load",
    "render_stack",
    "state_machines",
    "svg_to_png",
    "workflow_dot",
    "workflow_graph",
    "workflow_graphs",
    "workflow_svg",
]


def workflow_graphs(stack: StackTemplate, *, include_framework: bool = False) -> dict[str, Graph]:
    """State machine logical id -> its workflow graph.

    The CDK's own state machines (a custom-resource provider's waiter) are left out unless
    ``include_framework``.
    """
    return {logical_id: workflow_graph(definition, name=logical_id)
            for logical_id, definition in state_machines(stack.template).items()
            if include_framework or not is_framework(stack, logical_id)}


def architecture_svg(source: Any) -> str:
    """The architecture diagram of one stack (``source`` as for :func:`load`) as SVG."""
    stacks = load(source)
    if len(stacks) != 1:
        raise DiagramSourceError(f"{len(stacks)} stacks given: use render_stack for several")
    return dot_to_svg([architecture_dot(architecture_graph(stacks[0]), available_icons())])[0]


def workflow_svg(definition: Mapping[str, Any], *, name: str = "workflow",
                 taken_nodes: Collection[str] = (),
                 taken_edges: Collection[tuple[str, str]] = ()) -> str:
    """The workflow diagram of a parsed ASL definition as SVG, a run's path marked."""
    graph = workflow_graph(definition, name=name)
    return dot_to_svg([workflow_dot(graph, taken_nodes=taken_nodes,
                                    taken_edges=taken_edges)])[0]


def render_stack(source: Any, out_dir: str | Path, formats: Iterable[str] = ("svg",), *,
                 workflows: bool = True) -> list[Path]:
    """Write the diagrams of every stack in ``source`` to ``out_dir``; return the files.

    ``source``: an ``aws_cdk.Stack``, a cloud assembly, a ``cdk.out`` directory, a template
    file or a template mapping. ``formats``: any of ``"svg"`` and ``"png"``. Files are
    ``<StackName>.<format>`` and, with ``workflows`` (default), one
    ``<StackName>.<StateMachineLogicalId>.<format>`` per state machine of the stack.
    """
    wanted = tuple(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ValueError(f"formats: {unknown or 'none'} given; allowed: {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    dots: list[str] = []
    icons = available_icons()
    for stack in load(source):
        names.append(stack.name)
        dots.append(architecture_dot(architecture_graph(stack), icons))
        if workflows:
            for logical_id, graph in workflow_graphs(stack).items():
                names.append(f"{stack.name}.{logical_id}")
                dots.append(workflow_dot(graph))
    svgs = dot_to_svg(dots)
    written: list[Path] = []
    if "svg" in wanted:
        for name, svg in zip(names, svgs, strict=True):
            path = out / f"{name}.svg"
            path.write_text(svg)
            written.append(path)
    if "png" in wanted:
        for name, png in zip(names, svg_to_png(svgs), strict=True):
            path = out / f"{name}.png"
            path.write_bytes(png)
            written.append(path)
    return written

