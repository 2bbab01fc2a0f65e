"""EventBridge Pipes with a stream source: Kinesis or DynamoDB Streams -> Step Functions.

``AWS::Pipes::Pipe`` whose source is a Kinesis stream or a DynamoDB stream is polled here
with the stream engine of :mod:`..core.stream_polling` (SQS pipes stay with
:mod:`.pipes`): ``BatchSize``, ``StartingPosition``, ``FilterCriteria``,
``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds`` and ``OnPartialBatchItemFailure``
(``AUTOMATIC_BISECT`` splits a failed batch). Each batch, a JSON array of records
(Kinesis records flattened, as Pipes passes them: ``partitionKey``, ``sequenceNumber``,
``data`` and the event fields side by side), goes to the optional Lambda enrichment, then
to the state machine:

- ``REQUEST_RESPONSE`` (Express): the pipe waits for the execution; ``FAILED``,
  ``TIMED_OUT`` or ``ABORTED`` fails the batch, and an output with ``batchItemFailures``
  is a partial failure, as for Lambda. moto has no ``StartSyncExecution``: the execution is
  started and waited for, so it shows in ``OfflineAws.executions``;
- ``FIRE_AND_FORGET``: a started execution is a success.

A batch given up on goes to the ``DeadLetterConfig`` queue as the pipe's role:
``{"context": {"condition", "partnerResourceArn", "approximateInvokeCount"}, "version",
"timestamp", "KinesisBatchInfo" | "DDBStreamBatchInfo"}``, the batch info as Lambda's
(:func:`.stream_sources.batch_info`). AWS does not document the Pipes record; its shape
here follows LocalStack's emulation and carries what Lambda's carries.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.stream_polling import (
    Discard,
    Outcome,
    StreamPoller,
    Window,
)
from analytics_orchestration.testing.core.streams import StreamRecord, iso_millis
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    ExecutionTimeoutError,
    UnsupportedIntegrationError,
)
from analytics_orchestration.testing.services.dynamodb_streams import DynamoDbStreamsService
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.kinesis import KinesisService
from analytics_orchestration.testing.services.lambda_ import LambdaService
from analytics_orchestration.testing.services.pipes import PipesService
from analytics_orchestration.testing.services.sqs import SqsService
from analytics_orchestration.testing.services.stream_sources import (
    batch_info,
    batch_info_key,
    parse_response,
    polling_settings,
    stream_source_kind,
)

#: How long (wall clock) a synchronous execution may take before the harness gives up.
SYNC_EXECUTION_TIMEOUT = 30.0
_FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass
class StreamPipe:
    """A pipe reading a stream, polled by the harness."""

    name: str
    arn: str
    source_arn: str
    target_arn: str
    invocation_type: str
    enrichment: str | None
    dead_letter_arn: str | None
    running: bool
    poller: StreamPoller | None = None
    #: Every batch the target received (after enrichment), in order.
    invocations: list[Any] = field(default_factory=list)


class StreamPipes:
    """Pipes with a stream source of one harness (SQS ones go to ``PipesService``)."""

    def __init__(self, kernel: Kernel, pipes: PipesService, kinesis: KinesisService,
                 dynamodb_streams: DynamoDbStreamsService, sqs: SqsService,
                 lambda_: LambdaService, iam: Iam) -> None:
        self.kernel = kernel
        self.pipes_service = pipes
        self.kinesis = kinesis
        self.dynamodb_streams = dynamodb_streams
        self.sqs = sqs
        self.lambda_ = lambda_
        self.iam = iam
        self.pipes: list[StreamPipe] = []
        kernel.loop.add_poller(self.poll)

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::Pipes::Pipe": self.pipe}

    def pipe(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        source = str(props["Source"])
        kind = stream_source_kind(source)
        if kind is None:
            return self.pipes_service.pipe(stack, logical_id, props)
        target = str(props["Target"])
        if target.split(":")[2] != "states":
            raise UnsupportedIntegrationError(f"pipe target {target.split(':')[2]}",
                                              "only Step Functions targets run offline")
        target_parameters = props.get("TargetParameters") or {}
        if target_parameters.get("InputTemplate"):
            raise UnsupportedIntegrationError("pipe input templates")
        enrichment = props.get("Enrichment")
        if enrichment and str(enrichment).split(":")[2] != "lambda":
            raise UnsupportedIntegrationError("pipe enrichment other than Lambda")
        source_parameters = props.get("SourceParameters") or {}
        stream_parameters = dict(source_parameters.get(
            "KinesisStreamParameters" if kind == "kinesis" else "DynamoDBStreamParameters")
            or {})
        if stream_parameters.get("StartingPosition") == "AT_TIMESTAMP":
            raise UnsupportedIntegrationError("pipe starting position AT_TIMESTAMP")
        stream_parameters["FilterCriteria"] = source_parameters.get("FilterCriteria")
        stream_parameters["BisectBatchOnFunctionError"] = (
            stream_parameters.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT")
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        arn = self.kernel.arn("pipes", f"pipe/{name}")
        pipe = StreamPipe(
            name=name, arn=arn, source_arn=source, target_arn=target,
            invocation_type=str((target_parameters.get("StepFunctionStateMachineParameters")
                                 or {}).get("InvocationType", "FIRE_AND_FORGET")),
            enrichment=self.lambda_.function_name(str(enrichment)) if enrichment else None,
            dead_letter_arn=(stream_parameters.get("DeadLetterConfig") or {}).get("Arn"),
            running=props.get("DesiredState", "RUNNING") == "RUNNING",
        )
        pipe.poller = StreamPoller(
            polling_settings(stream_parameters, batch_default=100),
            lambda: self._shards(pipe),
            lambda shard, records, window: self._invoke(pipe, records, window),
            lambda discard: self._discard(pipe, discard), self.kernel.clock,
            blocked_after=self.kernel.max_deliveries_without_dlq)
        self.pipes.append(pipe)
        return name, {"Arn": arn}

    def poll(self) -> bool:
        progressed = False
        for pipe in self.pipes:
            if pipe.running and pipe.poller is not None:
                progressed = pipe.poller.poll() or progressed
        return progressed

    def _shards(self, pipe: StreamPipe) -> dict[str, list[StreamRecord]]:
        if stream_source_kind(pipe.source_arn) == "kinesis":
            return self.kinesis.shards(pipe.source_arn)
        return self.dynamodb_streams.shards(pipe.source_arn)

    def _principal(self, pipe: StreamPipe) -> Any:
        return self.iam.principal_for_role(self.iam.index.pipe_roles.get(pipe.arn), "pipes")

    def _records(self, pipe: StreamPipe, records: list[StreamRecord]) -> list[dict[str, Any]]:
        role = self.iam.index.pipe_roles.get(pipe.arn)
        out = []
        for record in records:
            item = {key: value for key, value in record.lambda_record.items()
                    if key != "kinesis"}
            item.update(record.lambda_record.get("kinesis") or {})
            item["eventSourceARN"] = pipe.source_arn
            if stream_source_kind(pipe.source_arn) == "kinesis" and role:
                item["invokeIdentityArn"] = role
            out.append(item)
        return out

    def _invoke(self, pipe: StreamPipe, records: list[StreamRecord],
                window: Window | None) -> tuple[Outcome, Any]:
        payload: Any = self._records(pipe, records)
        event = payload
        principal = self._principal(pipe)
        if pipe.enrichment is not None:
            if self.iam.check("lambda", "Invoke", {"FunctionName": pipe.enrichment},
                              via="pipe enrichment", principal=principal, context={}):
                return Outcome("error", function_error=True), event
            invocation = self.lambda_.run(pipe.enrichment, payload)
            if invocation.failed:
                return Outcome("error", function_error=True), event
            payload = invocation.result
            if payload in (None, "", {}, []):
                return Outcome("success"), event
        from botocore.exceptions import ClientError

        sfn = self.kernel.client("stepfunctions")
        synchronous = pipe.invocation_type == "REQUEST_RESPONSE"
        # The role is judged on the operation the pipe calls (StartSyncExecution for a
        # synchronous target); the harness then starts the execution itself.
        operation = "StartSyncExecution" if synchronous else "StartExecution"
        if self.iam.check("states", operation, {"stateMachineArn": pipe.target_arn},
                          via="pipe target", principal=principal, context={}):
            return Outcome("error", function_error=True), event
        try:
            execution = sfn.start_execution(stateMachineArn=pipe.target_arn,
                                            input=json.dumps(payload))["executionArn"]
        except ClientError:
            return Outcome("error", function_error=True), event
        pipe.invocations.append(payload)
        if not synchronous:
            return Outcome("success"), event
        described = self._wait(execution)
        if described["status"] in _FAILED:
            return Outcome("error", function_error=True), event
        output: Any = None
        with contextlib.suppress(TypeError, ValueError):
            output = json.loads(described.get("output") or "null")
        return parse_response(output, records, windowed=False, report_failures=True), event

    def _wait(self, execution_arn: str) -> dict[str, Any]:
        sfn = self.kernel.client("stepfunctions")
        deadline = time.monotonic() + SYNC_EXECUTION_TIMEOUT
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise ExecutionTimeoutError(f"{execution_arn} still RUNNING after "
                                            f"{SYNC_EXECUTION_TIMEOUT}s (a pipe waits for it)")
            time.sleep(0.002)

    def _discard(self, pipe: StreamPipe, discard: Discard) -> None:
        if pipe.dead_letter_arn is None or not discard.records:
            return
        record = {
            "context": {"condition": discard.condition, "partnerResourceArn": pipe.arn,
                        "approximateInvokeCount": discard.invoke_count},
            "version": "1.0",
            "timestamp": iso_millis(self.kernel.clock.now()),
            batch_info_key(pipe.source_arn): batch_info(pipe.source_arn, discard),
        }
        from botocore.exceptions import ClientError

        with self.iam.acting(self._principal(pipe), {}), contextlib.suppress(ClientError):
            self.kernel.client("sqs").send_message(
                QueueUrl=self.sqs.queue_url(pipe.dead_letter_arn),
                MessageBody=json.dumps(record))
