"""Resource types CloudFormation offers in some Regions only.

cfn-lint checks every template against the resource schemas of every Region it ships, and
reports E3006 ("resource type does not exist in <region>") for a type some Regions lack
(MSK Serverless, OpenSearch Serverless and Ingestion, Pipes, MWAA, the zero-ETL
integrations...). Such a stack deploys only where the type exists: the constructs say
which Regions lack it in their docstrings, and turn E3006 off on that one resource, so
the check still covers every other resource of the template.
``tests/stacks/test_region_support.py`` recomputes the Regions from the installed
cfn-lint and fails when an exception is missing or stale.
"""

from __future__ import annotations

from aws_cdk import CfnResource

__all__ = ["available_in_some_regions_only"]


def available_in_some_regions_only(resource: CfnResource) -> None:
    """Tell cfn-lint (E3006) that ``resource``'s type is not offered in every Region."""
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3006"]}})
