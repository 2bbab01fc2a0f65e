"""S3 buckets with the library's secure defaults, and their server-access-log bucket."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, FeatureFlags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from analytics_orchestration.errors import ConfigurationError

from .compliance import acknowledge
from .feature_flags import LOG_DELIVERY_FLAG
from .removal import destroy_on_removal, stateful_removal_policy

#: How long superseded object versions are kept before they expire.
DEFAULT_NONCURRENT_VERSION_EXPIRATION = Duration.days(90)
#: How long server access logs are kept.
DEFAULT_ACCESS_LOG_EXPIRATION = Duration.days(365)
#: After this long an unfinished multipart upload is aborted and its parts deleted.
ABORT_INCOMPLETE_MULTIPART_UPLOAD_AFTER = Duration.days(7)


def access_log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """The target of other buckets' server access logs.

    SSE-S3, because S3 log delivery cannot write to SSE-KMS buckets; logs expire after
    :data:`DEFAULT_ACCESS_LOG_EXPIRATION`. It does not log its own access (that would
    loop); cdk-nag's AwsSolutions-S1 already treats a bucket that another bucket of its
    stack logs to as compliant, so nothing is acknowledged here (an acknowledgment that
    matches no finding would hide a real one later).
    """
    destroy = destroy_on_removal(scope)
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=DEFAULT_ACCESS_LOG_EXPIRATION,
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_MULTIPART_UPLOAD_AFTER,
            )
        ],
        removal_policy=stateful_removal_policy(scope),
        auto_delete_objects=destroy,
    )
    # (cdk-nag's AwsSolutions-S1 already treats a bucket its stack logs to as compliant.)
    acknowledge(
        bucket, "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
        "This is the server-access-log bucket; logging its own access would loop.",
    )
    for rule_id in ("NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
                    "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check"):
        acknowledge(
            bucket, rule_id,
            "S3 server access log delivery writes only to SSE-S3 target buckets (AWS: "
            "'SSE-KMS is not supported for the destination bucket'); it holds access "
            "records, no data.",
        )
    acknowledge(
        bucket,
        "cdk-validator-cfnguard::s3_event_notifications_enabled_check",
        "Nothing acts on new access-log objects; they are read by audits and expire by "
        "lifecycle, so event delivery would only emit one event per log file.",
    )
    _acknowledge_retention_controls(bucket)
    return bucket


def _acknowledge_retention_controls(bucket: s3.Bucket) -> None:
    """Replication and Object Lock: deployment decisions the library cannot make."""
    acknowledge(
        bucket,
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        "Cross-region replication needs a destination bucket and key in a second region "
        "the library cannot choose; versioning, RETAIN and delete-protected keys guard "
        "against loss in this region. Add a replication rule through the bucket's "
        "CfnBucket where the recovery plan requires a second region.",
    )
    acknowledge(
        bucket,
        "cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check",
        "Object Lock (WORM) would block the lifecycle expiry of superseded versions and "
        "logs that the library sets to bound storage; write-once retention is a per-dataset "
        "regulatory decision, and versioning already keeps every overwritten object.",
    )


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    server_access_logs_bucket: s3.IBucket,
    server_access_logs_prefix: str,
    encryption_key: kms.IKey | None = None,
    noncurrent_version_expiration: Duration = DEFAULT_NONCURRENT_VERSION_EXPIRATION,
    event_bridge_notifications: bool = False,
    lifecycle_rules: Sequence[s3.LifecycleRule] = (),
) -> s3.Bucket:
    """A private, versioned, encrypted bucket that logs its access.

    ``lifecycle_rules`` are added after the bucket's own rule (abort incomplete multipart
    uploads, expire superseded versions), e.g. storage-class transitions.

    With ``encryption_key`` objects use SSE-KMS with an S3 bucket key (fewer KMS calls),
    otherwise SSE-S3. ``event_bridge_notifications`` turns on EventBridge delivery through
    the bucket's own ``NotificationConfiguration`` property, never through the
    ``Custom::S3BucketNotifications`` handler that ``event_bridge_enabled=True`` adds.
    """
    _require_log_delivery_by_bucket_policy(scope, construct_id, server_access_logs_bucket)
    destroy = destroy_on_removal(scope)
    bucket = s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=encryption_key is not None,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=server_access_logs_bucket,
        server_access_logs_prefix=server_access_logs_prefix,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="AbortIncompleteUploadsAndExpireOldVersions",
                noncurrent_version_expiration=noncurrent_version_expiration,
                abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_MULTIPART_UPLOAD_AFTER,
            ),
            *lifecycle_rules,
        ],
        removal_policy=stateful_removal_policy(scope),
        auto_delete_objects=destroy,
    )
    if event_bridge_notifications:
        enable_event_bridge_notifications(bucket)
    else:
        acknowledge(
            bucket,
            "cdk-validator-cfnguard::s3_event_notifications_enabled_check",
            "No workflow starts from this bucket's object events (its writers start "
            "what follows); event_bridge_notifications=True turns delivery on.",
        )
    _acknowledge_retention_controls(bucket)
    return bucket


def enable_event_bridge_notifications(bucket: s3.Bucket) -> None:
    """Send the bucket's object events to EventBridge natively (no custom resource)."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
    )


def _require_log_delivery_by_bucket_policy(
    scope: Construct, construct_id: str, logs_bucket: s3.IBucket
) -> None:
    """Fail clearly when log delivery would need an ACL on the ACL-less log bucket.

    CDK reads the flag twice: where the logged bucket is built and, to grant log delivery,
    where the log bucket was built (``Bucket.allowLogDelivery``), which is often the stack
    outside any pattern. Without the flag at either place, CDK tries to give the log bucket
    a ``LogDeliveryWrite`` ACL and synth dies in jsii (``objectOwnership must be set to
    "ObjectWriter"``). Pattern constructs turn the flag on for their own subtree
    (``require_feature_flags``); an app's own buckets need it in the app's context (every
    ``cdk init`` since 2.60 writes it to cdk.json; ``cdk synth`` passes cdk.json's context,
    ``python app.py`` alone does not).
    """
    places = [("", scope)]
    if isinstance(logs_bucket, s3.Bucket):
        places.append((f" where the log bucket {logs_bucket.node.path} was built", logs_bucket))
    for where, construct in places:
        if not FeatureFlags.of(construct).is_enabled(LOG_DELIVERY_FLAG):
            raise ConfigurationError(
                f"secure_bucket {construct_id}",
                [f"context {LOG_DELIVERY_FLAG}: is off{where}; set it to true in cdk.json "
                 "(or the app's context, App(context={...})) so server access logs are "
                 "delivered through the log bucket's policy, not an ACL the log bucket "
                 "refuses"],
            )
