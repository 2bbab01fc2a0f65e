"""ECR repositories for the images an app builds itself."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from constructs import Construct

from .removal import stateful_removal_policy

#: Images kept per repository: the running one and enough earlier ones to roll back to.
DEFAULT_MAX_IMAGE_COUNT = 20
#: Untagged images (layers of an interrupted push) are removed after this long.
UNTAGGED_IMAGE_EXPIRY = Duration.days(1)


def secure_repository(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    max_image_count: int = DEFAULT_MAX_IMAGE_COUNT,
) -> ecr.Repository:
    """A private repository: scanned on push, immutable tags, KMS, bounded by lifecycle.

    A lifecycle policy removes untagged images after :data:`UNTAGGED_IMAGE_EXPIRY` and
    keeps the newest ``max_image_count`` images, so the repository (and its storage cost
    and scan findings of images nobody runs) does not grow forever. Immutable tags make a
    tag always mean the same image. The repository follows the stateful removal switch.
    """
    repository = ecr.Repository(
        scope,
        construct_id,
        image_scan_on_push=True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        encryption=ecr.RepositoryEncryption.KMS,
        encryption_key=encryption_key,
        removal_policy=stateful_removal_policy(scope),
        lifecycle_rules=[
            ecr.LifecycleRule(
                rule_priority=1,
                description="Remove untagged images (interrupted pushes)",
                tag_status=ecr.TagStatus.UNTAGGED,
                max_image_age=UNTAGGED_IMAGE_EXPIRY,
            ),
            ecr.LifecycleRule(
                rule_priority=2,
                description=f"Keep the newest {max_image_count} images",
                tag_status=ecr.TagStatus.ANY,
                max_image_count=max_image_count,
            ),
        ],
    )
    return repository
