"""The steps of an ETL workflow: one class per kind, built through :class:`EtlStep` factories.

Every step turns into one or more Task states. The workflow (``StepFunctionsEtl``) gives each
step a :class:`StepContext`: the step registers each task with :meth:`StepContext.guard`, which
adds the retry policy for that integration's transient errors and, for top-level steps, a
catch to the failure path; inside a Parallel branch the Parallel state carries the catch.
"""

from __future__ import annotations

import abc
import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_batch as batch
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .._foundation import acknowledge, is_unresolved, python_function
from .._foundation.functions import acknowledge_no_dead_letter_queue
from .policies import TRANSIENT_ERRORS, EtlRetryPolicy, Retryable

__all__ = ["EtlStep", "StepContext", "StepKind"]

#: Step names become state names and result keys (``$.results.<name>``).
STEP_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")
DEFAULT_CRAWLER_POLL_INTERVAL = Duration.seconds(30)
#: The record partitioner's defaults: enough memory for a few hundred MB of records.
DEFAULT_PARTITIONER_MEMORY_MB = 1024
DEFAULT_PARTITIONER_TIMEOUT = Duration.minutes(5)


class StepKind(enum.Enum):
    """What a step runs. ``sync`` kinds wait for a job (``.sync``), which Express forbids."""

    LAMBDA = "lambda"
    GLUE_JOB = "glue-job"
    GLUE_CRAWLER = "glue-crawler"
    EMR_SERVERLESS_JOB = "emr-serverless-job"
    BATCH_JOB = "batch-job"
    ATHENA_QUERY = "athena-query"
    CHAINABLE = "chainable"

    @property
    def waits_for_job(self) -> bool:
        """True when the step uses the Run a Job (``.sync``) integration pattern."""
        return self in _SYNC_KINDS


_SYNC_KINDS = frozenset({StepKind.GLUE_JOB, StepKind.EMR_SERVERLESS_JOB, StepKind.BATCH_JOB,
                         StepKind.ATHENA_QUERY})


@dataclass
class StepContext:
    """What a step needs to build its states inside a workflow."""

    scope: Construct
    retry: EtlRetryPolicy
    #: Where the step's result goes (``$.results.<name>``).
    result_path: str
    #: True inside a Parallel branch: the Parallel carries the catch.
    in_branch: bool
    catch: Callable[[Retryable], None]
    fail: Callable[[str, str, str], sfn.IChainable]
    grants: list[Callable[[iam.IRole], None]] = field(default_factory=list)
    #: The workflow's key: what the step's own resources (function logs) are encrypted with.
    encryption_key: kms.IKey | None = None

    def guard(self, state: Retryable, integration: str) -> None:
        """Retry ``integration``'s transient errors; catch everything else (top level)."""
        self.retry.apply(state, TRANSIENT_ERRORS[integration])
        if not self.in_branch:
            self.catch(state)

    def failure(self, state_name: str, error: str, cause_path: str) -> sfn.IChainable:
        """A state that fails the run with ``error`` (the failure path or a Fail state)."""
        return self.fail(state_name, error, cause_path)

    def on_role(self, grant: Callable[[iam.IRole], None]) -> None:
        """Run ``grant`` on the state machine's role once it exists."""
        self.grants.append(grant)


class EtlStep(abc.ABC):
    """One step of an ETL workflow; build one with a factory method.

    Each step's result is kept at ``$.results.<name>`` for the steps after it; every task
    retries its integration's transient errors and fails over to the failure path.
    """

    kind: StepKind

    def __init__(self, name: str) -> None:
        self.name = name

    # ----------------------------------------------------------------- factories
    @classmethod
    def lambda_function(
        cls, name: str, function: lambda_.IFunction, *, payload: sfn.TaskInput | None = None
    ) -> EtlStep:
        """Invoke ``function`` with ``payload`` (default: the workflow state)."""
        return _LambdaStep(name, function, payload)

    @classmethod
    def partition_records(
        cls,
        name: str,
        *,
        source_bucket: s3.IBucket,
        target_bucket: s3.IBucket,
        target_prefix: str,
        partition_keys: Sequence[str],
        payload: sfn.TaskInput | None = None,
        max_rejected_fraction: float = 0.0,
        memory_size: int = DEFAULT_PARTITIONER_MEMORY_MB,
        timeout: Duration = DEFAULT_PARTITIONER_TIMEOUT,
    ) -> EtlStep:
        """The library's record partitioner: CSV / JSON lines in, partitioned JSON lines out.

        The payload names ``{"bucket", "key"}`` or ``{"bucket", "prefix"}`` (default: the
        workflow state, e.g. an ObjectAccepted notification). Rejected records go to
        ``<target_prefix>_rejected/``; above ``max_rejected_fraction`` (default 0: any) the
        step fails before writing a partition.
        """
        return _PartitionRecordsStep(
            name, source_bucket=source_bucket, target_bucket=target_bucket,
            target_prefix=target_prefix, partition_keys=tuple(partition_keys), payload=payload,
            max_rejected_fraction=max_rejected_fraction, memory_size=memory_size,
            timeout=timeout,
        )

    @classmethod
    def glue_job(
        cls, name: str, job: glue.IJob, *, arguments: sfn.TaskInput | None = None
    ) -> EtlStep:
        """Run a Glue job and wait for it (``glue:startJobRun.sync``)."""
        return _GlueJobStep(name, job, arguments)

    @classmethod
    def glue_crawler(
        cls,
        name: str,
        crawler: glue.CfnCrawler,
        *,
        poll_interval: Duration = DEFAULT_CRAWLER_POLL_INTERVAL,
    ) -> EtlStep:
        """Start a crawler and poll until its crawl finished; a failed crawl fails the step.

        Glue has no ``.sync`` for crawlers: StartCrawler, then Wait / GetCrawler until the
        crawler is READY again, then a Choice on the last crawl's status.
        """
        return _GlueCrawlerStep(name, crawler, poll_interval)

    @classmethod
    def emr_serverless_job(
        cls,
        name: str,
        *,
        application: emrserverless.CfnApplication,
        execution_role: iam.IRole,
        entry_point: str,
        entry_point_arguments: Sequence[str] = (),
        spark_submit_parameters: str | None = None,
        log_uri: str | None = None,
    ) -> EtlStep:
        """Run a Spark job on EMR Serverless and wait (``emr-serverless:startJobRun.sync``).

        The CDK has no task class for it; the state is written out with exactly the
        permissions the integration needs (start, get, cancel the run, its event rule,
        passing ``execution_role`` to EMR Serverless only).
        """
        return _EmrServerlessStep(
            name, application=application, execution_role=execution_role,
            entry_point=entry_point, entry_point_arguments=tuple(entry_point_arguments),
            spark_submit_parameters=spark_submit_parameters, log_uri=log_uri,
        )

    @classmethod
    def batch_job(
        cls,
        name: str,
        *,
        job_queue: batch.IJobQueue,
        job_definition: batch.IJobDefinition,
        parameters: Mapping[str, str] | None = None,
    ) -> EtlStep:
        """Submit an AWS Batch job and wait for it (``batch:submitJob.sync``).

        ``parameters`` fill the job definition's ``Ref::`` placeholders; values may be
        ``sfn.JsonPath.string_at(...)`` references to the workflow state.
        """
        return _BatchJobStep(name, job_queue, job_definition, dict(parameters or {}))

    @classmethod
    def athena_query(
        cls,
        name: str,
        query: str,
        *,
        work_group: athena.CfnWorkGroup | None = None,
        database: str | None = None,
        output_location: s3.Location | None = None,
    ) -> EtlStep:
        """Run an Athena query and wait (``athena:startQueryExecution.sync``).

        A failing query fails the step, so a query can be a data-quality gate. Default work
        group: ``primary``; default output: the work group's.
        """
        return _AthenaStep(name, query, work_group, database, output_location)

    @classmethod
    def chainable(cls, name: str, chainable: sfn.IChainable) -> EtlStep:
        """Any states you build yourself; grant their permissions yourself.

        Retries and catches are not added to states you bring: give them your own.
        """
        return _ChainableStep(name, chainable)

    # ----------------------------------------------------------------- contract
    @property
    def waits_for_job(self) -> bool:
        """True when the step uses ``.sync``, which Express workflows do not support."""
        return self.kind.waits_for_job

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """What is wrong with this step, as (prop, value, allowed) triples."""
        if not isinstance(self.name, str) or not STEP_NAME_PATTERN.match(self.name):
            return [(f"{prop}.name", self.name,
                     "must start with a letter and hold up to 40 letters and digits")]
        return []

    @abc.abstractmethod
    def build(self, ctx: StepContext) -> sfn.Chain:
        """The step's states, chained, with retries and catches registered through ``ctx``."""


# --------------------------------------------------------------------------- Lambda
class _InvokeStep(EtlStep):
    kind = StepKind.LAMBDA

    def __init__(self, name: str, payload: sfn.TaskInput | None) -> None:
        super().__init__(name)
        self.payload = payload

    @abc.abstractmethod
    def _function(self, ctx: StepContext) -> lambda_.IFunction:
        """The function to invoke (created in ``ctx.scope`` when the step owns it)."""

    def build(self, ctx: StepContext) -> sfn.Chain:
        function = self._function(ctx)
        task = tasks.LambdaInvoke(
            ctx.scope, self.name, lambda_function=function,
            payload=self.payload,
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=ctx.result_path,
        )
        ctx.guard(task, "lambda")
        ctx.on_role(lambda role: _acknowledge_function_versions(role, function))
        return sfn.Chain.start(task)


class _LambdaStep(_InvokeStep):
    def __init__(self, name: str, function: lambda_.IFunction,
                 payload: sfn.TaskInput | None) -> None:
        super().__init__(name, payload)
        self.function = function

    def _function(self, ctx: StepContext) -> lambda_.IFunction:
        return self.function


class _PartitionRecordsStep(_InvokeStep):
    def __init__(
        self,
        name: str,
        *,
        source_bucket: s3.IBucket,
        target_bucket: s3.IBucket,
        target_prefix: str,
        partition_keys: tuple[str, ...],
        payload: sfn.TaskInput | None,
        max_rejected_fraction: float,
        memory_size: int,
        timeout: Duration,
    ) -> None:
        super().__init__(name, payload)
        self.source_bucket = source_bucket
        self.target_bucket = target_bucket
        self.target_prefix = target_prefix
        self.partition_keys = partition_keys
        self.max_rejected_fraction = max_rejected_fraction
        self.memory_size = memory_size
        self.timeout = timeout

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        if self.target_prefix and not self.target_prefix.endswith("/"):
            found.append((f"{prop}.target_prefix", self.target_prefix,
                          "must be empty or end in '/'"))
        if not all(re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k) for k in self.partition_keys):
            found.append((f"{prop}.partition_keys", list(self.partition_keys),
                          "must be field names (letters, digits, underscores)"))
        if not 0.0 <= self.max_rejected_fraction <= 1.0:
            found.append((f"{prop}.max_rejected_fraction", self.max_rejected_fraction,
                          "must be 0 to 1"))
        if not 128 <= self.memory_size <= 10240:
            found.append((f"{prop}.memory_size", self.memory_size, "must be 128 to 10240 MB"))
        if not 1 <= self.timeout.to_seconds() <= 900:
            found.append((f"{prop}.timeout", f"{self.timeout.to_seconds()} s",
                          "must be 1 second to 15 minutes"))
        return found

    def _function(self, ctx: StepContext) -> lambda_.IFunction:
        built = python_function(
            ctx.scope,
            f"{self.name}Function",
            handler_name="record_partitioner",
            log_encryption_key=ctx.encryption_key,
            description=f"Partitions records for step {self.name} of {ctx.scope.node.path}",
            memory_size=self.memory_size,
            timeout=self.timeout,
            environment={
                "TARGET_BUCKET": self.target_bucket.bucket_name,
                "TARGET_PREFIX": self.target_prefix,
                "PARTITION_KEYS": json.dumps(list(self.partition_keys)),
                "MAX_REJECTED_FRACTION": str(self.max_rejected_fraction),
            },
        )
        acknowledge_no_dead_letter_queue(
            built.function,
            "The state machine invokes this function synchronously: a failure is the task's "
            "error, retried with backoff and then caught by the workflow's failure path.",
        )
        role = built.role
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadSourceObjects",
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[self.source_bucket.arn_for_objects("*")],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ListSourcePrefixes", actions=["s3:ListBucket"],
            resources=[self.source_bucket.bucket_arn],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="WritePartitions", actions=["s3:PutObject"],
            resources=[self.target_bucket.arn_for_objects(f"{self.target_prefix}*")],
        ))
        if self.source_bucket.encryption_key is not None:
            self.source_bucket.encryption_key.grant(role, "kms:Decrypt")
        if self.target_bucket.encryption_key is not None:
            self.target_bucket.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        acknowledge(
            built.function, "Serverless::Serverless-LambdaDLQ",
            "Step Functions invokes this function synchronously, retries it and catches its "
            "errors; a dead-letter queue only applies to asynchronous invocations.",
        )
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        source = bucket_logical_id(self.source_bucket)
        if source is not None:
            acknowledge(
                policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::<{source}.Arn>/*]",
                "The partitioner reads whichever source object the workflow names; keys are "
                "only known at run time, within this one bucket.",
            )
        target = bucket_logical_id(self.target_bucket)
        if target is not None:
            acknowledge(
                policy,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::<{target}.Arn>/"
                f"{self.target_prefix}*]",
                "Partition keys (key=value/) are only known at run time; writes stay under "
                "the target prefix of this one bucket.",
            )
        return built.function


# --------------------------------------------------------------------------- Glue
class _GlueJobStep(EtlStep):
    kind = StepKind.GLUE_JOB

    def __init__(self, name: str, job: glue.IJob, arguments: sfn.TaskInput | None) -> None:
        super().__init__(name)
        self.job = job
        self.arguments = arguments

    def build(self, ctx: StepContext) -> sfn.Chain:
        task = tasks.GlueStartJobRun(
            ctx.scope, self.name, glue_job_name=self.job.job_name, arguments=self.arguments,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB, result_path=ctx.result_path,
        )
        ctx.guard(task, "glue")
        return sfn.Chain.start(task)


class _GlueCrawlerStep(EtlStep):
    kind = StepKind.GLUE_CRAWLER

    def __init__(self, name: str, crawler: glue.CfnCrawler, poll_interval: Duration) -> None:
        super().__init__(name)
        self.crawler = crawler
        self.poll_interval = poll_interval

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        if not 1 <= self.poll_interval.to_seconds() <= 3600:
            found.append((f"{prop}.poll_interval", f"{self.poll_interval.to_seconds()} s",
                          "must be 1 second to 1 hour"))
        return found

    def build(self, ctx: StepContext) -> sfn.Chain:
        name = self.crawler.ref
        stack = Stack.of(ctx.scope)
        arn = stack.format_arn(service="glue", resource="crawler", resource_name=name)
        start = tasks.CallAwsService(
            ctx.scope, self.name, service="glue", action="startCrawler",
            parameters={"Name": name}, iam_resources=[arn],
            result_path=sfn.JsonPath.DISCARD,
        )
        ctx.guard(start, "glue-crawler")
        wait = sfn.Wait(ctx.scope, f"{self.name}Wait",
                        time=sfn.WaitTime.duration(self.poll_interval))
        poll = tasks.CallAwsService(
            ctx.scope, f"{self.name}Poll", service="glue", action="getCrawler",
            parameters={"Name": name}, iam_resources=[arn],
            result_path=ctx.result_path,
        )
        ctx.guard(poll, "glue-crawler")
        crawler = f"{ctx.result_path}.Crawler"
        status = f"{crawler}.LastCrawl.Status"
        finished = sfn.Choice(ctx.scope, f"{self.name}Finished")
        done = sfn.Pass(ctx.scope, f"{self.name}Succeeded")
        failed = ctx.failure(f"{self.name}Failed", "Glue.CrawlFailed",
                             f"States.JsonToString({crawler}.LastCrawl)")
        finished.when(sfn.Condition.not_(sfn.Condition.string_equals(
            f"{crawler}.State", "READY")), wait)
        finished.when(sfn.Condition.string_equals(status, "SUCCEEDED"), done)
        finished.otherwise(failed)
        start.next(wait).next(poll).next(finished)
        return sfn.Chain.custom(start, [done], done)


# --------------------------------------------------------------------------- EMR Serverless
class _EmrServerlessStep(EtlStep):
    kind = StepKind.EMR_SERVERLESS_JOB

    def __init__(
        self,
        name: str,
        *,
        application: emrserverless.CfnApplication,
        execution_role: iam.IRole,
        entry_point: str,
        entry_point_arguments: tuple[str, ...],
        spark_submit_parameters: str | None,
        log_uri: str | None,
    ) -> None:
        super().__init__(name)
        self.application = application
        self.execution_role = execution_role
        self.entry_point = entry_point
        self.entry_point_arguments = entry_point_arguments
        self.spark_submit_parameters = spark_submit_parameters
        self.log_uri = log_uri

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        if not (self.entry_point.startswith("s3://") or is_unresolved(self.entry_point)):
            found.append((f"{prop}.entry_point", self.entry_point, "must be an s3:// URI"))
        return found

    def build(self, ctx: StepContext) -> sfn.Chain:
        stack = Stack.of(ctx.scope)
        spark: dict[str, object] = {"EntryPoint": self.entry_point}
        if self.entry_point_arguments:
            spark["EntryPointArguments"] = list(self.entry_point_arguments)
        if self.spark_submit_parameters:
            spark["SparkSubmitParameters"] = self.spark_submit_parameters
        parameters: dict[str, object] = {
            "ApplicationId": self.application.attr_application_id,
            "ExecutionRoleArn": self.execution_role.role_arn,
            "Name": self.name,
            "JobDriver": {"SparkSubmit": spark},
        }
        if self.log_uri:
            parameters["ConfigurationOverrides"] = {"MonitoringConfiguration": {
                "S3MonitoringConfiguration": {"LogUri": self.log_uri}}}
        state = sfn.CustomState(ctx.scope, self.name, state_json={
            "Type": "Task",
            "Resource": f"arn:{stack.partition}:states:::emr-serverless:startJobRun.sync",
            "Parameters": parameters,
            "ResultPath": ctx.result_path,
        })
        ctx.guard(state, "emr-serverless")
        application_arn = self.application.attr_arn

        def grant(role: iam.IRole) -> None:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["emr-serverless:StartJobRun"], resources=[application_arn]))
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
                resources=[f"{application_arn}/jobruns/*"]))
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[stack.format_arn(
                    service="events", resource="rule",
                    resource_name="StepFunctionsGetEventsForEMRServerlessJobRule")]))
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["iam:PassRole"], resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {
                    "iam:PassedToService": "emr-serverless.amazonaws.com"}}))
            policy = role.node.try_find_child("DefaultPolicy")
            if policy is not None:
                logical = stack.resolve(stack.get_logical_id(self.application))
                acknowledge(
                    policy,
                    f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical}.Arn>/jobruns/*]",
                    "Job run ids are only known once a run starts; the workflow may read and "
                    "cancel runs of this one application only.",
                )

        ctx.on_role(grant)
        return sfn.Chain.start(state)


# --------------------------------------------------------------------------- Batch
class _BatchJobStep(EtlStep):
    kind = StepKind.BATCH_JOB

    def __init__(self, name: str, job_queue: batch.IJobQueue,
                 job_definition: batch.IJobDefinition, parameters: dict[str, str]) -> None:
        super().__init__(name)
        self.job_queue = job_queue
        self.job_definition = job_definition
        self.parameters = parameters

    def build(self, ctx: StepContext) -> sfn.Chain:
        task = batch_submit_job(ctx.scope, self.name, job_queue=self.job_queue,
                                job_definition=self.job_definition,
                                parameters=self.parameters, result_path=ctx.result_path)
        ctx.guard(task, "batch")
        return sfn.Chain.start(task)


def batch_submit_job(
    scope: Construct,
    state_name: str,
    *,
    job_queue: batch.IJobQueue,
    job_definition: batch.IJobDefinition,
    parameters: Mapping[str, str],
    result_path: str,
) -> tasks.BatchSubmitJob:
    """A ``batch:submitJob.sync`` task whose job is named after the state."""
    return tasks.BatchSubmitJob(
        scope, state_name,
        job_name=state_name,
        job_queue_arn=job_queue.job_queue_arn,
        job_definition_arn=job_definition.job_definition_arn,
        payload=sfn.TaskInput.from_object(dict(parameters)) if parameters else None,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        result_path=result_path,
    )


# --------------------------------------------------------------------------- Athena
class _AthenaStep(EtlStep):
    kind = StepKind.ATHENA_QUERY

    def __init__(self, name: str, query: str, work_group: athena.CfnWorkGroup | None,
                 database: str | None, output_location: s3.Location | None) -> None:
        super().__init__(name)
        self.query = query
        self.work_group = work_group
        self.database = database
        self.output_location = output_location

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        if not self.query.strip():
            found.append((f"{prop}.query", self.query, "must not be empty"))
        return found

    def build(self, ctx: StepContext) -> sfn.Chain:
        task = tasks.AthenaStartQueryExecution(
            ctx.scope, self.name,
            query_string=self.query,
            work_group=self.work_group.ref if self.work_group is not None else None,
            query_execution_context=(
                tasks.QueryExecutionContext(database_name=self.database)
                if self.database else None),
            result_configuration=(
                tasks.ResultConfiguration(output_location=self.output_location)
                if self.output_location else None),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_selector={"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId",
                             "State.$": "$.QueryExecution.Status.State",
                             "Statistics.$": "$.QueryExecution.Statistics"},
            result_path=ctx.result_path,
        )
        ctx.guard(task, "athena")
        database = self.database or "default"

        def acknowledge_catalog(role: iam.IRole) -> None:
            policy = role.node.try_find_child("DefaultPolicy")
            if policy is None:
                return
            for kind in ("table", "userDefinedFunction"):
                acknowledge(
                    policy,
                    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:"
                    f"<AWS::Region>:<AWS::AccountId>:{kind}/{database}/*]",
                    f"Athena queries read the Glue catalog's {kind}s of database {database}; "
                    "which ones is up to the query (CDK's AthenaStartQueryExecution grant).",
                )

        ctx.on_role(acknowledge_catalog)
        return sfn.Chain.start(task)


# --------------------------------------------------------------------------- your own
class _ChainableStep(EtlStep):
    kind = StepKind.CHAINABLE

    def __init__(self, name: str, chainable: sfn.IChainable) -> None:
        super().__init__(name)
        self.states = chainable

    def build(self, ctx: StepContext) -> sfn.Chain:
        return sfn.Chain.start(self.states)


# --------------------------------------------------------------------------- helpers
def bucket_logical_id(bucket: s3.IBucket) -> str | None:
    """The logical id cdk-nag prints for a bucket of this app, None for imported ones."""
    child = bucket.node.default_child
    if not isinstance(child, s3.CfnBucket):
        return None
    stack = Stack.of(child)
    return str(stack.resolve(stack.get_logical_id(child)))


def _acknowledge_function_versions(role: iam.IRole, function: lambda_.IFunction) -> None:
    child = function.node.default_child
    policy = role.node.try_find_child("DefaultPolicy")
    if not isinstance(child, lambda_.CfnFunction) or policy is None:
        return
    stack = Stack.of(child)
    logical = stack.resolve(stack.get_logical_id(child))
    acknowledge(
        policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical}.Arn>:*]",
        "Step Functions' LambdaInvoke grants the function and its versions/aliases "
        "(ARN:*); the wildcard covers qualifiers of this one function only.",
    )
