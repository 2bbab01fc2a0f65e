"""Custom resources of the CDK provider framework (``aws_cdk.custom_resources.Provider``).

The framework's own functions are Node.js (they cannot run in-process); what they do is
emulated here around the user's handlers, which run for real through
:class:`~analytics_orchestration.testing.services.lambda_.LambdaService` (as their roles,
IAM enforced):

- a resource whose ``ServiceToken`` is a framework ``onEvent`` function (its environment
  names ``USER_ON_EVENT_FUNCTION_ARN``) gets CloudFormation's request (``Create``,
  ``Update`` with ``OldResourceProperties``, ``Delete``) sent to the user's ``on_event``;
- with an ``is_complete`` handler (``USER_IS_COMPLETE_FUNCTION_ARN``), the request (plus
  ``on_event``'s answer) is polled as the waiter state machine does: the ``Retry`` of its
  deployed definition gives the interval, backoff and attempts; virtual time advances by
  each interval (:class:`~analytics_orchestration.testing.core.patching.VirtualClock`);
  out of attempts, the request fails with the framework's timeout message;
- a handler's error fails the request with its message, as the framework reports it to
  CloudFormation (:class:`CustomResourceFailedError`); a failed Create fails the deploy.

Updates and deletes come from the deployer (``core.deploy.Deployer.update`` and
``delete``, the facade's ``update`` and ``destroy``): only provider-framework resources are
updated or deleted there; every other resource stays as first deployed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.exceptions import CustomResourceFailedError
from analytics_orchestration.testing.services.lambda_ import LambdaService

__all__ = ["CustomResourceRequest", "CustomResourceService"]

_ON_EVENT = "USER_ON_EVENT_FUNCTION_ARN"
_IS_COMPLETE = "USER_IS_COMPLETE_FUNCTION_ARN"
_WAITER = "WAITER_STATE_MACHINE_ARN"


@dataclass
class CustomResourceRequest:
    """One request sent to a provider-framework resource, and how it ended."""

    logical_id: str
    request_type: str
    physical_id: str | None
    polls: int
    failure: str | None


@dataclass(frozen=True)
class _Waiter:
    interval: float
    backoff: float
    attempts: int


class CustomResourceService:
    """Provider-framework custom resources: their requests, run through the real handlers."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.requests: list[CustomResourceRequest] = []
        """Every request sent, oldest first."""

    def is_provider_backed(self, props: Mapping[str, Any]) -> bool:
        """Whether ``props``' ServiceToken is a deployed provider framework function."""
        return self._framework(props) is not None

    def _framework(self, props: Mapping[str, Any]) -> dict[str, str] | None:
        token = str(props.get("ServiceToken", ""))
        if not token.startswith("arn:"):
            return None
        runtime = self.lambda_.functions.get(self.lambda_.function_name(token))
        if runtime is None or _ON_EVENT not in runtime.environment:
            return None
        return dict(runtime.environment)

    # -- requests ---------------------------------------------------------------------
    def create(self, stack_name: str, logical_id: str, resource_type: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A Create request; the ``Ref`` (physical id) and ``GetAtt`` (``Data``) values."""
        return self.request("Create", stack_name, logical_id, resource_type, props)

    def request(self, request_type: str, stack_name: str, logical_id: str,
                resource_type: str, props: dict[str, Any], *,
                old_props: Mapping[str, Any] | None = None,
                physical_id: str | None = None) -> tuple[Any, dict[str, Any]]:
        """Send one request; raise :class:`CustomResourceFailedError` when it fails."""
        framework = self._framework(props)
        if framework is None:
            raise CustomResourceFailedError(logical_id, request_type,
                                            "its ServiceToken is no provider framework")
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": props.get("ServiceToken"),
            "ResponseURL": f"https://offline.invalid/{request_id}",
            "StackId": f"arn:aws:cloudformation:{self.kernel.region}:{self.kernel.account_id}:"
                       f"stack/{stack_name}/offline",
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": dict(props),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_props is not None:
            event["OldResourceProperties"] = dict(old_props)
        record = CustomResourceRequest(logical_id, request_type, physical_id, 0, None)
        self.requests.append(record)
        try:
            answer = self._invoke(framework[_ON_EVENT], event, logical_id, request_type)
            result = {**event, **(answer or {})}
            result.setdefault("PhysicalResourceId", physical_id or request_id)
            if framework.get(_IS_COMPLETE):
                data = self._wait(framework, result, record)
                result["Data"] = {**(result.get("Data") or {}), **data}
        except CustomResourceFailedError as error:
            record.failure = error.reason
            raise
        record.physical_id = str(result["PhysicalResourceId"])
        return record.physical_id, dict(result.get("Data") or {})

    def _invoke(self, function_arn: str, event: Mapping[str, Any], logical_id: str,
                request_type: str) -> Any:
        invocation = self.lambda_.invoke_for_caller(function_arn, dict(event))
        if invocation.error is not None:
            message = invocation.error.get("errorMessage") or json.dumps(invocation.error)
            raise CustomResourceFailedError(logical_id, request_type, str(message))
        return invocation.result

    def _wait(self, framework: Mapping[str, str], event: dict[str, Any],
              record: CustomResourceRequest) -> dict[str, Any]:
        waiter = self._waiter(framework.get(_WAITER, ""))
        interval = waiter.interval
        for _ in range(waiter.attempts + 1):
            record.polls += 1
            answer = self._invoke(framework[_IS_COMPLETE], event, record.logical_id,
                                  record.request_type) or {}
            if answer.get("IsComplete"):
                return dict(answer.get("Data") or {})
            if answer.get("Data"):
                raise CustomResourceFailedError(record.logical_id, record.request_type,
                                                '"Data" is not allowed if "IsComplete" is '
                                                '"False"')
            self.kernel.clock.sleep(interval)
            interval *= waiter.backoff
        raise CustomResourceFailedError(record.logical_id, record.request_type,
                                        "Operation timed out")

    def _waiter(self, state_machine_arn: str) -> _Waiter:
        """The retry of the waiter state machine as deployed (interval, backoff, attempts)."""
        for resource in self.kernel.registry.resources:
            if resource.resource_type != "AWS::StepFunctions::StateMachine" or (
                    resource.arn != state_machine_arn
                    and resource.physical_id != state_machine_arn):
                continue
            definition = json.loads(str(resource.properties.get("DefinitionString") or "{}"))
            for state in (definition.get("States") or {}).values():
                for retry in state.get("Retry") or []:
                    return _Waiter(float(retry.get("IntervalSeconds", 1)),
                                   float(retry.get("BackoffRate", 2.0)),
                                   int(retry.get("MaxAttempts", 3)))
        raise CustomResourceFailedError("-", "-", f"no waiter state machine {state_machine_arn}"
                                        " was deployed for this provider")
