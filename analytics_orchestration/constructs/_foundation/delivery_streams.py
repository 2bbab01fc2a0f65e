"""Firehose delivery streams that archive to S3: encrypted in transit and at rest, logged.

Private to the library (see :mod:`._foundation`); imported by module path.
"""

from __future__ import annotations

from aws_cdk import Duration, Size, Stack
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .compliance import acknowledge
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
    logged to a log group with finite retention. Its roles may touch only ``bucket``
    and ``encryption_key``.
    """
    errors_log_group = build_log_group(scope, f"{construct_id}LogGroup")
    stream = firehose.DeliveryStream(
        scope,
        construct_id,
        encryption=firehose.StreamEncryption.customer_managed_key(encryption_key),
        destination=firehose.S3Bucket(
            bucket,
            data_output_prefix=prefix,
            error_output_prefix=f"errors/{prefix}!{{firehose:error-output-type}}/",
            compression=firehose.Compression.GZIP,
            encryption_key=encryption_key,
            buffering_interval=buffering_interval,
            buffering_size=DEFAULT_BUFFERING_SIZE,
            logging_config=firehose.EnableLogging(errors_log_group),
        ),
    )
    stack = Stack.of(scope)
    stack.node.try_remove_child(_UNUSED_CIDR_MAPPING_ID)
    _acknowledge_l2_grants(stream, bucket, encryption_key)
    return stream


def _acknowledge_l2_grants(
    stream: firehose.DeliveryStream, bucket: s3.IBucket, encryption_key: kms.IKey
) -> None:
    """The L2 grants with ``grant_read_write``/``grant_encrypt_decrypt``: wildcards, but on
    this one bucket and this one key only."""
    key_reason = ("Firehose's L2 grants encrypt/decrypt on this one key "
                  "(GenerateDataKey*, ReEncrypt*) to buffer and write encrypted records.")
    service_role = stream.node.try_find_child("Service Role")
    destination_role = stream.node.try_find_child("S3 Destination Role")
    for role in (service_role, destination_role):
        policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
        if policy is None:
            continue
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]", key_reason)
    policy = (destination_role.node.try_find_child("DefaultPolicy")
              if destination_role is not None else None)
    if policy is None:
        return
    bucket_reason = ("Firehose's S3 destination L2 grants read/write on this one archive "
                     "bucket: it lists, writes, and cleans up failed multipart uploads.")
    for action in ("s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*"):
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]", bucket_reason)
    child = bucket.node.default_child
    logical_id = (Stack.of(bucket).resolve(Stack.of(bucket).get_logical_id(child))
                  if isinstance(child, s3.CfnBucket) else bucket.node.id)
    acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]",
                "Firehose writes objects with generated keys anywhere under its prefix in "
                "this one bucket.")
