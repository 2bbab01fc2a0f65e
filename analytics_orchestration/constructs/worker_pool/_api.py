"""The job API: ``POST /jobs`` straight to SQS, ``GET /jobs/{job_id}`` straight to DynamoDB.

No Lambda sits in front of the queue or the table: API Gateway validates the request body
against a JSON schema, then calls SQS ``SendMessage`` (query protocol, form-encoded) or
DynamoDB ``GetItem`` with a role that may do exactly that.

What ``POST /jobs`` queues: the validated body as the message body, plus the message
attributes ``job_id`` (the API request id, also the answer: ``{"job_id": "..."}`` with 202)
and ``submitted_by`` (the caller's IAM ARN, the authorizer's principal, or ``anonymous``).
On a FIFO queue the body's ``group_id`` is the message group, and the request id the
deduplication id unless the queue deduplicates by content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Aws, Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .._foundation import acknowledge
from .._foundation.rest_apis import secure_rest_api
from .options import JobApiOptions

#: What a job id / message group id may look like (the worker accepts the same).
JOB_TYPE_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"
GROUP_ID_PATTERN = "^[A-Za-z0-9_.:-]{1,128}$"
_FORM_CONTENT_TYPE = "'application/x-www-form-urlencoded'"


@dataclass(frozen=True)
class JobApiTarget:
    """What the API writes to and reads from."""

    queue: sqs.IQueue
    fifo: bool
    content_based_deduplication: bool
    job_table: dynamodb.ITable
    encryption_key: kms.IKey


def submission_schema(fifo: bool, parameters: apigw.JsonSchema | None) -> apigw.JsonSchema:
    """``{"job_type": "...", "parameters": {...}}`` (+ ``group_id`` on FIFO queues)."""
    properties = {
        "job_type": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern=JOB_TYPE_PATTERN),
        "parameters": parameters or apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT),
    }
    required = ["job_type", "parameters"]
    if fifo:
        properties["group_id"] = apigw.JsonSchema(
            type=apigw.JsonSchemaType.STRING, pattern=GROUP_ID_PATTERN
        )
        required.append("group_id")
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4,
        title="JobSubmission",
        type=apigw.JsonSchemaType.OBJECT,
        properties=properties,
        required=required,
        additional_properties=False,
    )


def send_message_template(fifo: bool, content_based_deduplication: bool) -> str:
    """The VTL turning the request into a form-encoded SQS ``SendMessage`` call (one line)."""
    caller = (
        '#set($caller = "$context.identity.userArn")'
        '#if($caller == "")#set($caller = "$context.authorizer.principalId")#{end}'
        '#if($caller == "")#set($caller = "anonymous")#{end}'
    )
    parts = [
        "Action=SendMessage",
        "MessageBody=$util.urlEncode($input.body)",
        "MessageAttribute.1.Name=job_id",
        "MessageAttribute.1.Value.DataType=String",
        "MessageAttribute.1.Value.StringValue=$util.urlEncode($context.requestId)",
        "MessageAttribute.2.Name=submitted_by",
        "MessageAttribute.2.Value.DataType=String",
        "MessageAttribute.2.Value.StringValue=$util.urlEncode($caller)",
    ]
    if fifo:
        parts.append("MessageGroupId=$util.urlEncode($input.path('$.group_id'))")
        if not content_based_deduplication:
            parts.append("MessageDeduplicationId=$util.urlEncode($context.requestId)")
    return caller + "&".join(parts)


#: GetItem's answer to the job's JSON, or 404 when there is no row (yet).
JOB_RESPONSE_TEMPLATE = (
    "#set($item = $input.path('$.Item'))"
    '#if("$!item" == "")'
    "#set($context.responseOverride.status = 404)"
    '{"message": "no job with this id (a queued job appears once a worker receives it)"}'
    "#{else}"
    '{"job_id": "$util.escapeJavaScript($item.job_id.S)", '
    '"status": "$util.escapeJavaScript($item.status.S)", '
    '"job_type": "$util.escapeJavaScript($!item.job_type.S)", '
    '"attempts": #if("$!item.attempts.N" != "")$item.attempts.N#{else}0#{end}, '
    '"received_at": "$!item.received_at.S", '
    '"finished_at": #if("$!item.finished_at.S" != "")"$item.finished_at.S"#{else}null#{end}, '
    # escapeJavaScript turns ' into \', which is not JSON: undo that one escape.
    r'''"error": #if("$!item.error.S" != "")'''
    r'''"$util.escapeJavaScript($item.error.S).replaceAll("\\'","'")"#{else}null#{end}, '''
    '"result": #if("$!item.result.S" != "")$item.result.S#{else}null#{end}}'
    "#{end}"
)


def build_job_api(scope: Construct, options: JobApiOptions, target: JobApiTarget
                  ) -> apigw.RestApi:
    """The API, its integration role and both methods."""
    api = secure_rest_api(
        scope,
        "Api",
        rest_api_name=Names.unique_resource_name(scope, max_length=100, separator="-"),
        description=f"Submits jobs to and reads jobs of {scope.node.path}",
        stage_name=options.stage_name,
        throttling_rate_limit=options.throttling_rate_limit,
        throttling_burst_limit=options.throttling_burst_limit,
    )
    role = iam.Role(
        scope, "ApiRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description=f"Lets the job API of {scope.node.path} queue jobs and read job rows",
    )
    # Exactly SendMessage and GetItem, and what SSE-KMS needs for them (the L2 grants add
    # wildcard KMS actions the API never uses).
    target.queue.grant(role, "sqs:SendMessage")
    target.job_table.grant(role, "dynamodb:GetItem")
    target.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")

    method_auth = (
        {"authorizer": options.authorizer} if options.authorizer is not None
        else {"authorization_type": apigw.AuthorizationType.IAM}
    )
    body_validator = api.add_request_validator(
        "BodyValidator", validate_request_body=True, validate_request_parameters=True
    )
    model = api.add_model(
        "JobSubmission", content_type="application/json",
        schema=submission_schema(target.fifo, options.parameters_schema),
    )
    jobs = api.root.add_resource("jobs")
    jobs.add_method(
        "POST",
        apigw.AwsIntegration(
            service="sqs",
            path=f"{Aws.ACCOUNT_ID}/{target.queue.queue_name}",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={"integration.request.header.Content-Type": _FORM_CONTENT_TYPE},
                request_templates={"application/json": send_message_template(
                    target.fifo, target.content_based_deduplication)},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="202",
                        response_templates={
                            "application/json": '{"job_id": "$context.requestId"}'
                        },
                    ),
                    apigw.IntegrationResponse(
                        status_code="500",
                        selection_pattern="[45]\\d{2}",
                        response_templates={"application/json": json.dumps(
                            {"message": "the job could not be queued"})},
                    ),
                ],
            ),
        ),
        request_models={"application/json": model},
        request_validator=body_validator,
        method_responses=[apigw.MethodResponse(status_code="202"),
                          apigw.MethodResponse(status_code="500")],
        **method_auth,
    )
    job = jobs.add_resource("{job_id}")
    job.add_method(
        "GET",
        apigw.AwsIntegration(
            service="dynamodb",
            action="GetItem",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_templates={"application/json": json.dumps({
                    "TableName": target.job_table.table_name,
                    "Key": {"job_id": {"S": "$util.escapeJavaScript($input.params('job_id'))"}},
                    "ConsistentRead": True,
                })},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": JOB_RESPONSE_TEMPLATE},
                    ),
                    apigw.IntegrationResponse(
                        status_code="500",
                        selection_pattern="[45]\\d{2}",
                        response_templates={"application/json": json.dumps(
                            {"message": "the job could not be read"})},
                    ),
                ],
            ),
        ),
        request_parameters={"method.request.path.job_id": True},
        request_validator=body_validator,
        method_responses=[apigw.MethodResponse(status_code="200"),
                          apigw.MethodResponse(status_code="404"),
                          apigw.MethodResponse(status_code="500")],
        **method_auth,
    )
    if options.web_acl is not None:
        wafv2.CfnWebACLAssociation(
            scope, "ApiWebAcl", resource_arn=api.deployment_stage.stage_arn,
            web_acl_arn=options.web_acl.attr_arn,
        )
    else:
        for rule_id in ("AwsSolutions::AwsSolutions-APIG3",
                        "NIST.800.53.R5::NIST.800.53.R5-APIGWAssociatedWithWAF"):
            acknowledge(
                api.deployment_stage,
                rule_id,
                "Every method requires authorization (IAM by default) and the stage is "
                "throttled; a WAF web ACL is opt-in through JobApiOptions(web_acl=...).",
            )
    acknowledge(
        api.deployment_stage,
        "NIST.800.53.R5::NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
        "No cache: POST /jobs enqueues a new job on every call and GET /jobs/{id} answers a "
        "job's current state, which a cached response would show stale.",
    )
    acknowledge(
        api.deployment_stage,
        "NIST.800.53.R5::NIST.800.53.R5-APIGWSSLEnabled",
        "A stage client certificate authenticates API Gateway to HTTP backends; every "
        "integration here is an AWS service integration (SQS, DynamoDB) signed with SigV4 "
        "over TLS, which does not use it.",
    )
    if options.authorizer is None:
        for method in api.methods:
            acknowledge(
                method,
                "AwsSolutions::AwsSolutions-COG4",
                "The method uses IAM authorization (SigV4): submitters are IAM principals "
                "granted execute-api:Invoke through SqsWorkerPool.grant_submit.",
            )
    return api
