"""A typical two-pattern pipeline written directly with aws-cdk-lib's L2 constructs.

The yardstick of ``make bench`` (issue #16): what the library's synth cost per resource is
compared against. Each copy is one stack with

- S3 -> EventBridge -> Step Functions with a Lambda task: a landing bucket with EventBridge
  notifications, a rule on Object Created starting a state machine whose one task invokes
  a function;
- SQS -> Lambda with partial batch failures: an encrypted queue with a dead-letter queue
  feeding a function through an event source mapping with ``ReportBatchItemFailures``,

written the way a careful team writes it by hand (KMS keys, TLS-only buckets and queues,
access logs, logged and traced state machine, dead-letter queues), with the same four rule
packs as the example app registered directly (cdk-nag's AwsSolutions, Serverless and
NIST 800-53 R5, and cfn-guard's Control Tower rules). The findings such a hand-written app
still has are acknowledged per resource, as a team would, so synth passes the same gate.

``python benchmarks/apps/handwritten_pipeline.py [COPIES]`` (default 1), with cdk.json's
context in ``CDK_CONTEXT_JSON`` and the output directory in ``CDK_OUTDIR`` (the benchmark
passes both, as the CDK CLI does).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

from aws_cdk import (
    Acknowledgment,
    App,
    Duration,
    IPolicyValidationPlugin,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import Construct, IConstruct

HANDLER = Path(__file__).resolve().parent / "handler"

#: The findings this hand-written pipeline keeps, acknowledged on its stack (as teams
#: writing CDK by hand often do, one list per stack).
STACK_FINDINGS = (
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetBucket*]",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:GetObject*]",
    "AwsSolutions::AwsSolutions-IAM5[Action::s3:List*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::<LandingF95672E9.Arn>/*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::<ProcessCB70800C.Arn>:*]",
    "AwsSolutions::AwsSolutions-L1",
    "AwsSolutions::AwsSolutions-SQS3",
    "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
    "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
    "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
    "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
    "Serverless::Serverless-LambdaDLQ",
    "Serverless::Serverless-LambdaEventSourceMappingDestination",
    "Serverless::Serverless-LambdaLatestVersion",
    "Serverless::Serverless-SQSRedrivePolicy",
    "cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check",
    "cdk-validator-cfnguard::kms_create_grant_aws_service_check",
    "cdk-validator-cfnguard::lambda_inside_vpc_check",
    "cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check",
    "cdk-validator-cfnguard::s3_bucket_logging_enabled_check",
    "cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check",
    "cdk-validator-cfnguard::s3_event_notifications_enabled_check",
    "cdk-validator-cfnguard::s3_lifecycle_policy_check",
    "cdk-validator-cfnguard::s3_version_lifecycle_policy_check",
    "cdk-validator-cfnguard::sqs_dlq_check",
)
REASON = "Reviewed for the benchmark pipeline: accepted as hand-written teams accept it."


def _function(scope: Construct, construct_id: str, key: kms.IKey) -> lambda_.Function:
    log_group = logs.LogGroup(
        scope, f"{construct_id}Logs", retention=logs.RetentionDays.ONE_MONTH,
        encryption_key=key, removal_policy=RemovalPolicy.DESTROY,
    )
    return lambda_.Function(
        scope, construct_id,
        runtime=lambda_.Runtime.PYTHON_3_13, architecture=lambda_.Architecture.ARM_64,
        handler="index.handler", code=lambda_.Code.from_asset(str(HANDLER)),
        timeout=Duration.seconds(30), memory_size=256, tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group, reserved_concurrent_executions=10,
    )


class HandWrittenPipeline(Stack):
    """One copy of the two patterns, in its own stack."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "Key", enable_key_rotation=True,
                      removal_policy=RemovalPolicy.DESTROY)
        # CloudWatch Logs encrypts the log groups with the key.
        key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com"))
        access_logs = s3.Bucket(
            self, "AccessLogs", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        )
        landing = s3.Bucket(
            self, "Landing", encryption=s3.BucketEncryption.KMS, encryption_key=key,
            bucket_key_enabled=True, enforce_ssl=True, versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=access_logs, server_access_logs_prefix="landing/",
            event_bridge_enabled=True,
        )
        # Pattern 1: S3 -> EventBridge -> Step Functions with a Lambda task.
        process = _function(self, "Process", key)
        landing.grant_read(process)
        workflow_logs = logs.LogGroup(
            self, "WorkflowLogs", retention=logs.RetentionDays.ONE_MONTH, encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        workflow = sfn.StateMachine(
            self, "Workflow",
            definition_body=sfn.DefinitionBody.from_chainable(tasks.LambdaInvoke(
                self, "ProcessObject", lambda_function=process, payload_response_only=True,
                retry_on_service_exceptions=True,
            )),
            timeout=Duration.minutes(15), tracing_enabled=True,
            logs=sfn.LogOptions(destination=workflow_logs, level=sfn.LogLevel.ALL,
                                include_execution_data=False),
        )
        rule_dlq = sqs.Queue(self, "RuleDeadLetters", encryption=sqs.QueueEncryption.KMS,
                             encryption_master_key=key, enforce_ssl=True,
                             retention_period=Duration.days(14))
        events.Rule(
            self, "ObjectCreated",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [landing.bucket_name]}},
            ),
            targets=[targets.SfnStateMachine(workflow, dead_letter_queue=rule_dlq,
                                             retry_attempts=3)],
        )
        # Pattern 2: SQS -> Lambda with partial batch failures.
        dead_letters = sqs.Queue(self, "JobDeadLetters", encryption=sqs.QueueEncryption.KMS,
                                 encryption_master_key=key, enforce_ssl=True,
                                 retention_period=Duration.days(14))
        jobs = sqs.Queue(
            self, "Jobs", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key,
            enforce_ssl=True, visibility_timeout=Duration.minutes(3),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=5),
        )
        worker = _function(self, "Worker", key)
        worker.add_event_source(sources.SqsEventSource(
            jobs, batch_size=10, report_batch_item_failures=True, max_concurrency=5))
        _acknowledge(self, STACK_FINDINGS)


def _acknowledge(construct: IConstruct, rule_ids: tuple[str, ...]) -> None:
    validations = Validations.of(construct)
    for rule_id in rule_ids:
        validations.acknowledge(Acknowledgment(id=rule_id, reason=REASON))


def build(copies: int) -> App:
    """The app: ``copies`` pipeline stacks and the four packs."""
    app = App()
    for index in range(copies):
        HandWrittenPipeline(app, f"HandWrittenPipeline{index}")
    plugins: list[IPolicyValidationPlugin] = [
        AwsSolutionsChecks(app), ServerlessChecks(app), NIST80053R5Checks(app),
        cast(IPolicyValidationPlugin, CfnGuardValidator(control_tower_rules_enabled=True)),
    ]
    Validations.of(app).add_plugins(*plugins)
    return app


if __name__ == "__main__":
    build(int(sys.argv[1]) if len(sys.argv) > 1 else 1).synth()
