"""Firehose delivery streams that archive to S3: encrypted in transit and at rest, logged.

Private to the library (see :mod:`._foundation`); imported by module path.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .compliance import acknowledge, nag_reference
from .logs import log_group as build_log_group

#: Firehose writes a file at least this often (or when the buffer fills).
DEFAULT_BUFFERING_INTERVAL = Duration.minutes(5)
DEFAULT_BUFFERING_SIZE = Size.mebibytes(5)
#: The L2 always adds this mapping (CIDR blocks for Redshift/Splunk destinations); an S3
#: destination never references it, and cfn-lint warns about unused mappings (W7001).
_UNUSED_CIDR_MAPPING_ID = "@aws-cdk--aws-kinesisfirehose.CidrBlocks"


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

    The stream's buffer is encrypted with ``encryption_key`` and so are the objects it
    writes; records Firehose cannot write go under ``errors/<prefix>``; delivery errors are
    logged to a log group with finite retention. Its one role has exactly the policy AWS
    documents for an S3 destination (:func:`s3_destination_statements`), not the L2's
    ``grant_read_write`` (which adds ``s3:DeleteObject*`` and ``s3:PutObjectRetention``)
    nor its key-wide ``GenerateDataKey*``/``ReEncrypt*``.
    """
    errors_log_group = build_log_group(scope, f"{construct_id}LogGroup")
    role = iam.Role(
        scope, f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
        description=f"Lets Firehose write {construct_id} to its archive bucket",
    )
    # The L2 grants to the role it is given; an immutable view makes those grants no-ops
    # so the role holds only the documented statements below. The same role serves as the
    # stream's own role, which a Direct PUT stream never uses (no source to read, and the
    # buffer's CMK is used through a KMS grant, not the role): no second, unused role.
    sealed = role.without_policy_updates()
    error_prefix = f"errors/{prefix}"
    stream = firehose.DeliveryStream(
        scope,
        construct_id,
        role=sealed,
        encryption=firehose.StreamEncryption.customer_managed_key(encryption_key),
        destination=firehose.S3Bucket(
            bucket,
            role=sealed,
            data_output_prefix=prefix,
            error_output_prefix=f"{error_prefix}!{{firehose:error-output-type}}/",
            compression=firehose.Compression.GZIP,
            encryption_key=encryption_key,
            buffering_interval=buffering_interval,
            buffering_size=DEFAULT_BUFFERING_SIZE,
            logging_config=firehose.EnableLogging(errors_log_group),
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
    policy = iam.Policy(scope, f"{construct_id}RolePolicy", roles=[role],
                        statements=s3_destination_statements(
                            bucket=bucket, encryption_key=encryption_key,
                            prefixes=(prefix, error_prefix), log_stream_arn=log_stream_arn))
    # Firehose checks its access to the bucket when the stream is created.
    stream.node.add_dependency(policy)
    stack.node.try_remove_child(_UNUSED_CIDR_MAPPING_ID)
    _acknowledge_prefixes(policy, bucket, (prefix, error_prefix))
    return stream


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
