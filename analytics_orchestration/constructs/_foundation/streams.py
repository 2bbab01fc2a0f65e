"""Kinesis data streams: on-demand unless provisioned, encrypted with a customer-managed key.

Private to the library (see :mod:`._foundation`); imported by module path.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from .compliance import acknowledge
from .removal import stateful_removal_policy

#: How long records stay readable: Kinesis's own minimum and default, made explicit. A
#: consumer that falls further behind than this loses records, so the consumers' maximum
#: record age is checked against it.
DEFAULT_STREAM_RETENTION = Duration.hours(24)
#: Kinesis's limits on the retention period (CreateStream / IncreaseStreamRetentionPeriod).
MIN_STREAM_RETENTION = Duration.hours(24)
MAX_STREAM_RETENTION = Duration.hours(8760)


def secure_stream(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    shard_count: int | None = None,
    retention_period: Duration = DEFAULT_STREAM_RETENTION,
) -> kinesis.Stream:
    """A stream encrypted with ``encryption_key`` (never the AWS-managed ``aws/kinesis``).

    On-demand capacity unless ``shard_count`` is given (then provisioned with that many
    shards): on-demand scales with the write rate and costs nothing per idle shard-hour
    beyond its base, which is what an analytics feed of unknown volume needs. The stream
    follows the stateful removal switch: its records are data.
    """
    stream = kinesis.Stream(
        scope,
        construct_id,
        encryption=kinesis.StreamEncryption.KMS,
        encryption_key=encryption_key,
        stream_mode=(kinesis.StreamMode.ON_DEMAND if shard_count is None
                     else kinesis.StreamMode.PROVISIONED),
        shard_count=shard_count,
        retention_period=retention_period,
        removal_policy=stateful_removal_policy(scope),
    )
    acknowledge(
        stream.node.default_child or stream,
        "AwsSolutions::AwsSolutions-KDS3",
        "The stream is encrypted with a customer-managed key on purpose: its key policy "
        "names who may read the records, the key rotates, and its use is logged per key; "
        "the AWS-managed aws/kinesis key allows every principal of the account with "
        "Kinesis access.",
    )
    return stream
