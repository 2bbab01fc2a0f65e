"""The run report: ``aws.report("run.html")``, a pipeline run you can look at.

One self-contained HTML file (inline CSS, SVG and a few lines of script; nothing fetched):

- the timeline of what each service did, from the harness's journal: objects stored,
  events put and routed, functions invoked with their result or error, messages queued,
  published and dead-lettered, items written; each Step Functions execution's states,
  retries, catches and outcome nested under the entry that started it;
- each workflow's graph (:mod:`analytics_orchestration.diagrams`) once per execution, the
  states and transitions the execution took drawn thick and marked ``data-taken="true"``;
- the final state: every table's items, every queue's messages (dead-letter queues
  flagged), every bucket's keys.

Elements carry ``data-`` attributes (``data-service``, ``data-action``, ``data-failed``,
``data-execution``, ``data-status``, ``data-taken``) so that tests and browsers can find them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics_orchestration.diagrams import (
    EdgeKind,
    Graph,
    RendererUnavailableError,
    StackTemplate,
    architecture_graph,
    definition_of,
    dot_to_svg,
    inline_svg,
    workflow_dot,
    workflow_graph,
)
from analytics_orchestration.diagrams.workflow import END, START
from analytics_orchestration.testing.core.journal import JournalEntry, summary

# The harness (``OfflineAws``) and its ``Execution`` are read through their public attributes
# only and typed ``Any`` here: the facade imports this module, never the other way round.
OfflineAws = Any
Execution = Any

#: At most this many rows of a table, messages of a queue or keys of a bucket are shown.
SHOWN = 50
#: At most this many executions get their own graph (the timeline lists them all).
GRAPHED_EXECUTIONS = 30


@dataclass(frozen=True)
class Step:
    """One thing an execution did: a state entered, a task failure, a retry, a catch."""

    kind: str
    """``state entered``, ``task failed``, ``retry``, ``catch``, ``execution succeeded``..."""
    state: str
    detail: str = ""
    failed: bool = False


@dataclass
class ExecutionView:
    """An execution with what the report shows of it."""

    execution: Execution
    machine: str
    """The state machine's construct path or name."""
    steps: list[Step]
    graph: Graph | None = None
    taken_nodes: set[str] = field(default_factory=set)
    taken_edges: set[tuple[str, str]] = field(default_factory=set)
    svg: str = ""


def execution_steps(history: Sequence[Mapping[str, Any]]) -> list[Step]:
    """The steps of an execution read from its history (Step Functions' event types).

    A retry is a task scheduled again in the state whose task just failed; a catch is the
    next state entered after a failure no retry took up (moto exits the failed state first,
    so an exit does not clear the failure).
    """
    steps: list[Step] = []
    current = ""
    failure: tuple[str, str] | None = None  # (state, error) not yet retried
    for event in history:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            name = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            if failure is not None:
                steps.append(Step("catch", name, f"{failure[1]} caught in {failure[0]}"))
            failure = None
            current = name
            steps.append(Step("state entered", name, kind.removesuffix("StateEntered")))
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            details = _details(event)
            text = " ".join(str(details.get(k, "")) for k in ("error", "cause")).strip()
            steps.append(Step(f"execution {kind.removeprefix('Execution').lower()}",
                              current, text[:300], failed=kind != "ExecutionSucceeded"))
        elif kind.endswith("Failed") or kind.endswith("TimedOut"):
            details = _details(event)
            error = str(details.get("error") or kind)
            failure = (current, error)
            steps.append(Step("task failed", current,
                              f"{error}: {str(details.get('cause', ''))[:300]}", failed=True))
        elif kind.endswith("Scheduled") and failure is not None and failure[0] == current:
            steps.append(Step("retry", current, f"after {failure[1]}"))
            failure = None
    return steps


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def taken_path(graph: Graph, steps: Sequence[Step], succeeded: bool
               ) -> tuple[set[str], set[tuple[str, str]]]:
    """The node ids and edges of ``graph`` an execution went through."""
    by_label: dict[str, str] = {}
    for node in graph.nodes.values():
        by_label.setdefault(node.label, node.id)
    entered = [by_label[s.state] for s in steps if s.kind == "state entered"
               and s.state in by_label]
    nodes = set(entered)
    edges: set[tuple[str, str]] = set()
    if entered:
        nodes.add(START)
        edges.add((START, entered[0]))
    catches = {(by_label.get(s.detail.rsplit(" in ", 1)[-1], ""), by_label.get(s.state, ""))
               for s in steps if s.kind == "catch"}
    first_seen = {node: entered.index(node) for node in nodes if node in entered}
    last_seen = {node: len(entered) - 1 - entered[::-1].index(node) for node in first_seen}
    for edge in graph.edges:
        pair = (edge.source, edge.target)
        if edge.kind is EdgeKind.FAILURE:
            if pair in catches:
                edges.add(pair)
        elif edge.kind is EdgeKind.DATA and edge.source in first_seen \
                and edge.target in first_seen \
                and first_seen[edge.source] < last_seen[edge.target]:
            edges.add(pair)
    if succeeded and END in graph.nodes and entered:
        nodes.add(END)
        edges.update((e.source, END) for e in graph.edges
                     if e.target == END and e.source in nodes)
    return nodes, edges


class _Model:
    """Everything the report shows, read from the harness."""

    def __init__(self, aws: OfflineAws) -> None:
        self.entries = aws.journal
        resources = aws.resources
        self.machines: dict[str, Any] = {
            r.arn: r for r in resources
            if r.resource_type == "AWS::StepFunctions::StateMachine" and r.arn}
        self.templates: dict[tuple[str, str], Mapping[str, Any]] = {
            (source.stack_name, logical_id): resource.get("Properties", {})
            for source in aws.deployed_stacks for logical_id, resource in source.resources.items()}
        self.names = _construct_names(resources)
        self.executions = [self._view(e) for e in aws.executions()]
        self.dead_letter_queues = self._dead_letter_queues(aws)
        self.tables = [(self.names.get(r.physical_id, r.logical_id), r.physical_id,
                        aws.table_items(r.physical_id))
                       for r in resources if r.resource_type == "AWS::DynamoDB::Table"]
        self.queues = []
        for r in resources:
            if r.resource_type == "AWS::SQS::Queue":
                name = r.physical_id.rsplit("/", 1)[-1]
                self.queues.append((self.names.get(r.physical_id, r.logical_id), name,
                                    aws.queue_messages(r.physical_id, include_in_flight=True)))
        self.buckets = [(self.names.get(r.physical_id, r.logical_id), r.physical_id,
                         aws.list_objects(r.physical_id))
                        for r in resources if r.resource_type == "AWS::S3::Bucket"]
        self.stacks = [s.stack_name for s in aws.deployed_stacks]

    def _view(self, execution: Execution) -> ExecutionView:
        resource = self.machines.get(execution.state_machine_arn)
        machine = self.names.get(execution.state_machine_arn) or (
            resource.logical_id if resource else execution.state_machine_arn.rsplit(":", 1)[-1])
        steps = execution_steps(execution.history())
        view = ExecutionView(execution=execution, machine=str(machine), steps=steps)
        if resource is not None:
            properties = resource.properties or self.templates.get(
                (resource.stack_name, resource.logical_id), {})
            try:
                definition = definition_of(properties)
            except (ValueError, KeyError):  # a definition in S3: drawn without its graph
                return view
            view.graph = workflow_graph(definition, name=resource.logical_id)
            view.taken_nodes, view.taken_edges = taken_path(
                view.graph, steps, execution.status == "SUCCEEDED")
        return view

    @staticmethod
    def _dead_letter_queues(aws: OfflineAws) -> set[str]:
        """Queue names at the end of a failure path (redrive, DLQ, on-failure destination)."""
        physical = {(r.stack_name, r.logical_id): r.physical_id for r in aws.resources}
        names: set[str] = set()
        for source in aws.deployed_stacks:
            graph = architecture_graph(StackTemplate(
                name=source.stack_name, template=source.template,
                paths={k: v.split("/", 1)[-1] for k, v in source.paths.items()}))
            for edge in graph.edges:
                node = graph.nodes[edge.target]
                if edge.kind is EdgeKind.FAILURE and node.kind == "AWS::SQS::Queue":
                    queue = physical.get((source.stack_name, edge.target), "")
                    names.add(queue.rsplit("/", 1)[-1])
        return names


def _construct_names(resources: Iterable[Any]) -> dict[str, str]:
    """Physical name (and ARN, URL, name at their end) -> the construct path, for reading."""
    names: dict[str, str] = {}
    for resource in resources:
        if not resource.path:
            continue
        path = resource.path.removeprefix(f"{resource.stack_name}/").removesuffix("/Resource")
        for ref in (resource.physical_id, resource.arn):
            if ref:
                names.setdefault(ref, path)
                for separator in ("/", ":", "|"):
                    names.setdefault(ref.rsplit(separator, 1)[-1], path)
    return names


def write_report(aws: OfflineAws, path: Path, *, title: str = "Offline run") -> Path:
    """Write the report of ``aws``'s run so far to ``path`` (see the module's docs)."""
    model = _Model(aws)
    graphed = [v for v in model.executions if v.graph is not None][:GRAPHED_EXECUTIONS]
    note = ""
    try:
        svgs = dot_to_svg([workflow_dot(v.graph, taken_nodes=v.taken_nodes,
                                        taken_edges=v.taken_edges)
                           for v in graphed if v.graph is not None]) if graphed else []
        for view, svg in zip(graphed, svgs, strict=True):
            view.svg = inline_svg(svg)
    except RendererUnavailableError as error:
        note = f"Workflow graphs not drawn: {error}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_html(model, title, note), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- HTML

def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_CSS = """
:root { --ink:#16191f; --muted:#5f6b7a; --line:#d1d5db; --bad:#d13212; --ok:#1d8102;
        --taken:#0972d3; --bg:#f8f8f8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0; background: var(--bg); }
header { background: #232f3e; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: #d5dbdb; }
main { padding: 16px 24px 48px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 12px 16px; margin: 16px 0; }
h2 { font-size: 17px; margin: 4px 0 12px; }
h3 { font-size: 15px; margin: 12px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eceff1;
         vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num { text-align: right; color: var(--muted); white-space: nowrap; }
code, .payload { font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
.payload { color: var(--muted); word-break: break-all; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;
         background: #eef1f4; color: #232f3e; white-space: nowrap; }
.svc-s3 { background:#e9f5da; } .svc-sqs, .svc-sns, .svc-events, .svc-stepfunctions
{ background:#fde8f1; } .svc-lambda { background:#fff1e0; } .svc-dynamodb { background:#f6e6fa; }
tr[data-failed="true"] td { color: var(--bad); }
tr.step td { background: #fafbfc; font-size: 13px; }
tr.step td.action { padding-left: 28px; }
.status-SUCCEEDED { color: var(--ok); font-weight: 600; }
.status-FAILED, .status-TIMED_OUT, .status-ABORTED { color: var(--bad); font-weight: 600; }
.dlq { color: var(--bad); font-weight: 600; }
.graph { overflow-x: auto; border: 1px solid #eceff1; border-radius: 6px; padding: 8px;
         margin: 8px 0; background: #fff; }
.graph svg { max-width: 100%; height: auto; }
.filters label { margin-right: 12px; white-space: nowrap; }
.summary span { margin-right: 18px; }
.legend { color: var(--muted); font-size: 13px; }
.legend b { color: var(--taken); }
"""

_JS = """
(function () {
  var boxes = document.querySelectorAll('.filters input[data-filter-service]');
  var failedOnly = document.getElementById('failed-only');
  function apply() {
    var shown = {};
    for (var i = 0; i < boxes.length; i++) {
      shown[boxes[i].getAttribute('data-filter-service')] = boxes[i].checked;
    }
    var rows = document.querySelectorAll('#timeline tbody tr');
    for (var j = 0; j < rows.length; j++) {
      var row = rows[j];
      var service = row.getAttribute('data-service');
      var visible = shown[service] !== false;
      if (failedOnly && failedOnly.checked && row.getAttribute('data-failed') !== 'true') {
        visible = false;
      }
      row.style.display = visible ? '' : 'none';
    }
  }
  for (var k = 0; k < boxes.length; k++) { boxes[k].addEventListener('change', apply); }
  if (failedOnly) { failedOnly.addEventListener('change', apply); }
})();
"""


def _html(model: _Model, title: str, note: str) -> str:
    failed = sum(1 for e in model.entries if e.failed)
    statuses: dict[str, int] = {}
    for view in model.executions:
        statuses[view.execution.status] = statuses.get(view.execution.status, 0) + 1
    services = sorted({e.service for e in model.entries} | (
        {"stepfunctions"} if model.executions else set()))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>Offline run of {_e(', '.join(model.stacks) or 'no stack')}"
        " on the analytics-orchestration harness</p></header><main>",
        '<section id="summary" class="summary"><h2>Summary</h2>',
        f'<span data-count="entries">{len(model.entries)} journal entries</span>',
        f'<span data-count="failed">{failed} failures</span>',
        f'<span data-count="executions">{len(model.executions)} executions'
        + (" (" + ", ".join(f"{n} {s.lower()}" for s, n in sorted(statuses.items())) + ")"
           if statuses else "") + "</span>",
        f'<span data-count="dead-lettered">{_dead_lettered(model)} messages in dead-letter '
        "queues</span></section>",
        _timeline(model, services),
        _workflows(model, note),
        _final_state(model),
        f"</main><script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _dead_lettered(model: _Model) -> int:
    return sum(len(messages) for _, name, messages in model.queues
               if name in model.dead_letter_queues)


def _named(names: Mapping[str, str], ref: str | None, default: str) -> str:
    """A resource or actor as its construct path, the physical name as its tooltip."""
    if not ref:
        return _e(default)
    path = names.get(ref)
    return f'<span title="{_e(ref)}">{_e(path)}</span>' if path else _e(ref)


def _row(entry: JournalEntry, dead_letter_queues: set[str], names: Mapping[str, str]) -> str:
    action = entry.action
    if action == "message queued" and entry.resource in dead_letter_queues:
        action = "dead-lettered"
    failed = entry.failed or action == "dead-lettered"
    payload = " ".join(f"{k}={v}" for k, v in entry.data.items()
                       if k in ("body", "message", "result", "item", "input"))
    return (f'<tr data-seq="{entry.seq}" data-service="{_e(entry.service)}" '
            f'data-action="{_e(action)}" data-resource="{_e(entry.resource)}" '
            f'data-path="{_e(names.get(entry.resource, ""))}" '
            f'data-failed="{str(failed).lower()}">'
            f'<td class="num">{entry.seq}</td><td class="num">{entry.at:.1f}s</td>'
            f'<td><span class="badge svc-{_e(entry.service)}">{_e(entry.service)}</span></td>'
            f'<td class="action">{_e(action)}</td>'
            f'<td><code>{_named(names, entry.resource, "")}</code></td>'
            f'<td>{_e(entry.detail)}<div class="payload">{_e(payload)}</div></td>'
            f'<td>{_named(names, entry.actor, "test or harness")}</td></tr>')


def _timeline(model: _Model, services: Iterable[str]) -> str:
    starts: dict[str, list[ExecutionView]] = {}
    for view in model.executions:
        starts.setdefault(view.execution.state_machine_arn, []).append(view)
    rows: list[str] = []
    placed: set[str] = set()
    for entry in model.entries:
        rows.append(_row(entry, model.dead_letter_queues, model.names))
        if entry.action == "execution started":
            pending = starts.get(str(entry.data.get("state_machine_arn", "")), [])
            if pending:
                view = pending.pop(0)
                placed.add(view.execution.arn)
                rows.extend(_step_rows(view))
    for view in model.executions:  # started some other way (a nested execution)
        if view.execution.arn not in placed:
            rows.extend(_step_rows(view))
    filters = "".join(
        f'<label><input type="checkbox" checked data-filter-service="{_e(s)}"> {_e(s)}</label>'
        for s in services)
    return ('<section id="timeline-section"><h2>Timeline</h2>'
            f'<p class="filters">{filters}<label><input type="checkbox" id="failed-only"> '
            "failures only</label></p>"
            '<table id="timeline"><thead><tr><th>#</th><th>time</th><th>service</th>'
            "<th>what</th><th>resource</th><th>detail</th><th>by</th></tr></thead><tbody>"
            + "\n".join(rows) + "</tbody></table></section>")


def _step_rows(view: ExecutionView) -> list[str]:
    rows = []
    for index, step in enumerate(view.steps):
        rows.append(
            f'<tr class="step" data-service="stepfunctions" data-action="{_e(step.kind)}" '
            f'data-execution="{_e(view.execution.name)}" data-state="{_e(step.state)}" '
            f'data-failed="{str(step.failed).lower()}"><td class="num"></td>'
            f'<td class="num">{index + 1}</td>'
            '<td><span class="badge svc-stepfunctions">stepfunctions</span></td>'
            f'<td class="action">{_e(step.kind)}</td><td><code>{_e(step.state)}</code></td>'
            f"<td>{_e(step.detail)}</td><td>{_e(view.execution.name)}</td></tr>")
    return rows


def _workflows(model: _Model, note: str) -> str:
    parts = ['<section id="workflows"><h2>Workflows</h2>',
             '<p class="legend">Each execution\'s path is drawn <b>thick and blue</b>; '
             "dashed red edges are catches, dashed orange loops retries.</p>"]
    if note:
        parts.append(f"<p>{_e(note)}</p>")
    if not model.executions:
        parts.append("<p>No Step Functions execution ran.</p>")
    for view in model.executions:
        execution = view.execution
        entered = [s.state for s in view.steps if s.kind == "state entered"]
        path = " → ".join(entered)
        parts.append(
            f'<article class="execution" data-execution="{_e(execution.name)}" '
            f'data-status="{_e(execution.status)}" data-machine="{_e(view.machine)}">'
            f"<h3>{_e(view.machine)} · <code>{_e(execution.name)}</code> · "
            f'<span class="status-{_e(execution.status)}">{_e(execution.status)}</span></h3>'
            f'<p class="path" data-path="{_e(json.dumps(entered))}">'
            f"{_e(path)}</p>"
            + (f"<p>{_e(execution.error or '')} {_e(summary(execution.cause or '', 300))}</p>"
               if execution.error else "")
            + (f'<div class="graph">{view.svg}</div>' if view.svg else "")
            + "</article>")
    parts.append("</section>")
    return "\n".join(parts)


def _final_state(model: _Model) -> str:
    parts = ['<section id="final-state"><h2>Final state</h2>', "<h3>Tables</h3>"]
    for path, name, items in model.tables:
        columns = sorted({k for item in items for k in item})
        parts.append(f'<div class="table" data-table="{_e(path)}" data-items="{len(items)}">'
                     f"<p><b>{_e(path)}</b> <code>{_e(name)}</code>: {len(items)} items</p>")
        if items:
            parts.append("<table><thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns)
                         + "</tr></thead><tbody>")
            for item in items[:SHOWN]:
                parts.append("<tr>" + "".join(
                    f'<td class="payload">{_e(summary(item.get(c, ""), 160))}</td>'
                    for c in columns) + "</tr>")
            parts.append("</tbody></table>")
        parts.append("</div>")
    parts.append("<h3>Queues</h3><table><thead><tr><th>queue</th><th>messages</th>"
                 "<th>first messages</th></tr></thead><tbody>")
    for path, name, messages in model.queues:
        dlq = name in model.dead_letter_queues
        bodies = "<br>".join(_e(summary(m.body, 200)) for m in messages[:3])
        parts.append(f'<tr data-queue="{_e(path)}" data-messages="{len(messages)}" '
                     f'data-dead-letter="{str(dlq).lower()}"><td><b>{_e(path)}</b>'
                     + (' <span class="dlq">dead-letter queue</span>' if dlq else "")
                     + f'</td><td class="num">{len(messages)}</td>'
                     f'<td class="payload">{bodies}</td></tr>')
    parts.append("</tbody></table><h3>Buckets</h3><table><thead><tr><th>bucket</th>"
                 "<th>objects</th><th>keys</th></tr></thead><tbody>")
    for path, _, keys in model.buckets:
        parts.append(f'<tr data-bucket="{_e(path)}" data-objects="{len(keys)}"><td>'
                     f'<b>{_e(path)}</b></td><td class="num">{len(keys)}</td>'
                     f'<td class="payload">{"<br>".join(_e(k) for k in keys[:SHOWN])}</td></tr>')
    parts.append("</tbody></table></section>")
    return "\n".join(parts)
