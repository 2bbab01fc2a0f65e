"""Work beside the loop: a settle() waits for Step Functions executions until they rest.

moto runs each standard execution in a thread of its own. Before the loop counted them, a
test that read a queue (or the run report) right after the event that started an execution
raced it; under CPU load the report's timeline lost the execution's states (CI, 2026-12-02).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.core import loop as loop_module
from analytics_orchestration.testing.core.loop import EventLoop
from analytics_orchestration.testing.services.stepfunctions import RunningExecutions

SLOW = """
    import time

    def handler(event, context):
        time.sleep(0.3)  # longer than the loop takes to find nothing queued
        return {"checked": event["id"]}
"""


@pytest.fixture(scope="module")
def background_stack(make_asset) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Background")
    done = sqs.Queue(stack, "Done")
    approvals = sqs.Queue(stack, "Approvals")
    check = lambda_.Function(stack, "Check", runtime=lambda_.Runtime.PYTHON_3_12,
                             handler="index.handler",
                             code=lambda_.Code.from_asset(make_asset("slow", SLOW)))
    slow = sfn.StateMachine(stack, "Slow", definition_body=sfn.DefinitionBody.from_chainable(
        tasks.LambdaInvoke(stack, "CheckIt", lambda_function=check, payload_response_only=True,
                           result_path="$.check")
        .next(tasks.SqsSendMessage(stack, "Announce", queue=done,
                                   message_body=sfn.TaskInput.from_json_path_at("$.check")))))
    events.Rule(stack, "Start", event_pattern=events.EventPattern(source=["demo"]),
                targets=[targets.SfnStateMachine(slow, input=events.RuleTargetInput.from_object(
                    {"id": events.EventField.from_path("$.detail.id")}))])
    sfn.StateMachine(stack, "Approval", definition_body=sfn.DefinitionBody.from_chainable(
        tasks.SqsSendMessage(
            stack, "AskForApproval", queue=approvals,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            message_body=sfn.TaskInput.from_object({"token": sfn.JsonPath.task_token}))))
    app.synth()
    return stack


@pytest.fixture
def aws(background_stack: cdk.Stack) -> Iterator[OfflineAws]:
    with OfflineAws() as harness:
        yield harness.deploy(background_stack)


def test_what_an_execution_does_after_the_event_is_there_when_the_call_returns(
        aws: OfflineAws) -> None:
    aws.put_events({"Source": "demo", "DetailType": "go", "Detail": {"id": "a-1"}})

    # No wait_for_executions: put_events settled, and settling waits for the execution.
    [execution] = aws.executions("Slow")
    assert execution.status == "SUCCEEDED", execution.cause
    assert [m.json() for m in aws.queue_messages("Done")] == [{"checked": "a-1"}]
    assert execution.states_entered() == ["CheckIt", "Announce"]


def test_an_execution_waiting_for_a_task_token_is_at_rest_until_the_test_answers(
        aws: OfflineAws) -> None:
    arn = aws.start_execution("Approval", {})  # settles: the request is sent, then it waits
    [request] = aws.queue_messages("Approvals")
    assert aws.describe_execution(arn).status == "RUNNING"

    aws.client("stepfunctions").send_task_success(taskToken=request.json()["token"],
                                                  output='{"approved": true}')
    aws.settle()
    execution = aws.describe_execution(arn)
    assert (execution.status, execution.output) == ("SUCCEEDED", {"approved": True})


class Endpoint:
    """A callback endpoint: waited on by the execution, notified by the test."""

    def __init__(self) -> None:
        self.answer = threading.Event()

    def wait(self) -> bool:
        return self.answer.wait(10)

    def notify(self) -> None:
        self.answer.set()


def test_running_executions_are_busy_until_they_end_or_wait_for_a_callback() -> None:
    running = RunningExecutions()
    wait, notify = running.waiting(Endpoint.wait), running.notifying(Endpoint.notify)
    endpoint, resumed, finish = Endpoint(), threading.Event(), threading.Event()
    assert not running.busy()

    def execution() -> None:
        wait(endpoint)  # parked, as on a task token
        resumed.set()
        finish.wait(10)

    thread = threading.Thread(target=running.run(execution))
    assert running.busy()  # counted before its thread starts
    thread.start()
    while running.busy():  # until the thread is in the wait
        threading.Event().wait(0.001)
    notify(endpoint)
    assert running.busy()  # at once: the waiter may not have woken yet
    resumed.wait(10)
    assert running.busy()  # working again
    finish.set()
    thread.join(10)
    assert not thread.is_alive()
    assert not running.busy()


def test_settle_runs_work_a_busy_thread_queues_and_gives_up_on_one_that_never_rests(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop = EventLoop()
    ran: list[str] = []
    busy = threading.Event()
    busy.set()
    loop.add_background(busy.is_set)

    def background() -> None:
        threading.Event().wait(0.05)
        loop.enqueue(lambda: ran.append("queued late"))
        busy.clear()

    thread = threading.Thread(target=background)
    thread.start()
    loop.settle()
    thread.join()
    assert ran == ["queued late"]

    monkeypatch.setattr(loop_module, "BACKGROUND_WAIT_SECONDS", 0.01)
    busy.set()  # never rests
    loop.settle()  # returns (after the wait) instead of hanging
    assert ran == ["queued late"]
