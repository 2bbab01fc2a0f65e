"""The graph model shared by the extractors and the renderer.

A :class:`Graph` is plain data (nodes, edges, clusters) so that tests assert on the data flow
itself, not on pixels, and so that any renderer (DOT here) can draw it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class EdgeKind(enum.Enum):
    """How an edge is drawn: the main data path, or a secondary one."""

    DATA = "data"
    """The data flow (solid)."""
    FAILURE = "failure"
    """Dead-letter queues, on-failure destinations, Catch paths (dashed, red)."""
    ALARM = "alarm"
    """An alarm on the source notifying the target (dotted, grey)."""
    RETRY = "retry"
    """A Retry of a workflow state (a self loop, annotated)."""


@dataclass(frozen=True)
class Node:
    """A resource that carries data, or one state of a workflow."""

    id: str
    label: str
    kind: str
    """The resource type (``AWS::SQS::Queue``) or the state type (``Task``)."""
    cluster: str | None = None
    """The id of the :class:`Cluster` the node is drawn in (``None``: the top level)."""
    detail: str = ""
    """A second line under the label (a queue's role, a task's resource)."""


@dataclass(frozen=True)
class Edge:
    """A directed flow between two nodes."""

    source: str
    target: str
    kind: EdgeKind = EdgeKind.DATA
    label: str = ""


@dataclass(frozen=True)
class Cluster:
    """A group of nodes: a construct, a Parallel branch, a Map's item processor."""

    id: str
    label: str
    parent: str | None = None


@dataclass
class Graph:
    """A directed graph with clusters; node ids are unique."""

    name: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def add_node(self, node: Node) -> Node:
        """Add ``node`` (the first one added with an id wins)."""
        return self.nodes.setdefault(node.id, node)

    def add_edge(self, edge: Edge) -> None:
        """Add ``edge`` once per source, target and kind, keeping the one with a label.

        Two readings of a template often find the same flow (a pipe's enrichment, and the
        pipe role's ``lambda:InvokeFunction``): the labelled one says more.
        """
        for index, known in enumerate(self.edges):
            if (known.source, known.target, known.kind) == (edge.source, edge.target, edge.kind):
                if edge.label and not known.label:
                    self.edges[index] = edge
                return
        self.edges.append(edge)

    def has_edge(self, source: str, target: str, kind: EdgeKind | None = None) -> bool:
        """Whether an edge ``source`` -> ``target`` (of ``kind``, if given) exists."""
        return any(e.source == source and e.target == target
                   and (kind is None or e.kind is kind) for e in self.edges)

    def successors(self, node_id: str) -> list[str]:
        """The targets of the edges leaving ``node_id``, in insertion order."""
        return [e.target for e in self.edges if e.source == node_id]

    def dangling_edges(self) -> list[Edge]:
        """Edges whose source or target is not a node (always empty for a sound graph)."""
        return [e for e in self.edges if e.source not in self.nodes or e.target not in self.nodes]
