"""Scenario: analysts and a reporting system submit analytic jobs; two worker pools run them.

Report jobs (summaries, histograms, grouped aggregates over a few thousand values) arrive
through the job API, IAM-authorized, and are run by Lambda workers: batches of 10 gathered
for up to 5 seconds, at most 20 concurrent workers. Heavy jobs go to a second queue whose
workers are ECS Fargate tasks in a private VPC, scaling from zero to five tasks with the
queue's depth. Both pools record every job in their job table and put JobSucceeded /
JobFailed on the platform's job-events bus; their alarms notify the operations topic. The
reporting system's role may submit to both pools and read report jobs back.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from analytics_orchestration import (
    ContainerWorkers,
    JobApiOptions,
    LambdaWorkers,
    SqsWorkerPool,
)
from analytics_orchestration import building_blocks as blocks


class JobQueueStack(Stack):
    """The job-processing tier of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "JobsKey", description="Encrypts the example job queues, job tables and alarms"
        )
        operations_topic = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
        job_events = events.EventBus(self, "JobEvents", description="Outcomes of analytic jobs")

        self.report_jobs = SqsWorkerPool(
            self,
            "ReportJobs",
            encryption_key=key,
            workers=LambdaWorkers(
                batch_size=10, max_batching_window=Duration.seconds(5), max_concurrency=20
            ),
            api_options=JobApiOptions(throttling_rate_limit=20, throttling_burst_limit=40),
            event_bus=job_events,
            alarm_topic=operations_topic,
        )
        self.heavy_jobs = SqsWorkerPool(
            self,
            "HeavyJobs",
            encryption_key=key,
            workers=ContainerWorkers(
                min_tasks=0, max_tasks=5, cpu=1024, memory_limit_mib=2048,
                processing_timeout=Duration.minutes(15),
            ),
            enable_api=False,
            event_bus=job_events,
            oldest_message_age_threshold=Duration.hours(1),
            alarm_topic=operations_topic,
        )

        reporting_system = iam.Role(
            self, "ReportingSystem", assumed_by=iam.AccountRootPrincipal(),
            description="The reporting system: submits jobs and reads report jobs back",
        )
        self.report_jobs.grant_submit(reporting_system)
        self.report_jobs.grant_read_jobs(reporting_system)
        self.heavy_jobs.grant_submit(reporting_system)
        self._acknowledge_job_reads(reporting_system, self.report_jobs)

    def _acknowledge_job_reads(self, role: iam.Role, pool: SqsWorkerPool) -> None:
        """GET /jobs/{job_id} for any job id: the ids are only known once jobs are submitted."""
        assert pool.api is not None
        api = self.resolve(self.get_logical_id(_cfn(pool.api)))
        stage = self.resolve(self.get_logical_id(_cfn(pool.api.deployment_stage)))
        policy = role.node.find_child("DefaultPolicy")
        Validations.of(policy).acknowledge(Acknowledgment(
            id="AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:"
               f"<AWS::Region>:<AWS::AccountId>:<{api}>/<{stage}>/GET/jobs/*]",
            reason="The reporting system reads back the jobs it submitted: job ids are "
                   "request ids, unknown until submission, so the path ends in '*' on this "
                   "one method of this one stage.",
        ))


def _cfn(construct: Construct) -> CfnElement:
    child = construct.node.default_child
    assert isinstance(child, CfnElement)
    return child
