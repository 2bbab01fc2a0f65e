"""The example clickstream stack, run end to end on the offline harness.

A poison event among good ones is bisected down to itself, the good ones are counted once
and the poison one's metadata reaches the failure queue; the page counts of each tumbling
window equal a count made here from the events sent; a profile change reaches the
personalisation team's queue; the pipe's Express workflow alerts on a suspicious session
and not on a normal one; Firehose lands the events put on the stream in the raw zone as
Parquet under ``clickstream/event_date=<day>/event_type=<type>/`` (the partitions the
Glue table's projection reads) after its buffering interval, a malformed event under the
error prefix and a heartbeat nowhere.
"""

from __future__ import annotations

import base64
import collections
import io
import json

import pyarrow.parquet as pq
import pytest

from stacks.streaming_stack import CLICKSTREAM_PREFIX

STACK = "AnalyticsStreaming"
STREAM = "Clickstream"
PAGE_COUNTS = "PageCounts/Function"
WINDOW_SECONDS = 60
RAW_EVENTS = f"{STACK}/RawEvents/Stream"
RAW_TRANSFORM = f"{STACK}/RawEvents/Transform"
LAKE = f"{STACK}/DataLake/RawBucket"
#: The harness does not create Glue databases (Firehose reads the table's schema from the
#: deployed template).
pytestmark = pytest.mark.offline_aws(ignore_resource_types={"AWS::Glue::Database"})

#: Clickstream events as the front ends send them (``ts`` in the shapes they use).
LAKE_EVENTS = [
    {"session_id": "s-1", "page": "/home", "action": "click", "bot_score": 0.1,
     "ts": "2026-11-30T23:59:58+00:00"},
    {"session_id": "s-1", "page": "/shoes", "action": "view", "bot_score": 0.1,
     "ts": "2026-12-01T00:30:00+01:00"},
    {"session_id": "s-2", "page": "/checkout", "action": "purchase", "bot_score": 0.2,
     "ts": 1796140800000},
    {"session_id": "s-2", "page": "/shoes", "action": "click", "bot_score": 0.05,
     "ts": "2026-12-01T08:00:00Z"},
]
HEARTBEAT = {"session_id": "s-heartbeat", "page": "/home", "action": "heartbeat",
             "bot_score": 0.1, "ts": "2026-12-01T08:00:01Z"}
MALFORMED = b'{"session_id": "s-cut", "action": "click"'  # not JSON: cut off


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _view(session: str, page: str, *, bot_score: float = 0.1) -> dict:
    return {"session_id": session, "page": page, "action": "view", "bot_score": bot_score,
            "ts": "2026-12-01T10:00:00Z"}


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


def _parquet_rows(aws, bucket: str) -> dict[str, list[dict]]:
    """Partition (``event_date=<d>/event_type=<t>``) -> the rows of its Parquet objects."""
    found: dict[str, list[dict]] = {}
    for key in aws.list_objects(bucket, CLICKSTREAM_PREFIX):
        assert key.endswith(".parquet"), key
        table = pq.read_table(io.BytesIO(aws.get_object(bucket, key)))
        partition = key[len(CLICKSTREAM_PREFIX):].rsplit("/", 1)[0]
        found.setdefault(partition, []).extend(table.to_pylist())
    return found


def test_events_on_the_stream_land_as_parquet_under_their_date_and_type(aws):
    aws.put_records(STREAM, [(e["session_id"], e) for e in LAKE_EVENTS])
    bucket = aws.physical_id(LAKE)
    aws.advance(minutes=4)
    assert aws.list_objects(bucket, CLICKSTREAM_PREFIX) == []  # still buffered
    aws.advance(minutes=1)  # the 5-minute buffering interval has passed

    rows = _parquet_rows(aws, bucket)
    assert sorted(rows) == ["event_date=2026-11-30/event_type=click",
                            "event_date=2026-11-30/event_type=view",
                            "event_date=2026-12-01/event_type=click",
                            "event_date=2026-12-01/event_type=purchase"]
    # +01:00 at 00:30 is 23:30 UTC the day before: the partition is the UTC date.
    [view] = rows["event_date=2026-11-30/event_type=view"]
    assert (view["session_id"], view["page"]) == ("s-1", "/shoes")
    assert view["ts"].isoformat() == "2026-11-30T23:30:00+00:00"
    [purchase] = rows["event_date=2026-12-01/event_type=purchase"]
    assert purchase == {"session_id": "s-2", "page": "/checkout", "bot_score": 0.2,
                        "ts": purchase["ts"]}
    assert purchase["ts"].isoformat() == "2026-12-01T16:00:00+00:00"  # epoch milliseconds
    # The columns are the table's: partitions (and the action) are not in the files.
    pages = sorted((r["session_id"], r["page"]) for part in rows.values() for r in part)
    assert pages == sorted((e["session_id"], e["page"]) for e in LAKE_EVENTS)
    assert aws.list_objects(bucket, "errors/") == []


def test_a_malformed_event_lands_under_the_error_prefix_and_a_heartbeat_nowhere(aws):
    # The page counter fails on the malformed event too (it is isolated and dead-lettered).
    aws.expect_lambda_errors(PAGE_COUNTS, error_type="BatchProcessingError")
    aws.put_records(STREAM, [("s-1", LAKE_EVENTS[0]), ("s-1", MALFORMED), ("s-1", HEARTBEAT)])
    aws.flush_delivery_streams(RAW_EVENTS)
    bucket = aws.physical_id(LAKE)

    rows = _parquet_rows(aws, bucket)
    assert {p: [r["page"] for r in part] for p, part in rows.items()} == {
        "event_date=2026-11-30/event_type=click": ["/home"]}
    [error_key] = aws.list_objects(bucket, "errors/")
    assert error_key.startswith(f"errors/{CLICKSTREAM_PREFIX}processing-failed/")
    [failure] = [json.loads(line) for line in aws.get_object(bucket, error_key).splitlines()]
    assert base64.b64decode(failure["rawData"]) == MALFORMED
    assert failure["lambdaArn"] == aws.arn(RAW_TRANSFORM)
    # The heartbeat was Dropped: neither delivered nor an error.
    everything = b"".join(aws.get_object(bucket, k) for k in aws.list_objects(bucket))
    assert b"s-heartbeat" not in everything
    assert base64.b64encode(json.dumps(HEARTBEAT).encode()) not in everything
    # One shard, so one invocation of the transform, answering for each record in order.
    [invocation] = aws.invocations(RAW_TRANSFORM)
    assert [r["result"] for r in invocation.result["records"]] == [
        "Ok", "ProcessingFailed", "Dropped"]
    assert invocation.event["sourceKinesisStreamArn"] == aws.arn(STREAM)
