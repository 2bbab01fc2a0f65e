"""Lambda: functions run in-process, SQS event source mappings, asynchronous invocation.

- Functions: the real handler, imported from the cloud assembly's asset directory (or inline
  code) and called in-process by :mod:`.lambda_runtime`; moto's ``LambdaFunction.invoke``
  (Docker) is replaced, ``InvocationType=Event`` honoured.
- Event source mappings from SQS, polled by the work loop: batch size, filter criteria,
  ``ReportBatchItemFailures`` (malformed responses fail the whole batch); failed messages are
  redelivered at once and moved to the DLQ by the queue's redrive policy.
- Asynchronous invocations (S3, SNS, EventBridge, ``InvocationType=Event``) retry
  ``MaximumRetryAttempts`` times (default 2; virtual time advances 1, then 2 minutes), then
  go to the on-failure destination or the function's dead-letter queue.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    ResourceNotFoundError,
    TemplateResolutionError,
    UnsupportedIntegrationError,
    UnsupportedResourceError,
)
from analytics_orchestration.testing.services.iam import IamService
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.lambda_runtime import (
    FunctionRuntime,
    Invocation,
    environment_of,
    inline_code_dir,
)
from analytics_orchestration.testing.services.sqs import SqsService, record_matches

_DUMMY_ZIP: bytes = b""


def _dummy_zip() -> bytes:
    """A tiny placeholder package for moto: the real code runs from the asset directory."""
    global _DUMMY_ZIP
    if not _DUMMY_ZIP:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("offline_placeholder.py", "")
        _DUMMY_ZIP = buffer.getvalue()
    return _DUMMY_ZIP


@dataclass
class EventSourceMapping:
    """An SQS event source mapping, polled by the harness (not by moto)."""

    uuid: str
    queue_arn: str
    queue_name: str
    function_name: str
    batch_size: int = 10
    enabled: bool = True
    report_batch_item_failures: bool = False
    filter_patterns: list[str] = field(default_factory=list)


@dataclass
class AsyncInvokeConfig:
    """What Lambda does after an asynchronous invocation (retries, destinations, DLQ)."""

    maximum_retry_attempts: int = 2
    on_failure: str | None = None
    on_success: str | None = None


class LambdaService:
    """Functions, event source mappings and asynchronous invocation of one harness."""

    def __init__(self, kernel: Kernel, sqs: SqsService, iam: IamService,
                 enforcement: Iam) -> None:
        self.kernel = kernel
        self.sqs = sqs
        self.iam = iam
        self.enforcement = enforcement
        self.functions: dict[str, FunctionRuntime] = {}
        self._function_dlq: dict[str, str] = {}
        self._async_configs: dict[str, AsyncInvokeConfig] = {}
        self._mappings: list[EventSourceMapping] = []
        #: Handler errors a test declared (function reference or None, error type or None),
        #: resolved when checked, so a test may declare them before it deploys.
        self._expected_errors: list[tuple[str | None, str | None]] = []
        #: Invocations whose result or error went back to a synchronous caller (the test's
        #: ``invoke``, the Lambda Invoke API, a workflow task), by identity.
        self._returned: set[int] = set()
        kernel.loop.add_poller(self.poll_event_sources)

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::Lambda::Function": self.function,
            "AWS::Lambda::EventSourceMapping": self.event_source_mapping,
            "AWS::Lambda::EventInvokeConfig": self.event_invoke_config,
        }

    def _code_dir(self, stack: StackTemplate, logical_id: str, name: str,
                  props: dict[str, Any]) -> Path:
        code = props.get("Code") or {}
        work_dir = self.kernel.work_dir
        if "ZipFile" in code:
            return inline_code_dir(work_dir, name, str(code["ZipFile"]),
                                   str(props.get("Handler", "index.handler")))
        if "ImageUri" in code:
            raise UnsupportedResourceError("AWS::Lambda::Function", logical_id,
                                           "container image functions cannot run offline")
        key = code.get("S3Key")
        path = stack.assets.get(str(key)) if key else None
        if path is None:
            raise TemplateResolutionError(
                f"function {logical_id}: no asset found for S3Key {key!r} in the cloud "
                f"assembly {stack.assembly_dir}")
        if path.is_file() and path.suffix == ".zip":
            target = work_dir / f"unzipped-{name}"
            with zipfile.ZipFile(path) as archive:
                archive.extractall(target)
            return target
        return path

    def function(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("FunctionName") or generated_name(stack.stack_name, logical_id, 64)
        runtime = str(props.get("Runtime", "python3.12"))
        handler = str(props.get("Handler", "index.handler"))
        env = environment_of(props)
        self.iam.ensure_role(str(props["Role"]))
        request: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": props["Role"],
            "Handler": handler,
            "Code": {"ZipFile": _dummy_zip()},
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Environment": {"Variables": env},
        }
        dlq = (props.get("DeadLetterConfig") or {}).get("TargetArn")
        if dlq:
            request["DeadLetterConfig"] = {"TargetArn": dlq}
        arn = self.kernel.client("lambda").create_function(**request)["FunctionArn"]
        code_dir = self._code_dir(stack, logical_id, name, props) if runtime.startswith(
            "python") else self.kernel.work_dir
        function_runtime = FunctionRuntime(
            function_name=name, function_arn=arn, handler=handler, runtime=runtime,
            code_dir=code_dir, environment=env, region=self.kernel.region,
            timeout=int(props.get("Timeout", 3)), memory_size=int(props.get("MemorySize", 128)))
        # Import the handler now: one that cannot be imported fails the deploy with its
        # traceback (HandlerImportError), not each later invocation out of the test's sight.
        function_runtime.load()
        self.functions[name] = function_runtime
        if dlq:
            self._function_dlq[name] = str(dlq)
        return name, {"Arn": arn}

    def event_invoke_config(self, stack: StackTemplate, logical_id: str,
                            props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = self.function_name(str(props["FunctionName"]))
        destinations = props.get("DestinationConfig") or {}
        self._async_configs[name] = AsyncInvokeConfig(
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
            on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
        )
        return logical_id, {}

    def event_source_mapping(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        source = str(props.get("EventSourceArn", ""))
        if not source.startswith("arn:aws:sqs:"):
            raise UnsupportedIntegrationError(
                f"event source mapping from {source.split(':')[2] if ':' in source else source}",
                "only SQS event sources are polled offline")
        mapping_id = str(uuid.uuid4())
        patterns = [f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters", [])]
        self._mappings.append(EventSourceMapping(
            uuid=mapping_id, queue_arn=source, queue_name=source.split(":")[-1],
            function_name=self.function_name(str(props["FunctionName"])),
            batch_size=int(props.get("BatchSize", 10)),
            enabled=props.get("Enabled", True) not in (False, "false"),
            report_batch_item_failures="ReportBatchItemFailures" in (
                props.get("FunctionResponseTypes") or []),
            filter_patterns=[p if isinstance(p, str) else json.dumps(p) for p in patterns],
        ))
        return mapping_id, {"Id": mapping_id}

    # -- moto patches -----------------------------------------------------------------
    def apply(self, patcher: Patcher) -> None:
        """Run handlers in-process (moto uses Docker), honour ``InvocationType=Event``."""
        from moto.awslambda import models as lambda_models

        def lambda_invoke(fn: Any, body: Any, request_headers: Any,
                          response_headers: Any) -> bytes:
            return self._moto_invoke(fn, body, request_headers, response_headers)

        patcher.set(lambda_models.LambdaFunction, "invoke", lambda_invoke)

    def _moto_invoke(self, fn: Any, body: Any, request_headers: Any,
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
            self.enqueue_async_invoke(fn.function_name, event)
            return b""
        invocation = self.run(fn.function_name, event)
        self._returned.add(id(invocation))  # the caller gets the error
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(invocation.error).encode()
        return json.dumps(invocation.result).encode()

    # -- names and invocation ---------------------------------------------------------
    def function_name(self, ref: str) -> str:
        """A function's name from its name, ARN, construct path or logical id."""
        if ref in self.functions:
            return ref
        if ref.startswith("arn:"):
            parts = ref.split(":")
            return parts[6]
        found = self.kernel.registry.lookup(ref, "AWS::Lambda::Function")
        return found.physical_id if found else ref

    def invocations(self, function: str) -> list[Invocation]:
        runtime = self.functions.get(self.function_name(function))
        if runtime is None:
            raise ResourceNotFoundError(f"no deployed function matches {function!r}")
        return list(runtime.invocations)

    def invoke_for_caller(self, function: str, event: Any) -> Invocation:
        """A synchronous invocation whose result (or error) the caller receives."""
        invocation = self.run(self.function_name(function), event)
        self._returned.add(id(invocation))
        return invocation

    # -- handler errors ---------------------------------------------------------------
    def errors(self, function: str | None = None) -> list[Invocation]:
        """Every invocation whose handler raised, of one function or of all (deploy order)."""
        if function is not None:
            return [i for i in self.invocations(function) if i.failed]
        return [i for runtime in self.functions.values() for i in runtime.invocations
                if i.failed]

    def expect_errors(self, function: str | None, error_type: str | None) -> None:
        """Declare handler errors a test drives on purpose (see ``OfflineAws``)."""
        self._expected_errors.append((function, error_type))

    def unexpected_errors(self) -> list[Invocation]:
        """Handler errors no caller received and no test declared.

        A synchronous invocation (the test's ``invoke``, the Lambda ``Invoke`` API, a Step
        Functions task) returns its error to the caller, which sees it (a workflow's
        Retry/Catch, the execution's ``cause``). Asynchronous invocations (S3, SNS,
        EventBridge, destinations), SQS event sources and pipe enrichments have no caller
        that sees it: the event is retried, then dead-lettered or dropped.
        """
        declared = [(None if ref is None else self.function_name(ref), kind)
                    for ref, kind in self._expected_errors]

        def expected(invocation: Invocation) -> bool:
            error_type = (invocation.error or {}).get("errorType")
            return id(invocation) in self._returned or any(
                name in (None, invocation.function_name) and kind in (None, error_type)
                for name, kind in declared)

        return [i for i in self.errors() if not expected(i)]

    def run(self, name: str, event: Any) -> Invocation:
        """Invoke a function synchronously (by name)."""
        runtime = self.functions.get(name)
        if runtime is None:
            raise ResourceNotFoundError(f"function {name!r} was not deployed by the harness")
        enforcement = self.enforcement
        # The handler's AWS calls run as the function's execution role.
        with enforcement.acting(enforcement.function_principal(name)):
            invocation = runtime.invoke(event)
        self._journal(name, event, invocation)
        return invocation

    def _journal(self, name: str, event: Any, invocation: Invocation) -> None:
        """Record the invocation: its error, or its result (partial batch failures named)."""
        error = invocation.error or {}
        result = invocation.result
        item_failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if invocation.failed:
            detail = f"{error.get('errorType')}: {error.get('errorMessage')}"
        elif item_failures:
            detail = f"returned {len(item_failures)} batch item failure(s)"
        else:
            detail = "returned"
        self.kernel.journal.record(
            "lambda", "function invoked", name, detail,
            failed=invocation.failed or bool(item_failures), event=event,
            result=error if invocation.failed else result)

    def enqueue_async_invoke(self, function: str, event: Any) -> None:
        """An asynchronous invocation, run by the work loop."""
        name = self.function_name(function)
        self.kernel.loop.enqueue(lambda: self.async_invoke(name, event))

    def async_invoke(self, name: str, event: Any) -> None:
        """Lambda's asynchronous invocation: retries, then destination or DLQ."""
        config = self._async_configs.get(name, AsyncInvokeConfig())
        attempts = 0
        invocation: Invocation | None = None
        for attempt in range(config.maximum_retry_attempts + 1):
            if attempt:
                self.kernel.clock.sleep(60 * attempt)  # AWS waits about 1, then 2 minutes
            attempts += 1
            invocation = self.run(name, event)
            if not invocation.failed:
                break
        assert invocation is not None
        runtime = self.functions[name]
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
        from botocore.exceptions import ClientError

        enforcement = self.enforcement
        # Lambda sends to destinations and the DLQ with the function's execution role; a
        # refused send is lost, as on AWS (the finding is recorded).
        with enforcement.acting(enforcement.function_principal(name)), \
                contextlib.suppress(ClientError):
            if invocation.failed:
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
            self.kernel.client("sqs").send_message(QueueUrl=self.sqs.queue_url(arn),
                                                   MessageBody=text)
        elif service == "sns":
            self.kernel.client("sns").publish(TopicArn=arn, Message=text)
        elif service == "lambda":
            self.enforcement.require("lambda", "Invoke", {"FunctionName": arn},
                                     via="Lambda destination")
            self.enqueue_async_invoke(arn, record)
        elif service == "events":
            outcome = "Success" if success else "Failure"
            self.kernel.client("events").put_events(Entries=[{
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
            self.kernel.client("sqs").send_message(QueueUrl=self.sqs.queue_url(arn),
                                                   MessageBody=json.dumps(event),
                                                   MessageAttributes=attributes)
        else:
            self.kernel.client("sns").publish(TopicArn=arn, Message=json.dumps(event))

    # -- SQS event source mappings ----------------------------------------------------
    def poll_event_sources(self) -> bool:
        """Deliver one batch per mapping that has visible messages; True if any did."""
        progressed = False
        for mapping in self._mappings:
            if not mapping.enabled:
                continue
            if not self.sqs.has_visible(mapping.queue_name):
                continue
            enforcement = self.enforcement
            if not enforcement.may_poll(
                    enforcement.function_principal(mapping.function_name),
                    enforcement.queue_url_of(mapping.queue_arn),
                    via="SQS event source mapping"):
                continue  # Lambda's poller is refused too: the messages stay in the queue
            queue, messages = self.sqs.receive_batch(mapping.queue_name, mapping.batch_size)
            if not messages:
                continue
            progressed = True
            self._deliver_batch(queue, mapping, messages)
        return progressed

    def _deliver_batch(self, queue: Any, mapping: EventSourceMapping,
                       messages: Sequence[Any]) -> None:
        records = self.sqs.records(queue, messages)
        if mapping.filter_patterns:
            kept = []
            for message, record in zip(messages, records, strict=True):
                if record_matches(record, mapping.filter_patterns):
                    kept.append((message, record))
                else:  # AWS drops messages that match no filter
                    self.sqs.delete(queue, message)
            if not kept:
                return
            messages = [m for m, _ in kept]
            records = [r for _, r in kept]
        invocation = self.run(mapping.function_name, {"Records": records})
        failed_ids: set[str]
        if invocation.failed:
            failed_ids = {m.id for m in messages}
        elif mapping.report_batch_item_failures:
            failed_ids = batch_failures(invocation.result, {m.id for m in messages})
        else:
            failed_ids = set()
        self.sqs.settle_batch(queue, messages, failed_ids)


def batch_failures(result: Any, batch_ids: set[str]) -> set[str]:
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
