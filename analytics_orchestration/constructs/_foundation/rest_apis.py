"""API Gateway REST APIs: regional, logged, traced and throttled."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .compliance import acknowledge
from .logs import log_group

#: Steady-state requests per second and burst of every method, unless a construct says
#: otherwise (API Gateway's own account default is 10,000 / 5,000: no protection at all).
DEFAULT_THROTTLING_RATE_LIMIT = 50.0
DEFAULT_THROTTLING_BURST_LIMIT = 100
DEFAULT_STAGE_NAME = "v1"


def secure_rest_api(
    scope: Construct,
    construct_id: str,
    *,
    rest_api_name: str,
    description: str,
    stage_name: str = DEFAULT_STAGE_NAME,
    throttling_rate_limit: float = DEFAULT_THROTTLING_RATE_LIMIT,
    throttling_burst_limit: int = DEFAULT_THROTTLING_BURST_LIMIT,
    access_logs_key: kms.IKey | None = None,
) -> apigw.RestApi:
    """A regional REST API whose one stage is observable and throttled.

    - access logs in JSON (every standard field) to a log group with finite retention,
      encrypted with ``access_logs_key`` when given;
    - execution logging at ERROR for every method (no request/response data traces, which
      would log payloads), detailed metrics, X-Ray tracing;
    - stage-wide throttling (``throttling_rate_limit`` requests/s, ``throttling_burst_limit``);
    - the account's API Gateway CloudWatch role that execution logging needs, kept when the
      stack is deleted (it is account-wide).

    Methods are added by the caller, with their own authorization.
    """
    access_logs = log_group(scope, f"{construct_id}AccessLogs", encryption_key=access_logs_key)
    api = apigw.RestApi(
        scope,
        construct_id,
        rest_api_name=rest_api_name,
        description=description,
        endpoint_types=[apigw.EndpointType.REGIONAL],
        cloud_watch_role=True,
        deploy_options=apigw.StageOptions(
            stage_name=stage_name,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=True, http_method=True, ip=True, protocol=True, request_time=True,
                resource_path=True, response_length=True, status=True, user=True,
            ),
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
            metrics_enabled=True,
            tracing_enabled=True,
            throttling_rate_limit=throttling_rate_limit,
            throttling_burst_limit=throttling_burst_limit,
        ),
    )
    role = api.node.try_find_child("CloudWatchRole")
    if isinstance(role, iam.Role):
        acknowledge(
            role,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-wide logging role: the AWS-managed policy is the documented "
            "way to let API Gateway write execution logs to any of the account's log groups.",
        )
    return api
