"""The secure builders: each default of ARCHITECTURE.md's table, asserted on a template."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from analytics_orchestration.constructs import _foundation as foundation
from analytics_orchestration.constructs._foundation.functions import (
    LATEST_PYTHON_RUNTIME,
    POWERTOOLS_LAYER_VERSION,
)
from tests.support import new_stack
from tests.support_wiring import (
    create_grant_statements,
    unconditioned_service_grants,
    unconditioned_trusts,
    unrestricted_create_grants,
    wirings,
)


@pytest.fixture(scope="module")
def built() -> tuple[Stack, Template, dict[str, object]]:
    """One stack holding one of each builder's resources, synthesized once."""
    stack = new_stack()
    key = foundation.secure_key(stack, "Key", description="test key")
    logs_bucket = foundation.access_log_bucket(stack, "Logs")
    bucket = foundation.secure_bucket(
        stack, "Data", server_access_logs_bucket=logs_bucket, server_access_logs_prefix="data/",
        encryption_key=key, event_bridge_notifications=True,
    )
    work = foundation.queue_with_dead_letter_queue(
        stack, "Work", visibility_timeout=Duration.minutes(3), max_receive_count=4
    )
    service_dlq = foundation.dead_letter_queue_for_service(stack, "ServiceDlq", used_by="tests")
    topic = foundation.secure_topic(
        stack, "Topic", master_key=key, publishers=("s3.amazonaws.com",)
    )
    table = foundation.secure_table(
        stack, "Table", partition_key="pk", encryption_key=key, time_to_live_attribute="ttl"
    )
    function = foundation.python_function(
        stack, "Fn", handler_name="object_validator", description="a test function",
        invoked_asynchronously=True, memory_size=512, timeout=Duration.seconds(20),
    )
    machine, _ = foundation.observable_state_machine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")),
    )
    rule = events.Rule(
        stack, "Rule", event_pattern=events.EventPattern(source=["x"]),
        event_bus=events.EventBus(stack, "Bus"),
    )
    default_rule = events.Rule(
        stack, "DefaultRule", event_pattern=events.EventPattern(source=["x"])
    )
    alarm_topic = sns.Topic(stack, "AlarmTopic")
    foundation.rule_failed_invocations_alarm(
        stack, "RuleAlarm", rule=rule, alarm_topic=alarm_topic
    )
    foundation.rule_failed_invocations_alarm(
        stack, "DefaultRuleAlarm", rule=default_rule, alarm_topic=None
    )
    foundation.dead_letter_queue_alarm(
        stack, "DlqAlarm", queue=work.dead_letter_queue, what="work", alarm_topic=alarm_topic
    )
    foundation.function_errors_alarm(
        stack, "FnErrors", function=function.function, alarm_topic=None
    )
    handles = {"bucket": bucket, "work": work, "topic": topic, "table": table,
               "function": function, "machine": machine, "service_dlq": service_dlq}
    return stack, Template.from_stack(stack), handles


def _resource(template: Template, type_name: str, logical_prefix: str) -> dict[str, object]:
    found = {k: v for k, v in template.find_resources(type_name).items()
             if k.startswith(logical_prefix)}
    assert len(found) == 1, f"expected one {type_name} starting {logical_prefix}: {list(found)}"
    return next(iter(found.values()))


def _of(stack: Stack, template: Template, construct) -> dict[str, object]:
    """The template entry of ``construct``'s main resource."""
    logical_id = stack.resolve(stack.get_logical_id(construct.node.default_child))
    return template.to_json()["Resources"][logical_id]


def test_key_rotates_and_is_retained(built):
    _, template, _ = built
    template.has_resource("AWS::KMS::Key", {
        "Properties": Match.object_like({"EnableKeyRotation": True, "PendingWindowInDays": 30}),
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
    })


def test_bucket_defaults(built):
    _, template, _ = built
    bucket = _resource(template, "AWS::S3::Bucket", "Data")
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    lifecycle = props["LifecycleConfiguration"]["Rules"][0]
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert lifecycle["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "data/"
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_bucket_policy_requires_tls_1_2(built):
    _, template, _ = built
    policies = template.find_resources("AWS::S3::BucketPolicy")
    data_policy = next(p for k, p in policies.items() if k.startswith("DataPolicy"))
    statements = data_policy["Properties"]["PolicyDocument"]["Statement"]
    conditions = [s.get("Condition", {}) for s in statements if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_no_custom_resource_for_bucket_notifications(built):
    _, template, _ = built
    assert template.find_resources("Custom::S3BucketNotifications") == {}


def test_access_log_bucket_uses_sse_s3_and_expires_logs(built):
    _, template, _ = built
    props = _resource(template, "AWS::S3::Bucket", "Logs")["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


def test_work_queue_has_dlq_with_redrive_allow_policy_naming_it(built):
    stack, template, handles = built
    work = handles["work"]
    queue = _of(stack, template, work.queue)
    dlq = _of(stack, template, work.dead_letter_queue)
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 4
    assert queue["Properties"]["VisibilityTimeout"] == 180
    assert queue["Properties"]["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    allow = dlq["Properties"]["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    # The allowed source is the work queue's own (deterministic) name.
    assert queue["Properties"]["QueueName"] in str(stack.resolve(allow["sourceQueueArns"]))


def test_queues_enforce_tls(built):
    _, template, _ = built
    for policy in template.find_resources("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}} for s in statements)


def test_service_dlq_is_never_a_redrive_target(built):
    _, template, _ = built
    props = _resource(template, "AWS::SQS::Queue", "ServiceDlq")["Properties"]
    assert props["RedriveAllowPolicy"] == {"redrivePermission": "denyAll"}
    assert props["MessageRetentionPeriod"] == 1209600


def test_minimum_visibility_timeout_is_six_times_timeout_plus_window():
    result = foundation.minimum_visibility_timeout(Duration.seconds(30), Duration.seconds(20))
    assert result.to_seconds() == 200
    assert foundation.minimum_visibility_timeout(Duration.minutes(1)).to_seconds() == 360


def test_topic_is_kms_encrypted_tls_only_and_key_allows_publisher(built):
    _, template, _ = built
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}
    })
    this_account = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({"Principal": {"Service": "s3.amazonaws.com"},
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                           "Condition": this_account})])}})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {
        "Statement": Match.array_with([Match.object_like({
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sns:Publish", "Condition": this_account})])}})


def test_every_builder_wiring_delivers_and_every_service_grant_is_conditioned(built):
    _, template, _ = built
    found = wirings(template.to_json())
    assert {w.kind for w in found} >= {"alarm->topic"}
    assert [str(w) for w in found if w.problems] == []
    assert unconditioned_service_grants(template.to_json()) == []


def test_alarm_builder_lets_cloudwatch_publish_to_any_topic_it_is_given_once(built):
    stack, template, _ = built
    policy = next(p["Properties"]["PolicyDocument"]["Statement"]
                  for p in template.find_resources("AWS::SNS::TopicPolicy").values()
                  if p["Properties"]["Topics"] == [{"Ref": _logical(stack, "AlarmTopic")}])
    grants = [s for s in policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(grants) == 1  # two alarms notify the topic; one statement
    assert grants[0]["Action"] == "sns:Publish"
    assert grants[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":",
            {"Ref": "AWS::AccountId"}, ":alarm:*"]]}},
    }


def test_the_wiring_walk_finds_an_alarm_that_cannot_notify():
    """A raw encrypted topic notified by a raw alarm: what the foundation prevents."""
    stack = new_stack()
    key = kms.Key(stack, "Key")
    topic = sns.Topic(stack, "Raw", master_key=key)
    raw = cloudwatch.Alarm(stack, "RawAlarm", threshold=1, evaluation_periods=1,
                           metric=cloudwatch.Metric(namespace="N", metric_name="M"))
    raw.add_alarm_action(cw_actions.SnsAction(topic))
    [found] = wirings(Template.from_stack(stack).to_json())
    assert found.kind == "alarm->topic" and len(found.problems) == 2, found


def test_topic_target_publishes_through_a_role_only_this_accounts_rules_assume():
    stack = new_stack()
    key = foundation.secure_key(stack, "Key", description="k")
    topic = foundation.secure_topic(stack, "Topic", master_key=key)
    rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["x"]))
    dlq = foundation.target_dead_letter_queue(stack, "Dlq", rule_name="Rule")
    rule.add_target(foundation.topic_target(
        topic, message=None, dead_letter_queue=dlq, retry=foundation.TargetRetryPolicy()))
    template = Template.from_stack(stack)
    role_id = _logical(stack, "Rule/DeliveryRole")
    target = template.to_json()["Resources"][_logical(stack, "Rule")]["Properties"]["Targets"][0]
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    trust = template.to_json()["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":events:", {"Ref": "AWS::Region"}, ":",
            {"Ref": "AWS::AccountId"}, ":rule/*"]]}},
    }
    assert "events.amazonaws.com" not in json.dumps(template.find_resources("AWS::KMS::Key"))
    assert "events.amazonaws.com" not in json.dumps(
        template.find_resources("AWS::SNS::TopicPolicy"))
    kinds = {w.kind: w.problems for w in wirings(template.to_json())}
    assert kinds == {"rule->topic": [], "rule->dead-letter queue": []}
    assert unconditioned_service_grants(template.to_json()) == []


def test_create_grant_is_only_for_aws_resources():
    stack = new_stack()
    key = foundation.secure_key(stack, "Key", description="k")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    foundation.grant_create_grant_for_aws_resources(key, role)
    template = Template.from_stack(stack).to_json()
    [(_, statement)] = create_grant_statements(template)
    assert statement["Action"] == "kms:CreateGrant"
    assert statement["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert unrestricted_create_grants(template) == []
    raw = new_stack()
    kms.Key(raw, "Key").grant(
        iam.Role(raw, "Raw", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")),
        "kms:CreateGrant")
    assert len(unrestricted_create_grants(Template.from_stack(raw).to_json())) == 1


def test_table_has_pitr_cmk_ttl_and_protection(built):
    _, template, _ = built
    table = _resource(template, "AWS::DynamoDB::Table", "Table")
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["DeletionProtectionEnabled"] is True


def test_function_defaults(built):
    _, template, _ = built
    fn = _resource(template, "AWS::Lambda::Function", "Fn")
    props = fn["Properties"]
    assert props["Runtime"] == LATEST_PYTHON_RUNTIME.name == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 512
    assert props["Timeout"] == 20
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == "index.handler"
    assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "object_validator"
    layer = str(props["Layers"][0])
    assert "AWSLambdaPowertoolsPythonV3-python314-arm64:" + str(POWERTOOLS_LAYER_VERSION) in layer
    assert "AWS::Partition" in layer and "AWS::Region" in layer
    assert "Fn::FindInMap" in layer
    # Only the policy, not the role it already references, is an explicit dependency.
    assert len(fn["DependsOn"]) == 1 and "DefaultPolicy" in fn["DependsOn"][0]


def test_powertools_layer_accounts_mapping(built):
    _, template, _ = built
    mapping = template.to_json()["Mappings"]["AnalyticsOrchestrationPowertoolsLayerAccounts"]
    assert mapping == {"aws": {"account": "017000801446"}, "aws-cn": {"account": "498634801083"}}


def test_function_log_group_has_finite_retention(built):
    _, template, _ = built
    log_group = _resource(template, "AWS::Logs::LogGroup", "FnLogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"
    fn = _resource(template, "AWS::Lambda::Function", "Fn")
    assert "FnLogGroup" in str(fn["Properties"]["LoggingConfig"])


def test_function_role_is_its_own_and_least_privilege(built):
    _, template, _ = built
    role = _resource(template, "AWS::IAM::Role", "FnRole")
    assert "ManagedPolicyArns" not in role["Properties"]
    policy = _resource(template, "AWS::IAM::Policy", "FnRoleDefaultPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    wildcard = [s for s in statements if s["Resource"] == "*"]
    assert [sorted(s["Action"]) for s in wildcard] == [
        ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    ]
    log_writes = [
        s for s in statements if s["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    ]
    assert log_writes and "FnLogGroup" in str(log_writes[0]["Resource"])


def test_async_function_has_failure_destination_and_retry_settings(built):
    _, template, _ = built
    config = _resource(template, "AWS::Lambda::EventInvokeConfig", "FnEventInvokeConfig")
    props = config["Properties"]
    assert props["MaximumRetryAttempts"] == 2
    assert props["MaximumEventAgeInSeconds"] == 6 * 3600
    assert "FnFailureQueue" in str(props["DestinationConfig"]["OnFailure"])


def test_state_machine_logs_all_traces_and_times_out(built):
    _, template, _ = built
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        "TracingConfiguration": {"Enabled": True},
        "DefinitionString": Match.string_like_regexp('"TimeoutSeconds":3600'),
    })


def test_rule_alarm_dimensions_follow_the_bus(built):
    _, template, _ = built
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    custom = next(a for k, a in alarms.items() if k.startswith("RuleAlarm"))["Properties"]
    default = next(a for k, a in alarms.items() if k.startswith("DefaultRuleAlarm"))["Properties"]
    assert sorted(d["Name"] for d in custom["Dimensions"]) == ["EventBusName", "RuleName"]
    assert [d["Name"] for d in default["Dimensions"]] == ["RuleName"]
    assert custom["MetricName"] == "FailedInvocations" and custom["Namespace"] == "AWS/Events"


def test_alarms_are_explicit_and_notify_topic(built):
    _, template, _ = built
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
        assert alarm["Properties"].get("Dimensions"), "every metric has its dimensions"
    dlq_alarm = next(a for k, a in template.find_resources("AWS::CloudWatch::Alarm").items()
                     if k.startswith("DlqAlarm"))["Properties"]
    assert dlq_alarm["Threshold"] == 1
    assert dlq_alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert dlq_alarm["AlarmActions"] and dlq_alarm["OKActions"]


def test_alarm_builder_defaults():
    stack = new_stack()
    metric = cloudwatch.Metric(namespace="N", metric_name="M", dimensions_map={"A": "b"})
    foundation.alarm(stack, "A", metric=metric, threshold=3, description="d", alarm_topic=None)
    Template.from_stack(stack).has_resource_properties("AWS::CloudWatch::Alarm", {
        "Threshold": 3, "EvaluationPeriods": 1, "TreatMissingData": "notBreaching",
        "AlarmActions": Match.absent(), "Dimensions": [{"Name": "A", "Value": "b"}],
    })


def test_destroy_switch_makes_stateful_resources_disposable():
    stack = new_stack(context={foundation.DESTROY_ON_REMOVAL_CONTEXT_KEY: "true"})
    logs_bucket = foundation.access_log_bucket(stack, "Logs")
    foundation.secure_bucket(stack, "Data", server_access_logs_bucket=logs_bucket,
                             server_access_logs_prefix="d/")
    foundation.secure_table(stack, "Table", partition_key="pk")
    foundation.secure_key(stack, "Key", description="k")
    template = Template.from_stack(stack)
    for type_name in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"):
        for resource in template.find_resources(type_name).values():
            assert resource["DeletionPolicy"] == "Delete", type_name
    template.resource_count_is("Custom::S3AutoDeleteObjects", 2)
    template.has_resource_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": False})


def test_handler_asset_path_rejects_unknown_handler():
    with pytest.raises(FileNotFoundError, match="no_such_handler"):
        foundation.python_function(
            new_stack(), "Fn", handler_name="no_such_handler", description="missing"
        )


def test_private_vpc_is_isolated_with_endpoints_and_flow_logs():
    from aws_cdk import aws_ec2 as ec2

    stack = new_stack()
    foundation.private_vpc(
        stack, "Vpc", interface_endpoints=[ec2.InterfaceVpcEndpointAwsService.SQS]
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    template.has_resource_properties("AWS::EC2::FlowLog", {
        "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"})
    gateway = template.find_resources("AWS::EC2::VPCEndpoint", {
        "Properties": {"VpcEndpointType": "Gateway"}})
    assert len(gateway) == 2
    template.has_resource_properties("AWS::EC2::VPCEndpoint", {
        "VpcEndpointType": "Interface", "PrivateDnsEnabled": True})
    template.has_resource_properties("AWS::EC2::SecurityGroup", {"SecurityGroupIngress": [
        Match.object_like({"CidrIp": "10.0.0.0/16", "FromPort": 443, "ToPort": 443})]})
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)
    handlers = [r for k, r in template.to_json()["Resources"].items()
                if k.startswith("CustomVpcRestrictDefaultSGCustomResourceProviderHandler")]
    assert handlers and "DependsOn" not in handlers[0]


def test_python_function_runs_caller_code_and_needs_exactly_one_source():
    stack = new_stack()
    from aws_cdk import aws_lambda as lambda_

    code = lambda_.Code.from_inline("def main(event, context):\n    return event\n")
    foundation.python_function(stack, "Mine", code=code, handler="index.main", description="d")
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {
        "Handler": "index.main", "Runtime": "python3.14",
        "Environment": {"Variables": Match.object_like({"POWERTOOLS_SERVICE_NAME": "Mine"})}})
    with pytest.raises(ValueError, match="exactly one of handler_name and code"):
        foundation.python_function(stack, "Both", code=code, handler_name="object_validator",
                                   description="d")
    with pytest.raises(ValueError, match="exactly one"):
        foundation.python_function(stack, "Neither", description="d")


def test_secure_bucket_outside_a_pattern_needs_the_log_delivery_flag():
    from aws_cdk import App

    from analytics_orchestration import ConfigurationError

    stack = Stack(App(), "NoFlags")
    logs = foundation.access_log_bucket(stack, "Logs")
    with pytest.raises(ConfigurationError, match="serverAccessLogsUseBucketPolicy"):
        foundation.secure_bucket(stack, "Data", server_access_logs_bucket=logs,
                                 server_access_logs_prefix="d/")


def _logical(stack: Stack, path: str) -> str:
    construct = stack.node.find_child(path.split("/")[0])
    for part in path.split("/")[1:]:
        construct = construct.node.find_child(part)
    child = construct.node.default_child or construct
    return stack.resolve(stack.get_logical_id(child))


def test_targets_of_one_rule_share_its_conditioned_delivery_role():
    stack = new_stack()
    machine, _ = foundation.observable_state_machine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    topic = foundation.secure_topic(
        stack, "Topic", master_key=foundation.secure_key(stack, "Key", description="k"))
    rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["x"]))
    dlq = foundation.target_dead_letter_queue(stack, "Dlq", rule_name="Rule")
    retry = foundation.TargetRetryPolicy()
    rule.add_target(foundation.state_machine_target(
        machine, input=None, dead_letter_queue=dlq, retry=retry))
    rule.add_target(foundation.topic_target(
        topic, message=None, dead_letter_queue=dlq, retry=retry))
    template = Template.from_stack(stack).to_json()
    role_id = _logical(stack, "Rule/DeliveryRole")
    rule_targets = template["Resources"][_logical(stack, "Rule")]["Properties"]["Targets"]
    assert [t["RoleArn"] for t in rule_targets] == [{"Fn::GetAtt": [role_id, "Arn"]}] * 2
    roles = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"
             and "events.amazonaws.com" in json.dumps(r)]
    assert roles == [role_id]
    policy = json.dumps([r for r in template["Resources"].values()
                         if r["Type"] == "AWS::IAM::Policy"
                         and {"Ref": role_id} in r["Properties"]["Roles"]])
    assert "states:StartExecution" in policy and "sns:Publish" in policy
    assert unconditioned_trusts(template) == []


def test_the_wiring_walk_follows_s3_notifications_sent_straight_to_a_topic():
    """CDK's own S3 -> SNS destination: the grant names the bucket but not the account,
    which AWS requires for a bucket (its ARN names no account)."""
    stack = new_stack()
    bucket = s3.Bucket(stack, "Bucket")
    topic = sns.Topic(stack, "Topic")
    bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SnsDestination(topic))
    template = Template.from_stack(stack).to_json()
    assert [(w.kind, w.problems) for w in wirings(template)] == [("bucket->topic", [])]
    [unguarded] = unconditioned_service_grants(template)
    assert "s3.amazonaws.com" in unguarded


def test_failure_queue_under_a_key_grants_send_and_the_two_kms_actions_only():
    """CDK's SqsDestination would grant kms:Encrypt, ReEncrypt* and GenerateDataKey* too."""
    stack = new_stack()
    key = foundation.secure_key(stack, "Key", description="k")
    built = foundation.python_function(
        stack, "Fn", handler_name="object_validator", description="a test function",
        invoked_asynchronously=True, failure_queue_key=key)
    template = Template.from_stack(stack)
    assert built.failure_queue is not None
    queue_id = stack.resolve(stack.get_logical_id(built.failure_queue.node.default_child))
    key_id = stack.resolve(stack.get_logical_id(key.node.default_child))
    assert template.to_json()["Resources"][queue_id]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [key_id, "Arn"]}
    statements = [s for policy in template.find_resources("AWS::IAM::Policy").values()
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in (
        [s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"} <= actions
    assert not {a for a in actions if a.endswith("*") or a in {
        "kms:Encrypt", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}}


def test_is_unresolved_answers_as_aws_cdk_lib_does():
    """The shortcut for plain values (issue #16) gives aws-cdk-lib's answer for every kind."""
    from aws_cdk import Fn, Token
    from aws_cdk import aws_sqs as sqs

    from analytics_orchestration.constructs._foundation.validation import is_unresolved

    stack = new_stack()
    queue = sqs.Queue(stack, "Queue")
    values = [
        queue.queue_arn, f"prefix-{queue.queue_url}", Fn.join("", ["a", queue.queue_name]),
        Token.as_number(queue.queue_arn), Token.as_list(queue.queue_arn)[0],
        Token.as_string(Token.as_number(queue.queue_arn)), stack.account, stack.region,
        "plain", "${not a token}", "#{Token", "", 0, 3, -7, 2.5, -1.0e289, 1.0e300,
    ]
    for value in values:
        assert is_unresolved(value) == Token.is_unresolved(value), value
    assert is_unresolved(["plain", queue.queue_arn]) is True
    assert is_unresolved(("plain", 1)) is False
