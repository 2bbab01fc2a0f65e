"""Layer 2: EventBridge rules and targets, S3 -> EventBridge, SNS, SQS event sources, async
Lambda failure handling."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs

from analytics_orchestration.testing import OfflineAws, UnsupportedIntegrationError
from analytics_orchestration.testing._events import transform_input

RECORDER = """
    def handler(event, context):
        return {"seen": event}
"""

BATCH = """
    import json

    def handler(event, context):
        failures = []
        for record in event["Records"]:
            if json.loads(record["body"]).get("poison"):
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
"""

ALWAYS_FAILS = """
    def handler(event, context):
        raise RuntimeError("downstream is down")
"""


@pytest.fixture(scope="module")
def wiring_stack(make_asset) -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Wiring")
    bucket = s3.Bucket(stack, "Landing")
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, s3.CfnBucket)
    bucket_resource.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)

    def fn(name: str, source: str) -> lambda_.Function:
        return lambda_.Function(stack, name, runtime=lambda_.Runtime.PYTHON_3_12,
                                handler="index.handler",
                                code=lambda_.Code.from_asset(make_asset(name.lower(), source)))

    recorder = fn("Recorder", RECORDER)
    on_upload = events.Rule(stack, "OnUpload", event_pattern=events.EventPattern(
        source=["aws.s3"], detail_type=["Object Created"],
        detail={"bucket": {"name": [bucket.bucket_name]},
                "object": {"key": [{"prefix": "incoming/"}]}}))
    on_upload.add_target(targets.LambdaFunction(recorder))

    transformed = sqs.Queue(stack, "Transformed")
    on_order = events.Rule(stack, "OnOrder", event_pattern=events.EventPattern(
        source=["shop"], detail={"total": [{"numeric": [">", 100]}],
                                 "status": [{"anything-but": ["test"]}],
                                 "file": [{"suffix": ".csv"}]}))
    on_order.add_target(targets.SqsQueue(transformed, message=events.RuleTargetInput.from_object({
        "order": events.EventField.from_path("$.detail.id"),
        "text": f"order {events.EventField.from_path('$.detail.id')} arrived",
    })))
    raw = sqs.Queue(stack, "Raw")
    events.Rule(stack, "Wild", event_pattern=events.EventPattern(
        source=["shop"], detail={"file": [{"wildcard": "orders/*/day-*.csv"}]}),
        targets=[targets.SqsQueue(raw)])

    topic = sns.Topic(stack, "Fanout")
    big = sqs.Queue(stack, "BigOnly")
    topic.add_subscription(subs.SqsSubscription(big, raw_message_delivery=True, filter_policy={
        "size": sns.SubscriptionFilter.string_filter(allowlist=["big"])}))
    topic.add_subscription(subs.LambdaSubscription(recorder))
    events.Rule(stack, "ToTopic", event_pattern=events.EventPattern(source=["fanout"]),
                targets=[targets.SnsTopic(topic)])

    dlq = sqs.Queue(stack, "WorkDlq")
    work = sqs.Queue(stack, "Work", dead_letter_queue=sqs.DeadLetterQueue(
        queue=dlq, max_receive_count=2))
    batch = fn("Batch", BATCH)
    batch.add_event_source(sources.SqsEventSource(work, batch_size=5,
                                                  report_batch_item_failures=True))

    failed = sqs.Queue(stack, "FailedInvocations")
    fails = fn("Fails", ALWAYS_FAILS)
    fails.configure_async_invoke(on_failure=destinations.SqsDestination(failed),
                                 retry_attempts=1)
    events.Rule(stack, "ToFails", event_pattern=events.EventPattern(source=["fails"]),
                targets=[targets.LambdaFunction(fails)])

    fn_dlq = sqs.Queue(stack, "FnDlq")
    with_dlq = lambda_.Function(stack, "WithDlq", runtime=lambda_.Runtime.PYTHON_3_12,
                                handler="index.handler", dead_letter_queue=fn_dlq,
                                code=lambda_.Code.from_asset(make_asset("withdlq",
                                                                        ALWAYS_FAILS)))
    events.Rule(stack, "ToWithDlq", event_pattern=events.EventPattern(source=["dlq"]),
                targets=[targets.LambdaFunction(with_dlq, retry_attempts=0)])
    app.synth()
    return stack


@pytest.fixture
def aws(offline_aws: OfflineAws, wiring_stack: cdk.Stack) -> OfflineAws:
    return offline_aws.deploy(wiring_stack)


def test_s3_object_created_reaches_lambda_in_aws_shape(aws: OfflineAws) -> None:
    aws.put_object("Landing", "incoming/2024/a.csv", b"a,b\n")
    aws.put_object("Landing", "elsewhere/b.csv", b"a,b\n")

    [invocation] = aws.invocations("Recorder")
    event = invocation.event
    bucket = aws.physical_id("Landing")
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    assert event["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert event["time"].endswith("Z")
    detail = event["detail"]
    assert detail["bucket"] == {"name": bucket}
    assert detail["object"]["key"] == "incoming/2024/a.csv"
    assert detail["object"]["size"] == 4
    assert len(detail["object"]["etag"]) == 32
    assert "sequencer" in detail["object"]
    assert detail["reason"] == "PutObject"
    assert len(aws.events_on("default")) == 2  # both uploads were seen on the bus


def test_s3_sends_eventbridge_the_key_as_it_is(aws: OfflineAws) -> None:
    """Not URL-encoded, as events captured from AWS show (sources in ``_events.s3_event``)."""
    key = "incoming/q3 report+final %/2023-08-08T14:03:40.532432 été.csv"
    aws.put_object("Landing", key, b"a\n")

    [invocation] = aws.invocations("Recorder")
    assert invocation.event["detail"]["object"]["key"] == key


def test_an_object_put_without_its_event_is_stored_silently(aws: OfflineAws) -> None:
    aws.put_object("Landing", "incoming/lost.csv", b"a\n", emit_event=False)

    assert aws.list_objects("Landing") == ["incoming/lost.csv"]
    assert aws.invocations("Recorder") == []
    assert aws.events_on("default") == []
    # Only that upload: the next one notifies again.
    aws.put_object("Landing", "incoming/found.csv", b"a\n")
    [invocation] = aws.invocations("Recorder")
    assert invocation.event["detail"]["object"]["key"] == "incoming/found.csv"


def test_input_transformer_and_pattern_operators(aws: OfflineAws) -> None:
    aws.put_events(
        {"Source": "shop", "DetailType": "Order",
         "Detail": {"id": "o-1", "total": 150, "status": "live", "file": "orders/x/day-1.csv"}},
        {"Source": "shop", "DetailType": "Order",
         "Detail": {"id": "o-2", "total": 50, "status": "live", "file": "x.csv"}},
        {"Source": "shop", "DetailType": "Order",
         "Detail": {"id": "o-3", "total": 500, "status": "test", "file": "x.csv"}},
    )
    assert [m.json() for m in aws.queue_messages("Transformed")] == [
        {"order": "o-1", "text": "order o-1 arrived"}]
    [raw] = aws.queue_messages("Raw")
    assert raw.json()["detail"]["id"] == "o-1"
    assert len(aws.events_seen["default"]) == 3


def test_eventbridge_to_sns_fans_out_with_filter_policy(aws: OfflineAws) -> None:
    aws.put_events({"Source": "fanout", "DetailType": "x", "Detail": {"n": 1}})
    assert aws.queue_messages("BigOnly") == []  # no "size" attribute: filtered out
    aws.publish("Fanout", {"n": 2}, MessageAttributes={
        "size": {"DataType": "String", "StringValue": "big"}})
    [message] = aws.queue_messages("BigOnly")
    assert message.json() == {"n": 2}  # raw delivery: no SNS envelope
    sns_events = [i.event for i in aws.invocations("Recorder")]
    assert len(sns_events) == 2
    record = sns_events[1]["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["TopicArn"] == aws.arn("Fanout")
    assert json.loads(record["Sns"]["Message"]) == {"n": 2}


def test_sqs_batch_item_failures_retry_then_reach_dlq(aws: OfflineAws) -> None:
    aws.send_message("Work", {"id": 1})
    aws.send_message("Work", {"id": 2, "poison": True})

    assert aws.queue_messages("Work", include_in_flight=True) == []
    [dead] = aws.queue_messages("WorkDlq")
    assert dead.json() == {"id": 2, "poison": True}
    batches = aws.invocations("Batch")
    poison_deliveries = [r for i in batches for r in i.event["Records"]
                         if "poison" in r["body"]]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poison_deliveries] == ["1", "2"]
    assert poison_deliveries[0]["eventSourceARN"] == aws.arn("Work")


def test_sqs_records_carry_every_message_attribute(aws: OfflineAws) -> None:
    """Lambda delivers all message attributes; moto drops them unless asked for."""
    aws.send_message("Work", {"id": 3}, MessageAttributes={
        "job_id": {"DataType": "String", "StringValue": "j-3"}})
    [record] = [r for i in aws.invocations("Batch") for r in i.event["Records"]]
    assert record["messageAttributes"]["job_id"]["stringValue"] == "j-3"


def test_async_failure_goes_to_on_failure_destination_after_retries(aws: OfflineAws) -> None:
    aws.expect_lambda_errors("Fails", error_type="RuntimeError")
    aws.put_events({"Source": "fails", "DetailType": "x", "Detail": {"k": "v"}})
    assert len(aws.invocations("Fails")) == 2  # first try + retry_attempts=1
    [message] = aws.queue_messages("FailedInvocations")
    record = message.json()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["requestPayload"]["detail"] == {"k": "v"}


def test_async_failure_without_destination_goes_to_function_dlq(aws: OfflineAws) -> None:
    aws.expect_lambda_errors("WithDlq")
    aws.put_events({"Source": "dlq", "DetailType": "x", "Detail": {"k": 1}})
    assert len(aws.invocations("WithDlq")) == 3  # function-level default: 2 retries
    [message] = aws.queue_messages("FnDlq")
    assert message.json()["detail"] == {"k": 1}
    assert message.attributes["ErrorMessage"]["StringValue"] == "downstream is down"


def test_unsupported_target_is_named(offline_aws: OfflineAws) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Kin")
    events.CfnRule(stack, "ToKinesis", event_pattern={"source": ["k"]}, targets=[
        events.CfnRule.TargetProperty(
            id="k", arn="arn:aws:kinesis:us-east-1:123456789012:stream/s")])
    offline_aws.deploy(stack)
    with pytest.raises(UnsupportedIntegrationError, match="EventBridge target kinesis"):
        offline_aws.put_events({"Source": "k", "DetailType": "x", "Detail": {}})


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"Input": '{"fixed": 1}'}, '{"fixed": 1}'),
        ({"InputPath": "$.detail.a"}, '{"b": 2}'),
        ({"InputTransformer": {"InputPathsMap": {"b": "$.detail.a.b", "s": "$.source"},
                               "InputTemplate": '{"b": <b>, "s": <s>, "q": "<s>-x"}'}},
         '{"b": 2, "s": "src", "q": "src-x"}'),
        ({"InputTransformer": {"InputPathsMap": {"s": "$.source"},
                               "InputTemplate": "source is <s>"}}, "source is src"),
        ({"InputTransformer": {"InputTemplate": '{"rule": "<aws.events.rule-name>"}'}},
         '{"rule": "R"}'),
    ],
)
def test_transform_input_matches_aws_rules(target: dict, expected: str) -> None:
    event = {"source": "src", "detail": {"a": {"b": 2}}}
    assert transform_input(target, event, "R", "arn:rule") == expected

