"""Which IAM actions, on which resources, an API call needs.

From the Service Authorization Reference ("Actions, resources, and condition keys for AWS
services", https://docs.aws.amazon.com/service-authorization/latest/reference/) for the
operations that the bundled handlers, the Step Functions integrations and the harness's
deliveries make. An operation missing from this table is reported as *unevaluated* (never
silently treated as allowed by a policy).

Implied KMS use (a principal writing to or reading from a resource encrypted with a
customer-managed key must itself be allowed to use the key, asked with ``kms:ViaService``):
- SQS: SendMessage needs ``kms:GenerateDataKey`` and ``kms:Decrypt``; ReceiveMessage
  ``kms:Decrypt`` (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
- SNS: Publish needs ``kms:GenerateDataKey`` and ``kms:Decrypt``
  (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
- S3 (SSE-KMS): PutObject needs ``kms:GenerateDataKey``, GetObject ``kms:Decrypt``
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
- Kinesis Data Streams (server-side encryption with a customer-managed key): GetRecords
  needs ``kms:Decrypt`` (https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html).
  Only the reading operations are in the table (what the harness's consumers ask).
DynamoDB tables encrypted with a customer-managed key use grants that DynamoDB holds; the
caller needs no KMS permission for item operations, so none is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from analytics_orchestration.testing.core.iam_index import (
    ActionRequest,
    PolicyIndex,
    queue_arn_from_url,
)


def requests_for(index: PolicyIndex, region: str, account: str, service: str,
                 operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    """The action requests for one call, or None when the operation is not in the table."""
    handler = _HANDLERS.get(service)
    if handler is None:
        return None
    found: list[ActionRequest] | None = handler(_Ctx(index, region, account, service),
                                                operation, params)
    return found


class _Ctx:
    def __init__(self, index: PolicyIndex, region: str, account: str, service: str) -> None:
        self.index = index
        self.service = service
        self.region = region
        self.account = account

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def kms(self, resource_arn: str, actions: tuple[str, ...],
            context: Mapping[str, str]) -> list[ActionRequest]:
        key = self.index.key_arn(self.index.encryption.get(resource_arn))
        if key is None:
            return []
        full = {"kms:ViaService": f"{self.service}.{self.region}.amazonaws.com",
                "kms:CallerAccount": self.account, "aws:ViaAWSService": "true", **context}
        return [ActionRequest(a, key, full, kms=True) for a in actions]


# -- S3 ----------------------------------------------------------------------------------
_S3_OBJECT = {
    "PutObject": "s3:PutObject", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject", "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging", "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "ListParts": "s3:ListMultipartUploadParts",
    "GetObjectAttributes": "s3:GetObject", "RestoreObject": "s3:RestoreObject",
}
_S3_VERSIONED = {"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion",
                 "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
                 "s3:PutObjectTagging": "s3:PutObjectVersionTagging"}
_S3_BUCKET = {
    "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket", "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketLocation": "s3:GetBucketLocation", "ListMultipartUploads":
        "s3:ListBucketMultipartUploads", "GetBucketVersioning": "s3:GetBucketVersioning",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
}
_S3_CONTEXT = {"s3:TlsVersion": "1.3", "s3:signatureversion": "AWS4-HMAC-SHA256"}
_S3_LISTING_KEYS = {"Prefix": "s3:prefix", "Delimiter": "s3:delimiter", "MaxKeys": "s3:max-keys"}


def _s3(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    bucket = str(params.get("Bucket", ""))
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if operation in _S3_BUCKET:
        # A listing's Prefix, Delimiter and MaxKeys are the s3:prefix, s3:delimiter and
        # s3:max-keys condition keys (absent when not sent), e.g. a grant limited to
        # ``"StringLike": {"s3:prefix": ["incoming/*"]}``:
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
        listing = {key: str(params[name]) for name, key in _S3_LISTING_KEYS.items()
                   if params.get(name) is not None}
        return [ActionRequest(_S3_BUCKET[operation], bucket_arn, {**_S3_CONTEXT, **listing})]
    if operation == "CopyObject":
        source = params.get("CopySource")
        if isinstance(source, Mapping):
            src_bucket, src_key, version = (str(source.get("Bucket")), str(source.get("Key")),
                                            source.get("VersionId"))
        else:
            text = unquote(str(source)).lstrip("/")
            path, _, query = text.partition("?versionId=")
            src_bucket, _, src_key = path.partition("/")
            version = query or None
        read = "s3:GetObjectVersion" if version else "s3:GetObject"
        src_arn = f"arn:aws:s3:::{src_bucket}"
        return [
            ActionRequest(read, f"{src_arn}/{src_key}", _S3_CONTEXT),
            *ctx.kms(src_arn, ("kms:Decrypt",), {"kms:EncryptionContext:aws:s3:arn": src_arn}),
            ActionRequest("s3:PutObject", f"{bucket_arn}/{params.get('Key')}", _S3_CONTEXT),
            *ctx.kms(bucket_arn, ("kms:GenerateDataKey",),
                     {"kms:EncryptionContext:aws:s3:arn": bucket_arn}),
        ]
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        return [ActionRequest(
            "s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
            f"{bucket_arn}/{o.get('Key')}", _S3_CONTEXT) for o in objects]
    action = _S3_OBJECT.get(operation)
    if action is None:
        return None
    if params.get("VersionId") and action in _S3_VERSIONED:
        action = _S3_VERSIONED[action]
    found = [ActionRequest(action, f"{bucket_arn}/{params.get('Key')}", _S3_CONTEXT)]
    kms_context = {"kms:EncryptionContext:aws:s3:arn": bucket_arn}
    if action == "s3:PutObject":
        found += ctx.kms(bucket_arn, ("kms:GenerateDataKey",), kms_context)
    elif action in ("s3:GetObject", "s3:GetObjectVersion") and operation != "HeadObject":
        found += ctx.kms(bucket_arn, ("kms:Decrypt",), kms_context)
    return found


# -- SQS ---------------------------------------------------------------------------------
_SQS = {
    "SendMessage": "sqs:SendMessage", "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage", "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage", "ChangeMessageVisibility":
        "sqs:ChangeMessageVisibility", "ChangeMessageVisibilityBatch":
        "sqs:ChangeMessageVisibility", "GetQueueAttributes": "sqs:GetQueueAttributes",
    "PurgeQueue": "sqs:PurgeQueue", "GetQueueUrl": "sqs:GetQueueUrl",
    "ListQueueTags": "sqs:ListQueueTags",
}


def _sqs(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    action = _SQS.get(operation)
    if action is None:
        return None
    if operation == "GetQueueUrl":
        owner = params.get("QueueOwnerAWSAccountId") or ctx.account
        arn = f"arn:aws:sqs:{ctx.region}:{owner}:{params.get('QueueName')}"
    else:
        arn = queue_arn_from_url(str(params.get("QueueUrl", "")), ctx.region)
    found = [ActionRequest(action, arn)]
    kms_context = {"kms:EncryptionContext:aws:sqs:arn": arn}
    if action == "sqs:SendMessage":
        found += ctx.kms(arn, ("kms:GenerateDataKey", "kms:Decrypt"), kms_context)
    elif action == "sqs:ReceiveMessage":
        found += ctx.kms(arn, ("kms:Decrypt",), kms_context)
    return found


# -- SNS ---------------------------------------------------------------------------------
def _sns(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("Publish", "PublishBatch", "GetTopicAttributes"):
        return None
    arn = str(params.get("TopicArn") or params.get("TargetArn") or "")
    if not arn.startswith("arn:"):
        arn = ctx.arn("sns", arn)
    if operation == "GetTopicAttributes":
        return [ActionRequest("sns:GetTopicAttributes", arn)]
    return [ActionRequest("sns:Publish", arn),
            *ctx.kms(arn, ("kms:GenerateDataKey", "kms:Decrypt"),
                     {"kms:EncryptionContext:aws:sns:topicArn": arn})]


# -- EventBridge -------------------------------------------------------------------------
def _events(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation == "InvokeApiDestination":  # a rule's role calling an API destination
        return [ActionRequest("events:InvokeApiDestination", str(params["ApiDestinationArn"]))]
    if operation != "PutEvents":
        return None
    buses: list[str] = []
    for entry in params.get("Entries") or []:
        bus = str(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else ctx.arn("events", f"event-bus/{bus}")
        if arn not in buses:
            buses.append(arn)
    return [ActionRequest("events:PutEvents", arn) for arn in buses]


# -- DynamoDB ----------------------------------------------------------------------------
_DYNAMODB_ITEM = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
                  "DescribeTable", "ConditionCheckItem", "DescribeTimeToLive"}


def _dynamodb(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    def table(name: str, index: str | None = None) -> str:
        arn = name if name.startswith("arn:") else ctx.arn("dynamodb", f"table/{name}")
        return f"{arn}/index/{index}" if index else arn

    if operation in _DYNAMODB_ITEM:
        index = params.get("IndexName") if operation in ("Query", "Scan") else None
        return [ActionRequest(f"dynamodb:{operation}", table(str(params.get("TableName")),
                                                               index))]
    if operation == "BatchWriteItem":
        # Its own action, not PutItem/DeleteItem (Service Authorization Reference).
        return [ActionRequest("dynamodb:BatchWriteItem", table(name))
                for name in params.get("RequestItems") or {}]
    if operation == "BatchGetItem":
        return [ActionRequest("dynamodb:BatchGetItem", table(name))
                for name in params.get("RequestItems") or {}]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
        found = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                found.append(ActionRequest(f"dynamodb:{actions[kind]}",
                                           table(str(body.get("TableName")))))
        return found
    return None


# -- Step Functions ----------------------------------------------------------------------
def _states(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation in ("StartExecution", "StartSyncExecution", "DescribeStateMachine",
                     "ListExecutions"):
        return [ActionRequest(f"states:{operation}", str(params.get("stateMachineArn")))]
    if operation in ("DescribeExecution", "StopExecution", "GetExecutionHistory",
                     "RedriveExecution"):
        return [ActionRequest(f"states:{operation}", str(params.get("executionArn")))]
    if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        # No resource type: only "Resource": "*" grants them.
        return [ActionRequest(f"states:{operation}", "*")]
    return None


# -- Lambda ------------------------------------------------------------------------------
def _lambda(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("Invoke", "InvokeAsync", "GetFunction", "GetFunctionConfiguration"):
        return None
    name = str(params.get("FunctionName", ""))
    if name.startswith("arn:"):
        arn = name
    elif ":" in name:  # name:qualifier or ACCOUNT:function:name
        arn = ctx.arn("lambda", f"function:{name}")
    else:
        arn = ctx.arn("lambda", f"function:{name}")
    if params.get("Qualifier") and arn.count(":") == 6:
        arn = f"{arn}:{params['Qualifier']}"
    action = "lambda:InvokeFunction" if operation.startswith("Invoke") else f"lambda:{operation}"
    return [ActionRequest(action, arn)]


# -- KMS, SSM, Secrets Manager, CloudWatch, Firehose, Glue, Athena -----------------------
def _kms(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey",
                         "GenerateDataKeyWithoutPlaintext", "ReEncrypt"):
        return None
    key = ctx.index.key_arn(str(params.get("KeyId") or "")) or params.get("KeyId")
    if not key:
        return None  # Decrypt without KeyId: the key is inside the ciphertext
    context = {f"kms:EncryptionContext:{k}": str(v)
               for k, v in (params.get("EncryptionContext") or {}).items()}
    return [ActionRequest(f"kms:{operation}", str(key), {"kms:CallerAccount": ctx.account,
                                                         **context})]


def _ssm(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    names = [params["Name"]] if "Name" in params else list(params.get("Names") or [])
    if operation not in ("GetParameter", "GetParameters", "PutParameter") or not names:
        return None
    return [ActionRequest(f"ssm:{operation}",
                          ctx.arn("ssm", f"parameter/{str(n).lstrip('/')}")) for n in names]


def _secretsmanager(ctx: _Ctx, operation: str,
                    params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("GetSecretValue", "DescribeSecret"):
        return None
    secret = str(params.get("SecretId"))
    arn = secret if secret.startswith("arn:") else ctx.arn("secretsmanager",
                                                          f"secret:{secret}-??????")
    return [ActionRequest(f"secretsmanager:{operation}", arn)]


def _monitoring(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation != "PutMetricData":
        return None
    return [ActionRequest("cloudwatch:PutMetricData", "*",
                          {"cloudwatch:namespace": str(params.get("Namespace"))})]


def _firehose(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("PutRecord", "PutRecordBatch", "DescribeDeliveryStream"):
        return None
    arn = ctx.arn("firehose", f"deliverystream/{params.get('DeliveryStreamName')}")
    return [ActionRequest(f"firehose:{operation}", arn)]


_KINESIS_READ = ("DescribeStream", "DescribeStreamSummary", "ListShards", "GetShardIterator",
                 "GetRecords")


def _kinesis(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in _KINESIS_READ:
        return None
    arn = str(params.get("StreamARN") or ctx.arn("kinesis", f"stream/{params.get('StreamName')}"))
    found = [ActionRequest(f"kinesis:{operation}", arn)]
    if operation == "GetRecords":
        found += ctx.kms(arn, ("kms:Decrypt",), {"kms:EncryptionContext:aws:kinesis:arn": arn})
    return found


def _glue(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation in ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun"):
        job = ctx.arn("glue", f"job/{params.get('JobName')}")
        return [ActionRequest(f"glue:{operation}", job)]
    if operation in ("StartCrawler", "GetCrawler"):
        crawler = ctx.arn("glue", f"crawler/{params.get('Name')}")
        return [ActionRequest(f"glue:{operation}", crawler)]
    if operation in ("GetTable", "GetTableVersion", "GetTableVersions"):
        # Glue authorizes a table request on the catalog, the database and the table:
        # https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html
        database, table = params.get("DatabaseName"), params.get("Name")
        return [ActionRequest(f"glue:{operation}", arn) for arn in (
            ctx.arn("glue", "catalog"), ctx.arn("glue", f"database/{database}"),
            ctx.arn("glue", f"table/{database}/{table}"))]
    return None


def _athena(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation in ("StartQueryExecution", "GetWorkGroup"):
        group = params.get("WorkGroup") or "primary"
        return [ActionRequest(f"athena:{operation}", ctx.arn("athena", f"workgroup/{group}"))]
    return None


def _pass_role(role: Any, service: str) -> list[ActionRequest]:
    """Handing a role to a service needs ``iam:PassRole`` on it (``iam:PassedToService``):
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"""
    if not role:
        return []
    return [ActionRequest("iam:PassRole", str(role),
                          {"iam:PassedToService": f"{service}.amazonaws.com"})]


def _batch(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation != "SubmitJob":
        return None

    def arn(kind: str, value: Any) -> str:
        text = str(value)
        return text if text.startswith("arn:") else ctx.arn("batch", f"{kind}/{text}")

    return [ActionRequest("batch:SubmitJob", arn("job-definition", params.get("JobDefinition"))),
            ActionRequest("batch:SubmitJob", arn("job-queue", params.get("JobQueue")))]


def _emr_serverless(ctx: _Ctx, operation: str,
                    params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation not in ("StartJobRun", "GetJobRun", "CancelJobRun"):
        return None
    application = ctx.arn("emr-serverless", f"/applications/{params.get('ApplicationId')}")
    return [ActionRequest(f"emr-serverless:{operation}", application),
            *_pass_role(params.get("ExecutionRoleArn"), "emr-serverless")]


_SAGEMAKER = {"CreateProcessingJob": ("processing-job", "ProcessingJobName", "RoleArn"),
              "CreateTrainingJob": ("training-job", "TrainingJobName", "RoleArn"),
              "CreateModel": ("model", "ModelName", "ExecutionRoleArn"),
              "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName", None),
              "CreateEndpoint": ("endpoint", "EndpointName", None),
              "UpdateEndpoint": ("endpoint", "EndpointName", None),
              "DescribeProcessingJob": ("processing-job", "ProcessingJobName", None),
              "DescribeTrainingJob": ("training-job", "TrainingJobName", None)}


def _sagemaker(ctx: _Ctx, operation: str, params: dict[str, Any]) -> list[ActionRequest] | None:
    if operation == "ListEndpoints":
        return [ActionRequest("sagemaker:ListEndpoints", "*")]
    if operation not in _SAGEMAKER:
        return None
    kind, name_key, role_key = _SAGEMAKER[operation]
    # SageMaker ARNs carry the resource name in lower case.
    arn = ctx.arn("sagemaker", f"{kind}/{str(params.get(name_key, '')).lower()}")
    return [ActionRequest(f"sagemaker:{operation}", arn),
            *(_pass_role(params.get(role_key), "sagemaker") if role_key else [])]


_REDSHIFT_STATEMENT_CALLS = ("DescribeStatement", "GetStatementResult", "CancelStatement")


def _redshift_data(ctx: _Ctx, operation: str,
                   params: dict[str, Any]) -> list[ActionRequest] | None:
    """The Data API (Service Authorization Reference, "Amazon Redshift Data API").

    Execute calls name the workgroup (or cluster) and need its credentials:
    ``redshift-serverless:GetCredentials`` on the workgroup with IAM authentication, or
    ``secretsmanager:GetSecretValue`` on ``SecretArn``. Statement calls accept no resource
    but ``*`` and carry ``redshift-data:statement-owner-iam-userid`` (who ran the statement);
    ``ListStatements`` accepts ``*`` only.
    """
    if operation in ("ExecuteStatement", "BatchExecuteStatement"):
        workgroup = params.get("WorkgroupName")
        if workgroup is not None:
            target = ctx.index.workgroup_arns.get(str(workgroup)) or ctx.arn(
                "redshift-serverless", f"workgroup/{workgroup}")
        else:
            target = ctx.arn("redshift", f"cluster:{params.get('ClusterIdentifier')}")
        found = [ActionRequest(f"redshift-data:{operation}", target)]
        secret = params.get("SecretArn")
        if secret:
            found.append(ActionRequest("secretsmanager:GetSecretValue", str(secret)))
        elif workgroup is not None:
            found.append(ActionRequest("redshift-serverless:GetCredentials", target))
        return found
    if operation == "ListStatements":
        # It lists the caller's own statements only. No statement-owner key is supplied:
        # AWS documents none a list call would carry, so a grant conditioned on it is
        # refused here (the strict side); grant ListStatements unconditioned.
        return [ActionRequest("redshift-data:ListStatements", "*")]
    if operation in _REDSHIFT_STATEMENT_CALLS:
        statement = str(params.get("Id", "")).split(":", 1)[0]
        owner = ctx.index.statement_owners.get(statement)
        context = {} if owner is None else {"redshift-data:statement-owner-iam-userid": owner}
        return [ActionRequest(f"redshift-data:{operation}", "*", context)]
    return None


_HANDLERS: dict[str, Any] = {
    "batch": _batch, "emr-serverless": _emr_serverless, "sagemaker": _sagemaker,
    "s3": _s3, "sqs": _sqs, "sns": _sns, "events": _events, "dynamodb": _dynamodb,
    "states": _states, "lambda": _lambda, "kms": _kms, "ssm": _ssm,
    "secretsmanager": _secretsmanager, "monitoring": _monitoring, "firehose": _firehose,
    "kinesis": _kinesis,
    "glue": _glue, "athena": _athena, "redshift-data": _redshift_data,
}
