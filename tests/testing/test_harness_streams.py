"""The stream emulation: Kinesis and DynamoDB Streams read by event source mappings.

Templates are written by hand (no synth) so each behaviour is set up in isolation: record
age on the virtual clock, CDK's default of retrying forever (a blocked shard), the S3
on-failure destination, DynamoDB stream view types and enhanced fan-out consumers.
"""

from __future__ import annotations

import json
from typing import Any

FAILING = '''
def handler(event, context):
    raise RuntimeError("poison")
'''
OK = '''
def handler(event, context):
    return {"batchItemFailures": []}
'''


def _template(mapping: dict[str, Any], code: str = FAILING, *,
              source: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
        "Failures": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        # Lambda sends to the on-failure destination as the function's role.
        "Policy": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "destinations", "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["sqs:SendMessage", "s3:PutObject"],
                "Resource": "*"}]}}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": code}}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "EventSourceArn": source or {"Fn::GetAtt": ["Stream", "Arn"]},
            "FunctionName": {"Ref": "Function"}, "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"], **mapping}},
        **(extra or {}),
    }
    return {"Resources": resources}


def _deploy(aws, template: dict[str, Any]) -> dict[str, Any]:
    aws.deploy(template=template, stack_name="Streams")
    return {r.logical_id: r for r in aws.resources if r.stack_name == "Streams"}


def test_records_older_than_the_maximum_age_are_discarded_on_the_virtual_clock(offline_aws):
    aws = offline_aws
    aws.expect_lambda_errors(error_type="RuntimeError")
    ids = _deploy(aws, _template({"MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": 60,
                                  "DestinationConfig": {"OnFailure": {"Destination": {
                                      "Fn::GetAtt": ["Failures", "Arn"]}}}}))
    aws.put_record(ids["Stream"].arn, {"n": 1}, partition_key="k")
    # Retried forever (-1) but not yet too old: the shard is blocked behind the record.
    assert aws.blocked_shards("Function") == ["shardId-000000000000"]
    assert aws.queue_messages("Failures") == []
    aws.advance(seconds=61)
    [message] = aws.queue_messages("Failures")
    record = message.json()
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["KinesisBatchInfo"]["batchSize"] == 1
    assert aws.blocked_shards("Function") == []


def test_cdk_defaults_retry_forever_and_block_the_shard(offline_aws):
    """KinesisEventSource's defaults: no retry limit, no maximum age, no destination."""
    aws = offline_aws
    aws.expect_lambda_errors(error_type="RuntimeError")
    ids = _deploy(aws, _template({"FunctionResponseTypes": []}))
    aws.put_record(ids["Stream"].arn, {"n": 1}, partition_key="k")
    aws.put_record(ids["Stream"].arn, {"n": 2}, partition_key="k")
    assert aws.blocked_shards("Function") == ["shardId-000000000000"]
    events = [i.event for i in aws.invocations("Function")]
    assert {len(e["Records"]) for e in events} == {1}  # the second record never arrives
    assert all(e["Records"][0]["kinesis"]["sequenceNumber"] == "1" for e in events)
    aws.advance(days=1)  # still blocked: nothing ever gives up on the record
    assert aws.blocked_shards("Function") == ["shardId-000000000000"]


def test_s3_on_failure_destination_gets_the_metadata_and_the_batch(offline_aws):
    aws = offline_aws
    aws.expect_lambda_errors(error_type="RuntimeError")
    bucket = {"Discarded": {"Type": "AWS::S3::Bucket", "Properties": {}}}
    ids = _deploy(aws, _template({"MaximumRetryAttempts": 0, "DestinationConfig": {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["Discarded", "Arn"]}}}}, extra=bucket))
    aws.put_record(ids["Stream"].arn, {"n": 1}, partition_key="k")
    [key] = aws.list_objects("Discarded")
    mapping_id = ids["Mapping"].physical_id
    assert key.startswith(f"aws/lambda/{mapping_id}/shardId-000000000000/")
    body = json.loads(aws.client("s3").get_object(
        Bucket=ids["Discarded"].physical_id, Key=key)["Body"].read())
    assert body["requestContext"]["approximateInvokeCount"] == 1
    [record] = body["payload"]["Records"]
    assert json.loads(__import__("base64").b64decode(record["kinesis"]["data"])) == {"n": 1}


def test_dynamodb_stream_records_carry_the_images_of_the_view_type(offline_aws, tmp_path):
    aws = offline_aws
    code = '''
import json
seen = []
def handler(event, context):
    seen.extend(event["Records"])
    return {}
'''
    table = {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamViewType": "OLD_IMAGE"}}}}
    ids = _deploy(aws, _template({}, code, source={"Fn::GetAtt": ["Table", "StreamArn"]},
                                 extra=table))
    ddb = aws.client("dynamodb")
    name = ids["Table"].physical_id
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "a"}, "v": {"N": "2"}})
    ddb.delete_item(TableName=name, Key={"id": {"S": "a"}})
    aws.settle()
    records = [r for i in aws.invocations("Function") for r in i.event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert ["NewImage" in r["dynamodb"] for r in records] == [False, False, False]
    assert [r["dynamodb"].get("OldImage", {}).get("v") for r in records] == [
        None, {"N": "1"}, {"N": "2"}]
    assert {r["eventSourceARN"] for r in records} == {ids["Table"].attributes["StreamArn"]}
    assert {r["awsRegion"] for r in records} == {aws.region}


def test_enhanced_fan_out_consumer_is_read_like_its_stream(offline_aws):
    aws = offline_aws
    consumer = {"Consumer": {"Type": "AWS::Kinesis::StreamConsumer", "Properties": {
        "StreamARN": {"Fn::GetAtt": ["Stream", "Arn"]}, "ConsumerName": "fan-out"}}}
    ids = _deploy(aws, _template({}, OK, source={"Fn::GetAtt": ["Consumer", "ConsumerARN"]},
                                 extra=consumer))
    aws.put_record(ids["Stream"].arn, {"n": 1}, partition_key="k")
    [invocation] = aws.invocations("Function")
    assert invocation.event["Records"][0]["eventSourceARN"] == ids["Stream"].arn
