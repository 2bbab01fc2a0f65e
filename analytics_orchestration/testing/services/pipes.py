"""EventBridge Pipes: ``AWS::Pipes::Pipe`` from SQS to Step Functions.

Polled by the work loop like an SQS event source mapping: the batch is filtered with the
pipe's ``FilterCriteria`` (messages matching no pattern are deleted, as on AWS), sent as a
JSON array to the optional Lambda enrichment (synchronously), and the enrichment's result
starts one execution with the batch as its input. An enrichment error or a refused target
leaves the batch in the queue, redelivered at once and moved to the queue's DLQ by its
redrive policy; an empty enrichment response (``[]``, ``{}``, ``""``, ``null``) ends the
batch without a target call.

Not emulated (:class:`UnsupportedIntegrationError` at deploy): sources other than SQS,
targets other than Step Functions, enrichments other than Lambda, input templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import UnsupportedIntegrationError
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.lambda_ import LambdaService
from analytics_orchestration.testing.services.sqs import SqsService, record_matches


@dataclass
class PipeRuntime:
    """An SQS-sourced pipe, polled by the harness."""

    name: str
    arn: str
    queue_name: str
    target_arn: str
    batch_size: int = 10
    enrichment: str | None = None
    filter_patterns: list[str] = field(default_factory=list)
    running: bool = True
    invocations: list[Any] = field(default_factory=list)
    """Every batch the target received (after enrichment), in order."""


class PipesService:
    """Pipes of one harness."""

    def __init__(self, kernel: Kernel, sqs: SqsService, lambda_: LambdaService,
                 iam: Iam) -> None:
        self.kernel = kernel
        self.sqs = sqs
        self.lambda_ = lambda_
        self.iam = iam
        self.pipes: list[PipeRuntime] = []
        kernel.loop.add_poller(self.poll)

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::Pipes::Pipe": self.pipe}

    def pipe(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        source = str(props["Source"])
        target = str(props["Target"])
        if not source.startswith("arn:aws:sqs:"):
            raise UnsupportedIntegrationError(f"pipe source {source.split(':')[2]}",
                                              "only SQS sources are polled offline")
        if target.split(":")[2] != "states":
            raise UnsupportedIntegrationError(f"pipe target {target.split(':')[2]}",
                                              "only Step Functions targets run offline")
        target_parameters = props.get("TargetParameters") or {}
        if target_parameters.get("InputTemplate") or (
                props.get("EnrichmentParameters") or {}).get("InputTemplate"):
            raise UnsupportedIntegrationError("pipe input templates")
        enrichment = props.get("Enrichment")
        if enrichment and str(enrichment).split(":")[2] != "lambda":
            raise UnsupportedIntegrationError(
                f"pipe enrichment {str(enrichment).split(':')[2]}",
                "only Lambda enrichments run offline")
        source_parameters = props.get("SourceParameters") or {}
        patterns = [f["Pattern"] for f in (source_parameters.get("FilterCriteria") or {}).get(
            "Filters", [])]
        sqs_parameters = source_parameters.get("SqsQueueParameters") or {}
        arn = self.kernel.arn("pipes", f"pipe/{name}")
        self.pipes.append(PipeRuntime(
            name=name, arn=arn, queue_name=source.split(":")[-1], target_arn=target,
            batch_size=int(sqs_parameters.get("BatchSize", 10)),
            enrichment=self.lambda_.function_name(str(enrichment)) if enrichment else None,
            filter_patterns=[p if isinstance(p, str) else json.dumps(p) for p in patterns],
            running=props.get("DesiredState", "RUNNING") == "RUNNING",
        ))
        return name, {"Arn": arn}

    def poll(self) -> bool:
        """Run one batch per pipe whose queue has visible messages; True if any did."""
        progressed = False
        for pipe in self.pipes:
            if not pipe.running or not self.sqs.has_visible(pipe.queue_name):
                continue
            if not self.iam.may_poll(self._principal(pipe),
                                     self.iam.queue_url_of(self.kernel.arn("sqs",
                                                                           pipe.queue_name)),
                                     via=f"pipe {pipe.name} source"):
                continue  # AWS's poller fails the same way: the messages stay in the queue
            queue, messages = self.sqs.receive_batch(pipe.queue_name, pipe.batch_size)
            if not messages:
                continue
            progressed = True
            self._run_batch(queue, pipe, messages)
        return progressed

    def _principal(self, pipe: PipeRuntime) -> Any:
        """The pipe's role session (None when the pipe names no role: unevaluated)."""
        return self.iam.principal_for_role(self.iam.index.pipe_roles.get(pipe.arn), "pipes")

    def _run_batch(self, queue: Any, pipe: PipeRuntime, messages: list[Any]) -> None:
        records = self.sqs.records(queue, messages)
        if pipe.filter_patterns:
            kept = [(m, r) for m, r in zip(messages, records, strict=True)
                    if record_matches(r, pipe.filter_patterns)]
            for message in messages:
                if all(message is not m for m, _ in kept):
                    self.sqs.delete(queue, message)
            if not kept:
                return
            messages = [m for m, _ in kept]
            records = [r for _, r in kept]
        payload: Any = records
        failed = False
        principal = self._principal(pipe)
        context: dict[str, Any] = {}  # the role's own calls: no aws:SourceArn in them
        if pipe.enrichment is not None:
            # The pipe's role invokes the enrichment; a refusal fails the batch.
            if self.iam.check("lambda", "Invoke", {"FunctionName": pipe.enrichment},
                              via="pipe enrichment", principal=principal, context=context):
                failed = True
            else:
                invocation = self.lambda_.run(pipe.enrichment, records)
                failed = invocation.failed
                payload = invocation.result
        if not failed and payload not in (None, "", {}, []):
            from botocore.exceptions import ClientError

            try:
                with self.iam.acting(principal, context):
                    self.kernel.client("stepfunctions").start_execution(
                        stateMachineArn=pipe.target_arn, input=json.dumps(payload))
                pipe.invocations.append(payload)
            except ClientError:  # the target refused the batch: it stays in the queue
                failed = True
        self.sqs.settle_batch(queue, messages, {m.id for m in messages} if failed else set())
