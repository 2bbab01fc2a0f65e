"""Emulated analytics services for Step Functions: Glue, Athena, Batch, EMR Serverless, SageMaker.

moto's interpreter cannot run these integrations as AWS does: Athena, EMR Serverless and
SageMaker have no ``.sync`` there, Batch jobs need Docker, and Glue crawls report statuses
AWS does not use. This module replaces them with one deterministic emulator,
:class:`AnalyticsServices` (``aws.analytics``), which

- answers the optimized integrations ``glue:startJobRun(.sync)``,
  ``athena:startQueryExecution(.sync)``, ``batch:submitJob(.sync)``,
  ``emr-serverless:startJobRun(.sync)``, ``sagemaker:createProcessingJob(.sync)``,
  ``createTrainingJob(.sync)``, ``createModel``, ``createEndpointConfig``, ``createEndpoint``,
  ``updateEndpoint``, and the aws-sdk calls ``glue:startCrawler`` / ``getCrawler`` and
  ``sagemaker:listEndpoints``, with the response shapes and error names of AWS;
- runs the Python callable a test registered for a job (``aws.analytics.on(...)``): a fake of
  the Glue/Spark script or container that reads and writes S3 through boto3 (moto), so data
  flows end to end; without one, the job just succeeds;
- fails a job on demand (``aws.analytics.fail(...)``, or a handler raising :class:`JobFailed`):
  the ``.sync`` task then fails with ``States.TaskFailed`` and a cause in AWS's shape;
- checks that the job, crawler, work group, queue, job definition or application exists in
  a deployed template, answering ``Glue.EntityNotFoundException`` and the like otherwise;
- fixes the interpreter gaps these workflows hit: ``$$.Execution.StartTime`` is an ISO 8601
  string (moto: a datetime that broke every task passing it on); a Fail state may re-raise a
  caught error through ``ErrorPath``, ``States.*`` names included; a JSONPath filter that
  matches nothing yields ``[]``; a Distributed Map honours ``ToleratedFailureCount`` /
  ``ToleratedFailurePercentage`` (moto ignored them and failed on the first item);
- deploys ``AWS::Glue::Job`` / ``Crawler`` / ``SecurityConfiguration`` / ``Table``,
  ``AWS::Athena::WorkGroup``, ``AWS::Batch::*``,
  ``AWS::EMRServerless::Application``, ``AWS::ECR::Repository``,
  ``AWS::MSK::ServerlessCluster`` (its ARN shaped as MSK's, no broker) and the
  ``AWS::EC2::*`` network resources and ``AWS::Glue::Database`` (recorded, not created:
  they shape no behaviour offline),
  and starts a schedule's target on demand (:meth:`AnalyticsServices.run_schedule`; the
  schedules themselves live in :mod:`.scheduler` and fire on ``aws.advance(...)``).

Jobs run when they are started, on the interpreter's thread; a crawl reports RUNNING for one
poll, then READY, so a poll loop is exercised. Time is not spent: the workflow's Wait states
advance the harness's virtual clock.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.exceptions import OfflineHarnessError
from analytics_orchestration.testing.services.iam_enforcement import Iam

if TYPE_CHECKING:
    from analytics_orchestration.testing.core.deploy import Handler
    from analytics_orchestration.testing.core.patching import Patcher
    from analytics_orchestration.testing.core.template import StackTemplate
    from analytics_orchestration.testing.services.scheduler import SchedulerService

__all__ = ["SERVICES", "AnalyticsServices", "JobFailed", "JobHandler", "JobRun"]

#: The job kinds a test can register handlers for, and what names them in the request.
SERVICES: dict[str, str] = {
    "glue": "the job name (JobName)",
    "glue-crawler": "the crawler name (Name)",
    "athena": "the work group (WorkGroup, default 'primary')",
    "batch": "the job definition's name (without revision)",
    "emr-serverless": "the job run's Name (else the application id)",
    "sagemaker-processing": "the ProcessingJobName (a handler's name is a prefix)",
    "sagemaker-training": "the TrainingJobName (a handler's name is a prefix)",
}

JobHandler = Callable[[dict[str, Any]], Mapping[str, Any] | None]
"""A fake job: receives the request parameters (as the workflow sent them), may read and
write S3 through boto3, returns fields merged into the job's description (e.g. a training
job's ``FinalMetricDataList``) or None; raises :class:`JobFailed` to fail the job."""


class JobFailed(Exception):
    """Raise from a job handler to make the emulated job end FAILED with this reason."""


@dataclass
class JobRun:
    """One emulated job run, for assertions (``aws.analytics.runs(...)``)."""

    service: str
    name: str
    run_id: str
    request: dict[str, Any]
    status: str
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    #: The handler's exception when it raised something other than :class:`JobFailed`.
    exception: BaseException | None = None

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


class ServiceError(Exception):
    """An API error of an emulated service (``code`` as the service names it)."""

    def __init__(self, service: str, code: str, message: str) -> None:
        super().__init__(message)
        self.service = service
        self.code = code
        self.message = message


@dataclass
class _Crawl:
    run: JobRun
    polls_left: int
    started: str


class AnalyticsServices:
    """The emulator behind ``aws.analytics``: registries, handlers and every run."""

    def __init__(self, kernel: Kernel, iam: Iam,
                 scheduler: SchedulerService | None = None) -> None:
        self._kernel = kernel
        self._iam = iam
        self._scheduler = scheduler
        self._lock = threading.RLock()
        self._handlers: dict[str, dict[str, JobHandler]] = {s: {} for s in SERVICES}
        self._runs: list[JobRun] = []
        self._ids = itertools.count(1)
        #: Deployed resources by kind and name (Glue jobs, crawlers, work groups, ...).
        self.deployed: dict[str, dict[str, dict[str, Any]]] = {
            "glue-job": {}, "glue-crawler": {}, "athena-workgroup": {"primary": {}},
            "batch-job-queue": {}, "batch-job-definition": {}, "emr-application": {},
        }
        self._crawls: dict[str, _Crawl] = {}
        #: SageMaker resources created by workflows, by name.
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoint_configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ harness wiring
    def resource_handlers(self) -> dict[str, Handler]:
        """Deploy handlers for the analytics and network resource types (recorded only)."""
        return resource_handlers(self)

    def patch_interpreter(self, patcher: Patcher) -> None:
        """Route the emulated Step Functions integrations here (with the interpreter)."""
        apply(patcher, self)

    # ------------------------------------------------------------------ test API
    def on(self, service: str, name: str, handler: JobHandler) -> None:
        """Run ``handler`` for every job of ``service`` named ``name`` (see :data:`SERVICES`)."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
        with self._lock:
            self._handlers[service][name] = handler

    def fail(self, service: str, name: str, reason: str = "injected failure") -> None:
        """Make every job of ``service`` named ``name`` fail with ``reason``."""

        def failing(request: dict[str, Any]) -> None:
            raise JobFailed(reason)

        self.on(service, name, failing)

    def runs(self, service: str | None = None, name: str | None = None) -> list[JobRun]:
        """Every run so far, oldest first, optionally of one service and name."""
        with self._lock:
            return [r for r in self._runs if (service is None or r.service == service)
                    and (name is None or r.name == name)]

    def run_schedule(self, schedule: str) -> str:
        """Start what an EventBridge Scheduler schedule targets, now, with its input; returns
        the execution ARN. Schedules also fire by themselves on virtual time:
        :meth:`OfflineAws.advance <analytics_orchestration.testing.OfflineAws.advance>`."""
        if self._scheduler is None:
            raise OfflineHarnessError("this AnalyticsServices has no scheduler")
        return self._scheduler.run(schedule)

    # ------------------------------------------------------------------ running jobs
    def _handler(self, service: str, name: str) -> JobHandler | None:
        handlers = self._handlers[service]
        if name in handlers:
            return handlers[name]
        if service.startswith("sagemaker"):
            prefixes = sorted((k for k in handlers if name.startswith(k)), key=len)
            if prefixes:
                return handlers[prefixes[-1]]
        return None

    def _run(self, service: str, name: str, request: dict[str, Any]) -> JobRun:
        run = JobRun(service=service, name=name, run_id=self._new_id(service),
                     request=copy.deepcopy(request), status="SUCCEEDED")
        handler = self._handler(service, name)
        if handler is not None:
            try:
                run.result = dict(handler(copy.deepcopy(request)) or {})
            except JobFailed as err:
                run.status, run.reason = "FAILED", str(err)
            except Exception as err:  # the job crashed: AWS reports a failed run
                run.status, run.exception = "FAILED", err
                run.reason = f"{type(err).__name__}: {err}"
        with self._lock:
            self._runs.append(run)
        return run

    def _new_id(self, service: str) -> str:
        number = next(self._ids)
        return hashlib.sha1(f"{service}/{number}".encode()).hexdigest()[:24]

    def _require(self, kind: str, name: str, service: str, code: str, what: str) -> None:
        if name not in self.deployed[kind] and not self._has_handler_for(kind, name):
            raise ServiceError(service, code, f"{what} {name} not found")

    def _has_handler_for(self, kind: str, name: str) -> bool:
        service = {"glue-job": "glue", "glue-crawler": "glue-crawler",
                   "batch-job-definition": "batch"}.get(kind)
        return service is not None and name in self._handlers[service]

    # ------------------------------------------------------------------ the services
    def call(self, service: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request-response call (the start of a ``.sync`` task)."""
        method = getattr(self, f"_{service.replace('-', '_')}_{action}", None)
        if method is None:
            raise OfflineHarnessError(f"{service}:{action} is not emulated")
        iam = self._iam
        # The task runs as the state machine's role: the call needs its permissions.
        operation = "".join(part.capitalize() for part in action.split("_"))
        denied = iam.check(service, operation, params, via="Step Functions task")
        if denied:
            raise ServiceError(service, "AccessDeniedException", denied)
        with iam.acting(None):  # the fake job itself runs as the test, unevaluated
            result: dict[str, Any] = method(params)
        return result

    def finish(
        self, service: str, action: str, started: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """The ``.sync`` outcome of a started job: (description, failed)."""
        with self._lock:
            run = next(r for r in self._runs if r.run_id == started["_run_id"])
        method = getattr(self, f"_{service.replace('-', '_')}_{action}_done")
        description: dict[str, Any] = method(run)
        return description, run.failed

    # Glue ------------------------------------------------------------------
    def _glue_start_job_run(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["JobName"])
        self._require("glue-job", name, "Glue", "EntityNotFoundException", "Job")
        run = self._run("glue", name, params)
        return {"JobRunId": run.run_id, "JobName": name, "_run_id": run.run_id}

    def _glue_start_job_run_done(self, run: JobRun) -> dict[str, Any]:
        now = _now()
        return {
            "Id": run.run_id, "Attempt": 0, "JobName": run.name,
            "JobRunState": "FAILED" if run.failed else "SUCCEEDED",
            "Arguments": run.request.get("Arguments", {}), "StartedOn": now,
            "CompletedOn": now, "LastModifiedOn": now, "ExecutionTime": 1,
            **({"ErrorMessage": run.reason} if run.failed else {}), **run.result,
        }

    def _glue_start_crawler(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["Name"])
        self._require("glue-crawler", name, "Glue", "EntityNotFoundException", "Crawler")
        with self._lock:
            crawl = self._crawls.get(name)
            if crawl is not None and crawl.polls_left > 0:
                raise ServiceError("Glue", "CrawlerRunningException",
                                   f"Crawler with name {name} has already started")
        run = self._run("glue-crawler", name, params)
        with self._lock:
            self._crawls[name] = _Crawl(run=run, polls_left=1, started=_now())
        return {}

    def _glue_get_crawler(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["Name"])
        self._require("glue-crawler", name, "Glue", "EntityNotFoundException", "Crawler")
        crawler: dict[str, Any] = {"Name": name, "State": "READY",
                                   **self.deployed["glue-crawler"].get(name, {})}
        with self._lock:
            crawl = self._crawls.get(name)
            if crawl is None:
                return {"Crawler": crawler}
            if crawl.polls_left > 0:
                crawl.polls_left -= 1
                crawler["State"] = "RUNNING"
            last: dict[str, Any] = {"Status": "FAILED" if crawl.run.failed else "SUCCEEDED",
                                    "StartTime": crawl.started,
                                    "LogGroup": "/aws-glue/crawlers", "LogStream": name,
                                    "MessagePrefix": crawl.run.run_id}
        if crawl.run.failed:
            last["ErrorMessage"] = crawl.run.reason
        if crawler["State"] == "READY":
            crawler["LastCrawl"] = last
        return {"Crawler": crawler}

    # Athena ----------------------------------------------------------------
    def _athena_start_query_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        group = str(params.get("WorkGroup") or "primary")
        self._require("athena-workgroup", group, "Athena", "InvalidRequestException",
                      "WorkGroup")
        run = self._run("athena", group, params)
        return {"QueryExecutionId": run.run_id, "_run_id": run.run_id}

    def _athena_start_query_execution_done(self, run: JobRun) -> dict[str, Any]:
        now = _now()
        status: dict[str, Any] = {"State": "FAILED" if run.failed else "SUCCEEDED",
                                  "SubmissionDateTime": now, "CompletionDateTime": now}
        if run.failed:
            status["StateChangeReason"] = run.reason
        group = run.name
        output = (run.request.get("ResultConfiguration") or {}).get("OutputLocation") or (
            self.deployed["athena-workgroup"].get(group, {}).get("OutputLocation"))
        execution: dict[str, Any] = {
            "QueryExecutionId": run.run_id, "Query": run.request.get("QueryString"),
            "StatementType": "DML", "WorkGroup": group, "Status": status,
            "QueryExecutionContext": run.request.get("QueryExecutionContext", {}),
            "Statistics": {"EngineExecutionTimeInMillis": 1, "DataScannedInBytes": 0,
                           "TotalExecutionTimeInMillis": 1},
            **run.result,
        }
        if output:
            execution["ResultConfiguration"] = {
                "OutputLocation": f"{str(output).rstrip('/')}/{run.run_id}.csv"}
        return {"QueryExecution": execution}

    # Batch -----------------------------------------------------------------
    def _batch_submit_job(self, params: dict[str, Any]) -> dict[str, Any]:
        queue = _batch_name(str(params["JobQueue"]), "job-queue")
        definition = _batch_name(str(params["JobDefinition"]), "job-definition")
        self._require("batch-job-queue", queue, "Batch", "ClientException", "Job queue")
        self._require("batch-job-definition", definition, "Batch", "ClientException",
                      "Job definition")
        run = self._run("batch", definition, params)
        arn = f"arn:aws:batch:{self._kernel.region}:{self._kernel.account_id}:job/{run.run_id}"
        return {"JobArn": arn, "JobName": params.get("JobName"), "JobId": run.run_id,
                "_run_id": run.run_id}

    def _batch_submit_job_done(self, run: JobRun) -> dict[str, Any]:
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        exit_code = 1 if run.failed else 0
        return {
            "JobArn": f"arn:aws:batch:{self._kernel.region}:{self._kernel.account_id}:job/"
                      f"{run.run_id}",
            "JobName": run.request.get("JobName"), "JobId": run.run_id,
            "JobQueue": run.request.get("JobQueue"),
            "JobDefinition": run.request.get("JobDefinition"),
            "Status": "FAILED" if run.failed else "SUCCEEDED",
            "StatusReason": run.reason or "Essential container in task exited",
            "Parameters": run.request.get("Parameters", {}),
            "Attempts": [{"Container": {"ExitCode": exit_code}, "StartedAt": now,
                          "StoppedAt": now}],
            "Container": {"ExitCode": exit_code}, "CreatedAt": now, "StartedAt": now,
            "StoppedAt": now, **run.result,
        }

    # EMR Serverless --------------------------------------------------------
    def _emr_serverless_start_job_run(self, params: dict[str, Any]) -> dict[str, Any]:
        application = str(params["ApplicationId"])
        if application not in self.deployed["emr-application"]:
            raise ServiceError("EMRServerless", "ResourceNotFoundException",
                               f"Application {application} does not exist")
        run = self._run("emr-serverless", str(params.get("Name") or application), params)
        arn = (f"arn:aws:emr-serverless:{self._kernel.region}:{self._kernel.account_id}:"
               f"/applications/{application}/jobruns/{run.run_id}")
        return {"ApplicationId": application, "JobRunId": run.run_id, "Arn": arn,
                "_run_id": run.run_id}

    def _emr_serverless_start_job_run_done(self, run: JobRun) -> dict[str, Any]:
        application = str(run.request["ApplicationId"])
        now = _now()
        return {
            "ApplicationId": application, "JobRunId": run.run_id, "Name": run.name,
            "Arn": f"arn:aws:emr-serverless:{self._kernel.region}:{self._kernel.account_id}:"
                   f"/applications/{application}/jobruns/{run.run_id}",
            "State": "FAILED" if run.failed else "SUCCESS",
            "StateDetails": run.reason or "", "CreatedAt": now, "UpdatedAt": now,
            "ExecutionRole": run.request.get("ExecutionRoleArn"),
            "JobDriver": run.request.get("JobDriver", {}), **run.result,
        }

    # SageMaker -------------------------------------------------------------
    def _sagemaker_create_processing_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["ProcessingJobName"])
        run = self._run("sagemaker-processing", name, params)
        return {"ProcessingJobArn": self._sagemaker_arn("processing-job", name),
                "_run_id": run.run_id}

    def _sagemaker_create_processing_job_done(self, run: JobRun) -> dict[str, Any]:
        return {**run.request,
                "ProcessingJobArn": self._sagemaker_arn("processing-job", run.name),
                "ProcessingJobStatus": "Failed" if run.failed else "Completed",
                **({"FailureReason": run.reason} if run.failed else {}), **run.result}

    def _sagemaker_create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["TrainingJobName"])
        run = self._run("sagemaker-training", name, params)
        return {"TrainingJobArn": self._sagemaker_arn("training-job", name),
                "_run_id": run.run_id}

    def _sagemaker_create_training_job_done(self, run: JobRun) -> dict[str, Any]:
        output = str((run.request.get("OutputDataConfig") or {}).get("S3OutputPath", ""))
        return {
            **run.request,
            "TrainingJobArn": self._sagemaker_arn("training-job", run.name),
            "TrainingJobStatus": "Failed" if run.failed else "Completed",
            "SecondaryStatus": "Failed" if run.failed else "Completed",
            "ModelArtifacts": {"S3ModelArtifacts":
                               f"{output.rstrip('/')}/{run.name}/output/model.tar.gz"},
            "FinalMetricDataList": [],
            **({"FailureReason": run.reason} if run.failed else {}), **run.result,
        }

    def _sagemaker_create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["ModelName"])
        with self._lock:
            if name in self.models:
                raise ServiceError("SageMaker", "ValidationException",
                                   f"Cannot create already existing model {name}")
            self.models[name] = copy.deepcopy(params)
        return {"ModelArn": self._sagemaker_arn("model", name)}

    def _sagemaker_create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params["EndpointConfigName"])
        with self._lock:
            for variant in params.get("ProductionVariants", []):
                if variant.get("ModelName") not in self.models:
                    raise ServiceError("SageMaker", "ValidationException",
                                       f"Could not find model {variant.get('ModelName')}")
            self.endpoint_configs[name] = copy.deepcopy(params)
        return {"EndpointConfigArn": self._sagemaker_arn("endpoint-config", name)}

    def _sagemaker_create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._put_endpoint(params, create=True)

    def _sagemaker_update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._put_endpoint(params, create=False)

    def _put_endpoint(self, params: dict[str, Any], *, create: bool) -> dict[str, Any]:
        name, config = str(params["EndpointName"]), str(params["EndpointConfigName"])
        with self._lock:
            if config not in self.endpoint_configs:
                raise ServiceError("SageMaker", "ValidationException",
                                   f"Could not find endpoint configuration {config}")
            if create and name in self.endpoints:
                raise ServiceError("SageMaker", "ValidationException",
                                   f"Cannot create already existing endpoint {name}")
            if not create and name not in self.endpoints:
                raise ServiceError("SageMaker", "ValidationException",
                                   f"Could not find endpoint {name}")
            history = self.endpoints.get(name, {}).get("ConfigHistory", [])
            self.endpoints[name] = {"EndpointName": name, "EndpointConfigName": config,
                                    "EndpointStatus": "InService",
                                    "ConfigHistory": [*history, config],
                                    "EndpointArn": self._sagemaker_arn("endpoint", name.lower())}
        return {"EndpointArn": self._sagemaker_arn("endpoint", name.lower())}

    def _sagemaker_list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        contains = str(params.get("NameContains") or "")
        with self._lock:
            found = [{"EndpointName": e["EndpointName"], "EndpointArn": e["EndpointArn"],
                      "EndpointStatus": e["EndpointStatus"], "CreationTime": _now(),
                      "LastModifiedTime": _now()}
                     for name, e in sorted(self.endpoints.items()) if contains in name]
        return {"Endpoints": found}

    def _sagemaker_arn(self, kind: str, name: str) -> str:
        return (f"arn:aws:sagemaker:{self._kernel.region}:{self._kernel.account_id}:"
                f"{kind}/{name.lower()}")

    # ------------------------------------------------------------------ deployment
    def record(self, kind: str, name: str, properties: Mapping[str, Any]) -> None:
        """Remember a deployed resource (the deploy handlers call this)."""
        with self._lock:
            self.deployed.setdefault(kind, {})[name] = dict(properties)


def _now() -> str:
    return _iso(dt.datetime.now(dt.UTC))


def _iso(when: dt.datetime) -> str:
    """Step Functions' timestamp format: UTC, milliseconds, ``Z``."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _batch_name(value: str, kind: str) -> str:
    """A Batch queue or definition name from its name, ARN, or ``name:revision``."""
    if value.startswith("arn:"):
        value = value.split(f":{kind}/", 1)[-1]
    return value.split(":", 1)[0]


# ---------------------------------------------------------------------------------------
# Step Functions task classes
# ---------------------------------------------------------------------------------------
_EMULATED_ACTIONS: dict[str, dict[str, bool]] = {
    # service -> snake-case action -> supports .sync
    "glue": {"start_job_run": True},
    "athena": {"start_query_execution": True},
    "batch": {"submit_job": True},
    "emr-serverless": {"start_job_run": True},
    "sagemaker": {"create_processing_job": True, "create_training_job": True,
                  "create_model": False, "create_endpoint_config": False,
                  "create_endpoint": False, "update_endpoint": False},
}
_AWS_SDK_ACTIONS: dict[str, set[str]] = {
    "glue": {"start_crawler", "get_crawler"},
    "sagemaker": {"list_endpoints"},
}
#: The error-name prefix of each optimized integration (``Glue.EntityNotFoundException``).
_ERROR_PREFIXES = {"glue": "Glue", "athena": "Athena", "batch": "Batch",
                   "emr-serverless": "EMRServerless", "sagemaker": "SageMaker"}


def _task_classes() -> dict[str, Any]:
    """The emulating task classes, built on first use (they subclass moto internals)."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
        StateTaskServiceAwsSdk,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event import event_detail
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    EventDetails: Any = event_detail.EventDetails

    class EmulatedService(StateTaskServiceCallback):
        """An optimized integration answered by :class:`AnalyticsServices`."""

        def __init__(self) -> None:
            # WaitForTaskToken is listed only so that moto sets up the callback endpoint
            # its .sync loop expects; _validate rejects it for these services.
            patterns: Any = {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
            super().__init__(supported_integration_patterns=patterns)

        def _action(self) -> str:
            return str(camel_to_snake_case(self.resource.api_action))

        def _validate_service_integration_is_supported(self) -> None:
            actions = _EMULATED_ACTIONS[self.resource.api_name]
            action = self._action()
            condition = self.resource.condition
            if action not in actions or condition == ResourceCondition.WaitForTaskToken or (
                    condition == ResourceCondition.Sync and not actions[action]) or (
                    condition == ResourceCondition.Sync2):
                raise ValueError(f"The resource provided {self.resource.resource_arn} not "
                                 "recognized (not supported by Step Functions or the harness)")

        def _normalise_parameters(self, parameters: dict[str, Any], *args: Any,
                                  **kwargs: Any) -> None:
            """Keep the parameters in Step Functions' casing: the emulator reads that."""

        def _normalise_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
            """The emulator answers in Step Functions' casing already."""

        def _eval_service_task(self, env: Any, resource_runtime_part: Any,
                               normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            response = _current().call(self.resource.api_name, self._action(),
                                       normalised_parameters)
            if self.resource.condition != ResourceCondition.Sync:
                response.pop("_run_id", None)
            env.stack.append(response)

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any,
                                 normalised_parameters: dict[str, Any],
                                 state_credentials: Any) -> Callable[[], Any]:
            started = env.stack.pop()
            service, action = self.resource.api_name, self._action()

            def resolve() -> Any:
                description, failed = _current().finish(service, action, started)
                if not failed:
                    return description
                raise FailureEventException(FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                        error=StatesErrorNameType.StatesTaskFailed.to_name(),
                        cause=to_json_str(description),
                    )),
                ))

            return resolve

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ServiceError):
                error = f"{_ERROR_PREFIXES[self.resource.api_name]}.{ex.code}"
                return FailureEvent(
                    env=env, error_name=CustomErrorName(error),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        error=error, cause=ex.message, resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type())),
                )
            return super()._from_error(env, ex)

    class EmulatedAwsSdk(StateTaskServiceAwsSdk):
        """aws-sdk integrations; the crawler and endpoint calls go to the emulator."""

        def _eval_service_task(self, env: Any, resource_runtime_part: Any,
                               normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            service = self._get_boto_service_name()
            action = self._get_boto_service_action()
            if action not in _AWS_SDK_ACTIONS.get(service, set()):
                super()._eval_service_task(env, resource_runtime_part, normalised_parameters,
                                           state_credentials)
                return
            # Undo the boto casing the harness applied: the emulator reads API casing.
            params = {(k[:1].upper() + k[1:]): v for k, v in normalised_parameters.items()}
            try:
                response = _current().call(service, action, params)
            except ServiceError as err:
                error_class: Any = type(err.code, (ClientError,), {})
                raise error_class({"Error": {"Code": err.code, "Message": err.message},
                                   "ResponseMetadata": {"HTTPStatusCode": 400,
                                                        "RequestId": str(uuid.uuid4())}},
                                  action) from err
            env.stack.append(response)

    return {"service": EmulatedService, "aws-sdk": EmulatedAwsSdk}


_CURRENT: list[AnalyticsServices] = []
"""The emulator of the harness whose interpreter is patched (set through the patcher)."""


def _current() -> AnalyticsServices:
    if not _CURRENT:
        raise OfflineHarnessError("no OfflineAws harness with Step Functions is active")
    return _CURRENT[-1]


def apply(patcher: Patcher, services: AnalyticsServices) -> None:
    """Route the emulated integrations to ``services`` (``aws.analytics``)."""
    patcher.set(globals(), "_CURRENT", [services])
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
    )

    classes = _task_classes()
    original = getattr(state_task_factory, "state_task_service_for")  # noqa: B009

    def service_for(service_name: str) -> Any:
        if service_name in _EMULATED_ACTIONS:
            return classes["service"]()
        if service_name == "aws-sdk":
            return classes["aws-sdk"]()
        return original(service_name)

    patcher.set(state_task_factory, "state_task_service_for", service_for)
    patcher.set(state_task_service_aws_sdk._SERVICE_ERROR_NAMES, "sagemaker", "SageMaker")

    # $$.Execution.StartTime is an ISO 8601 string on AWS; moto put a datetime there, which
    # then failed every task that passes it on (a ledger row, an event).
    from moto.stepfunctions.parser.backend import execution_worker

    original_environment = execution_worker.ExecutionWorker._get_evaluation_environment

    def environment_with_iso_start(worker: Any) -> Any:
        env = original_environment(worker)
        execution = env.states.context_object.context_object_data["Execution"]
        start = execution.get("StartTime")
        if isinstance(start, dt.datetime):
            execution["StartTime"] = _iso(start)
        return env

    patcher.set(execution_worker.ExecutionWorker, "_get_evaluation_environment",
                environment_with_iso_start)

    # A Fail state re-raising a caught error through ErrorPath (``States.TaskFailed``...):
    # moto refused every name starting with ``States.`` there and failed the execution with
    # a ValueError instead of the caught error.
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail

    patcher.set(state_fail, "CustomErrorName", ErrorName)
    _apply_filter_paths(patcher)
    _apply_distributed_map_tolerance(patcher)


def _apply_filter_paths(patcher: Patcher) -> None:
    """A JSONPath filter (``[?(...)]``) matching nothing yields ``[]``, as on AWS; moto
    raised ``States.Runtime`` as for a missing field."""
    import importlib

    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        try:
            return original(path, data)
        except json_path.NoSuchJsonPathError:
            if "[?(" in path:
                return []
            raise

    base = "moto.stepfunctions.parser.asl."
    for module in ("component.common.string.string_expression",
                   "component.intrinsic.argument.argument", "eval.states",
                   "component.state.choice.comparison.operator.implementations.numeric",
                   "component.state.choice.comparison.operator.implementations.string_operators",
                   "component.state.choice.comparison.operator.implementations.boolean_equals",
                   "component.state.choice.comparison.operator.implementations."
                   "timestamp_operators"):
        loaded = importlib.import_module(base + module)
        if getattr(loaded, "extract_json", None) is original:
            patcher.set(loaded, "extract_json", extract_json)


_INTEGER_TOLERANCE = re.compile(r'("ToleratedFailurePercentage"\s*:\s*)(-?\d+)(?=\s*[,}])')


def _apply_distributed_map_tolerance(patcher: Patcher) -> None:
    """Distributed Map failure tolerance as AWS applies it.

    moto's grammar only accepted a decimal ``ToleratedFailurePercentage`` (``50.0``, not the
    ``50`` CDK writes) and ignored the tolerance: failed items only left ``null`` in the
    results and the map always succeeded. Here the map fails with
    ``States.ExceedToleratedFailureThreshold`` only when more items failed than
    ``ToleratedFailureCount`` / ``ToleratedFailurePercentage`` allow (both 0 by default).
    """
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as distributed,
    )
    from moto.stepfunctions.parser.asl.eval.event import event_detail
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    EventDetails: Any = event_detail.EventDetails

    original_parse = AmazonStateLanguageParser.parse

    def parse(definition: str) -> Any:
        return original_parse(_INTEGER_TOLERANCE.sub(r"\1\2.0", definition))

    patcher.set(AmazonStateLanguageParser, "parse", staticmethod(parse))

    original_map_run = distributed.DistributedIterationComponent._map_run

    def map_run(component: Any, env: Any, eval_input: Any) -> None:
        record = eval_input.map_run_record
        original_map_run(component, env, eval_input)
        outputs = env.stack[-1]
        failed = record.item_counter.failed.get() + record.item_counter.timed_out.get()
        count = int(record.tolerated_failure_count or 0)
        percentage = float(record.tolerated_failure_percentage or 0)
        total = max(len(outputs), 1)
        if failed and failed > count and 100.0 * failed / total > percentage:
            env.stack.pop()
            cause = (f"{failed} of {len(outputs)} items failed; tolerated: {count} items, "
                     f"{percentage}%")
            raise FailureEventException(FailureEvent(
                env=env,
                error_name=StatesErrorName(
                    typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                    error=StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name(),
                    cause=cause)),
            ))

    patcher.set(distributed.DistributedIterationComponent, "_map_run", map_run)


# ---------------------------------------------------------------------------------------
# Deploying the resources these services use
# ---------------------------------------------------------------------------------------
def resource_handlers(services: AnalyticsServices) -> dict[str, Handler]:
    """Deploy handlers for the analytics and network resource types (recorded only)."""
    kernel = services._kernel
    region, account = kernel.region, kernel.account_id

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    def named(kind: str, name_prop: str, service: str, resource: str, max_len: int = 255
              ) -> Callable[[StackTemplate, str, dict[str, Any]], tuple[Any, dict[str, Any]]]:
        def create(stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            name = str(_dig(props, name_prop) or generated_name(stack.stack_name, logical_id,
                                                                max_len))
            services.record(kind, name, props)
            return name, {"Arn": arn(service, f"{resource}/{name}"), "Name": name}

        return create

    def recorded(prefix: str) -> Callable[..., tuple[Any, dict[str, Any]]]:
        def create(stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            digest = hashlib.sha1(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()[:17]
            ident = f"{prefix}-{digest}"
            return ident, {"Id": ident, "GroupId": ident, "VpcId": ident, "SubnetId": ident,
                           "RouteTableId": ident, "CidrBlock": props.get("CidrBlock",
                                                                       "10.0.0.0/16"),
                           "DefaultSecurityGroup": f"sg-{digest}", "AvailabilityZone":
                           f"{region}a", "DnsEntries": [], "NetworkInterfaceIds": [],
                           "CidrBlockAssociations": [], "Ipv6CidrBlocks": []}
        return create

    def batch_resource(kind: str, name_prop: str, resource: str,
                       attribute: str) -> Callable[..., tuple[Any, dict[str, Any]]]:
        def create(stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
            name = str(props.get(name_prop) or generated_name(stack.stack_name, logical_id, 128))
            if kind:
                services.record(kind, name, props)
            resource_arn = arn("batch", f"{resource}/{name}" + (
                ":1" if resource == "job-definition" else ""))
            return resource_arn, {attribute: resource_arn, "Arn": resource_arn}
        return create

    def emr_application(stack: StackTemplate, logical_id: str,
                        props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        ident = "00" + hashlib.sha1(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()[:14]
        services.record("emr-application", ident, props)
        return ident, {"ApplicationId": ident,
                       "Arn": arn("emr-serverless", f"/applications/{ident}")}

    def repository(stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("RepositoryName") or logical_id.lower())
        return name, {"Arn": arn("ecr", f"repository/{name}"),
                      "RepositoryUri": f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"}

    def msk_serverless_cluster(stack: StackTemplate, logical_id: str,
                               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        # Ref and Arn are the ARN, shaped as MSK's: cluster/<name>/<uuid>-s<n> (a topic's
        # and a group's ARN take the name and uuid from it).
        name = str(props.get("ClusterName") or logical_id)
        digest = hashlib.sha1(f"{stack.stack_name}/{logical_id}".encode()).hexdigest()
        cluster_uuid = str(uuid.UUID(digest[:32])) + "-s1"
        services.record("msk-cluster", name, props)
        cluster_arn = arn("kafka", f"cluster/{name}/{cluster_uuid}")
        return cluster_arn, {"Arn": cluster_arn}

    def no_op(stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return logical_id, {}

    handlers: dict[str, Callable[..., tuple[Any, dict[str, Any]]]] = {
        "AWS::Glue::Job": named("glue-job", "Name", "glue", "job"),
        "AWS::Glue::Crawler": named("glue-crawler", "Name", "glue", "crawler"),
        "AWS::Glue::SecurityConfiguration": named("glue-security", "Name", "glue",
                                                  "securityConfiguration"),
        "AWS::Glue::Table": no_op,
        "AWS::Glue::Database": named("glue-database", "DatabaseInput.Name", "glue", "database"),
        "AWS::Athena::WorkGroup": named("athena-workgroup", "Name", "athena", "workgroup", 128),
        "AWS::Batch::ComputeEnvironment": batch_resource("", "ComputeEnvironmentName",
                                                         "compute-environment",
                                                         "ComputeEnvironmentArn"),
        "AWS::Batch::JobQueue": batch_resource("batch-job-queue", "JobQueueName", "job-queue",
                                               "JobQueueArn"),
        "AWS::Batch::JobDefinition": batch_resource("batch-job-definition", "JobDefinitionName",
                                                    "job-definition", "JobDefinitionArn"),
        "AWS::EMRServerless::Application": emr_application,
        "AWS::ECR::Repository": repository,
        "AWS::MSK::ServerlessCluster": msk_serverless_cluster,
        "Custom::VpcRestrictDefaultSG": no_op,
    }
    for resource_type, prefix in (
        ("AWS::EC2::VPC", "vpc"), ("AWS::EC2::Subnet", "subnet"),
        ("AWS::EC2::RouteTable", "rtb"), ("AWS::EC2::SubnetRouteTableAssociation", "rtbassoc"),
        ("AWS::EC2::SecurityGroup", "sg"), ("AWS::EC2::SecurityGroupIngress", "sgr"),
        ("AWS::EC2::SecurityGroupEgress", "sgr"), ("AWS::EC2::VPCEndpoint", "vpce"),
        ("AWS::EC2::FlowLog", "fl"), ("AWS::EC2::InternetGateway", "igw"),
        ("AWS::EC2::VPCGatewayAttachment", "igwattach"), ("AWS::EC2::Route", "route"),
        ("AWS::EC2::LaunchTemplate", "lt"),
    ):
        handlers[resource_type] = recorded(prefix)
    return handlers


def _dig(props: Mapping[str, Any], path: str) -> Any:
    value: Any = props
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
