"""The public building blocks: the foundation's builders, and the alarm topic."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk.assertions import Match, Template

from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.constructs import _foundation
from tests.support import new_stack
from tests.support_wiring import unconditioned_service_grants, wirings


def test_building_blocks_are_the_foundation_builders():
    # Each is the foundation builder itself, behind the same prop validation as the
    # patterns (tests/validation/test_prop_fuzz.py).
    for name in blocks.__all__:
        if name != "alarm_topic":
            block = getattr(blocks, name)
            assert getattr(block, "__wrapped__", block) is getattr(_foundation, name), name


def test_alarm_topic_lets_this_accounts_cloudwatch_alarms_publish_and_use_its_key():
    stack = new_stack()
    key = blocks.secure_key(stack, "Key", description="k")
    topic = blocks.alarm_topic(stack, "Alarms", encryption_key=key)
    # An alarm of the stack on it can notify: the structural walk finds nothing missing.
    cloudwatch.Alarm(stack, "Alarm", threshold=1, evaluation_periods=1,
                     metric=cloudwatch.Metric(namespace="N", metric_name="M")
                     ).add_alarm_action(cw_actions.SnsAction(topic))
    template = Template.from_stack(stack)
    conditions = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":",
            {"Ref": "AWS::AccountId"}, ":alarm:*"]]}},
    }
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Condition": conditions,
        })])}})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([
            Match.object_like({"Effect": "Deny",
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            Match.object_like({"Effect": "Allow", "Action": "sns:Publish",
                               "Principal": {"Service": "cloudwatch.amazonaws.com"},
                               "Condition": conditions}),
        ])}})
    found = wirings(template.to_json())
    assert [w.kind for w in found] == ["alarm->topic"] and found[0].problems == []
    assert unconditioned_service_grants(template.to_json()) == []
