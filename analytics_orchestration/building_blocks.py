"""Secure building blocks for the resources an app keeps next to the patterns.

The pattern constructs build everything they own through the library's private
foundation. An app also has resources of its own around them: the queues its consumers
read, the buckets its jobs write, a platform key, the topic its alarms notify, its own
small workflows. These are
the same builders, public, so those resources get the same defaults as the patterns'
(README, "Secure and reliable defaults") instead of a hand-written copy of them::

    from analytics_orchestration import building_blocks as blocks

    key = blocks.secure_key(self, "PlatformKey", description="Encrypts the platform")
    alarms = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
    loader = blocks.queue_with_dead_letter_queue(
        self, "LoaderQueue", visibility_timeout=Duration.minutes(6), encryption_key=key)
    indexer = blocks.python_function(
        self, "Indexer", code_path="handlers/indexer", handler="indexer.handler",
        description="Indexes accepted extracts").function
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from .constructs import _foundation as foundation
from .constructs._foundation import PythonFunction, QueueWithDeadLetterQueue
from .constructs._foundation.functions import (
    ASSET_EXCLUDES,
    DEFAULT_MEMORY_SIZE_MB,
    DEFAULT_RESERVED_CONCURRENCY,
    DEFAULT_TIMEOUT,
)
from .constructs._foundation.topics import allow_cloudwatch_alarms
from .constructs._foundation.validation import (
    SERVICE_PRINCIPAL,
    Items,
    Number,
    ProblemCollector,
    Span,
    Text,
    is_unresolved,
    validated_props,
)
from .errors import ConfigurationError

__all__ = [
    "PythonFunction",
    "QueueWithDeadLetterQueue",
    "access_log_bucket",
    "alarm_topic",
    "log_group",
    "observable_state_machine",
    "private_vpc",
    "python_function",
    "queue_with_dead_letter_queue",
    "secure_bucket",
    "secure_key",
    "secure_repository",
    "secure_topic",
]

# Each building block is the foundation builder itself, validated like the patterns: every
# prop checked against its annotation and the AWS limits below before anything is built,
# all problems in one ConfigurationError naming each prop.


def _fifo_only(*props: str) -> Any:
    def check(problems: ProblemCollector, values: Mapping[str, Any]) -> None:
        if values.get("fifo"):
            return
        for prop in props:
            value = values.get(prop)
            if value not in (None, False):
                problems.add(prop, value, "only applies to a FIFO resource (fifo=True)")
    return check


#: An IPv4 CIDR block with a /16 to /28 mask (what a VPC accepts); CDK splits it into
#: subnets while the app is built, so it cannot be a token.
_CIDR = Text(
    literal=True,
    pattern=r"((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)/(1[6-9]|2[0-8])",
    meaning="an IPv4 CIDR block with a /16 to /28 mask, e.g. '10.0.0.0/16'",
)

access_log_bucket = validated_props()(foundation.access_log_bucket)
log_group = validated_props()(foundation.log_group)
observable_state_machine = validated_props({
    # Standard workflows run up to a year, Express ones five minutes (checked by AWS).
    "timeout": Span(Duration.seconds(1), Duration.days(365)),
    "comment": Text(max_length=1024),
})(foundation.observable_state_machine)
private_vpc = validated_props({
    "max_azs": Number(1, 6, literal=True),
    "interface_endpoints": Items(min_items=0, unique=True),
    "cidr": _CIDR,
})(foundation.private_vpc)
queue_with_dead_letter_queue = validated_props(
    {
        "visibility_timeout": Span(Duration.seconds(0), Duration.hours(12), whole_seconds=True),
        "max_receive_count": Number(1, 1000),
        "retention_period": Span(Duration.minutes(1), Duration.days(14), whole_seconds=True),
    },
    checks=[_fifo_only("content_based_deduplication")],
)(foundation.queue_with_dead_letter_queue)
secure_bucket = validated_props({
    "server_access_logs_prefix": Text(non_empty=False, max_length=1024),
    "noncurrent_version_expiration": Span(Duration.days(1), unit="days"),
    "lifecycle_rules": Items(min_items=0, max_items=999),
})(foundation.secure_bucket)
secure_key = validated_props({"description": Text(max_length=8192)})(foundation.secure_key)
secure_repository = validated_props({
    # ECR lifecycle rules keep 1 to 10,000 images (the countNumber limit of the policy).
    "max_image_count": Number(1, 10_000),
})(foundation.secure_repository)
secure_topic = validated_props(
    {
        "publishers": Items(min_items=0, each=SERVICE_PRINCIPAL, unique=True),
        "display_name": Text(max_length=100),
        "message_retention_period_in_days": Number(1, 365),
    },
    checks=[_fifo_only("message_retention_period_in_days")],
)(foundation.secure_topic)


@validated_props()
def alarm_topic(scope: Construct, construct_id: str, *, encryption_key: kms.IKey) -> sns.Topic:
    """A KMS-encrypted, TLS-only topic that this account's CloudWatch alarms can notify.

    Its topic policy allows ``cloudwatch.amazonaws.com`` to publish and its key policy lets
    CloudWatch use ``encryption_key``, both only for alarms of this account and Region
    (``aws:SourceAccount``, ``aws:SourceArn``): a topic policy replaces SNS's default one,
    so without them every alarm would go to ALARM and notify nobody. EventBridge rules of
    the library that target it publish through a role of their own instead.
    """
    topic = secure_topic(scope, construct_id, master_key=encryption_key)
    allow_cloudwatch_alarms(topic)
    return topic


# --------------------------------------------------------------------------- functions

#: A handler as Lambda names it: the module (dotted, relative to the code folder), then
#: the function. It names a file read while the app is built, so it cannot be a token.
_HANDLER_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+"
#: Environment variable names Lambda accepts: a letter, then letters, digits, underscores.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
#: The variables Lambda sets itself and refuses in a function's configuration (Lambda
#: developer guide, "Defined runtime environment variables": reserved keys).
_RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
#: Far above any Region's concurrency quota: a larger reservation can only be a mistake.
_MAX_RESERVED_CONCURRENCY = 100_000


def _module_source(folder: Path, module: str) -> Path | None:
    """The file of ``module`` (``pkg.app`` -> ``pkg/app.py`` or ``pkg/app/__init__.py``)."""
    base = folder.joinpath(*module.split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def _handler_in_code(problems: ProblemCollector, values: Mapping[str, Any]) -> None:
    """``code_path`` is a folder whose ``handler`` module defines the handler function.

    Lambda would only find out on the first invocation (``Runtime.ImportModuleError`` or
    ``Runtime.HandlerNotFound``), after a deployment: a wrong path or name is an error here.
    The module is parsed, never imported (building the app runs none of the handler's code).
    """
    code_path, handler = values["code_path"], values["handler"]
    if isinstance(code_path, str) and (not code_path.strip() or is_unresolved(code_path)):
        return  # reported by the prop's rule
    folder = Path(code_path)
    if not folder.is_dir():
        problems.add("code_path", code_path,
                     "must be an existing folder holding the handler's code (a relative path "
                     "is resolved from the working directory, as Code.from_asset does)")
        return
    if is_unresolved(handler) or re.fullmatch(_HANDLER_PATTERN, handler) is None:
        return  # reported by the prop's rule
    module, _, function_name = handler.rpartition(".")
    source = _module_source(folder, module)
    if source is None:
        problems.add("handler", handler, f"names module {module!r}, which is not a .py file "
                     f"(or package) of {folder}")
        return
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (SyntaxError, UnicodeDecodeError, ValueError) as error:
        problems.add("handler", handler, f"its module {source} cannot be parsed: {error}")
        return
    if function_name not in _top_level_names(tree):
        problems.add("handler", handler,
                     f"its module {source} defines no top-level {function_name!r}")


def _environment_names(problems: ProblemCollector, values: Mapping[str, Any]) -> None:
    for name in values.get("environment") or {}:
        if is_unresolved(name):
            continue
        if _ENVIRONMENT_NAME.fullmatch(name) is None:
            problems.add("environment", name, "a variable name is a letter followed by "
                         "letters, digits and underscores (at least 2 characters)")
        elif name in _RESERVED_ENVIRONMENT:
            problems.add("environment", name, "is reserved: Lambda sets it itself")


def _one_concurrency_limit(problems: ProblemCollector, values: Mapping[str, Any]) -> None:
    reserved, cap = values.get("reserved_concurrency"), values.get("concurrency_cap")
    if reserved is not None and cap is not None:
        problems.add("concurrency_cap", cap, "only with reserved_concurrency=None: it says "
                     "what caps the function instead of a reservation")
    elif reserved is None and cap is None:
        problems.add("reserved_concurrency", None, "give a reservation, or say in "
                     "concurrency_cap what else caps how many run at once")


@validated_props(
    {
        "code_path": Text(literal=True, max_length=4096),
        "handler": Text(literal=True, max_length=128, pattern=_HANDLER_PATTERN,
                        meaning="'module.function' (e.g. 'app.handler'), the module a .py "
                        "file of code_path"),
        "description": Text(max_length=256),  # Lambda's limit on a function description
        "memory_size": Number(128, 10_240),
        "timeout": Span(Duration.seconds(1), Duration.minutes(15),
                        meaning="1 second to 15 minutes"),
        "reserved_concurrency": Number(0, _MAX_RESERVED_CONCURRENCY),
        "metrics_namespace": Text(max_length=255),  # CloudWatch's limit on a namespace
        "service_name": Text(max_length=255),
    },
    checks=[_handler_in_code, _environment_names, _one_concurrency_limit],
)
def python_function(
    scope: Construct,
    construct_id: str,
    *,
    code_path: str | Path,
    handler: str,
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
) -> PythonFunction:
    """Your own Python handler as a function with the library's defaults.

    The library's patterns build every function this way; this is how an app bundles its
    own code (a folder anywhere, e.g. ``Path(__file__).parent / "handlers" / "indexer"``)
    and gets the same function: the newest Python runtime on arm64, its own role allowed
    only to write its log group (grant it the rest), X-Ray tracing, an encrypted log group
    with finite retention, Powertools for AWS Lambda from its public layer, and at most
    ``reserved_concurrency`` (default 10) running at once. The folder is zipped as it is
    (no ``__pycache__``, no dependency install): beside boto3 and Powertools, ship what it
    imports inside it.

    :param code_path: the folder holding the handler's code; it must exist, and a
        relative path is resolved from the working directory (as CDK's
        ``Code.from_asset`` does).
    :param handler: ``module.function``; the module must be a file (or package) of
        ``code_path`` defining ``function`` at its top level.
    :param description: what the function does (also names its role's purpose).
    :param environment: variables for the handler; default none beyond Powertools'.
    :param memory_size: MB, 128 to 10,240; default 256.
    :param timeout: 1 second to 15 minutes; default 30 seconds.
    :param invoked_asynchronously: True when events invoke it asynchronously (EventBridge
        rules, SNS, S3): Lambda then retries twice and sends a failed event, with its error,
        to an SQS on-failure destination (``failure_queue``). Default False (synchronous
        callers, such as Step Functions and Pipes, see the error themselves).
    :param service_name: Powertools' service name; default the construct id.
    :param metrics_namespace: Powertools' metrics namespace; default ``AnalyticsOrchestration``.
    :param log_retention: how long its logs are kept; default the library's retention.
    :param failure_queue_key: encrypts the on-failure queue; give the key of the data the
        events describe (a failed event keeps its payload). Default an SQS-managed key.
    :param reserved_concurrency: how many may run at once; default 10. ``None`` only with
        ``concurrency_cap``, saying what caps it instead (e.g. an event source's maximum
        concurrency).
    :param concurrency_cap: see ``reserved_concurrency``; default None.
    :param log_encryption_key: encrypts its log group; default the stack's shared log key.
    """
    try:
        return foundation.python_function(
            scope, construct_id,
            code=lambda_.Code.from_asset(str(Path(code_path)), exclude=list(ASSET_EXCLUDES)),
            handler=handler, description=description, environment=environment,
            memory_size=memory_size, timeout=timeout,
            invoked_asynchronously=invoked_asynchronously, service_name=service_name,
            metrics_namespace=metrics_namespace, log_retention=log_retention,
            failure_queue_key=failure_queue_key, reserved_concurrency=reserved_concurrency,
            concurrency_cap=concurrency_cap, log_encryption_key=log_encryption_key,
        )
    except ConfigurationError:
        raise
    except ValueError as error:  # the foundation's own checks, reported like every prop
        raise ConfigurationError(f"python_function {scope.node.path}/{construct_id}",
                                 [str(error)]) from error
