"""The public building blocks: the foundation's builders, and the alarm topic."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs import _foundation
from tests.support import new_stack


def test_building_blocks_are_the_foundation_builders():
    # Each is the foundation builder itself, behind the same prop validation as the
    # patterns (tests/validation/test_prop_fuzz.py).
    for name in blocks.__all__:
        if name != "alarm_topic":
            block = getattr(blocks, name)
            assert getattr(block, "__wrapped__", block) is getattr(_foundation, name), name


def test_alarm_topic_lets_cloudwatch_and_eventbridge_use_its_key():
    stack = new_stack()
    key = blocks.secure_key(stack, "Key", description="k")
    blocks.alarm_topic(stack, "Alarms", encryption_key=key)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        })])}})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
