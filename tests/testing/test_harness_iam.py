"""IAM enforced in the harness, proved both ways on the example ingestion stack.

The unmodified stack runs without a single denial (its behavioural tests run under
enforcement too); a variant with one grant removed from the synthesized template fails the
way AWS fails it, with the denied action named: in the handler (AccessDenied into the
function), in an EventBridge delivery (the event in the target's DLQ) and in an SNS
subscription (nothing delivered).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.harness import template_of_stack

STACK = "AnalyticsIngestion"
KEY = "incoming/sales/2026-11-25.csv"
Template = dict[str, Any]


@pytest.fixture(scope="module")
def ingestion(example_stack: Callable[[str], Any]) -> Any:
    return template_of_stack(example_stack(STACK))


def _logical_id(source: Any, path_suffix: str) -> str:
    [found] = [logical for logical, path in source.paths.items()
               if path.endswith(f"/{path_suffix}") or path.endswith(f"/{path_suffix}/Resource")]
    return str(found)


def _deploy(aws: OfflineAws, source: Any, edit: Callable[[Template], None] | None = None
            ) -> Template:
    template: Template = copy.deepcopy(dict(source.template))
    if edit is not None:
        edit(template)
    aws.deploy(template=template, asset_dir=source.assembly_dir, stack_name=source.stack_name)
    return template


def _statements(template: Template, logical_id: str) -> list[dict[str, Any]]:
    resource = template["Resources"][logical_id]
    properties = resource["Properties"]
    statements: list[dict[str, Any]] = properties.get("PolicyDocument", properties.get(
        "KeyPolicy", {}))["Statement"]
    return statements


def _refers_to(statement: dict[str, Any], logical_id: str) -> bool:
    return logical_id in json.dumps(statement.get("Resource", ""))


def _flow_denials(aws: OfflineAws) -> list[Any]:
    """Every denial so far, the deploy-time check of the alarm actions included."""
    return aws.iam_denials("denied")


@pytest.fixture
def enforced() -> Iterator[OfflineAws]:
    with OfflineAws(iam="enforce") as aws:
        yield aws


def _put(aws: OfflineAws, source: Any) -> None:
    aws.put_object(aws.physical_id(_logical_id(source, "Ingestion/LandingBucket")), KEY,
                   b"id,amount\n1,9\n")


def _items(aws: OfflineAws, source: Any) -> list[dict[str, Any]]:
    return aws.table_items(aws.physical_id(_logical_id(source, "Ingestion/Ledger")))


def _ledger_policy(template: Template, ledger: str, role: str) -> str:
    """The validator's policy: the AWS::IAM::Policy of its role granting access to the
    ledger (other functions, such as the reconciler, have grants of their own)."""
    [found] = [logical for logical, spec in template["Resources"].items()
               if spec["Type"] == "AWS::IAM::Policy"
               and role in json.dumps(spec["Properties"].get("Roles"))
               and any(_refers_to(s, ledger) for s in _statements(template, logical))]
    return str(found)


def _validator_ledger_policy(source: Any, template: Template) -> str:
    validator = _logical_id(source, "Ingestion/Validator")
    role = template["Resources"][validator]["Properties"]["Role"]["Fn::GetAtt"][0]
    return _ledger_policy(template, _logical_id(source, "Ingestion/Ledger"), str(role))


def _without_ledger_grant(source: Any) -> Callable[[Template], None]:
    ledger = _logical_id(source, "Ingestion/Ledger")

    def edit(template: Template) -> None:
        statements = _statements(template, _validator_ledger_policy(source, template))
        kept = [s for s in statements if not _refers_to(s, ledger)]
        assert len(kept) == len(statements) - 1, "expected one ledger statement"
        statements[:] = kept

    return edit


def test_unmodified_stack_runs_without_denials(enforced: OfflineAws, ingestion: Any) -> None:
    _deploy(enforced, ingestion)
    _put(enforced, ingestion)
    assert [row["status"] for row in _items(enforced, ingestion)] == ["ACCEPTED"]
    assert _flow_denials(enforced) == []
    assert enforced.iam_denials("unsupported") == []


def _alarm_topic_policy(template: Template, topic: str) -> list[dict[str, Any]]:
    [policy] = [logical for logical, spec in template["Resources"].items()
                if spec["Type"] == "AWS::SNS::TopicPolicy"
                and topic in json.dumps(spec["Properties"]["Topics"])]
    return _statements(template, policy)


def _cloudwatch_grant(statement: dict[str, Any]) -> bool:
    return statement["Effect"] == "Allow" and "cloudwatch.amazonaws.com" in json.dumps(
        statement.get("Principal"))


def test_alarm_topic_without_cloudwatch_grant_is_reported(enforced: OfflineAws,
                                                          ingestion: Any) -> None:
    """Alarms never fire offline: their SNS actions are asked at deploy, as CloudWatch."""
    topic = _logical_id(ingestion, "OperationsAlarms")

    def edit(template: Template) -> None:
        statements = _alarm_topic_policy(template, topic)
        statements[:] = [s for s in statements if not _cloudwatch_grant(s)]

    _deploy(enforced, ingestion, edit)
    [denial] = [d for d in enforced.iam_denials("denied") if d.via.startswith("CloudWatch")]
    assert (denial.principal, denial.action) == ("cloudwatch.amazonaws.com", "sns:Publish")
    assert denial.resource == enforced.physical_id(topic)


def test_alarm_grant_is_judged_by_its_source_arn(enforced: OfflineAws, ingestion: Any) -> None:
    """The stack's grant lets CloudWatch publish for this account's alarms only: narrowed to
    alarms of another name, the deployed alarms' actions are refused."""
    topic = _logical_id(ingestion, "OperationsAlarms")

    def edit(template: Template) -> None:
        for statement in _alarm_topic_policy(template, topic):
            if _cloudwatch_grant(statement):
                statement["Condition"]["ArnLike"]["aws:SourceArn"] = (
                    "arn:aws:cloudwatch:*:*:alarm:SomeOtherAlarm")

    _deploy(enforced, ingestion, edit)
    denials = [d for d in enforced.iam_denials("denied") if d.via.startswith("CloudWatch")]
    assert denials and {d.action for d in denials} == {"sns:Publish"}
    assert "because no resource-based policy allows the sns:Publish action" in denials[0].message


def test_removed_ledger_grant_denies_the_validator(enforced: OfflineAws, ingestion: Any) -> None:
    _deploy(enforced, ingestion, _without_ledger_grant(ingestion))
    _put(enforced, ingestion)

    assert _items(enforced, ingestion) == []
    [denial, *_] = _flow_denials(enforced)
    ledger_arn = enforced.arn(_logical_id(ingestion, "Ingestion/Ledger"))
    assert denial.action.startswith("dynamodb:") and denial.resource == ledger_arn
    assert denial.enforced
    assert "assumed-role/" in denial.message
    assert f"is not authorized to perform: {denial.action} on resource: {ledger_arn}" \
        in denial.message
    assert "because no identity-based policy allows" in denial.message
    validator = enforced.physical_id(_logical_id(ingestion, "Ingestion/Validator"))
    errors = [i.error for i in enforced.invocations(validator) if i.failed]
    assert errors and all(e is not None and denial.action in e["errorMessage"] for e in errors)


def test_report_mode_records_without_refusing(ingestion: Any) -> None:
    with OfflineAws(iam="report") as aws:
        _deploy(aws, ingestion, _without_ledger_grant(ingestion))
        _put(aws, ingestion)
        assert [row["status"] for row in _items(aws, ingestion)] == ["ACCEPTED"]
        denials = _flow_denials(aws)
        assert denials and not any(d.enforced for d in denials)
        assert {d.action for d in denials} & {"dynamodb:PutItem", "dynamodb:UpdateItem",
                                              "dynamodb:GetItem"}


def test_off_mode_evaluates_nothing(ingestion: Any) -> None:
    with OfflineAws(iam="off") as aws:
        _deploy(aws, ingestion, _without_ledger_grant(ingestion))
        _put(aws, ingestion)
        assert len(_items(aws, ingestion)) == 1
        assert aws.iam_denials() == []


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="iam must be one of"):
        OfflineAws(iam="audit")


def test_removed_function_permission_dead_letters_the_event(enforced: OfflineAws,
                                                             ingestion: Any) -> None:
    """EventBridge may not invoke the validator: the event lands in the target's DLQ with
    EventBridge's error attributes."""
    permissions = [logical for logical, spec in ingestion.template["Resources"].items()
                   if spec["Type"] == "AWS::Lambda::Permission"
                   and "IngestionValidator" in json.dumps(spec["Properties"]["FunctionName"])
                   and spec["Properties"]["Principal"] == "events.amazonaws.com"]
    assert permissions

    def edit(template: Template) -> None:
        for logical in permissions:
            del template["Resources"][logical]

    _deploy(enforced, ingestion, edit)
    _put(enforced, ingestion)
    assert _items(enforced, ingestion) == []
    dead_letters = _logical_id(ingestion, "Ingestion/ValidationDeadLetterQueue")
    [message] = enforced.queue_messages(dead_letters)
    assert message.attributes["ERROR_CODE"]["StringValue"] == "AccessDeniedException"
    assert "lambda:InvokeFunction" in message.attributes["ERROR_MESSAGE"]["StringValue"]
    [denial] = _flow_denials(enforced)
    assert denial.principal == "events.amazonaws.com"
    assert denial.via == "EventBridge rule target"


def test_removed_queue_policy_grant_stops_sns_delivery(enforced: OfflineAws,
                                                        ingestion: Any) -> None:
    policy = _logical_id(ingestion, "AuditQueue/Policy")

    def edit(template: Template) -> None:
        statements = _statements(template, policy)
        statements[:] = [s for s in statements if s["Effect"] != "Allow"]

    _deploy(enforced, ingestion, edit)
    _put(enforced, ingestion)
    assert enforced.queue_messages(_logical_id(ingestion, "AuditQueue")) == []
    assert len(enforced.queue_messages(_logical_id(ingestion, "SalesTeamQueue"))) == 1
    [denial] = _flow_denials(enforced)
    assert (denial.principal, denial.action) == ("sns.amazonaws.com", "sqs:SendMessage")
    assert denial.resource == enforced.arn(_logical_id(ingestion, "AuditQueue"))


def test_unsupported_condition_key_is_reported_and_fails_closed(enforced: OfflineAws,
                                                                 ingestion: Any) -> None:
    ledger = _logical_id(ingestion, "Ingestion/Ledger")
    remove = _without_ledger_grant(ingestion)

    def edit(template: Template) -> None:
        policy = _validator_ledger_policy(ingestion, template)
        remove(template)
        # The same grant again, conditioned on a key the harness cannot evaluate.
        _statements(template, policy).append({
            "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem",
                                          "dynamodb:UpdateItem"],
            "Resource": {"Fn::GetAtt": [ledger, "Arn"]},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}})

    _deploy(enforced, ingestion, edit)
    _put(enforced, ingestion)
    assert _items(enforced, ingestion) == []
    [unsupported, *_] = enforced.iam_denials("unsupported")
    assert "aws:PrincipalOrgID" in unsupported.message


# -- EventBridge targets delivered through the rule's DeliveryRole ----------------------
@pytest.fixture(scope="module")
def routing(example_stack: Callable[[str], Any]) -> Any:
    return template_of_stack(example_stack("AnalyticsEventRouting"))


def _etl_run_failed(aws: OfflineAws, source: Any) -> None:
    from analytics_orchestration import ETL_RUN_FAILED

    aws.put_events({
        "Source": ETL_RUN_FAILED.source, "DetailType": ETL_RUN_FAILED.detail_type,
        "Detail": {"workflow": "nightly-sales", "execution_arn": "arn:aws:states:::execution:x:1",
                   "started_at": "2026-11-25T01:00:00Z", "finished_at": "2026-11-25T01:05:00Z",
                   "status": "FAILED", "error": "States.TaskFailed", "cause": "boom"},
    }, bus=aws.physical_id(_logical_id(source, "Router/EventBus")))


@pytest.mark.parametrize(("removed", "action", "code"), [
    ("sns:Publish", "sns:Publish", "AuthorizationError"),
    ("kms:", "kms:GenerateDataKey", "KMSAccessDenied"),
])
def test_removed_delivery_role_grant_dead_letters_the_event(
        enforced: OfflineAws, routing: Any, removed: str, action: str, code: str) -> None:
    """The topic target is delivered as the rule's DeliveryRole (RoleArn on the target): the
    role's identity policy decides, and a refusal sends the event to the target's DLQ."""
    rule = _logical_id(routing, "Router/FailuresToNotifications")
    policy = _logical_id(routing, "Router/FailuresToNotifications/DeliveryRole/DefaultPolicy")
    [target] = routing.template["Resources"][rule]["Properties"]["Targets"]
    dead_letters = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]

    def edit(template: Template) -> None:
        statements = _statements(template, policy)
        kept = [s for s in statements if removed not in json.dumps(s["Action"])]
        assert len(kept) == len(statements) - 1
        statements[:] = kept

    _deploy(enforced, routing, edit)
    assert _flow_denials(enforced) == []
    _etl_run_failed(enforced, routing)

    [denial] = _flow_denials(enforced)
    assert (denial.action, denial.enforced) == (action, True)
    role = enforced.physical_id(target["RoleArn"]["Fn::GetAtt"][0])
    assert denial.principal.endswith(f":assumed-role/{role}/events")
    assert f"is not authorized to perform: {action}" in denial.message
    [message] = enforced.queue_messages(dead_letters)
    assert message.json()["detail"]["workflow"] == "nightly-sales"
    attributes = enforced.client("sqs").receive_message(
        QueueUrl=enforced.physical_id(dead_letters),
        MessageAttributeNames=["All"])["Messages"][0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == code
