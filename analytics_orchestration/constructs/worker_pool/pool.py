"""SqsWorkerPool: a job queue, a pool of workers that scales with it, and a job API.

::

    POST /jobs (IAM auth, JSON schema) --SendMessage--> SQS queue (SSE, TLS only)
        -> Lambda workers (event source mapping, ReportBatchItemFailures, max concurrency)
           or ECS Fargate workers (poll the queue, scale on its depth)
             -> job table: RECEIVED -> SUCCEEDED | FAILED (idempotent on the job id)
             -> optional JobSucceeded / JobFailed on an event bus
        -> after max receives: dead-letter queue (14 days)
    GET /jobs/{job_id} --GetItem--> job table
"""

from __future__ import annotations

from aws_cdk import Duration, Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from analytics_orchestration.event_catalog import JOB_FAILED, JOB_SUCCEEDED

from .._foundation import (
    ProblemCollector,
    acknowledge,
    alarm,
    dead_letter_queue_alarm,
    function_errors_alarm,
    function_throttles_alarm,
    python_function,
    queue_with_dead_letter_queue,
    require_feature_flags,
    secure_key,
    secure_table,
)
from .._foundation.alarms import ALARM_PERIOD
from .._foundation.functions import ASSET_EXCLUDES, acknowledge_no_dead_letter_queue
from .._foundation.queues import DEFAULT_MAX_RECEIVE_COUNT, DEFAULT_RETENTION
from .._foundation.validation import validated_props
from ._api import JobApiTarget, build_job_api
from ._container import REFERENCE_WORKER_DIRECTORY, build_container_workers
from .options import (
    DEFAULT_WORKER_MEMORY_MB,
    DEFAULT_WORKER_TIMEOUT,
    MAX_VISIBILITY_TIMEOUT,
    ContainerWorkers,
    JobApiOptions,
    LambdaWorkers,
    WorkerCompute,
)

__all__ = ["SqsWorkerPool"]

#: CloudWatch namespace of the reference worker's job metrics (Powertools metrics in
#: Lambda, log metric filters for containers: the same names and ``service`` dimension).
METRICS_NAMESPACE = "AnalyticsOrchestration/Jobs"
#: Default period of the ``metric_*`` helpers.
METRIC_PERIOD = Duration.minutes(5)
#: A job waiting longer than this raises the oldest-message alarm.
DEFAULT_OLDEST_MESSAGE_AGE_THRESHOLD = Duration.minutes(15)
#: Files of the reference worker folder that only the container image needs.
_CONTAINER_ONLY_FILES = ("Dockerfile", ".dockerignore", "poller.py")


@validated_props()
class SqsWorkerPool(Construct):
    """Jobs submitted as messages, processed by workers that scale with the queue.

    :param workers: what runs the jobs: ``LambdaWorkers(...)`` or ``ContainerWorkers(...)``.
        Default: None, ``LambdaWorkers()``: the library's reference worker, batches of 10,
        at most 10 concurrent invocations.
    :param fifo: a FIFO queue (ordered per message group, exactly-once sends). Default:
        False, a standard queue.
    :param content_based_deduplication: FIFO only: deduplicate sends by body hash.
        Default: False, by the sender's deduplication id (the API's request id).
    :param max_receive_count: receives before a message is parked in the dead-letter queue.
        Default: 5.
    :param visibility_timeout: how long a received message stays hidden; at least the
        workers' minimum (Lambda: 6 x the function timeout + the batching window;
        containers: the processing timeout). Default: None, exactly that minimum (6 minutes
        for the default Lambda workers).
    :param retention_period: how long an unprocessed job waits (60 s to 14 days); also how
        long the workers remember a finished job id. Default: 4 days.
    :param encryption_key: the KMS key of the queues, tables and logs. Default: None, a
        rotating key is created.
    :param enable_api: create the job submission API. Default: True.
    :param api_options: the API's authorization, throttling and schema. Only with the API.
        Default: None, ``JobApiOptions()``: IAM auth, 50 requests/s, burst 100.
    :param event_bus: where the workers put JobSucceeded / JobFailed (see
        :mod:`~analytics_orchestration.event_catalog`). Default: None, no events.
    :param oldest_message_age_threshold: the oldest-message alarm fires above this age.
        Default: 15 minutes.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workers: WorkerCompute | None = None,
        fifo: bool = False,
        content_based_deduplication: bool = False,
        max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
        visibility_timeout: Duration | None = None,
        retention_period: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        enable_api: bool = True,
        api_options: JobApiOptions | None = None,
        event_bus: events.IEventBus | None = None,
        oldest_message_age_threshold: Duration | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        #: What runs the jobs.
        self.workers: WorkerCompute = workers or LambdaWorkers()
        self.fifo = fifo
        self.max_receive_count = max_receive_count
        self.retention_period: Duration = retention_period or DEFAULT_RETENTION
        self.oldest_message_age_threshold: Duration = (
            oldest_message_age_threshold or DEFAULT_OLDEST_MESSAGE_AGE_THRESHOLD
        )
        self._check_props(
            workers=workers,
            content_based_deduplication=content_based_deduplication,
            visibility_timeout=visibility_timeout,
            enable_api=enable_api,
            api_options=api_options,
        )
        self._api_options = api_options or JobApiOptions()
        self._alarm_topic = alarm_topic
        #: Powertools service name of the reference worker: the ``service`` dimension.
        self._service_name = f"jobs-{Names.unique_id(self)}"[:64]
        #: The queue's visibility timeout (given, or the workers' minimum).
        self.visibility_timeout: Duration = visibility_timeout or self._minimum_visibility()

        #: The KMS key of the queues, tables and logs.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the job queue and job table of {self.node.path}"
        )
        work = queue_with_dead_letter_queue(
            self,
            "Queue",
            visibility_timeout=self.visibility_timeout,
            max_receive_count=max_receive_count,
            encryption_key=self.encryption_key,
            fifo=fifo,
            content_based_deduplication=content_based_deduplication,
            retention_period=self.retention_period,
        )
        #: The job queue.
        self.queue: sqs.Queue = work.queue
        #: Where jobs that failed ``max_receive_count`` times are parked (14 days).
        self.dead_letter_queue: sqs.Queue = work.dead_letter_queue
        #: One row per job: status, timestamps, attempts, error, result.
        self.job_table: dynamodb.Table = secure_table(
            self, "JobTable", partition_key="job_id", encryption_key=self.encryption_key
        )
        #: The bus of JobSucceeded / JobFailed (None: no events).
        self.event_bus = event_bus

        #: The Lambda worker function (None with container workers).
        self.worker_function: lambda_.IFunction | None = None
        #: The ECS queue-processing service (None with Lambda workers).
        self.worker_service: ecs_patterns.QueueProcessingFargateService | None = None
        #: The VPC of the container workers (None with Lambda workers).
        self.vpc: ec2.IVpc | None = None
        #: The workers' log group, when the pool created it.
        self.worker_log_group: logs.ILogGroup | None = None
        self._create_worker()

        #: The job API (None without it).
        self.api: apigw.RestApi | None = None
        if enable_api:
            self.api = build_job_api(self, self._api_options, JobApiTarget(
                queue=self.queue, fifo=fifo,
                content_based_deduplication=content_based_deduplication,
                job_table=self.job_table, encryption_key=self.encryption_key,
            ))
        #: Every alarm of the pool.
        self.alarms: list[cloudwatch.Alarm] = []
        self._build_alarms()

    # ----------------------------------------------------------------- extension points

    def _create_lambda_worker(self, options: LambdaWorkers) -> lambda_.IFunction:
        """The function that processes the queue's batches; override to build your own.

        The pool then grants it the queue, tables, key and bus, and attaches the event
        source (always with ReportBatchItemFailures). The default builds the reference
        worker, or your ``code``, with :meth:`_worker_environment`, or returns your
        ``function`` (adding that environment when it is a function of this app).
        """
        if options.function is not None:
            if isinstance(options.function, lambda_.Function):
                for name, value in self._worker_environment().items():
                    options.function.add_environment(name, value)
            return options.function
        code = options.code or lambda_.Code.from_asset(
            str(REFERENCE_WORKER_DIRECTORY), exclude=[*ASSET_EXCLUDES, *_CONTAINER_ONLY_FILES]
        )
        built = python_function(
            self,
            "Worker",
            code=code,
            handler=options.handler or "index.handler",
            description=f"Processes the jobs of {self.node.path}",
            environment={**self._worker_environment(), **(options.environment or {})},
            memory_size=options.memory_size or DEFAULT_WORKER_MEMORY_MB,
            timeout=options.timeout or DEFAULT_WORKER_TIMEOUT,
            service_name=self._service_name,
            metrics_namespace=METRICS_NAMESPACE,
            log_encryption_key=self.encryption_key,
            reserved_concurrency=None,
            concurrency_cap=(
                f"the SQS event source mapping runs at most {options.max_concurrency} at once "
                "(LambdaWorkers.max_concurrency), and reserving concurrency below that would "
                "throttle the mapping's own invocations."
            ),
        )
        self.worker_log_group = built.log_group
        acknowledge_no_dead_letter_queue(
            built.function,
            "The function is invoked by an SQS event source mapping: a failed record stays "
            "in the queue and is parked in the queue's dead-letter queue after "
            "max_receive_count receives; a function DLQ only applies to async invocations.",
        )
        return built.function

    def _worker_environment(self) -> dict[str, str]:
        """What every worker (function or container) is told; override to add variables."""
        environment = {
            "JOB_TABLE_NAME": self.job_table.table_name,
            "MAX_RECEIVE_COUNT": str(self.max_receive_count),
            "QUEUE_NAME": self.queue.queue_name,
            "QUEUE_FIFO": "true" if self.fifo else "false",
            "EVENT_SOURCE": JOB_SUCCEEDED.source,
            "SUCCEEDED_DETAIL_TYPE": JOB_SUCCEEDED.detail_type,
            "FAILED_DETAIL_TYPE": JOB_FAILED.detail_type,
        }
        if self.event_bus is not None:
            environment["EVENT_BUS_NAME"] = self.event_bus.event_bus_name
        return environment

    # ----------------------------------------------------------------- public helpers

    @property
    def uses_reference_worker(self) -> bool:
        """True when the library's worker runs the jobs (it publishes the job metrics)."""
        options = self.workers
        if isinstance(options, LambdaWorkers):
            return options.function is None and options.code is None
        if isinstance(options, ContainerWorkers):
            return options.directory is None and options.image is None
        return False

    def grant_submit(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to send jobs to the queue and (IAM auth) to POST /jobs."""
        # Exactly sending and what SSE-KMS needs for it (grant_send_messages would add
        # wildcard KMS actions).
        grant = self.queue.grant(
            grantee, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"
        ).combine(self.encryption_key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt"))
        if self.api is not None and self._api_options.authorizer is None:
            grant = grant.combine(self._grant_invoke(grantee, "POST", "/jobs"))
        return grant

    def grant_read_jobs(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read the job table and (IAM auth) to GET /jobs/{job_id}."""
        grant = self.job_table.grant_read_data(grantee)
        if self.api is not None and self._api_options.authorizer is None:
            grant = grant.combine(self._grant_invoke(grantee, "GET", "/jobs/*"))
        return grant

    def grant_consume(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to work as a worker: consume jobs and record them."""
        return self.queue.grant_consume_messages(grantee).combine(self._grant_records(grantee))

    def metric_queue_depth(self, *, period: Duration = METRIC_PERIOD,
                           statistic: str = "Maximum") -> cloudwatch.Metric:
        """Jobs waiting (``ApproximateNumberOfMessagesVisible``)."""
        return self.queue.metric_approximate_number_of_messages_visible(
            period=period, statistic=statistic)

    def metric_oldest_message_age(self, *, period: Duration = METRIC_PERIOD,
                                  statistic: str = "Maximum") -> cloudwatch.Metric:
        """Age of the oldest waiting job (``ApproximateAgeOfOldestMessage``, seconds)."""
        return self.queue.metric_approximate_age_of_oldest_message(
            period=period, statistic=statistic)

    def metric_jobs_submitted(self, *, period: Duration = METRIC_PERIOD,
                              statistic: str = "Sum") -> cloudwatch.Metric:
        """Jobs sent to the queue (``NumberOfMessagesSent``)."""
        return self.queue.metric_number_of_messages_sent(period=period, statistic=statistic)

    def metric_dead_letter_queue_depth(self, *, period: Duration = METRIC_PERIOD,
                                       statistic: str = "Maximum") -> cloudwatch.Metric:
        """Jobs parked in the dead-letter queue."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=period, statistic=statistic)

    def metric_jobs_succeeded(self, *, period: Duration = METRIC_PERIOD,
                              statistic: str = "Sum") -> cloudwatch.Metric:
        """Jobs the reference worker finished (``JobsSucceeded``)."""
        return self._job_metric("JobsSucceeded", period, statistic)

    def metric_jobs_failed(self, *, period: Duration = METRIC_PERIOD,
                           statistic: str = "Sum") -> cloudwatch.Metric:
        """Jobs the reference worker gave up on, on their last receive (``JobsFailed``)."""
        return self._job_metric("JobsFailed", period, statistic)

    # ----------------------------------------------------------------- building

    def _check_props(
        self,
        *,
        workers: WorkerCompute | None,
        content_based_deduplication: bool,
        visibility_timeout: Duration | None,
        enable_api: bool,
        api_options: JobApiOptions | None,
    ) -> None:
        problems = ProblemCollector(f"SqsWorkerPool {self.node.path}")
        if workers is not None and not isinstance(workers, WorkerCompute):
            problems.add("workers", type(workers).__name__,
                         "must be LambdaWorkers(...) or ContainerWorkers(...)")
        else:
            self.workers.check(problems, fifo=self.fifo)
        problems.check(self.fifo or not content_based_deduplication,
                       "content_based_deduplication", content_based_deduplication,
                       "a standard queue cannot deduplicate; set fifo=True or drop it")
        problems.check(1 <= self.max_receive_count <= 1000, "max_receive_count",
                       self.max_receive_count, "must be 1 to 1,000 receives")
        retention = self.retention_period.to_seconds()
        problems.check(60 <= retention <= 14 * 86400, "retention_period",
                       self.retention_period,
                       "must be 1 minute to 14 days")
        age = self.oldest_message_age_threshold.to_seconds()
        # Either a token: the order is only known at deploy time.
        comparable = not (self.retention_period.is_unresolved()
                          or self.oldest_message_age_threshold.is_unresolved())
        problems.check(not comparable or 0 < age < retention, "oldest_message_age_threshold",
                       self.oldest_message_age_threshold,
                       "must be above 0 and below the retention period, or jobs expire "
                       "before the alarm fires")
        self._check_visibility(problems, visibility_timeout)
        if not enable_api:
            problems.check(api_options is None, "api_options", "options",
                           "only apply when enable_api is True")
        elif api_options is not None:
            api_options.check(problems)
        problems.raise_if_any()

    def _check_visibility(self, problems: ProblemCollector,
                          visibility_timeout: Duration | None) -> None:
        if not isinstance(self.workers, WorkerCompute):
            return
        minimum = self.workers.minimum_visibility_timeout()
        rule = ("6 x the worker function's timeout + the batching window"
                if isinstance(self.workers, LambdaWorkers)
                else "the containers' processing_timeout")
        maximum = MAX_VISIBILITY_TIMEOUT.to_seconds()
        if visibility_timeout is None:
            # Derived minimums stay within 12 hours whenever the worker options are valid.
            if minimum is None:
                problems.add("visibility_timeout", None,
                             "give it for an imported worker function, whose timeout is "
                             f"unknown at synth: at least {rule}")
            return
        seconds = visibility_timeout.to_seconds()
        problems.check(seconds <= maximum, "visibility_timeout",
                       visibility_timeout, "must be at most 12 hours")
        if minimum is not None:
            problems.check(
                seconds >= minimum.to_seconds(), "visibility_timeout",
                visibility_timeout,
                f"must be at least {int(minimum.to_seconds())} seconds ({rule}), or a job "
                "still running becomes visible and runs twice",
            )

    def _minimum_visibility(self) -> Duration:
        minimum = self.workers.minimum_visibility_timeout()
        assert minimum is not None  # _check_props requires a given timeout otherwise
        return minimum

    def _create_worker(self) -> None:
        """Build the workers the ``workers`` prop asks for, and wire them to the queue."""
        options = self.workers
        if isinstance(options, ContainerWorkers):
            environment = {
                **self._worker_environment(),
                "POWERTOOLS_SERVICE_NAME": self._service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            }
            service, vpc, worker_logs = build_container_workers(
                self, options, queue=self.queue, encryption_key=self.encryption_key,
                environment=environment,
                visibility_timeout_seconds=int(self.visibility_timeout.to_seconds()),
                publishes_events=self.event_bus is not None,
            )
            self.worker_service, self.vpc, self.worker_log_group = service, vpc, worker_logs
            self._grant_records(service.task_definition.task_role)
            self._count_jobs_from_logs(worker_logs)
            return
        assert isinstance(options, LambdaWorkers)
        function = self._create_lambda_worker(options)
        source = event_sources.SqsEventSource(
            self.queue,
            batch_size=options.batch_size,
            max_batching_window=options.max_batching_window,
            max_concurrency=options.max_concurrency,
            report_batch_item_failures=True,
        )
        function.add_event_source(source)
        mapping = function.node.try_find_child(
            f"SqsEventSource:{Names.node_unique_id(self.queue.node)}"
        )
        acknowledge(
            mapping or function,
            "Serverless::Serverless-LambdaEventSourceMappingDestination",
            "SQS event sources take no on-failure destination: a failed record stays in the "
            "queue and its redrive policy parks it in the dead-letter queue.",
        )
        self._grant_records(function)
        self.worker_function = function

    def _grant_records(self, grantee: iam.IGrantable) -> iam.Grant:
        """What a worker does besides consuming: job rows (the claim that makes a redelivered
        job run once is a conditional write on its row), events."""
        grant = self.job_table.grant(
            grantee, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
        grant = grant.combine(
            self.encryption_key.grant(grantee, "kms:Decrypt", "kms:GenerateDataKey"))
        if self.event_bus is not None:
            grant = grant.combine(self.event_bus.grant_put_events_to(grantee))
        return grant

    def _grant_invoke(self, grantee: iam.IGrantable, method: str, path: str) -> iam.Grant:
        assert self.api is not None
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[self.api.arn_for_execute_api(
                method, path, self.api.deployment_stage.stage_name)],
        )

    def _count_jobs_from_logs(self, worker_logs: logs.LogGroup) -> None:
        """Containers cannot emit Powertools metrics: count the worker's log lines instead."""
        for metric_name, pattern in (
            ("JobsSucceeded", logs.FilterPattern.string_value("$.message", "=",
                                                              "Job succeeded")),
            ("JobsFailed", logs.FilterPattern.all(
                logs.FilterPattern.string_value("$.message", "=", "Job failed"),
                logs.FilterPattern.boolean_value("$.final", True),
            )),
        ):
            worker_logs.add_metric_filter(
                f"{metric_name}Filter",
                filter_pattern=pattern,
                metric_namespace=METRICS_NAMESPACE,
                metric_name=metric_name,
                metric_value="1",
                dimensions={"service": "$.service"},
            )

    def _build_alarms(self) -> None:
        topic = self._alarm_topic
        self.alarms.append(dead_letter_queue_alarm(
            self, "DeadLetterQueueAlarm", queue=self.dead_letter_queue, what=self.node.path,
            alarm_topic=topic,
        ))
        self.alarms.append(alarm(
            self,
            "OldestMessageAgeAlarm",
            metric=self.metric_oldest_message_age(period=ALARM_PERIOD),
            threshold=self.oldest_message_age_threshold.to_seconds(),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description=f"{self.node.path}: a job has waited longer than "
                        f"{self.oldest_message_age_threshold.to_human_string()}.",
            alarm_topic=topic,
        ))
        if self.worker_function is not None:
            self.alarms.append(function_errors_alarm(
                self, "WorkerErrorsAlarm", function=self.worker_function, alarm_topic=topic))
            self.alarms.append(function_throttles_alarm(
                self, "WorkerThrottlesAlarm", function=self.worker_function,
                alarm_topic=topic))
        if self.uses_reference_worker:
            self.alarms.append(alarm(
                self,
                "JobsFailedAlarm",
                metric=self.metric_jobs_failed(period=ALARM_PERIOD),
                threshold=1,
                description=f"{self.node.path}: a job failed on its last attempt.",
                alarm_topic=topic,
            ))
        if self.api is not None:
            self.alarms.append(alarm(
                self,
                "ApiServerErrorsAlarm",
                metric=self.api.metric_server_error(period=ALARM_PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{self.node.path}: the job API answered with 5xx errors.",
                alarm_topic=topic,
            ))

    def _job_metric(self, name: str, period: Duration, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={"service": self._service_name},
            statistic=statistic,
            period=period,
        )
