"""The pipe enrichment handler (lambda_src/pipe_enricher) on real SQS record shapes.

Messages are sent through moto (straight to SQS, and through SNS with and without raw
delivery), received, and handed to the handler in the shape EventBridge Pipes sends: a JSON
array of SQS records. The pure functions of ``enrichment.py`` are tested at the end.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

HANDLER = "pipe_enricher"


def _records(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    """Receive ``count`` messages and shape them like a Pipes SQS batch."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                   AttributeNames=["All"], MessageAttributeNames=["All"])
    records = []
    for message in messages.get("Messages", []):
        records.append({
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"], "attributes": message["Attributes"],
            "messageAttributes": {
                name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
                for name, value in message.get("MessageAttributes", {}).items()},
            "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
        })
    assert len(records) == count
    return records


@pytest.fixture
def enricher(aws, load_handler):
    return load_handler(HANDLER)


@pytest.fixture
def queue(aws_client):
    sqs = aws_client("sqs")
    return sqs, sqs.create_queue(QueueName="workflow")["QueueUrl"]


def test_sqs_messages_become_workflow_inputs_in_order(enricher, queue, lambda_context):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "EtlRunFailed", "n": 1}),
                     MessageAttributes={"team": {"DataType": "String", "StringValue": "data"}})
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "JobFailed", "n": 2}))
    records = _records(sqs, url, 2)

    items = enricher.handler(records, lambda_context)

    assert [item["payload"]["n"] for item in items] == [1, 2]
    assert [item["message_id"] for item in items] == [r["messageId"] for r in records]
    assert items[0]["attributes"] == {"team": "data"}
    assert all(item["valid"] and item["receive_count"] == 1 for item in items)
    assert items[0]["sent_at"].endswith("Z") and "T" in items[0]["sent_at"]


def test_sns_envelope_is_unwrapped_with_its_attributes(enricher, aws_client, queue,
                                                       lambda_context):
    sqs, url = queue
    sns = aws_client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)  # not raw
    sns.publish(TopicArn=topic, Message=json.dumps({"severity": "high"}),
                MessageAttributes={"source": {"DataType": "String", "StringValue": "etl"}})
    [record] = _records(sqs, url, 1)
    assert json.loads(record["body"])["Type"] == "Notification"

    [item] = enricher.handler([record], lambda_context)

    assert item["valid"] is True
    assert item["payload"] == {"severity": "high"}
    assert item["attributes"] == {"source": "etl"}


def test_malformed_message_is_marked_and_does_not_fail_the_batch(enricher, queue,
                                                                 lambda_context):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="not json {")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"ok": True}))
    records = _records(sqs, url, 2)

    bad, good = enricher.handler(records, lambda_context)

    assert bad["valid"] is False
    assert bad["error"].startswith("the body is not JSON")
    assert bad["raw_body"] == "not json {"
    assert bad["message_id"] == records[0]["messageId"]
    assert good == {**good, "valid": True, "payload": {"ok": True}}


def test_redelivered_message_keeps_its_message_id(enricher, queue, lambda_context):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    [first] = _records(sqs, url, 1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["receiptHandle"],
                                  VisibilityTimeout=0)
    [second] = _records(sqs, url, 1)

    [a] = enricher.handler([first], lambda_context)
    [b] = enricher.handler([second], lambda_context)

    assert a["message_id"] == b["message_id"]  # the workflow's idempotency key
    assert (a["receive_count"], b["receive_count"]) == (1, 2)


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_batch_that_is_not_an_array_is_a_clear_error(enricher, lambda_context):
    with pytest.raises(enricher.InvalidPipeBatch, match="expected a JSON array of SQS records"):
        enricher.handler({"Records": []}, lambda_context)


def test_empty_batch_gives_an_empty_array(enricher, lambda_context):
    assert enricher.handler([], lambda_context) == []


# ------------------------------------------------------------------ pure functions


@pytest.fixture
def enrichment(load_handler):
    return load_handler(HANDLER, "enrichment")


@pytest.mark.parametrize(("record", "error"), [
    ("text", "record 0 is not an object"),
    ({"messageId": "m"}, "the record has no body"),
    ({"messageId": "m", "body": json.dumps({"Type": "Notification", "TopicArn": "t",
                                            "Message": "{oops"})},
     "the SNS message is not JSON"),
])
def test_invalid_records_are_described(enrichment, record, error):
    item = enrichment.enrich_record(record)
    assert item["valid"] is False
    assert item["error"].startswith(error)


def test_raw_body_of_a_huge_malformed_message_is_cut(enrichment):
    item = enrichment.enrich_record({"messageId": "m", "body": "x" * 10_000})
    assert len(item["raw_body"]) == enrichment.MAX_RAW_BODY_CHARS


def test_odd_attributes_are_tolerated(enrichment):
    item = enrichment.enrich_record({
        "messageId": "m", "body": "1",
        "attributes": {"SentTimestamp": "soon", "ApproximateReceiveCount": None},
        "messageAttributes": {"bin": {"binaryValue": "AA==", "dataType": "Binary"}}})
    assert item == {"message_id": "m", "valid": True, "sent_at": None, "receive_count": None,
                    "attributes": {}, "payload": 1}
    assert enrichment.count_invalid([item, {"valid": False}]) == 1
