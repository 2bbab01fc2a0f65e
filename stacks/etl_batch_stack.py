"""Scenario: nightly batch processing of sensor readings with AWS Batch on Fargate.

Field devices upload raw readings (JSON lines) under ``readings/raw/``. Every night at 01:00
UTC a Distributed Map lists them and runs one AWS Batch job per object (Fargate, in a
private VPC without internet access: ECR, CloudWatch Logs and S3 through endpoints), up to
50 at a time; each job writes the object's hourly aggregates under ``readings/hourly/``
(``etl_assets/batch/process_object.py``). Up to 5 % of objects may fail without failing the
night's run; the per-object results land under ``etl-map-results/``. The night's hourly
aggregates are then re-partitioned by sensor under ``readings/by-sensor/`` (the library's
record partitioner, a Lambda step) for the per-sensor dashboards, and a ``_SUCCESS`` marker
naming the run is written last, so the dashboards' loader never reads a half-written night.

Operations can re-run a night on demand: a ``ReprocessReadingsRequested`` event from
``analytics-platform.operations`` on the default bus starts the same workflow. They can also
re-process one object (``ReprocessObjectRequested`` naming its ``key``): the object
reprocessing workflow first checks its readings (the stack's ``readings_quality`` function,
a Lambda step), then runs the same Batch job for it alone (a Batch step), so a file without
a valid reading is refused before a container starts. Every Sunday at 03:00 UTC the quality
scan runs that check over every raw object (a Distributed Map of Lambda invocations) and
writes one report per object under ``readings/quality/``; more than 5 % unusable objects
fail the scan and notify operations.

The job image is built from ``etl_assets/batch/Dockerfile`` and pushed to the stack's ECR
repository with tag :data:`IMAGE_TAG` (CI does it; no Docker is needed to synthesize).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    Duration,
    Size,
    Stack,
    TimeZone,
    Validations,
)
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from analytics_orchestration import (
    EtlStep,
    EtlTrigger,
    ItemProcessor,
    LargeInput,
    StepFunctionsEtl,
)
from analytics_orchestration import building_blocks as blocks

IMAGE_TAG = "1.0.0"
RAW_PREFIX = "readings/raw/"
HOURLY_PREFIX = "readings/hourly/"
BY_SENSOR_PREFIX = "readings/by-sensor/"
#: Written (with the run's execution ARN) once every partition of the night is.
COMPLETION_MARKER = f"{BY_SENSOR_PREFIX}_SUCCESS"
#: The on-demand re-run request operations put on the default bus.
OPERATIONS_SOURCE = "analytics-platform.operations"
REPROCESS_REQUESTED = "ReprocessReadingsRequested"
#: The request to re-process one object (``detail.key``).
REPROCESS_OBJECT_REQUESTED = "ReprocessObjectRequested"
#: Where the quality check writes one report per object.
QUALITY_PREFIX = "readings/quality/"
HANDLERS = Path(__file__).parent / "handlers"


class BatchProcessingStack(Stack):
    """Nightly per-object processing of S3 data with AWS Batch through a Distributed Map."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "ReadingsKey", description="Encrypts the sensor readings, their jobs and workflow"
        )
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        self.readings = blocks.secure_bucket(
            self, "Readings", encryption_key=key,
            server_access_logs_bucket=blocks.access_log_bucket(self, "AccessLogs"),
            server_access_logs_prefix="readings/",
        )
        vpc = blocks.private_vpc(self, "Network", flow_logs_key=None, interface_endpoints=[
            ec2.InterfaceVpcEndpointAwsService.ECR, ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
            ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
        ])
        repository = blocks.secure_repository(self, "JobImages", encryption_key=key)
        compute = batch.FargateComputeEnvironment(
            self, "Fargate", vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            maxv_cpus=64, spot=False,
        )
        queue = batch.JobQueue(self, "Jobs", compute_environments=[
            batch.OrderedComputeEnvironment(compute_environment=compute, order=1)])
        job_role = iam.Role(self, "JobRole",
                            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                            description="Reads raw readings and writes hourly aggregates")
        job_role.add_to_policy(iam.PolicyStatement(
            sid="ReadRawReadings", actions=["s3:GetObject"],
            resources=[self.readings.arn_for_objects(f"{RAW_PREFIX}*")]))
        job_role.add_to_policy(iam.PolicyStatement(
            sid="WriteHourlyAggregates", actions=["s3:PutObject"],
            resources=[self.readings.arn_for_objects(f"{HOURLY_PREFIX}*")]))
        key.grant(job_role, "kms:Decrypt", "kms:GenerateDataKey")
        readings_id = self.resolve(self.get_logical_id(_cfn_bucket(self.readings)))
        for prefix, what in ((RAW_PREFIX, "reads whichever raw object its item names"),
                             (HOURLY_PREFIX, "writes the aggregates of that object")):
            Validations.of(job_role.node.find_child("DefaultPolicy")).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{readings_id}.Arn>/{prefix}*]",
                reason=f"Each job {what}; keys are only known at run time, within {prefix}."))
        job_logs = blocks.log_group(self, "JobLogs")
        definition = batch.EcsJobDefinition(
            self, "ProcessObject",
            container=batch.EcsFargateContainerDefinition(
                self, "ProcessObjectContainer",
                image=ecs.ContainerImage.from_ecr_repository(repository, IMAGE_TAG),
                cpu=1, memory=Size.gibibytes(2),
                command=["--bucket", "Ref::bucket", "--key", "Ref::key",
                         "--output-prefix", HOURLY_PREFIX],
                job_role=job_role,
                readonly_root_filesystem=True,
                logging=ecs.LogDriver.aws_logs(stream_prefix="process-object",
                                               log_group=job_logs),
            ),
            timeout=Duration.minutes(30),
            retry_attempts=2,
        )
        execution_role = definition.container.execution_role
        Validations.of(execution_role.node.find_child("DefaultPolicy")).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken, which pulling the job image needs, accepts "
                       "no resource but '*' (CDK's container execution role)."))
        self.etl = StepFunctionsEtl(
            self, "NightlyReadings",
            workflow_name="nightly-readings",
            large_input=LargeInput(
                bucket=self.readings, prefix=RAW_PREFIX,
                processor=ItemProcessor.batch_job(job_queue=queue, job_definition=definition),
                max_concurrency=50, tolerated_failure_percentage=5,
            ),
            transform=[EtlStep.partition_records(
                "PartitionBySensor", source_bucket=self.readings, target_bucket=self.readings,
                target_prefix=BY_SENSOR_PREFIX, partition_keys=["sensor_id"],
                payload=sfn.TaskInput.from_object({"bucket": self.readings.bucket_name,
                                                   "prefix": HOURLY_PREFIX}),
            )],
            load=[EtlStep.chainable("MarkPartitionsComplete",
                                    self._completion_marker(COMPLETION_MARKER))],
            timeout=Duration.hours(6),
            triggers=[EtlTrigger.schedule(
                scheduler.ScheduleExpression.cron(minute="0", hour="1",
                                                  time_zone=TimeZone.ETC_UTC),
                description="Nightly processing of the day's sensor readings",
            ), EtlTrigger.event(
                events.EventPattern(source=[OPERATIONS_SOURCE],
                                    detail_type=[REPROCESS_REQUESTED]),
                description="Operations re-run the night's processing on demand",
            )],
            encryption_key=key,
            notification_topic=operations,
            notify_on_success=False,
            alarm_topic=operations,
        )
        # The marker's own state: the workflow grants only its steps, so its write is
        # granted here (the object, and the bucket key to encrypt it).
        key.grant(self.etl.state_machine.role, "kms:GenerateDataKey")

        quality = self._quality_check(key)
        object_key = sfn.JsonPath.string_at("$.detail.key")
        self.reprocessing = StepFunctionsEtl(
            self, "ObjectReprocessing",
            workflow_name="object-reprocessing",
            extract=[EtlStep.lambda_function(
                "CheckReadings", quality,
                payload=sfn.TaskInput.from_object({"bucket": self.readings.bucket_name,
                                                   "key": object_key}))],
            transform=[EtlStep.batch_job(
                "ReprocessObject", job_queue=queue, job_definition=definition,
                parameters={"bucket": self.readings.bucket_name, "key": object_key})],
            timeout=Duration.hours(1),
            triggers=[EtlTrigger.event(
                events.EventPattern(source=[OPERATIONS_SOURCE],
                                    detail_type=[REPROCESS_OBJECT_REQUESTED],
                                    detail={"key": events.Match.prefix(RAW_PREFIX)}),
                description="Operations re-process one raw object on demand",
            )],
            encryption_key=key,
            notification_topic=operations,
            notify_on_success=False,
            alarm_topic=operations,
        )
        self.quality_scan = StepFunctionsEtl(
            self, "QualityScan",
            workflow_name="readings-quality-scan",
            large_input=LargeInput(
                bucket=self.readings, prefix=RAW_PREFIX, name="CheckObjects",
                processor=ItemProcessor.lambda_function(quality),
                # The check's reserved concurrency: more at once would only be throttled.
                max_concurrency=10, tolerated_failure_percentage=5,
                results_prefix="quality-scan-results/",
            ),
            timeout=Duration.hours(2),
            triggers=[EtlTrigger.schedule(
                scheduler.ScheduleExpression.cron(minute="0", hour="3", week_day="SUN",
                                                  time_zone=TimeZone.ETC_UTC),
                description="Weekly quality scan of every raw readings object",
            )],
            encryption_key=key,
            notification_topic=operations,
            notify_on_success=False,
            alarm_topic=operations,
        )

    def _quality_check(self, key: kms.IKey) -> lambda_.IFunction:
        """The stack's own readings check: reads raw objects, writes their reports."""
        check = blocks.python_function(
            self, "ReadingsQuality", code_path=HANDLERS / "readings_quality",
            handler="readings_quality.handler",
            description="Checks the readings of one raw object and writes its report",
            environment={"REPORT_PREFIX": QUALITY_PREFIX}, memory_size=512,
            timeout=Duration.minutes(2), log_encryption_key=key)
        for sid, actions, prefix in (("ReadRawReadings", ["s3:GetObject"], RAW_PREFIX),
                                     ("WriteQualityReports", ["s3:PutObject"], QUALITY_PREFIX)):
            check.function.add_to_role_policy(iam.PolicyStatement(
                sid=sid, actions=actions, resources=[self.readings.arn_for_objects(f"{prefix}*")]))
        key.grant(check.role, "kms:Decrypt", "kms:GenerateDataKey")
        readings_id = self.resolve(self.get_logical_id(_cfn_bucket(self.readings)))
        policy = check.role.node.find_child("DefaultPolicy")
        for prefix, what in ((RAW_PREFIX, "reads whichever raw object it is given"),
                             (QUALITY_PREFIX, "writes the report of that object")):
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{readings_id}.Arn>/{prefix}*]",
                reason=f"The check {what}; keys are only known at run time, within {prefix}."))
        for rule in ("Serverless::Serverless-LambdaDLQ",
                     "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ"):
            Validations.of(check.function).acknowledge(Acknowledgment(
                id=rule, reason="Only Step Functions invokes the check, synchronously: a "
                "failure fails the task, which the workflow retries and then records."))
        return check.function

    def _completion_marker(self, key: str) -> sfn.IChainable:
        """An S3 PutObject of ``key`` holding ``{"execution_arn"}``, retried with backoff."""
        task = tasks.CallAwsService(
            self, "MarkPartitionsComplete", service="s3", action="putObject",
            parameters={"Bucket": self.readings.bucket_name, "Key": key,
                        # An object body is written as its JSON text.
                        "Body": {"execution_arn": sfn.JsonPath.execution_id}},
            iam_resources=[self.readings.arn_for_objects(key)],
            result_path=sfn.JsonPath.DISCARD,
        )
        return task.add_retry(errors=["S3.SdkClientException", "S3.S3Exception"],
                              interval=Duration.seconds(5), max_attempts=3, backoff_rate=2,
                              jitter_strategy=sfn.JitterType.FULL)


def _cfn_bucket(bucket: s3.IBucket) -> s3.CfnBucket:
    child = bucket.node.default_child
    assert isinstance(child, s3.CfnBucket)
    return child
