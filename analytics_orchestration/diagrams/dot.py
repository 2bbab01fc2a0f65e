"""Graphviz DOT for the graphs: architecture (left to right) and workflow (top down).

Each node and edge gets a stable SVG ``id`` (``node_<id>``, ``state_<id>``, ``edge_<n>``) and a
``class`` (its kind, and ``taken`` for what a run went through) so that a page can style or
find them; the renderer turns ``taken`` into a ``data-taken="true"`` attribute. Ids and
classes use no hyphen: Graphviz writes ``-`` as ``&#45;`` in its SVG.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable

from analytics_orchestration.diagrams.model import Edge, EdgeKind, Graph, Node

FONT = "Helvetica,Arial,sans-serif"
ICON_SIZE = 36

#: Resource type -> (icon name, accent colour of its AWS service category).
STYLES: dict[str, tuple[str, str]] = {
    "AWS::S3::Bucket": ("storage/simple-storage-service-s3", "#7AA116"),
    "AWS::Events::Rule": ("integration/eventbridge-rule", "#E7157B"),
    "AWS::Events::EventBus": ("integration/eventbridge", "#E7157B"),
    "AWS::Events::ApiDestination": ("integration/eventbridge", "#E7157B"),
    "AWS::Scheduler::Schedule": ("integration/eventbridge-scheduler", "#E7157B"),
    "AWS::Lambda::Function": ("compute/lambda", "#ED7100"),
    "AWS::DynamoDB::Table": ("database/dynamodb", "#C925D1"),
    "AWS::DynamoDB::GlobalTable": ("database/dynamodb", "#C925D1"),
    "AWS::SQS::Queue": ("integration/simple-queue-service-sqs", "#E7157B"),
    "AWS::SNS::Topic": ("integration/simple-notification-service-sns", "#E7157B"),
    "AWS::Kinesis::Stream": ("analytics/kinesis-data-streams", "#8C4FFF"),
    "AWS::KinesisFirehose::DeliveryStream": ("analytics/kinesis-data-firehose", "#8C4FFF"),
    "AWS::Pipes::Pipe": ("integration/eventbridge-pipes", "#E7157B"),
    "AWS::StepFunctions::StateMachine": ("integration/step-functions", "#E7157B"),
    "AWS::ApiGateway::RestApi": ("network/api-gateway", "#8C4FFF"),
    "AWS::Athena::WorkGroup": ("analytics/athena", "#8C4FFF"),
    "AWS::Glue::Job": ("analytics/glue", "#8C4FFF"),
    "AWS::Glue::Crawler": ("analytics/glue-crawlers", "#8C4FFF"),
    "AWS::Glue::Database": ("analytics/glue-data-catalog", "#8C4FFF"),
    "AWS::Glue::Table": ("analytics/glue-data-catalog", "#8C4FFF"),
    "AWS::RedshiftServerless::Workgroup": ("analytics/redshift", "#8C4FFF"),
    "AWS::RedshiftServerless::Namespace": ("analytics/redshift", "#8C4FFF"),
    "AWS::Redshift::Cluster": ("analytics/redshift", "#8C4FFF"),
    "AWS::RDS::DBCluster": ("database/aurora", "#C925D1"),
    "AWS::Batch::JobQueue": ("compute/batch", "#ED7100"),
    "AWS::Batch::JobDefinition": ("compute/batch", "#ED7100"),
    "AWS::EMRServerless::Application": ("analytics/emr", "#8C4FFF"),
    "AWS::MSK::ServerlessCluster": ("analytics/managed-streaming-for-kafka", "#8C4FFF"),
    "AWS::MSK::Cluster": ("analytics/managed-streaming-for-kafka", "#8C4FFF"),
    "AWS::OpenSearchServerless::Collection": ("analytics/amazon-opensearch-service", "#8C4FFF"),
    "AWS::OSIS::Pipeline": ("analytics/amazon-opensearch-service", "#8C4FFF"),
    "AWS::OpenSearchService::Domain": ("analytics/amazon-opensearch-service", "#8C4FFF"),
    "AWS::MWAA::Environment": ("management/amazon-managed-workflows-apache-airflow",
                               "#E7157B"),
    "AWS::ECS::Service": ("compute/fargate", "#ED7100"),
    "AWS::ECS::TaskDefinition": ("compute/elastic-container-service-task", "#ED7100"),
    "AWS::SageMaker::Model": ("ml/sagemaker-model", "#01A88D"),
}
_DEFAULT_STYLE = ("", "#232F3E")

_EDGE_STYLE: dict[EdgeKind, str] = {
    EdgeKind.DATA: 'color="#232F3E"',
    EdgeKind.FAILURE: 'color="#D13212" fontcolor="#D13212" style=dashed',
    EdgeKind.ALARM: 'color="#879596" fontcolor="#879596" style=dotted constraint=false',
    EdgeKind.RETRY: 'color="#ED7100" fontcolor="#ED7100" style=dashed',
}

#: Workflow state type -> DOT node attributes.
_STATE_STYLE: dict[str, str] = {
    "Start": 'shape=circle label="" width=0.25 style=filled fillcolor="#232F3E"',
    "End": 'shape=doublecircle label="" width=0.2 style=filled fillcolor="#232F3E"',
    "Task": 'shape=box style="rounded,filled" fillcolor="#FFF4E8" color="#ED7100"',
    "Choice": 'shape=diamond style=filled fillcolor="#FDEAF3" color="#E7157B"',
    "Parallel": 'shape=box style="rounded,filled,bold" fillcolor="#F1ECFF" color="#8C4FFF"',
    "Map": 'shape=box style="rounded,filled,bold" fillcolor="#F1ECFF" color="#8C4FFF"',
    "Succeed": 'shape=box style="rounded,filled" fillcolor="#E9F5DA" color="#7AA116"',
    "Fail": 'shape=octagon style=filled fillcolor="#FBE5E1" color="#D13212"',
}
_STATE_DEFAULT = 'shape=box style="rounded,filled" fillcolor="#F2F3F3" color="#545B64"'

TAKEN_STYLE = 'penwidth=3 color="#0972D3"'


def quote(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def safe_id(text: str) -> str:
    """An XML-id-safe form of a node id (used as its SVG ``id``)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", text)


def icon_name(kind: str) -> str:
    """The icon a resource type is drawn with (``""``: none)."""
    return STYLES.get(kind, _DEFAULT_STYLE)[0]


def _clusters(graph: Graph, lines: list[str], nodes_of: dict[str | None, list[str]],
              parent: str | None, indent: str) -> None:
    for cluster in graph.clusters.values():
        if cluster.parent != parent:
            continue
        lines.append(f"{indent}subgraph {quote('cluster_' + cluster.id)} {{")
        cluster_id = quote("cluster_" + safe_id(cluster.id))
        lines.append(f"{indent}  label={quote(cluster.label)} id={cluster_id}")
        lines.append(f'{indent}  style="rounded,dashed" color="#879596" fontcolor="#545B64"')
        lines.extend(f"{indent}  {line}" for line in nodes_of.get(cluster.id, []))
        _clusters(graph, lines, nodes_of, cluster.id, indent + "  ")
        lines.append(f"{indent}}}")


def _document(graph: Graph, header: Iterable[str], node_line: dict[str, str],
              edge_lines: list[str]) -> str:
    nodes_of: dict[str | None, list[str]] = {}
    for node in graph.nodes.values():
        cluster = node.cluster if node.cluster in graph.clusters else None
        nodes_of.setdefault(cluster, []).append(node_line[node.id])
    lines = [f"digraph {quote(graph.name)} {{", *(f"  {h}" for h in header)]
    lines.extend(f"  {line}" for line in nodes_of.get(None, []))
    _clusters(graph, lines, nodes_of, None, "  ")
    lines.extend(f"  {line}" for line in edge_lines)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_line(index: int, edge: Edge, taken: bool) -> str:
    classes = f"edge_{edge.kind.value}" + (" taken" if taken else "")
    attributes = [_EDGE_STYLE[edge.kind], f"id={quote(f'edge_{index}')}",
                  f"class={quote(classes)}"]
    if edge.label:
        attributes.append(f"label={quote(edge.label)}")
    if taken:
        attributes.append(TAKEN_STYLE)
    return f"{quote(edge.source)} -> {quote(edge.target)} [{' '.join(attributes)}]"


def architecture_dot(graph: Graph, icons: Collection[str] = ()) -> str:
    """DOT for an architecture graph; ``icons``: the icon names the renderer can embed."""
    header = ["rankdir=LR; newrank=true; nodesep=0.35; ranksep=0.9; compound=true",
              f'graph [fontname={quote(FONT)} fontsize=13 labeljust=l id="architecture"]',
              f'node [fontname={quote(FONT)} fontsize=11 shape=box style="rounded,filled" '
              'fillcolor=white penwidth=1.4 margin="0.2,0.05"]',
              f"edge [fontname={quote(FONT)} fontsize=9 arrowsize=0.7]"]
    node_line: dict[str, str] = {}
    for node in graph.nodes.values():
        icon, colour = STYLES.get(node.kind, _DEFAULT_STYLE)
        label = _resource_label(node, icon if icon in icons else "")
        service = safe_id(node.kind.split("::")[1].lower()) if "::" in node.kind else "other"
        node_line[node.id] = (f"{quote(node.id)} [label=<{label}> color={quote(colour)} "
                              f"id={quote('node_' + safe_id(node.id))} "
                              f"class={quote('resource service_' + service)} "
                              f"tooltip={quote(node.kind)}]")
    edges = [_edge_line(i, e, False) for i, e in enumerate(graph.edges)
             if e.kind is not EdgeKind.ALARM]
    edges.extend(_alarm_lines(graph, len(graph.edges)))
    return _document(graph, header, node_line, edges)


def _alarm_lines(graph: Graph, first_index: int) -> list[str]:
    """Alarm edges, one per (cluster, topic): a construct's alarms drawn as one dotted path.

    An alarm edge per watched resource would cross the whole picture dozens of times; a
    compound edge from the construct's cluster (``ltail``) says the same once. Resources
    outside any cluster, or in the topic's own cluster, keep their own edge.
    """
    grouped: dict[tuple[str, str], list[Edge]] = {}
    lines: list[str] = []
    index = first_index
    for edge in graph.edges:
        if edge.kind is not EdgeKind.ALARM:
            continue
        cluster = graph.nodes[edge.source].cluster
        if cluster is None or cluster == graph.nodes[edge.target].cluster:
            lines.append(_edge_line(index, edge, False))
            index += 1
        else:
            grouped.setdefault((cluster, edge.target), []).append(edge)
    for (cluster, topic), edges in grouped.items():
        attributes = [_EDGE_STYLE[EdgeKind.ALARM], f"id={quote(f'edge_{index}')}",
                      'class="edge_alarm"', f"ltail={quote('cluster_' + cluster)}",
                      f"label={quote(f'{len(edges)} alarms' if len(edges) > 1 else 'alarm')}"]
        lines.append(f"{quote(edges[0].source)} -> {quote(topic)} [{' '.join(attributes)}]")
        index += 1
    return lines


def _resource_label(node: Node, icon: str) -> str:
    rows = []
    if icon:
        rows.append(f'<TR><TD FIXEDSIZE="TRUE" WIDTH="{ICON_SIZE}" HEIGHT="{ICON_SIZE}">'
                    f'<IMG SRC="{html.escape("icon:" + icon)}" SCALE="TRUE"/></TD></TR>')
    rows.append(f"<TR><TD><B>{html.escape(node.label)}</B></TD></TR>")
    if node.detail:
        rows.append(f'<TR><TD><FONT POINT-SIZE="9" COLOR="#545B64">'
                    f"{html.escape(node.detail)}</FONT></TD></TR>")
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">{"".join(rows)}</TABLE>'


def workflow_dot(graph: Graph, *, taken_nodes: Collection[str] = (),
                 taken_edges: Collection[tuple[str, str]] = ()) -> str:
    """DOT for a workflow graph, with the states and transitions a run took marked."""
    header = ["rankdir=TB; nodesep=0.3; ranksep=0.45",
              f'graph [fontname={quote(FONT)} fontsize=12 labeljust=l id="workflow"]',
              f"node [fontname={quote(FONT)} fontsize=11 penwidth=1.3]",
              f"edge [fontname={quote(FONT)} fontsize=9 arrowsize=0.7]"]
    node_line: dict[str, str] = {}
    for node in graph.nodes.values():
        taken = node.id in taken_nodes
        style = _STATE_STYLE.get(node.kind, _STATE_DEFAULT)
        classes = f"state state_{node.kind.lower()}" + (" taken" if taken else "")
        attributes = [style, f"id={quote('state_' + safe_id(node.id))}",
                      f"class={quote(classes)}"]
        if node.kind not in ("Start", "End"):
            label = f"<B>{html.escape(node.label)}</B>"
            if node.detail:
                label += (f'<BR/><FONT POINT-SIZE="8" COLOR="#545B64">'
                          f"{html.escape(node.detail)}</FONT>")
            attributes.append(f"label=<{label}>")
        attributes.append(f"tooltip={quote(node.kind + ': ' + node.label)}")
        if taken:
            attributes.append(TAKEN_STYLE)
        node_line[node.id] = f"{quote(node.id)} [{' '.join(attributes)}]"
    edges = [_edge_line(i, e, (e.source, e.target) in taken_edges)
             for i, e in enumerate(graph.edges)]
    return _document(graph, header, node_line, edges)
