"""The harness's API Gateway emulation: REST APIs with AWS and mock integrations, mapping
templates (VTL with ``$input``/``$util``/``$context``), request validation, IAM authorization
and integration response selection, against what the API Gateway developer guide says."""

from __future__ import annotations

import base64
import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam

from analytics_orchestration import SqsWorkerPool
from analytics_orchestration.testing import OfflineAws, UnsupportedIntegrationError
from analytics_orchestration.testing.services import apigateway_vtl as vtl


def render(template: str, body: str = "{}", params: dict | None = None,
           context: dict | None = None) -> str:
    return vtl.render(template, input=vtl.InputVariable(body, params or {}),
                      context=vtl.javaish(context or {}))


# -- $util and $input, as the mapping template reference defines them --------------------
def test_escape_javascript_is_javas_and_the_documented_replace_all_idiom_undoes_quotes():
    # Reference: "$util.escapeJavaScript() ... will turn any regular single quotes (') into
    # escaped ones (\\'). However, the escaped single quotes are not valid in JSON."
    assert render("$util.escapeJavaScript($input.path('$.s'))",
                  json.dumps({"s": "it's \"q\" / \\ \n é"})) == (
        "it\\'s \\\"q\\\" \\/ \\\\ \\n \\u00E9")
    # The guide's fix: .replaceAll("\\'","'") (Velocity string literals keep backslashes).
    assert render('''$util.escapeJavaScript($input.path('$.s')).replaceAll("\\\\'","'")''',
                  json.dumps({"s": "it's"})) == "it's"


def test_util_url_base64_and_parse_json():
    assert render("$util.urlEncode($input.path('$.s'))", json.dumps({"s": "a b&c=d/é*"})) == (
        "a+b%26c%3Dd%2F%C3%A9*")
    assert render("$util.urlDecode('a+b%26c')") == "a b&c"
    assert render("$util.base64Encode('hello')") == base64.b64encode(b"hello").decode()
    assert render("$util.base64Decode('aGVsbG8=')") == "hello"
    assert render("#set($o = $util.parseJson($input.path('$.raw')))$o.a.b",
                  json.dumps({"raw": json.dumps({"a": {"b": 7}})})) == "7"


def test_input_body_json_path_and_params():
    body = json.dumps({"a": {"b": [1, {"c": "x"}]}, "n": 2})
    assert render("$input.body", body) == body
    assert render("$input.json('$.a.b')", body) == '[1, {"c": "x"}]'
    assert render("$input.path('$.a.b[1].c') $input.path('$.n')", body) == "x 2"
    assert render("$input.json('$')", body) == json.dumps(json.loads(body))
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "only": "q2"},
              "header": {"X-Token": "h"}}
    # $input.params(x): path, then query string, then header; "" when absent.
    assert render("$input.params('id')|$input.params('only')|$input.params('x-token')|"
                  "$input.params('none')|", params=params) == "p|q2|h||"
    assert render("$input.params().querystring.only", params=params) == "q2"
    assert render("#foreach($k in $input.params().path.keySet())$k#end", params=params) == "id"


def test_json_path_features_the_harness_cannot_evaluate_are_refused_by_name():
    with pytest.raises(UnsupportedIntegrationError, match=r"\$\.a\[\?"):
        render("$input.path('$.a[?(@.b)]')", "{}")


# -- a REST API with mock integrations ------------------------------------------------------
@pytest.fixture(scope="module")
def mock_api_stack() -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Mocks")
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name="test"),
                        cloud_watch_role=False)
    echo = api.root.add_resource("echo").add_resource("{name}")
    echo.add_method(
        "POST",
        apigw.MockIntegration(
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            request_templates={"application/json": '{"statusCode": $input.path(\'$.code\')}'},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200",
                    response_templates={"application/json": (
                        '{"name": "$input.params(\'name\')", "method": "$context.httpMethod", '
                        '"resource": "$context.resourcePath", "stage": "$context.stage"}')},
                    response_parameters={"method.response.header.X-Kind": "'echo'"},
                ),
                apigw.IntegrationResponse(
                    status_code="418", selection_pattern="4\\d{2}",
                    response_templates={"application/json": (
                        '#set($context.responseOverride.status = 429)'
                        '#set($context.responseOverride.header.Location = "/later")'
                        '{"message": "slow down"}')},
                ),
            ],
        ),
        method_responses=[apigw.MethodResponse(
            status_code="200", response_parameters={"method.response.header.X-Kind": True}),
            apigw.MethodResponse(status_code="418")],
        request_parameters={"method.request.querystring.tag": True},
        request_validator_options=apigw.RequestValidatorOptions(
            validate_request_parameters=True),
    )
    api.root.add_resource("open").add_method(
        "GET", apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 503}'},
            integration_responses=[apigw.IntegrationResponse(
                status_code="200", selection_pattern="2\\d{2}")]),
        method_responses=[apigw.MethodResponse(status_code="200")])
    return stack


@pytest.fixture
def mocks(mock_api_stack):
    with OfflineAws() as aws:
        aws.deploy(mock_api_stack)
        yield aws


def test_mock_integration_renders_context_params_and_static_response_headers(mocks):
    answer = mocks.http_request("Api", "POST", "/echo/ada?tag=t", body={"code": 200})
    assert answer.status == 200
    assert answer.body == {"name": "ada", "method": "POST", "resource": "/echo/{name}",
                           "stage": "test"}
    assert answer.headers["X-Kind"] == "echo"


def test_selection_pattern_matches_the_status_and_response_override_wins(mocks):
    answer = mocks.http_request("Api", "POST", "/echo/ada?tag=t", body={"code": 404})
    assert (answer.status, answer.body) == (429, {"message": "slow down"})
    assert answer.headers["Location"] == "/later"


def test_no_matching_integration_response_is_internal_server_error(mocks):
    answer = mocks.http_request("Api", "GET", "/open")
    assert (answer.status, answer.body) == (500, {"message": "Internal server error"})


def test_missing_required_parameter_and_unsupported_media_type(mocks):
    missing = mocks.http_request("Api", "POST", "/echo/ada", body={"code": 200})
    assert (missing.status, missing.body) == (
        400, {"message": "Missing required request parameters: [tag]"})
    refused = mocks.http_request("Api", "POST", "/echo/ada?tag=t", body="<x/>",
                                 headers={"Content-Type": "application/xml"})
    assert (refused.status, refused.body) == (415, {"message": "Unsupported Media Type"})


def test_wrong_stage_is_missing_authentication_token(mocks):
    answer = mocks.http_request("Api", "GET", "/open", stage="prod")
    assert (answer.status, answer.body) == (403, {"message": "Missing Authentication Token"})


# -- IAM authorization ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def iam_api_stack() -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Secured")
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name="v1"),
                        cloud_watch_role=False)
    method = api.root.add_resource("items").add_method(
        "GET", apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[apigw.IntegrationResponse(
                status_code="200", response_templates={
                    "application/json": '{"who": "$context.identity.userArn"}'})]),
        method_responses=[apigw.MethodResponse(status_code="200")],
        authorization_type=apigw.AuthorizationType.IAM)
    allowed = iam.Role(stack, "Allowed", assumed_by=iam.AccountRootPrincipal())
    allowed.add_to_policy(iam.PolicyStatement(actions=["execute-api:Invoke"],
                                              resources=[method.method_arn]))
    denied = iam.Role(stack, "Denied", assumed_by=iam.AccountRootPrincipal())
    denied.add_to_policy(iam.PolicyStatement(actions=["execute-api:*"], resources=["*"]))
    denied.add_to_policy(iam.PolicyStatement(effect=iam.Effect.DENY,
                                             actions=["execute-api:Invoke"],
                                             resources=[method.method_arn]))
    conditional = iam.Role(stack, "Conditional", assumed_by=iam.AccountRootPrincipal())
    conditional.add_to_policy(iam.PolicyStatement(
        actions=["execute-api:Invoke"], resources=["*"],
        conditions={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    return stack


@pytest.fixture
def secured(iam_api_stack):
    with OfflineAws() as aws:
        aws.deploy(iam_api_stack)
        yield aws


def test_iam_allows_a_granted_role_and_identifies_its_session(secured):
    answer = secured.http_request("Api", "GET", "/items", caller="Allowed")
    assert answer.status == 200
    role = secured.resource("Allowed").physical_id
    assert answer.body == {"who": f"arn:aws:sts::123456789012:assumed-role/{role}/offline-aws"}


def test_iam_explicit_deny_wins_and_names_the_method_arn(secured):
    answer = secured.http_request("Api", "GET", "/items", caller="Denied")
    api_id = secured.physical_id("Api")
    assert answer.status == 403
    assert answer.body["Message"].endswith(
        f"is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/v1/GET/items")


def test_iam_unsigned_and_unknown_principals(secured):
    assert secured.http_request("Api", "GET", "/items").body == {
        "message": "Missing Authentication Token"}
    stranger = secured.http_request("Api", "GET", "/items",
                                    caller="arn:aws:iam::123456789012:role/not-deployed")
    assert stranger.status == 403


def test_iam_conditions_are_refused_not_guessed(secured):
    with pytest.raises(UnsupportedIntegrationError, match="aws:SourceIp"):
        secured.http_request("Api", "GET", "/items", caller="Conditional")


# -- SqsWorkerPool's default stack ----------------------------------------------------------
@pytest.fixture(scope="module")
def default_pool_stack() -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Pool")
    pool = SqsWorkerPool(stack, "Jobs")
    client = iam.Role(stack, "Client", assumed_by=iam.AccountRootPrincipal())
    pool.grant_submit(client)
    pool.grant_read_jobs(client)
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    pool.grant_read_jobs(reader)  # may read jobs back, was never granted submitting
    return stack


def test_the_default_worker_pool_stack_deploys_and_its_api_runs_jobs(default_pool_stack):
    with OfflineAws() as aws:
        aws.deploy(default_pool_stack)
        posted = aws.http_request("Jobs/Api", "POST", "/jobs", caller="Client", body={
            "job_type": "summary", "parameters": {"values": [1, 2, 3]}})
        assert posted.status == 202
        read = aws.http_request("Jobs/Api", "GET", f"/jobs/{posted.body['job_id']}",
                                caller="Client")
        assert (read.status, read.body["status"], read.body["result"]["sum"]) == (
            200, "SUCCEEDED", 6)


def test_a_missing_grant_is_a_403_naming_the_method(default_pool_stack):
    with OfflineAws() as aws:
        aws.deploy(default_pool_stack)
        job = {"job_type": "summary", "parameters": {"values": [1]}}
        refused = aws.http_request("Jobs/Api", "POST", "/jobs", caller="Reader", body=job)
        assert refused.status == 403
        assert refused.body["Message"].endswith("execute-api:Invoke on resource: arn:aws:"
                                                f"execute-api:us-east-1:123456789012:"
                                                f"{aws.physical_id('Jobs/Api')}/v1/POST/jobs")
        assert aws.table_items("Jobs/JobTable") == []
        posted = aws.http_request("Jobs/Api", "POST", "/jobs", caller="Client", body=job)
        read = aws.http_request("Jobs/Api", "GET", f"/jobs/{posted.body['job_id']}",
                                caller="Reader")
        assert (read.status, read.body["status"]) == (200, "SUCCEEDED")
