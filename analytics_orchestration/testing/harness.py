"""The public facade: :class:`OfflineAws`, which deploys synthesized stacks into moto and
drives them from a test.

Behaviour lives in one module per service under :mod:`.services` (S3, SQS, SNS, Lambda,
EventBridge, Step Functions, Pipes, Firehose, DynamoDB, IAM, the analytics fakes), around the
shared :mod:`.core` (kernel, work loop, registry, deployer). This module only wires them
together and offers the test-facing API; see the package docstring
(:mod:`analytics_orchestration.testing`) for that API and for what is and is not emulated.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from analytics_orchestration.testing._version import check_moto_version
from analytics_orchestration.testing.core import kernel as _kernel
from analytics_orchestration.testing.core.deploy import Deployer, Handler
from analytics_orchestration.testing.core.journal import JournalEntry
from analytics_orchestration.testing.core.patching import VirtualClock
from analytics_orchestration.testing.core.registry import DeployedResource
from analytics_orchestration.testing.core.template import template_from_dict, template_of_stack
from analytics_orchestration.testing.exceptions import (
    ExecutionTimeoutError,
    HarnessStateError,
    OfflineHarnessError,
    ResourceNotFoundError,
    UnexpectedHandlerErrors,
)
from analytics_orchestration.testing.services.analytics import AnalyticsServices
from analytics_orchestration.testing.services.api_destinations import (
    ApiDestinationsService,
    HttpAnswer,
    HttpCall,
    Responder,
)
from analytics_orchestration.testing.services.apigateway import ApiGatewayService, HttpResponse
from analytics_orchestration.testing.services.custom_resources import (
    CustomResourceRequest,
    CustomResourceService,
)
from analytics_orchestration.testing.services.dynamodb import DynamoDbService
from analytics_orchestration.testing.services.dynamodb_streams import DynamoDbStreamsService
from analytics_orchestration.testing.services.events import EventsService
from analytics_orchestration.testing.services.firehose import FirehoseService
from analytics_orchestration.testing.services.iam import IamService
from analytics_orchestration.testing.services.iam_enforcement import Iam, IamFinding
from analytics_orchestration.testing.services.kinesis import KinesisService
from analytics_orchestration.testing.services.lambda_ import LambdaService
from analytics_orchestration.testing.services.lambda_runtime import ENVIRONMENT_LOCK, Invocation
from analytics_orchestration.testing.services.opensearch import OpenSearchService
from analytics_orchestration.testing.services.pipes import PipesService
from analytics_orchestration.testing.services.rds import RdsService
from analytics_orchestration.testing.services.recording import Recorder
from analytics_orchestration.testing.services.redshift_data import RedshiftDataService
from analytics_orchestration.testing.services.s3 import S3Service
from analytics_orchestration.testing.services.scheduler import Firing, SchedulerService
from analytics_orchestration.testing.services.sns import SnsService
from analytics_orchestration.testing.services.sqs import QueueMessage, SqsService
from analytics_orchestration.testing.services.stepfunctions import StepFunctionsService
from analytics_orchestration.testing.services.stream_pipes import StreamPipes
from analytics_orchestration.testing.services.stream_sources import StreamEventSources

__all__ = ["Execution", "Firing", "HttpAnswer", "HttpCall", "HttpResponse", "OfflineAws",
           "QueueMessage", "template_of_stack"]

_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass
class Execution:
    """A Step Functions execution as a test reads it (input/output already parsed)."""

    arn: str
    name: str
    state_machine_arn: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    _harness: OfflineAws = field(repr=False)

    def history(self) -> list[dict[str, Any]]:
        """Every history event, oldest first."""
        return self._harness.execution_history(self.arn)

    def states_entered(self) -> list[str]:
        """Names of the states entered, in order (a compact view of the path taken)."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history()
            if "stateEnteredEventDetails" in e
        ]


class OfflineAws:
    """A moto-backed AWS account in which synthesized stacks run end to end.

    Use as a context manager (or through the ``offline_aws`` pytest fixture)::

        with OfflineAws() as aws:
            aws.deploy(stack)
            aws.put_object("MyStack/Landing", "incoming/a.csv", b"a,b")
            [execution] = aws.wait_for_executions("MyStack/Workflow")

    Asynchronous work (event deliveries, async Lambda invocations, SQS polling) is queued
    and run by :meth:`settle`, which every helper here calls before returning; after acting
    through your own boto3 clients, call :meth:`settle` (or a ``wait_for_*``) yourself.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        ignore_resource_types: Iterable[str] = (),
        max_deliveries_without_dlq: int = 3,
        iam: str | None = None,
    ) -> None:
        """Create the harness (nothing starts until ``__enter__``).

        :param region: region of every resource and client.
        :param account_id: moto's account; 123456789012 is moto's default.
        :param ignore_resource_types: extra resource types to deploy as no-ops instead of
            raising :class:`UnsupportedResourceError`.
        :param max_deliveries_without_dlq: a failing SQS message on a queue without a redrive
            policy is delivered this many times, then left in flight (on AWS it would retry
            until retention expires, which a test cannot wait for).
        :param iam: ``"enforce"`` (default): every call a handler, a state machine task, a
            pipe, a rule target, a subscription or an alarm action makes is evaluated against
            the deployed identity, resource and key policies and refused as AWS refuses it;
            ``"report"``: evaluated and recorded (:meth:`iam_denials`), never refused;
            ``"off"``: not evaluated. When not given, the environment variable
            ``OFFLINE_AWS_IAM`` chooses (e.g. to time a suite both ways), else enforce.
        """
        check_moto_version()
        self.region = region
        self.account_id = account_id
        self.ignore_resource_types = frozenset(ignore_resource_types)
        self.max_deliveries_without_dlq = max_deliveries_without_dlq
        kernel = _kernel.Kernel(region=region, account_id=account_id,
                                ignore_resource_types=self.ignore_resource_types,
                                max_deliveries_without_dlq=max_deliveries_without_dlq)
        self._kernel = kernel
        # The service emulators, in dependency order (each gets the ones it calls).
        self.iam = Iam(kernel, iam or os.environ.get("OFFLINE_AWS_IAM") or "enforce")
        """IAM evaluation: the policy index of the deployed stacks and every finding."""
        self._iam = IamService(kernel)
        self._sqs = SqsService(kernel)
        self._lambda = LambdaService(kernel, self._sqs, self._iam, self.iam)
        self._kinesis = KinesisService(kernel)
        self._firehose = FirehoseService(kernel, self._lambda, self.iam, self._kinesis)
        self._sns = SnsService(kernel, self._lambda, self._firehose, self.iam)
        self._api_destinations = ApiDestinationsService(kernel, self.iam)
        self._events = EventsService(kernel, self._sqs, self._lambda, self.iam,
                                     self._api_destinations)
        self._s3 = S3Service(kernel, self._lambda, self._events, self.iam)
        self._dynamodb = DynamoDbService(kernel)
        self._dynamodb_streams = DynamoDbStreamsService(kernel)
        self._stream_sources = StreamEventSources(kernel, self._lambda, self._kinesis,
                                                  self._dynamodb_streams, self._sqs, self.iam)
        self._scheduler = SchedulerService(kernel, self._events, self._sqs, self.iam)
        self.analytics = AnalyticsServices(kernel, self.iam, self._scheduler)
        """Emulated Glue, Athena, Batch, EMR Serverless and SageMaker jobs (fakes, failures)."""
        self._sfn = StepFunctionsService(kernel, self._iam, self.analytics, self.iam)
        self._pipes = PipesService(kernel, self._sqs, self._lambda, self.iam)
        self._stream_pipes = StreamPipes(kernel, self._pipes, self._kinesis,
                                         self._dynamodb_streams, self._sqs, self._lambda,
                                         self.iam)
        self._apigateway = ApiGatewayService(kernel, self._sqs)
        self._rds = RdsService(kernel)
        self.redshift_data = RedshiftDataService(kernel, self.iam, self._rds)
        """The emulated Redshift Data API: statements in order, injected results, failures."""
        self.opensearch = OpenSearchService(kernel, self.iam)
        """OpenSearch domains, direct-query data sources, collections and Ingestion
        pipelines (recorded and checked; ``run_pipeline`` runs an S3-source pipeline once)."""
        self._custom_resources = CustomResourceService(kernel, self._lambda)
        self._recorder = Recorder(kernel)
        kernel.journal.actor = _actor
        self._services: tuple[Any, ...] = (
            self._iam, self._sqs, self._lambda, self._firehose, self._sns,
            self._api_destinations, self._events,
            self._s3, self._dynamodb, self._kinesis, self._dynamodb_streams,
            self._stream_sources, self._scheduler, self.analytics, self._sfn, self._pipes,
            self._stream_pipes, self._apigateway, self._rds, self.redshift_data,
            self.opensearch, self._recorder)
        handlers: dict[str, Handler] = {}
        for service in self._services:
            handlers.update(service.resource_handlers())
        self._deployer = Deployer(kernel, handlers, observers=[self.iam.record],
                                  after_stack=[self.iam.check_alarm_actions],
                                  custom_resources=self._custom_resources)
        self.deployed_stacks: list[Any] = []
        """The stacks deployed, in order (``core.template.StackTemplate``: template, paths)."""
        self._mock: Any = None
        self._saved_session: Any = None
        self._saved_account: str | None = None

    # ------------------------------------------------------------------------------
    # shared state, read from the kernel and the services
    # ------------------------------------------------------------------------------
    @property
    def clock(self) -> VirtualClock:
        """Virtual time spent by Wait states, retry back-offs and Lambda retries."""
        return self._kernel.clock

    @property
    def resources(self) -> list[DeployedResource]:
        """Every deployed resource, in creation order."""
        return self._kernel.registry.resources

    @property
    def events_seen(self) -> dict[str, list[dict[str, Any]]]:
        """Every event put on each bus (by bus name), in order, including S3's."""
        return self._events.events_seen

    @property
    def work_dir(self) -> Path:
        """Scratch directory of this harness (unzipped code, inline handlers)."""
        return self._kernel.work_dir

    # ------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------
    def __enter__(self) -> OfflineAws:
        if _kernel.ACTIVE:
            raise HarnessStateError("an OfflineAws harness is already active in this process")
        import boto3
        from moto import mock_aws
        from moto.core.config import default_user_config

        self._kernel.work_dir = Path(tempfile.mkdtemp(prefix="offline-aws-"))
        core = dict(default_user_config.get("core", {}))
        # moto would drop boto3's default session on every start, and every client (ours and
        # the handlers') would then re-read its service model: ~0.3 s per test. One session
        # with fake credentials is shared by every harness instead, restored on exit.
        core["reset_boto3_session"] = False
        config: Any = {"core": core, "stepfunctions": {"execute_state_machine": True}}
        # moto answers every request in MOTO_ACCOUNT_ID's account: make it the harness's,
        # so that ARNs the template builds and the resources moto holds agree.
        self._mock = mock_aws(config=config)
        with ENVIRONMENT_LOCK:  # moto's start sets fake credentials in os.environ too
            self._saved_account = os.environ.get("MOTO_ACCOUNT_ID")
            os.environ["MOTO_ACCOUNT_ID"] = self.account_id
            self._mock.start()
        self._saved_session = boto3.DEFAULT_SESSION
        boto3.DEFAULT_SESSION = _kernel.shared_session()
        patcher = self._kernel.patcher
        try:
            for service in self._services:
                apply = getattr(service, "apply", None)
                if apply is not None:
                    apply(patcher)
        except BaseException:
            patcher.undo()
            with ENVIRONMENT_LOCK:
                self._mock.stop()
                self._restore_account()
            raise
        _kernel.ACTIVE.append(self._kernel)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            import boto3

            boto3.DEFAULT_SESSION = self._saved_session
            with ENVIRONMENT_LOCK:  # moto's stop restores the credentials it set
                self._restore_account()
                self._kernel.patcher.undo()
                if self._mock is not None:
                    self._mock.stop()
        finally:
            if self._kernel in _kernel.ACTIVE:
                _kernel.ACTIVE.remove(self._kernel)
            shutil.rmtree(self._kernel.work_dir, ignore_errors=True)

    def _restore_account(self) -> None:
        if self._saved_account is None:
            os.environ.pop("MOTO_ACCOUNT_ID", None)
        else:
            os.environ["MOTO_ACCOUNT_ID"] = self._saved_account

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in the harness's region (cached).

        Every Step Functions call of the harness goes through here, so the interpreter's
        patches are installed with the first ``stepfunctions`` client: a stack without a
        state machine never pays for importing moto's ASL interpreter.
        """
        return self._kernel.client(service)

    # ------------------------------------------------------------------------------
    # deploy
    # ------------------------------------------------------------------------------
    def deploy(
        self,
        stack: Any = None,
        *,
        template: Mapping[str, Any] | None = None,
        asset_dir: str | Path | None = None,
        stack_name: str = "Stack",
        parameters: Mapping[str, Any] | None = None,
    ) -> OfflineAws:
        """Create every resource of a synthesized stack; returns ``self`` for chaining.

        Pass a CDK ``Stack`` (its app is synthesized, or the cached assembly reused), or a
        ``template`` dict plus the cloud assembly directory holding its assets.
        """
        self._kernel.require_active()
        if stack is not None:
            source = template_of_stack(stack)
        elif template is not None:
            source = template_from_dict(template, asset_dir, stack_name)
        else:
            raise TypeError("deploy() needs a Stack or a template")
        self._deployer.deploy(source, parameters)
        self.deployed_stacks.append(source)
        self._kernel.journal.record("cloudformation", "stack deployed", source.stack_name,
                                    f"{len(source.resources)} resources")
        return self

    def update(self, stack: Any) -> OfflineAws:
        """Update a deployed stack to a new synthesis of it (same stack name).

        New resources are created; provider-framework custom resources whose properties
        changed get CloudFormation's Update request (a replacement's old resource then a
        Delete), removed ones a Delete; every other resource stays as first deployed.
        """
        self._kernel.require_active()
        self._deployer.update(template_of_stack(stack), None)
        return self

    def destroy(self, stack: Any) -> OfflineAws:
        """Delete a deployed stack (a ``Stack`` or its name): provider-framework custom
        resources get Delete requests, in reverse creation order."""
        self._kernel.require_active()
        self._deployer.delete(stack if isinstance(stack, str) else stack.stack_name)
        return self

    @property
    def custom_resource_requests(self) -> list[CustomResourceRequest]:
        """Every request sent to a provider-framework custom resource, oldest first."""
        return list(self._custom_resources.requests)

    # ------------------------------------------------------------------------------
    # lookups
    # ------------------------------------------------------------------------------
    def resource(self, ref: str, resource_type: str | None = None) -> DeployedResource:
        """Find a deployed resource by construct path, logical id, physical id or ARN.

        Paths may omit the stack name and the trailing ``/Resource``: ``"Ingestion/Ledger"``
        finds ``MyStack/Ingestion/Ledger/Resource``.
        """
        return self._kernel.registry.find(ref, resource_type)

    def physical_id(self, ref: str) -> str:
        """The physical id (bucket name, queue URL, function name, ARN...) of a resource."""
        return self.resource(ref).physical_id

    def arn(self, ref: str) -> str:
        """The ARN of a resource (raises if it has none)."""
        arn = self.resource(ref).arn
        if arn is None:
            raise ResourceNotFoundError(f"{ref!r} has no ARN")
        return arn

    # ------------------------------------------------------------------------------
    # acting on the system
    # ------------------------------------------------------------------------------
    def put_object(self, bucket: str, key: str, body: bytes | str | Mapping[str, Any] = b"",
                   *, emit_event: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Upload an object (dicts are JSON-encoded) and let every notification run.

        ``emit_event=False`` stores the object without any of its S3 notifications
        (EventBridge, Lambda, SQS, SNS), as if the event were lost on the way: what a
        reconciliation sweep must catch.
        """
        if isinstance(body, Mapping):
            body = json.dumps(body)
        self._s3.notifications_dropped = not emit_event
        try:
            result: dict[str, Any] = self.client("s3").put_object(
                Bucket=self._s3.bucket_name(bucket), Key=key, Body=body, **kwargs)
        finally:
            self._s3.notifications_dropped = False
        self.settle()
        return result

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete an object and let notifications run."""
        self.client("s3").delete_object(Bucket=self._s3.bucket_name(bucket), Key=key)
        self.settle()

    def get_object(self, bucket: str, key: str) -> bytes:
        """The bytes of an object."""
        body: bytes = self.client("s3").get_object(
            Bucket=self._s3.bucket_name(bucket), Key=key)["Body"].read()
        return body

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``, sorted."""
        paginator = self.client("s3").get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self._s3.bucket_name(bucket), Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def send_message(self, queue: str, body: str | Mapping[str, Any] | list[Any],
                     **kwargs: Any) -> str:
        """Send one message (dicts/lists JSON-encoded); returns its message id."""
        text = body if isinstance(body, str) else json.dumps(body)
        message_id: str = self.client("sqs").send_message(
            QueueUrl=self._sqs.queue_url(queue), MessageBody=text, **kwargs)["MessageId"]
        self.settle()
        return message_id

    def put_record(self, stream: str, data: bytes | str | Mapping[str, Any] | list[Any], *,
                   partition_key: str) -> dict[str, Any]:
        """Put one record on a Kinesis stream (dicts/lists JSON-encoded) and settle;
        returns ``ShardId`` and ``SequenceNumber``. ``stream``: construct path, logical id,
        name or ARN."""
        body = data if isinstance(data, bytes | str) else json.dumps(data)
        response = self._kinesis.put_record(stream, body, partition_key)
        self.settle()
        return response

    def put_records(self, stream: str,
                    records: Iterable[tuple[str, bytes | str | Mapping[str, Any]]]) -> None:
        """Put ``(partition key, data)`` records on a stream in one ``PutRecords`` call
        (dicts JSON-encoded), then settle."""
        entries = [{"PartitionKey": key,
                    "Data": data if isinstance(data, bytes) else (
                        data.encode() if isinstance(data, str) else json.dumps(data).encode())}
                   for key, data in records]
        self.client("kinesis").put_records(StreamARN=self._kinesis.stream_arn(stream),
                                           Records=entries)
        self.settle()

    def blocked_shards(self, function: str) -> list[str]:
        """Shards whose stream event source mapping (of ``function``) keeps failing on its
        head batch with nothing to stop it (infinite retries, no maximum record age): the
        records behind it wait, as on AWS, until they expire."""
        poller = self._stream_sources.mapping_for(function).poller
        return poller.blocked_shards() if poller is not None else []

    def publish(self, topic: str, message: str | Mapping[str, Any], **kwargs: Any) -> str:
        """Publish to a topic (dicts JSON-encoded); returns the message id."""
        text = message if isinstance(message, str) else json.dumps(message)
        message_id: str = self.client("sns").publish(
            TopicArn=self._sns.topic_arn(topic), Message=text, **kwargs)["MessageId"]
        self.settle()
        return message_id

    def put_events(self, *entries: Mapping[str, Any], bus: str | None = None) -> list[str]:
        """Put events; ``Detail`` may be a dict. Returns the event ids.

        Each entry uses the PutEvents keys (``Source``, ``DetailType``, ``Detail``,
        ``Resources``, ``EventBusName``); ``bus`` sets the bus for entries that name none.
        """
        request = []
        for entry in entries:
            item = dict(entry)
            if not isinstance(item.get("Detail", "{}"), str):
                item["Detail"] = json.dumps(item["Detail"])
            item.setdefault("Detail", "{}")
            if "EventBusName" not in item and bus is not None:
                item["EventBusName"] = self._events.bus_name(bus)
            request.append(item)
        response = self.client("events").put_events(Entries=request)
        failed = [e for e in response["Entries"] if "ErrorCode" in e]
        if failed:
            raise OfflineHarnessError(f"PutEvents rejected entries: {failed}")
        self.settle()
        return [e["EventId"] for e in response["Entries"]]

    def invoke(self, function: str, event: Any = None) -> Invocation:
        """Invoke a function synchronously in-process and return the invocation record."""
        invocation = self._lambda.invoke_for_caller(function, event or {})  # the test sees it
        self.settle()
        return invocation

    def start_execution(self, state_machine: str, input: Any = None,
                        name: str | None = None) -> str:
        """Start an execution (input dicts JSON-encoded); returns the execution ARN."""
        request: dict[str, Any] = {
            "stateMachineArn": self._sfn.state_machine_arn(state_machine),
            "input": input if isinstance(input, str) else json.dumps(input or {}),
        }
        if name:
            request["name"] = name
        arn: str = self.client("stepfunctions").start_execution(**request)["executionArn"]
        self.settle()
        return arn

    def http_request(
        self,
        api: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        caller: str | None = None,
        stage: str | None = None,
    ) -> HttpResponse:
        """Call a REST API as a client would, then settle; returns status, headers, body.

        ``api`` is the ``RestApi``'s construct path (``"ReportJobs/Api"``), logical id, id or
        name; ``path`` is relative to the stage (``"/jobs/abc?x=1"``); ``body`` a string or
        a JSON-encoded value (``Content-Type: application/json`` unless ``headers`` say
        otherwise). ``caller`` is the IAM principal signing the request (a role's ARN or
        construct path); ``None`` is an unsigned request, which an ``AWS_IAM`` method answers
        with 403 ``Missing Authentication Token``. ``stage`` is needed only when the API has
        several. What is emulated: :mod:`analytics_orchestration.testing.services.apigateway`.
        """
        response = self._apigateway.request(api, method, path, body=body, headers=headers,
                                            caller=caller, stage=stage)
        self.settle()
        return response

    # ------------------------------------------------------------------------------
    # reading back
    # ------------------------------------------------------------------------------
    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table, as plain Python values (numbers as int/float)."""
        return self._dynamodb.items(table)

    def queue_messages(self, queue: str, *, include_in_flight: bool = False
                       ) -> list[QueueMessage]:
        """The messages in a queue, read without receiving them (receive counts unchanged).

        By default only visible messages are listed; ``include_in_flight`` adds those a
        consumer has received but not deleted.
        """
        return self._sqs.messages(queue, include_in_flight=include_in_flight)

    def invocations(self, function: str) -> list[Invocation]:
        """Every invocation of a function so far (event, result or error)."""
        return self._lambda.invocations(function)

    def lambda_errors(self, function: str | None = None) -> list[Invocation]:
        """Every invocation whose handler raised, of one function or of all (in deploy order).

        Each :class:`Invocation` holds the event and Lambda's error payload, whose
        ``stackTrace`` is the handler's traceback (``Invocation.describe()`` formats it).
        """
        return self._lambda.errors(function)

    def expect_lambda_errors(self, function: str | None = None, *,
                             error_type: str | None = None) -> None:
        """Declare that handlers raising is part of this test (a failure path it drives).

        ``function`` (construct path, logical id or name; default: any function) and
        ``error_type`` (the exception class name, e.g. ``"RuntimeError"``; default: any)
        narrow what is expected. Errors not declared are reported by
        :meth:`check_lambda_errors`, which the ``offline_aws`` fixture runs at teardown.
        Errors returned to a synchronous caller need no declaration.
        """
        self._lambda.expect_errors(function, error_type)

    def unexpected_lambda_errors(self) -> list[Invocation]:
        """Handler errors no caller received and no test declared."""
        return self._lambda.unexpected_errors()

    def check_lambda_errors(self) -> None:
        """Raise :class:`UnexpectedHandlerErrors` (with each traceback) if any happened.

        A handler that raises where no caller sees it (an async event, an SQS batch, a
        pipe enrichment) otherwise shows up only as output that never arrives.
        """
        unexpected = self.unexpected_lambda_errors()
        if unexpected:
            raise UnexpectedHandlerErrors(
                "\n".join(i.describe() for i in unexpected), len(unexpected))

    def api_destination_calls(self, destination: str) -> list[HttpCall]:
        """Every HTTP request rules made to an API destination (construct path, logical id,
        name or ARN), oldest first, retries included, each with the status it got."""
        return self._api_destinations.calls(destination)

    def respond_from_api_destination(self, destination: str,
                                     *answers: HttpAnswer | int | Responder) -> None:
        """Answer the destination's next requests with ``answers``, in order (a status, an
        :class:`HttpAnswer` with ``Retry-After``, or a callable given the request); the last
        answer keeps answering. Until this is called every request gets ``200``.

        A ``429`` or ``5xx`` answer is retried within the target's retry policy, any other
        non-``2xx`` is not; what is not delivered goes to the target's dead-letter queue.
        """
        self._api_destinations.respond(destination, *answers)

    def events_on(self, bus: str | None = None) -> list[dict[str, Any]]:
        """Events put on ``bus`` (default bus when omitted)."""
        return list(self.events_seen.get(self._events.bus_name(bus), []))

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0,
                seconds: float = 0) -> list[Firing]:
        """Move virtual time forward, firing every schedule due on the way; returns the
        occurrences fired, oldest first.

        Scheduled EventBridge rules and EventBridge Scheduler schedules fire at each of their
        occurrences in order (ties in deployment order), each delivered to its targets and
        settled before the next, with :attr:`clock` at the occurrence's time (what the
        events' ``time`` and ``<aws.scheduler.scheduled-time>`` say). Settled includes the
        Step Functions executions an occurrence started: they finish before the next one
        fires (on AWS a run lasting longer than the interval would overlap the next; here
        it does not). The semantics of rate, cron and at expressions:
        :mod:`analytics_orchestration.testing.services.scheduler`.
        """
        import datetime as dt

        self._kernel.require_active()
        delta = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        fired = self._scheduler.advance(delta, self._settle_with_executions)
        # Firehose buffers whose interval passed on the way are delivered (stamped with
        # the moment each became due): :mod:`.services.firehose`.
        self._firehose.flush_due()
        self.settle()
        return fired

    def put_delivery_record(self, stream: str, data: bytes | str | Mapping[str, Any]) -> None:
        """Put one record on a Firehose stream (construct path, name or ARN) as a producer
        would; dicts are JSON-encoded. It waits in the stream's buffer until the buffer is
        full, its interval passes (:meth:`advance`) or :meth:`flush_delivery_streams`."""
        if isinstance(data, Mapping):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        name = self.physical_id(stream) if not stream.startswith("arn:") else stream
        self._firehose.put_record(name, data)
        self.settle()

    def flush_delivery_streams(self, stream: str | None = None) -> None:
        """Deliver what Firehose buffers now (one stream, or every stream), without waiting
        for the buffering interval: transform, partition, convert, write to S3."""
        self._kernel.require_active()
        self._firehose.flush(stream)
        self.settle()

    def _settle_with_executions(self, timeout: float = 30.0) -> None:
        """Settle, then wait until no execution of a deployed state machine is running."""
        self.settle()
        machines = [r.arn for r in self.resources
                    if r.resource_type == "AWS::StepFunctions::StateMachine" and r.arn]
        if not machines:
            return
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            running = [e["name"] for arn in machines for e in sfn.list_executions(
                stateMachineArn=arn, statusFilter="RUNNING")["executions"]]
            if not running:
                return
            if time.monotonic() > deadline:
                raise ExecutionTimeoutError(
                    f"after {timeout}s executions are still running: {', '.join(running)}")
            time.sleep(0.002)
            self.settle()

    @property
    def now(self) -> Any:
        """The virtual time (a UTC ``datetime``): the wall clock at creation plus what Wait
        states, back-offs and :meth:`advance` have spent."""
        return self.clock.now()

    @property
    def virtual_seconds(self) -> float:
        """Time Wait states and retry back-offs would have taken on AWS."""
        return self.clock.elapsed

    def iam_denials(self, kind: str | None = None) -> list[IamFinding]:
        """What IAM evaluation found so far, oldest first (optionally of one ``kind``).

        ``"denied"``: a call AWS would refuse (refused here under ``iam="enforce"``), with
        AWS's message naming the principal, the action and the resource; ``"unsupported"``:
        a condition the engine cannot evaluate (the statement failed closed);
        ``"unevaluated"``: an operation the harness cannot map to IAM actions.
        """
        return [f for f in self.iam.findings() if kind is None or f.kind == kind]

    # ------------------------------------------------------------------------------
    # Step Functions
    # ------------------------------------------------------------------------------
    def executions(self, state_machine: str | None = None) -> list[Execution]:
        """Executions (of one state machine, or all), oldest first."""
        sfn = self.client("stepfunctions")
        if state_machine is None:
            arns = [sm["stateMachineArn"] for sm in sfn.list_state_machines()["stateMachines"]]
        else:
            arns = [self._sfn.state_machine_arn(state_machine)]
        found = []
        for arn in arns:
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                found.extend(page["executions"])
        found.sort(key=lambda e: e["startDate"])
        return [self.describe_execution(e["executionArn"]) for e in found]

    def describe_execution(self, execution_arn: str) -> Execution:
        """One execution, input and output parsed from JSON."""
        d = self.client("stepfunctions").describe_execution(executionArn=execution_arn)

        def parsed(text: str | None) -> Any:
            if not text:
                return None
            try:
                return json.loads(text)
            except ValueError:
                # moto returns a string output unquoted (AWS: the JSON string "abc").
                return text

        return Execution(
            arn=d["executionArn"], name=d.get("name", ""),
            state_machine_arn=d["stateMachineArn"], status=d["status"],
            input=parsed(d.get("input")), output=parsed(d.get("output")),
            error=d.get("error"), cause=d.get("cause"), _harness=self)

    def wait_for_executions(
        self,
        state_machine: str | None = None,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Execution]:
        """Settle until at least ``count`` executions exist and all have finished.

        Returns them oldest first. ``timeout`` is wall-clock seconds (Wait states and retry
        back-offs take no real time). Raises :class:`ExecutionTimeoutError` naming the
        executions still running.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.settle()
            executions = self.executions(state_machine)
            if len(executions) >= count and all(e.status in _TERMINAL for e in executions):
                self.settle()
                return executions
            if time.monotonic() > deadline:
                states = ", ".join(f"{e.name}={e.status}" for e in executions) or "none"
                raise ExecutionTimeoutError(
                    f"after {timeout}s: wanted {count} finished execution(s) of "
                    f"{state_machine or 'any state machine'}, have: {states}")
            time.sleep(0.002)

    def wait_for_execution(self, execution_arn: str, *, timeout: float = 10.0) -> Execution:
        """Settle until one execution has finished; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            self.settle()
            execution = self.describe_execution(execution_arn)
            if execution.status in _TERMINAL:
                self.settle()
                return execution
            if time.monotonic() > deadline:
                raise ExecutionTimeoutError(f"{execution_arn} still {execution.status}")
            time.sleep(0.002)

    def execution_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first."""
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution_arn):
            events.extend(page["events"])
        return events

    # ------------------------------------------------------------------------------
    # the work loop
    # ------------------------------------------------------------------------------
    @property
    def journal(self) -> list[JournalEntry]:
        """What each service did so far, in order: objects stored, events put and routed,
        functions invoked (result or error), messages queued, published and dead-lettered,
        items written, executions started (the run report's timeline)."""
        return list(self._kernel.journal.entries)

    def report(self, path: str | Path, *, title: str = "Offline run") -> Path:
        """Settle, then write a self-contained HTML report of the run so far; returns its path.

        The timeline of :attr:`journal` with each execution's states, retries and catches
        nested under its start; each workflow's graph with the path each execution took
        marked (``data-taken="true"``); and the final items of the tables, messages of the
        queues and keys of the buckets. See :mod:`analytics_orchestration.testing.report`.
        """
        from analytics_orchestration.testing.report import write_report

        self.settle()  # what the run still had queued or running belongs in it
        return write_report(self, Path(path), title=title)

    def settle(self) -> None:
        """Run queued deliveries and poll SQS event sources until nothing is left to do, and
        wait for running Step Functions executions to finish or wait for a callback.

        Errors of the harness itself (an unsupported target, a missing function) that
        happened in the background are raised here, the first one with the rest attached.
        """
        self._kernel.loop.settle()


def _actor() -> str | None:
    """Who the current AWS call runs as, for the journal (None: the test itself)."""
    principal = Iam.current_principal()
    if principal is None:
        return None
    if principal.is_service:
        return principal.service
    return principal.session_name if principal.session_name != "offline" else principal.role_name
