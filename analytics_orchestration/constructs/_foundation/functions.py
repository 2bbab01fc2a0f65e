"""Python Lambda functions bundled from ``analytics_orchestration/lambda_src/<name>``.

No Docker bundling: a handler folder is zipped as it is (no ``__pycache__``), and its
only run-time dependencies are boto3 (in the runtime) and Powertools for AWS Lambda
(Python), which comes from Powertools' public AWS-managed layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import CfnMapping, Duration, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .compliance import acknowledge
from .logs import DEFAULT_LOG_RETENTION
from .logs import log_group as build_log_group
from .queues import dead_letter_queue_for_service
from .roles import acknowledge_resourceless_actions, depend_on_role_policies_only

LAMBDA_SOURCE_ROOT = Path(__file__).resolve().parents[2] / "lambda_src"
#: Files never shipped in a handler asset (they would also change the asset hash).
ASSET_EXCLUDES = ("__pycache__", "*.pyc", ".pytest_cache")

#: The newest Python runtime aws-cdk-lib offers (``determine_latest_python_runtime``
#: answers with the newest one available in *every* region, which lags behind).
LATEST_PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_MEMORY_SIZE_MB = 256
DEFAULT_TIMEOUT = Duration.seconds(30)
#: Asynchronous invocations: Lambda's retries and how long an event may wait.
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_ASYNC_MAX_EVENT_AGE = Duration.hours(6)
#: Reserved concurrency of a function that has no other cap (no event source mapping
#: limiting it): at most this many run at once, so a burst of events cannot exhaust the
#: account's concurrency (starving every other function) or overrun what the handler
#: writes to. Throttled asynchronous events are retried by Lambda for up to
#: :data:`DEFAULT_ASYNC_MAX_EVENT_AGE`; synchronous callers (Step Functions, Pipes) retry
#: the throttling error. Accounts whose concurrency quota is below
#: ``100 + this`` cannot reserve it: pass ``reserved_concurrency=None`` and a reason there.
DEFAULT_RESERVED_CONCURRENCY = 10
#: Why no function of the library runs in a VPC (cdk-nag NIST and Control Tower rules).
OUTSIDE_VPC_REASON = (
    "The function reaches only AWS service APIs (IAM-authorized, over TLS) and no private "
    "network resource; a VPC would add interface endpoints or a NAT gateway per service "
    "without narrowing what its role may do."
)

#: Version of the Powertools for AWS Lambda (Python) v3 public layer.
POWERTOOLS_LAYER_VERSION = 27
#: Account that publishes the public Powertools layer, per AWS partition.
POWERTOOLS_LAYER_ACCOUNTS = {"aws": "017000801446", "aws-cn": "498634801083"}
_POWERTOOLS_MAPPING_ID = "AnalyticsOrchestrationPowertoolsLayerAccounts"


def acknowledge_no_dead_letter_queue(function: lambda_.IFunction, reason: str) -> None:
    """Acknowledge, with ``reason``, the packs' findings that ``function`` has no DLQ.

    A function's DLQ receives failed *asynchronous* invocations only; ``reason`` says where
    this function's failures go instead.
    """
    for rule_id in ("Serverless::Serverless-LambdaDLQ", "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ"):
        acknowledge(function, rule_id, reason)


@dataclass(frozen=True)
class PythonFunction:
    """A function and the resources built with it."""

    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup
    #: Where failed asynchronous invocations end, when the function is invoked that way.
    failure_queue: sqs.Queue | None


def handler_asset_path(handler_name: str) -> Path:
    """The folder of a bundled handler; a clear error when it does not exist."""
    path = LAMBDA_SOURCE_ROOT / handler_name
    if not (path / "index.py").is_file():
        raise FileNotFoundError(f"no Lambda handler at {path} (expected {path / 'index.py'})")
    return path


def powertools_layer(
    scope: Construct, construct_id: str, runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
) -> lambda_.ILayerVersion:
    """Powertools' public layer for ``runtime`` and ``architecture``, resolved at deploy.

    The ARN is assembled from the stack's partition and region, so one environment-
    agnostic template deploys in any region; the publishing account is looked up in a
    mapping per partition.
    """
    stack = Stack.of(scope)
    mapping = stack.node.try_find_child(_POWERTOOLS_MAPPING_ID)
    if mapping is None:
        mapping = CfnMapping(
            stack,
            _POWERTOOLS_MAPPING_ID,
            mapping={partition: {"account": account}
                     for partition, account in POWERTOOLS_LAYER_ACCOUNTS.items()},
        )
    assert isinstance(mapping, CfnMapping)
    python_version = runtime.name.replace(".", "")
    arch = "arm64" if architecture.name == lambda_.Architecture.ARM_64.name else "x86_64"
    arn = Fn.join(
        "",
        [
            "arn:", stack.partition, ":lambda:", stack.region, ":",
            mapping.find_in_map(stack.partition, "account"),
            f":layer:AWSLambdaPowertoolsPythonV3-{python_version}-{arch}:"
            f"{POWERTOOLS_LAYER_VERSION}",
        ],
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)


@jsii.implements(lambda_.IDestination)
class _QueueDestination:
    """An SQS on-failure destination granting exactly what Lambda uses to deliver.

    CDK's ``SqsDestination`` grants ``grant_send_messages``, which on an encrypted queue
    adds ``kms:Encrypt``, ``kms:ReEncrypt*`` and ``kms:GenerateDataKey*``; sending to an
    SSE-KMS queue needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` only.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(
        self, _scope: Construct, fn: lambda_.IFunction, *,
        type: lambda_.DestinationType | None = None,
    ) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(iam.PolicyStatement(
            actions=["sqs:SendMessage"], resources=[self.queue.queue_arn]))
        key = self.queue.encryption_master_key
        if key is not None:
            key.grant(fn, "kms:GenerateDataKey", "kms:Decrypt")
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    handler_name: str | None = None,
    code: lambda_.Code | None = None,
    handler: str = "index.handler",
    description: str,
    environment: Mapping[str, str] | None = None,
    memory_size: int = DEFAULT_MEMORY_SIZE_MB,
    timeout: Duration = DEFAULT_TIMEOUT,
    invoked_asynchronously: bool = False,
    service_name: str | None = None,
    metrics_namespace: str = "AnalyticsOrchestration",
    log_retention: logs.RetentionDays | None = None,
    failure_queue_key: kms.IKey | None = None,
    reserved_concurrency: int | None = DEFAULT_RESERVED_CONCURRENCY,
    concurrency_cap: str | None = None,
    log_encryption_key: kms.IKey | None = None,
    vpc: ec2.IVpc | None = None,
    vpc_subnets: ec2.SubnetSelection | None = None,
    security_groups: list[ec2.ISecurityGroup] | None = None,
) -> PythonFunction:
    """A least-privilege, traced Python function.

    Its code is either the library's handler ``lambda_src/<handler_name>`` or the caller's
    ``code`` asset with ``handler`` (exactly one of the two).

    - the newest Python runtime aws-cdk-lib offers, on Graviton (arm64);
    - its own role, allowed only to write to its own log group (grant the rest);
    - X-Ray active tracing; a log group with finite retention, encrypted with
      ``log_encryption_key`` (the owning construct's key; else the stack's shared key);
    - with ``invoked_asynchronously``, Lambda retries twice and then sends the failed
      event, with the error that failed it, to an SQS on-failure destination
      (``failure_queue``), so no event is lost; ``failure_queue_key`` encrypts that queue
      (give the key of the data the events describe: a failed event keeps its payload);
    - ``reserved_concurrency`` (default :data:`DEFAULT_RESERVED_CONCURRENCY`) caps how many
      run at once. A caller whose function is capped otherwise (an SQS event source's
      maximum concurrency) passes ``None`` and says what caps it in ``concurrency_cap``;
    - outside any VPC (it calls AWS APIs only: :data:`OUTSIDE_VPC_REASON`), unless ``vpc``
      is given: for an API AWS answers only from inside a VPC (a private MWAA web server's
      REST API); then in ``vpc_subnets`` with ``security_groups``.
    """
    if (handler_name is None) == (code is None):
        raise ValueError("python_function: give exactly one of handler_name and code")
    if (reserved_concurrency is None) == (concurrency_cap is None):
        raise ValueError(
            "python_function: give reserved_concurrency or, when something else caps the "
            "function's concurrency, reserved_concurrency=None and concurrency_cap"
        )
    runtime = LATEST_PYTHON_RUNTIME
    architecture = lambda_.Architecture.ARM_64
    fn_log_group = build_log_group(
        scope, f"{construct_id}LogGroup", retention=log_retention or DEFAULT_LOG_RETENTION,
        encryption_key=log_encryption_key,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Execution role of {description}",
    )
    failure_queue = (
        dead_letter_queue_for_service(
            scope, f"{construct_id}FailureQueue",
            used_by=f"the asynchronous invocations of {construct_id}",
            encryption_key=failure_queue_key,
        )
        if invoked_asynchronously
        else None
    )
    env = {
        "POWERTOOLS_SERVICE_NAME": service_name or handler_name or construct_id,
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
        **(environment or {}),
    }
    function = lambda_.Function(
        scope,
        construct_id,
        description=description,
        runtime=runtime,
        architecture=architecture,
        handler="index.handler" if handler_name else handler,
        code=code or lambda_.Code.from_asset(
            str(handler_asset_path(handler_name or "")), exclude=list(ASSET_EXCLUDES)
        ),
        layers=[powertools_layer(scope, f"{construct_id}Powertools", runtime, architecture)],
        memory_size=memory_size,
        timeout=timeout,
        tracing=lambda_.Tracing.ACTIVE,
        role=role,
        log_group=fn_log_group,
        environment=env,
        on_failure=_QueueDestination(failure_queue) if failure_queue else None,
        retry_attempts=DEFAULT_ASYNC_RETRY_ATTEMPTS if invoked_asynchronously else None,
        max_event_age=DEFAULT_ASYNC_MAX_EVENT_AGE if invoked_asynchronously else None,
        reserved_concurrent_executions=reserved_concurrency,
        vpc=vpc,
        vpc_subnets=vpc_subnets if vpc is not None else None,
        security_groups=security_groups if vpc is not None else None,
    )
    if failure_queue is not None:
        acknowledge_no_dead_letter_queue(
            function,
            "Failed asynchronous events go to the on-failure destination, which keeps the "
            "error with the event; a DLQ as well would deliver every failure twice.",
        )
    if concurrency_cap is not None:
        acknowledge(function, "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
                    f"No reserved concurrency: {concurrency_cap}")
    if vpc is None:
        acknowledge(function, "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                    OUTSIDE_VPC_REASON)
        acknowledge(function, "cdk-validator-cfnguard::lambda_inside_vpc_check",
                    OUTSIDE_VPC_REASON)
    fn_log_group.grant_write(role)
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    depend_on_role_policies_only(cfn_function, role)
    acknowledge_resourceless_actions(role, "X-Ray's PutTraceSegments and PutTelemetryRecords")
    return PythonFunction(
        function=function, role=role, log_group=fn_log_group, failure_queue=failure_queue
    )
