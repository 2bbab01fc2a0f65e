"""The moto internals the harness replaces, applied on enter and undone on exit.

Every patch is listed here, with why, so that bumping the pinned moto means re-reading one
file. Patched callables look up the active harness through :func:`active`; they never stay
installed after the harness exits (``Patcher.undo`` restores the originals, even on error).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from analytics_orchestration.testing.exceptions import HarnessStateError

if TYPE_CHECKING:
    from analytics_orchestration.testing.harness import OfflineAws

_ACTIVE: list[OfflineAws] = []


def active() -> OfflineAws:
    """The harness whose context is open; patched moto code calls back into it."""
    if not _ACTIVE:
        raise HarnessStateError("no OfflineAws harness is active")
    return _ACTIVE[-1]


class Patcher:
    """Set attributes and remember the originals so that ``undo`` restores them in order."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        """Replace ``owner.name`` (an attribute, method or dict key) until ``undo``."""
        if isinstance(owner, dict):
            self._saved.append((owner, name, owner.get(name, _MISSING)))
            owner[name] = value
        else:
            self._saved.append((owner, name, getattr(owner, name, _MISSING)))
            setattr(owner, name, value)

    def undo(self) -> None:
        """Restore every original, last patched first."""
        while self._saved:
            owner, name, original = self._saved.pop()
            if isinstance(owner, dict):
                if original is _MISSING:
                    owner.pop(name, None)
                else:
                    owner[name] = original
            elif original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_MISSING = object()


class VirtualClock:
    """Time that Wait states and retry back-offs spend, counted instead of slept.

    Wall-clock time is not changed (``time.time()`` stays real); ``elapsed`` tells a test how
    much time the workflow would have taken on AWS.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.elapsed = 0.0

    def sleep(self, seconds: float) -> None:
        """Advance virtual time instead of blocking."""
        with self._lock:
            self.elapsed += max(0.0, float(seconds))


class _TimeShim:
    """Stands in for the ``time`` module inside moto's retrier: ``sleep`` is virtual."""

    def __init__(self, clock: VirtualClock) -> None:
        import time

        self._time = time
        self.sleep = clock.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._time, name)


# ---------------------------------------------------------------------------------------
# JSONata through jsonata-python
# ---------------------------------------------------------------------------------------
def _jsonata_hash(value: Any, algorithm: str = "SHA-256") -> str:
    names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384",
             "SHA-512": "sha512"}
    digest = hashlib.new(names.get(str(algorithm), "sha256"))
    digest.update(str(value).encode())
    return digest.hexdigest()


def _eval_jsonata(expression: str) -> Any:
    import jsonata
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    try:
        compiled = jsonata.Jsonata(expression)
        compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
        compiled.register_lambda("hash", _jsonata_hash)
        return compiled.evaluate(None)
    except Exception as exc:
        raise JSONataException("States.QueryEvaluationError", str(exc)) from exc


def _encode_declarations(bindings: dict[str, Any]) -> str:
    """moto quotes strings without escaping them; a quote in a value broke the expression."""
    return "".join(
        f"{name}:={json.dumps(value, separators=(',', ':'))};" for name, value in bindings.items()
    )


# ---------------------------------------------------------------------------------------
# Service-integration casing
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _operation_model(service: str, snake_action: str) -> Any:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    for name in model.operation_names:
        if xform_name(name) == snake_action:
            return model.operation_model(name)
    return None


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """Map ASL's PascalCase parameters onto the boto request shape (moto ships a stub).

    Without it ``states:startExecution`` sends ``StateMachineArn`` where the API wants
    ``stateMachineArn``; JSON object values of string members are serialised as AWS does.
    """
    service = self._get_boto_service_name(boto_service_name=boto_service_name)
    action = self._get_boto_service_action(service_action_name=service_action_name)
    operation = _operation_model(service, action)
    if operation is not None and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _normalise_response(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """Return responses in Step Functions' PascalCase, streaming bodies read to text."""
    service = self._get_boto_service_name(boto_service_name=boto_service_name)
    action = self._get_boto_service_action(service_action_name=service_action_name)
    operation = _operation_model(service, action)
    if operation is not None and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
    _dates_to_json(response, epoch_millis=type(self).__name__ == "StateTaskServiceSfn")


def _dates_to_json(value: Any, *, epoch_millis: bool) -> Any:
    """Timestamps as Step Functions writes them: epoch ms for the optimized ``states:``
    integration (``StartDate``), ISO 8601 for aws-sdk ones; moto left datetimes that then
    failed JSON encoding."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        if epoch_millis:
            return int(value.timestamp() * 1000)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        for key, inner in value.items():
            value[key] = _dates_to_json(inner, epoch_millis=epoch_millis)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            value[index] = _dates_to_json(inner, epoch_millis=epoch_millis)
    return value


_AWS_SDK_SERVICE_ERROR_NAMES = {
    "s3": "S3", "sqs": "Sqs", "sns": "Sns", "lambda": "Lambda", "eventbridge": "EventBridge",
    "glue": "Glue", "athena": "Athena", "secretsmanager": "SecretsManager", "ssm": "Ssm",
    "kms": "Kms", "sts": "Sts", "iam": "Iam", "ecs": "Ecs", "batch": "Batch",
    "cloudwatch": "CloudWatch", "cloudwatchlogs": "CloudWatchLogs", "kinesis": "Kinesis",
    "firehose": "Firehose",
}


def _list_objects_v2_items(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """Distributed Map's S3 listing as AWS reads it: every page, items shaped like AWS's.

    moto read one page, failed on an empty prefix, and passed ``LastModified`` as a datetime
    that then broke JSON encoding of the item.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3,
    )

    client = resource_eval_s3.ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    parameters = env.stack.pop()
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("list_objects_v2").paginate(**parameters):
        for obj in page.get("Contents", []):
            items.append({
                "Etag": obj.get("ETag"),
                "Key": obj["Key"],
                "LastModified": int(obj["LastModified"].timestamp()),
                "Size": obj.get("Size", 0),
                "StorageClass": obj.get("StorageClass", "STANDARD"),
            })
    env.stack.append(items)


def apply(patcher: Patcher, harness: OfflineAws) -> None:
    """Install the Lambda, S3, EventBridge and SNS patches for ``harness``.

    Step Functions is patched separately (:func:`apply_step_functions`), on first use:
    importing moto's ASL interpreter alone takes about a second.
    """
    from moto.awslambda import models as lambda_models
    from moto.events import models as events_models
    from moto.s3 import notifications as s3_notifications
    from moto.sns import models as sns_models

    # Lambda: run handlers in-process (moto uses Docker), honour InvocationType=Event.
    def lambda_invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return active()._moto_lambda_invoke(fn, body, request_headers, response_headers)

    patcher.set(lambda_models.LambdaFunction, "invoke", lambda_invoke)

    # S3 -> Lambda notifications are asynchronous invocations (retries, destinations).
    def s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region: str) -> None:
        active()._enqueue_async_invoke(fn_arn, event_body)

    patcher.set(s3_notifications, "_invoke_awslambda", s3_invoke_lambda)

    # S3 notifications of every kind are dropped while the harness says so
    # (``put_object(..., emit_event=False)``): an event lost upstream.
    original_send_event: Callable[..., None] = s3_notifications.send_event

    def send_event(*args: Any, **kwargs: Any) -> None:
        if active().s3_notifications_dropped:
            return
        original_send_event(*args, **kwargs)

    patcher.set(s3_notifications, "send_event", send_event)

    # S3 -> EventBridge in the event shape AWS documents, to the default bus only.
    def s3_to_eventbridge(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        active()._s3_event_to_eventbridge(bucket, event_name, key)

    patcher.set(s3_notifications, "_send_event_bridge_message", s3_to_eventbridge)

    # EventBridge: record every event, deliver to all target types with input transformation.
    def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return active()._put_events(backend, events)

    def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        active()._route_to_rule(rule, event)

    patcher.set(events_models.EventsBackend, "put_events", put_events)
    patcher.set(events_models.Rule, "send_to_targets", send_to_targets)

    # SNS -> Lambda: moto sends a canned event synchronously; AWS invokes asynchronously.
    original_publish: Callable[..., None] = sns_models.Subscription.publish

    def subscription_publish(sub: Any, message: str, message_id: str, *args: Any,
                             **kwargs: Any) -> None:
        if sub.protocol != "lambda":
            original_publish(sub, message, message_id, *args, **kwargs)
            return
        active()._sns_to_lambda(sub, message, message_id, *args, **kwargs)

    patcher.set(sns_models.Subscription, "publish", subscription_publish)


def apply_step_functions(patcher: Patcher, harness: OfflineAws) -> None:
    """Patch moto's Step Functions interpreter and the analytics-service emulator."""
    from moto.stepfunctions.parser import models as sfn_models
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.intrinsic import jsonata as sfn_intrinsics
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk,
        state_task_service_callback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
        wait_function,
    )
    from moto.stepfunctions.parser.asl.eval import states as sfn_states
    from moto.stepfunctions.parser.asl.eval import variable_store
    from moto.stepfunctions.parser.asl.jsonata import jsonata as sfn_jsonata

    clock = harness.clock

    # Step Functions: JSONata evaluator, $uuid()/$hash(), escaping of bound variables.
    patcher.set(sfn_jsonata, "_eval_jsonata", _eval_jsonata)
    decls = sfn_intrinsics._DECLARATION_BY_VARIABLE_REFERENCE
    for name in ("$uuid", "$hash"):
        if name in decls:
            patcher.set(decls, name, "")
    patcher.set(sfn_states, "encode_jsonata_variable_declarations", _encode_declarations)
    patcher.set(variable_store, "encode_jsonata_variable_declarations", _encode_declarations)

    # Step Functions: virtual time for Wait and Retry; fast polling of .sync children.
    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        clock.sleep(wait_seconds)

    patcher.set(wait_function.WaitFunction, "_wait_interval", wait_interval)
    patcher.set(retrier_decl, "time", _TimeShim(clock))
    patcher.set(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.005)

    # Step Functions: API casing of optimized/aws-sdk integrations and AWS's error names.
    patcher.set(state_task_service.StateTaskService, "_normalise_parameters",
                _normalise_parameters)
    patcher.set(state_task_service.StateTaskService, "_normalise_response",
                _normalise_response)
    for key, value in _AWS_SDK_SERVICE_ERROR_NAMES.items():
        patcher.set(state_task_service_aws_sdk._SERVICE_ERROR_NAMES, key, value)

    # Step Functions: Distributed Map S3 listing (pagination, AWS item shape).
    patcher.set(resource_eval_s3.ResourceEvalS3, "_handle_list_objects_v2",
                staticmethod(_list_objects_v2_items))

    # Step Functions: executions started without a name get a UUID, as on AWS (moto: None).
    original_start = sfn_models.StepFunctionsParserBackend.start_execution

    def start_execution(backend: Any, state_machine_arn: str, name: Any = None,
                        *args: Any, **kwargs: Any) -> Any:
        return original_start(backend, state_machine_arn, name or str(uuid.uuid4()), *args,
                              **kwargs)

    patcher.set(sfn_models.StepFunctionsParserBackend, "start_execution", start_execution)

    # Glue, Athena, Batch, EMR Serverless and SageMaker integrations: the emulator.
    from analytics_orchestration.testing import _analytics_services

    _analytics_services.apply(patcher, harness)
