"""EventDrivenIngestion: each default and each option, asserted on small templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template

from analytics_orchestration import (
    DESTROY_ON_REMOVAL_CONTEXT_KEY,
    OBJECT_ACCEPTED,
    OBJECT_NOTIFICATION_FIELDS,
    OBJECTS_RECONCILED,
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    ObjectValidationRules,
    ReconciliationSweep,
    TargetRetryPolicy,
)
from tests.support import new_stack
from tests.support_wiring import wirings


def _rules_by_pattern(template: Template) -> dict[str, dict[str, Any]]:
    """Rules keyed by their detail-type (Object Created / ObjectAccepted)."""
    rules = {}
    for rule in template.find_resources("AWS::Events::Rule").values():
        rules[rule["Properties"]["EventPattern"]["detail-type"][0]] = rule["Properties"]
    return rules


def _logical_id(construct: Any) -> str:
    stack = Stack.of(construct)
    return stack.resolve(stack.get_logical_id(construct.node.default_child))


@pytest.fixture(scope="module")
def default_pipeline() -> tuple[EventDrivenIngestion, Template]:
    stack = new_stack()
    queue = sqs.Queue(stack, "Downstream")
    ingestion = EventDrivenIngestion(stack, "Ingestion", targets=[IngestionTarget.queue(queue)])
    return ingestion, Template.from_stack(stack)


@pytest.fixture(scope="module")
def full_pipeline() -> tuple[EventDrivenIngestion, Template, dict[str, Any]]:
    stack = new_stack()
    bus = events.EventBus(stack, "Bus")
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    function = lambda_.Function(
        stack, "Consumer", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    queue = sqs.Queue(stack, "Work")
    topic = sns.Topic(stack, "Notify")
    audit = sqs.Queue(stack, "Audit")
    sales = sqs.Queue(stack, "Sales")
    alarm_topic = sns.Topic(stack, "Alarms")
    ingestion = EventDrivenIngestion(
        stack,
        "Ingestion",
        key_prefixes=["incoming/", "b*x/"],
        key_suffixes=[".csv", ".json"],
        minimum_object_size=1,
        validation_rules=ObjectValidationRules(
            allowed_suffixes=[".csv", ".json"], max_object_size_bytes=1000, reject_empty=False,
            quarantine_prefix="rejected/",
        ),
        event_bus=bus,
        targets=[
            IngestionTarget.state_machine(machine),
            IngestionTarget.function(function),
            IngestionTarget.queue(queue),
            IngestionTarget.topic(topic),
        ],
        target_retry=TargetRetryPolicy(max_event_age=Duration.hours(2), retry_attempts=10),
        fan_out_subscribers=[
            FanOutSubscriber(audit),
            FanOutSubscriber(sales, filter_policy_with_message_body={
                "key": sns.FilterOrPolicy.filter(
                    sns.SubscriptionFilter.string_filter(match_prefixes=["incoming/sales/"]))
            }),
        ],
        alarm_topic=alarm_topic,
    )
    handles = {"bus": bus, "machine": machine, "function": function, "queue": queue,
               "topic": topic, "audit": audit, "sales": sales, "alarm_topic": alarm_topic}
    return ingestion, Template.from_stack(stack), handles


# ------------------------------------------------------------------ landing bucket


def test_created_bucket_sends_events_natively(default_pipeline):
    ingestion, template = default_pipeline
    bucket = template.to_json()["Resources"][_logical_id(ingestion.bucket)]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert bucket["DeletionPolicy"] == "Retain"
    template.resource_count_is("Custom::S3BucketNotifications", 0)
    # No notification handler function either: the only function is the validator.
    template.resource_count_is("AWS::Lambda::Function", 1)


def test_created_bucket_is_encrypted_with_the_pipeline_key_and_logged(default_pipeline):
    ingestion, template = default_pipeline
    props = template.to_json()["Resources"][_logical_id(ingestion.bucket)]["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [_logical_id(ingestion.encryption_key), "Arn"]
    }
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "landing/"
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_brought_bucket_gets_native_event_bridge_and_no_new_bucket():
    stack = new_stack()
    mine = s3.Bucket(stack, "Mine")
    ingestion = EventDrivenIngestion(
        stack, "Ingestion", bucket=mine, targets=[IngestionTarget.queue(sqs.Queue(stack, "Q"))]
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource_properties("AWS::S3::Bucket", {
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    })
    assert ingestion.bucket is mine


def test_imported_bucket_warns_that_events_must_be_enabled():
    stack = new_stack()
    imported = s3.Bucket.from_bucket_name(stack, "Imported", "partner-drop")
    EventDrivenIngestion(stack, "Ingestion", bucket=imported)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("turn on its EventBridge notifications")
    )
    assert len(warnings) == 1


# ------------------------------------------------------------------ object created rule


def test_default_pattern_matches_bucket_and_skips_quarantine(default_pipeline):
    ingestion, template = default_pipeline
    pattern = _rules_by_pattern(template)["Object Created"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": _logical_id(ingestion.bucket)}]
    assert pattern["detail"]["object"] == {"key": [{"anything-but": {"prefix": "quarantine/"}}]}


def test_prefixes_suffixes_and_size_combine_into_wildcards(full_pipeline):
    _, template, _ = full_pipeline
    obj = _rules_by_pattern(template)["Object Created"]["EventPattern"]["detail"]["object"]
    assert obj["key"] == [
        {"wildcard": "incoming/*.csv"}, {"wildcard": "incoming/*.json"},
        {"wildcard": "b\\*x/*.csv"}, {"wildcard": "b\\*x/*.json"},
    ]
    assert obj["size"] == [{"numeric": [">=", 1]}]


@pytest.mark.parametrize(("prefixes", "suffixes", "expected"), [
    (["a/"], None, [{"prefix": "a/"}]),
    (None, [".csv"], [{"suffix": ".csv"}]),
])
def test_prefix_only_and_suffix_only_filters(prefixes, suffixes, expected):
    stack = new_stack()
    EventDrivenIngestion(stack, "Ingestion", key_prefixes=prefixes, key_suffixes=suffixes)
    pattern = _rules_by_pattern(Template.from_stack(stack))["Object Created"]["EventPattern"]
    assert pattern["detail"]["object"]["key"] == expected


def test_validator_is_the_object_created_target_with_dlq_retry_and_compact_input(
    default_pipeline,
):
    ingestion, template = default_pipeline
    [target] = _rules_by_pattern(template)["Object Created"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_logical_id(ingestion.validator.function), "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400,
                                     "MaximumRetryAttempts": 185}
    assert "DeadLetterConfig" in target
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {
        "detail-bucket-name": "$.detail.bucket.name",
        "detail-object-key": "$.detail.object.key",
        "detail-object-size": "$.detail.object.size",
        "detail-object-etag": "$.detail.object.etag",
        "detail-object-version-id": "$.detail.object.version-id",
        "time": "$.time",
    }
    template_fields = transformer["InputTemplate"]
    for field in OBJECT_NOTIFICATION_FIELDS:
        assert f'"{field}":<' in template_fields


# ------------------------------------------------------------------ validation stage


def test_validator_environment_carries_the_rules(full_pipeline):
    ingestion, template, handles = full_pipeline
    fn = template.to_json()["Resources"][_logical_id(ingestion.validator.function)]
    env = fn["Properties"]["Environment"]["Variables"]
    assert json.loads(env["ALLOWED_SUFFIXES"]) == [".csv", ".json"]
    assert env["MAX_OBJECT_SIZE_BYTES"] == "1000"
    assert env["REJECT_EMPTY"] == "false"
    assert env["QUARANTINE_PREFIX"] == "rejected/"
    assert env["EVENT_SOURCE"] == OBJECT_ACCEPTED.source
    assert env["ACCEPTED_DETAIL_TYPE"] == "ObjectAccepted"
    assert env["REJECTED_DETAIL_TYPE"] == "ObjectRejected"
    assert not any(name.startswith("IDEMPOTENCY_") for name in env)
    assert env["EVENT_BUS_NAME"] == {"Ref": _logical_id(handles["bus"])}
    assert env["LEDGER_TABLE_NAME"] == {"Ref": _logical_id(ingestion.ledger_table)}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "AnalyticsOrchestration/Ingestion"


def test_default_rules_reach_the_validator(default_pipeline):
    ingestion, template = default_pipeline
    env = template.to_json()["Resources"][_logical_id(ingestion.validator.function)][
        "Properties"]["Environment"]["Variables"]
    assert env["ALLOWED_SUFFIXES"] == "[]"
    assert env["MAX_OBJECT_SIZE_BYTES"] == str(5 * 1024**3)
    assert env["REJECT_EMPTY"] == "true"
    assert env["QUARANTINE_PREFIX"] == "quarantine/"
    assert env["EVENT_BUS_NAME"] == "default"


def test_the_ledger_is_the_only_table_of_the_validator(default_pipeline):
    """The ledger's conditional claim is the validator's idempotency: no second table."""
    ingestion, template = default_pipeline
    resources = template.to_json()["Resources"]
    ledger = resources[_logical_id(ingestion.ledger_table)]
    assert ledger["Properties"]["KeySchema"] == [{"AttributeName": "object_id", "KeyType": "HASH"}]
    assert ledger["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True}
    assert ledger["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::GetAtt": [_logical_id(ingestion.encryption_key), "Arn"]}
    assert ledger["DeletionPolicy"] == "Retain"
    tables = [logical_id for logical_id, resource in resources.items()
              if resource["Type"] == "AWS::DynamoDB::Table"]
    assert tables == [_logical_id(ingestion.ledger_table)]


def test_validator_permissions_are_exact(full_pipeline):
    ingestion, template, handles = full_pipeline
    policy = template.to_json()["Resources"][
        _logical_id(ingestion.validator.role.node.find_child("DefaultPolicy"))]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s.get("Sid"): s for s in statements}
    bucket_arn = {"Fn::GetAtt": [_logical_id(ingestion.bucket), "Arn"]}
    assert sorted(by_sid["WriteQuarantinedObjects"]["Action"]) == [
        "s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectTagging"]
    assert by_sid["TellMissingObjectsFromForbiddenOnes"] == {
        "Sid": "TellMissingObjectsFromForbiddenOnes", "Effect": "Allow",
        "Action": "s3:ListBucket", "Resource": bucket_arn}
    assert by_sid["WriteQuarantinedObjects"]["Resource"] == {
        "Fn::Join": ["", [bucket_arn, "/rejected/*"]]}
    assert sorted(by_sid["ReadAndRemoveLandedObjects"]["Action"]) == [
        "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectTagging",
        "s3:GetObjectVersion", "s3:GetObjectVersionTagging"]
    # Read and delete only under the watched prefixes, never the whole bucket.
    assert by_sid["ReadAndRemoveLandedObjects"]["Resource"] == [
        {"Fn::Join": ["", [bucket_arn, f"/{prefix}*"]]} for prefix in ("b*x/", "incoming/")]
    put_events = [s for s in statements if s["Action"] == "events:PutEvents"]
    assert put_events[0]["Resource"] == {"Fn::GetAtt": [_logical_id(handles["bus"]), "Arn"]}
    ledger_actions = [s["Action"] for s in statements if s["Resource"] == [
        {"Fn::GetAtt": [_logical_id(ingestion.ledger_table), "Arn"]}, {"Ref": "AWS::NoValue"}]
        or s["Resource"] == {"Fn::GetAtt": [_logical_id(ingestion.ledger_table), "Arn"]}]
    # The claim returns the stored row when its condition fails: the validator never reads.
    assert ledger_actions and sorted(ledger_actions[0]) == [
        "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert all(s["Resource"] != "*" or s["Action"][0].startswith("xray:") for s in statements)


# ------------------------------------------------------------------ routing


def test_accepted_rule_routes_every_target_kind_with_dlq_and_retry(full_pipeline):
    ingestion, template, handles = full_pipeline
    accepted = _rules_by_pattern(template)["ObjectAccepted"]
    assert accepted["EventBusName"] == {"Ref": _logical_id(handles["bus"])}
    assert accepted["EventPattern"] == {
        "source": [OBJECT_ACCEPTED.source], "detail-type": ["ObjectAccepted"],
        "detail": {"bucket": [{"Ref": _logical_id(ingestion.bucket)}]},
    }
    arns = [json.dumps(t["Arn"]) for t in accepted["Targets"]]
    for name in ("machine", "function", "queue", "topic"):
        assert any(_logical_id(handles[name]) in arn for arn in arns), name
    assert any(_logical_id(ingestion.fan_out_topic) in arn for arn in arns)
    for target in accepted["Targets"]:
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200,
                                         "MaximumRetryAttempts": 10}
        assert "DeadLetterConfig" in target
        assert target["InputTransformer"]["InputPathsMap"]["detail-key"] == "$.detail.key"
    dlq_arns = {json.dumps(t["DeadLetterConfig"]["Arn"]) for t in accepted["Targets"]}
    assert len(dlq_arns) == len(accepted["Targets"]), "one DLQ per target"


def test_without_validation_targets_hang_off_object_created():
    stack = new_stack()
    queue = sqs.Queue(stack, "Q")
    ingestion = EventDrivenIngestion(
        stack, "Ingestion", enable_validation=False, targets=[IngestionTarget.queue(queue)]
    )
    template = Template.from_stack(stack)
    rules = _rules_by_pattern(template)
    assert list(rules) == ["Object Created"]
    [target] = rules["Object Created"]["Targets"]
    assert target["InputTransformer"]["InputPathsMap"]["detail-object-key"] == "$.detail.object.key"
    assert "detail" not in rules["Object Created"]["EventPattern"] or "object" not in rules[
        "Object Created"]["EventPattern"]["detail"], "no quarantine to skip without validation"
    template.resource_count_is("AWS::Lambda::Function", 0)
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    assert ingestion.ledger_table is None and ingestion.validator is None


def test_fifo_queue_target_passes_message_group():
    stack = new_stack()
    queue = sqs.Queue(stack, "Q", fifo=True)
    EventDrivenIngestion(stack, "Ingestion", targets=[
        IngestionTarget.queue(queue, message_group_id="landing")])
    target = _rules_by_pattern(Template.from_stack(stack))["ObjectAccepted"]["Targets"][0]
    assert target["SqsParameters"] == {"MessageGroupId": "landing"}


def test_no_accepted_rule_without_targets_or_subscribers():
    stack = new_stack()
    ingestion = EventDrivenIngestion(stack, "Ingestion")
    assert ingestion.accepted_rule is None
    assert list(_rules_by_pattern(Template.from_stack(stack))) == ["Object Created"]


# ------------------------------------------------------------------ fan-out


def test_fan_out_topic_and_subscriptions(full_pipeline):
    ingestion, template, handles = full_pipeline
    topic = template.to_json()["Resources"][_logical_id(ingestion.fan_out_topic)]
    assert topic["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [_logical_id(ingestion.encryption_key), "Arn"]}
    subscriptions = template.find_resources("AWS::SNS::Subscription")
    assert len(subscriptions) == 2
    for subscription in subscriptions.values():
        props = subscription["Properties"]
        assert props["RawMessageDelivery"] is True
        assert "deadLetterTargetArn" in json.dumps(props["RedrivePolicy"])
    sales = next(s["Properties"] for s in subscriptions.values()
                 if _logical_id(handles["sales"]) in json.dumps(s["Properties"]["Endpoint"]))
    assert sales["FilterPolicyScope"] == "MessageBody"
    assert sales["FilterPolicy"] == {"key": [{"prefix": "incoming/sales/"}]}
    # The rule publishes through its own role (may publish, may use the key); the topic and
    # its key grant EventBridge nothing for publishing. The key's one EventBridge statement
    # lets this account's rules write to the dead-letter queues the key encrypts.
    key_statements = template.to_json()["Resources"][_logical_id(ingestion.encryption_key)][
        "Properties"]["KeyPolicy"]["Statement"]
    assert [s.get("Sid") for s in key_statements
            if "events.amazonaws.com" in json.dumps(s.get("Principal"))] == [
        "EventBridgeDeadLetters"]
    assert [w for w in wirings(template.to_json()) if w.kind == "rule->topic"
            and w.destination == _logical_id(ingestion.fan_out_topic) and not w.problems]


# ------------------------------------------------------------------ alarms


def test_alarms_cover_dlqs_validator_and_rules(full_pipeline):
    ingestion, template, handles = full_pipeline
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    # 5 target DLQs + validator target DLQ + validator failure queue + 2 subscription DLQs
    assert len(ingestion.dead_letter_queues) == 9
    assert len(alarms) == 9 + 2 + 2 == len(ingestion.alarms)
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms.values())
    assert metrics.count("ApproximateNumberOfMessagesVisible") == 9
    assert metrics.count("FailedInvocations") == 2
    assert {"Errors", "Throttles"} <= set(metrics)
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": _logical_id(handles["alarm_topic"])}]


# ------------------------------------------------------------------ helpers and switches


def test_grants_and_metrics():
    stack = new_stack()
    ingestion = EventDrivenIngestion(stack, "Ingestion")
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    assert ingestion.grant_read_ledger(role).success
    assert ingestion.grant_upload(role).success
    metric = ingestion.metric_objects_rejected()
    assert metric.metric_name == "ObjectsRejected"
    assert metric.namespace == "AnalyticsOrchestration/Ingestion"
    assert metric.dimensions == {"service": ingestion._service_name}
    resources = Template.from_stack(stack).to_json()["Resources"]
    env = resources[_logical_id(ingestion.validator.function)]["Properties"]["Environment"][
        "Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == ingestion._service_name
    reader_policy = json.dumps(resources[_logical_id(role.node.find_child("DefaultPolicy"))])
    assert "dynamodb:GetItem" in reader_policy and "s3:PutObject" in reader_policy
    assert _logical_id(ingestion.ledger_table) in reader_policy


def test_helpers_without_validation_raise_clearly():
    stack = new_stack()
    ingestion = EventDrivenIngestion(stack, "Ingestion", enable_validation=False,
                                     targets=[IngestionTarget.queue(sqs.Queue(stack, "Q"))])
    with pytest.raises(ValueError, match="no ledger"):
        ingestion.grant_read_ledger(iam.Role(stack, "R", assumed_by=iam.AccountRootPrincipal()))
    with pytest.raises(ValueError, match="no validation stage"):
        ingestion.metric_objects_accepted()


def test_destroy_switch_applies_to_the_pipeline():
    stack = new_stack(context={DESTROY_ON_REMOVAL_CONTEXT_KEY: True})
    EventDrivenIngestion(stack, "Ingestion")
    template = Template.from_stack(stack)
    for type_name in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"):
        for resource in template.find_resources(type_name).values():
            assert resource["DeletionPolicy"] == "Delete"


# ------------------------------------------------------------------ extension points


class _CsvOnlyIngestion(EventDrivenIngestion):
    """A subclass that ingests only `.csv` objects and tightens the size rule."""

    def _object_created_pattern(self) -> events.EventPattern:
        return events.EventPattern(
            source=["aws.s3"], detail_type=["Object Created"],
            detail={"bucket": {"name": [self.bucket.bucket_name]},
                    "object": {"key": [{"suffix": ".csv"}]}},
        )

    def _validation_rules(self) -> ObjectValidationRules:
        return ObjectValidationRules(allowed_suffixes=[".csv"], max_object_size_bytes=10)


def test_subclass_overrides_pattern_and_rules():
    stack = new_stack()
    ingestion = _CsvOnlyIngestion(stack, "Ingestion")
    template = Template.from_stack(stack)
    pattern = _rules_by_pattern(template)["Object Created"]["EventPattern"]
    assert pattern["detail"]["object"] == {"key": [{"suffix": ".csv"}]}
    env = template.to_json()["Resources"][_logical_id(ingestion.validator.function)][
        "Properties"]["Environment"]["Variables"]
    assert env["ALLOWED_SUFFIXES"] == '[".csv"]'
    assert env["MAX_OBJECT_SIZE_BYTES"] == "10"


def test_builds_in_an_app_without_any_feature_flags():
    """A user's app may have an old cdk.json (or none): the secure log bucket still works."""
    from aws_cdk import App

    stack = Stack(App(), "Bare")
    EventDrivenIngestion(stack, "Ingestion")
    template = Template.from_stack(stack)
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert "AccessControl" not in bucket["Properties"]
        assert bucket["Properties"]["OwnershipControls"] == {
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


# ------------------------------------------------------------------ reconciliation sweep


@pytest.fixture(scope="module")
def swept_pipeline() -> tuple[EventDrivenIngestion, Template]:
    stack = new_stack()
    ingestion = EventDrivenIngestion(
        stack, "Ingestion", key_prefixes=["incoming/", "b*x/"], key_suffixes=[".csv"],
        minimum_object_size=1,
        validation_rules=ObjectValidationRules(quarantine_prefix="rejected/"),
        reconciliation=ReconciliationSweep(
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(30)),
            overlap=Duration.hours(2), minimum_age=Duration.minutes(1), max_objects_per_run=500,
        ),
        alarm_topic=sns.Topic(stack, "Alarms"),
    )
    return ingestion, Template.from_stack(stack)


def test_reconciliation_is_off_by_default(default_pipeline):
    ingestion, template = default_pipeline
    assert ingestion.reconciler is None and ingestion.reconciliation_schedule is None
    template.resource_count_is("AWS::Scheduler::Schedule", 0)
    template.resource_count_is("AWS::SSM::Parameter", 0)
    template.resource_count_is("AWS::Lambda::Function", 1)  # the validator only
    with pytest.raises(ValueError, match="no reconciliation sweep"):
        ingestion.metric_objects_reconciled()


def test_reconciliation_schedule_invokes_the_sweep_with_its_scheduled_time(swept_pipeline):
    ingestion, template = swept_pipeline
    [schedule] = template.find_resources("AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "rate(30 minutes)"
    target = properties["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [_logical_id(ingestion.reconciler.function), "Arn"]}
    # The shape tests/behaviour/test_reconciliation_flow.py invokes the sweep with.
    assert json.loads(target["Input"]) == {
        "trigger": "schedule", "scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400,
                                     "MaximumRetryAttempts": 185}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
        "IngestionReconciliationScheduleDeadLetterQueue")
    role = template.to_json()["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert set(trust["Condition"]["StringEquals"]) == {"aws:SourceAccount", "aws:SourceArn"}


def test_reconciler_environment_mirrors_the_object_created_rule(swept_pipeline):
    ingestion, template = swept_pipeline
    function = template.to_json()["Resources"][_logical_id(ingestion.reconciler.function)]
    env = function["Properties"]["Environment"]["Variables"]
    assert {name: env[name] for name in (
        "KEY_PREFIXES", "KEY_SUFFIXES", "MINIMUM_OBJECT_SIZE", "QUARANTINE_PREFIX",
        "EVENT_SOURCE", "RECONCILED_DETAIL_TYPE", "OVERLAP_SECONDS", "MINIMUM_AGE_SECONDS",
        "MAX_OBJECTS_PER_RUN")} == {
        "KEY_PREFIXES": '["incoming/", "b*x/"]', "KEY_SUFFIXES": '[".csv"]',
        "MINIMUM_OBJECT_SIZE": "1", "QUARANTINE_PREFIX": "rejected/",
        "EVENT_SOURCE": OBJECTS_RECONCILED.source,
        "RECONCILED_DETAIL_TYPE": OBJECTS_RECONCILED.detail_type,
        "OVERLAP_SECONDS": "7200", "MINIMUM_AGE_SECONDS": "60", "MAX_OBJECTS_PER_RUN": "500"}
    assert env["VALIDATOR_FUNCTION_NAME"] == {
        "Fn::GetAtt": [_logical_id(ingestion.validator.function), "Arn"]}
    assert env["LEDGER_TABLE_NAME"] == {"Ref": _logical_id(ingestion.ledger_table)}
    assert env["STATE_PARAMETER_NAME"] == {"Ref": _logical_id(ingestion.reconciliation_state)}
    # Same metrics dimension as the validator, so metric_objects_reconciled finds it.
    assert env["POWERTOOLS_SERVICE_NAME"] == ingestion._service_name
    assert function["Properties"]["Timeout"] == 300
    metric = ingestion.metric_objects_reconciled()
    assert (metric.metric_name, metric.dimensions) == (
        "ObjectsReconciled", {"service": ingestion._service_name})


def test_reconciler_permissions_are_exact(swept_pipeline):
    ingestion, template = swept_pipeline
    resources = template.to_json()["Resources"]
    policy = resources[_logical_id(ingestion.reconciler.role.node.find_child("DefaultPolicy"))]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s.get("Sid"): s for s in statements if s.get("Sid")}
    assert by_sid["ListLandedObjectVersions"] == {
        "Sid": "ListLandedObjectVersions", "Effect": "Allow", "Action": "s3:ListBucketVersions",
        "Resource": {"Fn::GetAtt": [_logical_id(ingestion.bucket), "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": ["incoming/*", "b*x/*"]}}}
    assert by_sid["RedriveThroughTheValidator"]["Resource"] == {
        "Fn::GetAtt": [_logical_id(ingestion.validator.function), "Arn"]}
    assert by_sid["KeepTheSweepState"]["Action"] == ["ssm:GetParameter", "ssm:PutParameter"]
    assert _logical_id(ingestion.reconciliation_state) in json.dumps(
        by_sid["KeepTheSweepState"]["Resource"])
    unnamed = {json.dumps(s["Action"]): s["Resource"] for s in statements if not s.get("Sid")}
    assert unnamed['"dynamodb:BatchGetItem"'] == {
        "Fn::GetAtt": [_logical_id(ingestion.ledger_table), "Arn"]}
    assert unnamed['"kms:Decrypt"'] == {
        "Fn::GetAtt": [_logical_id(ingestion.encryption_key), "Arn"]}
    assert '"events:PutEvents"' in unnamed
    # Nothing that writes objects or the ledger: the sweep only reads and re-drives.
    actions = json.dumps([s["Action"] for s in statements])
    for forbidden in ("s3:GetObject", "s3:PutObject", "s3:Delete", "dynamodb:PutItem",
                      "dynamodb:UpdateItem", "dynamodb:Scan"):
        assert forbidden not in actions


def test_reconciler_lists_the_whole_bucket_without_prefixes():
    stack = new_stack()
    ingestion = EventDrivenIngestion(stack, "Ingestion", reconciliation=ReconciliationSweep())
    policy = Template.from_stack(stack).to_json()["Resources"][
        _logical_id(ingestion.reconciler.role.node.find_child("DefaultPolicy"))]
    [listing] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"]
                 if s.get("Sid") == "ListLandedObjectVersions"]
    assert "Condition" not in listing


def test_reconciliation_defaults():
    sweep = ReconciliationSweep()
    assert sweep.schedule.expression_string == "rate(1 hour)"
    assert (sweep.overlap.to_seconds(), sweep.minimum_age.to_seconds()) == (3600, 300)
    assert sweep.max_objects_per_run == 10_000


def test_reconciliation_alarms_cover_sweep_errors_and_its_dead_letter_queues(swept_pipeline):
    ingestion, template = swept_pipeline
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    by_id = {logical_id: alarm["Properties"] for logical_id, alarm in alarms.items()}
    [errors] = [p for lid, p in by_id.items() if lid.startswith("IngestionReconcilerErrorsAlarm")]
    assert errors["MetricName"] == "Errors"
    assert errors["Dimensions"] == [{"Name": "FunctionName",
                                     "Value": {"Ref": _logical_id(ingestion.reconciler.function)}}]
    assert errors["AlarmActions"]
    for queue_id in ("IngestionReconcilerFailureQueueAlarm",
                     "IngestionReconciliationScheduleDeadLetterQueueAlarm"):
        assert any(lid.startswith(queue_id) for lid in by_id), queue_id
    assert ingestion.reconciler.failure_queue in ingestion.dead_letter_queues
