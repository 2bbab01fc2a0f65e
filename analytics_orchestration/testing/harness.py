"""The offline harness: deploy synthesized stacks into moto and drive them from a test.

See the package docstring (:mod:`analytics_orchestration.testing`) for the public API and for
what is and is not emulated.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime as dt
import functools
import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from analytics_orchestration.testing import _analytics_services, _patches, _routing
from analytics_orchestration.testing._deploy import (
    AsyncInvokeConfig,
    DeployedResource,
    Deployer,
    EventSourceMapping,
)
from analytics_orchestration.testing._events import envelope, s3_event, transform_input
from analytics_orchestration.testing._lambda_runtime import FunctionRuntime, Invocation
from analytics_orchestration.testing._template import (
    Resolver,
    StackTemplate,
    creation_order,
    paths_from_metadata,
    read_asset_manifests,
)
from analytics_orchestration.testing._version import check_moto_version
from analytics_orchestration.testing.exceptions import (
    ExecutionTimeoutError,
    HarnessStateError,
    OfflineHarnessError,
    ResourceNotFoundError,
    UnexpectedHandlerErrors,
    UnsupportedIntegrationError,
)

_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_MAX_SETTLE_STEPS = 10_000


@dataclass
class QueueMessage:
    """A message sitting in a queue, read without consuming it."""

    message_id: str
    body: str
    receive_count: int
    attributes: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


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


def _plain(value: Any) -> Any:
    """DynamoDB numbers as int/float rather than Decimal, so assertions read naturally."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


_TEMPLATE_CACHE: dict[int, tuple[Any, StackTemplate]] = {}


def template_of_stack(stack: Any) -> StackTemplate:
    """Synthesize ``stack``'s app (once: CDK caches the assembly) and read what the harness needs.

    Construct paths come from walking the stack's construct tree, because plain ``App()``
    synthesis (outside the CDK CLI) emits no ``aws:cdk:path`` metadata. The result is cached
    per stack object: every jsii call costs a round trip to node, and tests deploy a
    module-scoped stack many times.
    """
    cached = _TEMPLATE_CACHE.get(id(stack))
    if cached is not None and cached[0] is stack:
        return cached[1]
    result = _read_stack(stack)
    _TEMPLATE_CACHE[id(stack)] = (stack, result)
    return result


def _read_stack(stack: Any) -> StackTemplate:
    import aws_cdk as cdk

    stage = cdk.Stage.of(stack)
    if stage is None:
        raise OfflineHarnessError("the stack is not part of an App or Stage")
    assembly = stage.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    template = dict(artifact.template)
    directory = Path(assembly.directory)
    paths = paths_from_metadata(template)
    if not paths:
        for construct in stack.node.find_all():
            if isinstance(construct, cdk.CfnElement) and cdk.Stack.of(construct) is stack:
                logical_id = stack.resolve(construct.logical_id)
                paths[str(logical_id)] = construct.node.path
    return StackTemplate(
        stack_name=artifact.stack_name,
        template=template,
        assembly_dir=directory,
        assets=read_asset_manifests(directory),
        paths=paths,
    )


_SESSION: list[Any] = []


def _shared_session() -> Any:
    """One boto3 session for every harness in the process (service models loaded once).

    Created under moto's fake credentials; requests never leave the process while the mock
    is active, and the caller's own default session is restored when the harness exits.
    """
    if not _SESSION:
        import boto3

        _SESSION.append(boto3.session.Session(aws_access_key_id="FOOBARKEY",
                                              aws_secret_access_key="FOOBARSECRET"))
    return _SESSION[0]


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
    ) -> None:
        """Create the harness (nothing starts until ``__enter__``).

        :param region: region of every resource and client.
        :param account_id: moto's account; 123456789012 is moto's default.
        :param ignore_resource_types: extra resource types to deploy as no-ops instead of
            raising :class:`UnsupportedResourceError`.
        :param max_deliveries_without_dlq: a failing SQS message on a queue without a redrive
            policy is delivered this many times, then left in flight (on AWS it would retry
            until retention expires, which a test cannot wait for).
        """
        check_moto_version()
        self.region = region
        self.account_id = account_id
        self.ignore_resource_types = frozenset(ignore_resource_types)
        self.max_deliveries_without_dlq = max_deliveries_without_dlq
        self.clock = _patches.VirtualClock()
        self.analytics = _analytics_services.AnalyticsServices(self)
        """Emulated Glue, Athena, Batch, EMR Serverless and SageMaker jobs (fakes, failures)."""
        self.resources: list[DeployedResource] = []
        self.events_seen: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        """Every event put on each bus (by bus name), in order, including S3's."""
        self.work_dir = Path(".")
        self._functions: dict[str, FunctionRuntime] = {}
        self._function_dlq: dict[str, str] = {}
        self._async_configs: dict[str, AsyncInvokeConfig] = {}
        self._mappings: list[EventSourceMapping] = []
        self._pipes: list[_routing.PipeRuntime] = []
        self._deliveries: dict[str, int] = collections.Counter()
        self._pending: collections.deque[Callable[[], None]] = collections.deque()
        self._pending_lock = threading.Lock()
        self._errors: list[BaseException] = []
        #: Handler errors a test declared (function reference or None, error type or None),
        #: resolved when checked, so a test may declare them before it deploys.
        self._expected_handler_errors: list[tuple[str | None, str | None]] = []
        #: Invocations whose result or error went back to a synchronous caller (the test's
        #: ``invoke``, the Lambda Invoke API, a workflow task), by identity.
        self._returned_invocations: set[int] = set()
        self._clients: dict[str, Any] = {}
        self._patcher = _patches.Patcher()
        self._mock: Any = None
        self._saved_session: Any = None
        self._sequencer = 0
        self._step_functions_patched = False

    # ------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------
    def __enter__(self) -> OfflineAws:
        if _patches._ACTIVE:
            raise HarnessStateError("an OfflineAws harness is already active in this process")
        import boto3
        from moto import mock_aws
        from moto.core.config import default_user_config

        self.work_dir = Path(tempfile.mkdtemp(prefix="offline-aws-"))
        core = dict(default_user_config.get("core", {}))
        # moto would drop boto3's default session on every start, and every client (ours and
        # the handlers') would then re-read its service model: ~0.3 s per test. One session
        # with fake credentials is shared by every harness instead, restored on exit.
        core["reset_boto3_session"] = False
        config: Any = {"core": core, "stepfunctions": {"execute_state_machine": True}}
        self._mock = mock_aws(config=config)
        self._mock.start()
        self._saved_session = boto3.DEFAULT_SESSION
        boto3.DEFAULT_SESSION = _shared_session()
        try:
            _patches.apply(self._patcher, self)
            _routing.apply(self._patcher, self)
        except BaseException:
            self._patcher.undo()
            self._mock.stop()
            raise
        _patches._ACTIVE.append(self)
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
            self._patcher.undo()
            self._step_functions_patched = False
            if self._mock is not None:
                self._mock.stop()
        finally:
            if self in _patches._ACTIVE:
                _patches._ACTIVE.remove(self)
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in the harness's region (cached).

        Every Step Functions call of the harness goes through here, so the interpreter's
        patches are installed with the first ``stepfunctions`` client: a stack without a
        state machine never pays for importing moto's ASL interpreter.
        """
        if service == "stepfunctions" and not self._step_functions_patched:
            _patches.apply_step_functions(self._patcher, self)
            self._step_functions_patched = True
        if service not in self._clients:
            self._clients[service] = _shared_session().client(service, region_name=self.region)
        return self._clients[service]

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
        self._require_active()
        if stack is not None:
            source = template_of_stack(stack)
        elif template is not None:
            directory = Path(asset_dir) if asset_dir is not None else None
            source = StackTemplate(
                stack_name=stack_name,
                template=template,
                assembly_dir=directory,
                assets=read_asset_manifests(directory) if directory else {},
                paths=paths_from_metadata(template),
            )
        else:
            raise TypeError("deploy() needs a Stack or a template")
        self._deploy_template(source, parameters)
        return self

    def _deploy_template(self, source: StackTemplate,
                         parameters: Mapping[str, Any] | None) -> None:
        if "AWS::NestedStack" in str(source.template.get("Transform", "")):
            raise UnsupportedIntegrationError("template transform")
        pseudo = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": source.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                            f"{source.stack_name}/{uuid.uuid4()}",
        }
        resolver = Resolver(source.template, pseudo, parameters)
        deployer = Deployer(self)
        resources = source.resources
        for logical_id in creation_order(resources):
            spec = resources[logical_id]
            condition = spec.get("Condition")
            if condition and not resolver.condition(condition):
                continue
            resource_type = str(spec["Type"])
            if resource_type == "AWS::CloudFormation::Stack":
                raise UnsupportedIntegrationError("nested stacks (AWS::CloudFormation::Stack)")
            props = resolver.resolve(spec.get("Properties", {}))
            ref, attrs = deployer.create(source, logical_id, resource_type, props)
            resolver.refs[logical_id] = ref
            resolver.attrs[logical_id] = attrs
            self.resources.append(DeployedResource(
                stack_name=source.stack_name, logical_id=logical_id,
                resource_type=resource_type, physical_id=str(ref),
                path=source.paths.get(logical_id), attributes=attrs))

    def _ensure_role(self, role_arn: str) -> None:
        """moto refuses functions whose role does not exist; create imported roles."""
        name = role_arn.split("/")[-1]
        iam = self.client("iam")
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")

    def _require_active(self) -> None:
        if self not in _patches._ACTIVE:
            raise HarnessStateError("use OfflineAws as a context manager (with OfflineAws() ...)")

    # ------------------------------------------------------------------------------
    # lookups
    # ------------------------------------------------------------------------------
    def resource(self, ref: str, resource_type: str | None = None) -> DeployedResource:
        """Find a deployed resource by construct path, logical id, physical id or ARN.

        Paths may omit the stack name and the trailing ``/Resource``: ``"Ingestion/Ledger"``
        finds ``MyStack/Ingestion/Ledger/Resource``.
        """
        candidates = [r for r in self.resources
                      if resource_type is None or r.resource_type == resource_type]
        ref = ref.strip("/")

        def path_matches(r: DeployedResource) -> bool:
            if not r.path:
                return False
            options = {ref, f"{ref}/Resource", f"{r.stack_name}/{ref}",
                       f"{r.stack_name}/{ref}/Resource"}
            return r.path in options

        for test in (
            lambda r: r.logical_id == ref,
            path_matches,
            lambda r: r.physical_id == ref or r.arn == ref,
            lambda r: bool(r.path) and (r.path.endswith("/" + ref)
                                        or r.path.endswith(f"/{ref}/Resource")),
        ):
            found = [r for r in candidates if test(r)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise ResourceNotFoundError(
                    f"{ref!r} is ambiguous: {', '.join(r.path or r.logical_id for r in found)}")
        known = ", ".join(sorted(r.path or r.logical_id for r in candidates)[:40])
        raise ResourceNotFoundError(f"no deployed resource matches {ref!r}; known: {known}")

    def physical_id(self, ref: str) -> str:
        """The physical id (bucket name, queue URL, function name, ARN...) of a resource."""
        return self.resource(ref).physical_id

    def arn(self, ref: str) -> str:
        """The ARN of a resource (raises if it has none)."""
        arn = self.resource(ref).arn
        if arn is None:
            raise ResourceNotFoundError(f"{ref!r} has no ARN")
        return arn

    def _lookup(self, ref: str, resource_type: str) -> DeployedResource | None:
        try:
            return self.resource(ref, resource_type)
        except ResourceNotFoundError:
            return None

    def _bucket_name(self, ref: str) -> str:
        found = self._lookup(ref, "AWS::S3::Bucket")
        return found.physical_id if found else ref

    def _queue_url(self, ref: str) -> str:
        if ref.startswith("https://") or ref.startswith("http://"):
            return ref
        found = self._lookup(ref, "AWS::SQS::Queue")
        if found:
            return found.physical_id
        name = ref.split(":")[-1]
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def _topic_arn(self, ref: str) -> str:
        found = self._lookup(ref, "AWS::SNS::Topic")
        return found.physical_id if found else ref

    def _table_name(self, ref: str) -> str:
        found = self._lookup(ref, "AWS::DynamoDB::Table") or self._lookup(
            ref, "AWS::DynamoDB::GlobalTable")
        return found.physical_id if found else ref

    def _state_machine_arn(self, ref: str) -> str:
        found = self._lookup(ref, "AWS::StepFunctions::StateMachine")
        if found:
            return found.physical_id
        if ref.startswith("arn:"):
            return ref
        return f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{ref}"

    def _function_name(self, ref: str) -> str:
        if ref in self._functions:
            return ref
        if ref.startswith("arn:"):
            parts = ref.split(":")
            return parts[6]
        found = self._lookup(ref, "AWS::Lambda::Function")
        return found.physical_id if found else ref

    def _bus_name(self, ref: str | None) -> str:
        if not ref:
            return "default"
        found = self._lookup(ref, "AWS::Events::EventBus")
        if found:
            return found.physical_id
        return ref.split("/")[-1]

    # ------------------------------------------------------------------------------
    # acting on the system
    # ------------------------------------------------------------------------------
    def put_object(self, bucket: str, key: str, body: bytes | str | Mapping[str, Any] = b"",
                   **kwargs: Any) -> dict[str, Any]:
        """Upload an object (dicts are JSON-encoded) and let every notification run."""
        if isinstance(body, Mapping):
            body = json.dumps(body)
        result: dict[str, Any] = self.client("s3").put_object(
            Bucket=self._bucket_name(bucket), Key=key, Body=body, **kwargs)
        self.settle()
        return result

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete an object and let notifications run."""
        self.client("s3").delete_object(Bucket=self._bucket_name(bucket), Key=key)
        self.settle()

    def get_object(self, bucket: str, key: str) -> bytes:
        """The bytes of an object."""
        body: bytes = self.client("s3").get_object(
            Bucket=self._bucket_name(bucket), Key=key)["Body"].read()
        return body

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``, sorted."""
        paginator = self.client("s3").get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self._bucket_name(bucket), Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def send_message(self, queue: str, body: str | Mapping[str, Any] | list[Any],
                     **kwargs: Any) -> str:
        """Send one message (dicts/lists JSON-encoded); returns its message id."""
        text = body if isinstance(body, str) else json.dumps(body)
        message_id: str = self.client("sqs").send_message(
            QueueUrl=self._queue_url(queue), MessageBody=text, **kwargs)["MessageId"]
        self.settle()
        return message_id

    def publish(self, topic: str, message: str | Mapping[str, Any], **kwargs: Any) -> str:
        """Publish to a topic (dicts JSON-encoded); returns the message id."""
        text = message if isinstance(message, str) else json.dumps(message)
        message_id: str = self.client("sns").publish(
            TopicArn=self._topic_arn(topic), Message=text, **kwargs)["MessageId"]
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
                item["EventBusName"] = self._bus_name(bus)
            request.append(item)
        response = self.client("events").put_events(Entries=request)
        failed = [e for e in response["Entries"] if "ErrorCode" in e]
        if failed:
            raise OfflineHarnessError(f"PutEvents rejected entries: {failed}")
        self.settle()
        return [e["EventId"] for e in response["Entries"]]

    def invoke(self, function: str, event: Any = None) -> Invocation:
        """Invoke a function synchronously in-process and return the invocation record."""
        invocation = self._run_function(self._function_name(function), event or {})
        self._returned_invocations.add(id(invocation))  # the test sees its error
        self.settle()
        return invocation

    def start_execution(self, state_machine: str, input: Any = None,
                        name: str | None = None) -> str:
        """Start an execution (input dicts JSON-encoded); returns the execution ARN."""
        request: dict[str, Any] = {
            "stateMachineArn": self._state_machine_arn(state_machine),
            "input": input if isinstance(input, str) else json.dumps(input or {}),
        }
        if name:
            request["name"] = name
        arn: str = self.client("stepfunctions").start_execution(**request)["executionArn"]
        return arn

    # ------------------------------------------------------------------------------
    # reading back
    # ------------------------------------------------------------------------------
    def table_items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table, as plain Python values (numbers as int/float)."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        paginator = self.client("dynamodb").get_paginator("scan")
        items = []
        for page in paginator.paginate(TableName=self._table_name(table)):
            for item in page.get("Items", []):
                items.append(_plain({k: deserializer.deserialize(v) for k, v in item.items()}))
        return items

    def queue_messages(self, queue: str, *, include_in_flight: bool = False
                       ) -> list[QueueMessage]:
        """The messages in a queue, read without receiving them (receive counts unchanged).

        By default only visible messages are listed; ``include_in_flight`` adds those a
        consumer has received but not deleted.
        """
        from moto.sqs.models import sqs_backends

        name = self._queue_url(queue).rstrip("/").split("/")[-1]
        backend = sqs_backends[self.account_id][self.region]
        q = backend.get_queue(name)
        messages = list(q._messages)
        if not include_in_flight:
            messages = [m for m in messages if m.visible]
        return [QueueMessage(message_id=m.id, body=m.body,
                             receive_count=m.approximate_receive_count,
                             attributes=dict(m.message_attributes)) for m in messages]

    def invocations(self, function: str) -> list[Invocation]:
        """Every invocation of a function so far (event, result or error)."""
        runtime = self._functions.get(self._function_name(function))
        if runtime is None:
            raise ResourceNotFoundError(f"no deployed function matches {function!r}")
        return list(runtime.invocations)

    def lambda_errors(self, function: str | None = None) -> list[Invocation]:
        """Every invocation whose handler raised, of one function or of all (in deploy order).

        Each :class:`Invocation` holds the event and Lambda's error payload, whose
        ``stackTrace`` is the handler's traceback (``Invocation.describe()`` formats it).
        """
        if function is not None:
            return [i for i in self.invocations(function) if i.failed]
        return [i for runtime in self._functions.values() for i in runtime.invocations
                if i.failed]

    def expect_lambda_errors(self, function: str | None = None, *,
                             error_type: str | None = None) -> None:
        """Declare that handlers raising is part of this test (a failure path it drives).

        ``function`` (construct path, logical id or name; default: any function) and
        ``error_type`` (the exception class name, e.g. ``"RuntimeError"``; default: any)
        narrow what is expected. Errors not declared are reported by
        :meth:`check_lambda_errors`, which the ``offline_aws`` fixture runs at teardown.
        Errors returned to a synchronous caller need no declaration.
        """
        self._expected_handler_errors.append((function, error_type))

    def unexpected_lambda_errors(self) -> list[Invocation]:
        """Handler errors no caller received and no test declared.

        A synchronous invocation (:meth:`invoke`, the Lambda ``Invoke`` API, a Step
        Functions task) returns its error to the caller, which sees it (a workflow's
        Retry/Catch, the execution's ``cause``). Asynchronous invocations (S3, SNS,
        EventBridge, destinations), SQS event sources and pipe enrichments have no caller
        that sees it: the event is retried, then dead-lettered or dropped.
        """
        declared = [(None if ref is None else self._function_name(ref), kind)
                    for ref, kind in self._expected_handler_errors]

        def expected(invocation: Invocation) -> bool:
            error_type = (invocation.error or {}).get("errorType")
            return id(invocation) in self._returned_invocations or any(
                name in (None, invocation.function_name) and kind in (None, error_type)
                for name, kind in declared)

        return [i for i in self.lambda_errors() if not expected(i)]

    def check_lambda_errors(self) -> None:
        """Raise :class:`UnexpectedHandlerErrors` (with each traceback) if any happened.

        A handler that raises where no caller sees it (an async event, an SQS batch, a
        pipe enrichment) otherwise shows up only as output that never arrives.
        """
        unexpected = self.unexpected_lambda_errors()
        if unexpected:
            raise UnexpectedHandlerErrors(
                "\n".join(i.describe() for i in unexpected), len(unexpected))

    def events_on(self, bus: str | None = None) -> list[dict[str, Any]]:
        """Events put on ``bus`` (default bus when omitted)."""
        return list(self.events_seen.get(self._bus_name(bus), []))

    @property
    def virtual_seconds(self) -> float:
        """Time Wait states and retry back-offs would have taken on AWS."""
        return self.clock.elapsed

    # ------------------------------------------------------------------------------
    # Step Functions
    # ------------------------------------------------------------------------------
    def executions(self, state_machine: str | None = None) -> list[Execution]:
        """Executions (of one state machine, or all), oldest first."""
        sfn = self.client("stepfunctions")
        if state_machine is None:
            arns = [sm["stateMachineArn"] for sm in sfn.list_state_machines()["stateMachines"]]
        else:
            arns = [self._state_machine_arn(state_machine)]
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
            return json.loads(text) if text else None

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
    def _enqueue(self, work: Callable[[], None]) -> None:
        with self._pending_lock:
            self._pending.append(work)

    def settle(self) -> None:
        """Run queued deliveries and poll SQS event sources until nothing is left to do.

        Errors of the harness itself (an unsupported target, a missing function) that
        happened in the background are raised here, the first one with the rest attached.
        """
        for _ in range(_MAX_SETTLE_STEPS):
            with self._pending_lock:
                work = self._pending.popleft() if self._pending else None
            if work is not None:
                try:
                    work()
                except Exception as exc:
                    self._errors.append(exc)
                continue
            if not self._poll_event_sources():
                break
        else:
            raise OfflineHarnessError(
                f"the system did not settle after {_MAX_SETTLE_STEPS} steps (an event loop?)")
        if self._errors:
            errors, self._errors = self._errors, []
            first = errors[0]
            if len(errors) > 1:
                first.add_note(f"{len(errors) - 1} more background error(s): "
                               + "; ".join(repr(e) for e in errors[1:]))
            raise first

    # ------------------------------------------------------------------------------
    # Lambda
    # ------------------------------------------------------------------------------
    def _run_function(self, name: str, event: Any) -> Invocation:
        runtime = self._functions.get(name)
        if runtime is None:
            raise ResourceNotFoundError(f"function {name!r} was not deployed by the harness")
        return runtime.invoke(event)

    def _moto_lambda_invoke(self, fn: Any, body: Any, request_headers: Any,
                            response_headers: Any) -> bytes:
        """moto's ``LambdaFunction.invoke``, replaced: in-process, AWS error shape."""
        if isinstance(body, bytes):
            body = body.decode()
        event = json.loads(body) if body else {}
        headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            self._enqueue_async_invoke(fn.function_name, event)
            return b""
        invocation = self._run_function(fn.function_name, event)
        self._returned_invocations.add(id(invocation))  # the caller gets the error
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(invocation.error).encode()
        return json.dumps(invocation.result).encode()

    def _enqueue_async_invoke(self, function: str, event: Any) -> None:
        name = self._function_name(function)
        self._enqueue(lambda: self._async_invoke(name, event))

    def _async_invoke(self, name: str, event: Any) -> None:
        """Lambda's asynchronous invocation: retries, then destination or DLQ."""
        config = self._async_configs.get(name, AsyncInvokeConfig())
        attempts = 0
        invocation: Invocation | None = None
        for attempt in range(config.maximum_retry_attempts + 1):
            if attempt:
                self.clock.sleep(60 * attempt)  # AWS waits about 1, then 2 minutes
            attempts += 1
            invocation = self._run_function(name, event)
            if not invocation.failed:
                break
        assert invocation is not None
        runtime = self._functions[name]
        record = {
            "version": "1.0",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{runtime.function_arn}:$LATEST",
                "condition": "RetriesExhausted" if invocation.failed else "Success",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": invocation.error if invocation.failed else invocation.result,
        }
        if invocation.failed:
            record["responseContext"]["functionError"] = "Unhandled"
            if config.on_failure:
                self._send_destination(config.on_failure, record, success=False)
            elif name in self._function_dlq:
                self._send_dead_letter(self._function_dlq[name], event, invocation)
        elif config.on_success:
            self._send_destination(config.on_success, record, success=True)

    def _send_destination(self, arn: str, record: dict[str, Any], *, success: bool) -> None:
        service = arn.split(":")[2]
        text = json.dumps(record)
        if service == "sqs":
            self.client("sqs").send_message(QueueUrl=self._queue_url(arn), MessageBody=text)
        elif service == "sns":
            self.client("sns").publish(TopicArn=arn, Message=text)
        elif service == "lambda":
            self._enqueue_async_invoke(arn, record)
        elif service == "events":
            outcome = "Success" if success else "Failure"
            self.client("events").put_events(Entries=[{
                "Source": "lambda", "DetailType": f"Lambda Function Invocation Result - {outcome}",
                "Detail": text, "EventBusName": arn}])
        else:
            raise UnsupportedIntegrationError(f"Lambda destination {service}", arn)

    def _send_dead_letter(self, arn: str, event: Any, invocation: Invocation) -> None:
        error = invocation.error or {}
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": invocation.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String",
                             "StringValue": str(error.get("errorMessage", ""))[:1000] or "-"},
        }
        if arn.split(":")[2] == "sqs":
            self.client("sqs").send_message(QueueUrl=self._queue_url(arn),
                                            MessageBody=json.dumps(event),
                                            MessageAttributes=attributes)
        else:
            self.client("sns").publish(TopicArn=arn, Message=json.dumps(event))

    # ------------------------------------------------------------------------------
    # SQS event source mappings
    # ------------------------------------------------------------------------------
    def _poll_event_sources(self) -> bool:
        """Deliver one batch per mapping that has visible messages; True if any did."""
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account_id][self.region]
        progressed = False
        for mapping in self._mappings:
            if not mapping.enabled:
                continue
            queue = backend.get_queue(mapping.queue_name)
            if not any(m.visible for m in queue._messages):
                continue
            # Lambda receives every message attribute; moto strips them unless asked.
            messages = backend.receive_message(
                mapping.queue_name, mapping.batch_size, 0,
                int(getattr(queue, "visibility_timeout", 30)), ["All"])
            if not messages:
                continue
            progressed = True
            self._deliver_batch(backend, queue, mapping, messages)
        return _routing.poll_pipes(self) or progressed

    def _sqs_record(self, queue: Any, message: Any) -> dict[str, Any]:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
            attributes["MessageDeduplicationId"] = str(message.deduplication_id)
            attributes["SequenceNumber"] = str(message.sequence_number)
        message_attributes = {}
        for name, value in (message.message_attributes or {}).items():
            entry: dict[str, Any] = {"dataType": value.get("data_type", value.get("DataType")),
                                     "stringListValues": [], "binaryListValues": []}
            string_value = value.get("string_value", value.get("StringValue"))
            binary_value = value.get("binary_value", value.get("BinaryValue"))
            if string_value is not None:
                entry["stringValue"] = string_value
            if binary_value is not None:
                entry["binaryValue"] = (binary_value if isinstance(binary_value, str)
                                        else base64.b64encode(binary_value).decode())
            message_attributes[name] = entry
        return {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.queue_arn,
            "awsRegion": self.region,
        }

    def _deliver_batch(self, backend: Any, queue: Any, mapping: EventSourceMapping,
                       messages: Sequence[Any]) -> None:
        records = [self._sqs_record(queue, m) for m in messages]
        if mapping.filter_patterns:
            kept = []
            for message, record in zip(messages, records, strict=True):
                if self._record_matches(record, mapping.filter_patterns):
                    kept.append((message, record))
                else:  # AWS drops messages that match no filter
                    backend.delete_message(queue.name, message.receipt_handle)
            if not kept:
                return
            messages = [m for m, _ in kept]
            records = [r for _, r in kept]
        invocation = self._run_function(mapping.function_name, {"Records": records})
        failed_ids: set[str]
        if invocation.failed:
            failed_ids = {m.id for m in messages}
        elif mapping.report_batch_item_failures:
            failed_ids = self._batch_failures(invocation.result, {m.id for m in messages})
        else:
            failed_ids = set()
        for message in messages:
            if message.id not in failed_ids:
                backend.delete_message(queue.name, message.receipt_handle)
                continue
            self._deliveries[message.id] += 1
            if queue.redrive_policy is None and (
                    self._deliveries[message.id] >= self.max_deliveries_without_dlq):
                continue  # stays in flight: AWS would retry until retention expires
            backend.change_message_visibility(queue.name, message.receipt_handle, 0)

    @staticmethod
    def _batch_failures(result: Any, batch_ids: set[str]) -> set[str]:
        """Lambda's rules for a partial batch response: malformed means all failed."""
        if result is None or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures")
        if failures is None:
            return set()
        if not isinstance(failures, list):
            return set(batch_ids)
        ids: set[str] = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in batch_ids:
                return set(batch_ids)
            ids.add(identifier)
        return ids

    @staticmethod
    def _record_matches(record: dict[str, Any], patterns: list[str]) -> bool:
        from moto.events.models import EventPattern

        view = dict(record)
        with contextlib.suppress(TypeError, ValueError):
            view["body"] = json.loads(record["body"])
        event: Any = view
        return any(EventPattern.load(p).matches_event(event) for p in patterns)

    # ------------------------------------------------------------------------------
    # EventBridge
    # ------------------------------------------------------------------------------
    def _put_events(self, backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """moto's ``EventsBackend.put_events``, replaced (all target types, ISO time)."""
        if len(events) > 10:
            from moto.events.exceptions import ValidationException

            raise ValidationException(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                "failed to satisfy constraint: Member must have length less than or equal to 10")
        entries: list[dict[str, Any]] = []
        for event in events:
            for required in ("Source", "DetailType", "Detail"):
                if not event.get(required):
                    entries.append({"ErrorCode": "InvalidArgument",
                                    "ErrorMessage": f"Parameter {required} is not valid. "
                                                    f"Reason: {required} is a required argument."})
                    break
            else:
                try:
                    detail = json.loads(event["Detail"])
                except ValueError:
                    entries.append({"ErrorCode": "MalformedDetail",
                                    "ErrorMessage": "Detail is malformed."})
                    continue
                bus_name = backend._normalize_event_bus_arn(event.get("EventBusName"))
                when = event.get("Time")
                if isinstance(when, dt.datetime):
                    when = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                elif isinstance(when, (int, float)):
                    when = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                item = envelope(source=event["Source"], detail_type=event["DetailType"],
                                detail=detail, account=backend.account_id,
                                region=backend.region_name,
                                resources=event.get("Resources", []), time=when)
                entries.append({"EventId": item["id"]})
                self._publish_to_bus(backend, bus_name, item)
        return entries

    def _publish_to_bus(self, backend: Any, bus_name: str, event: dict[str, Any]) -> None:
        self.events_seen[bus_name].append(event)
        bus = backend.describe_event_bus(bus_name)
        for rule in list(bus.rules.values()):
            self._route_to_rule(rule, event)

    def _route_to_rule(self, rule: Any, event: dict[str, Any]) -> None:
        if rule.state != "ENABLED" or rule.event_pattern.dump() is None:
            return
        if not rule.event_pattern.matches_event(event):
            return
        for target in list(rule.targets):
            self._enqueue(functools.partial(_routing.deliver_to_target, self, rule, dict(target),
                                            event))

    def _deliver_target(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn = str(target["Arn"])
        service = arn.split(":")[2]
        text = transform_input(target, event, rule.name, rule.arn)
        if service == "sqs":
            kwargs: dict[str, Any] = {}
            group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group_id:
                kwargs["MessageGroupId"] = group_id
            self.client("sqs").send_message(QueueUrl=self._queue_url(arn), MessageBody=text,
                                            **kwargs)
        elif service == "sns":
            self.client("sns").publish(TopicArn=arn, Message=text)
        elif service == "lambda":
            try:
                payload: Any = json.loads(text)
            except ValueError:
                payload = text
            self._async_invoke(self._function_name(arn), payload)
        elif service == "states":
            self.client("stepfunctions").start_execution(stateMachineArn=arn, input=text)
        elif service == "events" and ":event-bus/" in arn:
            from moto.events.models import events_backends

            target_backend = events_backends[arn.split(":")[4]][arn.split(":")[3]]
            self._publish_to_bus(target_backend, arn.split("/")[-1], dict(event))
        elif service == "logs":
            pass  # delivered nowhere a test can read; kept silent like a log group
        else:
            raise UnsupportedIntegrationError(f"EventBridge target {service}", arn)

    def _s3_event_to_eventbridge(self, bucket: Any, event_name: str, key: Any) -> None:
        from moto.events.models import events_backends

        event_name = str(getattr(event_name, "value", event_name))
        if not event_name.startswith(("s3:ObjectCreated", "s3:ObjectRemoved")):
            # moto also fires ACL events on every PutObject; AWS only on PutObjectAcl.
            return
        self._sequencer += 1
        versioned = getattr(bucket, "is_versioned", False)
        item = s3_event(
            event_name=event_name, bucket=bucket.name, key=key.name, size=int(key.size),
            etag=str(key.etag).strip('"'),
            version_id=str(key.version_id) if versioned and key.version_id else None,
            sequencer=f"{int(time.time() * 1000):012X}{self._sequencer:06X}",
            account=self.account_id, region=bucket.region_name)
        backend = events_backends[self.account_id][bucket.region_name]
        self._publish_to_bus(backend, "default", item)

    # ------------------------------------------------------------------------------
    # SNS -> Lambda
    # ------------------------------------------------------------------------------
    def _sns_to_lambda(self, sub: Any, message: str, message_id: str,
                       subject: str | None = None,
                       message_attributes: dict[str, Any] | None = None,
                       *args: Any, **kwargs: Any) -> None:
        matcher = getattr(sub, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        event = {"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": sub.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": sub.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {
                    k: {"Type": v.get("Type"), "Value": v.get("Value")}
                    for k, v in (message_attributes or {}).items()
                },
            },
        }]}
        self._enqueue_async_invoke(sub.endpoint, event)
