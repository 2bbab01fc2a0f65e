"""The clickstream delivery into the data lake (``AnalyticsLakeDelivery``) on the harness.

Producers put JSON events on the Firehose stream as the producer role; after the buffering
interval passes on the harness clock, the events are in the raw zone as Parquet under
``clickstream/event_date=<day>/event_type=<type>/``, the partitions the Glue table's
projection reads. A malformed event lands under the error prefix, a heartbeat nowhere.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest

from analytics_orchestration.testing import OfflineAws
from stacks.lake_delivery_stack import CLICKSTREAM_PREFIX

STACK = "AnalyticsLakeDelivery"
STREAM = f"{STACK}/ClickstreamDelivery/Stream"
LAKE = f"{STACK}/DataLake/RawBucket"
#: The harness does not create Glue databases (the table names one; Firehose reads the
#: table from the deployed template).
GLUE_IGNORED = {"AWS::Glue::Database"}

EVENTS = [
    {"event_id": "e-1", "Event_Type": "click", "event_time": "2026-11-30T23:59:58+00:00",
     "session_id": "s-1", "page": "/home"},
    {"event_id": "e-2", "event_type": "view", "event_time": "2026-12-01T00:30:00+01:00",
     "session_id": "s-1", "page": "/shoes"},
    {"event_id": "e-3", "event_type": "purchase", "event_time": 1796140800000,
     "session_id": "s-2", "page": "/checkout", "amount": "59.90"},
    {"event_id": "e-4", "event_type": "click", "event_time": "2026-12-01T08:00:00Z",
     "session_id": "s-2", "page": "/shoes"},
]
HEARTBEAT = {"event_id": "e-5", "event_type": "heartbeat", "event_time": "2026-12-01T08:00:01Z"}
MALFORMED = b'{"event_id": "e-6", "event_type": "click"'  # not JSON: cut off


@pytest.fixture
def lake(example_stack) -> Iterator[OfflineAws]:
    with OfflineAws(ignore_resource_types=GLUE_IGNORED) as aws:
        aws.deploy(example_stack(STACK))
        yield aws
        aws.check_lambda_errors()


def _put_as_producer(aws: OfflineAws, records: list[bytes]) -> None:
    role = aws.arn(f"{STACK}/ClickstreamProducerRole")
    credentials = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="shop")[
        "Credentials"]
    import boto3

    firehose = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"]).client("firehose",
                                                               region_name=aws.region)
    response = firehose.put_record_batch(
        DeliveryStreamName=aws.physical_id(STREAM), Records=[{"Data": r} for r in records])
    assert response["FailedPutCount"] == 0


def _parquet_rows(aws: OfflineAws, bucket: str, prefix: str) -> dict[str, list[dict]]:
    found = {}
    for key in aws.list_objects(bucket, prefix):
        assert key.endswith(".parquet"), key
        table = pq.read_table(io.BytesIO(aws.get_object(bucket, key)))
        partition = key[len(CLICKSTREAM_PREFIX):].rsplit("/", 1)[0]
        found.setdefault(partition, []).extend(table.to_pylist())
    return found


def test_events_land_as_parquet_under_their_date_and_type(lake):
    aws = lake
    for event in EVENTS:
        aws.put_delivery_record(STREAM, event)
    bucket = aws.physical_id(LAKE)
    aws.advance(minutes=4)
    assert aws.list_objects(bucket, CLICKSTREAM_PREFIX) == []  # still buffered
    aws.advance(minutes=1)  # the 5-minute buffering interval has passed

    rows = _parquet_rows(aws, bucket, CLICKSTREAM_PREFIX)
    assert sorted(rows) == ["event_date=2026-11-30/event_type=click",
                            "event_date=2026-11-30/event_type=view",
                            "event_date=2026-12-01/event_type=click",
                            "event_date=2026-12-01/event_type=purchase"]
    # +01:00 at 00:30 is 23:30 UTC the day before: the partition is the UTC date.
    [view] = rows["event_date=2026-11-30/event_type=view"]
    assert view["event_id"] == "e-2" and view["event_time"].isoformat() == \
        "2026-11-30T23:30:00+00:00"
    [purchase] = rows["event_date=2026-12-01/event_type=purchase"]
    assert str(purchase["amount"]) == "59.90" and purchase["session_id"] == "s-2"
    # The columns are the table's: partitions are not repeated inside the files.
    assert set(purchase) == {"event_id", "event_time", "session_id", "page", "amount"}
    ids = sorted(r["event_id"] for part in rows.values() for r in part)
    assert ids == ["e-1", "e-2", "e-3", "e-4"]


def test_a_malformed_event_lands_under_the_error_prefix_and_a_heartbeat_nowhere(lake):
    aws = lake
    _put_as_producer(aws, [json.dumps(EVENTS[0]).encode(), MALFORMED,
                           json.dumps(HEARTBEAT).encode()])
    aws.flush_delivery_streams(STREAM)
    bucket = aws.physical_id(LAKE)

    rows = _parquet_rows(aws, bucket, CLICKSTREAM_PREFIX)
    assert {p: [r["event_id"] for r in part] for p, part in rows.items()} == {
        "event_date=2026-11-30/event_type=click": ["e-1"]}
    [error_key] = aws.list_objects(bucket, "errors/")
    assert error_key.startswith(f"errors/{CLICKSTREAM_PREFIX}processing-failed/")
    [failure] = [json.loads(line) for line in aws.get_object(bucket, error_key).splitlines()]
    assert base64.b64decode(failure["rawData"]) == MALFORMED
    assert failure["lambdaArn"] == aws.arn(f"{STACK}/ClickstreamDelivery/Transform")
    # The heartbeat was Dropped: neither delivered nor an error.
    everything = b"".join(aws.get_object(bucket, k) for k in aws.list_objects(bucket))
    assert b"e-5" not in everything and base64.b64encode(b'"e-5"') not in everything
    # The transform saw all three records in one invocation and answered for each.
    [invocation] = aws.invocations(f"{STACK}/ClickstreamDelivery/Transform")
    assert [r["result"] for r in invocation.result["records"]] == [
        "Ok", "ProcessingFailed", "Dropped"]
