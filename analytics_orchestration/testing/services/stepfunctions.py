"""Step Functions: state machines, run by moto's interpreter with the harness's patches.

- JSONata evaluated by jsonata-python (``$uuid()`` and ``$hash()`` included; bound variables
  escaped);
- virtual time: a ``Wait`` or a retry back-off advances the kernel's clock instead of
  sleeping; ``.sync`` children are polled quickly;
- optimized/aws-sdk integrations given the API's parameter casing (``states:startExecution``
  incl. ``.sync``/``.sync:2``), responses in Step Functions' casing with JSON-safe dates, and
  aws-sdk error names such as ``S3.NoSuchKeyException``;
- Distributed Map with an S3 item reader (every page, AWS's item shape);
- executions started without a name get a UUID (moto: ``None``);
- intrinsic functions take a bare ``null`` argument (``States.Array('a', null)`` keeps it);
  string literals of the definition (``Assign`` values included) have their JSON escapes
  decoded, so ``States.StringToJson($var)`` of an assigned JSON text works;
  ``$$.Execution.RedriveCount`` / ``$states.context.Execution.RedriveCount`` is 0;
- the analytics integrations (:mod:`.analytics`);
- executions count as background work of the work loop (:class:`RunningExecutions`): a
  ``settle()`` returns once every execution started in moto's worker threads has finished or
  waits for a callback (a task token, an activity worker, a heartbeat), so what an execution
  does after the call that started it (a message sent, a state entered) is there to read.

The interpreter is patched with the first ``stepfunctions`` client the harness makes
(:meth:`~..core.kernel.Kernel.on_first_client`): importing it takes about a second, and a
stack without a state machine never pays for it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher, TimeShim
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import TemplateResolutionError
from analytics_orchestration.testing.services.analytics import AnalyticsServices
from analytics_orchestration.testing.services.iam import IamService
from analytics_orchestration.testing.services.iam_enforcement import Iam


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
    "firehose": "Firehose", "redshiftdata": "RedshiftData",
}
#: aws-sdk service names whose boto3 client is named otherwise (``aws-sdk:redshiftdata``
#: calls the ``redshift-data`` client, which :mod:`.redshift_data` answers).
_AWS_SDK_BOTO_NAMES = {"redshiftdata": "redshift-data"}


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


_NULL_SENTINEL = "__offline_aws_intrinsic_null__"


def _nulls_as_literals(src: str) -> str:
    """An intrinsic invocation with each bare ``null`` argument replaced by a sentinel
    string literal: moto's intrinsic grammar has no ``null`` (``States.Array('a', null)``
    failed to parse), AWS passes it through as JSON null."""
    out: list[str] = []
    i, quoted = 0, False
    while i < len(src):
        char = src[i]
        if quoted:
            out.append(char)
            if char == "\\" and i + 1 < len(src):
                out.append(src[i + 1])
                i += 2
                continue
            if char == "'":
                quoted = False
            i += 1
            continue
        if char == "'":
            quoted = True
            out.append(char)
            i += 1
            continue
        if src.startswith("null", i):
            before = "".join(out).rstrip()
            after = src[i + 4:].lstrip()
            if before.endswith(("(", ",")) and after.startswith((")", ",")):
                out.append(f"'{_NULL_SENTINEL}'")
                i += 4
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _json_string_literal(parser_rule_context: Any) -> str | None:
    """A string literal of the definition, JSON escapes decoded (moto kept ``\\"``)."""
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlt4utils.antlr4utils import is_terminal

    if is_terminal(parser_rule_context, ASLLexer.NULL):
        return None
    text: str = parser_rule_context.getText()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        try:
            decoded: str = json.loads(text)
            return decoded
        except ValueError:
            return text[1:-1]
    return text


class RunningExecutions:
    """Which executions run in moto's worker threads, and which callback endpoints a thread
    waits on.

    The work loop asks :meth:`busy` before it calls the system settled. An execution waiting
    for a task token is at rest: only the test can move it on. Each task runs in a thread of
    its own (moto's per-state timeout), so waits are counted, not matched to executions: a
    Parallel state with one branch waiting and another still working counts as resting. An
    endpoint stops counting when it is notified, not when its thread wakes: a settle() right
    after ``SendTaskSuccess`` waits for the execution to go on.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._waited_on: set[Any] = set()

    def busy(self) -> bool:
        """Whether some execution is working rather than waiting for a callback."""
        with self._lock:
            return self._running > len(self._waited_on)

    def run(self, logic: Callable[[], None]) -> Callable[[], None]:
        """Count an execution from now (before its thread starts) until ``logic`` returns."""
        with self._lock:
            self._running += 1

        def counted() -> None:
            try:
                logic()
            finally:
                self.ended()

        return counted

    def ended(self) -> None:
        """One execution counted by :meth:`run` is over (or its thread never started)."""
        with self._lock:
            self._running -= 1

    def waiting(self, wait: Callable[..., Any]) -> Callable[..., Any]:
        """An endpoint's ``wait``, its endpoint counted as waited on while it blocks."""

        def counted(endpoint: Any, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._waited_on.add(endpoint)
            try:
                return wait(endpoint, *args, **kwargs)
            finally:
                self._answered(endpoint)

        return counted

    def notifying(self, notify: Callable[..., Any]) -> Callable[..., Any]:
        """An endpoint's ``notify``: its waiter counts as working from this moment."""

        def counted(endpoint: Any, *args: Any, **kwargs: Any) -> Any:
            self._answered(endpoint)
            return notify(endpoint, *args, **kwargs)

        return counted

    def _answered(self, endpoint: Any) -> None:
        with self._lock:
            self._waited_on.discard(endpoint)


class StepFunctionsService:
    """State machines of one harness, and the interpreter's patches."""

    def __init__(self, kernel: Kernel, iam: IamService, analytics: AnalyticsServices,
                 enforcement: Iam) -> None:
        self.kernel = kernel
        self.iam = iam
        self.analytics = analytics
        self.enforcement = enforcement

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::StepFunctions::StateMachine": self.state_machine}

    def state_machine(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("StateMachineName") or generated_name(stack.stack_name, logical_id, 80)
        if "DefinitionString" in props:
            definition = str(props["DefinitionString"])
        elif "Definition" in props:
            definition = json.dumps(props["Definition"])
        elif "DefinitionS3Location" in props:
            key = props["DefinitionS3Location"].get("Key")
            path = stack.assets.get(str(key))
            if path is None:
                raise TemplateResolutionError(f"state machine {logical_id}: asset {key} missing")
            definition = path.read_text()
        else:
            raise TemplateResolutionError(f"state machine {logical_id} has no definition")
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        self.iam.ensure_role(str(props["RoleArn"]))
        arn = self.kernel.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"))["stateMachineArn"]
        return arn, {"Arn": arn, "Name": name}

    def state_machine_arn(self, ref: str) -> str:
        found = self.kernel.registry.lookup(ref, "AWS::StepFunctions::StateMachine")
        if found:
            return found.physical_id
        if ref.startswith("arn:"):
            return ref
        return f"arn:aws:states:{self.kernel.region}:{self.kernel.account_id}:stateMachine:{ref}"

    def apply(self, patcher: Patcher) -> None:
        """Patch the interpreter when the first ``stepfunctions`` client is made."""
        self.kernel.on_first_client("stepfunctions", lambda: self.patch_interpreter(patcher))

    def _count_executions(self, patcher: Patcher) -> None:
        from moto.stepfunctions.parser.asl.eval.callback import callback
        from moto.stepfunctions.parser.backend import execution_worker

        running = RunningExecutions()
        self.kernel.loop.add_background(running.busy)
        original_start: Callable[[Any], None] = execution_worker.ExecutionWorker.start

        def start(worker: Any) -> None:
            # The instance attribute shadows the method the original start hands its thread.
            worker._execution_logic = running.run(worker._execution_logic)
            try:
                original_start(worker)
            except BaseException:
                running.ended()
                raise

        # SyncExecutionWorker (express, StartSyncExecution) runs in the caller's thread and
        # overrides start: it is not background work and is not counted.
        patcher.set(execution_worker.ExecutionWorker, "start", start)
        for owner, wait, notifies in (
                (callback.CallbackEndpoint, "wait", ("notify", "interrupt_all")),
                (callback.ActivityTaskStartEndpoint, "wait", ("notify",)),
                (callback.HeartbeatEndpoint, "clear_and_wait", ("notify",))):
            patcher.set(owner, wait, running.waiting(getattr(owner, wait)))
            for name in notifies:
                patcher.set(owner, name, running.notifying(getattr(owner, name)))

    def patch_interpreter(self, patcher: Patcher) -> None:
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

        clock = self.kernel.clock

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
        patcher.set(retrier_decl, "time", TimeShim(clock))
        patcher.set(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.005)

        # Step Functions: executions are background work of the loop until they rest.
        self._count_executions(patcher)

        # Step Functions: API casing of optimized/aws-sdk integrations and AWS's error names.
        patcher.set(state_task_service.StateTaskService, "_normalise_parameters",
                    _normalise_parameters)
        patcher.set(state_task_service.StateTaskService, "_normalise_response",
                    _normalise_response)
        for key, value in _AWS_SDK_SERVICE_ERROR_NAMES.items():
            patcher.set(state_task_service_aws_sdk._SERVICE_ERROR_NAMES, key, value)
        for key, value in _AWS_SDK_BOTO_NAMES.items():
            patcher.set(state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES,
                        key, value)

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

        # String literals of the definition (Assign values among them) with their JSON
        # escapes decoded, as AWS reads the definition; moto kept the backslashes.
        from moto.stepfunctions.parser.asl.parse import preprocessor as sfn_preprocessor

        patcher.set(sfn_preprocessor.Preprocessor, "_inner_string_of",
                    staticmethod(_json_string_literal))

        # Intrinsic functions: a bare null argument (States.Array('a', null)) is JSON null.
        from moto.stepfunctions.parser.asl.component.intrinsic.argument import (
            argument as sfn_argument,
        )
        from moto.stepfunctions.parser.asl.parse.intrinsic import intrinsic_parser

        original_parse = intrinsic_parser.IntrinsicParser.parse

        def parse_intrinsic(src: str) -> Any:
            return original_parse(_nulls_as_literals(src))

        original_literal = sfn_argument.ArgumentLiteral._eval_argument

        def literal(argument: Any, env: Any) -> Any:
            value = original_literal(argument, env)
            return None if value == _NULL_SENTINEL else value

        patcher.set(intrinsic_parser.IntrinsicParser, "parse", staticmethod(parse_intrinsic))
        patcher.set(sfn_argument.ArgumentLiteral, "_eval_argument", literal)

        # The context object's Execution.RedriveCount ($$ and $states.context): 0 until an
        # execution is redriven (the harness never redrives).
        from moto.stepfunctions.parser.backend import execution_worker

        original_environment = execution_worker.ExecutionWorker._get_evaluation_environment

        def environment_with_redrive_count(worker: Any) -> Any:
            env = original_environment(worker)
            execution: Any = env.states.context_object.context_object_data["Execution"]
            execution.setdefault("RedriveCount", 0)
            return env

        patcher.set(execution_worker.ExecutionWorker, "_get_evaluation_environment",
                    environment_with_redrive_count)

        # Glue, Athena, Batch, EMR Serverless and SageMaker integrations: the emulator.
        # Every task runs as the state machine's role (or the task's Credentials).
        self.enforcement.apply_step_functions(patcher)
        self.analytics.patch_interpreter(patcher)
