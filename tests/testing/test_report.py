"""The run report (``aws.report``): the timeline in order, the taken path, the final state.

The report is parsed back (it is XHTML-like enough for ``html.parser``) and read through the
``data-`` attributes it documents, the way a browser check or a user's script would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.report import Step, execution_steps


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def rows(self, **match: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == "tr" and "data-service" in a
                and all(a.get(f"data-{k}") == v for k, v in match.items())]


def timeline(text: str) -> list[tuple[str, str]]:
    """(action, construct path or state) of every timeline row, in order."""
    return [(a["data-action"], a.get("data-path") or a.get("data-state", ""))
            for a in Elements(text).rows()]


def position(rows: list[tuple[str, str]], action: str, path: str) -> int:
    assert (action, path) in rows, f"{action} {path} not in {rows}"
    return rows.index((action, path))


def taken_states(text: str, execution: str) -> set[str]:
    """The workflow states drawn as taken in the graph of ``execution``."""
    article = re.search(rf'<article class="execution" data-execution="{re.escape(execution)}"'
                        r".*?</article>", text, re.S)
    assert article is not None
    return set(re.findall(r'<g id="state_([^"]+)" class="[^"]*" data-taken="true"',
                          article.group(0)))


def test_an_ingestion_run_is_reported_in_order_with_the_path_taken(
        offline_aws: OfflineAws, example_stack: Any, tmp_path: Path) -> None:
    aws = offline_aws.deploy(example_stack("AnalyticsIngestion"))
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/day.csv", b"id,amount\n1,2\n")
    aws.put_object("Ingestion/LandingBucket", "incoming/sales/empty.csv", b"")

    text = aws.report(tmp_path / "run.html").read_text()

    rows = timeline(text)
    stored = position(rows, "object stored", "Ingestion/LandingBucket")
    routed = position(rows, "event routed", "Ingestion/ObjectCreatedRule")
    validated = position(rows, "function invoked", "Ingestion/Validator")
    ledger = position(rows, "item written", "Ingestion/Ledger")
    accepted = position(rows, "event routed", "Ingestion/ObjectAcceptedRule")
    loader = position(rows, "message queued", "LoaderQueue")
    started = position(rows, "execution started", "ExtractDispatch")
    assert stored < routed < ledger < validated  # the validator's writes precede its return
    assert ledger < accepted < loader
    assert accepted < started
    # The execution's states follow its start, in order.
    assert rows[started + 1:started + 5] == [
        ("state entered", "WhichTeam"), ("state entered", "AssignToSales"),
        ("state entered", "Dispatched"), ("execution succeeded", "Dispatched")]
    # The rejected extract: quarantined (stored under quarantine/, the original deleted).
    assert position(rows, "object deleted", "Ingestion/LandingBucket") > position(
        rows, "function invoked", "Ingestion/Validator")

    [execution] = aws.executions("ExtractDispatch")
    assert taken_states(text, execution.name) == {
        "__start__", "WhichTeam", "AssignToSales", "Dispatched", "__end__"}
    elements = Elements(text)
    [table] = [a for t, a in elements.tags if a.get("data-table") == "Ingestion/Ledger"]
    assert table["data-items"] == "2"
    [bucket] = [a for t, a in elements.tags if a.get("data-bucket") == "Ingestion/LandingBucket"]
    assert bucket["data-objects"] == "2"
    assert "quarantine/incoming/sales/empty.csv" in text
    # Self-contained: no script, stylesheet or image from anywhere.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=', text)


JOB_QUEUE_CONTAINERS = ["AWS::ECS::Cluster", "AWS::ECS::TaskDefinition", "AWS::ECS::Service",
                        "AWS::ApplicationAutoScaling::ScalableTarget",
                        "AWS::ApplicationAutoScaling::ScalingPolicy"]


@pytest.mark.offline_aws(ignore_resource_types=JOB_QUEUE_CONTAINERS)
def test_a_poison_message_is_reported_dead_lettered(
        offline_aws: OfflineAws, example_stack: Any, tmp_path: Path) -> None:
    aws = offline_aws.deploy(example_stack("AnalyticsJobQueue"))
    aws.send_message("ReportJobs/Queue", "not a job", MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": "poison"}})
    aws.expect_lambda_errors("ReportJobs/Worker")

    text = aws.report(tmp_path / "run.html").read_text()

    elements = Elements(text)
    invocations = elements.rows(action="function invoked", path="ReportJobs/Worker")
    assert len(invocations) == 5 and all(a["data-failed"] == "true" for a in invocations)
    [parked] = elements.rows(action="dead-lettered", path="ReportJobs/QueueDeadLetterQueue")
    assert parked["data-failed"] == "true"
    assert int(parked["data-seq"]) > max(int(a["data-seq"]) for a in invocations)
    [queue] = [a for t, a in elements.tags
               if a.get("data-queue") == "ReportJobs/QueueDeadLetterQueue"]
    assert (queue["data-messages"], queue["data-dead-letter"]) == ("1", "true")
    assert re.search(r'data-count="dead-lettered">1 messages', text)


WORKER = """
class Flaky(Exception):
    pass

class Rejected(Exception):
    pass

CALLS = {"n": 0}

def handler(event, context):
    CALLS["n"] += 1
    if CALLS["n"] == 1:
        raise Flaky("try again")
    raise Rejected("no")
"""


@pytest.fixture(scope="module")
def retry_stack(make_asset: Any) -> cdk.Stack:
    """A workflow whose task is retried once, then caught."""
    app = cdk.App()
    stack = cdk.Stack(app, "Reported")
    worker = lambda_.Function(stack, "Worker", runtime=lambda_.Runtime.PYTHON_3_12,
                              handler="index.handler",
                              code=lambda_.Code.from_asset(make_asset("reported", WORKER)))
    invoke = tasks.LambdaInvoke(stack, "Work", lambda_function=worker,
                                payload_response_only=True, retry_on_service_exceptions=False)
    invoke.add_retry(errors=["Flaky"], max_attempts=2, interval=cdk.Duration.seconds(5))
    invoke.add_catch(sfn.Pass(stack, "Handled"), errors=["Rejected"])
    machine = sfn.StateMachine(stack, "Flow", definition_body=sfn.DefinitionBody.from_chainable(
        invoke.next(sfn.Succeed(stack, "Finished"))))
    events.Rule(stack, "Start", event_pattern=events.EventPattern(source=["demo"]),
                targets=[targets.SfnStateMachine(machine)])
    app.synth()
    return stack


@pytest.fixture
def retry_aws(retry_stack: cdk.Stack) -> Iterator[OfflineAws]:
    with OfflineAws(iam="off") as harness:  # a hand-made stack: IAM is not its subject
        yield harness.deploy(retry_stack)


def test_retries_and_catches_are_steps_and_the_catch_path_is_marked(
        retry_aws: OfflineAws, tmp_path: Path) -> None:
    retry_aws.put_events({"Source": "demo", "DetailType": "go", "Detail": {}})
    [execution] = retry_aws.wait_for_executions("Flow")
    retry_aws.expect_lambda_errors("Worker")

    steps = execution_steps(execution.history())
    kinds = [(s.kind, s.state) for s in steps]
    assert kinds == [("state entered", "Work"), ("task failed", "Work"), ("retry", "Work"),
                     ("task failed", "Work"), ("catch", "Handled"),
                     ("state entered", "Handled"), ("execution succeeded", "Handled")]
    assert steps[2] == Step("retry", "Work", "after Flaky")
    assert steps[4].detail == "Rejected caught in Work"

    text = retry_aws.report(tmp_path / "run.html").read_text()
    assert taken_states(text, execution.name) == {"__start__", "Work", "Handled", "__end__"}
    article = re.search(r'<article class="execution".*?</article>', text, re.S)
    assert article is not None
    # The catch edge is marked as taken; the normal way out of Work (to Finished) is not.
    taken_edges = re.findall(r'<g id="edge_\d+" class="([^"]*)" data-taken="true"',
                             article.group(0))
    assert "edge edge_failure taken" in taken_edges
    assert "Finished" not in taken_states(text, execution.name)
    rows = timeline(text)
    started = position(rows, "execution started", "Flow")
    assert [a for a, _ in rows[started + 1:started + 8]] == [
        "state entered", "task failed", "retry", "task failed", "catch", "state entered",
        "execution succeeded"]
    assert json.loads(re.search(r'data-path="([^"]*)"', article.group(0)).group(1)
                      .replace("&quot;", '"')) == ["Work", "Handled"]
