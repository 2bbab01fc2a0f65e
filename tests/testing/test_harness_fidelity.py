"""Harness behaviours issue 11 reports from outputs recorded on AWS, that the public
material of ``tests/fidelity`` does not show: transformer corner cases, a non-default
account, publishing by topic name, an execution whose output is a JSON string.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing._events import transform_input

EVENT = {"version": "0", "id": "1", "detail-type": "Job", "source": "jobs",
         "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
         "resources": [], "detail": {"payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
                                     "ids": [1, 2]}}


def _transform(template: str, paths: dict[str, str] | None = None) -> str | None:
    target = {"InputTransformer": {"InputPathsMap": paths or {}, "InputTemplate": template}}
    return transform_input(target, EVENT, "R", "arn:aws:events:us-east-1:1:rule/R")


def test_a_missing_path_is_an_empty_string_not_null() -> None:
    assert json.loads(_transform('{"v": <m>}', {"m": "$.detail.absent"}) or "") == {"v": ""}
    assert _transform('"value=<m>."', {"m": "$.detail.absent"}) == '"value=."'


def test_objects_and_lists_inside_a_string_are_written_as_aws_writes_them() -> None:
    paths = {"p": "$.detail.payload", "ids": "$.detail.ids"}
    assert _transform('"Payload of <p>"', paths) == '"Payload of {acc_id:0a787ecb-4015,sf_id:baz}"'
    assert _transform("ids <ids>", paths) == "ids [1,2]"
    # as a JSON value the object stays an object
    assert json.loads(_transform('{"p": <p>}', paths) or "") == {"p": EVENT["detail"]["payload"]}


def test_the_event_variable_is_the_event_without_detail() -> None:
    value = json.loads(_transform('{"e": <aws.events.event>}') or "")["e"]
    assert "detail" not in value and value["detailType"] == "Job" and value["source"] == "jobs"
    whole = json.loads(_transform('{"e": <aws.events.event.json>}') or "")["e"]
    assert whole == EVENT


def test_a_template_yielding_invalid_json_delivers_nothing() -> None:
    assert _transform('{"p": "<p>" <p>}', {"p": "$.detail.payload"}) is None


def _rule_to_queue_template(transformer: dict[str, Any] | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"Id": "q", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}
    if transformer:
        target["InputTransformer"] = transformer
    return {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "orders"}},
        "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "sqs", "RawMessageDelivery": True,
            "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]}}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "EventPattern": {"source": ["jobs"]}, "Targets": [target]}},
        # EventBridge and SNS may send to the queue (IAM is enforced, as on AWS).
        "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                "Principal": {"Service": ["events.amazonaws.com", "sns.amazonaws.com"]}}]}}},
    }}


def test_invalid_json_from_a_template_reaches_no_target() -> None:
    with OfflineAws() as aws:
        aws.deploy(template=_rule_to_queue_template(
            {"InputPathsMap": {"p": "$.detail.p"}, "InputTemplate": '{"p": <p> <p>}'}))
        aws.put_events({"Source": "jobs", "DetailType": "Job", "Detail": {"p": 1}})
        assert aws.queue_messages("Queue") == []


def test_an_undefined_placeholder_is_rejected_at_deploy() -> None:
    with OfflineAws() as aws, pytest.raises(ClientError, match="<undefined>"):
        aws.deploy(template=_rule_to_queue_template(
            {"InputPathsMap": {}, "InputTemplate": '{"x": <undefined>}'}))


def test_a_non_default_account_delivers_rule_targets() -> None:
    with OfflineAws(account_id="111122223333") as aws:
        aws.deploy(template=_rule_to_queue_template())
        assert aws.arn("Queue").split(":")[4] == "111122223333"
        aws.put_events({"Source": "jobs", "DetailType": "Job", "Detail": {"n": 1}})
        [message] = aws.queue_messages("Queue")
        assert message.json()["account"] == "111122223333"


def test_publish_by_the_topics_physical_name() -> None:
    with OfflineAws() as aws:
        aws.deploy(template=_rule_to_queue_template())
        aws.publish("orders", {"n": 1})
        assert [m.json() for m in aws.queue_messages("Queue")] == [{"n": 1}]


def test_an_execution_whose_output_is_a_json_string() -> None:
    definition = {"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": "abc",
                                                    "End": True}}}
    with OfflineAws() as aws:
        aws.deploy(template={"Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "DefinitionString": json.dumps(definition),
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}}}}})
        execution = aws.wait_for_execution(aws.start_execution("Machine"))
        assert (execution.status, execution.output) == ("SUCCEEDED", "abc")
