"""The harness's Firehose: buffering, the transform contract, partitioning, Parquet, errors.

Templates are written by hand (no synth) so each behaviour is shown on its own; the
documented behaviours each test pins are named in its docstring (the Firehose developer
guide; the whole flow through a synthesized stack is ``tests/behaviour/test_streaming_flow``).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from analytics_orchestration.testing import OfflineAws, OfflineHarnessError
from analytics_orchestration.testing.services.firehose import (
    evaluate_prefix,
    evaluate_query,
    java_date_format,
)

#: A transform: Ok for objects (upper-cased "kind"), Dropped for {"drop": true},
#: ProcessingFailed for anything else; "skip" leaves the record out of the response.
TRANSFORM = '''
import base64, json
def handler(event, context):
    out = []
    for r in event["records"]:
        try:
            doc = json.loads(base64.b64decode(r["data"]))
        except ValueError:
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
            continue
        if doc.get("skip"):
            continue
        if doc.get("drop"):
            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})
            continue
        doc["kind"] = str(doc.get("kind", "")).upper()
        out.append({"recordId": r["recordId"], "result": "Ok",
                    "data": base64.b64encode((json.dumps(doc) + "\\n").encode()).decode(),
                    "metadata": {"partitionKeys": {"kind": doc["kind"]}}})
    return {"records": out}
'''


def _template(destination: dict[str, Any], *, transform: bool = False) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Lake": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Stream": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "BucketARN": {"Fn::GetAtt": ["Lake", "Arn"]},
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                **destination}}},
    }
    if transform:
        resources["TransformRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"}}]}}}
        resources["Transform"] = {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["TransformRole", "Arn"]},
            "Code": {"ZipFile": TRANSFORM}}}
        config = resources["Stream"]["Properties"]["ExtendedS3DestinationConfiguration"]
        config["ProcessingConfiguration"] = {"Enabled": True, "Processors": [{
            "Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn",
                                               "ParameterValue": {"Fn::GetAtt": [
                                                   "Transform", "Arn"]}}]},
            *config.get("ProcessingConfiguration", {}).get("Processors", [])]}
    return {"Resources": resources}


@pytest.fixture
def aws():
    with OfflineAws(iam="off") as harness:
        yield harness


def _deploy(aws: OfflineAws, destination: dict[str, Any], **kwargs: Any) -> str:
    aws.deploy(template=_template(destination, **kwargs), stack_name="Delivery")
    return aws.physical_id("Lake")


def _objects(aws: OfflineAws, bucket: str, prefix: str = "") -> dict[str, bytes]:
    return {key: aws.get_object(bucket, key) for key in aws.list_objects(bucket, prefix)}


def test_records_wait_for_the_interval_then_land_in_one_object_with_hourly_folders(aws):
    """Buffering hints; "If you don't specify a prefix ... YYYY/MM/dd/HH" (s3-prefixes)."""
    bucket = _deploy(aws, {"Prefix": "raw/",
                           "BufferingHints": {"IntervalInSeconds": 120, "SizeInMBs": 5}})
    start = aws.now
    aws.put_delivery_record("Stream", {"n": 1})
    aws.advance(seconds=60)
    aws.put_delivery_record("Stream", {"n": 2})
    assert aws.list_objects(bucket) == []
    aws.advance(seconds=60)  # 120 s after the first record
    [(key, body)] = _objects(aws, bucket).items()
    assert key.startswith("raw/" + start.astimezone(dt.UTC).strftime("%Y/%m/%d/%H/"))
    assert key.split("/")[-1].startswith(f"{aws.physical_id('Stream')}-1-")
    assert body == b'{"n": 1}{"n": 2}'  # concatenated without delimiters, as AWS does


def test_a_full_buffer_is_delivered_at_the_put_that_fills_it(aws):
    bucket = _deploy(aws, {"Prefix": "raw/",
                           "BufferingHints": {"IntervalInSeconds": 900, "SizeInMBs": 1}})
    aws.put_delivery_record("Stream", b"x" * (1024 * 1024 - 1))
    assert aws.list_objects(bucket) == []
    aws.put_delivery_record("Stream", b"y")
    assert len(aws.list_objects(bucket)) == 1


def test_gzip_and_timestamp_expressions(aws):
    bucket = _deploy(aws, {"Prefix": "logs/!{timestamp:yyyy}/!{timestamp:'day='dd}/",
                           "CompressionFormat": "GZIP"})
    aws.put_delivery_record("Stream", "line\n")
    aws.flush_delivery_streams()
    [(key, body)] = _objects(aws, bucket).items()
    now = aws.now.astimezone(dt.UTC)
    assert key.startswith(f"logs/{now:%Y}/day={now:%d}/") and key.endswith(".gz")
    assert gzip.decompress(body) == b"line\n"


def test_the_transform_contract_ok_dropped_failed_and_missing(aws):
    """Data transformation: each record's result; ProcessingFailed (and a record the
    response leaves out) goes to processing-failed/ with the documented fields."""
    bucket = _deploy(aws, {"Prefix": "out/!{partitionKeyFromLambda:kind}/",
                           "DynamicPartitioningConfiguration": {"Enabled": True},
                           "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 64}},
                     transform=True)
    for data in (b'{"kind": "a"}', b'{"kind": "b"}', b'{"drop": true}', b"nope",
                 b'{"skip": true}'):
        aws.put_delivery_record("Stream", data)
    aws.flush_delivery_streams("Stream")
    objects = _objects(aws, bucket)
    delivered = {k.split("/")[1]: v for k, v in objects.items() if k.startswith("out/")}
    assert {k: json.loads(v) for k, v in delivered.items()} == {
        "A": {"kind": "A"}, "B": {"kind": "B"}}
    [errors] = [v for k, v in objects.items() if k.startswith("errors/processing-failed/")]
    failures = [json.loads(line) for line in errors.splitlines()]
    assert [base64.b64decode(f["rawData"]) for f in failures] == [b"nope", b'{"skip": true}']
    assert {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage",
            "attemptEndingTimestamp", "rawData", "lambdaArn"} <= set(failures[0])
    assert failures[1]["errorCode"] == "Lambda.MissingRecordId"
    [invocation] = aws.invocations("Transform")
    assert set(invocation.event) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert set(invocation.event["records"][0]) == {"recordId", "approximateArrivalTimestamp",
                                                   "data"}


def test_records_without_a_partition_key_fail_partitioning(aws):
    bucket = _deploy(aws, {
        "Prefix": "by/!{partitionKeyFromQuery:customer}/",
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 64},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery",
                 "ParameterValue": '{"customer":.customer.id}'},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
    aws.put_delivery_record("Stream", {"customer": {"id": "c-1"}})
    aws.put_delivery_record("Stream", {"customer": {}})
    aws.flush_delivery_streams()
    objects = _objects(aws, bucket)
    assert [v for k, v in objects.items() if k.startswith("by/c-1/")] == [
        b'{"customer": {"id": "c-1"}}\n']
    assert any(k.startswith("errors/partitioning-failed/") for k in objects)


def _parquet_stack(aws: OfflineAws) -> str:
    template = _template({"Prefix": "t/", "BufferingHints": {"IntervalInSeconds": 60,
                                                             "SizeInMBs": 64},
                          "DataFormatConversionConfiguration": {
                              "Enabled": True,
                              "InputFormatConfiguration": {"Deserializer": {
                                  "OpenXJsonSerDe": {}}},
                              "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}},
                              "SchemaConfiguration": {"DatabaseName": "lake",
                                                      "TableName": "events",
                                                      "RoleARN": "arn:aws:iam::1:role/x"}}})
    template["Resources"]["Table"] = {"Type": "AWS::Glue::Table", "Properties": {
        "CatalogId": "123456789012", "DatabaseName": "lake", "TableInput": {
            "Name": "events", "StorageDescriptor": {"Columns": [
                {"Name": "id", "Type": "string"}, {"Name": "n", "Type": "bigint"},
                {"Name": "at", "Type": "timestamp"}]}}}}
    aws.deploy(template=template, stack_name="Parquet")
    return aws.physical_id("Lake")


def test_parquet_through_the_glue_schema_and_conversion_failures(aws):
    """Record format conversion: the table's columns (keys matched case-insensitively,
    other fields dropped); a record that does not fit goes to format-conversion-failed."""
    bucket = _parquet_stack(aws)
    aws.put_delivery_record("Stream", {"ID": "a", "n": 1, "at": "2026-12-01T10:00:00Z",
                                       "extra": True})
    aws.put_delivery_record("Stream", {"id": "b", "n": "not a number"})
    aws.flush_delivery_streams()
    objects = _objects(aws, bucket)
    [parquet] = [v for k, v in objects.items() if k.startswith("t/") and k.endswith(".parquet")]
    rows = pq.read_table(io.BytesIO(parquet)).to_pylist()
    assert rows == [{"id": "a", "n": 1,
                     "at": dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)}]
    assert any(k.startswith("errors/format-conversion-failed/") for k in objects)


SOURCE_ROLE = "arn:aws:iam::123456789012:role/firehose-source"


def _source_template(*, transform: bool = False) -> dict[str, Any]:
    """The delivery stream of :func:`_template` reading the stream ``Clicks`` of the stack
    ``Source`` (deployed first, so that records can be on it before the delivery exists)."""
    template = _template({"Prefix": "raw/!{timestamp:yyyy}/",
                          "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5}},
                         transform=transform)
    properties = template["Resources"]["Stream"]["Properties"]
    properties["DeliveryStreamType"] = "KinesisStreamAsSource"
    properties["KinesisStreamSourceConfiguration"] = {
        "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
        "RoleARN": SOURCE_ROLE}
    return template


def _deploy_source(aws: OfflineAws, *, shards: int = 2, key: bool = False) -> None:
    stream: dict[str, Any] = {"Name": "clicks", "ShardCount": shards}
    resources: dict[str, Any] = {}
    if key:
        resources["Key"] = {"Type": "AWS::KMS::Key", "Properties": {}}
        stream["StreamEncryption"] = {"EncryptionType": "KMS",
                                      "KeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    resources["Clicks"] = {"Type": "AWS::Kinesis::Stream", "Properties": stream}
    aws.deploy(template={"Resources": resources}, stack_name="Source")


def _by_shard(aws: OfflineAws) -> dict[str, list[bytes]]:
    """The data of each shard of ``clicks``, in sequence order (read with boto3)."""
    kinesis = aws.client("kinesis")
    found = {}
    for shard in kinesis.list_shards(StreamName="clicks")["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        found[shard["ShardId"]] = [r["Data"] for r in kinesis.get_records(
            ShardIterator=iterator)["Records"]]
    return found


def test_a_kinesis_source_is_read_from_latest_per_shard_in_order(aws):
    """A Kinesis stream as the source: Firehose starts at LATEST (a record already there is
    not delivered), then reads each shard in sequence order into the same buffer, whose
    interval starts at the first record read; producers cannot PutRecord to it."""
    _deploy_source(aws)
    aws.put_record("clicks", {"n": "before"}, partition_key="k-0")
    aws.deploy(template=_source_template(), stack_name="Delivery")
    bucket = aws.physical_id("Lake")
    sent = [(f"k-{i % 5}", {"n": i}) for i in range(12)]
    aws.put_records("clicks", sent)
    aws.advance(seconds=59)
    assert aws.list_objects(bucket) == []
    aws.advance(seconds=1)
    [(key, body)] = _objects(aws, bucket).items()
    assert key.startswith(f"raw/{aws.now.year}/")
    delivered = [json.loads(part) for part in body.replace(b"}{", b"}\n{").splitlines()]
    assert sorted(d["n"] for d in delivered) == list(range(12))  # "before" is not there
    # Shard by shard, each in the stream's own order.
    order = [json.loads(data) for records in _by_shard(aws).values() for data in records]
    assert delivered == [d for d in order if d["n"] != "before"]
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError, match="InvalidArgumentException"):
        aws.put_delivery_record("Stream", {"n": "direct"})


def test_a_kinesis_source_feeds_the_transform_with_its_record_metadata(aws):
    """The transform's event of a Kinesis-sourced stream: ``sourceKinesisStreamArn`` and
    each record's ``kinesisRecordMetadata`` (aws-lambda-go ``KinesisFirehoseEvent``)."""
    _deploy_source(aws, shards=1)
    aws.deploy(template=_source_template(transform=True), stack_name="Delivery")
    bucket = aws.physical_id("Lake")
    first = aws.put_record("clicks", {"kind": "view"}, partition_key="s-1")
    aws.put_record("clicks", {"drop": True}, partition_key="s-2")
    aws.flush_delivery_streams("Stream")
    [invocation] = aws.invocations("Transform")
    assert invocation.event["sourceKinesisStreamArn"] == aws.arn("Clicks")
    metadata = [r["kinesisRecordMetadata"] for r in invocation.event["records"]]
    assert [(m["partitionKey"], m["shardId"]) for m in metadata] == [
        ("s-1", first["ShardId"]), ("s-2", first["ShardId"])]
    assert metadata[0]["sequenceNumber"] == first["SequenceNumber"]
    [body] = _objects(aws, bucket).values()
    assert json.loads(body) == {"kind": "VIEW"}


def _source_role(read: bool, decrypt: bool) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]
    if read:
        statements.append({"Effect": "Allow", "Resource": "*", "Action": [
            "kinesis:DescribeStream", "kinesis:ListShards", "kinesis:GetShardIterator",
            "kinesis:GetRecords"]})
    if decrypt:
        statements.append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    return {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "firehose-source",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "firehose.amazonaws.com"}}]},
        "Policies": [{"PolicyName": "deliver", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": statements}}]}}


@pytest.mark.parametrize(("read", "decrypt", "denied_action"), [
    (True, True, None),
    (True, False, "kms:Decrypt"),
    (False, True, "kinesis:DescribeStream"),
])
def test_the_source_role_must_read_the_stream_and_decrypt_with_its_key(read, decrypt,
                                                                       denied_action):
    """Firehose reads the source as the source configuration's role: the Kinesis read
    actions on the stream and ``kms:Decrypt`` with the key of an encrypted stream. Refused,
    the records stay in the stream and nothing is delivered."""
    with OfflineAws() as aws:
        _deploy_source(aws, key=True)
        template = _source_template()
        template["Resources"]["SourceRole"] = _source_role(read, decrypt)
        stream = template["Resources"]["Stream"]["Properties"]
        stream["ExtendedS3DestinationConfiguration"]["RoleARN"] = SOURCE_ROLE
        aws.deploy(template=template, stack_name="Delivery")
        bucket = aws.physical_id("Lake")
        aws.put_records("clicks", [("k-1", {"n": 1}), ("k-2", {"n": 2})])
        aws.flush_delivery_streams()
        denials = [f for f in aws.iam_denials("denied") if "Firehose" in f.via]
        if denied_action is None:
            assert denials == []
            [body] = _objects(aws, bucket).values()
            assert sorted(json.loads(p)["n"] for p in body.replace(b"}{", b"}\n{").split(
                b"\n")) == [1, 2]
        else:
            assert aws.list_objects(bucket) == []
            assert {f.action for f in denials} == {denied_action}
            assert all(f.principal.endswith("firehose-source/firehose") for f in denials)


def test_a_write_iam_refuses_is_an_error_of_the_flush():
    with OfflineAws() as aws:  # IAM enforced: the role in the template has no policy
        _deploy(aws, {"Prefix": "raw/"})
        aws.put_delivery_record("Stream", b"x")
        with pytest.raises(OfflineHarnessError, match="cannot write"):
            aws.flush_delivery_streams()


@pytest.mark.parametrize(("query", "document", "expected"), [
    ('{"a":.a}', {"a": "x"}, {"a": "x"}),
    ('{"a":.a.b, "c": .c}', {"a": {"b": 2}}, {"a": 2, "c": None}),
    ('{"y":.t|strftime("%Y-%m")}', {"t": 1565382027}, {"y": "2019-08"}),
])
def test_jq_subset(query, document, expected):
    assert evaluate_query(query, document) == expected


def test_prefix_expressions():
    moment = dt.datetime(2026, 12, 1, 7, 5, tzinfo=dt.UTC)
    assert java_date_format("yyyy/MM/dd/HH", moment) == "2026/12/01/07"
    assert evaluate_prefix("p/!{partitionKeyFromQuery:k}/", moment=moment,
                           query_keys={"k": 3}, lambda_keys={}) == "p/3/"
    assert evaluate_prefix("p/", moment=moment, query_keys={}, lambda_keys={}) == \
        "p/2026/12/01/07/"
    assert evaluate_prefix("e/!{firehose:error-output-type}/", moment=moment, query_keys={},
                           lambda_keys={}, error_type="processing-failed") == \
        "e/processing-failed/2026/12/01/07/"
