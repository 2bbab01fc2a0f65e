"""Diagrams of every example stack: the data flow extracted, the workflows, the images.

The graphs are computed from the session's synthesized example app (the ``cloud_assembly``
fixture), so each expected edge below is a fact of the deployed template (named by
construct path), and a change that breaks a wiring breaks the diagram's test too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from analytics_orchestration.diagrams import (
    PNG_SIGNATURE,
    EdgeKind,
    Graph,
    StackTemplate,
    architecture_graph,
    load,
    render_stack,
    workflow_graph,
    workflow_graphs,
)
from analytics_orchestration.diagrams.__main__ import main
from analytics_orchestration.diagrams.architecture import DEFAULT_BUS
from analytics_orchestration.diagrams.workflow import END, START, definition_of

STACKS = ["AnalyticsIngestion", "AnalyticsEventRouting", "AnalyticsJobQueue",
          "AnalyticsServerless", "AnalyticsGlueEtl", "AnalyticsMlWorkflow",
          "AnalyticsBatchProcessing", "AnalyticsAirflow", "AnalyticsStreaming",
          "AnalyticsZeroEtl"]

D, F = EdgeKind.DATA, EdgeKind.FAILURE
#: Per stack, edges that must be drawn: (source path, target path, kind). A path is the
#: construct path under the stack (``/Resource`` implied), or DEFAULT_BUS.
EXPECTED: dict[str, list[tuple[str, str, EdgeKind]]] = {
    "AnalyticsIngestion": [
        ("Ingestion/LandingBucket", "Ingestion/ObjectCreatedRule", D),
        ("Ingestion/ObjectCreatedRule", "Ingestion/Validator", D),
        ("Ingestion/Validator", "Ingestion/Ledger", D),
        ("Ingestion/Validator", DEFAULT_BUS, D),
        (DEFAULT_BUS, "Ingestion/ObjectAcceptedRule", D),
        ("Ingestion/ObjectAcceptedRule", "LoaderQueue", D),
        ("Ingestion/ObjectAcceptedRule", "ExtractDispatch", D),
        ("Ingestion/FanOutTopic", "SalesTeamQueue", D),
        ("Ingestion/FanOutTopic", "AuditQueue", D),
        ("PartnerNotifications/Topic", "PartnerGatewayQueue", D),
        ("LoaderQueue", "LoaderQueueDeadLetterQueue", F),
        ("Ingestion/Validator", "Ingestion/ValidatorFailureQueue", F),
    ],
    "AnalyticsEventRouting": [
        ("Notifications/Topic", "OnCallQueue", D),
        ("Notifications/Topic", "IncidentRecorder", D),
        ("Notifications/Topic", "Notifications/ArchiveStream", D),
        ("Notifications/ArchiveStream", "Notifications/ArchiveBucket", D),
        ("Notifications/Workflow0Queue", "Notifications/Workflow0Pipe", D),
        ("Notifications/Workflow0Pipe", "Notifications/Workflow0Pipe/Enrichment", D),
        ("Notifications/Workflow0Pipe", "RemediationWorkflow", D),
    ],
    "AnalyticsJobQueue": [
        ("ReportJobs/Api", "ReportJobs/Queue", D),
        ("ReportJobs/Queue", "ReportJobs/Worker", D),
        ("ReportJobs/Worker", "ReportJobs/JobTable", D),
        ("ReportJobs/Worker", "JobEvents", D),
    ],
    "AnalyticsServerless": [
        ("Platform/Catalog/RawCrawler", "Platform/RawBucket", D),
        ("Platform/Catalog/CurationJob", "Platform/CuratedBucket", D),
        ("Platform/Athena/Workgroup", "Platform/AnalyticsBucket", D),
    ],
    "AnalyticsGlueEtl": [
        ("Ingestion/LandingBucket", "Ingestion/ObjectCreatedRule", D),
        ("SalesEtl/Trigger0", "SalesEtl/StateMachine", D),
        ("SalesEtl/StateMachine", "SalesEtl/Ledger", D),
        ("SalesEtl/StateMachine", "CurateSales", D),
    ],
    "AnalyticsMlWorkflow": [
        ("ChurnModel/Trigger0", "ChurnModel/StateMachine", D),
        ("ChurnModel/StateMachine", "ChurnModel/Ledger", D),
        ("ChurnModel/StateMachine", "ModelData", D),
    ],
    "AnalyticsBatchProcessing": [
        ("NightlyReadings/Trigger0", "NightlyReadings/StateMachine", D),
        ("NightlyReadings/StateMachine", "NightlyReadings/PartitionBySensorFunction", D),
        ("NightlyReadings/StateMachine", "Jobs", D),
        ("QualityScan/StateMachine", "ReadingsQuality", D),
    ],
    "AnalyticsAirflow": [
        ("Airflow", "EtlWorkflow", D),
        ("Platform/Catalog/RawCrawler", "Platform/RawBucket", D),
    ],
    "AnalyticsStreaming": [
        ("Clickstream/Resource", "PageCounts/Function", D),
        ("PageCounts/Function", "PageCounts/AggregateTable", D),
        ("Clickstream/Resource", "SessionAlertsPipe", D),
        ("SessionAlertsPipe", "AlertWorkflow", D),
        ("AlertWorkflow", "SessionAlerts/Topic", D),
        ("Profiles/Resource", "ProfileChanges/Function", D),
        ("RawEvents/Stream", "DataLake/RawBucket", D),
    ],
    "AnalyticsZeroEtl": [
        ("Carts/Resource", "Warehouse/Redshift/Namespace", D),
        ("OrdersDatabase/Cluster", "Warehouse/Redshift/Namespace", D),
        ("PartnerLanding", "Warehouse/Redshift/Namespace", D),
        ("PartnerMerge/StateMachine", "Warehouse/Redshift/Workgroup", D),
    ],
}


@pytest.fixture(scope="module")
def stacks(cloud_assembly: Any) -> dict[str, StackTemplate]:
    return {stack.name: stack for stack in load(cloud_assembly)}


@pytest.fixture(scope="module")
def graphs(stacks: dict[str, StackTemplate]) -> dict[str, Graph]:
    return {name: architecture_graph(stack) for name, stack in stacks.items()}


def node_at(stack: StackTemplate, graph: Graph, path: str) -> str:
    """The node drawn for the construct at ``path``."""
    if path == DEFAULT_BUS:
        return DEFAULT_BUS
    matches = [lid for lid in graph.nodes
               if stack.path(lid) in (path, f"{path}/Resource", f"{path}/Resource/Resource")]
    assert len(matches) == 1, f"{path}: {matches} among {sorted(map(stack.path, graph.nodes))}"
    return matches[0]


def test_every_example_stack_is_drawn(stacks: dict[str, StackTemplate]) -> None:
    assert sorted(stacks) == sorted(STACKS) == sorted(EXPECTED)


@pytest.mark.parametrize("name", STACKS)
def test_the_expected_data_flow_is_drawn(name: str, stacks: dict[str, StackTemplate],
                                         graphs: dict[str, Graph]) -> None:
    stack, graph = stacks[name], graphs[name]
    missing = [(source, target, kind.value) for source, target, kind in EXPECTED[name]
               if not graph.has_edge(node_at(stack, graph, source),
                                     node_at(stack, graph, target), kind)]
    assert not missing


@pytest.mark.parametrize("name", STACKS)
def test_no_edge_dangles_and_no_plumbing_is_a_node(name: str, stacks: dict[str, StackTemplate],
                                                   graphs: dict[str, Graph]) -> None:
    graph = graphs[name]
    assert graph.nodes and graph.edges
    assert graph.dangling_edges() == []
    kinds = {node.kind for node in graph.nodes.values()}
    assert not kinds & {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::KMS::Key",
                        "AWS::Logs::LogGroup", "AWS::CloudWatch::Alarm"}
    # Custom-resource providers and their waiters are the CDK's, not the app's.
    assert not [lid for lid in graph.nodes if "framework-" in stacks[name].path(lid)]
    # Every node sits in the cluster of the construct under the stack that created it.
    for logical_id, node in graph.nodes.items():
        if logical_id == DEFAULT_BUS:
            continue
        parts = stacks[name].path(logical_id).split("/")
        while len(parts) > 1 and parts[-1] in ("Resource", "Default"):
            parts.pop()
        # (a construct's own resource, ``Pipe/Resource``, joins its children's cluster)
        assert node.cluster == (parts[0] if len(parts) > 1 or parts[0] in graph.clusters
                                else None)


def test_dead_letter_queues_and_alarms_are_secondary_paths(
        stacks: dict[str, StackTemplate], graphs: dict[str, Graph]) -> None:
    stack, graph = stacks["AnalyticsIngestion"], graphs["AnalyticsIngestion"]
    validator = node_at(stack, graph, "Ingestion/Validator")
    failure_queue = node_at(stack, graph, "Ingestion/ValidatorFailureQueue")
    # Drawn once, as a failure path (the role's SendMessage on it is not a second edge).
    assert [e.kind for e in graph.edges if (e.source, e.target) == (validator, failure_queue)
            ] == [EdgeKind.FAILURE]
    alarms = node_at(stack, graph, "OperationsAlarms")
    assert graph.has_edge(validator, alarms, EdgeKind.ALARM)
    assert all(e.kind is EdgeKind.ALARM for e in graph.edges if e.target == alarms)


@pytest.mark.parametrize("name", STACKS)
def test_every_state_machine_has_its_states_and_catches(name: str,
                                                        stacks: dict[str, StackTemplate]) -> None:
    stack = stacks[name]
    for logical_id, graph in workflow_graphs(stack).items():
        definition = definition_of(stack.resources[logical_id]["Properties"])
        states = _all_states(definition)
        assert {n.label for n in graph.nodes.values() if n.id not in (START, END)} == set(states)
        assert graph.dangling_edges() == []
        assert graph.successors(START)
        catches = [(state, catch["Next"]) for state, body in states.items()
                   for catch in body.get("Catch", [])]
        failure_edges = {(graph.nodes[e.source].label, graph.nodes[e.target].label)
                         for e in graph.edges if e.kind is EdgeKind.FAILURE}
        assert set(catches) == failure_edges
        retried = {state for state, body in states.items() if body.get("Retry")}
        assert retried == {graph.nodes[e.source].label for e in graph.edges
                           if e.kind is EdgeKind.RETRY}


def _all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition.get("States", {}).items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_all_states(branch))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.update(_all_states(processor))
    return found


def test_parallel_branches_and_map_processors_are_sub_clusters() -> None:
    definition = {
        "StartAt": "Fan", "States": {
            "Fan": {"Type": "Parallel", "Next": "Each", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]},
            "Each": {"Type": "Map", "End": True, "ItemProcessor": {
                "StartAt": "Work", "States": {"Work": {
                    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
                    "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"],
                               "MaxAttempts": 4}]}}}},
            "Failed": {"Type": "Fail"}}}
    graph = workflow_graph(definition)
    assert {c.label for c in graph.clusters.values()} == {
        "Fan: branch 1", "Fan: branch 2", "Each: each item"}
    a, b, work = "Fan#branch1/A", "Fan#branch2/B", "Each#items/Work"
    assert graph.nodes[a].cluster == "Fan#branch1"
    assert graph.has_edge("Fan", a) and graph.has_edge("Fan", b)
    assert graph.has_edge(a, "Each") and graph.has_edge(b, "Each")  # the branches join
    assert graph.has_edge("Each", work) and graph.has_edge(work, END)
    assert graph.has_edge("Fan", "Failed", EdgeKind.FAILURE)
    [retry] = [e for e in graph.edges if e.kind is EdgeKind.RETRY]
    assert (retry.source, retry.target) == (work, work) and "x4" in retry.label


def test_a_definition_with_tokens_and_substitutions_parses() -> None:
    properties = {
        "DefinitionString": {"Fn::Join": ["", [
            '{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"',
            {"Fn::GetAtt": ["Worker1234ABCD", "Arn"]},
            '","Next":"Put"},"Put":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage",'
            '"Parameters":{"QueueUrl":"${Queue}"},"End":true}}}']]},
        "DefinitionSubstitutions": {"Queue": {"Ref": "Jobs5678EFAB"}},
    }
    definition = definition_of(properties)
    assert definition["States"]["Call"]["Resource"] == "<Worker1234ABCD>"
    graph = workflow_graph(definition)
    assert graph.nodes["Put"].detail == "sqs:sendMessage <Jobs5678EFAB>"
    assert graph.nodes["Call"].detail == "lambda <Worker1234ABCD>"


def test_the_cli_renders_svg_and_png_for_a_template(tmp_path: Path, cloud_assembly: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    template = Path(cloud_assembly.directory) / "AnalyticsIngestion.template.json"
    assert main([str(template), "--out", str(tmp_path), "--format", "svg",
                 "--format", "png"]) == 0
    stack = load(template)[0]
    [machine] = workflow_graphs(stack)
    expected = {f"AnalyticsIngestion.{ext}" for ext in ("svg", "png")} | {
        f"AnalyticsIngestion.{machine}.{ext}" for ext in ("svg", "png")}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert sorted(capsys.readouterr().out.split()) == sorted(str(tmp_path / n) for n in expected)
    svg = ET.parse(tmp_path / "AnalyticsIngestion.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    titles = {el.text for el in svg.iter("{http://www.w3.org/2000/svg}title")}
    graph = architecture_graph(stack)
    assert set(graph.nodes) <= titles  # every node is in the picture
    text = (tmp_path / "AnalyticsIngestion.svg").read_text()
    assert "icon:" not in text and "data:image/png;base64," in text  # icons embedded
    assert "http://" not in text.replace("http://www.w3.org/", "")  # nothing fetched
    for png in tmp_path.glob("*.png"):
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_render_stack_draws_every_stack_of_a_cloud_assembly(tmp_path: Path,
                                                            cloud_assembly: Any) -> None:
    written = render_stack(cloud_assembly, tmp_path)
    names = {p.name for p in written}
    assert {f"{name}.svg" for name in STACKS} <= names
    assert "AnalyticsMlWorkflow.ChurnModelStateMachine6EEAFDA4.svg" in names
    assert not [n for n in names if "waiter" in n]  # the CDK's provider state machines
    for path in written:
        ET.parse(path)  # well-formed XML


def test_the_cli_refuses_what_is_not_a_template(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "not a cdk.out" in capsys.readouterr().err
    with pytest.raises(ValueError, match="formats"):
        render_stack({"Resources": {}}, tmp_path, formats=("gif",))
