"""ManagedAirflow: a private Amazon MWAA environment whose code is deployed by version.

::

    local DAGs folder ---- BucketDeployment (extracted, pruned) ---> bucket/dags/
    requirements.txt ----- BucketDeployment (as is) --> bucket/requirements/<hash>.txt @version
    plugins.zip, startup.sh (same, by version)                                  |
    VPC: 2 private subnets in 2 AZs, endpoints (S3, SQS, logs, monitoring,      v
         KMS, ECR, airflow.api/env/ops), self-referencing security group -> MWAA environment
    execution role (own logs, bucket, Celery queues, key via SQS, metrics)  --^  (CMK, 5 logs
    alarms: scheduler heartbeat, queued tasks, task failures -> alarm topic       to groups
    DAG trigger function (InvokeRestApi, in the VPC) <- Step Functions / EventBridge  created
                                                                                  here)

MWAA has no scale-to-zero: the environment bills every hour it exists (see the README).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import ArnFormat, CfnResource, Duration, IStableListProducer, Lazy, Names, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_redshiftserverless as redshiftserverless
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .._foundation import (
    ProblemCollector,
    access_log_bucket,
    acknowledge,
    is_unresolved,
    log_group,
    private_vpc,
    python_function,
    require_feature_flags,
    secure_bucket,
    secure_key,
)
from .._foundation.alarms import ALARM_PERIOD, alarm
from .._foundation.compliance import nag_reference
from .._foundation.event_targets import TargetRetryPolicy, target_dead_letter_queue
from .._foundation.logs import DEFAULT_LOG_RETENTION
from .._foundation.regions import available_in_some_regions_only
from .._foundation.roles import _RolePolicyLogicalIds
from .._foundation.validation import Items, Number, Text, validated_props
from ._code import DeployedFile, custom_resource, deploy_file, deploy_folder
from ._requirements import constraint_problems
from .options import (
    AirflowLogLevel,
    AirflowVersion,
    EnvironmentClass,
    WebserverAccess,
    WorkerReplacement,
)

__all__ = ["ManagedAirflow"]

#: Where the environment's code lives in its bucket.
DAGS_PREFIX = "dags/"
REQUIREMENTS_PREFIX = "requirements/"
PLUGINS_PREFIX = "plugins/"
STARTUP_PREFIX = "startup/"
#: The interface endpoints an environment without internet access needs (besides the S3
#: gateway endpoint every foundation VPC has): the list AWS's own environment checker
#: verifies (awslabs/aws-support-tools MWAA/verify_env/verify_env.py).
INTERFACE_ENDPOINTS = (
    ec2.InterfaceVpcEndpointAwsService.SQS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    ec2.InterfaceVpcEndpointAwsService.KMS,
    ec2.InterfaceVpcEndpointAwsService.ECR,
    ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    ec2.InterfaceVpcEndpointAwsService.AIRFLOW_API,
    ec2.InterfaceVpcEndpointAwsService.AIRFLOW_ENV,
    ec2.InterfaceVpcEndpointAwsService.AIRFLOW_OPS,
)
#: MWAA's five log types: (CloudFormation property, the suffix of the group MWAA writes to).
LOG_TYPES = (
    ("dag_processing_logs", "DAGProcessing"),
    ("scheduler_logs", "Scheduler"),
    ("task_logs", "Task"),
    ("webserver_logs", "WebServer"),
    ("worker_logs", "Worker"),
)
#: The namespace of the environment's Airflow metrics.
METRICS_NAMESPACE = "AmazonMWAA"
#: AWS's recommended heartbeat alarm: fewer than 1 heartbeat in each of 2 periods of 5 min.
HEARTBEAT_PERIOD = Duration.minutes(5)
DEFAULT_QUEUED_TASKS_THRESHOLD = 50
#: The Airflow role (RBAC) the DAG trigger acts as: it may trigger runs, not edit DAGs.
TRIGGER_AIRFLOW_ROLE = "User"
_CELERY_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                   "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage")
_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents",
                "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults")

#: A path given as a string: not blank, and a literal (the files are read at synth).
_PATH = Text(literal=True)

_RULES = {
    "dags_folder": _PATH,
    "requirements_file": _PATH,
    "plugins_file": _PATH,
    "startup_script": _PATH,
    "environment_name": Text(max_length=80, pattern=r"[a-zA-Z][0-9a-zA-Z_-]*",
                             meaning="a letter, then letters, digits, '-' and '_'",
                             literal=True),
    "schedulers": Number(1, 5),
    "min_workers": Number(1),
    "max_workers": Number(1),
    "min_webservers": Number(1, 5),
    "max_webservers": Number(1, 5),
    "weekly_maintenance_window_start": Text(
        pattern=r"(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)",
        meaning="DAY:HH:MM in UTC on the hour or half hour, e.g. 'SUN:03:00'"),
    "airflow_configuration_options": Items(
        min_items=0, each=Text(max_length=65536, pattern=r"[ -~]+",
                               meaning="printable ASCII")),
    "triggerable_dags": Items(min_items=0, unique=True, each=Text(
        max_length=250, pattern=r"[\w.-]+", meaning="an Airflow DAG id (letters, digits, _.-)",
        literal=True)),
    "queued_tasks_threshold": Number(1),
}
_CONFIG_KEY = r"[a-z]+([a-z0-9._]*[a-z0-9_]+)?"


@validated_props(_RULES)
class ManagedAirflow(Construct):
    """An Amazon MWAA environment that runs without internet access.

    :param dags_folder: the local folder of DAG files, synced to ``dags/`` of the bucket on
        every deployment (files removed locally are removed there).
    :param requirements_file: a ``requirements.txt``; it must constrain its packages with
        Airflow's constraints file for ``airflow_version`` (checked at synth). Default: None,
        the packages MWAA installs only.
    :param plugins_file: a ``plugins.zip``. Default: None.
    :param startup_script: a shell script MWAA runs before Airflow starts. Default: None.
    :param airflow_version: Default: :attr:`AirflowVersion.V2_10_3`.
    :param environment_class: Default: :attr:`EnvironmentClass.MW1_SMALL`, the smallest class
        with several schedulers.
    :param schedulers: Default: None, the fewest the class allows (2; 1 on mw1.micro).
    :param min_workers: workers always running. Default: 1.
    :param max_workers: MWAA adds workers up to this many while tasks queue, and removes
        them when the queue drains. Default: 10.
    :param min_webservers: Default: None, MWAA's (2; 1 on mw1.micro).
    :param max_webservers: Default: None, MWAA's (5; 1 on mw1.micro).
    :param airflow_configuration_options: Airflow settings (``core.default_timezone``...).
        Default: None, MWAA's.
    :param webserver_access: Default: :attr:`WebserverAccess.PRIVATE_ONLY`, from the VPC only.
    :param worker_replacement: Default: :attr:`WorkerReplacement.GRACEFUL`, running tasks
        finish before an update replaces their worker.
    :param log_level: the level of all five log types. Default: :attr:`AirflowLogLevel.INFO`.
    :param log_retention: of the five log groups. Default: one year.
    :param weekly_maintenance_window_start: Default: None, MWAA chooses.
    :param environment_name: Default: None, derived from the construct path (stable, unique
        in the account and region, at most 80 characters).
    :param encryption_key: encrypts the environment, its bucket and logs. Default: None, a
        rotating key is created. Cannot change after creation.
    :param bucket: the bucket of the environment's code; versioned and private. Default:
        None, one is created (SSE-KMS, versioned, access logged).
    :param server_access_logs_bucket: where a created bucket logs access. Default: None, a
        log bucket is created. Only without ``bucket``.
    :param vpc: Default: None, a private VPC with two isolated subnets and the endpoints
        the environment needs. Subnets cannot change after creation.
    :param vpc_subnets: exactly two private subnets of ``vpc`` in different Availability
        Zones. Only with ``vpc``. Default: None, the VPC's private subnets (must be two).
    :param alarm_topic: notified by every alarm. Default: None, alarms without action.
    :param queued_tasks_threshold: queued tasks that raise the queue alarm. Default: 50.
    :param triggerable_dags: DAG ids the bundled trigger function may start (for Step
        Functions tasks and EventBridge targets). Default: (), no function.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dags_folder: str | Path,
        requirements_file: str | Path | None = None,
        plugins_file: str | Path | None = None,
        startup_script: str | Path | None = None,
        airflow_version: AirflowVersion = AirflowVersion.V2_10_3,
        environment_class: EnvironmentClass = EnvironmentClass.MW1_SMALL,
        schedulers: int | None = None,
        min_workers: int = 1,
        max_workers: int = 10,
        min_webservers: int | None = None,
        max_webservers: int | None = None,
        airflow_configuration_options: Mapping[str, str] | None = None,
        webserver_access: WebserverAccess = WebserverAccess.PRIVATE_ONLY,
        worker_replacement: WorkerReplacement = WorkerReplacement.GRACEFUL,
        log_level: AirflowLogLevel = AirflowLogLevel.INFO,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        weekly_maintenance_window_start: str | None = None,
        environment_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        bucket: s3.IBucket | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        alarm_topic: sns.ITopic | None = None,
        queued_tasks_threshold: int = DEFAULT_QUEUED_TASKS_THRESHOLD,
        triggerable_dags: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        files = {"dags_folder": Path(dags_folder)}
        for prop, value in (("requirements_file", requirements_file),
                            ("plugins_file", plugins_file), ("startup_script", startup_script)):
            if value is not None:
                files[prop] = Path(value)
        self.airflow_version = airflow_version
        self.environment_class = environment_class
        self.schedulers = schedulers if schedulers is not None else (
            environment_class.scheduler_range[0])
        problems = ProblemCollector(f"ManagedAirflow {self.node.path}")
        self._check_files(problems, files, airflow_version)
        self._check_capacity(problems, min_workers=min_workers, max_workers=max_workers,
                             min_webservers=min_webservers, max_webservers=max_webservers)
        for key in (airflow_configuration_options or {}):
            problems.check(_matches(_CONFIG_KEY, key) and len(key) <= 64,
                           "airflow_configuration_options", key,
                           "keys are Airflow options as section.option in lower case "
                           "(e.g. 'core.default_timezone'), at most 64 characters")
        problems.check(bucket is None or server_access_logs_bucket is None,
                       "server_access_logs_bucket", "a bucket",
                       "only for the bucket the construct creates; drop it, or drop bucket")
        problems.check(vpc is not None or vpc_subnets is None, "vpc_subnets",
                       "a subnet selection", "only applies to a VPC you bring; give vpc too")
        subnets = self._select_subnets(problems, vpc, vpc_subnets)
        problems.raise_if_any()

        #: The environment's name (``airflow-<name>-<Type>`` are its log groups).
        self.environment_name = environment_name or Names.unique_resource_name(
            self, max_length=80, separator="-")
        #: Encrypts the environment, its code bucket and its log groups.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the Airflow environment {self.node.path}")
        self.vpc: ec2.IVpc = vpc or private_vpc(
            self, "Vpc", max_azs=2, interface_endpoints=INTERFACE_ENDPOINTS,
            flow_logs_key=self.encryption_key)
        self.subnets: list[ec2.ISubnet] = subnets if subnets is not None else list(
            self.vpc.isolated_subnets)
        #: The environment's security group; it allows all traffic between its members.
        self.security_group = self._security_group()
        self.access_logs_bucket: s3.IBucket | None = None
        self.bucket: s3.IBucket = bucket or self._bucket(server_access_logs_bucket)
        self.log_groups: dict[str, logs.LogGroup] = {
            suffix: log_group(self, f"{suffix}Logs", retention=log_retention,
                              encryption_key=self.encryption_key,
                              log_group_name=f"airflow-{self.environment_name}-{suffix}")
            for _, suffix in LOG_TYPES
        }
        self.execution_role = self._execution_role()
        self._deployment_log_group = log_group(
            self, "DeploymentLogs", retention=log_retention, encryption_key=self.encryption_key)
        self.dags_deployment = deploy_folder(
            self, "DagsDeployment", folder=files["dags_folder"], bucket=self.bucket,
            prefix=DAGS_PREFIX, log_group=self._deployment_log_group)
        self.requirements = self._deploy(files, "requirements_file", REQUIREMENTS_PREFIX)
        self.plugins = self._deploy(files, "plugins_file", PLUGINS_PREFIX)
        self.startup = self._deploy(files, "startup_script", STARTUP_PREFIX)
        self.environment = self._environment(
            min_workers=min_workers, max_workers=max_workers, min_webservers=min_webservers,
            max_webservers=max_webservers, options=dict(airflow_configuration_options or {}),
            webserver_access=webserver_access, worker_replacement=worker_replacement,
            log_level=log_level, window=weekly_maintenance_window_start)
        self.alarms = self._alarms(alarm_topic, queued_tasks_threshold)
        self.dag_trigger_function: lambda_.Function | None = None
        self._triggerable = tuple(triggerable_dags)
        if self._triggerable:
            self.dag_trigger_function = self._trigger_function()

    # ----------------------------------------------------------------- attributes

    @property
    def environment_arn(self) -> str:
        return self.environment.attr_arn

    @property
    def webserver_url(self) -> str:
        """The Airflow UI's host name (resolved at deploy time)."""
        return self.environment.attr_webserver_url

    # ----------------------------------------------------------------- grants

    def grant_start_execution(
        self, state_machine: sfn.IStateMachine, *, wait_for_completion: bool = True
    ) -> iam.Grant:
        """Let DAGs start ``state_machine`` (``StepFunctionStartExecutionOperator``) and, with
        ``wait_for_completion``, follow its executions (the operator's sensor)."""
        grant = state_machine.grant_start_execution(self.execution_role)
        if wait_for_completion:
            grant = grant.combine(state_machine.grant_read(self.execution_role))
        return grant

    def grant_run_glue_job(self, job_name: str) -> iam.Grant:
        """Let DAGs start, follow and stop runs of the Glue job ``job_name``
        (``GlueJobOperator``, which also reads the job's definition)."""
        return iam.Grant.add_to_principal(
            grantee=self.execution_role,
            actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                     "glue:BatchStopJobRun", "glue:GetJob"],
            resource_arns=[Stack.of(self).format_arn(
                service="glue", resource="job", resource_name=job_name)],
        )

    def grant_start_crawler(self, crawler: glue.CfnCrawler) -> iam.Grant:
        """Let DAGs run ``crawler`` and wait for it (``GlueCrawlerOperator``)."""
        return iam.Grant.add_to_principal(
            grantee=self.execution_role,
            actions=["glue:StartCrawler", "glue:GetCrawler"],
            resource_arns=[Stack.of(self).format_arn(
                service="glue", resource="crawler", resource_name=crawler.ref)],
        )

    def grant_athena_query(
        self, *, workgroup_name: str, results_bucket: s3.IBucket, results_prefix: str,
        read_buckets: Sequence[s3.IBucket] = (), database_names: Sequence[str] = (),
    ) -> iam.Grant:
        """Let DAGs run Athena queries (``AthenaOperator``) in ``workgroup_name``: read the
        Glue tables of ``database_names`` and the data in ``read_buckets``, write results
        under ``results_prefix`` of ``results_bucket``."""
        stack = Stack.of(self)
        grant = iam.Grant.add_to_principal(
            grantee=self.execution_role,
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution",
                     "athena:GetQueryResults", "athena:StopQueryExecution",
                     "athena:GetWorkGroup"],
            resource_arns=[stack.format_arn(service="athena", resource="workgroup",
                                            resource_name=workgroup_name)],
        )
        if database_names:
            grant = grant.combine(iam.Grant.add_to_principal(
                grantee=self.execution_role,
                actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables",
                         "glue:GetPartition", "glue:GetPartitions"],
                resource_arns=[
                    stack.format_arn(service="glue", resource="catalog"),
                    *(stack.format_arn(service="glue", resource="database", resource_name=name)
                      for name in database_names),
                    *(stack.format_arn(service="glue", resource="table",
                                       resource_name=f"{name}/*") for name in database_names),
                ],
            ))
        for read_bucket in read_buckets:
            grant = grant.combine(read_bucket.grant_read(self.execution_role))
        return grant.combine(results_bucket.grant_read_write(
            self.execution_role, f"{results_prefix}*"))

    def grant_redshift_data(self, workgroup: redshiftserverless.CfnWorkgroup) -> iam.Grant:
        """Let DAGs run SQL on the Redshift Serverless ``workgroup`` through the Data API
        (``RedshiftDataOperator``) with temporary IAM credentials.

        ``ExecuteStatement`` and ``GetCredentials`` are scoped to the workgroup; the Data
        API's statement actions (``DescribeStatement``, ``GetStatementResult``...) take no
        resource, so they are limited to statements this role started
        (``redshift-data:statement-owner-iam-userid``).
        """
        grant = iam.Grant.add_to_principal(
            grantee=self.execution_role,
            actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement",
                     "redshift-serverless:GetCredentials"],
            resource_arns=[workgroup.attr_workgroup_workgroup_arn],
        )
        statements = iam.PolicyStatement(
            actions=["redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
                     "redshift-data:CancelStatement"],
            resources=["*"],
            conditions={"StringEquals": {
                "redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        )
        self.execution_role.add_to_principal_policy(statements)
        return grant

    def grant_publish(self, topic: sns.ITopic) -> iam.Grant:
        """Let DAGs publish to ``topic`` (``SnsPublishOperator``), with its key."""
        return topic.grant_publish(self.execution_role)

    def grant_trigger_dag(self, grantee: iam.IGrantable, *,
                          airflow_role: str = TRIGGER_AIRFLOW_ROLE) -> iam.Grant:
        """Let ``grantee`` trigger DAG runs: ``airflow:InvokeRestApi`` as the Airflow role
        ``airflow_role`` (``User`` may trigger, not edit) and ``airflow:CreateCliToken`` for
        the CLI endpoint. With a private web server, calls must come from inside the VPC."""
        stack = Stack.of(self)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["airflow:InvokeRestApi"],
            resource_arns=[stack.format_arn(
                service="airflow", resource="role",
                resource_name=f"{self.environment_name}/{airflow_role}")],
        ).combine(iam.Grant.add_to_principal(
            grantee=grantee, actions=["airflow:CreateCliToken"],
            resource_arns=[self.environment_arn_literal],
        ))

    @property
    def environment_arn_literal(self) -> str:
        """The environment's ARN built from its name (usable before it exists)."""
        return Stack.of(self).format_arn(service="airflow", resource="environment",
                                         resource_name=self.environment_name)

    # ----------------------------------------------------------------- triggering

    def trigger_dag_task(
        self, scope: Construct, construct_id: str, *, dag_id: str,
        conf: sfn.TaskInput | None = None, dag_run_id: str | None = None,
    ) -> tasks.LambdaInvoke:
        """A Step Functions task that triggers a run of ``dag_id`` (one of
        ``triggerable_dags``) with ``conf`` (default: the state's input) and returns
        ``{"dag_id", "dag_run_id", "state", "already_triggered"}``. ``dag_run_id``
        (e.g. ``sfn.JsonPath.format('sfn-{}', sfn.JsonPath.execution_name)``) makes a retried
        step idempotent."""
        function = self._require_trigger(dag_id)
        payload: dict[str, Any] = {
            "dag_id": dag_id,
            "conf": sfn.JsonPath.object_at("$") if conf is None else conf.value,
        }
        if dag_run_id is not None:
            payload["dag_run_id"] = dag_run_id
        return tasks.LambdaInvoke(
            scope, construct_id, lambda_function=function,
            payload=sfn.TaskInput.from_object(payload), payload_response_only=True,
            retry_on_service_exceptions=True,
        )

    def trigger_dag_target(
        self, scope: Construct, *, dag_id: str, rule_name: str,
        retry_policy: TargetRetryPolicy | None = None,
    ) -> events_targets.LambdaFunction:
        """An EventBridge rule target that triggers a run of ``dag_id`` with the event's
        ``detail`` as ``conf``; the run id is the event id, so a redelivered event does not
        start a second run. Undeliverable events go to a dead-letter queue."""
        function = self._require_trigger(dag_id)
        policy = retry_policy or TargetRetryPolicy()
        queue = target_dead_letter_queue(scope, f"{_pascal(dag_id)}TriggerDeadLetters",
                                         rule_name=rule_name, encryption_key=self.encryption_key)
        return events_targets.LambdaFunction(
            function,
            event=events.RuleTargetInput.from_object({
                "dag_id": dag_id,
                "conf": events.EventField.from_path("$.detail"),
                "dag_run_id": f"event-{events.EventField.event_id}",
            }),
            dead_letter_queue=queue, max_event_age=policy.max_event_age,
            retry_attempts=policy.retry_attempts,
        )

    # ----------------------------------------------------------------- metrics

    def metric(self, metric_name: str, dimensions: Mapping[str, str], *,
               period: Duration = ALARM_PERIOD, statistic: str = "Sum") -> cloudwatch.Metric:
        """An ``AmazonMWAA`` metric of this environment (``Environment`` plus
        ``dimensions``, as the MWAA user guide lists them per metric)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=metric_name,
            dimensions_map={"Environment": self.environment_name, **dimensions},
            period=period, statistic=statistic,
        )

    def metric_scheduler_heartbeat(self, *, period: Duration = HEARTBEAT_PERIOD
                                   ) -> cloudwatch.Metric:
        return self.metric("SchedulerHeartbeat", {"Function": "Scheduler"}, period=period)

    def metric_queued_tasks(self, *, period: Duration = HEARTBEAT_PERIOD) -> cloudwatch.Metric:
        return self.metric("QueuedTasks", {"Function": "Executor"}, period=period,
                           statistic="Maximum")

    def metric_task_instance_failures(self, *, period: Duration = HEARTBEAT_PERIOD
                                      ) -> cloudwatch.Metric:
        return self.metric("TaskInstanceFailures", {"DAG": "All", "Task": "All"}, period=period)

    # ----------------------------------------------------------------- checks

    def _check_files(self, problems: ProblemCollector, files: Mapping[str, Path],
                     version: AirflowVersion) -> None:
        for prop, path in files.items():
            folder = prop == "dags_folder"
            exists = path.is_dir() if folder else path.is_file()
            problems.check(exists, prop, str(path),
                           "must be an existing folder" if folder else "must be an existing file")
            if not exists:
                continue
            if prop == "plugins_file":
                problems.check(path.suffix == ".zip", prop, str(path), "must be a .zip file")
            if prop == "startup_script":
                problems.check(path.suffix == ".sh", prop, str(path), "must be a .sh script")
            if prop == "requirements_file":
                for problem in constraint_problems(path.read_text(), version):
                    problems.add(prop, str(path), problem)

    def _check_capacity(self, problems: ProblemCollector, *, min_workers: int,
                        max_workers: int, min_webservers: int | None,
                        max_webservers: int | None) -> None:
        low, high = self.environment_class.scheduler_range
        problems.check(low <= self.schedulers <= high, "schedulers", self.schedulers,
                       f"{self.environment_class.value} runs {low} to {high} schedulers"
                       if low != high else f"{self.environment_class.value} runs exactly {low}")
        if not (is_unresolved(min_workers) or is_unresolved(max_workers)):
            problems.check(max_workers >= min_workers, "min_workers", min_workers,
                           f"must be at most max_workers ({max_workers})")
        most = self.environment_class.max_webservers
        for prop, value in (("min_webservers", min_webservers),
                            ("max_webservers", max_webservers)):
            if value is not None:
                problems.check(value <= most, prop, value,
                               f"{self.environment_class.value} runs at most {most}")
        if min_webservers is not None and max_webservers is not None:
            problems.check(max_webservers >= min_webservers, "min_webservers", min_webservers,
                           f"must be at most max_webservers ({max_webservers})")

    def _select_subnets(self, problems: ProblemCollector, vpc: ec2.IVpc | None,
                        selection: ec2.SubnetSelection | None) -> list[ec2.ISubnet] | None:
        if vpc is None:
            return None
        selected = vpc.select_subnets(**_selection_kwargs(selection))
        public = {subnet.subnet_id for subnet in vpc.public_subnets}
        subnets = list(selected.subnets)
        ids = [subnet.subnet_id for subnet in subnets]
        prop = "vpc_subnets" if selection is not None else "vpc"
        problems.check(not public.intersection(ids), prop, ids,
                       "MWAA runs in private subnets only; select private subnets")
        zones = [subnet.availability_zone for subnet in subnets]
        problems.check(len(subnets) == 2 and len(set(zones)) == 2, prop,
                       [f"{i} ({z})" for i, z in zip(ids, zones, strict=True)],
                       "MWAA needs exactly two private subnets in different Availability "
                       "Zones; select two with vpc_subnets")
        return subnets

    # ----------------------------------------------------------------- building

    def _security_group(self) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description=f"MWAA environment {self.node.path}: its own members and AWS endpoints",
        )
        group.add_ingress_rule(group, ec2.Port.all_traffic(),
                               "Airflow components (workers, schedulers, web server, database)")
        acknowledge(group, "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
                    "The only ingress is from this security group itself (MWAA's required "
                    "self-referencing rule): its own components, never an address range.")
        group.add_egress_rule(group, ec2.Port.all_traffic(), "Airflow components")
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                              "AWS service endpoints and the S3 gateway (no internet route)")
        return group

    def _bucket(self, server_access_logs_bucket: s3.IBucket | None) -> s3.IBucket:
        logs_bucket = server_access_logs_bucket
        if logs_bucket is None:
            self.access_logs_bucket = logs_bucket = access_log_bucket(self, "AccessLogs")
        else:
            self.access_logs_bucket = logs_bucket
        return secure_bucket(
            self, "Bucket", server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix=f"{self.environment_name}/",
            encryption_key=self.encryption_key,
        )

    def _execution_role(self) -> iam.Role:
        """The role MWAA's components assume (least privilege, as the MWAA guide lists)."""
        stack = Stack.of(self)
        role = iam.Role(
            self, "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"),
                iam.ServicePrincipal("airflow-env.amazonaws.com"),
            ),
            description=f"Execution role of the Airflow environment {self.node.path}",
        )
        role.add_to_policy(iam.PolicyStatement(
            actions=["airflow:PublishMetrics"], resources=[self.environment_arn_literal]))
        self.bucket.grant_read(role)
        role.add_to_policy(iam.PolicyStatement(
            effect=iam.Effect.DENY, actions=["s3:ListAllMyBuckets"],
            resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")]))
        role.add_to_policy(iam.PolicyStatement(
            actions=list(_LOG_ACTIONS),
            resources=[group.log_group_arn for group in self.log_groups.values()]))
        role.add_to_policy(iam.PolicyStatement(actions=["logs:DescribeLogGroups"],
                                               resources=["*"]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}))
        celery_queues = stack.format_arn(service="sqs", account="*",
                                         resource="airflow-celery-*",
                                         arn_format=ArnFormat.NO_RESOURCE_NAME)
        role.add_to_policy(iam.PolicyStatement(actions=list(_CELERY_ACTIONS),
                                               resources=[celery_queues]))
        role.add_to_policy(iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
            resources=[self.encryption_key.key_arn],
            conditions={"StringLike": {"kms:ViaService": [f"sqs.{stack.region}.amazonaws.com"]}},
        ))
        self._acknowledge_role(role, celery_queues)
        return role

    def _acknowledge_role(self, role: iam.Role, celery_queues: str) -> None:
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    "logs:DescribeLogGroups and cloudwatch:PutMetricData accept no resource "
                    "but '*'; PutMetricData is limited to the AmazonMWAA namespace.")
        queues = nag_reference(self, celery_queues)
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{queues}]",
                    "MWAA creates the environment's Celery queues (airflow-celery-*) in an "
                    "account of its own, unknown until the environment exists; AWS's "
                    "execution-role policy names them this way.")
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::"
                    f"{nag_reference(self, self.bucket.bucket_arn)}/*]",
                    "CDK's grant_read of the environment's own code bucket (MWAA reads "
                    "DAGs, requirements and plugins from it).")
        for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*"):
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]",
                        "CDK's grant_read of the environment's own code bucket (MWAA reads "
                        "DAGs, requirements and plugins from it).")
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                    "The environment's own key, used through SQS only (kms:ViaService) for "
                    "the encrypted Celery queues, and by CDK's grant_read of its bucket.")

    def _deploy(self, files: Mapping[str, Path], prop: str, prefix: str) -> DeployedFile | None:
        path = files.get(prop)
        if path is None:
            return None
        name = "".join(part.capitalize() for part in prop.split("_"))
        return deploy_file(self, f"{name}Deployment", path=path, bucket=self.bucket,
                           prefix=prefix, log_group=self._deployment_log_group)

    def _environment(
        self, *, min_workers: int, max_workers: int, min_webservers: int | None,
        max_webservers: int | None, options: dict[str, str], webserver_access: WebserverAccess,
        worker_replacement: WorkerReplacement, log_level: AirflowLogLevel, window: str | None,
    ) -> mwaa.CfnEnvironment:
        module = mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
            enabled=True, log_level=log_level.value)
        code: dict[str, Any] = {}
        for deployed, path_prop, version_prop in (
                (self.requirements, "requirements_s3_path", "requirements_s3_object_version"),
                (self.plugins, "plugins_s3_path", "plugins_s3_object_version"),
                (self.startup, "startup_script_s3_path", "startup_script_s3_object_version")):
            if deployed is not None:
                code[path_prop] = deployed.key
                code[version_prop] = deployed.version
        environment = mwaa.CfnEnvironment(
            self, "Resource",
            name=self.environment_name,
            airflow_version=self.airflow_version.value,
            environment_class=self.environment_class.value,
            schedulers=self.schedulers,
            min_workers=min_workers,
            max_workers=max_workers,
            min_webservers=min_webservers,
            max_webservers=max_webservers,
            airflow_configuration_options=options or None,
            execution_role_arn=self.execution_role.role_arn,
            source_bucket_arn=self.bucket.bucket_arn,
            dag_s3_path=DAGS_PREFIX.rstrip("/"),
            kms_key=self.encryption_key.key_arn,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[self.security_group.security_group_id],
                subnet_ids=[subnet.subnet_id for subnet in self.subnets],
            ),
            webserver_access_mode=webserver_access.value,
            worker_replacement_strategy=worker_replacement.value,
            weekly_maintenance_window_start=window,
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                **{prop: module for prop, _ in LOG_TYPES}),
            **code,
        )
        # The groups exist before MWAA would create them (without retention or key), the DAGs
        # before the environment first parses its folder, the policy before MWAA assumes the
        # role (a role without its policy fails the creation after 30 minutes).
        # MWAA is offered in most Regions, not all (cfn-lint checks every Region): the stack
        # deploys only where it is. The exception is on this resource only.
        available_in_some_regions_only(environment)
        # (One DependsOn list: the role's policies, resolved at synth so later grants count,
        # then the log groups and the DAG deployment.)
        first: list[CfnResource] = [
            cast(CfnResource, group.node.default_child) for group in self.log_groups.values()]
        first.append(custom_resource(self.dags_deployment))
        environment.add_override("DependsOn", Lazy.list(
            _DependsOn(_RolePolicyLogicalIds(self.execution_role), first)))
        return environment

    def _alarms(self, alarm_topic: sns.ITopic | None,
                queued_tasks_threshold: int) -> list[cloudwatch.Alarm]:
        heartbeat = alarm(
            self, "SchedulerHeartbeatAlarm", metric=self.metric_scheduler_heartbeat(),
            threshold=1, comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=2, treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            description=f"{self.node.path}: the scheduler stopped sending heartbeats (no DAG "
                        "is scheduled).",
            alarm_topic=alarm_topic)
        queued = alarm(
            self, "QueuedTasksAlarm", metric=self.metric_queued_tasks(),
            threshold=queued_tasks_threshold, evaluation_periods=3,
            description=f"{self.node.path}: tasks keep queueing; the workers (max_workers) "
                        "do not keep up.",
            alarm_topic=alarm_topic)
        failures = alarm(
            self, "TaskFailuresAlarm", metric=self.metric_task_instance_failures(),
            threshold=1, description=f"{self.node.path}: Airflow task instances failed.",
            alarm_topic=alarm_topic)
        return [heartbeat, queued, failures]

    def _trigger_function(self) -> lambda_.Function:
        group = ec2.SecurityGroup(
            self, "TriggerSecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description=f"DAG trigger of {self.node.path}: HTTPS to the MWAA endpoint only")
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                              "MWAA env endpoint (no internet route)")
        built = python_function(
            self, "DagTrigger", handler_name="dag_trigger",
            description=f"Triggers DAG runs of the Airflow environment {self.node.path}",
            environment={"ENVIRONMENT_NAME": self.environment_name,
                         "ALLOWED_DAG_IDS": ",".join(self._triggerable)},
            log_encryption_key=self.encryption_key,
            invoked_asynchronously=True, failure_queue_key=self.encryption_key,
            vpc=self.vpc, vpc_subnets=ec2.SubnetSelection(subnets=self.subnets),
            security_groups=[group],
        )
        self.grant_trigger_dag(built.function)
        return built.function

    def _require_trigger(self, dag_id: str) -> lambda_.Function:
        problems = ProblemCollector(f"ManagedAirflow {self.node.path}")
        problems.check(dag_id in self._triggerable, "dag_id", dag_id,
                       f"add it to triggerable_dags (now {list(self._triggerable)})")
        problems.raise_if_any()
        assert self.dag_trigger_function is not None
        return self.dag_trigger_function


@jsii.implements(IStableListProducer)
class _DependsOn:
    """The logical ids of the role's policies, then of ``others`` (at synth)."""

    def __init__(self, policies: _RolePolicyLogicalIds, others: Sequence[CfnResource]) -> None:
        self._policies = policies
        self._others = others

    def produce(self) -> list[str]:
        ids = list(self._policies.produce())
        return ids + [Stack.of(other).resolve(other.logical_id) for other in self._others]


def _selection_kwargs(selection: ec2.SubnetSelection | None) -> dict[str, Any]:
    if selection is None:
        return {}
    names = ("availability_zones", "one_per_az", "subnet_filters", "subnet_group_name",
             "subnets", "subnet_type")
    return {name: getattr(selection, name) for name in names
            if getattr(selection, name) is not None}


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def _pascal(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").replace(".", "_")
                   .split("_"))
