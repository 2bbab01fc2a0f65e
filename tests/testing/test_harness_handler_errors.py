"""A handler that cannot be imported, or raises where no caller sees it, fails the test.

Without this a missing package (Powertools not installed) or a bug in an asynchronously
invoked handler shows up only as output that never arrives: the event is retried, then
dead-lettered, and the test sees empty tables.
"""

from __future__ import annotations

import json
import textwrap

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from analytics_orchestration.testing import (
    HandlerImportError,
    OfflineAws,
    UnexpectedHandlerErrors,
)

pytest_plugins = ["pytester"]

RAISES_ON_ASYNC = """
    def helper(event):
        return event["missing"]

    def handler(event, context):
        return helper(event)
"""


def _stack(make_asset, source: str, handler: str = "index.handler") -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Errors")
    lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler=handler,
                     code=lambda_.Code.from_asset(make_asset("errors", source)))
    app.synth()
    return stack


def test_a_handler_that_cannot_be_imported_fails_the_deploy_with_its_traceback(make_asset):
    stack = _stack(make_asset, """
        import json
        import a_layer_package_that_is_not_installed

        def handler(event, context):
            return {}
    """)
    with OfflineAws() as aws, pytest.raises(HandlerImportError) as raised:
        aws.deploy(stack)
    message = str(raised.value)
    assert raised.value.function_name.startswith("Errors-Fn")
    assert "handler 'index.handler' cannot be loaded" in message
    assert "No module named 'a_layer_package_that_is_not_installed'" in message
    assert "index.py\", line 3" in message  # the import's own traceback
    assert "analytics-orchestration[testing]" in message


def test_a_missing_handler_function_fails_the_deploy(make_asset):
    stack = _stack(make_asset, RAISES_ON_ASYNC, handler="index.main")
    with OfflineAws() as aws, pytest.raises(HandlerImportError, match="no callable 'main'"):
        aws.deploy(stack)


def test_an_async_handler_error_is_recorded_with_its_traceback(make_asset):
    stack = _stack(make_asset, RAISES_ON_ASYNC)
    with OfflineAws() as aws:
        aws.deploy(stack)
        aws.client("lambda").invoke(FunctionName=aws.physical_id("Fn"), InvocationType="Event",
                                    Payload=json.dumps({"id": 1}).encode())
        aws.settle()  # no raise: on AWS the event is retried, then dropped or dead-lettered

        errors = aws.lambda_errors()
        assert len(errors) == 3  # the first try and Lambda's two async retries
        assert errors == aws.lambda_errors("Fn")
        assert {e.error["errorType"] for e in errors} == {"KeyError"}
        with pytest.raises(UnexpectedHandlerErrors) as raised:
            aws.check_lambda_errors()
        report = str(raised.value)
        assert raised.value.count == 3
        assert "KeyError: 'missing'" in report and '"id": 1' in report
        assert "in helper" in report and 'return event["missing"]' in report

        aws.expect_lambda_errors("Fn", error_type="ValueError")  # not this error
        with pytest.raises(UnexpectedHandlerErrors):
            aws.check_lambda_errors()
        aws.expect_lambda_errors("Fn", error_type="KeyError")
        aws.check_lambda_errors()


def test_errors_returned_to_a_synchronous_caller_need_no_declaration(make_asset):
    stack = _stack(make_asset, RAISES_ON_ASYNC)
    with OfflineAws() as aws:
        aws.deploy(stack)
        assert aws.invoke("Fn", {"id": 1}).error["errorType"] == "KeyError"
        response = aws.client("lambda").invoke(FunctionName=aws.physical_id("Fn"),
                                               Payload=b"{}")
        assert response["FunctionError"] == "Unhandled"
        assert len(aws.lambda_errors()) == 2
        assert aws.unexpected_lambda_errors() == []


#: The inner tests deploy a template without CDK (no jsii in the inner run): one function
#: with inline code, invoked asynchronously.
INNER_TESTS = '''
import json

import pytest

TEMPLATE = {"Resources": {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.12", "Handler": "index.handler",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\\n    raise RuntimeError('boom')\\n"},
    }},
}}


def _fail_once(aws):
    aws.deploy(template=TEMPLATE, stack_name="Inner")
    aws.client("lambda").invoke(FunctionName=aws.physical_id("Fn"), InvocationType="Event",
                                Payload=b"{}")
    aws.settle()


def test_undeclared(offline_aws):
    _fail_once(offline_aws)


def test_declared(offline_aws):
    offline_aws.expect_lambda_errors("Fn", error_type="RuntimeError")
    _fail_once(offline_aws)
'''


def test_the_offline_aws_fixture_fails_a_test_at_teardown_on_undeclared_errors(pytester):
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    # A subprocess, not in-process: pytester restores sys.modules after an in-process run,
    # dropping the moto modules the inner run imported first, and the harness's patches of
    # later tests in this worker would then land on copies moto no longer uses.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_undeclared*",
        "*UnexpectedHandlerErrors: 3 unexpected handler error(s)*",
        "*RuntimeError: boom*",
    ])
