"""The streaming constructs: defaults, each prop that changes the template, bring your own,
validation, and an extension-point override."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from analytics_orchestration import (
    ConfigurationError,
    ConsumerHandler,
    KinesisDataStream,
    PipeEnrichment,
    StreamConsumer,
    StreamingTable,
    StreamSource,
    StreamToStateMachinePipe,
)
from analytics_orchestration.constructs.streaming.consumer import (
    DEFAULT_MAX_RECORD_AGE,
    DEFAULT_RETRY_ATTEMPTS,
)
from tests.support import new_stack

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def _stream(stack: Stack, **props: Any) -> KinesisDataStream:
    return KinesisDataStream(stack, "Clicks", **props)


def _consumer(stack: Stack, **props: Any) -> StreamConsumer:
    props.setdefault("source", StreamSource.kinesis(_stream(stack).stream))
    props.setdefault("handler", ConsumerHandler.code(CODE))
    return StreamConsumer(stack, "Consumer", **props)


def _mapping(template: Template) -> dict[str, Any]:
    [mapping] = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    return dict(mapping["Properties"])


# --------------------------------------------------------------------------- stream


def test_stream_is_on_demand_with_a_customer_managed_key_and_24_hours_by_default():
    stack = new_stack()
    _stream(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Kinesis::Stream", {
        "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
        "RetentionPeriodHours": 24,
        "StreamEncryption": {"EncryptionType": "KMS", "KeyId": Match.any_value()},
        "ShardCount": Match.absent(),
    })
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)


def test_stream_is_provisioned_on_request_with_its_retention():
    stack = new_stack()
    _stream(stack, shard_count=3, retention_period=Duration.hours(48))
    Template.from_stack(stack).has_resource_properties("AWS::Kinesis::Stream", {
        "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "ShardCount": 3,
        "RetentionPeriodHours": 48})


@pytest.mark.parametrize("hours", [23, 8761])
def test_stream_retention_outside_kinesis_limits_is_refused(hours):
    with pytest.raises(ConfigurationError, match="retention_period"):
        _stream(new_stack(), retention_period=Duration.hours(hours))


def test_brought_stream_is_used_as_it_is_and_refuses_creation_props():
    stack = new_stack()
    mine = kinesis.Stream.from_stream_arn(stack, "Mine",
                                          "arn:aws:kinesis:us-east-1:111111111111:stream/x")
    stream = _stream(stack, stream=mine)
    assert stream.stream is mine
    assert (stream.alarms, stream.retention_period) == ([], None)
    assert not [c for c in stream.node.find_all() if isinstance(c, kinesis.CfnStream)]
    with pytest.raises(ConfigurationError, match="shard_count"):
        KinesisDataStream(stack, "Other", stream=mine, shard_count=2)


# --------------------------------------------------------------------------- consumer


def test_consumer_defaults_beat_cdk_and_solutions_constructs():
    stack = new_stack()
    _consumer(stack)
    template = Template.from_stack(stack)
    mapping = _mapping(template)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == DEFAULT_RETRY_ATTEMPTS < 500
    assert mapping["MaximumRecordAgeInSeconds"] == DEFAULT_MAX_RECORD_AGE.to_seconds() < 86400
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert "OnFailure" in mapping["DestinationConfig"]
    # The failure queue: encrypted with the consumer's key, 14 days, no redrive source.
    template.has_resource_properties("AWS::SQS::Queue", {
        "KmsMasterKeyId": Match.any_value(), "MessageRetentionPeriod": 14 * 86400})
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = sorted(a["Properties"].get("MetricName") for a in alarms.values())
    assert metrics == sorted(["IteratorAge", "Errors", "Throttles",
                              "ApproximateNumberOfMessagesVisible",
                              "GetRecords.IteratorAgeMilliseconds",
                              "WriteProvisionedThroughputExceeded"])


def test_failure_destination_grant_is_exactly_send_and_the_keys_data_key():
    stack = new_stack()
    _consumer(stack)
    template = Template.from_stack(stack)
    statements = [s for p in template.find_resources("AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]]
    sends = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert len(sends) == 1
    kms_actions = {a for s in statements for a in (
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]]) if a.startswith("kms:")}
    assert not any(a.endswith("*") for a in kms_actions)


def test_consumer_props_reach_the_mapping():
    stack = new_stack()
    _consumer(stack, starting_position=lambda_.StartingPosition.LATEST, batch_size=500,
              max_batching_window=Duration.seconds(20), parallelization_factor=4,
              bisect_batch_on_error=False, retry_attempts=0,
              max_record_age=Duration.minutes(10), tumbling_window=Duration.seconds(120),
              filters=[{"data": {"page": ["/checkout"]}}])
    mapping = _mapping(Template.from_stack(stack))
    assert (mapping["StartingPosition"], mapping["BatchSize"],
            mapping["MaximumBatchingWindowInSeconds"], mapping["ParallelizationFactor"],
            mapping["BisectBatchOnFunctionError"], mapping["MaximumRetryAttempts"],
            mapping["MaximumRecordAgeInSeconds"], mapping["TumblingWindowInSeconds"]) == (
        "LATEST", 500, 20, 4, False, 0, 600, 120)
    assert mapping["FilterCriteria"] == {
        "Filters": [{"Pattern": '{"data": {"page": ["/checkout"]}}'}]}


def test_infinite_record_age_only_when_asked_for_and_never_with_an_age():
    stack = new_stack()
    _consumer(stack, retry_until_records_expire=True)
    assert _mapping(Template.from_stack(stack))["MaximumRecordAgeInSeconds"] == -1
    with pytest.raises(ConfigurationError, match="max_record_age"):
        _consumer(new_stack(), retry_until_records_expire=True,
                  max_record_age=Duration.hours(1))


@pytest.mark.parametrize(("prop", "value"), [
    ("retry_attempts", -1), ("retry_attempts", 10_001), ("parallelization_factor", 11),
    ("max_record_age", Duration.seconds(59)), ("max_record_age", Duration.days(8)),
    ("tumbling_window", Duration.seconds(901)), ("max_batching_window", Duration.minutes(6)),
    ("batch_size", 10_001), ("batch_size", 0),
    ("starting_position", lambda_.StartingPosition.AT_TIMESTAMP),
    ("filters", [{"body": {"x": ["y"]}}]),
])
def test_consumer_refuses_values_outside_the_lambda_limits(prop, value):
    with pytest.raises(ConfigurationError, match=prop):
        _consumer(new_stack(), **{prop: value})


def test_record_age_must_leave_time_to_read_a_discarded_record_back():
    with pytest.raises(ConfigurationError, match="retention"):
        _consumer(new_stack(), max_record_age=Duration.hours(24))


def test_dynamodb_source_needs_a_stream_and_caps_batches_at_1000():
    stack = new_stack()
    table = dynamodb.Table(stack, "Plain", partition_key=dynamodb.Attribute(
        name="id", type=dynamodb.AttributeType.STRING))
    with pytest.raises(ConfigurationError, match="source"):
        _consumer(stack, source=StreamSource.dynamodb(table))
    streaming = StreamingTable(stack, "Profiles", partition_key="id")
    with pytest.raises(ConfigurationError, match="batch_size"):
        StreamConsumer(stack, "Big", source=StreamSource.dynamodb(streaming.table),
                       handler=ConsumerHandler.code(CODE), batch_size=1001)


def test_streaming_table_has_new_and_old_images_pitr_and_its_own_key():
    stack = new_stack()
    StreamingTable(stack, "Profiles", partition_key="id")
    Template.from_stack(stack).has_resource_properties("AWS::DynamoDB::Table", {
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS",
                             "KMSMasterKeyId": Match.any_value()},
    })


def test_failure_bucket_replaces_the_queue_and_grants_put_only():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Discarded", enforce_ssl=True)
    consumer = _consumer(stack, failure_bucket=bucket)
    assert consumer.failure_queue is None
    template = Template.from_stack(stack)
    assert _mapping(template)["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [stack.get_logical_id(bucket.node.default_child), "Arn"]}
    actions = {a for p in template.find_resources("AWS::IAM::Policy").values()
               for s in p["Properties"]["PolicyDocument"]["Statement"]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
               if a.startswith("s3:")}
    assert actions == {"s3:PutObject", "s3:ListBucket"}
    with pytest.raises(ConfigurationError, match="failure_bucket"):
        _consumer(new_stack(), failure_bucket=s3.Bucket(new_stack(), "B"),
                  failure_queue=sqs.Queue(new_stack(), "Q"))


def test_enhanced_fan_out_registers_a_consumer_and_maps_to_it():
    stack = new_stack()
    stream = _stream(stack)
    StreamConsumer(stack, "Consumer", source=StreamSource.kinesis(
        stream.stream, enhanced_fan_out=True, consumer_name="page-counter"),
        handler=ConsumerHandler.code(CODE))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Kinesis::StreamConsumer",
                                     {"ConsumerName": "page-counter"})
    [consumer_id] = template.find_resources("AWS::Kinesis::StreamConsumer")
    assert _mapping(template)["EventSourceArn"] == {"Fn::GetAtt": [consumer_id,
                                                                   "ConsumerARN"]}


def test_window_counter_needs_a_tumbling_window_and_gets_its_table():
    with pytest.raises(ConfigurationError, match="tumbling_window"):
        _consumer(new_stack(), handler=ConsumerHandler.window_counter(key_field="page"))
    stack = new_stack()
    consumer = _consumer(stack, handler=ConsumerHandler.window_counter(key_field="page"),
                         tumbling_window=Duration.minutes(1))
    assert consumer.aggregate_table is not None
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::DynamoDB::Table", {"KeySchema": [
        {"AttributeName": "key", "KeyType": "HASH"},
        {"AttributeName": "window", "KeyType": "RANGE"}]})
    template.has_resource_properties("AWS::Lambda::Function", {"Environment": {
        "Variables": Match.object_like({"KEY_FIELD": "page",
                                        "STREAM_EVENT_TYPE": "KinesisDataStreams"})}})


def test_subclass_can_build_its_own_function():
    class Custom(StreamConsumer):
        def _create_function(self) -> lambda_.IFunction:
            function = super()._create_function()
            assert isinstance(function, lambda_.Function)
            function.add_environment("CUSTOM", "yes")
            return function

    stack = new_stack()
    Custom(stack, "Consumer", source=StreamSource.kinesis(_stream(stack).stream),
           handler=ConsumerHandler.code(CODE))
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {
        "Environment": {"Variables": Match.object_like({"CUSTOM": "yes"})}})


# --------------------------------------------------------------------------- pipe


def _express(stack: Stack, kind: sfn.StateMachineType = sfn.StateMachineType.EXPRESS
             ) -> sfn.StateMachine:
    index = len(stack.node.children)
    return sfn.StateMachine(stack, f"Machine{index}", state_machine_type=kind,
                            definition_body=sfn.DefinitionBody.from_chainable(
                                sfn.Pass(stack, f"Pass{index}")))


def test_pipe_runs_the_express_workflow_synchronously_with_a_dead_letter_queue():
    stack = new_stack()
    StreamToStateMachinePipe(stack, "Pipe", source=StreamSource.kinesis(_stream(stack).stream),
                             state_machine=_express(stack),
                             filter_patterns=[{"data": {"bot": [True]}}])
    template = Template.from_stack(stack)
    [pipe] = template.find_resources("AWS::Pipes::Pipe").values()
    props = pipe["Properties"]
    assert props["TargetParameters"] == {
        "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE"}}
    kinesis_parameters = props["SourceParameters"]["KinesisStreamParameters"]
    assert kinesis_parameters["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"
    assert kinesis_parameters["MaximumRetryAttempts"] == DEFAULT_RETRY_ATTEMPTS
    assert kinesis_parameters["MaximumRecordAgeInSeconds"] == 6 * 3600
    assert "Arn" in kinesis_parameters["DeadLetterConfig"]
    actions = {s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"])
               for p in template.find_resources("AWS::IAM::Policy").values()
               for s in p["Properties"]["PolicyDocument"]["Statement"]}
    assert "states:StartSyncExecution" in actions
    assert "states:StartExecution" not in actions


def test_pipe_refuses_a_standard_workflow_fan_out_and_the_sqs_parser():
    stack = new_stack()
    stream = _stream(stack).stream
    with pytest.raises(ConfigurationError, match="EXPRESS"):
        StreamToStateMachinePipe(stack, "A", source=StreamSource.kinesis(stream),
                                 state_machine=_express(stack, sfn.StateMachineType.STANDARD))
    with pytest.raises(ConfigurationError, match="enhanced"):
        StreamToStateMachinePipe(stack, "B", source=StreamSource.kinesis(
            stream, enhanced_fan_out=True), state_machine=_express(stack))
    with pytest.raises(ConfigurationError, match="SQS records only"):
        StreamToStateMachinePipe(stack, "C", source=StreamSource.kinesis(stream),
                                 state_machine=_express(stack),
                                 enrichment=PipeEnrichment.sqs_record_parser())


def test_pipe_from_a_dynamodb_stream():
    stack = new_stack()
    table = StreamingTable(stack, "Profiles", partition_key="id")
    StreamToStateMachinePipe(stack, "Pipe", source=StreamSource.dynamodb(table.table),
                             state_machine=_express(stack),
                             filter_patterns=[{"eventName": ["MODIFY"]}])
    [pipe] = Template.from_stack(stack).find_resources("AWS::Pipes::Pipe").values()
    assert "DynamoDBStreamParameters" in pipe["Properties"]["SourceParameters"]
