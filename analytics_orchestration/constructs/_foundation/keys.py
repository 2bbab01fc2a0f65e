"""Customer-managed KMS keys."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from constructs import Construct

from .removal import stateful_removal_policy


def secure_key(scope: Construct, construct_id: str, *, description: str) -> kms.Key:
    """A symmetric key with yearly automatic rotation, RETAINed by default.

    Deleting a key makes everything encrypted with it unreadable, so it follows the
    stateful removal switch; the 30-day pending window is the longest AWS allows.
    """
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=stateful_removal_policy(scope),
    )
