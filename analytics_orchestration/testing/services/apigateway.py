"""API Gateway REST APIs with AWS service integrations, called through
:meth:`OfflineAws.http_request <analytics_orchestration.testing.OfflineAws.http_request>`.

A request runs the steps API Gateway runs, in its order (developer guide: "Set up REST API
methods", "Request validation", "Mapping templates", "Control access to a REST API with IAM
permissions"):

1. **Route**: stage, resource path (``{param}`` parts bind path parameters) and method;
   no match is 403 ``{"message": "Missing Authentication Token"}``, as on AWS.
2. **Authorization**: ``NONE`` passes; ``AWS_IAM`` needs a caller (``caller=`` a role ARN or
   construct path: the request is treated as SigV4-signed by that role's session). Without
   one the answer is 403 ``{"message": "Missing Authentication Token"}`` (AWS's answer to an
   unsigned request); with one, the role's identity policies in the deployed templates
   (``AWS::IAM::Policy``/``ManagedPolicy`` attached to it, its inline policies) must allow
   ``execute-api:Invoke`` on the method ARN
   (``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``) with no
   explicit deny, else 403 ``{"Message": "User: <arn> is not authorized to perform:
   execute-api:Invoke on resource: <arn>"}``. Statements with a ``Condition`` and AWS-managed
   policies cannot be evaluated here and raise :class:`UnsupportedIntegrationError` /
   grant nothing. Cognito and Lambda authorizers raise :class:`UnsupportedIntegrationError`.
3. **Validation** (the method's ``RequestValidatorId``): required request parameters (400
   ``{"message": "Missing required request parameters: [name]"}``) and the body against the
   method's model for the request's content type, JSON schema draft 4 (``jsonschema``; 400
   ``{"message": "Invalid request body"}``).
4. **Integration request**: the request template for the content type
   (``PassthroughBehavior`` ``NEVER`` / ``WHEN_NO_TEMPLATES`` / ``WHEN_NO_MATCH``; 415
   ``{"message": "Unsupported Media Type"}`` when refused), evaluated by
   :mod:`.apigateway_vtl`; integration request parameters (static values and
   ``method.request.*``).
5. **Integration**: ``AWS`` integrations to SQS (``path/<account>/<queue>``, the query
   protocol's form-encoded ``Action=SendMessage``, answered with SQS's XML) and DynamoDB
   (``action/<Action>``, any action of its JSON protocol); ``MOCK`` integrations (status from
   the rendered ``{"statusCode": ...}``). Other services, ``AWS_PROXY``, ``HTTP`` and
   ``HTTP_PROXY`` raise :class:`UnsupportedIntegrationError` naming them. The call is made
   with the harness's clients (the integration's ``Credentials`` role is recorded on the
   request, not evaluated).
6. **Integration response**: the response whose ``SelectionPattern`` (a regular expression
   matched against the whole status code, for AWS integrations) matches, else the default
   one (no pattern); none: 500 ``{"message": "Internal server error"}``. Its template is
   rendered with ``$input`` = the service's response; ``$context.responseOverride.status``
   and ``.header.*`` override the status and headers; ``ResponseParameters`` map static
   values and ``integration.response.header.*`` to method response headers.

Not emulated: throttling and usage plans, API keys, caching, gateway responses
(``AWS::ApiGateway::GatewayResponse`` is unsupported), resource policies on the API (refused
when present), stage variables in URIs, binary media types, ``HTTP`` integrations.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Mapping
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
from analytics_orchestration.testing.services import apigateway_vtl as vtl
from analytics_orchestration.testing.services.sqs import SqsService


@dataclass
class HttpResponse:
    """What an API answered: status, headers, the body's text and its JSON (or None)."""

    status: int
    headers: dict[str, str]
    text: str
    request_id: str = ""
    integration_role: str | None = field(default=None, repr=False)

    @property
    def body(self) -> Any:
        """The body parsed as JSON, or the text when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text

    def json(self) -> Any:
        """The body parsed as JSON (raises when it is not JSON)."""
        return json.loads(self.text)


@dataclass
class _Method:
    http_method: str
    props: dict[str, Any]


@dataclass
class _Resource:
    id: str
    parent_id: str | None
    path_part: str
    methods: dict[str, _Method] = field(default_factory=dict)


@dataclass
class _RestApi:
    id: str
    name: str
    root_id: str
    props: dict[str, Any]
    resources: dict[str, _Resource] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    validators: dict[str, dict[str, Any]] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def path_of(self, resource: _Resource) -> str:
        parts: list[str] = []
        current: _Resource | None = resource
        while current is not None and current.parent_id is not None:
            parts.append(current.path_part)
            current = self.resources.get(current.parent_id)
        return "/" + "/".join(reversed(parts))


def _new_id() -> str:
    return uuid.uuid4().hex[:10]


def _error(status: int, message: str, key: str = "message") -> HttpResponse:
    return HttpResponse(status=status, headers={"Content-Type": "application/json"},
                        text=json.dumps({key: message}))


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's ``*`` / ``?`` wildcards as a regular expression."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class ApiGatewayService:
    """REST APIs of one harness, and the requests made to them."""

    def __init__(self, kernel: Kernel, sqs: SqsService) -> None:
        self.kernel = kernel
        self.sqs = sqs
        self.apis: dict[str, _RestApi] = {}
        self._resource_api: dict[str, str] = {}

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::ApiGateway::RestApi": self.rest_api,
            "AWS::ApiGateway::Resource": self.resource,
            "AWS::ApiGateway::Method": self.method,
            "AWS::ApiGateway::Model": self.model,
            "AWS::ApiGateway::RequestValidator": self.validator,
            "AWS::ApiGateway::Deployment": self.deployment,
            "AWS::ApiGateway::Stage": self.stage,
            # The account-wide CloudWatch role for execution logs: no behaviour offline.
            "AWS::ApiGateway::Account": lambda stack, logical_id, props: (logical_id, {}),
        }

    def rest_api(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if props.get("Body") is not None or props.get("BodyS3Location") is not None:
            raise UnsupportedIntegrationError("API Gateway OpenAPI definitions (Body)",
                                              logical_id)
        api_id, root = _new_id(), _new_id()
        name = str(props.get("Name") or generated_name(stack.stack_name, logical_id, 255))
        api = _RestApi(id=api_id, name=name, root_id=root, props=props)
        api.resources[root] = _Resource(id=root, parent_id=None, path_part="")
        self.apis[api_id] = api
        self._resource_api[root] = api_id
        return api_id, {"RootResourceId": root, "RestApiId": api_id}

    def _api(self, api_id: Any) -> _RestApi:
        api = self.apis.get(str(api_id))
        if api is None:
            raise ResourceNotFoundError(f"no deployed REST API with id {api_id!r}")
        return api

    def resource(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        resource_id = _new_id()
        api.resources[resource_id] = _Resource(id=resource_id, parent_id=str(props["ParentId"]),
                                               path_part=str(props["PathPart"]))
        return resource_id, {"ResourceId": resource_id}

    def method(self, stack: StackTemplate, logical_id: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        resource = api.resources[str(props["ResourceId"])]
        http_method = str(props["HttpMethod"]).upper()
        resource.methods[http_method] = _Method(http_method=http_method, props=props)
        return f"{api.id}-{resource.id}-{http_method}", {}

    def model(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        name = str(props.get("Name") or re.sub(r"[^A-Za-z0-9]", "", logical_id))
        schema = props.get("Schema") or {}
        api.models[name] = json.loads(schema) if isinstance(schema, str) else schema
        return name, {}

    def validator(self, stack: StackTemplate, logical_id: str,
                  props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        validator_id = _new_id()
        api.validators[validator_id] = props
        return validator_id, {"RequestValidatorId": validator_id}

    def deployment(self, stack: StackTemplate, logical_id: str,
                   props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        deployment_id = _new_id()
        if props.get("StageName"):
            api.stages[str(props["StageName"])] = {"Variables": {}}
        return deployment_id, {"DeploymentId": deployment_id}

    def stage(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        api = self._api(props["RestApiId"])
        name = str(props["StageName"])
        api.stages[name] = {"Variables": dict(props.get("Variables") or {})}
        return name, {}

    # -- lookups ----------------------------------------------------------------------
    def api_for(self, ref: str) -> _RestApi:
        """A REST API by construct path, logical id, id or name."""
        found = self.kernel.registry.lookup(ref, "AWS::ApiGateway::RestApi")
        if found is not None:
            return self._api(found.physical_id)
        for api in self.apis.values():
            if ref in (api.id, api.name):
                return api
        raise ResourceNotFoundError(f"no deployed REST API matches {ref!r}")

    def _route(self, api: _RestApi, path: str
               ) -> tuple[_Resource, dict[str, str]] | None:
        """The resource a path routes to, with its bound path parameters.

        A literal part beats ``{param}``, which beats a greedy ``{param+}`` (API Gateway's
        precedence: the most specific resource wins).
        """
        segments = [urllib.parse.unquote(s) for s in path.split("/") if s]
        best: tuple[tuple[int, int], _Resource, dict[str, str]] | None = None
        for resource in api.resources.values():
            parts = [p for p in api.path_of(resource).split("/") if p]
            bound: dict[str, str] = {}
            literal = greedy = 0
            matched = True
            for index, part in enumerate(parts):
                if part.startswith("{") and part.endswith("+}"):
                    matched = index == len(parts) - 1 and len(segments) > index
                    bound[part[1:-2]] = "/".join(segments[index:])
                    greedy = 1
                    break
                if index >= len(segments):
                    matched = False
                    break
                if part.startswith("{") and part.endswith("}"):
                    bound[part[1:-1]] = segments[index]
                elif part == segments[index]:
                    literal += 1
                else:
                    matched = False
                    break
            else:
                matched = len(parts) == len(segments)
            if matched and (best is None or (literal, -greedy) > best[0]):
                best = ((literal, -greedy), resource, bound)
        return None if best is None else (best[1], best[2])

    # -- a request --------------------------------------------------------------------
    def request(self, api_ref: str, method: str, path: str, *, body: Any = None,
                headers: Mapping[str, str] | None = None, caller: str | None = None,
                stage: str | None = None) -> HttpResponse:
        """Run one request through the API (see the module docstring for the steps)."""
        api = self.api_for(api_ref)
        if api.props.get("Policy"):
            raise UnsupportedIntegrationError("API Gateway resource policies", api.name)
        if stage is None:
            if len(api.stages) != 1:
                raise ResourceNotFoundError(
                    f"REST API {api.name!r} has stages {sorted(api.stages)}: pass stage=")
            stage = next(iter(api.stages))
        request_id = str(uuid.uuid4())
        method = method.upper()
        split = urllib.parse.urlsplit(path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query,
                                                           keep_blank_values=True).items()}
        header_map = dict(headers or {})
        text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
        if body is not None and not isinstance(body, str):
            header_map.setdefault("Content-Type", "application/json")
        missing_token = _error(403, "Missing Authentication Token")
        if stage not in api.stages:
            return missing_token
        routed = self._route(api, split.path)
        if routed is None:
            return missing_token
        resource, path_params = routed
        spec = resource.methods.get(method) or resource.methods.get("ANY")
        if spec is None:
            return missing_token
        props = spec.props
        resource_path = api.path_of(resource)
        request_path = split.path if split.path.startswith("/") else "/" + split.path
        method_arn = (f"arn:aws:execute-api:{self.kernel.region}:{self.kernel.account_id}:"
                      f"{api.id}/{stage}/{method}{request_path}")
        identity = self._identity(caller)

        # 2. authorization
        authorization = str(props.get("AuthorizationType") or "NONE").upper()
        if authorization == "AWS_IAM":
            if caller is None:
                return missing_token
            if not self._allowed(caller, method_arn):
                return _error(403, f"User: {identity['userArn']} is not authorized to perform: "
                                   f"execute-api:Invoke on resource: {method_arn}", key="Message")
        elif authorization != "NONE":
            raise UnsupportedIntegrationError(f"API Gateway {authorization} authorization",
                                              f"{method} {resource_path}")

        content_type = _content_type(header_map)
        params = {"path": path_params, "querystring": query, "header": header_map}

        # 3. validation
        validator = api.validators.get(str(props.get("RequestValidatorId") or ""))
        if validator is not None:
            if _truthy(validator.get("ValidateRequestParameters")):
                missing = [name for name, required in
                           (props.get("RequestParameters") or {}).items()
                           if _truthy(required) and not _parameter(params, name)]
                if missing:
                    names = ", ".join(name.split(".")[-1] for name in missing)
                    return _error(400, f"Missing required request parameters: [{names}]")
            if _truthy(validator.get("ValidateRequestBody")):
                problem = self._body_problem(api, props, content_type, text)
                if problem is not None:
                    return problem

        # 4. integration request
        integration = props.get("Integration") or {}
        context = self._context(api, stage, method, resource, resource_path, split.path,
                                request_id, identity)
        stage_variables = api.stages[stage]["Variables"]
        templates = integration.get("RequestTemplates") or {}
        behaviour = str(integration.get("PassthroughBehavior") or "WHEN_NO_MATCH").upper()
        if content_type in templates:
            request_body = vtl.render(str(templates[content_type]),
                                      input=vtl.InputVariable(text, params), context=context,
                                      stage_variables=stage_variables)
        elif behaviour == "WHEN_NO_MATCH" or (behaviour == "WHEN_NO_TEMPLATES"
                                              and not templates):
            request_body = text
        else:
            return _error(415, "Unsupported Media Type")
        integration_headers: dict[str, str] = {}
        for target, source in (integration.get("RequestParameters") or {}).items():
            value = _mapped_value(str(source), params)
            if value is not None and target.startswith("integration.request.header."):
                integration_headers[target.split(".", 3)[3]] = value

        # 5. the integration
        kind = str(integration.get("Type") or "").upper()
        if kind == "AWS":
            status, response_headers, response_text = self._aws_integration(
                str(integration.get("Uri", "")), request_body, integration_headers)
        elif kind == "MOCK":
            status, response_headers, response_text = _mock_integration(request_body)
        else:
            raise UnsupportedIntegrationError(f"API Gateway {kind or 'unknown'} integration",
                                              f"{method} {resource_path}")

        # 6. integration response
        return self._respond(integration, status, response_headers, response_text, params,
                             context, stage_variables, request_id,
                             integration.get("Credentials"))

    def _identity(self, caller: str | None) -> dict[str, str]:
        identity = {name: "" for name in (
            "userArn", "caller", "user", "accountId", "apiKey", "apiKeyId",
            "cognitoIdentityId", "cognitoIdentityPoolId", "cognitoAuthenticationType",
            "cognitoAuthenticationProvider", "principalOrgId", "accessKey")}
        identity["sourceIp"] = "127.0.0.1"
        identity["userAgent"] = "offline-aws"
        if caller is None:
            return identity
        role_arn = self._role_arn(caller)
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else self.kernel.account_id
        name = role_arn.split("/")[-1]
        if ":role/" in role_arn:
            # A role's session, as STS names it: what $context.identity.userArn holds.
            session = "offline-aws"
            role_id = self._role_id(role_arn)
            identity.update(userArn=f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
                            caller=f"{role_id}:{session}", user=f"{role_id}:{session}")
        else:
            identity.update(userArn=role_arn, caller=name, user=name)
        identity["accountId"] = account
        identity["accessKey"] = "ASIAOFFLINEHARNESS00"
        return identity

    def _role_arn(self, caller: str) -> str:
        if caller.startswith("arn:"):
            return caller
        found = self.kernel.registry.find(caller, "AWS::IAM::Role")
        return str(found.attributes["Arn"])

    def _role_id(self, role_arn: str) -> str:
        for resource in self.kernel.registry.resources:
            if resource.resource_type == "AWS::IAM::Role" and resource.arn == role_arn:
                return str(resource.attributes.get("RoleId", "AROAOFFLINE"))
        return "AROAOFFLINE"

    # -- IAM ----------------------------------------------------------------------------
    def _policies_of(self, role_arn: str) -> list[dict[str, Any]]:
        """Identity policy documents of a deployed role (inline, attached, managed)."""
        registry = self.kernel.registry
        role = next((r for r in registry.resources
                     if r.resource_type == "AWS::IAM::Role" and r.arn == role_arn), None)
        if role is None:
            return []
        documents = [p.get("PolicyDocument") or {}
                     for p in role.properties.get("Policies") or []]
        managed = set(_as_list(role.properties.get("ManagedPolicyArns")))
        for resource in registry.resources:
            if resource.resource_type not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            attached = role.physical_id in _as_list(resource.properties.get("Roles"))
            if attached or resource.physical_id in managed:
                documents.append(resource.properties.get("PolicyDocument") or {})
        return documents

    def _allowed(self, caller: str, method_arn: str) -> bool:
        """Identity-policy evaluation for ``execute-api:Invoke``: explicit deny wins, then
        any allow; nothing else allows."""
        allowed = False
        for document in self._policies_of(self._role_arn(caller)):
            if isinstance(document, str):
                document = json.loads(document)
            for statement in _as_list(document.get("Statement")):
                if not (_matches(statement, "Action", "execute-api:Invoke", ignore_case=True)
                        and _matches(statement, "Resource", method_arn)):
                    continue
                if statement.get("Condition"):
                    keys = sorted(k for c in statement["Condition"].values() for k in c)
                    raise UnsupportedIntegrationError(
                        "IAM conditions on execute-api:Invoke",
                        f"condition keys {keys} are not evaluated offline")
                if statement.get("Effect") == "Deny":
                    return False
                allowed = True
        return allowed

    # -- validation ---------------------------------------------------------------------
    def _body_problem(self, api: _RestApi, props: Mapping[str, Any], content_type: str,
                      text: str) -> HttpResponse | None:
        models = props.get("RequestModels") or {}
        model_name = models.get(content_type) or models.get("$default")
        if not model_name or model_name == "Empty":
            return None
        schema = api.models.get(str(model_name))
        if schema is None:
            raise ResourceNotFoundError(f"model {model_name!r} is not deployed in {api.name!r}")
        import jsonschema

        try:
            document = json.loads(text) if text.strip() else None
        except ValueError:
            return _error(400, "Invalid request body")
        validator = jsonschema.Draft4Validator(schema)
        if next(iter(validator.iter_errors(document)), None) is not None:
            return _error(400, "Invalid request body")
        return None

    def _context(self, api: _RestApi, stage: str, method: str, resource: _Resource,
                 resource_path: str, path: str, request_id: str,
                 identity: dict[str, str]) -> dict[str, Any]:
        moment = self.kernel.clock.now()
        context: dict[str, Any] = vtl.javaish({
            "requestId": request_id,
            "extendedRequestId": request_id.replace("-", "")[:16],
            "apiId": api.id,
            "accountId": self.kernel.account_id,
            "stage": stage,
            "httpMethod": method,
            "resourcePath": resource_path,
            "resourceId": resource.id,
            "path": f"/{stage}{path if path.startswith('/') else '/' + path}",
            "protocol": "HTTP/1.1",
            "domainName": f"{api.id}.execute-api.{self.kernel.region}.amazonaws.com",
            "domainPrefix": api.id,
            "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(moment.timestamp() * 1000),
            "identity": identity,
            "authorizer": {"principalId": ""},
            "responseOverride": {"status": "", "header": {}},
        })
        return context

    # -- integrations -------------------------------------------------------------------
    def _aws_integration(self, uri: str, body: str, headers: Mapping[str, str]
                         ) -> tuple[int, dict[str, str], str]:
        match = re.match(r"^arn:aws[\w-]*:apigateway:([\w-]+):([\w.-]+):(path|action)/(.*)$",
                         uri)
        if match is None:
            raise UnsupportedIntegrationError("API Gateway AWS integration URI", uri)
        _, service, kind, rest = match.groups()
        service = service.split(".")[0]
        if service == "sqs" and kind == "path":
            return self._sqs_query(rest, body, headers)
        if service == "dynamodb" and kind == "action":
            return self._json_protocol("dynamodb", rest.split("&")[0], body)
        raise UnsupportedIntegrationError(f"API Gateway AWS integration with {service}", uri)

    def _sqs_query(self, path: str, body: str, headers: Mapping[str, str]
                   ) -> tuple[int, dict[str, str], str]:
        """SQS's query protocol: a form-encoded ``Action=SendMessage`` to ``<account>/<queue>``."""
        from botocore.exceptions import ClientError

        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if "x-www-form-urlencoded" not in content_type:
            return 400, {}, _sqs_error("MissingAction",
                                       "the request is not form-encoded (Content-Type)")
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        action = form.get("Action", "")
        if action != "SendMessage":
            raise UnsupportedIntegrationError(f"SQS query action {action or '(none)'}",
                                              "only SendMessage is emulated")
        account, _, queue_name = path.partition("/")
        queue_url = f"https://sqs.{self.kernel.region}.amazonaws.com/{account}/{queue_name}"
        request: dict[str, Any] = {"QueueUrl": self.sqs.queue_url(queue_name)
                                   if self.kernel.registry.lookup(queue_name, "AWS::SQS::Queue")
                                   else queue_url, "MessageBody": form.get("MessageBody", "")}
        for name in ("DelaySeconds",):
            if name in form:
                request[name] = int(form[name])
        for name in ("MessageGroupId", "MessageDeduplicationId"):
            if name in form:
                request[name] = form[name]
        attributes: dict[str, dict[str, Any]] = {}
        index = 1
        while f"MessageAttribute.{index}.Name" in form:
            prefix = f"MessageAttribute.{index}.Value."
            value: dict[str, Any] = {"DataType": form.get(prefix + "DataType", "String")}
            if prefix + "StringValue" in form:
                value["StringValue"] = form[prefix + "StringValue"]
            if prefix + "BinaryValue" in form:
                import base64

                value["BinaryValue"] = base64.b64decode(form[prefix + "BinaryValue"])
            attributes[form[f"MessageAttribute.{index}.Name"]] = value
            index += 1
        if attributes:
            request["MessageAttributes"] = attributes
        try:
            result = self.kernel.client("sqs").send_message(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return status, {}, _sqs_error(str(error.get("Code", "")),
                                          str(error.get("Message", "")))
        xml = ("<?xml version=\"1.0\"?><SendMessageResponse "
               "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><SendMessageResult>"
               f"<MessageId>{result['MessageId']}</MessageId>"
               f"<MD5OfMessageBody>{result.get('MD5OfMessageBody', '')}</MD5OfMessageBody>"
               "</SendMessageResult><ResponseMetadata>"
               f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
               "</SendMessageResponse>")
        return 200, {"Content-Type": "text/xml"}, xml

    def _json_protocol(self, service: str, action: str, body: str
                       ) -> tuple[int, dict[str, str], str]:
        """A JSON-protocol action (DynamoDB): the body is the request, the answer its JSON."""
        import base64

        from botocore import xform_name
        from botocore.exceptions import ClientError, ParamValidationError

        client = self.kernel.client(service)
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            return 400, {}, json.dumps({"__type": "com.amazon.coral.service#SerializationException",
                                        "Message": "the request body is not JSON"})
        operation = getattr(client, xform_name(action), None)
        if operation is None:
            raise UnsupportedIntegrationError(f"{service} action {action}")
        try:
            result = dict(operation(**params))
        except ParamValidationError as exc:
            return 400, {}, json.dumps({"__type": "com.amazon.coral.validate#ValidationException",
                                        "message": str(exc)})
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return status, {}, json.dumps({
                "__type": f"com.amazonaws.{service}.v20120810#{error.get('Code', '')}",
                "message": error.get("Message", "")})
        result.pop("ResponseMetadata", None)

        def encode(value: Any) -> Any:
            if isinstance(value, bytes):
                return base64.b64encode(value).decode()
            if isinstance(value, (set, frozenset)):
                return sorted(value)
            return str(value)

        return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(
            result, default=encode)

    # -- integration response -----------------------------------------------------------
    def _respond(self, integration: Mapping[str, Any], status: int,
                 response_headers: dict[str, str], text: str,
                 params: Mapping[str, Mapping[str, str]], context: dict[str, Any],
                 stage_variables: Mapping[str, str], request_id: str,
                 role: Any) -> HttpResponse:
        responses = list(integration.get("IntegrationResponses") or [])
        chosen = None
        for candidate in responses:
            pattern = candidate.get("SelectionPattern")
            if pattern and re.fullmatch(str(pattern), str(status), re.DOTALL):
                chosen = candidate
                break
        if chosen is None:
            chosen = next((c for c in responses if not c.get("SelectionPattern")), None)
        if chosen is None:
            return _error(500, "Internal server error")
        templates = chosen.get("ResponseTemplates") or {}
        content_type = "application/json" if "application/json" in templates or not templates \
            else next(iter(templates))
        template = templates.get(content_type)
        if template:
            # $input.body is the integration's answer; $input.params() still the request's.
            rendered = vtl.render(str(template), input=vtl.InputVariable(text, params),
                                  context=context, stage_variables=stage_variables)
        else:
            rendered = text  # no template: the integration's body passes through
        headers = {"Content-Type": content_type, "x-amzn-RequestId": request_id}
        integration_params = {"header": response_headers}
        for target, source in (chosen.get("ResponseParameters") or {}).items():
            value = _mapped_value(str(source), integration_params, prefix="integration.response.",
                                  body=text)
            if value is not None and target.startswith("method.response.header."):
                headers[target.split(".", 3)[3]] = value
        override = context.get("responseOverride") or {}
        for name, value in (override.get("header") or {}).items():
            headers[str(name)] = str(value)
        final_status = int(chosen.get("StatusCode") or 200)
        if str(override.get("status") or "").strip():
            final_status = int(str(override["status"]))
        return HttpResponse(status=final_status, headers=headers, text=rendered,
                            request_id=request_id,
                            integration_role=None if role is None else str(role))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _content_type(headers: Mapping[str, str]) -> str:
    value = {k.lower(): v for k, v in headers.items()}.get("content-type", "application/json")
    return value.split(";")[0].strip().lower() or "application/json"


def _parameter(params: Mapping[str, Mapping[str, str]], name: str) -> str | None:
    """``method.request.path.x`` / ``querystring.x`` / ``header.x`` from the request."""
    parts = name.split(".", 3)
    if len(parts) != 4:
        return None
    kind, key = parts[2], parts[3]
    values = params.get(kind, {})
    if kind == "header":
        lowered = {k.lower(): v for k, v in values.items()}
        return lowered.get(key.lower())
    return values.get(key)


def _mapped_value(source: str, params: Mapping[str, Mapping[str, str]], *,
                  prefix: str = "method.request.", body: str = "") -> str | None:
    """A parameter mapping's value: ``'static'``, ``method.request.*`` or
    ``integration.response.header.*`` / ``.body``."""
    if source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source == f"{prefix}body":
        return body
    if source.startswith(prefix):
        rest = source[len(prefix):]
        kind, _, key = rest.partition(".")
        values = params.get(kind, {})
        if kind == "header":
            lowered = {k.lower(): v for k, v in values.items()}
            return lowered.get(key.lower())
        return values.get(key)
    if source.startswith("stageVariables.") or source.startswith("context."):
        raise UnsupportedIntegrationError("API Gateway parameter mapping", source)
    return None


def _matches(statement: Mapping[str, Any], key: str, value: str, *,
             ignore_case: bool = False) -> bool:
    if key in statement:
        return any(_wildcard(str(p), ignore_case=ignore_case).match(value)
                   for p in _as_list(statement[key]))
    negated = f"Not{key}"
    if negated in statement:
        return not any(_wildcard(str(p), ignore_case=ignore_case).match(value)
                       for p in _as_list(statement[negated]))
    return False


def _mock_integration(rendered: str) -> tuple[int, dict[str, str], str]:
    try:
        status = int(json.loads(rendered).get("statusCode", 200))
    except (ValueError, AttributeError, TypeError):
        return 500, {}, ""
    return status, {}, ""


def _sqs_error(code: str, message: str) -> str:
    return ("<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
