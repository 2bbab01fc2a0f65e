"""EventBridge API destinations: connections, destinations and the HTTP calls rules make.

Nothing leaves the machine: every call a rule makes to an API destination is recorded
(:class:`HttpCall`, read with ``OfflineAws.api_destination_calls``) and answered by what the
test installed (``OfflineAws.respond_from_api_destination``; default ``200``). What is
emulated, each from the EventBridge user guide, "API destinations as targets"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html):

- the request: the destination's ``HttpMethod`` and ``InvocationEndpoint`` (each ``*`` of
  its path replaced by the target's ``PathParameterValues``, in order); the body is the
  rule's input (``Input``/``InputPath``/``InputTransformer``, as for every target); the
  target's ``HeaderParameters`` and ``QueryStringParameters`` plus the connection's
  ``InvocationHttpParameters`` (the connection's win a conflict); the connection's
  authorization (``API_KEY``: its header; ``BASIC``: ``Authorization: Basic``); and the
  headers the guide's "Headers included in requests to API destinations" lists
  (:data:`EVENTBRIDGE_HEADERS`, ``Content-Length``, ``Host``);
- retries ("API destination error codes"): a ``429`` or ``5xx`` answer is retried, any
  other non-``2xx`` answer is not; a negative ``Retry-After`` stops the retries. Retries
  stop after the target's ``RetryPolicy.MaximumRetryAttempts`` (default 185) or once the
  ``Retry-After`` waits add up to more than ``MaximumEventAgeInSeconds`` (default 86,400);
  then the event goes to the target's dead-letter queue, with the attributes every
  EventBridge DLQ message has (``ERROR_CODE`` is ``HTTP_<status>`` here: the guide names no
  code for an HTTP failure).
- the connection's secret: an ``{{resolve:secretsmanager:...}}`` auth value is resolved when
  the connection is deployed, as CloudFormation does (EventBridge keeps its own copy, so a
  later change of the secret does not reach the connection until it is updated).

Not emulated: ``OAUTH_CLIENT_CREDENTIALS`` connections (:class:`UnsupportedIntegrationError`
at delivery), the invocation rate limit, the 5-second timeout and real back-off delays.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import json
import re
import secrets
import string
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    ResourceNotFoundError,
    UnsupportedIntegrationError,
)
from analytics_orchestration.testing.services.iam_enforcement import Iam

#: Headers EventBridge adds to every request (user guide, "Headers included in requests
#: to API destinations"); ``Content-Length`` and ``Host`` are computed per request.
EVENTBRIDGE_HEADERS = {
    "User-Agent": "Amazon/EventBridge/ApiDestinations",
    "Content-Type": "application/json; charset=utf-8",
    "Range": "bytes=0-1048575",
    "Accept-Encoding": "gzip,deflate",
    "Connection": "close",
}
#: RetryPolicy defaults of a rule target (user guide, "How EventBridge retries").
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400

_DYNAMIC_SECRET = re.compile(r"\{\{resolve:secretsmanager:(?P<ref>.+?)\}\}")


def retried(status: int) -> bool:
    """True for the answers EventBridge retries: 429 and 5xx ("API destination error
    codes"); 1xx, 2xx, 3xx and every other 4xx are not retried."""
    return status == 429 or 500 <= status <= 599


@dataclass(frozen=True)
class HttpCall:
    """One request EventBridge made to an API destination, and the answer it got."""

    destination: str
    method: str
    url: str
    headers: dict[str, str]
    body: str
    #: 1 for the first try, 2 for the first retry...
    attempt: int
    status: int
    rule_arn: str

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class HttpAnswer:
    """What the endpoint answers: a status and, optionally, ``Retry-After`` in seconds."""

    status: int
    retry_after: float | None = None


Responder = Callable[[HttpCall], "HttpAnswer | int"]
"""Answers one call (its ``status`` is 0 while it is asked): an :class:`HttpAnswer` or a
status code."""


@dataclass
class _Destination:
    arn: str
    name: str
    endpoint: str
    method: str
    connection_arn: str
    calls: list[HttpCall] = field(default_factory=list)
    answers: collections.deque[HttpAnswer | int | Responder] = field(
        default_factory=collections.deque)


@dataclass(frozen=True)
class _Connection:
    arn: str
    authorization_type: str
    auth: Mapping[str, Any]


class ApiDestinationsService:
    """Secrets, connections, API destinations, and the calls rules make to them."""

    def __init__(self, kernel: Kernel, iam: Iam) -> None:
        self.kernel = kernel
        self.iam = iam
        self._connections: dict[str, _Connection] = {}
        self._destinations: dict[str, _Destination] = {}

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::SecretsManager::Secret": self.secret,
            "AWS::Events::Connection": self.connection,
            "AWS::Events::ApiDestination": self.api_destination,
        }

    def secret(self, stack: StackTemplate, logical_id: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A Secrets Manager secret: ``SecretString``, or one generated as CloudFormation
        does from ``GenerateSecretString`` (a JSON template with the generated key)."""
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        value = props.get("SecretString")
        if value is None:
            value = _generated_secret(props.get("GenerateSecretString") or {})
        arn = self.kernel.client("secretsmanager").create_secret(
            Name=name, SecretString=value, Description=props.get("Description", ""))["ARN"]
        return arn, {"Id": arn}

    def connection(self, stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        auth = self._resolve_secrets(props.get("AuthParameters") or {})
        kind = str(props["AuthorizationType"])
        arn = (f"arn:aws:events:{self.kernel.region}:{self.kernel.account_id}:connection/"
               f"{name}/{uuid.uuid4()}")
        self._connections[arn] = _Connection(arn, kind, auth)
        secret_arn = (f"arn:aws:secretsmanager:{self.kernel.region}:{self.kernel.account_id}:"
                      f"secret:events!connection/{name}/{uuid.uuid4()}")
        return name, {"Arn": arn, "SecretArn": secret_arn}

    def api_destination(self, stack: StackTemplate, logical_id: str,
                        props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or generated_name(stack.stack_name, logical_id, 64)
        arn = (f"arn:aws:events:{self.kernel.region}:{self.kernel.account_id}:"
               f"api-destination/{name}/{uuid.uuid4()}")
        self._destinations[arn] = _Destination(
            arn=arn, name=name, endpoint=str(props["InvocationEndpoint"]),
            method=str(props["HttpMethod"]).upper(), connection_arn=str(props["ConnectionArn"]))
        return name, {"Arn": arn}

    def _resolve_secrets(self, value: Any) -> Any:
        """``value`` with each ``{{resolve:secretsmanager:...}}`` replaced by the secret."""
        if isinstance(value, dict):
            return {k: self._resolve_secrets(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve_secrets(v) for v in value]
        if isinstance(value, str):
            return _DYNAMIC_SECRET.sub(lambda m: self._secret_value(m.group("ref")), value)
        return value

    def _secret_value(self, reference: str) -> str:
        # secret-id:SecretString:json-key:version-stage:version-id (the id may be an ARN).
        secret_id, _, rest = reference.partition(":SecretString:")
        json_key, stage, version = ([*rest.split(":"), "", "", ""])[:3]
        request: dict[str, Any] = {"SecretId": secret_id}
        if version:
            request["VersionId"] = version
        elif stage:
            request["VersionStage"] = stage
        text = str(self.kernel.client("secretsmanager").get_secret_value(**request)[
            "SecretString"])
        return str(json.loads(text)[json_key]) if json_key else text

    # -- what tests use ---------------------------------------------------------------
    def destination(self, ref: str) -> _Destination:
        found = self.kernel.registry.lookup(ref, "AWS::Events::ApiDestination")
        arn = found.arn if found is not None else ref
        if arn not in self._destinations:
            matches = [d for d in self._destinations.values() if d.name == ref]
            if len(matches) != 1:
                raise ResourceNotFoundError(f"no API destination {ref!r}")
            return matches[0]
        return self._destinations[str(arn)]

    def calls(self, ref: str) -> list[HttpCall]:
        return list(self.destination(ref).calls)

    def respond(self, ref: str, *answers: HttpAnswer | int | Responder) -> None:
        """Answer the next calls with ``answers`` in order; the last one keeps answering."""
        queue = self.destination(ref).answers
        queue.clear()
        queue.extend(answers)

    # -- delivery ---------------------------------------------------------------------
    def deliver(self, rule_arn: str, target: Mapping[str, Any], body: str) -> None:
        """Call the API destination ``target["Arn"]`` with ``body``, retrying as EventBridge
        does; raises a ClientError (dead-lettered by the caller) when delivery fails."""
        from botocore.exceptions import ClientError

        arn = str(target["Arn"])
        destination = self._destinations.get(arn)
        if destination is None:
            raise ResourceNotFoundError(f"API destination {arn} does not exist")
        self.iam.require("events", "InvokeApiDestination", {"ApiDestinationArn": arn},
                         via="EventBridge rule target")
        connection = self._connections.get(destination.connection_arn)
        if connection is None:
            raise ResourceNotFoundError(f"connection {destination.connection_arn} does not exist")
        method, url, headers = self._request(destination, connection,
                                             target.get("HttpParameters") or {}, body)
        policy = target.get("RetryPolicy") or {}
        retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
        max_age = float(policy.get("MaximumEventAgeInSeconds",
                                   DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        waited = 0.0
        for attempt in range(1, retries + 2):
            asked = HttpCall(destination.name, method, url, dict(headers), body, attempt, 0,
                             rule_arn)
            answer = self._answer(destination, asked)
            destination.calls.append(dataclasses.replace(asked, status=answer.status))
            if 200 <= answer.status <= 299:
                return
            stop = not retried(answer.status) or (
                answer.retry_after is not None and answer.retry_after < 0)
            waited += max(answer.retry_after or 0.0, 0.0)
            if stop or waited > max_age:
                break
        raise ClientError({"Error": {
            "Code": f"HTTP_{answer.status}",
            "Message": f"{method} {url} answered HTTP {answer.status} after {attempt} "
                       f"attempt(s)"}}, "InvokeApiDestination")

    def _answer(self, destination: _Destination, call: HttpCall) -> HttpAnswer:
        queue = destination.answers
        if not queue:
            return HttpAnswer(200)
        answer = queue[0] if len(queue) == 1 else queue.popleft()
        if callable(answer):
            answer = answer(call)
        return answer if isinstance(answer, HttpAnswer) else HttpAnswer(int(answer))

    def _request(self, destination: _Destination, connection: _Connection,
                 parameters: Mapping[str, Any], body: str) -> tuple[str, str, dict[str, str]]:
        parts = urllib.parse.urlsplit(destination.endpoint)
        path = parts.path
        for value in parameters.get("PathParameterValues") or []:
            path = path.replace("*", urllib.parse.quote(str(value), safe=""), 1)
        invocation = connection.auth.get("InvocationHttpParameters") or {}
        query = dict(urllib.parse.parse_qsl(parts.query))
        query.update({str(k): str(v) for k, v in
                      (parameters.get("QueryStringParameters") or {}).items()})
        query.update({str(p["Key"]): str(p["Value"]) for p in
                      invocation.get("QueryStringParameters") or []})
        headers = dict(EVENTBRIDGE_HEADERS)
        headers.update({str(k): str(v) for k, v in
                        (parameters.get("HeaderParameters") or {}).items()})
        headers.update({str(p["Key"]): str(p["Value"]) for p in
                        invocation.get("HeaderParameters") or []})
        headers.update(self._authorization(connection))
        headers["Content-Length"] = str(len(body.encode()))
        headers["Host"] = parts.netloc
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path,
                                       urllib.parse.urlencode(query), ""))
        return destination.method, url, headers

    @staticmethod
    def _authorization(connection: _Connection) -> dict[str, str]:
        if connection.authorization_type == "API_KEY":
            params = connection.auth["ApiKeyAuthParameters"]
            return {str(params["ApiKeyName"]): str(params["ApiKeyValue"])}
        if connection.authorization_type == "BASIC":
            params = connection.auth["BasicAuthParameters"]
            token = base64.b64encode(f"{params['Username']}:{params['Password']}".encode())
            return {"Authorization": f"Basic {token.decode()}"}
        raise UnsupportedIntegrationError(
            f"EventBridge connection authorization {connection.authorization_type}",
            connection.arn)


def _generated_secret(spec: Mapping[str, Any]) -> str:
    """A value as Secrets Manager generates one (length, excluded characters, template)."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    for flag, chars in (("ExcludeUppercase", string.ascii_uppercase),
                        ("ExcludeLowercase", string.ascii_lowercase),
                        ("ExcludeNumbers", string.digits)):
        if spec.get(flag):
            alphabet = "".join(c for c in alphabet if c not in chars)
    excluded = str(spec.get("ExcludeCharacters") or "")
    alphabet = "".join(c for c in alphabet if c not in excluded)
    if spec.get("IncludeSpace"):
        alphabet += " "
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        document = json.loads(template)
        document[key] = value
        return json.dumps(document)
    return value
