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
from .._foundation.compliance import nag_reference
from .._foundation.functions import acknowledge_no_dead_letter_queue
from .._foundation.validation import Items, Number, Span, Text, field_problems, validated_props
from ..warehouse.target import RedshiftTarget
from .policies import TRANSIENT_ERRORS, EtlRetryPolicy, Retryable

__all__ = ["EtlStep", "StepContext", "StepKind"]

#: Step names become state names and result keys (``$.results.<name>``).
STEP_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,39}$")
DEFAULT_CRAWLER_POLL_INTERVAL = Duration.seconds(30)
DEFAULT_REDSHIFT_POLL_INTERVAL = Duration.seconds(10)
#: BatchExecuteStatement runs at most this many statements (one transaction).
MAX_REDSHIFT_BATCH = 40
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
    REDSHIFT_SQL = "redshift-sql"
    CHAINABLE = "chainable"

    @property
    def waits_for_job(self) -> bool:
        """True when the step uses the Run a Job (``.sync``) integration pattern."""
        return self in _SYNC_KINDS


_SYNC_KINDS = frozenset({StepKind.GLUE_JOB, StepKind.EMR_SERVERLESS_JOB, StepKind.BATCH_JOB,
                         StepKind.ATHENA_QUERY})


@validated_props()
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


#: A step's name names its states, which must be literal strings.
_STEP_NAME = Text(max_length=80, literal=True)


@validated_props(factories={
    **{factory: {"name": _STEP_NAME} for factory in (
        "lambda_function", "glue_job", "glue_crawler", "batch_job", "chainable")},
    "partition_records": {"name": _STEP_NAME,
                          "target_prefix": Text(non_empty=False, max_length=1024),
                          "partition_keys": Items(each=Text(max_length=255))},
    "emr_serverless_job": {"name": _STEP_NAME,
                           "spark_submit_parameters": Text(max_length=102_400),
                           "entry_point_arguments": Items(min_items=0,
                                                          each=Text(non_empty=False))},
    # The query may be long; the database names a Glue ARN in a cdk-nag acknowledgment.
    "athena_query": {"name": _STEP_NAME, "query": Text(non_empty=False, max_length=262_144,
                                                       blank_is_checked_elsewhere=True),
                     "database": Text(max_length=255, literal=True),
                     # Prefixes name IAM resources and cdk-nag acknowledgments: literals.
                     **{prefixes: Items(min_items=0, unique=True, each=Text(
                         non_empty=False, max_length=1024, literal=True))
                        for prefixes in ("read_prefixes", "write_prefixes")}},
    "redshift_sql": {"name": _STEP_NAME,
                     "sql": Items(max_items=MAX_REDSHIFT_BATCH,
                                  each=Text(max_length=100_000))},
})
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
        data_bucket: s3.IBucket | None = None,
        read_prefixes: Sequence[str] = ("",),
        write_prefixes: Sequence[str] = (),
    ) -> EtlStep:
        """Run an Athena query and wait (``athena:startQueryExecution.sync``).

        A failing query fails the step, so a query can be a data-quality gate. Default work
        group: ``primary``; default output: the work group's result location. The workflow
        may write query results only there, so one of ``work_group`` (with a result
        configuration) and ``output_location`` must name it. Athena reads and writes the
        tables' data with the workflow's credentials: ``data_bucket`` holds them, the
        query reads under ``read_prefixes`` (default: the whole bucket) and writes under
        ``write_prefixes`` (``INSERT INTO``; default: nothing), with the bucket's key.
        Catalog access is read (plus partition writes when the query writes) on
        ``database`` only; a query that creates or drops tables, or reads Lake
        Formation-governed data, needs its own grants (use :meth:`chainable`).
        """
        return _AthenaStep(name, query, work_group, database, output_location,
                           _AthenaData(data_bucket, tuple(read_prefixes), tuple(write_prefixes)))

    @classmethod
    def redshift_sql(
        cls,
        name: str,
        sql: Sequence[str],
        *,
        target: RedshiftTarget,
        poll_interval: Duration = DEFAULT_REDSHIFT_POLL_INTERVAL,
    ) -> EtlStep:
        """Run SQL on Redshift through the Data API (a load, a ``MERGE``, an ``UNLOAD``).

        One statement runs with ``ExecuteStatement``; several with
        ``BatchExecuteStatement``, in one transaction (so a ``MERGE`` and the delete of its
        staging rows commit together; statements that cannot run in a transaction, such
        as ``CREATE DATABASE``, belong in a ``RedshiftSqlRunner``). The Data API has no
        ``.sync``: the step polls ``DescribeStatement`` every ``poll_interval`` (default
        10 seconds) until FINISHED; FAILED or ABORTED fails the run with Redshift's error.
        The statement's description is kept at ``$.results.<name>``. Throttling (too many
        active statements or sessions) is retried with the workflow's backoff. The role
        may run statements on the target's workgroup and read back its own statements only.
        """
        return _RedshiftSqlStep(name, tuple(sql), target, poll_interval)

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
        ctx.on_role(lambda role: acknowledge_function_versions(role, function))
        return sfn.Chain.start(task)


class _LambdaStep(_InvokeStep):
    def __init__(self, name: str, function: lambda_.IFunction,
                 payload: sfn.TaskInput | None) -> None:
        super().__init__(name, payload)
        self.function = function

    def _function(self, ctx: StepContext) -> lambda_.IFunction:
        return self.function


#: Limits of the partitioning function (Lambda's memory and timeout range).
_PARTITION_RULES = {
    "max_rejected_fraction": Number(0, 1, integer=False),
    "memory_size": Number(128, 10240),
    "timeout": Span(Duration.seconds(1), Duration.minutes(15),
                    meaning="1 second to 15 minutes"),
}


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
        prefix = self.target_prefix
        if prefix and not is_unresolved(prefix) and not prefix.endswith("/"):
            found.append((f"{prop}.target_prefix", self.target_prefix,
                          "must be empty or end in '/'"))
        if not all(is_unresolved(k) or re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k)
                   for k in self.partition_keys):
            found.append((f"{prop}.partition_keys", list(self.partition_keys),
                          "must be field names (letters, digits, underscores)"))
        found.extend(field_problems(_PARTITION_RULES, self, f"{prop}."))
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
        found.extend(field_problems(
            {"poll_interval": Span(Duration.seconds(1), Duration.hours(1),
                                   meaning="1 second to 1 hour")}, self, f"{prop}."))
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
        ctx.on_role(lambda role: grant_batch_submit_job(
            role, job_queue=self.job_queue, job_definition=self.job_definition))
        return sfn.Chain.start(task)


def batch_submit_job(
    scope: Construct,
    state_name: str,
    *,
    job_queue: batch.IJobQueue,
    job_definition: batch.IJobDefinition,
    parameters: Mapping[str, str],
    result_path: str,
) -> sfn.CustomState:
    """A ``batch:submitJob.sync`` task whose job is named after the state.

    Written out rather than CDK's ``BatchSubmitJob``, whose grant names every job
    definition of the account (``job-definition/*``); grant it with
    :func:`grant_batch_submit_job`.
    """
    stack = Stack.of(scope)
    arguments: dict[str, object] = {
        "JobDefinition": job_definition.job_definition_arn,
        "JobName": state_name,
        "JobQueue": job_queue.job_queue_arn,
    }
    if parameters:
        arguments["Parameters"] = sfn.FieldUtils.render_object(dict(parameters))
    return sfn.CustomState(scope, state_name, state_json={
        "Type": "Task",
        "Resource": f"arn:{stack.partition}:states:::batch:submitJob.sync",
        "Parameters": arguments,
        "ResultPath": result_path,
    })


def grant_batch_submit_job(
    role: iam.IRole, *, job_queue: batch.IJobQueue, job_definition: batch.IJobDefinition
) -> None:
    """What Step Functions' ``batch:submitJob.sync`` needs, per AWS's "IAM policies for AWS
    Batch": submit with this job definition (the exact revision the state names) to this
    queue; describe and terminate the jobs it submitted; its managed event rule.

    ``batch:DescribeJobs`` accepts no resource but ``*`` and job ids are only known at run
    time (``job/*``); both are acknowledged on the role's policy.
    """
    stack = Stack.of(job_queue)
    statements = [
        iam.PolicyStatement(actions=["batch:SubmitJob"], resources=[
            job_definition.job_definition_arn, job_queue.job_queue_arn]),
        iam.PolicyStatement(actions=["batch:DescribeJobs"], resources=["*"]),
        iam.PolicyStatement(actions=["batch:TerminateJob"], resources=[
            stack.format_arn(service="batch", resource="job", resource_name="*")]),
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[stack.format_arn(
                service="events", resource="rule",
                resource_name="StepFunctionsGetEventsForBatchJobsRule")]),
    ]
    for statement in statements:
        role.add_to_principal_policy(statement)
    policy = role.node.try_find_child("DefaultPolicy")
    if policy is None:
        return
    acknowledge(
        policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        "Only actions that accept no resource but '*': batch:DescribeJobs (Step Functions' "
        "Batch .sync integration), X-Ray tracing and CloudWatch Logs delivery.",
    )
    acknowledge(
        policy, "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:"
        "<AWS::Region>:<AWS::AccountId>:job/*]",
        "Step Functions terminates the Batch job it submitted when the run is stopped; job "
        "ids are only known at run time.",
    )


# --------------------------------------------------------------------------- Athena
@dataclass(frozen=True)
class _AthenaData:
    """Where an Athena query's tables keep their data: read and written prefixes."""

    bucket: s3.IBucket | None
    read_prefixes: tuple[str, ...]
    write_prefixes: tuple[str, ...]


class _AthenaStep(EtlStep):
    """``athena:startQueryExecution.sync`` with exactly the access the query needs.

    Written out rather than CDK's ``AthenaStartQueryExecution``, whose grant is
    ``s3:CreateBucket``/``GetObject``/``ListBucket`` (and, without an output location, the
    result writes) on every bucket (``*``), Lake Formation on ``*`` and the Glue catalog's
    create/delete actions.
    """

    kind = StepKind.ATHENA_QUERY

    def __init__(self, name: str, query: str, work_group: athena.CfnWorkGroup | None,
                 database: str | None, output_location: s3.Location | None,
                 data: _AthenaData) -> None:
        super().__init__(name)
        self.query = query
        self.work_group = work_group
        self.database = database
        self.output_location = output_location
        self.data = data

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        if not self.query.strip():
            found.append((f"{prop}.query", self.query, "must not be empty"))
        if self._results() is None:
            found.append((f"{prop}.output_location", None,
                          "give output_location or a work_group with a result configuration "
                          "(its output location): query results may only be written there"))
        for field_name in ("read_prefixes", "write_prefixes"):
            prefixes = getattr(self.data, field_name)
            if prefixes and self.data.bucket is None:
                if field_name == "read_prefixes" and prefixes == ("",):
                    continue
                found.append((f"{prop}.{field_name}", list(prefixes),
                              "needs data_bucket, the bucket that holds the tables' data"))
            bad = [p for p in prefixes if not isinstance(p, str) or (p and not p.endswith("/"))]
            if bad:
                found.append((f"{prop}.{field_name}", bad, "each must be empty or end in '/'"))
        return found

    def _results(self) -> tuple[str, str, str | None] | None:
        """(bucket name, key prefix, KMS key ARN) of the query results, None if unknown."""
        if self.output_location is not None:
            key = self.output_location.object_key.strip("/")
            return self.output_location.bucket_name, f"{key}/" if key else "", None
        configuration = (self.work_group.work_group_configuration
                         if self.work_group is not None else None)
        results = getattr(configuration, "result_configuration", None)
        location = getattr(results, "output_location", None)
        if not isinstance(location, str) or not location.startswith("s3://"):
            return None
        bucket, _, prefix = location[len("s3://"):].partition("/")
        encryption = getattr(results, "encryption_configuration", None)
        key_arn = getattr(encryption, "kms_key", None)
        return bucket, prefix, key_arn if isinstance(key_arn, str) else None

    def build(self, ctx: StepContext) -> sfn.Chain:
        stack = Stack.of(ctx.scope)
        parameters: dict[str, object] = {"QueryString": self.query}
        if self.database:
            parameters["QueryExecutionContext"] = {"Database": self.database}
        if self.output_location is not None:
            parameters["ResultConfiguration"] = {"OutputLocation": (
                f"s3://{self.output_location.bucket_name}/{self.output_location.object_key}/")}
        if self.work_group is not None:
            parameters["WorkGroup"] = self.work_group.ref
        state = sfn.CustomState(ctx.scope, self.name, state_json={
            "Type": "Task",
            "Resource": f"arn:{stack.partition}:states:::athena:startQueryExecution.sync",
            "Parameters": parameters,
            "ResultSelector": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId",
                               "State.$": "$.QueryExecution.Status.State",
                               "Statistics.$": "$.QueryExecution.Statistics"},
            "ResultPath": ctx.result_path,
        })
        ctx.guard(state, "athena")
        ctx.on_role(self._grant)
        return sfn.Chain.start(state)

    def _grant(self, role: iam.IRole) -> None:
        """Per AWS's "IAM policies for calling Amazon Athena" (.sync), scoped: the work
        group and catalog; the result location; the tables' data; the database."""
        stack = Stack.of(role)
        database = self.database or "default"
        work_group = self.work_group.ref if self.work_group is not None else "primary"
        results = self._results()
        assert results is not None  # problems() refused the step otherwise
        results_bucket, results_prefix, results_key = results
        results_arn = f"arn:{stack.partition}:s3:::{results_bucket}"
        statements = [
            iam.PolicyStatement(
                actions=["athena:StartQueryExecution", "athena:StopQueryExecution",
                         "athena:GetQueryExecution", "athena:GetWorkGroup",
                         "athena:GetDataCatalog"],
                resources=[
                    stack.format_arn(service="athena", resource="workgroup",
                                     resource_name=work_group),
                    stack.format_arn(service="athena", resource="datacatalog",
                                     resource_name="AwsDataCatalog"),
                ]),
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket",
                         "s3:ListBucketMultipartUploads"],
                resources=[results_arn]),
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
                         "s3:ListMultipartUploadParts"],
                resources=[f"{results_arn}/{results_prefix}*"]),
        ]
        catalog_actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                           "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
        data = self.data
        if data.bucket is not None:
            statements.append(iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket"],
                resources=[data.bucket.bucket_arn]))
            if data.read_prefixes:
                statements.append(iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[data.bucket.arn_for_objects(f"{p}*") for p in data.read_prefixes]))
            if data.write_prefixes:
                statements.append(iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:AbortMultipartUpload",
                             "s3:ListMultipartUploadParts"],
                    resources=[data.bucket.arn_for_objects(f"{p}*")
                               for p in data.write_prefixes]))
                catalog_actions += ["glue:BatchCreatePartition", "glue:CreatePartition",
                                    "glue:UpdatePartition"]
            if data.bucket.encryption_key is not None:
                data.bucket.encryption_key.grant(
                    role, "kms:Decrypt",
                    *(("kms:GenerateDataKey",) if data.write_prefixes else ()))
        statements.append(iam.PolicyStatement(actions=catalog_actions, resources=[
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=database),
            stack.format_arn(service="glue", resource="table", resource_name=f"{database}/*"),
        ]))
        if results_key is not None:
            statements.append(iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[results_key]))
        for statement in statements:
            role.add_to_principal_policy(statement)
        self._acknowledge(role, database, f"{results_arn}/{results_prefix}*")

    def _acknowledge(self, role: iam.IRole, database: str, results_objects: str) -> None:
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        acknowledge(
            policy,
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:"
            f"<AWS::Region>:<AWS::AccountId>:table/{database}/*]",
            f"Athena reads the catalog's tables of database {database}; which ones is up to "
            "the query text, within this one database.",
        )
        results = nag_reference(policy, results_objects)
        acknowledge(
            policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{results}]",
            "Athena writes each query's results under the work group's result location with "
            "keys named after the query execution id, only known at run time.",
        )
        bucket = self.data.bucket
        if bucket is None:
            return
        for prefix in sorted({*self.data.read_prefixes, *self.data.write_prefixes}):
            objects = nag_reference(policy, bucket.arn_for_objects(f"{prefix}*"))
            acknowledge(
                policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{objects}]",
                "Athena reads (or, for INSERT INTO, writes) the data files of the query's "
                "tables under this prefix; their keys are only known at run time.",
            )


# --------------------------------------------------------------------------- Redshift
class _RedshiftSqlStep(EtlStep):
    """Data API statement(s), then Wait / DescribeStatement / Choice until it ends."""

    kind = StepKind.REDSHIFT_SQL

    def __init__(self, name: str, sql: tuple[str, ...], target: RedshiftTarget,
                 poll_interval: Duration) -> None:
        super().__init__(name)
        self.sql = sql
        self.target = target
        self.poll_interval = poll_interval

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        found = super().problems(prop)
        found.extend(field_problems(
            {"poll_interval": Span(Duration.seconds(1), Duration.hours(1), whole_seconds=True,
                                   meaning="1 second to 1 hour")}, self, f"{prop}."))
        return found

    def build(self, ctx: StepContext) -> sfn.Chain:
        stack = Stack.of(ctx.scope)
        parameters: dict[str, object] = dict(self.target.execute_parameters())
        if len(self.sql) == 1:
            action, parameters["Sql"] = "executeStatement", self.sql[0]
        else:
            action, parameters["Sqls"] = "batchExecuteStatement", list(self.sql)
        parameters["StatementName"] = self.name
        statement = ctx.result_path
        start = sfn.CustomState(ctx.scope, self.name, state_json={
            "Type": "Task",
            "Resource": f"arn:{stack.partition}:states:::aws-sdk:redshiftdata:{action}",
            "Parameters": parameters,
            "ResultSelector": {"Id.$": "$.Id"},
            "ResultPath": statement,
        })
        ctx.guard(start, "redshift-data")
        wait = sfn.Wait(ctx.scope, f"{self.name}Wait",
                        time=sfn.WaitTime.duration(self.poll_interval))
        poll = sfn.CustomState(ctx.scope, f"{self.name}Poll", state_json={
            "Type": "Task",
            "Resource": f"arn:{stack.partition}:states:::aws-sdk:redshiftdata:describeStatement",
            "Parameters": {"Id.$": f"{statement}.Id"},
            "ResultPath": statement,
        })
        ctx.guard(poll, "redshift-data")
        status = f"{statement}.Status"
        finished = sfn.Choice(ctx.scope, f"{self.name}Finished")
        done = sfn.Pass(ctx.scope, f"{self.name}Succeeded")
        failed = ctx.failure(f"{self.name}Failed", "Redshift.StatementFailed",
                             f"States.JsonToString({statement})")
        finished.when(sfn.Condition.string_equals(status, "FINISHED"), done)
        finished.when(sfn.Condition.or_(sfn.Condition.string_equals(status, "FAILED"),
                                        sfn.Condition.string_equals(status, "ABORTED")),
                      failed)
        finished.otherwise(wait)
        start.next(wait).next(poll).next(finished)
        ctx.on_role(self._grant)
        return sfn.Chain.custom(start, [done], done)

    def _grant(self, role: iam.IRole) -> None:
        self.target.grant_execute(role)
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                "Only actions that accept no resource but '*': the Data API's "
                "DescribeStatement, GetStatementResult and CancelStatement (conditioned on "
                "the statement's owner being this role), X-Ray tracing and CloudWatch Logs "
                "delivery.",
            )


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


def acknowledge_function_versions(role: iam.IRole, function: lambda_.IFunction) -> None:
    """Acknowledge the ``<function>.Arn:*`` grant CDK's ``LambdaInvoke`` adds to ``role``
    (every Lambda task of a workflow: steps and Distributed Map item processors)."""
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
