"""The workflow graph of a state machine, from its Amazon States Language definition.

The CDK writes a definition as a ``DefinitionString`` that is often an ``Fn::Join`` of JSON
text and tokens (a function's ARN, a queue's URL), sometimes with ``DefinitionSubstitutions``.
:func:`definition_of` rebuilds the JSON with each token replaced by ``<LogicalId>`` (enough
to parse the ASL and to say which resource a task calls), and :func:`workflow_graph` draws
the states: transitions, Choice rules, ``Retry`` (a self loop naming the errors and
attempts), ``Catch`` (dashed, to the failure path), ``Parallel`` branches and ``Map`` item
processors as sub-clusters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from analytics_orchestration.diagrams.model import Cluster, Edge, EdgeKind, Graph, Node

START = "__start__"
END = "__end__"
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")


def token_text(value: Any) -> str:
    """The text standing for a template value inside a definition: ``<LogicalId>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
            return f"<{target}>"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            return str(arg[0]).join(token_text(part) for part in arg[1])
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) else arg
            return re.sub(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}",
                          lambda m: f"<{m.group(1)}>", str(text))
    return "<token>"


def definition_of(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed ASL of an ``AWS::StepFunctions::StateMachine``'s properties."""
    definition = properties.get("Definition")
    if isinstance(definition, Mapping):
        text = json.dumps(definition)
    else:
        raw = properties.get("DefinitionString")
        if raw is None:
            raise ValueError("the state machine has neither Definition nor DefinitionString")
        text = _join_json(raw)
    substitutions = {name: token_text(value) for name, value in
                     (properties.get("DefinitionSubstitutions") or {}).items()}
    if substitutions:
        text = _SUBSTITUTION.sub(
            lambda m: json.dumps(substitutions[m.group(1)])[1:-1]
            if m.group(1) in substitutions else m.group(0), text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict) or "States" not in parsed:
        raise ValueError("the definition has no States")
    return parsed


def _join_json(value: Any) -> str:
    """A ``DefinitionString`` as JSON text, tokens written as JSON-safe ``<LogicalId>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(
            part if isinstance(part, str) else json.dumps(token_text(part))[1:-1]
            for part in parts)
    return token_text(value)


def state_machines(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> parsed definition, for every state machine of a template."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            found[logical_id] = definition_of(resource.get("Properties", {}))
    return found


def node_id(scope: str, state: str) -> str:
    """The node id of ``state`` in ``scope`` (``""`` for the top level)."""
    return f"{scope}/{state}" if scope else state


def _task_detail(state: Mapping[str, Any]) -> str:
    resource = str(state.get("Resource", ""))
    integration = resource.removeprefix("arn:aws:states:::")
    arguments = state.get("Parameters") or state.get("Arguments") or {}
    target = ""
    if isinstance(arguments, Mapping):
        for key in ("FunctionName", "FunctionName.$", "QueueUrl", "TopicArn", "TableName",
                    "StateMachineArn", "JobName", "Bucket", "EventBusName"):
            if isinstance(arguments.get(key), str):
                target = arguments[key]
                break
        else:
            entries = arguments.get("Entries")
            if isinstance(entries, list) and entries and isinstance(entries[0], Mapping):
                target = str(entries[0].get("EventBusName", ""))
    if integration.startswith("<") or not integration:
        integration, target = "lambda", integration
    return f"{integration} {target}".strip()


def _retry_label(retry: Mapping[str, Any]) -> str:
    names = list(retry.get("ErrorEquals", []))
    errors = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
    attempts = retry.get("MaxAttempts", 3)
    interval = retry.get("IntervalSeconds", 1)
    backoff = retry.get("BackoffRate", 2.0)
    return f"retry {errors} x{attempts} ({interval}s, x{backoff})"


class _Builder:
    def __init__(self, name: str) -> None:
        self.graph = Graph(name=name)

    def states(self, definition: Mapping[str, Any], scope: str,
               cluster: str | None, entry: str, exits: Iterable[str]) -> None:
        """Draw ``definition``'s states; edge ``entry`` -> StartAt, terminal states -> ``exits``."""
        exits = list(exits)
        states: Mapping[str, Any] = definition.get("States", {})
        for name, state in states.items():
            kind = str(state.get("Type", "Pass"))
            detail = _task_detail(state) if kind == "Task" else ""
            self.graph.add_node(Node(id=node_id(scope, name), label=name, kind=kind,
                                     cluster=cluster, detail=detail))
        start = definition.get("StartAt")
        if isinstance(start, str):
            self.graph.add_edge(Edge(entry, node_id(scope, start)))
        for name, state in states.items():
            self.state(node_id(scope, name), name, state, scope, cluster, exits)

    def state(self, me: str, name: str, state: Mapping[str, Any], scope: str,
              cluster: str | None, exits: list[str]) -> None:
        kind = state.get("Type")
        after = [node_id(scope, state["Next"])] if "Next" in state else (
            exits if state.get("End") or kind == "Succeed" else [])
        if kind == "Choice":
            for rule in state.get("Choices", []):
                self.graph.add_edge(Edge(me, node_id(scope, rule["Next"]),
                                         label=_choice_label(rule)))
            if "Default" in state:
                self.graph.add_edge(Edge(me, node_id(scope, state["Default"]), label="default"))
        elif kind == "Parallel":
            for index, branch in enumerate(state.get("Branches", [])):
                sub = f"{node_id(scope, name)}#branch{index + 1}"
                self.graph.clusters[sub] = Cluster(id=sub, label=f"{name}: branch {index + 1}",
                                                   parent=cluster)
                self.states(branch, sub, sub, me, after)
            after = []
        elif kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            sub = f"{node_id(scope, name)}#items"
            self.graph.clusters[sub] = Cluster(id=sub, label=f"{name}: each item",
                                               parent=cluster)
            self.states(processor, sub, sub, me, after)
            after = []
        for target in after:
            self.graph.add_edge(Edge(me, target))
        for retry in state.get("Retry", []):
            self.graph.add_edge(Edge(me, me, EdgeKind.RETRY, _retry_label(retry)))
        for catch in state.get("Catch", []):
            self.graph.add_edge(Edge(me, node_id(scope, catch["Next"]), EdgeKind.FAILURE,
                                     "catch " + ", ".join(catch.get("ErrorEquals", []))))


def _choice_label(rule: Mapping[str, Any]) -> str:
    if "Condition" in rule:
        return str(rule["Condition"])[:60]
    variable = str(rule.get("Variable", "")).removeprefix("$.")
    for key, value in rule.items():
        if key not in ("Variable", "Next", "Comment", "Assign", "Output"):
            if key in ("And", "Or", "Not"):
                return key.lower() + "(...)"
            operator = re.sub(r"^(String|Numeric|Boolean|Timestamp)", "", key)
            return f"{variable}\n{operator} {json.dumps(value)}"[:80]
    return ""


def workflow_graph(definition: Mapping[str, Any], name: str = "workflow") -> Graph:
    """The graph of one parsed ASL definition (states, transitions, retries, catches)."""
    builder = _Builder(name)
    builder.graph.add_node(Node(id=START, label="start", kind="Start"))
    builder.graph.add_node(Node(id=END, label="end", kind="End"))
    builder.states(definition, "", None, START, [END])
    if not any(e.target == END for e in builder.graph.edges):
        del builder.graph.nodes[END]
    return builder.graph
