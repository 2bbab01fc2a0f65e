"""Feature flags the library's builders rely on, whatever the user's cdk.json says."""

from __future__ import annotations

from constructs import Construct

#: Flags whose new behaviour the secure builders need:
#: - server access logs are granted through the log bucket's policy, not an ACL, so the
#:   log bucket can keep ACLs disabled (ObjectOwnership BucketOwnerEnforced).
LOG_DELIVERY_FLAG = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
REQUIRED_FEATURE_FLAGS = {LOG_DELIVERY_FLAG: True}


def require_feature_flags(construct: Construct) -> None:
    """Turn on :data:`REQUIRED_FEATURE_FLAGS` inside ``construct``'s subtree.

    Call it first in a pattern construct's ``__init__``: CDK allows setting context on a
    construct only before it has children. Apps with older cdk.json files then still get
    the secure behaviour, and nothing outside the construct changes.
    """
    for flag, value in REQUIRED_FEATURE_FLAGS.items():
        if construct.node.try_get_context(flag) is not value:
            construct.node.set_context(flag, value)
