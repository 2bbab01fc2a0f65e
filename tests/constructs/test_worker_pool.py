"""SqsWorkerPool: each default and each option, asserted on one template of several pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack, Stage
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk.assertions import Template

from analytics_orchestration import (
    JOB_FAILED,
    JOB_SUCCEEDED,
    ContainerWorkers,
    JobApiOptions,
    LambdaWorkers,
    SqsWorkerPool,
)
from analytics_orchestration.constructs.worker_pool._api import send_message_template
from tests.support import new_stack

INLINE = "def handler(event, context):\n    return {'batchItemFailures': []}\n"


class TenantPool(SqsWorkerPool):
    """The extension points overridden: an extra variable and a worker of its own."""

    def _worker_environment(self) -> dict[str, str]:
        return {**super()._worker_environment(), "TENANT": "acme"}

    def _create_lambda_worker(self, options: LambdaWorkers) -> lambda_.IFunction:
        return lambda_.Function(
            self, "TenantWorker", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
            code=lambda_.Code.from_inline(INLINE), timeout=Duration.seconds(10),
            environment=self._worker_environment(),
        )


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """One stack with every kind of pool, synthesized once."""
    stack = new_stack()
    bus = events.EventBus(stack, "Bus")
    alarm_topic = sns.Topic(stack, "Alarms")
    user_pool = cognito.UserPool(stack, "Users")
    web_acl = wafv2.CfnWebACL(
        stack, "Acl", scope="REGIONAL", default_action={"allow": {}},
        visibility_config={"cloudWatchMetricsEnabled": True, "metricName": "acl",
                           "sampledRequestsEnabled": True},
    )
    existing = lambda_.Function(
        stack, "Existing", runtime=lambda_.Runtime.PYTHON_3_14, handler="index.handler",
        code=lambda_.Code.from_inline(INLINE), timeout=Duration.seconds(20),
    )
    vpc = ec2.Vpc(stack, "MyVpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    pools = {
        "default": SqsWorkerPool(stack, "Default"),
        "fifo": SqsWorkerPool(
            stack, "Fifo",
            fifo=True, content_based_deduplication=True, max_receive_count=3,
            visibility_timeout=Duration.minutes(10), retention_period=Duration.days(2),
            workers=LambdaWorkers(timeout=Duration.seconds(30), memory_size=1024,
                                  environment={"EXTRA": "1"}, batch_size=5,
                                  max_concurrency=50),
            api_options=JobApiOptions(
                authorizer=apigw.CognitoUserPoolsAuthorizer(
                    stack, "Authorizer", cognito_user_pools=[user_pool]),
                throttling_rate_limit=5, throttling_burst_limit=7,
                parameters_schema=apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT,
                                                   required=["values"]),
                stage_name="jobs", web_acl=web_acl,
            ),
            event_bus=bus, oldest_message_age_threshold=Duration.minutes(30),
            alarm_topic=alarm_topic,
        ),
        "window": SqsWorkerPool(stack, "Window", enable_api=False, workers=LambdaWorkers(
            batch_size=100, max_batching_window=Duration.seconds(20))),
        "existing": SqsWorkerPool(stack, "Brought", enable_api=False,
                                  workers=LambdaWorkers(function=existing)),
        "code": SqsWorkerPool(stack, "OwnCode", enable_api=False, workers=LambdaWorkers(
            code=lambda_.Code.from_inline(INLINE), handler="index.main")),
        "container": SqsWorkerPool(stack, "Container", enable_api=False,
                                   workers=ContainerWorkers(), event_bus=bus),
        "registry": SqsWorkerPool(stack, "Registry", enable_api=False, workers=ContainerWorkers(
            image=ecs.ContainerImage.from_registry("public.ecr.aws/acme/worker:1"), vpc=vpc,
            min_tasks=0, max_tasks=3, cpu=1024, memory_limit_mib=4096, batch_size=2,
            processing_timeout=Duration.minutes(20), environment={"MODE": "heavy"})),
        "tenant": TenantPool(stack, "Tenant", enable_api=False),
    }
    return {"stack": stack, "template": Template.from_stack(stack), "pools": pools,
            "bus": bus, "existing": existing, "alarm_topic": alarm_topic, "web_acl": web_acl}


def _id(construct: Any) -> str:
    stack = Stack.of(construct)
    child = construct.node.default_child if construct.node.default_child else construct
    return stack.resolve(stack.get_logical_id(child))


def _props(built: dict[str, Any], construct: Any) -> dict[str, Any]:
    return built["template"].to_json()["Resources"][_id(construct)]["Properties"]


def _within(built: dict[str, Any], pool: SqsWorkerPool, resource_type: str) -> list[dict]:
    """Properties of the resources of one type that ``pool`` created."""
    stack = built["stack"]
    ids = {stack.resolve(stack.get_logical_id(c)) for c in pool.node.find_all()
           if hasattr(c, "cfn_resource_type") and c.cfn_resource_type == resource_type}
    resources = built["template"].to_json()["Resources"]
    return [resources[i].get("Properties", {}) for i in sorted(ids)]


def _env(built: dict[str, Any], function: Any) -> dict[str, Any]:
    return _props(built, function)["Environment"]["Variables"]


def _statements(built: dict[str, Any], role: Any) -> list[dict[str, Any]]:
    policy = role.node.find_child("DefaultPolicy")
    return _props(built, policy)["PolicyDocument"]["Statement"]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        found |= {action} if isinstance(action, str) else set(action)
    return found


# ------------------------------------------------------------------ queue and tables


def test_default_queue_dlq_and_derived_visibility_timeout(built):
    pool = built["pools"]["default"]
    queue = _props(built, pool.queue)
    key = {"Fn::GetAtt": [_id(pool.encryption_key), "Arn"]}
    assert queue["VisibilityTimeout"] == 360  # 6 x 60 s, no batching window
    assert queue["MessageRetentionPeriod"] == 4 * 86400
    assert queue["KmsMasterKeyId"] == key
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [_id(pool.dead_letter_queue), "Arn"]},
        "maxReceiveCount": 5}
    assert "FifoQueue" not in queue
    dlq = _props(built, pool.dead_letter_queue)
    assert dlq["MessageRetentionPeriod"] == 14 * 86400
    assert dlq["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"
    assert dlq["KmsMasterKeyId"] == key
    assert pool.visibility_timeout.to_seconds() == 360


def test_queues_refuse_plain_http(built):
    pool = built["pools"]["default"]
    policies = _within(built, pool, "AWS::SQS::QueuePolicy")
    assert len(policies) == 2
    for policy in policies:
        [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_fifo_queue_options(built):
    pool = built["pools"]["fifo"]
    queue = _props(built, pool.queue)
    assert queue["FifoQueue"] is True and queue["ContentBasedDeduplication"] is True
    assert queue["VisibilityTimeout"] == 600
    assert queue["MessageRetentionPeriod"] == 2 * 86400
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    assert _props(built, pool.dead_letter_queue)["FifoQueue"] is True


def test_batching_window_and_container_timeouts_raise_the_visibility_timeout(built):
    pools = built["pools"]
    assert _props(built, pools["window"].queue)["VisibilityTimeout"] == 380  # 6 x 60 + 20
    assert _props(built, pools["existing"].queue)["VisibilityTimeout"] == 120  # 6 x 20
    assert _props(built, pools["container"].queue)["VisibilityTimeout"] == 300
    assert _props(built, pools["registry"].queue)["VisibilityTimeout"] == 1200


def test_the_job_table_is_the_only_table_of_a_pool(built):
    """The job row's leased claim is the workers' idempotency: no second table."""
    pool = built["pools"]["default"]
    jobs = _props(built, pool.job_table)
    assert jobs["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert jobs["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert jobs["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::GetAtt": [_id(pool.encryption_key), "Arn"]}
    tables = built["template"].find_resources("AWS::DynamoDB::Table")
    pools = built["pools"].values()
    assert len(tables) == len({_id(p.job_table) for p in pools})
    built["template"].has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


# ------------------------------------------------------------------ Lambda workers


def _mapping(built: dict[str, Any], pool: SqsWorkerPool) -> dict[str, Any]:
    [mapping] = [m for m in built["template"].find_resources(
        "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [_id(pool.queue), "Arn"]}]
    return mapping["Properties"]


def test_default_event_source_reports_batch_item_failures_with_a_concurrency_cap(built):
    pool = built["pools"]["default"]
    mapping = _mapping(built, pool)
    assert mapping["FunctionName"] == {"Ref": _id(pool.worker_function)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 10}
    assert "MaximumBatchingWindowInSeconds" not in mapping


def test_event_source_options(built):
    fifo = _mapping(built, built["pools"]["fifo"])
    assert (fifo["BatchSize"], fifo["ScalingConfig"]) == (5, {"MaximumConcurrency": 50})
    assert fifo["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    window = _mapping(built, built["pools"]["window"])
    assert (window["BatchSize"], window["MaximumBatchingWindowInSeconds"]) == (100, 20)


def test_default_worker_is_the_reference_worker(built):
    pool = built["pools"]["default"]
    function = _props(built, pool.worker_function)
    assert (function["Timeout"], function["MemorySize"]) == (60, 512)
    assert function["Handler"] == "index.handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    env = function["Environment"]["Variables"]
    assert env["JOB_TABLE_NAME"] == {"Ref": _id(pool.job_table)}
    assert not any(name.startswith("IDEMPOTENCY_") for name in env)
    assert env["MAX_RECEIVE_COUNT"] == "5"
    assert env["QUEUE_NAME"] == {"Fn::GetAtt": [_id(pool.queue), "QueueName"]}
    assert env["QUEUE_FIFO"] == "false"
    assert env["EVENT_SOURCE"] == JOB_SUCCEEDED.source
    assert (env["SUCCEEDED_DETAIL_TYPE"], env["FAILED_DETAIL_TYPE"]) == (
        JOB_SUCCEEDED.detail_type, JOB_FAILED.detail_type)
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "AnalyticsOrchestration/Jobs"
    assert "EVENT_BUS_NAME" not in env
    assert pool.uses_reference_worker


def test_reference_worker_assets_split_lambda_and_container_files(built):
    assembly = Stage.of(built["stack"]).synth()
    folders = [{p.name for p in path.iterdir()} for path in Path(assembly.directory).glob(
        "asset.*") if (path / "worker.py").is_file()]
    [function_asset] = [names for names in folders if "Dockerfile" not in names]
    [image_asset] = [names for names in folders if "Dockerfile" in names]
    assert {"index.py", "jobs.py", "worker.py"} <= function_asset
    assert not function_asset & {"Dockerfile", ".dockerignore", "poller.py", "__pycache__"}
    assert {"Dockerfile", "poller.py", "jobs.py", "worker.py"} <= image_asset


def test_worker_options_reach_the_function(built):
    pool = built["pools"]["fifo"]
    function = _props(built, pool.worker_function)
    assert (function["Timeout"], function["MemorySize"]) == (30, 1024)
    env = function["Environment"]["Variables"]
    assert (env["EXTRA"], env["QUEUE_FIFO"], env["MAX_RECEIVE_COUNT"]) == ("1", "true", "3")
    assert env["EVENT_BUS_NAME"] == {"Ref": _id(built["bus"])}


def test_worker_may_record_jobs_and_put_events_but_nothing_more(built):
    pool = built["pools"]["fifo"]
    statements = _statements(built, pool.worker_function.role)
    actions = _actions(statements)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
            "kms:Decrypt", "kms:GenerateDataKey",
            "events:PutEvents", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions
    assert not [a for a in actions if a.startswith("dynamodb:") and a.endswith(("*", "Scan"))]
    assert "dynamodb:DeleteItem" not in actions  # no idempotency records to delete
    [put_events] = [s for s in statements if s["Action"] == "events:PutEvents"]
    assert put_events["Resource"] == {"Fn::GetAtt": [_id(built["bus"]), "Arn"]}


def test_existing_function_is_wired_and_told_the_environment(built):
    pool = built["pools"]["existing"]
    assert pool.worker_function is built["existing"]
    assert _mapping(built, pool)["FunctionName"] == {"Ref": _id(built["existing"])}
    assert _env(built, built["existing"])["JOB_TABLE_NAME"] == {"Ref": _id(pool.job_table)}
    assert _within(built, pool, "AWS::Lambda::Function") == []
    assert not pool.uses_reference_worker


def test_own_code_gets_the_handler_and_no_reference_worker_alarm(built):
    pool = built["pools"]["code"]
    function = _props(built, pool.worker_function)
    assert function["Handler"] == "index.main"
    assert function["Code"]["ZipFile"].startswith("def handler")
    assert "JobsFailedAlarm" not in {a.node.id for a in pool.alarms}


def test_subclass_overrides_the_worker_and_its_environment(built):
    pool = built["pools"]["tenant"]
    assert pool.worker_function.node.id == "TenantWorker"
    assert _mapping(built, pool)["FunctionName"] == {"Ref": _id(pool.worker_function)}
    env = _env(built, pool.worker_function)
    assert env["TENANT"] == "acme"
    assert env["JOB_TABLE_NAME"] == {"Ref": _id(pool.job_table)}
    assert "dynamodb:PutItem" in _actions(_statements(built, pool.worker_function.role))
    assert _props(built, pool.queue)["VisibilityTimeout"] == 360  # from the options, not


# ------------------------------------------------------------------ container workers


def test_container_workers_run_the_reference_poller_in_a_private_vpc(built):
    pool = built["pools"]["container"]
    assert pool.worker_function is None and pool.uses_reference_worker
    [service] = _within(built, pool, "AWS::ECS::Service")
    assert service["LaunchType"] == "FARGATE"
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True, "Rollback": True}
    [cluster] = _within(built, pool, "AWS::ECS::Cluster")
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    [task] = _within(built, pool, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("512", "1024")
    [container] = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["QUEUE_URL"] == {"Ref": _id(pool.queue)}
    assert (env["BATCH_SIZE"], env["WAIT_TIME_SECONDS"], env["VISIBILITY_TIMEOUT_SECONDS"]) == (
        "10", "20", "300")
    assert env["JOB_TABLE_NAME"] == {"Ref": _id(pool.job_table)}
    assert env["EVENT_BUS_NAME"] == {"Ref": _id(built["bus"])}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "AnalyticsOrchestration/Jobs"
    assert "cdk-hnb659fds-container-assets" in json.dumps(container["Image"])
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {
        "Ref": _id(pool.worker_log_group)}


def test_created_vpc_has_the_endpoints_the_workers_need(built):
    pool = built["pools"]["container"]
    services = {json.dumps(e["ServiceName"]) for e in _within(
        built, pool, "AWS::EC2::VPCEndpoint")}
    for short in ("ecr.api", "ecr.dkr", "logs", "sqs", "kms", "events", "s3", "dynamodb"):
        assert any(f".{short}" in name for name in services), short
    for subnet in _within(built, pool, "AWS::EC2::Subnet"):
        assert subnet["MapPublicIpOnLaunch"] is False
    assert _within(built, pool, "AWS::EC2::InternetGateway") == []


def test_container_scaling_follows_the_queue_depth(built):
    pool = built["pools"]["container"]
    [target] = _within(built, pool, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 10)
    policies = _within(built, pool, "AWS::ApplicationAutoScaling::ScalingPolicy")
    steps = sorted(json.dumps(p["StepScalingPolicyConfiguration"]["StepAdjustments"])
                   for p in policies)
    assert len(policies) == 2  # queue depth only: CPU-based scaling is off
    assert '"ScalingAdjustment": -1' in steps[0] + steps[1]
    assert '"ScalingAdjustment": 5' in steps[0] + steps[1]


def test_container_job_metrics_come_from_the_worker_logs(built):
    pool = built["pools"]["container"]
    filters = {f["MetricTransformations"][0]["MetricName"]: f
               for f in _within(built, pool, "AWS::Logs::MetricFilter")}
    assert set(filters) == {"JobsSucceeded", "JobsFailed"}
    failed = filters["JobsFailed"]
    assert '$.final IS TRUE' in failed["FilterPattern"]
    assert failed["MetricTransformations"][0]["Dimensions"] == [
        {"Key": "service", "Value": "$.service"}]
    assert failed["MetricTransformations"][0]["MetricNamespace"] == "AnalyticsOrchestration/Jobs"


def test_registry_image_in_a_given_vpc(built):
    pool = built["pools"]["registry"]
    assert pool.vpc is not None and pool.vpc.node.id == "MyVpc"
    assert _within(built, pool, "AWS::EC2::VPC") == []
    [task] = _within(built, pool, "AWS::ECS::TaskDefinition")
    [container] = task["ContainerDefinitions"]
    assert container["Image"] == "public.ecr.aws/acme/worker:1"
    assert (task["Cpu"], task["Memory"]) == ("1024", "4096")
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert (env["BATCH_SIZE"], env["MODE"], env["VISIBILITY_TIMEOUT_SECONDS"]) == (
        "2", "heavy", "1200")
    [target] = _within(built, pool, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    assert "JobsFailedAlarm" not in {a.node.id for a in pool.alarms}


# ------------------------------------------------------------------ job API


def _methods(built: dict[str, Any], pool: SqsWorkerPool) -> dict[str, dict[str, Any]]:
    return {m["HttpMethod"]: m for m in _within(built, pool, "AWS::ApiGateway::Method")}


def test_submit_is_a_direct_sqs_integration_with_iam_auth(built):
    pool = built["pools"]["default"]
    post = _methods(built, pool)["POST"]
    assert post["AuthorizationType"] == "AWS_IAM"
    assert "RequestValidatorId" in post and "RequestModels" in post
    integration = post["Integration"]
    assert (integration["Type"], integration["IntegrationHttpMethod"]) == ("AWS", "POST")
    uri = json.dumps(integration["Uri"])
    assert ":sqs:path/" in uri and _id(pool.queue) in uri
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}
    template = integration["RequestTemplates"]["application/json"]
    assert "Action=SendMessage&MessageBody=$util.urlEncode($input.body)" in template
    assert "MessageAttribute.1.Name=job_id" in template
    assert "StringValue=$util.urlEncode($context.requestId)" in template
    assert "MessageAttribute.2.Name=submitted_by" in template
    assert "MessageGroupId" not in template
    assert "\n" not in template
    responses = {r["StatusCode"]: r for r in integration["IntegrationResponses"]}
    assert responses["202"]["ResponseTemplates"]["application/json"] == (
        '{"job_id": "$context.requestId"}')
    assert responses["500"]["SelectionPattern"] == "[45]\\d{2}"


def test_get_job_reads_the_job_table_directly(built):
    pool = built["pools"]["default"]
    get = _methods(built, pool)["GET"]
    assert get["AuthorizationType"] == "AWS_IAM"
    assert get["RequestParameters"] == {"method.request.path.job_id": True}
    integration = get["Integration"]
    assert ":dynamodb:action/GetItem" in json.dumps(integration["Uri"])
    request = json.dumps(integration["RequestTemplates"]["application/json"])
    assert _id(pool.job_table) in request and "ConsistentRead" in request
    response = integration["IntegrationResponses"][0]["ResponseTemplates"]["application/json"]
    assert "responseOverride.status = 404" in response
    assert '"result": #if' in response


def test_submission_schema_and_validator(built):
    pool = built["pools"]["default"]
    [model] = _within(built, pool, "AWS::ApiGateway::Model")
    schema = model["Schema"]
    assert schema["required"] == ["job_type", "parameters"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["parameters"] == {"type": "object"}
    [validator] = _within(built, pool, "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestBody"] is True


def test_stage_is_logged_traced_and_throttled(built):
    pool = built["pools"]["default"]
    [stage] = _within(built, pool, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]
    [settings] = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (50, 100)
    assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("ERROR", False)
    [api] = _within(built, pool, "AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert _within(built, pool, "AWS::WAFv2::WebACLAssociation") == []


def test_api_role_may_only_send_and_get(built):
    pool = built["pools"]["default"]
    role = pool.node.find_child("ApiRole")
    assert _actions(_statements(built, role)) == {
        "sqs:SendMessage", "dynamodb:GetItem", "kms:GenerateDataKey", "kms:Decrypt"}


def test_api_options(built):
    pool = built["pools"]["fifo"]
    methods = _methods(built, pool)
    for method in methods.values():
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
    template = methods["POST"]["Integration"]["RequestTemplates"]["application/json"]
    assert "MessageGroupId=$util.urlEncode($input.path('$.group_id'))" in template
    assert "MessageDeduplicationId" not in template  # content-based deduplication
    [model] = _within(built, pool, "AWS::ApiGateway::Model")
    assert model["Schema"]["required"] == ["job_type", "parameters", "group_id"]
    assert model["Schema"]["properties"]["parameters"] == {"type": "object",
                                                           "required": ["values"]}
    [stage] = _within(built, pool, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "jobs"
    assert (stage["MethodSettings"][0]["ThrottlingRateLimit"],
            stage["MethodSettings"][0]["ThrottlingBurstLimit"]) == (5, 7)
    [association] = _within(built, pool, "AWS::WAFv2::WebACLAssociation")
    assert association["WebACLArn"] == {"Fn::GetAtt": [_id(built["web_acl"]), "Arn"]}


@pytest.mark.parametrize(("fifo", "content", "group", "dedup"), [
    (False, False, False, False), (True, False, True, True), (True, True, True, False)])
def test_send_message_template_per_queue_type(fifo, content, group, dedup):
    template = send_message_template(fifo, content)
    assert ("MessageGroupId=" in template) is group
    assert ("MessageDeduplicationId=$util.urlEncode($context.requestId)" in template) is dedup


def test_no_api_when_disabled(built):
    pool = built["pools"]["window"]
    assert pool.api is None
    assert _within(built, pool, "AWS::ApiGateway::RestApi") == []


# ------------------------------------------------------------------ alarms


def _alarms(built: dict[str, Any], pool: SqsWorkerPool) -> dict[str, dict[str, Any]]:
    return {a.node.id: _props(built, a) for a in pool.alarms}


def test_default_alarms(built):
    pool = built["pools"]["default"]
    alarms = _alarms(built, pool)
    assert set(alarms) == {"DeadLetterQueueAlarm", "OldestMessageAgeAlarm", "WorkerErrorsAlarm",
                           "WorkerThrottlesAlarm", "JobsFailedAlarm", "ApiServerErrorsAlarm"}
    dlq = alarms["DeadLetterQueueAlarm"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {
        "Fn::GetAtt": [_id(pool.dead_letter_queue), "QueueName"]}}]
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    age = alarms["OldestMessageAgeAlarm"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert (age["Threshold"], age["ComparisonOperator"]) == (900, "GreaterThanThreshold")
    assert alarms["WorkerErrorsAlarm"]["MetricName"] == "Errors"
    assert alarms["WorkerThrottlesAlarm"]["MetricName"] == "Throttles"
    failed = alarms["JobsFailedAlarm"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AnalyticsOrchestration/Jobs",
                                                           "JobsFailed")
    assert alarms["ApiServerErrorsAlarm"]["MetricName"] == "5XXError"
    for props in alarms.values():
        assert props["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in props


def test_alarm_options(built):
    pool = built["pools"]["fifo"]
    alarms = _alarms(built, pool)
    assert alarms["OldestMessageAgeAlarm"]["Threshold"] == 1800
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": _id(built["alarm_topic"])}]
    container = _alarms(built, built["pools"]["container"])
    assert "WorkerErrorsAlarm" not in container and "JobsFailedAlarm" in container


# ------------------------------------------------------------------ grants and metrics


def test_grant_submit_read_and_consume():
    stack = new_stack()
    pool = SqsWorkerPool(stack, "Pool")
    submitter = iam.Role(stack, "Submitter", assumed_by=iam.AccountRootPrincipal())
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    consumer = iam.Role(stack, "Consumer", assumed_by=iam.AccountRootPrincipal())
    pool.grant_submit(submitter)
    pool.grant_read_jobs(reader)
    pool.grant_consume(consumer)
    template = Template.from_stack(stack).to_json()["Resources"]

    def statements(role: iam.Role) -> list[dict[str, Any]]:
        return template[_id(role.node.find_child("DefaultPolicy"))]["Properties"][
            "PolicyDocument"]["Statement"]

    submit = statements(submitter)
    assert {"sqs:SendMessage", "kms:GenerateDataKey", "execute-api:Invoke"} <= _actions(submit)
    assert not [a for a in _actions(submit) if "*" in a]
    [invoke] = [s for s in submit if s["Action"] == "execute-api:Invoke"]
    assert json.dumps(invoke["Resource"]).endswith('"/POST/jobs"]]}')
    read = statements(reader)
    assert {"dynamodb:GetItem", "execute-api:Invoke"} <= _actions(read)
    [get] = [s for s in read if s["Action"] == "execute-api:Invoke"]
    assert json.dumps(get["Resource"]).endswith('"/GET/jobs/*"]]}')
    consume = _actions(statements(consumer))
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "dynamodb:UpdateItem"} <= consume
    assert "sqs:SendMessage" not in consume


def test_grant_submit_with_an_authorizer_grants_no_api_invoke(built):
    role = iam.Role(built["stack"], "LateSubmitter", assumed_by=iam.AccountRootPrincipal())
    grant = built["pools"]["fifo"].grant_submit(role)
    assert grant.success
    document = built["stack"].resolve(role.node.find_child("DefaultPolicy").document.to_json())
    assert "execute-api:Invoke" not in json.dumps(document)


def test_metric_helpers(built):
    pool = built["pools"]["default"]
    stack = built["stack"]
    for metric, name in ((pool.metric_queue_depth(), "ApproximateNumberOfMessagesVisible"),
                         (pool.metric_oldest_message_age(), "ApproximateAgeOfOldestMessage"),
                         (pool.metric_jobs_submitted(), "NumberOfMessagesSent")):
        assert (metric.namespace, metric.metric_name) == ("AWS/SQS", name)
        assert stack.resolve(metric.dimensions) == {
            "QueueName": {"Fn::GetAtt": [_id(pool.queue), "QueueName"]}}
    dlq = pool.metric_dead_letter_queue_depth()
    assert stack.resolve(dlq.dimensions) == {
        "QueueName": {"Fn::GetAtt": [_id(pool.dead_letter_queue), "QueueName"]}}
    succeeded = pool.metric_jobs_succeeded(period=Duration.minutes(1))
    failed = pool.metric_jobs_failed()
    assert (succeeded.metric_name, failed.metric_name) == ("JobsSucceeded", "JobsFailed")
    env = _env(built, pool.worker_function)
    assert succeeded.dimensions == {"service": env["POWERTOOLS_SERVICE_NAME"]}
    assert succeeded.period.to_seconds() == 60 and failed.statistic == "Sum"
