"""The ``offline_aws`` fixture's options (its marker) and the ``offline_aws_factory`` fixture,
and that the advice of :class:`UnsupportedResourceError` works exactly as written."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from analytics_orchestration.testing import OfflineAws, UnsupportedResourceError

ODD_TYPE = "AWS::Glue::Registry"
#: A Glue schema registry the harness cannot create, and a queue whose name reads its
#: attribute.
TEMPLATE: dict[str, Any] = {"Resources": {
    "Db": {"Type": ODD_TYPE, "Properties": {"Name": "analytics"}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": {"Fn::Join": ["-", [{"Fn::GetAtt": ["Db", "RegistryName"]}, "q"]]}}},
}}
ADVICE = re.compile(r"Pass (ignore_resource_types=\{[^}]*\}) to OfflineAws\(\.\.\.\) or to "
                    r"@pytest\.mark\.offline_aws\(\.\.\.\)")


def test_the_error_gives_advice_that_is_valid_python(offline_aws: OfflineAws) -> None:
    with pytest.raises(UnsupportedResourceError) as caught:
        offline_aws.deploy(template=TEMPLATE)
    advice = ADVICE.search(str(caught.value))
    assert advice is not None, str(caught.value)
    name, _, literal = advice.group(1).partition("=")
    assert (name, ast.literal_eval(literal)) == ("ignore_resource_types", {ODD_TYPE})


# The advice, pasted verbatim into the marker (the test above checks it is what the error
# says): the type deploys as a no-op and a reference to any of its attributes resolves.
@pytest.mark.offline_aws(ignore_resource_types={'AWS::Glue::Registry'})
def test_following_the_advice_in_the_marker_deploys(offline_aws: OfflineAws) -> None:
    offline_aws.deploy(template=TEMPLATE)
    assert offline_aws.resource("Db").resource_type == ODD_TYPE
    assert offline_aws.physical_id("Queue").endswith("/Db-q")


def test_following_the_advice_in_the_constructor_deploys() -> None:
    with OfflineAws(ignore_resource_types={'AWS::Glue::Registry'}) as aws:
        aws.deploy(template=TEMPLATE)
        assert aws.resource("Db").resource_type == ODD_TYPE


@pytest.mark.offline_aws(account_id="111122223333", region="eu-west-1")
def test_marker_sets_account_and_region(offline_aws: OfflineAws) -> None:
    assert (offline_aws.account_id, offline_aws.region) == ("111122223333", "eu-west-1")
    offline_aws.deploy(template={"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert offline_aws.arn("Q").startswith("arn:aws:sqs:eu-west-1:111122223333:")


@pytest.mark.offline_aws(region="eu-west-1")
class TestClassMarker:
    @pytest.mark.offline_aws(region="ap-south-1", max_deliveries_without_dlq=1)
    def test_the_closest_marker_wins_option_by_option(self, offline_aws: OfflineAws) -> None:
        assert offline_aws.region == "ap-south-1"
        assert offline_aws.max_deliveries_without_dlq == 1

    def test_the_class_marker_applies(self, offline_aws: OfflineAws) -> None:
        assert offline_aws.region == "eu-west-1"


def test_unmarked_fixture_uses_the_defaults(offline_aws: OfflineAws) -> None:
    assert (offline_aws.account_id, offline_aws.region) == ("123456789012", "us-east-1")


def test_factory_creates_a_configured_harness(offline_aws_factory: Any) -> None:
    aws = offline_aws_factory(account_id="210987654321")
    assert aws.account_id == "210987654321"
    aws.deploy(template={"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert ":210987654321:" in aws.arn("Q")


def test_marker_options_must_be_keywords() -> None:
    from analytics_orchestration.testing.pytest_plugin import marker_options

    class Node:
        def iter_markers(self, name: str) -> list[Any]:
            return [pytest.mark.offline_aws("us-east-1").mark]

    with pytest.raises(TypeError, match="keyword arguments only"):
        marker_options(Node())  # type: ignore[arg-type]
