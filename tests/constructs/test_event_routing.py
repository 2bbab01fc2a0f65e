"""EventRouter, NotificationFanOut and QueueToStateMachinePipe: each default and option."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template

from analytics_orchestration import (
    ETL_RUN_FAILED,
    JOB_FAILED,
    OBJECT_ACCEPTED,
    ConfigurationError,
    EventRouter,
    NotificationFanOut,
    PipeEnrichment,
    PipeLogLevel,
    QueueToStateMachinePipe,
    RouteTarget,
    RoutingRule,
    TargetRetryPolicy,
    TopicSubscription,
    WorkflowSubscription,
    catalog_pattern,
    detail_input,
)
from analytics_orchestration.constructs._foundation import target_dead_letter_queue
from tests.support import new_stack


def _id(construct: Any) -> str:
    stack = Stack.of(construct)
    child = construct.node.default_child or construct
    return stack.resolve(stack.get_logical_id(child))


def _resource(template: Template, construct: Any) -> dict[str, Any]:
    return template.to_json()["Resources"][_id(construct)]


def _machine(stack: Stack, name: str = "Machine") -> sfn.StateMachine:
    return sfn.StateMachine(stack, name, definition_body=sfn.DefinitionBody.from_chainable(
        sfn.Pass(stack, f"{name}Pass")))


def _alarm_metrics(template: Template) -> list[tuple[str, str]]:
    return sorted((a["Properties"]["Namespace"], a["Properties"]["MetricName"])
                  for a in template.find_resources("AWS::CloudWatch::Alarm").values())


# =============================================================================== router


@pytest.fixture(scope="module")
def default_router() -> tuple[EventRouter, Template, dict[str, Any]]:
    stack = new_stack()
    queue = sqs.Queue(stack, "Work")
    router = EventRouter(stack, "Router", rules=[RoutingRule(
        "Orders", events.EventPattern(source=["shop"]), targets=[RouteTarget.queue(queue)])])
    return router, Template.from_stack(stack), {"queue": queue}


@pytest.fixture(scope="module")
def full_router() -> tuple[EventRouter, Template, dict[str, Any]]:
    stack = new_stack()
    machine = _machine(stack)
    function = lambda_.Function(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    fifo = sqs.Queue(stack, "Fifo", fifo=True)
    topic = sns.Topic(stack, "Topic")
    other_bus = events.EventBus.from_event_bus_arn(
        stack, "Central", "arn:aws:events:eu-west-1:111122223333:event-bus/central")
    connection = events.Connection(stack, "Conn", authorization=events.Authorization.api_key(
        "x-api-key", __import__("aws_cdk").SecretValue.unsafe_plain_text("k")))
    destination = events.ApiDestination(stack, "Api", connection=connection,
                                        endpoint="https://example.com/hook")
    alarm_topic = sns.Topic(stack, "Alarms")
    transformed = detail_input(OBJECT_ACCEPTED, {"k": "key"}, envelope={"at": "time"},
                               constants={"v": 1})
    router = EventRouter(
        stack, "Router",
        event_bus_name="analytics-platform",
        enable_archive=True,
        archive_retention=Duration.days(30),
        put_events_accounts=["111122223333"],
        put_events_organization_id="o-abcdefghij",
        rules=[
            RoutingRule.for_events(
                "Accepted", OBJECT_ACCEPTED,
                detail={"key": events.Match.prefix("in/"), "size": events.Match.greater_than(10),
                        "etag": events.Match.exists(),
                        "status": events.Match.anything_but("TEST"),
                        "bucket": events.Match.suffix("-landing")},
                targets=[
                    RouteTarget.state_machine(machine, input=transformed),
                    RouteTarget.function(function, input=transformed),
                    RouteTarget.queue(fifo, message_group_id="objects"),
                    RouteTarget.topic(topic),
                    RouteTarget.event_bus(other_bus),
                ],
                description="accepted objects", enabled=False,
            ),
            RoutingRule("Hooks", events.EventPattern(source=["shop"]), targets=[
                RouteTarget.api_destination(destination, header_parameters={"x-h": "1"},
                                            query_string_parameters={"q": "2"})]),
        ],
        forward_from_default_bus=[events.EventPattern(source=["aws.s3"])],
        target_retry=TargetRetryPolicy(max_event_age=Duration.hours(2), retry_attempts=3),
        alarm_topic=alarm_topic,
    )
    return router, Template.from_stack(stack), {
        "machine": machine, "function": function, "fifo": fifo, "topic": topic,
        "alarm_topic": alarm_topic}


def test_default_bus_is_encrypted_with_a_created_rotating_key_and_has_a_dlq(default_router):
    router, template, _ = default_router
    bus = _resource(template, router.event_bus)["Properties"]
    assert bus["KmsKeyIdentifier"] == {"Fn::GetAtt": [_id(router.encryption_key), "Arn"]}
    assert bus["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [_id(router.event_bus_dead_letter_queue), "Arn"]}}
    assert _resource(template, router.encryption_key)["Properties"]["EnableKeyRotation"] is True
    template.has_resource_properties("AWS::SQS::QueuePolicy", {
        "Queues": [{"Ref": _id(router.event_bus_dead_letter_queue)}],
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Sid": "EventBusDeadLetters", "Principal": {"Service": "events.amazonaws.com"},
            "Condition": {"ArnEquals": {"aws:SourceArn": {
                "Fn::GetAtt": [_id(router.event_bus), "Arn"]}}}})])}})


def test_default_archive_keeps_every_event_a_year_encrypted_without_a_cycle(default_router):
    router, template, _ = default_router
    archive = _resource(template, router.archive)["Properties"]
    assert archive["RetentionDays"] == 365
    assert archive["KmsKeyIdentifier"] == {"Fn::GetAtt": [_id(router.encryption_key), "Arn"]}
    assert archive["EventPattern"] == {"account": [{"Ref": "AWS::AccountId"}]}
    statements = _resource(template, router.encryption_key)["Properties"]["KeyPolicy"][
        "Statement"]
    [archive_statement] = [s for s in statements if s.get("Sid") == "ArchiveOfArchive"]
    assert "Ref" not in json.dumps(archive_statement["Condition"]).replace('"Ref": "AWS::', "")


def test_default_targets_get_a_dlq_and_the_maximum_retry_policy(default_router):
    router, template, _handles = default_router
    rule = _resource(template, router.rules["Orders"])["Properties"]
    [target] = rule["Targets"]
    [dlq] = router.dead_letter_queues["Orders"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [_id(dlq), "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400,
                                     "MaximumRetryAttempts": 185}
    assert "InputTransformer" not in target and "Input" not in target
    assert rule["EventBusName"] == {"Ref": _id(router.event_bus)}
    assert rule["State"] == "ENABLED"
    assert rule["Description"] == "Routing rule Orders of TestStack/Router"
    template.resource_count_is("AWS::Events::EventBusPolicy", 0)


def test_default_alarms_cover_bus_dlq_rule_failures_throttles_and_target_dlqs(default_router):
    router, template, _ = default_router
    assert _alarm_metrics(template) == [
        ("AWS/Events", "FailedInvocations"), ("AWS/Events", "ThrottledRules"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    throttled = next(a for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                 if a["Properties"]["MetricName"] == "ThrottledRules")["Properties"]
    assert {d["Name"] for d in throttled["Dimensions"]} == {"RuleName", "EventBusName"}
    assert throttled["TreatMissingData"] == "notBreaching"
    assert "AlarmActions" not in throttled
    assert len(router.alarms) == 4


def test_target_and_bus_dead_letter_queues_use_the_router_key(default_router):
    """Events on a CMK-encrypted bus stay under that key when they are dead-lettered, and
    EventBridge may use the key for this account's rules and buses only."""
    router, template, _ = default_router
    key = {"Fn::GetAtt": [_id(router.encryption_key), "Arn"]}
    queues = [r["Properties"] for lid, r in template.find_resources("AWS::SQS::Queue").items()
              if "DeadLetterQueue" in lid]
    assert queues and all(q.get("KmsMasterKeyId") == key for q in queues)
    statements = _resource(template, router.encryption_key)["Properties"]["KeyPolicy"][
        "Statement"]
    [statement] = [s for s in statements if s.get("Sid") == "EventBridgeDeadLetters"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(statement["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {
        "Ref": "AWS::AccountId"}}
    assert ":rule/*" in json.dumps(statement["Condition"]["ArnLike"])


def test_target_dead_letter_queue_with_an_imported_key_falls_back_to_sqs_managed():
    stack = new_stack()
    imported = kms.Key.from_key_arn(stack, "Imported",
                                    "arn:aws:kms:us-east-1:111111111111:key/abc")
    queue = target_dead_letter_queue(stack, "Dlq", rule_name="r", encryption_key=imported)
    properties = Template.from_stack(stack).to_json()["Resources"][_id(queue)]["Properties"]
    assert "KmsMasterKeyId" not in properties and properties["SqsManagedSseEnabled"] is True


def test_named_bus_and_custom_archive_retention(full_router):
    router, template, _ = full_router
    assert _resource(template, router.event_bus)["Properties"]["Name"] == "analytics-platform"
    assert _resource(template, router.archive)["Properties"]["RetentionDays"] == 30


def test_other_accounts_and_the_organization_may_put_events(full_router):
    _, template, _ = full_router
    statements = [p["Properties"]["Statement"]
                  for p in template.find_resources("AWS::Events::EventBusPolicy").values()]
    by_sid = {s["Sid"].removeprefix("cdk-"): s for s in statements}
    assert set(by_sid) == {"PutEventsFromAccount0", "PutEventsFromOrganization"}
    assert "111122223333" in json.dumps(by_sid["PutEventsFromAccount0"]["Principal"])
    assert by_sid["PutEventsFromOrganization"]["Principal"] == {"AWS": "*"}
    assert by_sid["PutEventsFromOrganization"]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}


def test_catalog_rule_pattern_renders_every_matching_operator(full_router):
    router, template, _ = full_router
    rule = _resource(template, router.rules["Accepted"])["Properties"]
    assert rule["EventPattern"] == {
        "source": ["analytics-orchestration.ingestion"], "detail-type": ["ObjectAccepted"],
        "detail": {"key": [{"prefix": "in/"}], "size": [{"numeric": [">", 10]}],
                   "etag": [{"exists": True}], "status": [{"anything-but": ["TEST"]}],
                   "bucket": [{"suffix": "-landing"}]}}
    assert rule["State"] == "DISABLED"
    assert rule["Description"] == "accepted objects"


def test_every_target_type_gets_its_dlq_retry_and_input(full_router):
    router, template, handles = full_router
    targets = _resource(template, router.rules["Accepted"])["Properties"]["Targets"]
    assert [t["Arn"] for t in targets[:4]] == [
        {"Ref": _id(handles["machine"])}, {"Fn::GetAtt": [_id(handles["function"]), "Arn"]},
        {"Fn::GetAtt": [_id(handles["fifo"]), "Arn"]}, {"Ref": _id(handles["topic"])}]
    assert targets[4]["Arn"] == "arn:aws:events:eu-west-1:111122223333:event-bus/central"
    dlqs = router.dead_letter_queues["Accepted"]
    assert len(dlqs) == len(set(map(id, dlqs))) == 5
    for target, dlq in zip(targets, dlqs, strict=True):
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [_id(dlq), "Arn"]}}
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200,
                                         "MaximumRetryAttempts": 3}
    for target in targets[:2]:
        transformer = target["InputTransformer"]
        assert transformer["InputPathsMap"] == {"detail-key": "$.detail.key", "time": "$.time"}
        assert json.loads(transformer["InputTemplate"].replace("<detail-key>", '"k"')
                          .replace("<time>", '"t"')) == {"v": 1, "k": "k", "at": "t"}
    assert targets[2]["SqsParameters"] == {"MessageGroupId": "objects"}
    assert "RoleArn" in targets[4]  # cross-account bus targets need a role


def test_api_destination_target_carries_its_http_parameters(full_router):
    router, template, _ = full_router
    [target] = _resource(template, router.rules["Hooks"])["Properties"]["Targets"]
    assert target["HttpParameters"] == {"HeaderParameters": {"x-h": "1"},
                                        "QueryStringParameters": {"q": "2"}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert "DeadLetterConfig" in target


def test_api_destination_is_invoked_through_the_rules_conditioned_delivery_role(full_router):
    """Not CDK's own role per destination, which trusts events.amazonaws.com unconditioned."""
    router, template, _ = full_router
    [target] = _resource(template, router.rules["Hooks"])["Properties"]["Targets"]
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(statement["Condition"]) == {"StringEquals", "ArnLike"}
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
    invoking = [r for r in template.find_resources("AWS::IAM::Policy").values()
                if {"Ref": role_id} in r["Properties"]["Roles"]]
    [policy] = invoking
    assert [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]] == [
        "events:InvokeApiDestination"]
    roles = template.find_resources("AWS::IAM::Role")
    unconditioned = [i for i, r in roles.items() if any(
        "Condition" not in st for st in r["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        if st["Principal"].get("Service") == "events.amazonaws.com")]
    assert unconditioned == []


def test_forwarding_rule_sends_default_bus_events_to_the_router_bus(full_router):
    router, template, _ = full_router
    [forward] = router.forwarding_rules
    props = _resource(template, forward)["Properties"]
    assert "EventBusName" not in props  # the default bus
    assert props["EventPattern"] == {"source": ["aws.s3"]}
    [target] = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_id(router.event_bus), "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 3}
    assert "DeadLetterConfig" in target and "RoleArn" in target


def test_alarms_notify_the_alarm_topic(full_router):
    router, template, handles = full_router
    for alarm in router.alarms:
        props = _resource(template, alarm)["Properties"]
        assert props["AlarmActions"] == [{"Ref": _id(handles["alarm_topic"])}]
        assert props["OKActions"] == [{"Ref": _id(handles["alarm_topic"])}]
    forward_failed = [a for a in template.find_resources("AWS::CloudWatch::Alarm").values()
                      if a["Properties"]["MetricName"] == "FailedInvocations"
                      and len(a["Properties"]["Dimensions"]) == 1]
    assert len(forward_failed) == 1  # the default-bus rule: RuleName only


def test_disabled_archive_and_add_rule_after_construction():
    stack = new_stack()
    router = EventRouter(stack, "Router", enable_archive=False)
    rule = router.add_rule(RoutingRule.for_events(
        "Failures", ETL_RUN_FAILED, JOB_FAILED, detail={"status": ["FAILED"]},
        targets=[RouteTarget.queue(sqs.Queue(stack, "Q"))]))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::Archive", 0)
    assert router.archive is None
    assert router.rules == {"Failures": rule}
    pattern = _resource(template, rule)["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["EtlRunFailed", "JobFailed"]
    assert pattern["source"] == ["analytics-orchestration.etl", "analytics-orchestration.jobs"]
    with pytest.raises(ConfigurationError, match=r"rule.name: got 'Failures'.*unique"):
        router.add_rule(RoutingRule("Failures", events.EventPattern(source=["x"]),
                                    targets=[RouteTarget.queue(sqs.Queue(stack, "Q2"))]))


def test_brought_key_is_used_and_no_key_is_created():
    stack = new_stack()
    from aws_cdk import aws_kms as kms

    key = kms.Key(stack, "Mine")
    router = EventRouter(stack, "Router", encryption_key=key)
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 1)
    assert router.encryption_key is key


def test_grant_and_metric_helpers(default_router):
    router, _template, _ = default_router
    metric = router.metric_failed_invocations("Orders")
    assert metric.namespace == "AWS/Events" and metric.metric_name == "FailedInvocations"
    assert set(metric.dimensions) == {"EventBusName", "RuleName"}
    assert router.metric_matched_events("Orders").metric_name == "MatchedEvents"
    with pytest.raises(ValueError, match="no routing rule 'Nope'"):
        router.metric_failed_invocations("Nope")
    stack = new_stack()
    other = EventRouter(stack, "Router")
    role = iam.Role(stack, "Producer", assumed_by=iam.AccountRootPrincipal())
    other.grant_put_events(role)
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": [Match.object_like({
            "Action": "events:PutEvents",
            "Resource": {"Fn::GetAtt": [_id(other.event_bus), "Arn"]}})]}})


def test_subclass_overrides_the_target_dead_letter_queues():
    class SharedDlqRouter(EventRouter):
        def _target_dead_letter_queue(self, rule_name: str, index: int) -> sqs.Queue:
            existing = self.node.try_find_child("SharedDlq")
            return existing if isinstance(existing, sqs.Queue) else sqs.Queue(self, "SharedDlq")

    stack = new_stack()
    router = SharedDlqRouter(stack, "Router", rules=[
        RoutingRule(f"R{i}", events.EventPattern(source=["s"]),
                    targets=[RouteTarget.queue(sqs.Queue(stack, f"Q{i}"))]) for i in range(2)])
    shared = router.node.find_child("SharedDlq")
    assert router.dead_letter_queues == {"R0": [shared], "R1": [shared]}
    # One alarm per queue, however many targets share it.
    dlq_alarms = [a for a in router.alarms if "SharedDlq" in a.node.id]
    assert len(dlq_alarms) == 1


# =============================================================================== catalog


def test_catalog_pattern_and_detail_input_reject_misspelt_fields():
    with pytest.raises(ConfigurationError, match=r"detail\.kye: not a field of ObjectAccepted"):
        catalog_pattern(OBJECT_ACCEPTED, detail={"kye": ["x"]})
    with pytest.raises(ConfigurationError, match="not a field of JobFailed"):
        catalog_pattern(ETL_RUN_FAILED, JOB_FAILED, detail={"workflow": ["x"]})
    with pytest.raises(ConfigurationError) as raised:
        detail_input(OBJECT_ACCEPTED, {"k": "kee"}, envelope={"t": "tiem"}, constants={"k": 1})
    assert [p.split(":")[0] for p in raised.value.problems] == ["fields.k", "envelope.t", "k"]


def test_misspelt_detail_type_of_a_library_source_is_an_error_at_synth():
    stack = new_stack()
    with pytest.raises(ConfigurationError) as raised:
        EventRouter(stack, "Router", rules=[RoutingRule(
            "Typo", events.EventPattern(source=[OBJECT_ACCEPTED.source],
                                        detail_type=["ObjectAccepetd"],
                                        detail={"kee": ["x"]}),
            targets=[RouteTarget.queue(sqs.Queue(stack, "Q"))])])
    problems = raised.value.problems
    assert "'ObjectAccepetd' is not emitted by analytics-orchestration.ingestion" in problems[0]
    assert "detail.kee is not a field" in problems[1]


# =============================================================================== fan-out


@pytest.fixture(scope="module")
def default_fan_out() -> tuple[NotificationFanOut, Template]:
    stack = new_stack()
    fan_out = NotificationFanOut(stack, "FanOut")
    return fan_out, Template.from_stack(stack)


@pytest.fixture(scope="module")
def full_fan_out() -> tuple[NotificationFanOut, Template, dict[str, Any]]:
    stack = new_stack()
    queue = sqs.Queue(stack, "Ops")
    function = lambda_.Function(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    machine = _machine(stack)
    enricher = lambda_.Function(
        stack, "Enricher", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
    bucket = s3.Bucket(stack, "MyArchive")
    alarm_topic = sns.Topic(stack, "Alarms")
    body_filter = {"severity": sns.FilterOrPolicy.filter(
        sns.SubscriptionFilter.string_filter(allowlist=["high"]))}
    fan_out = NotificationFanOut(
        stack, "FanOut",
        display_name="Platform",
        publishing_services=("s3.amazonaws.com", "cloudwatch.amazonaws.com"),
        subscriptions=[
            TopicSubscription.queue(queue, filter_policy_with_message_body=body_filter),
            TopicSubscription.function(function, filter_policy={
                "kind": sns.SubscriptionFilter.string_filter(allowlist=["x"])}),
            TopicSubscription.email("oncall@example.com"),
        ],
        workflows=[WorkflowSubscription(
            machine, filter_policy_with_message_body=body_filter,
            pipe_filter_patterns=[{"body": {"severity": ["high"]}}],
            enrichment=PipeEnrichment.function(enricher), batch_size=5)],
        archive_bucket=bucket, archive_prefix="audit/",
        alarm_topic=alarm_topic,
    )
    return fan_out, Template.from_stack(stack), {
        "queue": queue, "function": function, "machine": machine, "enricher": enricher,
        "bucket": bucket, "alarm_topic": alarm_topic}


def test_default_topic_is_kms_encrypted_https_only_and_grants_no_service(default_fan_out):
    fan_out, template = default_fan_out
    topic = _resource(template, fan_out.topic)["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [_id(fan_out.encryption_key), "Arn"]}
    assert "FifoTopic" not in topic and "ArchivePolicy" not in topic
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
    key_policy = json.dumps(_resource(template, fan_out.encryption_key)["Properties"])
    assert "events.amazonaws.com" not in key_policy


def test_publishing_services_may_publish_for_this_account_only(full_fan_out):
    fan_out, template, _ = full_fan_out
    topic_policy = next(p["Properties"]["PolicyDocument"]["Statement"]
                        for p in template.find_resources("AWS::SNS::TopicPolicy").values()
                        if {"Ref": _id(fan_out.topic)} in p["Properties"]["Topics"])
    for service in ("s3.amazonaws.com", "cloudwatch.amazonaws.com"):
        grant = next(s for s in topic_policy if s["Effect"] == "Allow"
                     and service in json.dumps(s["Principal"]))
        assert grant["Action"] == "sns:Publish"
        assert grant["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_default_archive_is_firehose_to_a_created_secure_bucket(default_fan_out):
    fan_out, template = default_fan_out
    stream = _resource(template, fan_out.archive_stream)["Properties"]
    destination = stream["ExtendedS3DestinationConfiguration"]
    assert destination["BucketARN"] == {"Fn::GetAtt": [_id(fan_out.archive_bucket), "Arn"]}
    assert destination["Prefix"] == "notifications/"
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["EncryptionConfiguration"] == {"KMSEncryptionConfig": {
        "AWSKMSKeyARN": {"Fn::GetAtt": [_id(fan_out.encryption_key), "Arn"]}}}
    assert destination["CloudWatchLoggingOptions"]["Enabled"] is True
    assert stream["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == (
        "CUSTOMER_MANAGED_CMK")
    bucket = _resource(template, fan_out.archive_bucket)
    assert bucket["DeletionPolicy"] == "Retain"
    assert "LoggingConfiguration" in bucket["Properties"]
    template.has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "firehose", "RawMessageDelivery": True,
        "SubscriptionRoleArn": Match.any_value(), "RedrivePolicy": Match.any_value()})
    assert "CidrBlocks" not in json.dumps(template.to_json().get("Mappings", {}))


#: AWS's "Grant Firehose access to an Amazon S3 destination" (Firehose developer guide).
FIREHOSE_S3_DESTINATION_ACTIONS = {
    "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
    "s3:ListBucketMultipartUploads", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey",
    "logs:PutLogEvents"}


def test_archive_roles_hold_exactly_the_documented_s3_destination_actions(default_fan_out):
    """Every role Firehose may assume for the archive: no delete, no retention, no key-wide
    ReEncrypt*; the key only through S3 for this bucket; logs only to its own stream."""
    fan_out, template = default_fan_out
    stream = _resource(template, fan_out.archive_stream)["Properties"]
    roles = {stream["ExtendedS3DestinationConfiguration"]["RoleARN"]["Fn::GetAtt"][0]}
    firehose_roles = {lid for lid, role in template.find_resources("AWS::IAM::Role").items()
                      if "firehose.amazonaws.com" in json.dumps(role)}
    assert firehose_roles == roles  # no second, unused role for the stream itself
    statements = [statement
                  for policy in template.find_resources("AWS::IAM::Policy").values()
                  if {r["Ref"] for r in policy["Properties"]["Roles"]} & roles
                  for statement in policy["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in (
        [s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == FIREHOSE_S3_DESTINATION_ACTIONS
    [kms_statement] = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert set(kms_statement["Condition"]["StringEquals"]) == {"kms:ViaService"}
    assert set(kms_statement["Condition"]["StringLike"]) == {"kms:EncryptionContext:aws:s3:arn"}
    [logs_statement] = [s for s in statements if s["Action"] == "logs:PutLogEvents"]
    assert ":log-stream:" in json.dumps(logs_statement["Resource"])
    bucket = _id(fan_out.archive_bucket)
    objects = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert [json.dumps(r) for s in objects for r in s["Resource"]] == [
        json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]})
        for prefix in ("errors/notifications/", "notifications/")]
    assert stream and _resource(template, fan_out.archive_stream)["DependsOn"]


def test_default_alarms_are_notifications_failed_and_the_archive_dlq(default_fan_out):
    fan_out, template = default_fan_out
    assert _alarm_metrics(template) == [
        ("AWS/SNS", "NumberOfNotificationsFailed"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    assert fan_out.workflow_pipes == [] and fan_out.workflow_queues == []


def test_queues_on_the_encrypted_topic_path_use_the_subscriber_key(full_fan_out):
    """The workflow queue, its DLQ and every subscription's DLQ are encrypted with a CMK
    SNS may use for this topic only; not the topic's key (that policy would be a cycle)."""
    fan_out, template, _handles = full_fan_out
    subscriber_key = fan_out.node.find_child("SubscriberKey")
    expected = {"Fn::GetAtt": [_id(subscriber_key), "Arn"]}
    queues = [*fan_out.dead_letter_queues, *fan_out.workflow_queues]
    assert len(queues) == 3 + 1 + 2 + 1
    for queue in queues:
        assert _resource(template, queue)["Properties"].get("KmsMasterKeyId") == expected, (
            queue.node.path)
    assert expected != {"Fn::GetAtt": [_id(fan_out.encryption_key), "Arn"]}
    statements = _resource(template, subscriber_key)["Properties"]["KeyPolicy"]["Statement"]
    Template.from_json({"Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {
        "KeyPolicy": {"Statement": statements}}}}}).has_resource_properties(
        "AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([Match.object_like({
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": _id(fan_out.topic)}},
                          "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        })])}})


def test_a_queue_without_a_cmk_on_an_encrypted_topic_is_warned_about(full_fan_out):
    fan_out, _template, _handles = full_fan_out
    Annotations.from_stack(Stack.of(fan_out)).has_warning(
        "/TestStack/Ops", Match.string_like_regexp("encrypted with a customer-managed key"))


def test_each_subscription_has_its_dlq_and_filter(full_fan_out):
    fan_out, template, _handles = full_fan_out
    subscriptions = {s["Properties"]["Protocol"]: s["Properties"]
                     for s in template.find_resources("AWS::SNS::Subscription").values()
                     if s["Properties"]["Endpoint"] != {
                         "Fn::GetAtt": [_id(fan_out.workflow_queues[0]), "Arn"]}}
    assert set(subscriptions) == {"sqs", "lambda", "email", "firehose"}
    assert subscriptions["sqs"]["RawMessageDelivery"] is True
    assert subscriptions["sqs"]["FilterPolicyScope"] == "MessageBody"
    assert subscriptions["sqs"]["FilterPolicy"] == {"severity": ["high"]}
    assert subscriptions["lambda"]["FilterPolicy"] == {"kind": ["x"]}
    assert subscriptions["email"]["Endpoint"] == "oncall@example.com"
    for props in subscriptions.values():
        assert "deadLetterTargetArn" in json.dumps(props["RedrivePolicy"])
    assert len(fan_out.dead_letter_queues) == 3 + 1 + 2  # subscriptions, archive, workflow


def test_brought_archive_bucket_and_prefix(full_fan_out):
    fan_out, template, handles = full_fan_out
    assert fan_out.archive_bucket is handles["bucket"]
    destination = _resource(template, fan_out.archive_stream)["Properties"][
        "ExtendedS3DestinationConfiguration"]
    assert destination["Prefix"] == "audit/"
    assert destination["BucketARN"] == {"Fn::GetAtt": [_id(handles["bucket"]), "Arn"]}
    assert len(template.find_resources("AWS::S3::Bucket")) == 1


def test_workflow_is_an_sqs_queue_and_a_pipe_to_the_state_machine(full_fan_out):
    fan_out, template, handles = full_fan_out
    [queue] = fan_out.workflow_queues
    [pipe] = fan_out.workflow_pipes
    template.has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "sqs", "Endpoint": {"Fn::GetAtt": [_id(queue), "Arn"]},
        "RawMessageDelivery": True, "FilterPolicy": {"severity": ["high"]}})
    props = _resource(template, pipe.pipe)["Properties"]
    assert props["Source"] == {"Fn::GetAtt": [_id(queue), "Arn"]}
    assert props["Target"] == {"Ref": _id(handles["machine"])}
    assert props["Enrichment"] == {"Fn::GetAtt": [_id(handles["enricher"]), "Arn"]}
    assert props["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 5
    assert json.loads(props["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "body": {"severity": ["high"]}}
    queue_props = _resource(template, queue)["Properties"]
    assert queue_props["VisibilityTimeout"] == 360
    assert "RedrivePolicy" in queue_props


def test_fan_out_options_reach_the_topic_and_alarms(full_fan_out):
    fan_out, template, handles = full_fan_out
    assert _resource(template, fan_out.topic)["Properties"]["DisplayName"] == "Platform"
    key_policy = json.dumps(_resource(template, fan_out.encryption_key)["Properties"])
    assert "cloudwatch.amazonaws.com" in key_policy
    assert ("AWS/EventBridge/Pipes", "ExecutionFailed") in _alarm_metrics(template)
    for alarm in fan_out.alarms:
        assert _resource(template, alarm)["Properties"]["AlarmActions"] == [
            {"Ref": _id(handles["alarm_topic"])}]


def test_fifo_topic_archives_in_sns_and_needs_no_firehose():
    stack = new_stack()
    fan_out = NotificationFanOut(
        stack, "FanOut", fifo=True, content_based_deduplication=True,
        fifo_archive_retention_days=30,
        subscriptions=[TopicSubscription.queue(sqs.Queue(stack, "Q", fifo=True))],
        workflows=[WorkflowSubscription(_machine(stack))])
    template = Template.from_stack(stack)
    topic = _resource(template, fan_out.topic)["Properties"]
    assert topic["FifoTopic"] is True
    assert topic["ContentBasedDeduplication"] is True
    assert topic["ArchivePolicy"] == {"MessageRetentionPeriod": 30}
    template.resource_count_is("AWS::KinesisFirehose::DeliveryStream", 0)
    assert fan_out.archive_stream is None and fan_out.archive_bucket is None
    assert _resource(template, fan_out.workflow_queues[0])["Properties"]["FifoQueue"] is True


def test_fifo_archive_defaults_to_a_year_and_archive_can_be_off():
    stack = new_stack()
    fifo = NotificationFanOut(stack, "Fifo", fifo=True)
    off = NotificationFanOut(stack, "Off", enable_archive=False)
    template = Template.from_stack(stack)
    assert _resource(template, fifo.topic)["Properties"]["ArchivePolicy"] == {
        "MessageRetentionPeriod": 365}
    template.resource_count_is("AWS::KinesisFirehose::DeliveryStream", 0)
    assert off.archive_stream is None


def test_fan_out_grant_and_metrics(default_fan_out):
    fan_out, _ = default_fan_out
    assert fan_out.metric_notifications_failed().metric_name == "NumberOfNotificationsFailed"
    assert fan_out.metric_messages_published().metric_name == "NumberOfMessagesPublished"
    stack = new_stack()
    other = NotificationFanOut(stack, "FanOut", enable_archive=False)
    role = iam.Role(stack, "Publisher", assumed_by=iam.AccountRootPrincipal())
    other.grant_publish(role)
    policy = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
    assert "sns:Publish" in policy and "kms:GenerateDataKey*" in policy


def test_fan_out_subclass_overrides_the_workflow_queue():
    class LongVisibility(NotificationFanOut):
        def _workflow_queue(self, index: int) -> sqs.Queue:
            return sqs.Queue(self, f"Custom{index}", visibility_timeout=Duration.minutes(30))

    stack = new_stack()
    fan_out = LongVisibility(stack, "FanOut", enable_archive=False,
                             workflows=[WorkflowSubscription(_machine(stack))])
    [queue] = fan_out.workflow_queues
    assert queue.node.id == "Custom0"
    assert _resource(Template.from_stack(stack), queue)["Properties"]["VisibilityTimeout"] == 1800


# =============================================================================== pipe


@pytest.fixture(scope="module")
def default_pipe() -> tuple[QueueToStateMachinePipe, Template, dict[str, Any]]:
    stack = new_stack()
    queue = sqs.Queue(stack, "Source")
    machine = _machine(stack)
    pipe = QueueToStateMachinePipe(stack, "Pipe", queue=queue, state_machine=machine)
    return pipe, Template.from_stack(stack), {"queue": queue, "machine": machine}


def test_default_pipe_one_message_per_execution_logged_at_info(default_pipe):
    pipe, template, _handles = default_pipe
    resource = _resource(template, pipe.pipe)
    props = resource["Properties"]
    assert props["SourceParameters"] == {"SqsQueueParameters": {"BatchSize": 1}}
    assert props["TargetParameters"] == {
        "StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}}
    assert props["LogConfiguration"] == {"Level": "INFO", "CloudwatchLogsLogDestination": {
        "LogGroupArn": {"Fn::GetAtt": [_id(pipe.log_group), "Arn"]}}}
    assert "Enrichment" not in props
    assert resource["Metadata"]["cfn-lint"] == {"config": {"ignore_checks": ["E3006"]}}
    assert _resource(template, pipe.log_group)["Properties"]["RetentionInDays"] == 365
    assert pipe.enrichment is None


def test_pipe_role_may_only_consume_the_queue_and_start_the_state_machine(default_pipe):
    pipe, template, handles = default_pipe
    [policy] = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {json.dumps(s["Resource"], sort_keys=True): s["Action"] for s in statements}
    assert actions[json.dumps({"Fn::GetAtt": [_id(handles["queue"]), "Arn"]})] == [
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    assert actions[json.dumps({"Ref": _id(handles["machine"])})] == "states:StartExecution"
    assert len(statements) == 2
    assert _resource(template, pipe.role)["Properties"]["AssumeRolePolicyDocument"][
        "Statement"][0]["Principal"] == {"Service": "pipes.amazonaws.com"}
    policy_construct = pipe.role.node.find_child("DefaultPolicy")
    assert _id(policy_construct) in _resource(template, pipe.pipe)["DependsOn"]


def test_pipe_failure_alarm_and_metrics(default_pipe):
    pipe, template, _ = default_pipe
    [alarm] = pipe.alarms
    props = _resource(template, alarm)["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/EventBridge/Pipes",
                                                         "ExecutionFailed")
    assert props["Dimensions"] == [{"Name": "PipeName", "Value": {"Ref": _id(pipe.pipe)}}]
    assert pipe.metric_execution_failed().metric_name == "ExecutionFailed"
    assert pipe.metric_target_stage_failed().metric_name == "TargetStageFailed"


def test_pipe_options_and_bundled_enrichment():
    stack = new_stack()
    from aws_cdk import aws_kms as kms

    key = kms.Key(stack, "LogKey")
    pipe = QueueToStateMachinePipe(
        stack, "Pipe", queue=sqs.Queue(stack, "Q"), state_machine=_machine(stack),
        filter_patterns=[{"body": {"kind": ["order"]}}, {"messageAttributes": {"x": {
            "stringValue": ["1"]}}}],
        enrichment=PipeEnrichment.sqs_record_parser(), batch_size=10,
        maximum_batching_window=Duration.seconds(20), log_level=PipeLogLevel.TRACE,
        include_execution_data=True, log_encryption_key=key)
    template = Template.from_stack(stack)
    props = _resource(template, pipe.pipe)["Properties"]
    assert props["SourceParameters"]["SqsQueueParameters"] == {
        "BatchSize": 10, "MaximumBatchingWindowInSeconds": 20}
    assert len(props["SourceParameters"]["FilterCriteria"]["Filters"]) == 2
    assert props["LogConfiguration"]["Level"] == "TRACE"
    assert props["LogConfiguration"]["IncludeExecutionData"] == ["ALL"]
    assert _resource(template, pipe.log_group)["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [_id(key), "Arn"]}
    assert pipe.enrichment is not None
    function = _resource(template, pipe.enrichment)["Properties"]
    assert props["Enrichment"] == {"Fn::GetAtt": [_id(pipe.enrichment), "Arn"]}
    assert function["Handler"] == "index.handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    policy = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert '"Sid": "InvokeEnrichment"' in policy and ':*"' not in policy


def test_pipe_subclass_grants_more():
    class AuditedPipe(QueueToStateMachinePipe):
        def _grant(self, role: iam.Role) -> None:
            super()._grant(role)
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"], resources=["*"]))

    stack = new_stack()
    AuditedPipe(stack, "Pipe", queue=sqs.Queue(stack, "Q"), state_machine=_machine(stack))
    assert "cloudwatch:PutMetricData" in json.dumps(
        Template.from_stack(stack).find_resources("AWS::IAM::Policy"))
