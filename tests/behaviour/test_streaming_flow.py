"""The example clickstream stack, run end to end on the offline harness.

A poison event among good ones is bisected down to itself, the good ones are counted once
and the poison one's metadata reaches the failure queue; the page counts of each tumbling
window equal a count made here from the events sent; a profile change reaches the
personalisation team's queue; the pipe's Express workflow alerts on a suspicious session
and not on a normal one.
"""

from __future__ import annotations

import base64
import collections
import json

import pytest

STACK = "AnalyticsStreaming"
STREAM = "Clickstream"
PAGE_COUNTS = "PageCounts/Function"
WINDOW_SECONDS = 60


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _view(session: str, page: str, *, bot_score: float = 0.1) -> dict:
    return {"session_id": session, "page": page, "action": "view", "bot_score": bot_score}


def _counts(aws) -> dict[tuple[str, str], int]:
    """(page, window start) -> views, summed over shards (each shard counts its own)."""
    totals: dict[tuple[str, str], int] = collections.Counter()
    for row in aws.table_items("PageCounts/AggregateTable"):
        totals[(row["key"], row["window_start"])] += row["count"]
    return dict(totals)


def _close_windows(aws) -> None:
    aws.advance(seconds=WINDOW_SECONDS + 1)


def test_poison_event_is_bisected_down_and_reaches_the_failure_queue_alone(aws):
    aws.expect_lambda_errors(PAGE_COUNTS, error_type="BatchProcessingError")
    good = [_view("s-1", f"/page/{i % 3}") for i in range(9)]
    records = [("s-1", event) for event in good[:4]]
    records.append(("s-1", b"{not json"))
    records += [("s-1", event) for event in good[4:]]
    aws.put_records(STREAM, records)
    _close_windows(aws)

    [discarded] = aws.queue_messages("PageCounts/FailureQueue")
    metadata = discarded.json()
    info = metadata["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == aws.arn(STREAM)
    context = metadata["requestContext"]
    assert context["condition"] == "RetryAttemptsExhausted"
    assert context["functionArn"] == aws.arn(PAGE_COUNTS)
    # The batch of 10; from the poison record on (a partial batch response: one retry);
    # bisected to 3, then to 1; the poison one retried once more (retry_attempts=2).
    assert context["approximateInvokeCount"] == 5
    assert metadata["responseContext"]["functionError"] == "Unhandled"
    # The discarded record is the poison one: read it back from the stream by its metadata.
    kinesis = aws.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamName=aws.physical_id(STREAM), ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=info["startSequenceNumber"])["ShardIterator"]
    [poison] = kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]
    assert poison["Data"] == b"{not json"
    # Every good event counted exactly once.
    expected = collections.Counter(event["page"] for event in good)
    assert {page: n for (page, _), n in _counts(aws).items()} == dict(expected)
    assert aws.blocked_shards(PAGE_COUNTS) == []


def test_tumbling_window_counts_equal_an_independent_count(aws):
    sent: dict[tuple[str, str], int] = collections.Counter()
    for window in range(2):
        start = aws.now.replace(microsecond=0)
        events = [_view(f"s-{i % 5}", ["/home", "/search", "/cart"][(i * 7 + window) % 3])
                  for i in range(23 + window * 11)]
        aws.put_records(STREAM, [(e["session_id"], e) for e in events])
        window_start = start.timestamp() - start.timestamp() % WINDOW_SECONDS
        label = start.fromtimestamp(window_start, start.tzinfo).strftime("%Y-%m-%dT%H:%M:%SZ")
        for event in events:
            sent[(event["page"], label)] += 1
        _close_windows(aws)
    assert _counts(aws) == dict(sent)
    assert aws.queue_messages("PageCounts/FailureQueue") == []
    rows = aws.table_items("PageCounts/AggregateTable")
    assert {row["shard_id"] for row in rows} <= {
        s["ShardId"] for s in aws.client("kinesis").list_shards(
            StreamARN=aws.arn(STREAM))["Shards"]}


def test_window_counts_are_written_only_when_the_window_closes(aws):
    aws.put_record(STREAM, _view("s-1", "/home"), partition_key="s-1")
    assert aws.table_items("PageCounts/AggregateTable") == []
    invocations = aws.invocations(PAGE_COUNTS)
    assert [i.event["isFinalInvokeForWindow"] for i in invocations] == [False]
    assert invocations[0].result["state"] == {"/home": 1}
    _close_windows(aws)
    [row] = aws.table_items("PageCounts/AggregateTable")
    assert (row["key"], row["count"]) == ("/home", 1)
    assert aws.invocations(PAGE_COUNTS)[-1].event["isFinalInvokeForWindow"] is True


def test_profile_changes_reach_the_personalisation_queue(aws):
    table = aws.physical_id("Profiles")
    ddb = aws.client("dynamodb")
    ddb.put_item(TableName=table, Item={"profile_id": {"S": "p-1"}, "tier": {"S": "silver"}})
    ddb.put_item(TableName=table, Item={"profile_id": {"S": "p-1"}, "tier": {"S": "silver"}})
    ddb.update_item(TableName=table, Key={"profile_id": {"S": "p-1"}},
                    UpdateExpression="SET tier = :t, email = :e",
                    ExpressionAttributeValues={":t": {"S": "gold"}, ":e": {"S": "a@b.c"}})
    ddb.delete_item(TableName=table, Key={"profile_id": {"S": "p-1"}})
    aws.settle()

    messages = [m.json() for m in aws.queue_messages("PersonalisationQueue")]
    assert messages == [
        {"profile_id": "p-1", "change": "INSERT", "changed": ["profile_id", "tier"],
         "tier": "silver"},
        # the second, identical put changed nothing: DynamoDB Streams writes no record
        {"profile_id": "p-1", "change": "MODIFY", "changed": ["email", "tier"],
         "tier": "gold"},
        {"profile_id": "p-1", "change": "REMOVE", "changed": ["email", "profile_id", "tier"],
         "tier": "gold"},
    ]
    assert aws.list_objects("DiscardedProfileChanges") == []


def test_suspicious_session_alerts_the_fraud_team_and_a_normal_one_does_not(aws):
    aws.put_records(STREAM, [
        ("s-normal", _view("s-normal", "/home", bot_score=0.2)),
        ("s-bot", _view("s-bot", "/login", bot_score=0.97)),
        ("s-normal", _view("s-normal", "/cart", bot_score=0.1)),
    ])
    [execution] = aws.wait_for_executions("AlertWorkflow")
    assert execution.status == "SUCCEEDED"
    # The pipe's filter let the suspicious event through, and only it, flattened.
    [record] = execution.input
    assert record["partitionKey"] == "s-bot"
    assert json.loads(base64.b64decode(record["data"]))["session_id"] == "s-bot"
    alerts = [json.loads(m.body) for m in aws.queue_messages("FraudTeamQueue")]
    assert alerts == [{"kind": "SuspiciousSession", "session_id": "s-bot", "page": "/login",
                       "bot_score": 0.97, "sequence_number": record["sequenceNumber"]}]
    assert aws.queue_messages("SessionAlertsPipe/DeadLetterQueue") == []


def test_a_batch_the_workflow_fails_on_reaches_the_pipes_dead_letter_queue(aws):
    # A suspicious event without a session: the workflow's alert cannot be built.
    aws.put_record(STREAM, {"page": "/home", "bot_score": 0.99}, partition_key="s-x")
    aws.put_record(STREAM, _view("s-y", "/home", bot_score=0.95), partition_key="s-x")
    [dead] = aws.queue_messages("SessionAlertsPipe/DeadLetterQueue")
    metadata = dead.json()
    assert metadata["context"]["condition"] == "RetryAttemptsExhausted"
    assert metadata["context"]["partnerResourceArn"] == aws.arn("SessionAlertsPipe")
    info = metadata["KinesisBatchInfo"]
    assert (info["batchSize"], info["streamArn"]) == (1, aws.arn(STREAM))
    failed = [e for e in aws.executions("AlertWorkflow") if e.status == "FAILED"]
    assert len(failed) == 1 + 3  # the first try and retry_attempts=3
    assert {json.loads(base64.b64decode(e.input[0]["data"]))["page"] for e in failed} == {
        "/home"}
    alerts = [json.loads(m.body)["session_id"] for m in aws.queue_messages("FraudTeamQueue")]
    assert alerts == ["s-y"]
