"""The one switch between production-safe RETAIN and disposable development stacks.

Stateful resources (buckets, tables, keys, queues holding data, log groups) are RETAINed
by default, so deleting a stack never deletes data. Setting the context flag
``analytics-orchestration:destroy-on-removal`` to ``true`` (``cdk deploy -c
analytics-orchestration:destroy-on-removal=true``, or in ``cdk.json``) turns on DESTROY
for all of them and empties buckets on deletion (auto-delete), for development stacks.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from constructs import IConstruct

DESTROY_ON_REMOVAL_CONTEXT_KEY = "analytics-orchestration:destroy-on-removal"


def destroy_on_removal(scope: IConstruct) -> bool:
    """True when the development switch is on for ``scope``'s app."""
    value = scope.node.try_get_context(DESTROY_ON_REMOVAL_CONTEXT_KEY)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def stateful_removal_policy(scope: IConstruct) -> RemovalPolicy:
    """RETAIN unless the development switch is on, then DESTROY."""
    return RemovalPolicy.DESTROY if destroy_on_removal(scope) else RemovalPolicy.RETAIN
