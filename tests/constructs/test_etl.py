"""StepFunctionsEtl: each default and each option, asserted on small templates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Size, Stack, TimeZone
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from analytics_orchestration import (
    ETL_RUN_FAILED,
    ETL_RUN_SUCCEEDED,
    OBJECT_ACCEPTED,
    EndpointDeployment,
    EtlRetryPolicy,
    EtlStep,
    EtlTrigger,
    EvaluationGate,
    ItemProcessor,
    LargeInput,
    MlWorkflow,
    SageMakerProcessing,
    SageMakerTraining,
    StepFunctionsEtl,
    TargetRetryPolicy,
)
from analytics_orchestration.constructs.etl import TRANSIENT_ERRORS
from analytics_orchestration.errors import ConfigurationError
from tests.support import new_stack

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return event\n")


def _function(stack: Stack, name: str = "Fn") -> lambda_.Function:
    return lambda_.Function(stack, name, runtime=lambda_.Runtime.PYTHON_3_14,
                            handler="index.handler", code=INLINE)


def _definition(template: Template) -> dict[str, Any]:
    """The state machine's definition, with every token replaced by ``<token>``."""
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    if isinstance(body, dict):
        body = "".join(p if isinstance(p, str) else "<token>" for p in body["Fn::Join"][1])
    return json.loads(body)


def _all_states(definition: dict[str, Any]) -> dict[str, Any]:
    states = dict(definition["States"])
    for state in list(states.values()):
        for branch in state.get("Branches", []):
            states.update(_all_states(branch))
        if "ItemProcessor" in state:
            states.update(_all_states(state["ItemProcessor"]))
    return states


@pytest.fixture(scope="module")
def minimal():
    stack = new_stack()
    etl = StepFunctionsEtl(stack, "Etl", transform=[EtlStep.lambda_function("Work",
                                                                            _function(stack))])
    template = Template.from_stack(stack)
    return etl, template, _definition(template)


@pytest.fixture(scope="module")
def full():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Data")
    role = iam.Role(stack, "JobRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"))
    job = glue.PySparkEtlJob(stack, "Job", role=role,
                             script=glue.Code.from_bucket(bucket, "job.py"))
    crawler = glue.CfnCrawler(stack, "Crawler", role=role.role_arn, database_name="db",
                              targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                                  glue.CfnCrawler.S3TargetProperty(path="s3://x/")]))
    vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, max_azs=2, subnet_configuration=[
        ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    queue = batch.JobQueue(stack, "Queue", compute_environments=[batch.OrderedComputeEnvironment(
        compute_environment=batch.FargateComputeEnvironment(stack, "Ce", vpc=vpc), order=1)])
    definition = batch.EcsJobDefinition(stack, "Def", container=batch.EcsFargateContainerDefinition(
        stack, "C", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y"), cpu=1,
        memory=Size.gibibytes(1)))
    application = emrserverless.CfnApplication(stack, "Spark", release_label="emr-7.1.0",
                                               type="SPARK")
    emr_role = iam.Role(stack, "EmrRole",
                        assumed_by=iam.ServicePrincipal("emr-serverless.amazonaws.com"))
    ledger = dynamodb.Table(stack, "MyLedger", partition_key=dynamodb.Attribute(
        name="execution_arn", type=dynamodb.AttributeType.STRING))
    handles = {
        "bucket": bucket, "ledger": ledger, "topic": sns.Topic(stack, "MyTopic"),
        "bus": events.EventBus(stack, "MyBus"), "key": kms.Key(stack, "MyKey"),
        "alarms": sns.Topic(stack, "Alarms"), "job": job, "crawler": crawler,
    }
    etl = StepFunctionsEtl(
        stack, "Etl",
        extract=[EtlStep.glue_job("Orders", job, arguments=sfn.TaskInput.from_object(
                     {"--key": sfn.JsonPath.string_at("$.key")})),
                 EtlStep.partition_records("Clicks", source_bucket=bucket, target_bucket=bucket,
                                           target_prefix="curated/", partition_keys=["day"],
                                           max_rejected_fraction=0.1)],
        large_input=LargeInput(bucket=bucket, prefix="in/", max_concurrency=7,
                               tolerated_failure_percentage=12.5,
                               processor=ItemProcessor.batch_job(job_queue=queue,
                                                                 job_definition=definition)),
        transform=[EtlStep.emr_serverless_job("Spark", application=application,
                                              execution_role=emr_role,
                                              entry_point="s3://code/job.py",
                                              entry_point_arguments=["--day", "x"]),
                   EtlStep.batch_job("Batch", job_queue=queue, job_definition=definition,
                                     parameters={"day": "2026"})],
        validate=[EtlStep.athena_query("Quality", "SELECT 1", database="sales",
                                       output_location=s3.Location(
                                           bucket_name=bucket.bucket_name, object_key="athena"),
                                       data_bucket=bucket, read_prefixes=["curated/"],
                                       write_prefixes=["warehouse/"])],
        load=[EtlStep.glue_crawler("Catalog", crawler, poll_interval=Duration.seconds(45)),
              EtlStep.chainable("Mine", sfn.Pass(stack, "Mine"))],
        workflow_name="daily-sales",
        timeout=Duration.hours(5),
        retry=EtlRetryPolicy(interval=Duration.seconds(2), max_attempts=6, backoff_rate=1.5,
                             max_delay=Duration.seconds(30), jitter=False),
        triggers=[
            EtlTrigger.schedule(scheduler.ScheduleExpression.cron(
                minute="0", hour="2", time_zone=TimeZone.EUROPE_PARIS)),
            EtlTrigger.object_accepted(bucket, key_prefix="incoming/"),
            EtlTrigger.event(events.EventPattern(source=["custom"]), event_bus=handles["bus"]),
        ],
        trigger_retry=TargetRetryPolicy(max_event_age=Duration.hours(1), retry_attempts=3),
        ledger_table=ledger, notification_topic=handles["topic"], notify_on_success=False,
        event_bus=handles["bus"], encryption_key=handles["key"], alarm_topic=handles["alarms"],
    )
    template = Template.from_stack(stack)
    return etl, template, _definition(template), handles


def _logical_id(construct: Any) -> str:
    stack = Stack.of(construct)
    child = getattr(construct.node, "default_child", None) or construct
    return stack.resolve(stack.get_logical_id(child))


# ------------------------------------------------------------------ defaults
def test_state_machine_is_standard_logged_traced_and_times_out(minimal):
    _, template, definition = minimal
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineType": "STANDARD",
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True,
                                 "Destinations": Match.any_value()},
    })
    assert definition["TimeoutSeconds"] == 3600


def test_state_machine_depends_on_its_policies_not_its_role(minimal):
    _, template, _ = minimal
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    policies = template.find_resources("AWS::IAM::Policy")
    assert machine["DependsOn"] and set(machine["DependsOn"]) <= set(policies)


def test_ledger_is_created_encrypted_with_the_execution_as_key(minimal):
    etl, template, _ = minimal
    template.has_resource_properties("AWS::DynamoDB::Table", {
        "KeySchema": [{"AttributeName": "execution_arn", "KeyType": "HASH"}],
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS",
                             "KMSMasterKeyId": {"Fn::GetAtt": [_logical_id(etl.encryption_key),
                                                               "Arn"]}},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    })
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_run_start_is_recorded_once_without_lambda(minimal):
    _, template, definition = minimal
    assert definition["StartAt"] == "RecordStart"
    start = definition["States"]["RecordStart"]
    assert start["Resource"].endswith(":states:::dynamodb:putItem")
    assert start["Parameters"]["ConditionExpression"] == "attribute_not_exists(execution_arn)"
    item = start["Parameters"]["Item"]
    assert item["status"] == {"S": "RUNNING"} and item["workflow"] == {"S": "Etl"}
    assert item["started_at"] == {"S.$": "$$.Execution.StartTime"}
    assert item["input"] == {"S.$": "States.JsonToString($$.Execution.Input)"}
    template.resource_count_is("AWS::Lambda::Function", 1)  # only the step's own function


def test_every_step_retries_transient_errors_with_backoff_and_jitter(minimal):
    _, _, definition = minimal
    [retry] = definition["States"]["Work"]["Retry"]
    assert retry == {"ErrorEquals": list(TRANSIENT_ERRORS["lambda"]), "IntervalSeconds": 5,
                     "MaxAttempts": 4, "BackoffRate": 2, "MaxDelaySeconds": 120,
                     "JitterStrategy": "FULL"}


def test_every_top_level_state_catches_to_the_failure_path(minimal):
    _, _, definition = minimal
    for name in ("RecordStart", "Work", "RecordSuccess", "NotifySuccess", "PublishRunSucceeded"):
        assert definition["States"][name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure",
             "Next": "RecordFailure"}], name


def test_success_path_records_notifies_and_publishes(minimal):
    _, _, definition = minimal
    states = definition["States"]
    assert states["Work"]["Next"] == "RecordSuccess"
    update = states["RecordSuccess"]["Parameters"]
    assert update["ExpressionAttributeValues"][":status"] == {"S": "SUCCEEDED"}
    assert update["ExpressionAttributeValues"][":finished"] == {"S.$": "$$.State.EnteredTime"}
    notify = states["NotifySuccess"]
    assert notify["Parameters"]["MessageAttributes"]["status"] == {
        "DataType": "String", "StringValue": "SUCCEEDED"}
    [entry] = states["PublishRunSucceeded"]["Parameters"]["Entries"]
    assert (entry["Source"], entry["DetailType"]) == (ETL_RUN_SUCCEEDED.source,
                                                    ETL_RUN_SUCCEEDED.detail_type)
    assert sorted(entry["Detail"]) == sorted(f"{f}.$" if f in (
        "execution_arn", "started_at", "finished_at") else f
        for f in ETL_RUN_SUCCEEDED.detail_fields)
    assert states["PublishRunSucceeded"]["Next"] == "RunSucceeded"


def test_failure_path_records_notifies_publishes_and_fails_with_the_error(minimal):
    _, _, definition = minimal
    states = definition["States"]
    record = states["RecordFailure"]["Parameters"]
    assert record["ExpressionAttributeValues"][":status"] == {"S": "FAILED"}
    assert record["ExpressionAttributeValues"][":error"] == {"S.$": "$.failure.Error"}
    assert record["ExpressionAttributeValues"][":cause"] == {"S.$": "$.failure.Cause"}
    assert "Catch" not in states["RecordFailure"]
    assert states["RecordFailure"]["Retry"][0]["ErrorEquals"] == list(TRANSIENT_ERRORS["dynamodb"])
    assert states["NotifyFailure"]["Parameters"]["MessageAttributes"]["status"][
        "StringValue"] == "FAILED"
    [entry] = states["PublishRunFailed"]["Parameters"]["Entries"]
    assert entry["DetailType"] == ETL_RUN_FAILED.detail_type
    assert states["RunFailed"] == {"Type": "Fail", "ErrorPath": "$.failure.Error",
                                   "CausePath": "$.failure.Cause"}


def test_notification_topic_is_created_encrypted(minimal):
    etl, template, _ = minimal
    template.has_resource_properties("AWS::SNS::Topic", {
        "KmsMasterKeyId": {"Fn::GetAtt": [_logical_id(etl.encryption_key), "Arn"]}})


def test_alarms_on_failed_timed_out_and_throttled_executions(minimal):
    etl, template, _ = minimal
    names = sorted(a["Properties"]["MetricName"]
                   for a in template.find_resources("AWS::CloudWatch::Alarm").values())
    assert names == ["ExecutionThrottled", "ExecutionsFailed", "ExecutionsTimedOut"]
    template.has_resource_properties("AWS::CloudWatch::Alarm", {
        "Dimensions": [{"Name": "StateMachineArn",
                        "Value": {"Ref": _logical_id(etl.state_machine)}}],
        "TreatMissingData": "notBreaching", "Threshold": 1,
    })
    assert len(etl.alarms) == 3


def test_no_trigger_by_default(minimal):
    _, template, _ = minimal
    template.resource_count_is("AWS::Events::Rule", 0)
    template.resource_count_is("AWS::Scheduler::Schedule", 0)


def test_grant_and_metric_helpers(minimal):
    etl, _, _ = minimal
    stack = Stack.of(etl)
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    etl.grant_start_execution(role)
    etl.grant_read_ledger(role)
    policy = json.dumps(stack.resolve(role.node.find_child("DefaultPolicy").document))
    assert "states:StartExecution" in policy and "dynamodb:GetItem" in policy
    assert etl.metric_executions_failed().metric_name == "ExecutionsFailed"
    assert etl.metric_executions_succeeded().metric_name == "ExecutionsSucceeded"
    assert etl.metric_execution_time().statistic == "p90"


# ------------------------------------------------------------------ options
def test_several_sources_extract_in_parallel_with_one_catch(full):
    _, _, definition, _ = full
    extract = definition["States"]["Extract"]
    assert extract["Type"] == "Parallel" and extract["ResultPath"] == "$.results"
    assert extract["ResultSelector"] == {"Orders.$": "$[0].results.Orders",
                                         "Clicks.$": "$[1].results.Clicks"}
    assert extract["Catch"][0]["Next"] == "RecordFailure"
    orders = extract["Branches"][0]["States"]["Orders"]
    assert "Catch" not in orders and orders["Retry"][0]["ErrorEquals"] == list(
        TRANSIENT_ERRORS["glue"])


def test_glue_job_runs_sync_with_arguments(full):
    _, _, definition, _ = full
    orders = _all_states(definition)["Orders"]
    assert orders["Resource"].endswith(":states:::glue:startJobRun.sync")
    assert orders["Parameters"]["Arguments"] == {"--key.$": "$.key"}
    assert orders["ResultPath"] == "$.results.Orders"


def test_crawler_step_starts_polls_and_checks_the_crawl(full):
    _, _, definition, _ = full
    states = definition["States"]
    assert states["Catalog"]["Resource"].endswith(":states:::aws-sdk:glue:startCrawler")
    assert states["CatalogWait"]["Seconds"] == 45
    assert states["CatalogPoll"]["Resource"].endswith(":states:::aws-sdk:glue:getCrawler")
    choices = states["CatalogFinished"]["Choices"]
    assert choices[0]["Not"]["Variable"] == "$.results.Catalog.Crawler.State"
    assert choices[0]["Next"] == "CatalogWait"
    assert choices[1]["Variable"] == "$.results.Catalog.Crawler.LastCrawl.Status"
    failed = states[states["CatalogFinished"]["Default"]]
    assert failed["Parameters"]["Error"] == "Glue.CrawlFailed"
    assert failed["Next"] == "RecordFailure"


def test_emr_serverless_job_runs_sync_with_exact_permissions(full):
    _, template, definition, _ = full
    spark = definition["States"]["Spark"]
    assert spark["Resource"].endswith(":states:::emr-serverless:startJobRun.sync")
    driver = spark["Parameters"]["JobDriver"]["SparkSubmit"]
    assert driver == {"EntryPoint": "s3://code/job.py", "EntryPointArguments": ["--day", "x"]}
    template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement":
        Match.array_with([Match.object_like({
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        })])}})


def test_batch_athena_and_chainable_steps(full):
    _, _, definition, _ = full
    states = _all_states(definition)
    assert states["Batch"]["Resource"].endswith(":states:::batch:submitJob.sync")
    assert states["Batch"]["Parameters"]["Parameters"] == {"day": "2026"}
    quality = states["Quality"]
    assert quality["Resource"].endswith(":states:::athena:startQueryExecution.sync")
    assert quality["Parameters"]["QueryExecutionContext"] == {"Database": "sales"}
    assert states["Mine"]["Type"] == "Pass" and "Catch" not in states["Mine"]
    order = [definition["States"]["Spark"]["Next"], definition["States"]["Batch"]["Next"],
             definition["States"]["Quality"]["Next"]]
    assert order == ["Batch", "Quality", "Catalog"]


def _role_statements(template: Template) -> list[dict[str, Any]]:
    """Every statement of the state machine role's policies (CDK may split them)."""
    return [statement for lid, policy in template.find_resources("AWS::IAM::Policy").items()
            if "StateMachineRole" in lid
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def test_athena_step_grants_its_results_and_data_only_never_a_bucket_wildcard(full):
    """CDK's AthenaStartQueryExecution grants s3:CreateBucket/GetObject/ListBucket on '*';
    the step names the result location and the data it reads and writes instead."""
    _, template, _, handles = full
    bucket = _logical_id(handles["bucket"])
    statements = _role_statements(template)
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    assert s3_statements
    for statement in s3_statements:
        assert "*" not in _resources(statement), statement
        assert "s3:CreateBucket" not in _actions(statement)
    assert all(not a.startswith("lakeformation:") and a not in {
        "glue:CreateDatabase", "glue:DeleteDatabase", "glue:DeleteTable", "glue:BatchDeleteTable"}
        for s in statements for a in _actions(s))
    granted = {(a, json.dumps(r, sort_keys=True)) for s in statements for a in _actions(s)
               for r in _resources(s)}

    def objects(prefix: str) -> str:
        return json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]},
                          sort_keys=True)
    results = json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::",
                                            {"Ref": bucket}, "/athena/*"]]}, sort_keys=True)
    assert {("s3:PutObject", results), ("s3:GetObject", results),
            ("s3:GetObject", objects("curated/")), ("s3:PutObject", objects("warehouse/")),
            } <= granted
    assert ("s3:PutObject", objects("curated/")) not in granted
    glue = next(s for s in statements if "glue:GetTable" in _actions(s))
    assert json.dumps(glue["Resource"]).count("sales") == 2  # database/sales, table/sales/*


def test_athena_step_needs_a_result_location_it_may_write_to():
    stack = new_stack()
    with pytest.raises(ConfigurationError, match=r"load\[0\]\.output_location"):
        StepFunctionsEtl(stack, "Etl", load=[EtlStep.athena_query("Q", "SELECT 1")])


def test_batch_step_names_its_job_definition_and_queue_not_every_definition(full):
    _, template, _, _ = full
    statements = _role_statements(template)
    submit = [s for s in statements if "batch:SubmitJob" in _actions(s)]
    assert submit
    for statement in submit:
        assert _actions(statement) == {"batch:SubmitJob"}
        assert "job-definition/*" not in json.dumps(statement)
        [definition] = template.find_resources("AWS::Batch::JobDefinition")
        [queue] = template.find_resources("AWS::Batch::JobQueue")
        assert {json.dumps(r) for r in _resources(statement)} == {
            json.dumps({"Ref": definition}),
            json.dumps({"Fn::GetAtt": [queue, "JobQueueArn"]})}
    terminate = next(s for s in statements if "batch:TerminateJob" in _actions(s))
    assert json.dumps(terminate["Resource"]).endswith(':job/*"]]}')


def test_partition_records_step_builds_the_library_function(full):
    _, template, _, _ = full
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "index.handler", "MemorySize": 1024, "Timeout": 300,
        "Environment": {"Variables": Match.object_like({
            "TARGET_PREFIX": "curated/", "PARTITION_KEYS": '["day"]',
            "MAX_REJECTED_FRACTION": "0.1"})},
    })


def test_large_input_is_a_distributed_map_with_tolerance_and_result_writer(full):
    _, _, definition, _ = full
    states = definition["States"]
    mapped = states["ProcessObjects"]
    assert mapped["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert mapped["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert mapped["ItemReader"]["Parameters"]["Prefix"] == "in/"
    assert (mapped["MaxConcurrency"], mapped["ToleratedFailurePercentage"]) == (7, 12.5)
    assert mapped["ItemSelector"]["key.$"] == "$$.Map.Item.Value.Key"
    assert mapped["ResultWriter"]["Parameters"]["Prefix"] == "etl-map-results/"
    assert mapped["Catch"][0]["Next"] == "RecordFailure"
    item = mapped["ItemProcessor"]["States"]["ProcessObjectsItem"]
    assert item["Parameters"]["Parameters"] == {"bucket.$": "$.bucket", "key.$": "$.key"}
    assert states["Extract"]["Next"] == "ProcessObjects"


def test_custom_retry_policy_applies_everywhere(full):
    _, _, definition, _ = full
    retry = definition["States"]["Spark"]["Retry"][0]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"],
            retry["MaxDelaySeconds"], retry["JitterStrategy"]) == (2, 6, 1.5, 30, "NONE")


def test_brought_resources_are_used_and_nothing_else_created(full):
    etl, template, definition, handles = full
    assert etl.ledger_table is handles["ledger"]
    assert etl.notification_topic is handles["topic"]
    assert etl.encryption_key is handles["key"]
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.resource_count_is("AWS::SNS::Topic", 2)  # mine and the alarm topic
    template.resource_count_is("AWS::KMS::Key", 1)
    [entry] = definition["States"]["PublishRunSucceeded"]["Parameters"]["Entries"]
    assert entry["EventBusName"] == "<token>"


def test_workflow_name_timeout_and_success_notification_off(full):
    _, _, definition, _ = full
    states = definition["States"]
    assert "NotifySuccess" not in states
    assert states["RecordSuccess"]["Next"] == "PublishRunSucceeded"
    assert states["RecordStart"]["Parameters"]["Item"]["workflow"] == {"S": "daily-sales"}
    assert definition["TimeoutSeconds"] == 5 * 3600


def test_schedule_trigger_with_time_zone_dead_letters_and_retries(full):
    _, template, _, _ = full
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "Target": Match.object_like({
            "DeadLetterConfig": {"Arn": Match.any_value()},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
            "Input": Match.string_like_regexp("scheduled-time"),
        }),
    })


def test_object_accepted_and_event_triggers(full):
    _, template, _, handles = full
    rules = [r["Properties"] for r in template.find_resources("AWS::Events::Rule").values()]
    accepted = next(r for r in rules if r["EventPattern"].get("detail-type") == [
        OBJECT_ACCEPTED.detail_type])
    assert accepted["EventPattern"]["detail"] == {
        "bucket": [{"Ref": _logical_id(handles["bucket"])}], "key": [{"prefix": "incoming/"}]}
    [target] = accepted["Targets"]
    assert target["InputPath"] == "$.detail"
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    assert "DeadLetterConfig" in target
    custom = next(r for r in rules if r["EventPattern"].get("source") == ["custom"])
    assert custom["EventBusName"] == {"Ref": _logical_id(handles["bus"])}


def test_trigger_dead_letter_queues_alarm_to_the_alarm_topic(full):
    etl, template, _, handles = full
    assert len(etl.dead_letter_queues) == 3
    assert len(etl.alarms) == 6
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": _logical_id(handles["alarms"])}]


def test_express_workflow_defaults_to_five_minutes():
    stack = new_stack()
    StepFunctionsEtl(stack, "Etl", state_machine_type=sfn.StateMachineType.EXPRESS,
                     transform=[EtlStep.lambda_function("Work", _function(stack))])
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineType": "EXPRESS",
        "LoggingConfiguration": Match.object_like({"Level": "ALL",
                                                   "IncludeExecutionData": True})})
    assert _definition(template)["TimeoutSeconds"] == 300


def test_ml_stage_trains_gates_and_deploys():
    stack = new_stack()
    bucket = s3.Bucket(stack, "Data")
    etl = StepFunctionsEtl(stack, "Etl", ml=MlWorkflow(
        data_bucket=bucket, job_name_prefix="churn",
        processing=SageMakerProcessing(image_uri="img", script_uri="s3://b/code/pre.py",
                                       input_uri="s3://b/raw/", output_uri="s3://b/prep"),
        training=SageMakerTraining(image_uri="xgb", channels={"train": "s3://b/prep/train/"},
                                   output_uri="s3://b/models/", hyperparameters={"eta": "0.2"}),
        gate=EvaluationGate("validation:rmse", 0.5, higher_is_better=False),
        deployment=EndpointDeployment("scoring", initial_instance_count=2)))
    template = Template.from_stack(stack)
    states = _definition(template)["States"]
    assert states["Preprocess"]["Resource"].endswith(":sagemaker:createProcessingJob.sync")
    assert states["Preprocess"]["Parameters"]["AppSpecification"]["ContainerEntrypoint"] == [
        "python3", "/opt/ml/processing/code/pre.py"]
    assert states["Train"]["Resource"].endswith(":sagemaker:createTrainingJob.sync")
    assert states["Train"]["Parameters"]["TrainingJobName.$"] == (
        "States.Format('churn-{}', $.ml.run_id)")
    gate = states["EvaluationGate"]["Choices"][0]["And"][1]
    assert gate == {"Variable": "$.evaluation.values[0]", "NumericLessThanEquals": 0.5}
    assert states["ReadMetric"]["Parameters"]["values.$"].endswith(
        "[?(@.MetricName == 'validation:rmse')].Value")
    assert states[states["EvaluationGate"]["Default"]]["Parameters"]["Error"] == (
        "ModelEvaluationFailed")
    assert states["EndpointExists"]["Choices"][0]["Next"] == "UpdateEndpoint"
    assert states["EndpointExists"]["Default"] == "CreateEndpoint"
    variant = states["CreateEndpointConfig"]["Parameters"]["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 2
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {
        "Statement": [Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})]}})
    assert etl.sagemaker_role is not None


class AnnouncedEtl(StepFunctionsEtl):
    """Extension point: the definition builder, overridden to announce each run first."""

    def _build_definition(self) -> sfn.IChainable:
        announce = sfn.Pass(self, "Announce", result_path=sfn.JsonPath.DISCARD)
        return sfn.Chain.start(announce).next(super()._build_definition())


def test_subclass_overrides_the_definition_builder():
    stack = new_stack()
    etl = AnnouncedEtl(stack, "Etl", transform=[EtlStep.lambda_function("Work",
                                                                        _function(stack))])
    definition = _definition(Template.from_stack(stack))
    assert definition["StartAt"] == "Announce"
    assert definition["States"]["Announce"]["Next"] == "RecordStart"
    assert isinstance(etl, StepFunctionsEtl)
