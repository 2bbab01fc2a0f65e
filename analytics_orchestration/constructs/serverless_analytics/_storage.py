"""The data lake: three zone buckets under one key, logging to one access-log bucket."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._foundation import access_log_bucket, secure_bucket
from .options import DataLakeOptions, DataZone


@dataclass(frozen=True)
class DataLake:
    access_logs_bucket: s3.IBucket
    buckets: Mapping[DataZone, s3.Bucket]


def tiering_rule(options: DataLakeOptions) -> s3.LifecycleRule | None:
    """Infrequent access, then archive, as the options say (None when neither)."""
    transitions = []
    if options.infrequent_access_after is not None:
        transitions.append(s3.Transition(
            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
            transition_after=options.infrequent_access_after,
        ))
    if options.archive_after is not None:
        transitions.append(s3.Transition(
            storage_class=options.archive_storage_class,
            transition_after=options.archive_after,
        ))
    if not transitions:
        return None
    return s3.LifecycleRule(id="TierByAge", transitions=transitions)


def build_data_lake(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    server_access_logs_bucket: s3.IBucket | None,
    options: DataLakeOptions,
    lifecycle_rules: Callable[[DataZone], Sequence[s3.LifecycleRule]],
) -> DataLake:
    """One secure bucket per zone (SSE-KMS with a bucket key, versioned, TLS only,
    access-logged under ``<zone>/``) with ``lifecycle_rules(zone)`` after the
    foundation's abort-incomplete-uploads and old-version-expiry rule."""
    logs_bucket = server_access_logs_bucket or access_log_bucket(scope, "AccessLogs")
    buckets = {
        zone: secure_bucket(
            scope,
            f"{zone.name.capitalize()}Bucket",
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix=f"{zone.value}/",
            encryption_key=encryption_key,
            noncurrent_version_expiration=options.noncurrent_version_expiration,
            lifecycle_rules=lifecycle_rules(zone),
        )
        for zone in DataZone
    }
    return DataLake(access_logs_bucket=logs_bucket, buckets=buckets)
