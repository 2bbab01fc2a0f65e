"""The harness's event-routing emulation: Pipes, Firehose (and SNS -> Firehose), target
DLQs for refused EventBridge deliveries, and the no-op types of custom buses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from analytics_orchestration.testing import OfflineAws, UnsupportedIntegrationError

ENRICH = """
    import json

    def handler(event, context):
        out = []
        for record in event:
            body = json.loads(record["body"])
            if body.get("explode"):
                raise RuntimeError("enrichment failed")
            if body.get("drop"):
                continue
            out.append({"id": record["messageId"], "order": body["order"]})
        return out
"""


@pytest.fixture(scope="module")
def routing_stack(make_asset) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Routing")
    machine = sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody
                               .from_chainable(sfn.Pass(stack, "P")))
    dlq = sqs.Queue(stack, "SourceDlq")
    source = sqs.Queue(stack, "Source", dead_letter_queue=sqs.DeadLetterQueue(
        queue=dlq, max_receive_count=2))
    enrich = lambda_.Function(stack, "Enrich", runtime=lambda_.Runtime.PYTHON_3_12,
                              handler="index.handler",
                              code=lambda_.Code.from_asset(make_asset("enrich", ENRICH)))
    role = iam.Role(stack, "PipeRole", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"))
    pipes.CfnPipe(
        stack, "Pipe", role_arn=role.role_arn, source=source.queue_arn,
        target=machine.state_machine_arn, enrichment=enrich.function_arn,
        source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
            sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(
                batch_size=10),
            filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(filters=[
                pipes.CfnPipe.FilterProperty(pattern=json.dumps(
                    {"body": {"kind": ["order"]}}))])),
        target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
            step_function_state_machine_parameters=pipes.CfnPipe
            .PipeTargetStateMachineParametersProperty(invocation_type="FIRE_AND_FORGET")),
    )
    bucket = s3.Bucket(stack, "Archive")
    stream = firehose.DeliveryStream(stack, "Stream", destination=firehose.S3Bucket(
        bucket, data_output_prefix="archive/"))
    topic = sns.Topic(stack, "Topic")
    topic.add_subscription(subs.FirehoseSubscription(stream, raw_message_delivery=True,
                                                     filter_policy_with_message_body={
        "keep": sns.FilterOrPolicy.filter(sns.SubscriptionFilter.string_filter(
            allowlist=["yes"]))}))
    bus = events.EventBus(stack, "Bus")
    bus.add_to_resource_policy(iam.PolicyStatement(
        actions=["events:PutEvents"], resources=[bus.event_bus_arn],
        principals=[iam.AccountPrincipal("111122223333")], sid="Other"))
    target_queue = sqs.Queue(stack, "Target")
    target_dlq = sqs.Queue(stack, "TargetDlq")
    events.Rule(stack, "WithDlq", event_bus=bus, event_pattern=events.EventPattern(
        source=["with-dlq"]), targets=[targets.SqsQueue(target_queue,
                                                        dead_letter_queue=target_dlq)])
    events.Rule(stack, "WithoutDlq", event_bus=bus, event_pattern=events.EventPattern(
        source=["without-dlq"]), targets=[targets.SqsQueue(target_queue)])
    app.synth()
    return stack


@pytest.fixture
def aws(routing_stack: cdk.Stack) -> Iterator[OfflineAws]:
    """IAM off: these stacks' hand-written definitions come with roles that hold no
    grants (CDK cannot infer them from raw ASL); they test the emulator, and IAM
    enforcement is tested in test_harness_iam and by the behavioural suite."""
    with OfflineAws(iam="off") as harness:
        yield harness.deploy(routing_stack)


def test_pipe_filters_enriches_and_starts_one_execution_per_batch(aws: OfflineAws) -> None:
    client = aws.client("sqs")
    url = aws.physical_id("Source")
    for body in ({"kind": "order", "order": 1}, {"kind": "noise"}, {"kind": "order", "order": 2}):
        client.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    [execution] = aws.wait_for_executions("Machine")

    assert [item["order"] for item in execution.input] == [1, 2]
    assert all(item["id"] for item in execution.input)
    [invocation] = aws.invocations("Enrich")
    assert [json.loads(r["body"])["order"] for r in invocation.event] == [1, 2]
    assert invocation.event[0]["eventSource"] == "aws:sqs"
    assert aws.queue_messages("Source", include_in_flight=True) == []  # noise deleted too


def test_pipe_enrichment_returning_nothing_skips_the_target(aws: OfflineAws) -> None:
    aws.send_message("Source", {"kind": "order", "order": 3, "drop": True})
    assert aws.executions("Machine") == []
    assert aws.queue_messages("Source", include_in_flight=True) == []


def test_failing_enrichment_redelivers_then_dead_letters(aws: OfflineAws) -> None:
    aws.expect_lambda_errors("Enrich", error_type="RuntimeError")
    aws.send_message("Source", {"kind": "order", "order": 4, "explode": True})
    assert aws.executions("Machine") == []
    assert len(aws.invocations("Enrich")) == 2  # maxReceiveCount 2, then the DLQ
    [dead] = aws.queue_messages("SourceDlq")
    assert dead.json()["order"] == 4


def test_sns_firehose_subscription_archives_filtered_raw_messages(aws: OfflineAws) -> None:
    aws.publish("Topic", {"keep": "yes", "n": 1})
    aws.publish("Topic", {"keep": "no", "n": 2})
    bucket = aws.physical_id("Archive")
    assert aws.list_objects(bucket, "archive/") == []  # buffered until the interval passes
    aws.advance(minutes=5)  # the L2's default buffering interval
    [key] = aws.list_objects(bucket, "archive/")
    assert [json.loads(line) for line in aws.get_object(bucket, key).decode().splitlines()] == [
        {"keep": "yes", "n": 1}]


def test_refused_delivery_goes_to_the_target_dlq_with_aws_attributes(aws: OfflineAws) -> None:
    aws.client("sqs").delete_queue(QueueUrl=aws.physical_id("Target"))
    [event_id] = aws.put_events({"Source": "with-dlq", "DetailType": "x", "Detail": {}},
                                bus="Bus")
    [dead] = aws.queue_messages("TargetDlq")
    assert dead.json()["id"] == event_id
    attributes = {name: value["StringValue"] for name, value in dead.attributes.items()}
    assert set(attributes) == {"RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE"}
    assert attributes["RULE_ARN"] == aws.arn("WithDlq")
    assert attributes["TARGET_ARN"].endswith(aws.resource("Target").attributes["QueueName"])


def test_refused_delivery_without_dlq_is_raised(aws: OfflineAws) -> None:
    aws.client("sqs").delete_queue(QueueUrl=aws.physical_id("Target"))
    with pytest.raises(Exception, match="NonExistentQueue"):
        aws.put_events({"Source": "without-dlq", "DetailType": "x", "Detail": {}}, bus="Bus")


def test_unsupported_pipe_target_is_named() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "BadPipe")
    queue = sqs.Queue(stack, "Q")
    pipes.CfnPipe(stack, "Pipe", role_arn="arn:aws:iam::123456789012:role/r",
                  source=queue.queue_arn, target=sqs.Queue(stack, "T").queue_arn)
    app.synth()
    with OfflineAws() as aws, pytest.raises(UnsupportedIntegrationError, match="pipe target sqs"):
        aws.deploy(stack)
