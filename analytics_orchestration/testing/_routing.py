"""Event routing the harness adds on top of moto: Pipes, Firehose, and target DLQs.

- ``AWS::Pipes::Pipe`` from an SQS queue to a Step Functions state machine (optionally
  through a Lambda enrichment), polled by :meth:`OfflineAws.settle` like an SQS event source
  mapping: the batch is filtered with the pipe's ``FilterCriteria`` (messages matching no
  pattern are deleted, as on AWS), sent as a JSON array to the enrichment (synchronously),
  and the enrichment's array starts one execution. An enrichment error or a refused target
  leaves the batch in the queue, redelivered at once and moved to the queue's DLQ by its
  redrive policy; an empty enrichment response (``[]``, ``{}``, ``""``, ``null``) ends the
  batch without a target call.
- ``AWS::KinesisFirehose::DeliveryStream`` with an S3 destination: moto's Firehose writes
  each record to the bucket at once (no buffering, no compression), one object per record,
  under the destination's prefix. SNS ``firehose`` subscriptions deliver to it (raw message,
  filter policy applied).
- EventBridge target dead-letter queues: a delivery that fails because the target refuses
  it (a deleted queue, state machine or topic; a function not deployed) goes to the
  target's ``DeadLetterConfig`` queue, with the attributes AWS sets (``RULE_ARN``,
  ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``); without one, the error is raised from
  :meth:`OfflineAws.settle` as before. Failures of the harness itself
  (:class:`UnsupportedIntegrationError`) are never dead-lettered.
- ``AWS::Events::EventBusPolicy`` (IAM is not evaluated) and ``AWS::Logs::LogStream`` are
  deployed as no-ops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analytics_orchestration.testing.exceptions import (
    ResourceNotFoundError,
    UnsupportedIntegrationError,
)

if TYPE_CHECKING:
    from analytics_orchestration.testing._deploy import Deployer
    from analytics_orchestration.testing._patches import Patcher
    from analytics_orchestration.testing._template import StackTemplate
    from analytics_orchestration.testing.harness import OfflineAws

Handler = Callable[["StackTemplate", str, dict[str, Any]], tuple[Any, dict[str, Any]]]


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


# ---------------------------------------------------------------------------------------
# deploy handlers
# ---------------------------------------------------------------------------------------
def handlers(deployer: Deployer) -> dict[str, Handler]:
    """The resource handlers of this module, for :class:`~._deploy.Deployer`."""
    return {
        "AWS::Pipes::Pipe": lambda stack, logical_id, props: _pipe(
            deployer, stack, logical_id, props),
        "AWS::KinesisFirehose::DeliveryStream": lambda stack, logical_id, props: (
            _delivery_stream(deployer, stack, logical_id, props)),
        "AWS::Events::EventBusPolicy": lambda stack, logical_id, props: (
            str(props.get("StatementId") or logical_id), {}),
        # Firehose's error-log stream: telemetry only, like the log group it lives in.
        "AWS::Logs::LogStream": lambda stack, logical_id, props: (
            str(props.get("LogStreamName") or logical_id), {}),
    }


def _pipe(deployer: Deployer, stack: StackTemplate, logical_id: str,
          props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from analytics_orchestration.testing._deploy import generated_name

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
        raise UnsupportedIntegrationError(f"pipe enrichment {str(enrichment).split(':')[2]}",
                                          "only Lambda enrichments run offline")
    source_parameters = props.get("SourceParameters") or {}
    patterns = [f["Pattern"] for f in (source_parameters.get("FilterCriteria") or {}).get(
        "Filters", [])]
    sqs_parameters = source_parameters.get("SqsQueueParameters") or {}
    arn = deployer.arn("pipes", f"pipe/{name}")
    deployer.h._pipes.append(PipeRuntime(
        name=name, arn=arn, queue_name=source.split(":")[-1], target_arn=target,
        batch_size=int(sqs_parameters.get("BatchSize", 10)),
        enrichment=deployer.h._function_name(str(enrichment)) if enrichment else None,
        filter_patterns=[p if isinstance(p, str) else json.dumps(p) for p in patterns],
        running=props.get("DesiredState", "RUNNING") == "RUNNING",
    ))
    return name, {"Arn": arn}


def _delivery_stream(deployer: Deployer, stack: StackTemplate, logical_id: str,
                     props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from analytics_orchestration.testing._deploy import generated_name

    name = props.get("DeliveryStreamName") or generated_name(stack.stack_name, logical_id, 64)
    destination = props.get("ExtendedS3DestinationConfiguration") or props.get(
        "S3DestinationConfiguration")
    if not destination:
        raise UnsupportedIntegrationError("Firehose destination other than S3", logical_id)
    config = {key: destination[key] for key in ("RoleARN", "BucketARN", "Prefix",
                                                "ErrorOutputPrefix") if key in destination}
    arn = deployer.h.client("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType=str(props.get("DeliveryStreamType", "DirectPut")),
        ExtendedS3DestinationConfiguration=config,
    )["DeliveryStreamARN"]
    return name, {"Arn": arn}


# ---------------------------------------------------------------------------------------
# patches
# ---------------------------------------------------------------------------------------
def apply(patcher: Patcher, harness: OfflineAws) -> None:
    """SNS ``firehose`` subscriptions deliver to the stream (moto drops them)."""
    from moto.sns import models as sns_models

    from analytics_orchestration.testing._patches import active

    current: Callable[..., None] = sns_models.Subscription.publish

    def publish(sub: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if sub.protocol != "firehose":
            current(sub, message, message_id, *args, **kwargs)
            return
        attributes = kwargs.get("message_attributes")
        if attributes is None and len(args) > 1:
            attributes = args[1]
        matcher = getattr(sub, "_filter_policy_matcher", None)
        if matcher is not None and not matcher.matches(attributes, message):
            return
        active().client("firehose").put_record(
            DeliveryStreamName=sub.endpoint.split("/")[-1],
            Record={"Data": f"{message}\n".encode()})

    patcher.set(sns_models.Subscription, "publish", publish)


# ---------------------------------------------------------------------------------------
# EventBridge target delivery with dead-letter queues
# ---------------------------------------------------------------------------------------
def deliver_to_target(harness: OfflineAws, rule: Any, target: dict[str, Any],
                      event: dict[str, Any]) -> None:
    """Deliver one event to one target; a refused delivery goes to the target's DLQ."""
    from botocore.exceptions import ClientError

    try:
        harness._deliver_target(rule, target, event)
    except UnsupportedIntegrationError:
        raise
    except (ClientError, ResourceNotFoundError) as exc:
        dead_letter_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dead_letter_arn:
            raise
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            message = str(exc.response.get("Error", {}).get("Message", exc))
        else:
            code, message = "ResourceNotFoundException", str(exc)
        attributes = {name: {"DataType": "String", "StringValue": value or "-"} for name, value in {
            "RULE_ARN": str(rule.arn), "TARGET_ARN": str(target["Arn"]),
            "ERROR_CODE": code, "ERROR_MESSAGE": message[:1000],
        }.items()}
        harness.client("sqs").send_message(
            QueueUrl=harness._queue_url(str(dead_letter_arn)), MessageBody=json.dumps(event),
            MessageAttributes=attributes)


# ---------------------------------------------------------------------------------------
# polling
# ---------------------------------------------------------------------------------------
def poll_pipes(harness: OfflineAws) -> bool:
    """Run one batch per pipe whose queue has visible messages; True if any did."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[harness.account_id][harness.region]
    progressed = False
    for pipe in harness._pipes:
        if not pipe.running:
            continue
        queue = backend.get_queue(pipe.queue_name)
        if not any(m.visible for m in queue._messages):
            continue
        messages = backend.receive_message(pipe.queue_name, pipe.batch_size, 0,
                                           int(getattr(queue, "visibility_timeout", 30)),
                                           ["All"])
        if not messages:
            continue
        progressed = True
        _run_batch(harness, backend, queue, pipe, list(messages))
    return progressed


def _run_batch(harness: OfflineAws, backend: Any, queue: Any, pipe: PipeRuntime,
               messages: list[Any]) -> None:
    records = [harness._sqs_record(queue, m) for m in messages]
    if pipe.filter_patterns:
        kept = [(m, r) for m, r in zip(messages, records, strict=True)
                if harness._record_matches(r, pipe.filter_patterns)]
        for message in messages:
            if all(message is not m for m, _ in kept):
                backend.delete_message(queue.name, message.receipt_handle)
        if not kept:
            return
        messages = [m for m, _ in kept]
        records = [r for _, r in kept]
    payload: Any = records
    failed = False
    if pipe.enrichment is not None:
        invocation = harness._run_function(pipe.enrichment, records)
        failed = invocation.failed
        payload = invocation.result
    if not failed and payload not in (None, "", {}, []):
        from botocore.exceptions import ClientError

        try:
            harness.client("stepfunctions").start_execution(
                stateMachineArn=pipe.target_arn, input=json.dumps(payload))
            pipe.invocations.append(payload)
        except ClientError:  # the target refused the batch: it stays in the queue
            failed = True
    for message in messages:
        if not failed:
            backend.delete_message(queue.name, message.receipt_handle)
            continue
        harness._deliveries[message.id] += 1
        if queue.redrive_policy is None and (
                harness._deliveries[message.id] >= harness.max_deliveries_without_dlq):
            continue
        backend.change_message_visibility(queue.name, message.receipt_handle, 0)
