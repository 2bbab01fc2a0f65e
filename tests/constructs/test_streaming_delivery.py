"""DataLakeDeliveryStream: each default and option, the validation, nag and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Size, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from analytics_orchestration import (
    CatalogOptions,
    ConfigurationError,
    DataLakeDeliveryStream,
    DataZone,
    LakeColumn,
    LakePartition,
    LakeTransform,
    ServerlessAnalytics,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.compliance import strict_profile
from tests.support import (
    cdk_json_context,
    lint_problems,
    new_stack,
    recording_acknowledgments,
    stale_acknowledgments,
)

PARTITIONS = (LakePartition.date("event_date", path="event_date"),
              LakePartition.field("event_type", values=("click", "view")))
COLUMNS = (LakeColumn("event_id"), LakeColumn("event_time", "timestamp"))


def _stream(template: Template) -> dict:
    [stream] = template.find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    return stream["Properties"]


def _lake(stack: Stack) -> ServerlessAnalytics:
    return ServerlessAnalytics(stack, "Lake", enable_athena=False,
                               catalog=CatalogOptions(crawled_zones=()))


def _full(stack: Stack, **overrides: object) -> DataLakeDeliveryStream:
    props: dict = {"data_lake": _lake(stack), "partitions": PARTITIONS, "columns": COLUMNS,
                   "transform": LakeTransform(required_fields=("event_id",))}
    props.update(overrides)
    return DataLakeDeliveryStream(stack, "Clicks", **props)


def test_direct_put_defaults_are_gzip_json_lines_with_a_cmk_and_hourly_folders():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Bucket")
    delivery = DataLakeDeliveryStream(stack, "Raw", bucket=bucket)
    template = Template.from_stack(stack)
    props = _stream(template)
    destination = props["ExtendedS3DestinationConfiguration"]
    assert props["DeliveryStreamType"] == "DirectPut"
    assert props["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == \
        "CUSTOMER_MANAGED_CMK"
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["Prefix"] == "events/"
    assert destination["ErrorOutputPrefix"] == "errors/events/!{firehose:error-output-type}/"
    assert destination["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 5}
    assert "DynamicPartitioningConfiguration" not in destination
    assert "DataFormatConversionConfiguration" not in destination
    assert delivery.table is None and delivery.transform_function is None
    template.resource_count_is("AWS::Glue::Table", 0)
    # A key is created (the bucket has none), rotating.
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_partitions_transform_and_parquet_through_the_created_table():
    stack = new_stack()
    delivery = _full(stack)
    template = Template.from_stack(stack)
    destination = _stream(template)["ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"] == ("events/event_date=!{partitionKeyFromQuery:event_date}/"
                                     "event_type=!{partitionKeyFromQuery:event_type}/")
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    # Firehose's minimums with dynamic partitioning and conversion: the default is 128 MiB.
    assert destination["BufferingHints"]["SizeInMBs"] == 128
    assert "CompressionFormat" not in destination  # Parquet's own SNAPPY
    processors = destination["ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in processors] == ["Lambda", "MetadataExtraction"]
    query = {p["ParameterName"]: p["ParameterValue"] for p in processors[1]["Parameters"]}
    assert query["MetadataExtractionQuery"] == \
        '{"event_date":.event_date,"event_type":.event_type}'
    conversion = destination["DataFormatConversionConfiguration"]
    assert "ParquetSerDe" in conversion["OutputFormatConfiguration"]["Serializer"]
    [table] = template.find_resources("AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert [k["Name"] for k in table_input["PartitionKeys"]] == ["event_date", "event_type"]
    assert table_input["Parameters"]["projection.event_type.values"] == "click,view"
    assert table_input["Parameters"]["projection.event_date.type"] == "date"
    template_text = json.dumps(table_input["Parameters"]["storage.location.template"])
    assert "/events/event_date=${event_date}/event_type=${event_type}/" in template_text
    assert [c["Name"] for c in table_input["StorageDescriptor"]["Columns"]] == [
        "event_id", "event_time"]
    # The data lake's raw bucket, its database and its key.
    assert delivery.database is not None and delivery.table is not None
    template.has_resource_properties("AWS::Lambda::Function", {"Environment": {
        "Variables": Match.object_like({"REQUIRED_FIELDS": '["event_id"]',
                                        "DATE_FIELD": "event_date"})}})
    alarms = sorted(a["Properties"]["MetricName"]
                    for a in template.find_resources("AWS::CloudWatch::Alarm").values())
    assert alarms == ["DeliveryToS3.DataFreshness", "Errors", "Throttles"]


def test_the_role_holds_only_the_documented_statements():
    stack = new_stack()
    _full(stack)
    template = Template.from_stack(stack)
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {
        "PolicyName": Match.string_like_regexp("ClicksStreamRolePolicy")}})
    [policy] = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = sorted(a for s in statements for a in (
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == sorted([
        "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads",
        "s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "kms:Decrypt",
        "kms:GenerateDataKey", "logs:PutLogEvents", "lambda:InvokeFunction",
        "lambda:GetFunctionConfiguration", "glue:GetTable", "glue:GetTableVersion",
        "glue:GetTableVersions"])
    resources = [r for s in statements for r in (
        s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert "*" not in resources  # every statement names its resources


def test_a_kinesis_source_is_read_by_the_role_and_has_no_stream_encryption():
    stack = new_stack()
    key = kms.Key(stack, "StreamKey")
    source = kinesis.Stream(stack, "Source", encryption=kinesis.StreamEncryption.KMS,
                            encryption_key=key)
    delivery = DataLakeDeliveryStream(stack, "FromStream", bucket=s3.Bucket(stack, "B"),
                                      source_stream=source)
    producer = iam.Role(stack, "Producer", assumed_by=iam.AccountRootPrincipal())
    delivery.grant_put_records(producer)
    template = Template.from_stack(stack)
    props = _stream(template)
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert "DeliveryStreamEncryptionConfigurationInput" not in props
    text = json.dumps(template.to_json())
    assert "kinesis:GetRecords" in text and "kinesis:PutRecord" in text


def test_direct_put_producers_get_put_record_on_the_stream_only():
    stack = new_stack()
    delivery = DataLakeDeliveryStream(stack, "Raw", bucket=s3.Bucket(stack, "B"))
    producer = iam.Role(stack, "Producer", assumed_by=iam.AccountRootPrincipal())
    delivery.grant_put_records(producer)
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": [Match.object_like({
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"]})]}})


def test_a_given_table_converts_and_its_partition_keys_must_match():
    stack = new_stack()
    table = glue.CfnTable(stack, "Mine", catalog_id="111111111111", database_name="lake",
                          table_input=glue.CfnTable.TableInputProperty(
                              name="mine", partition_keys=[glue.CfnTable.ColumnProperty(
                                  name="event_type", type="string")]))
    DataLakeDeliveryStream(stack, "Mine1", bucket=s3.Bucket(stack, "B"), table=table,
                           partitions=[LakePartition.field("event_type")])
    template = Template.from_stack(stack)
    assert "DataFormatConversionConfiguration" in _stream(template)[
        "ExtendedS3DestinationConfiguration"]
    template.resource_count_is("AWS::Glue::Table", 1)
    with pytest.raises(ConfigurationError, match=r"table: .*partition keys"):
        DataLakeDeliveryStream(stack, "Mine2", bucket=s3.Bucket(stack, "B2"), table=table,
                               partitions=[LakePartition.field("customer")])


@pytest.mark.parametrize(("overrides", "prop", "limit"), [
    ({"buffering_size": Size.mebibytes(32)}, "buffering_size", "64 to 128 MiB"),
    ({"buffering_interval": Duration.seconds(30)}, "buffering_interval", "60 to 900"),
    ({"buffering_interval": Duration.minutes(20)}, "buffering_interval", "60 to 900"),
])
def test_buffering_below_the_partitioning_minimums_is_one_error_naming_the_prop(
        overrides, prop, limit):
    with pytest.raises(ConfigurationError) as raised:
        _full(new_stack(), **overrides)
    assert f"{prop}:" in str(raised.value) and limit in str(raised.value)


def test_without_partitioning_or_conversion_small_buffers_are_fine():
    stack = new_stack()
    DataLakeDeliveryStream(stack, "Raw", bucket=s3.Bucket(stack, "B"),
                           buffering_size=Size.mebibytes(1), buffering_interval=Duration.seconds(0))
    assert _stream(Template.from_stack(stack))["ExtendedS3DestinationConfiguration"][
        "BufferingHints"] == {"IntervalInSeconds": 0, "SizeInMBs": 1}


def test_every_problem_is_reported_together():
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        DataLakeDeliveryStream(
            stack, "Bad", prefix="/events",
            partitions=[LakePartition.field("page"), LakePartition.field("page")],
            columns=[LakeColumn("page", "varchar"), LakeColumn("x", "nonsense")])
    message = str(raised.value)
    for prop in ("bucket:", "prefix:", "partitions:", "columns:",
                 "columns[x].type:", "database:"):
        assert prop in message, prop


@pytest.mark.parametrize(("factory", "prop"), [
    (lambda: LakePartition.field("page", path="a..b"), "path"),
    (lambda: LakePartition.field("page", values=["a/b"]), "values"),
    (lambda: LakePartition.date("day", start="yesterday"), "start"),
    (lambda: LakePartition.date("Day"), "name"),
])
def test_a_bad_partition_is_an_error_naming_its_prop(factory, prop):
    with pytest.raises(ConfigurationError, match=f"{prop}:"):
        factory()


def test_the_table_can_be_extended_by_a_subclass():
    class Tagged(DataLakeDeliveryStream):
        def _create_table(self, database: glue.IDatabase, name: str) -> glue.CfnTable:
            table = super()._create_table(database, name)
            table.add_property_override("TableInput.Parameters.owner", "web-shop")
            return table

    stack = new_stack()
    Tagged(stack, "Clicks", data_lake=_lake(stack), columns=COLUMNS)
    Template.from_stack(stack).has_resource_properties("AWS::Glue::Table", {
        "TableInput": {"Parameters": Match.object_like({"owner": "web-shop"})}})


def test_nag_clean_under_the_strict_profile_and_cfn_lint_clean(tmp_path: Path):
    """Both sources: every finding fixed or acknowledged, and every acknowledgment the
    construct makes suppresses a finding (the Kinesis source's KDF1 included)."""
    with recording_acknowledgments() as acknowledgments:
        assembly = _strict_app(tmp_path)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    ours = [a for a in acknowledgments if "/Clicks/" in a.construct_path
            or "/FromStream/" in a.construct_path]
    assert any("KDF1" in a.rule_id for a in ours)
    assert stale_acknowledgments(ours, report) == []
    template = assembly.get_stack_by_name("Lake").template
    assert lint_problems(template) == []


def _strict_app(tmp_path: Path) -> Any:
    app = App(outdir=str(tmp_path), context=cdk_json_context())
    stack = Stack(app, "Lake")
    key = blocks.secure_key(stack, "Key", description="Lake")
    topic = blocks.alarm_topic(stack, "Alarms", encryption_key=key)
    lake = ServerlessAnalytics(stack, "Lake", encryption_key=key, enable_athena=False,
                               catalog=CatalogOptions(crawled_zones=()))
    DataLakeDeliveryStream(stack, "Clicks", data_lake=lake, zone=DataZone.RAW,
                           partitions=PARTITIONS, columns=COLUMNS,
                           transform=LakeTransform(), alarm_topic=topic)
    source = kinesis.Stream(stack, "Source", encryption=kinesis.StreamEncryption.KMS,
                            encryption_key=key)
    DataLakeDeliveryStream(stack, "FromStream", data_lake=lake, zone=DataZone.CURATED,
                           source_stream=source, alarm_topic=topic)
    strict_profile(app)
    return app.synth()  # raises on any unacknowledged finding
