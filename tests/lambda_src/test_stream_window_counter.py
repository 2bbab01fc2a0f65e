"""The window counter handler with Lambda's stream event shapes (tumbling windows).

Event shape: the Lambda developer guide's Kinesis example record and its tumbling-window
fields ("Implementing stateful Kinesis Data Streams processing in Lambda").
"""

from __future__ import annotations

import base64
import json

import pytest

HANDLER = "stream_window_counter"
WINDOW = {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:01:00Z"}


def _record(sequence: int, payload: object) -> dict:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1",
                    "sequenceNumber": str(sequence), "data": base64.b64encode(data).decode(),
                    "approximateArrivalTimestamp": 1545084650.987},
        "eventSource": "aws:kinesis", "eventVersion": "1.0",
        "eventID": f"shardId-000000000006:{sequence}", "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream",
    }


def _event(records: list[dict], state: dict | None = None, final: bool = False) -> dict:
    return {"Records": records, "window": WINDOW, "state": state or {},
            "shardId": "shardId-000000000006",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/lambda-stream",
            "isFinalInvokeForWindow": final, "isWindowTerminatedEarly": False}


@pytest.fixture
def table(aws, aws_client, monkeypatch):
    ddb = aws_client("dynamodb")
    ddb.create_table(TableName="counts", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "key", "KeyType": "HASH"},
                                {"AttributeName": "window", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"},
                                           {"AttributeName": "window", "AttributeType": "S"}])
    monkeypatch.setenv("TABLE_NAME", "counts")
    monkeypatch.setenv("KEY_FIELD", "page")
    return ddb


@pytest.fixture
def counter(table, load_handler):
    return load_handler(HANDLER)


def test_counts_accumulate_in_the_state_and_are_written_when_the_window_ends(
        counter, table, lambda_context):
    first = counter.handler(_event([_record(1, {"page": "/a"}), _record(2, {"page": "/b"})]),
                            lambda_context)
    assert first == {"state": {"/a": 1, "/b": 1}, "batchItemFailures": []}
    second = counter.handler(_event([_record(3, {"page": "/a"})], first["state"]),
                             lambda_context)
    assert second["state"] == {"/a": 2, "/b": 1}
    assert table.scan(TableName="counts")["Items"] == []
    final = counter.handler(_event([], second["state"], final=True), lambda_context)
    assert final == {"state": {}, "batchItemFailures": []}
    rows = {(i["key"]["S"], int(i["count"]["N"]), i["window"]["S"])
            for i in table.scan(TableName="counts")["Items"]}
    assert rows == {("/a", 2, "2026-12-01T10:00:00Z#shardId-000000000006"),
                    ("/b", 1, "2026-12-01T10:00:00Z#shardId-000000000006")}


def test_a_poison_record_stops_the_batch_there(counter, lambda_context):
    response = counter.handler(_event([
        _record(1, {"page": "/a"}), _record(2, b"not json"), _record(3, {"page": "/a"}),
        _record(4, {"other": 1})]), lambda_context)
    # Counted: only the record before the poison one; reported: from the poison one on,
    # so Lambda checkpoints at 2 and nothing after it was counted twice.
    assert response["state"] == {"/a": 1}
    assert response["batchItemFailures"] == [{"itemIdentifier": str(n)} for n in (2, 3, 4)]


def test_a_poison_first_record_fails_the_invocation_so_lambda_bisects(counter,
                                                                      lambda_context):
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError):
        counter.handler(_event([_record(1, {"page": ""}), _record(2, {"page": "/a"})]),
                        lambda_context)


def test_dynamodb_records_are_counted_by_their_new_image(counter, lambda_context):
    record = {"eventID": "1", "eventName": "INSERT", "eventVersion": "1.1",
              "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
              "dynamodb": {"Keys": {"id": {"S": "1"}},
                           "NewImage": {"id": {"S": "1"}, "page": {"S": "/p"}},
                           "SequenceNumber": "111", "SizeBytes": 26,
                           "StreamViewType": "NEW_AND_OLD_IMAGES"},
              "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"}
    response = counter.handler(_event([record]), lambda_context)
    assert response == {"state": {"/p": 1}, "batchItemFailures": []}
