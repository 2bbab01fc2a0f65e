"""Firehose delivery streams into S3: encrypted in transit and at rest, logged, one role.

Private to the library (see :mod:`._foundation`); imported by module path.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Size, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .compliance import acknowledge, nag_reference
from .logs import log_group as build_log_group

#: Firehose writes a file at least this often (or when the buffer fills).
DEFAULT_BUFFERING_INTERVAL = Duration.minutes(5)
DEFAULT_BUFFERING_SIZE = Size.mebibytes(5)
#: Buffering limits of an S3 destination (``BufferingHints``): 0-900 seconds, 1-128 MiB.
MAX_BUFFERING_INTERVAL = Duration.seconds(900)
MIN_BUFFERING_SIZE = Size.mebibytes(1)
MAX_BUFFERING_SIZE = Size.mebibytes(128)
#: With dynamic partitioning or record format conversion on, Firehose needs a buffer of at
#: least 64 MiB (and, with dynamic partitioning, an interval of at least 60 seconds: zero
#: buffering is not available). aws-cdk-lib's S3 destination enforces the same limits, and
#: defaults the size to 128 MiB there, as AWS's console does:
#: https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html and
#: https://docs.aws.amazon.com/firehose/latest/dev/buffering.html
MIN_PARTITIONED_BUFFERING_SIZE = Size.mebibytes(64)
MIN_PARTITIONED_BUFFERING_INTERVAL = Duration.seconds(60)
DEFAULT_PARTITIONED_BUFFERING_SIZE = Size.mebibytes(128)
#: How long Firehose retries delivery to S3 of a partition whose write failed.
DEFAULT_PARTITIONING_RETRY_DURATION = Duration.seconds(300)
#: Firehose retries a failed transform invocation 3 times (its documented default), then
#: sends the batch's records to the error prefix as ``processing-failed``:
#: https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html
DEFAULT_TRANSFORM_RETRIES = 3
#: The error prefix of a stream: where Firehose writes what it could not process, one
#: folder per error type (``processing-failed``, ``format-conversion-failed``, ...).
ERROR_OUTPUT_TYPE = "!{firehose:error-output-type}"
#: The L2 always adds this mapping (CIDR blocks for Redshift/Splunk destinations); an S3
#: destination never references it, and cfn-lint warns about unused mappings (W7001).
_UNUSED_CIDR_MAPPING_ID = "@aws-cdk--aws-kinesisfirehose.CidrBlocks"


def error_output_prefix(prefix: str) -> str:
    """``errors/<prefix>!{firehose:error-output-type}/``: the error prefix of ``prefix``.

    Outside ``prefix``, so a Glue table over ``prefix`` never reads failed records.
    """
    return f"errors/{prefix}{ERROR_OUTPUT_TYPE}/"


def archive_delivery_stream(
    scope: Construct,
    construct_id: str,
    *,
    bucket: s3.IBucket,
    encryption_key: kms.IKey,
    prefix: str,
    buffering_interval: Duration = DEFAULT_BUFFERING_INTERVAL,
) -> firehose.DeliveryStream:
    """A Direct PUT stream writing GZIP files under ``prefix`` of ``bucket``.

    :func:`s3_delivery_stream` with GZIP compression and the default buffer size.
    """
    return s3_delivery_stream(
        scope, construct_id, bucket=bucket, encryption_key=encryption_key, prefix=prefix,
        error_prefix=error_output_prefix(prefix), buffering_interval=buffering_interval,
        buffering_size=DEFAULT_BUFFERING_SIZE, compression=firehose.Compression.GZIP,
        role_description=f"Lets Firehose write {construct_id} to its archive bucket",
    )


def s3_delivery_stream(
    scope: Construct,
    construct_id: str,
    *,
    bucket: s3.IBucket,
    encryption_key: kms.IKey,
    prefix: str,
    error_prefix: str,
    buffering_interval: Duration,
    buffering_size: Size,
    compression: firehose.Compression | None = None,
    source_stream: kinesis.IStream | None = None,
    processors: Sequence[firehose.IDataProcessor] = (),
    dynamic_partitioning: bool = False,
    data_format_conversion: firehose.DataFormatConversionProps | None = None,
    extra_statements: Sequence[iam.PolicyStatement] = (),
    role_description: str | None = None,
) -> firehose.DeliveryStream:
    """A stream writing to ``prefix`` of ``bucket``, with one exactly-scoped role.

    - the source is Direct PUT, or ``source_stream`` (a Kinesis stream the role reads);
    - a Direct PUT stream's buffer is encrypted with ``encryption_key`` (a stream reading
      Kinesis is encrypted by that stream's own encryption: Firehose refuses SSE there),
      and so are the objects it writes;
    - records Firehose cannot process or write go under ``error_prefix`` (which must hold
      :data:`ERROR_OUTPUT_TYPE`), delivery errors are logged to a log group with finite
      retention;
    - its one role has exactly the policy AWS documents for an S3 destination
      (:func:`s3_destination_statements`), the source's read statements
      (:func:`kinesis_source_statements`) and ``extra_statements`` (a transform's invoke,
      a schema's Glue reads), not the L2's grants: ``grant_read_write`` adds
      ``s3:DeleteObject*`` and ``s3:PutObjectRetention``, the key grants are key-wide
      ``GenerateDataKey*``/``ReEncrypt*``, and a schema grant is ``glue:GetSchemaVersion``
      on ``*``.
    """
    errors_log_group = build_log_group(scope, f"{construct_id}LogGroup")
    role = iam.Role(
        scope, f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
        description=role_description or f"Lets Firehose write {construct_id} to its bucket",
    )
    # The L2 grants to the role it is given; an immutable view makes those grants no-ops
    # so the role holds only the documented statements below. The same role serves as the
    # stream's own role: a Direct PUT stream never uses it (no source to read, and the
    # buffer's CMK is used through a KMS grant, not the role); a Kinesis source is read
    # with it.
    sealed = role.without_policy_updates()
    stream = firehose.DeliveryStream(
        scope,
        construct_id,
        role=sealed,
        source=firehose.KinesisStreamSource(source_stream) if source_stream else None,
        encryption=(None if source_stream is not None
                    else firehose.StreamEncryption.customer_managed_key(encryption_key)),
        destination=firehose.S3Bucket(
            bucket,
            role=sealed,
            data_output_prefix=prefix,
            error_output_prefix=error_prefix,
            compression=compression,
            encryption_key=encryption_key,
            buffering_interval=buffering_interval,
            buffering_size=buffering_size,
            logging_config=firehose.EnableLogging(errors_log_group),
            processors=list(processors) or None,
            dynamic_partitioning=firehose.DynamicPartitioningProps(
                enabled=True, retry_duration=DEFAULT_PARTITIONING_RETRY_DURATION,
            ) if dynamic_partitioning else None,
            data_format_conversion=data_format_conversion,
        ),
    )
    log_stream = errors_log_group.node.try_find_child("S3Destination")
    assert isinstance(log_stream, logs.LogStream)
    stack = Stack.of(scope)
    log_stream_arn = stack.format_arn(
        service="logs", resource="log-group",
        resource_name=f"{errors_log_group.log_group_name}:log-stream:"
                      f"{log_stream.log_stream_name}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    # The bucket-side grants cover everything under the literal part of each prefix
    # (Firehose evaluates the expressions at run time).
    prefixes = (_literal_part(prefix), _literal_part(error_prefix))
    statements = s3_destination_statements(
        bucket=bucket, encryption_key=encryption_key, prefixes=prefixes,
        log_stream_arn=log_stream_arn)
    if source_stream is not None:
        statements += kinesis_source_statements(source_stream)
    policy = iam.Policy(scope, f"{construct_id}RolePolicy", roles=[role],
                        statements=[*statements, *extra_statements])
    # Firehose checks its access to the bucket (and source, schema) when it is created.
    stream.node.add_dependency(policy)
    stack.node.try_remove_child(_UNUSED_CIDR_MAPPING_ID)
    _acknowledge_prefixes(policy, bucket, prefixes)
    return stream


def _literal_part(prefix: str) -> str:
    """``prefix`` up to its first ``!{...}`` expression."""
    return prefix.split("!{", 1)[0]


def kinesis_source_statements(stream: kinesis.IStream) -> list[iam.PolicyStatement]:
    """What Firehose needs of a Kinesis source: AWS's "Grant Firehose access to ... a
    Kinesis data stream" (describe, list shards, iterate and read this one stream), and
    ``kms:Decrypt`` of the stream's key through Kinesis when it has a CMK:
    https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html
    """
    statements = [iam.PolicyStatement(
        sid="ReadTheSourceStream",
        actions=["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                 "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
        resources=[stream.stream_arn])]
    if stream.encryption_key is not None:
        statements.append(iam.PolicyStatement(
            sid="DecryptTheSourceStream", actions=["kms:Decrypt"],
            resources=[stream.encryption_key.key_arn],
            conditions={"StringEquals": {
                "kms:ViaService": f"kinesis.{Stack.of(stream).region}.amazonaws.com"}}))
    return statements


def transform_statements(function: lambda_.IFunction) -> list[iam.PolicyStatement]:
    """Invoke the transform function (and read its configuration, which Firehose checks):
    AWS's "Grant Firehose access to AWS Lambda for data transformation", on the function
    and its versions only."""
    return [iam.PolicyStatement(
        sid="InvokeTheTransform",
        actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
        resources=[function.function_arn, f"{function.function_arn}:*"])]


def schema_statements(scope: Construct, *, database_name: str,
                      table_name: str) -> list[iam.PolicyStatement]:
    """Read the Glue table whose schema record format conversion uses: the catalog, the
    database and that table, ``GetTable*`` only (the L2 adds ``glue:GetSchemaVersion`` on
    ``*``, which only a schema-registry schema needs)."""
    stack = Stack.of(scope)
    return [iam.PolicyStatement(
        sid="ReadTheTableSchema",
        actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
        resources=[
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=database_name),
            stack.format_arn(service="glue", resource="table",
                             resource_name=f"{database_name}/{table_name}"),
        ])]


def metric_data_freshness(stream: firehose.IDeliveryStream,
                          period: Duration = DEFAULT_BUFFERING_INTERVAL) -> cloudwatch.Metric:
    """``DeliveryToS3.DataFreshness``: the age (seconds) of the oldest record in Firehose
    not yet delivered to S3, Maximum per period."""
    return cloudwatch.Metric(
        namespace="AWS/Firehose", metric_name="DeliveryToS3.DataFreshness",
        dimensions_map={"DeliveryStreamName": stream.delivery_stream_name},
        period=period, statistic="Maximum")


def s3_destination_statements(
    *,
    bucket: s3.IBucket,
    encryption_key: kms.IKey,
    prefixes: Sequence[str],
    log_stream_arn: str,
) -> list[iam.PolicyStatement]:
    """AWS's "Grant Firehose access to an Amazon S3 destination", exactly, scoped.

    The six S3 actions (bucket-level ones on the bucket, object-level ones under the
    stream's prefixes); ``kms:Decrypt``/``kms:GenerateDataKey`` on the key only when S3
    uses it for this bucket (``kms:ViaService`` and the ``aws:s3:arn`` encryption context,
    which is the bucket ARN when S3 Bucket Keys are on and the object ARN otherwise);
    ``logs:PutLogEvents`` on the stream's own log stream. No delete, no retention.
    """
    stack = Stack.of(bucket)
    objects = [bucket.arn_for_objects(f"{p}*") for p in prefixes]
    return [
        iam.PolicyStatement(
            sid="ListTheArchiveBucket",
            actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
            resources=[bucket.bucket_arn]),
        iam.PolicyStatement(
            sid="WriteArchiveObjects",
            actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            resources=objects),
        iam.PolicyStatement(
            sid="EncryptArchiveObjectsThroughS3",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[encryption_key.key_arn],
            conditions={
                "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket.bucket_arn,
                                                                     *objects]},
            }),
        iam.PolicyStatement(
            sid="LogDeliveryErrors", actions=["logs:PutLogEvents"],
            resources=[log_stream_arn]),
    ]


def _acknowledge_prefixes(policy: iam.Policy, bucket: s3.IBucket, prefixes: Sequence[str]) -> None:
    """Firehose names the objects it writes (time-partitioned keys) under each prefix."""
    for prefix in prefixes:
        objects = nag_reference(policy, bucket.arn_for_objects(f"{prefix}*"))
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{objects}]",
                    "Firehose writes objects with generated, time-partitioned keys under "
                    "this prefix of this one bucket; the keys are only known at run time.")
