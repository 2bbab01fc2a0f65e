"""What runs the jobs (Lambda or ECS Fargate workers) and how the job API behaves.

Each option class checks itself (``problems``) so that :class:`SqsWorkerPool` reports every
bad prop, of the pool and of its options, in one error.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2

from .._foundation import ProblemCollector, minimum_visibility_timeout
from .._foundation.rest_apis import (
    DEFAULT_STAGE_NAME,
    DEFAULT_THROTTLING_BURST_LIMIT,
    DEFAULT_THROTTLING_RATE_LIMIT,
)
from .._foundation.validation import Number, Text, validated_props

__all__ = ["ContainerWorkers", "JobApiOptions", "LambdaWorkers", "WorkerCompute"]

#: Messages per batch (Lambda's and SQS's default and the most one receive returns).
DEFAULT_BATCH_SIZE = 10
#: Concurrent Lambda workers at most: the scaling cap, so a burst of jobs cannot starve
#: the account's concurrency or overrun what the jobs read and write.
DEFAULT_MAX_CONCURRENCY = 10
#: Timeout and memory of the created worker function: analytic jobs need more than the
#: library's 30 s / 256 MB function default.
DEFAULT_WORKER_TIMEOUT = Duration.minutes(1)
DEFAULT_WORKER_MEMORY_MB = 512
#: Container workers: task count range, task size and how long one received batch may take.
DEFAULT_MIN_TASKS = 1
DEFAULT_MAX_TASKS = 10
DEFAULT_TASK_CPU = 512
DEFAULT_TASK_MEMORY_MIB = 1024
DEFAULT_PROCESSING_TIMEOUT = Duration.minutes(5)

#: Lambda: batching windows up to 5 minutes; SQS: visibility timeouts up to 12 hours.
MAX_BATCHING_WINDOW = Duration.minutes(5)
MAX_VISIBILITY_TIMEOUT = Duration.hours(12)
_STANDARD_MAX_BATCH = 10_000
_FIFO_MAX_BATCH = 10
_FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")


class WorkerCompute(abc.ABC):
    """How a pool's workers run: :class:`LambdaWorkers` or :class:`ContainerWorkers`."""

    @abc.abstractmethod
    def minimum_visibility_timeout(self) -> Duration | None:
        """The shortest visibility timeout these workers can live with (None: unknown)."""

    @abc.abstractmethod
    def check(self, problems: ProblemCollector, *, fifo: bool) -> None:
        """Record every problem of these options (``fifo``: the queue is FIFO)."""


@validated_props()
@dataclass(frozen=True)
class LambdaWorkers(WorkerCompute):
    """Lambda functions fed by an SQS event source mapping (ReportBatchItemFailures on).

    :param function: an existing worker function. It gets the pool's grants and event
        source, and (a ``lambda_.Function`` of this app) the job table's environment
        variables. Default: None, a function is created.
    :param code: your worker code (a ``lambda_.Code`` asset) for the created function. Its
        handler gets the same environment as the reference worker. Default: None, the
        library's reference worker (``lambda_src/job_worker``: Powertools batch processing,
        job table with a leased claim per job, summary/histogram/group_aggregate jobs).
    :param handler: the entry point in ``code``. Only with ``code``. Default:
        ``index.handler``.
    :param timeout: the created function's timeout. Default: 1 minute.
    :param memory_size: the created function's memory (MB). Default: 512.
    :param environment: extra environment variables of the created function. Default: none.
    :param batch_size: records per invocation: 1-10 for FIFO queues, 1-10,000 for standard
        ones (above 10 needs ``max_batching_window``). Default: 10.
    :param max_batching_window: how long Lambda gathers records before invoking, up to 5
        minutes; standard queues only. Default: None, no wait.
    :param max_concurrency: the most concurrent invocations this queue drives (2-1000): the
        scaling cap. Default: 10.
    """

    function: lambda_.IFunction | None = None
    code: lambda_.Code | None = None
    handler: str | None = None
    timeout: Duration | None = None
    memory_size: int | None = None
    environment: Mapping[str, str] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    max_batching_window: Duration | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY

    @property
    def function_timeout(self) -> Duration | None:
        """The worker function's timeout, when it is known at synth."""
        if self.function is None:
            return self.timeout or DEFAULT_WORKER_TIMEOUT
        if isinstance(self.function, lambda_.Function):
            return self.function.timeout or Duration.seconds(3)  # Lambda's own default
        return None

    def minimum_visibility_timeout(self) -> Duration | None:
        """6 x the function's timeout + the batching window (SQS's rule for Lambda)."""
        timeout = self.function_timeout
        window = self.max_batching_window
        # A token timeout or window is only known at deploy time: so is the minimum.
        if timeout is None or timeout.is_unresolved() or (window and window.is_unresolved()):
            return None
        return minimum_visibility_timeout(timeout, window)

    def check(self, problems: ProblemCollector, *, fifo: bool) -> None:
        prefix = "workers"
        if self.function is not None:
            for name in ("code", "handler", "timeout", "memory_size", "environment"):
                value = getattr(self, name)
                problems.check(
                    value is None, f"{prefix}.{name}", _describe(value),
                    "function options only apply to a function the pool creates; drop "
                    f"{name} or drop function",
                )
        elif self.handler is not None:
            problems.check(self.code is not None, f"{prefix}.handler", self.handler,
                           "names the entry point of your code; give code as well")
        if self.timeout is not None:
            seconds = self.timeout.to_seconds()
            problems.check(1 <= seconds <= 900, f"{prefix}.timeout",
                           self.timeout, "must be 1 second to 15 minutes")
        if self.memory_size is not None:
            problems.check(128 <= self.memory_size <= 10240, f"{prefix}.memory_size",
                           self.memory_size, "must be 128 to 10,240 MB")
        limit = _FIFO_MAX_BATCH if fifo else _STANDARD_MAX_BATCH
        problems.check(
            1 <= self.batch_size <= limit, f"{prefix}.batch_size", self.batch_size,
            f"must be 1 to {limit:,} for a {'FIFO' if fifo else 'standard'} queue",
        )
        window = self.max_batching_window
        if window is not None:
            problems.check(
                window.to_seconds() <= MAX_BATCHING_WINDOW.to_seconds(),
                f"{prefix}.max_batching_window", window,
                "must be at most 5 minutes",
            )
            problems.check(not fifo, f"{prefix}.max_batching_window",
                           window,
                           "a FIFO queue cannot honour a batching window; drop it or use a "
                           "standard queue")
        if self.batch_size > _FIFO_MAX_BATCH and not fifo:
            problems.check(
                window is not None and window.to_seconds() >= 1, f"{prefix}.batch_size",
                self.batch_size, "above 10 needs a max_batching_window of at least 1 second",
            )
        problems.check(2 <= self.max_concurrency <= 1000, f"{prefix}.max_concurrency",
                       self.max_concurrency, "must be 2 to 1,000 (Lambda's limits)")


@validated_props({
    # Read while the app is built (the image is built from it).
    "directory": Text(max_length=1024, literal=True),
    "min_tasks": Number(maximum=5000),  # ECS runs at most 5,000 tasks per service
    "max_tasks": Number(maximum=5000),
})
@dataclass(frozen=True)
class ContainerWorkers(WorkerCompute):
    """An ECS Fargate service polling the queue, scaled on its depth.

    Tasks run in private subnets without public IPs. The service scales between
    ``min_tasks`` and ``max_tasks`` on the queue's visible messages: one task more per
    minute while any message waits (five more from 100), one task fewer per minute once
    none does.

    :param directory: a folder with a Dockerfile, staged at synth and built by
        ``cdk deploy``. Default: None, the library's reference poller (``lambda_src/
        job_worker``: same per-record logic and job table semantics as the Lambda worker).
    :param image: an image from a registry, e.g. ``ecs.ContainerImage.from_ecr_repository(
        repository, tag)``. Not with ``directory``. Default: None.
    :param vpc: where the tasks run; its private subnets need routes to SQS, DynamoDB, ECR,
        CloudWatch Logs and KMS. Default: None, a VPC with isolated subnets and endpoints for
        exactly those services is created.
    :param min_tasks: tasks kept running with an empty queue (0 scales to zero). Default: 1.
    :param max_tasks: the scaling cap. Default: 10.
    :param cpu: task CPU units (256 to 16384). Default: 512.
    :param memory_limit_mib: task memory, valid for ``cpu`` on Fargate. Default: 1024.
    :param batch_size: messages per receive (1-10). Default: 10.
    :param processing_timeout: the longest a task may take for one received batch; the
        queue's visibility timeout is at least this. Default: 5 minutes.
    :param environment: extra environment variables of the container. Default: none.
    """

    directory: str | None = None
    image: ecs.ContainerImage | None = None
    vpc: ec2.IVpc | None = None
    min_tasks: int = DEFAULT_MIN_TASKS
    max_tasks: int = DEFAULT_MAX_TASKS
    cpu: int = DEFAULT_TASK_CPU
    memory_limit_mib: int = DEFAULT_TASK_MEMORY_MIB
    batch_size: int = DEFAULT_BATCH_SIZE
    processing_timeout: Duration = DEFAULT_PROCESSING_TIMEOUT
    environment: Mapping[str, str] | None = None

    def minimum_visibility_timeout(self) -> Duration:
        """The processing timeout: a received batch stays invisible while it is worked on."""
        return self.processing_timeout

    def check(self, problems: ProblemCollector, *, fifo: bool) -> None:
        prefix = "workers"
        problems.check(self.directory is None or self.image is None, f"{prefix}.image",
                       "an image", "give either directory or image, not both")
        problems.check(self.min_tasks >= 0, f"{prefix}.min_tasks", self.min_tasks,
                       "must be 0 or more")
        problems.check(self.max_tasks >= max(1, self.min_tasks), f"{prefix}.max_tasks",
                       self.max_tasks, f"must be at least 1 and at least min_tasks "
                       f"({self.min_tasks})")
        problems.check(self.cpu in _FARGATE_MEMORY, f"{prefix}.cpu", self.cpu,
                       f"must be one of {', '.join(map(str, _FARGATE_MEMORY))}")
        valid_memory = _FARGATE_MEMORY.get(self.cpu, ())
        if valid_memory:
            problems.check(
                self.memory_limit_mib in valid_memory, f"{prefix}.memory_limit_mib",
                self.memory_limit_mib,
                f"with cpu {self.cpu} Fargate allows {_allowed(valid_memory)} MiB",
            )
        problems.check(1 <= self.batch_size <= _FIFO_MAX_BATCH, f"{prefix}.batch_size",
                       self.batch_size, "must be 1 to 10 (the most one receive returns)")
        seconds = self.processing_timeout.to_seconds()
        problems.check(
            1 <= seconds <= MAX_VISIBILITY_TIMEOUT.to_seconds(), f"{prefix}.processing_timeout",
            self.processing_timeout, "must be 1 second to 12 hours",
        )


@validated_props({
    # Part of construct ids (the deployment stage) while the app is built.
    "stage_name": Text(max_length=128, literal=True),
    "throttling_rate_limit": Number(maximum=1_000_000, integer=False),
    "throttling_burst_limit": Number(maximum=1_000_000),
})
@dataclass(frozen=True)
class JobApiOptions:
    """The job submission API: ``POST /jobs`` (to SQS) and ``GET /jobs/{job_id}``.

    :param authorizer: authorizes both methods, e.g. a Cognito user-pools authorizer.
        Default: None, IAM authorization (SigV4; see ``SqsWorkerPool.grant_submit``).
    :param throttling_rate_limit: steady requests per second across the stage. Default: 50.
    :param throttling_burst_limit: burst of requests. Default: 100.
    :param parameters_schema: JSON schema of a job's ``parameters`` object, checked by API
        Gateway before anything is queued. Default: None, any JSON object.
    :param stage_name: the stage, part of the URL. Default: ``v1``.
    :param web_acl: a regional WAFv2 web ACL associated with the stage. Default: None, no
        WAF (every method still requires authorization and the stage is throttled).
    """

    authorizer: apigw.IAuthorizer | None = None
    throttling_rate_limit: float = DEFAULT_THROTTLING_RATE_LIMIT
    throttling_burst_limit: int = DEFAULT_THROTTLING_BURST_LIMIT
    parameters_schema: apigw.JsonSchema | None = None
    stage_name: str = DEFAULT_STAGE_NAME
    web_acl: wafv2.CfnWebACL | None = None

    def check(self, problems: ProblemCollector) -> None:
        prefix = "api_options"
        problems.check(self.throttling_rate_limit > 0, f"{prefix}.throttling_rate_limit",
                       self.throttling_rate_limit, "must be above 0 requests per second")
        problems.check(self.throttling_burst_limit >= 1, f"{prefix}.throttling_burst_limit",
                       self.throttling_burst_limit, "must be 1 or more requests")
        problems.check(bool(_STAGE_NAME.match(self.stage_name)), f"{prefix}.stage_name",
                       self.stage_name, "must be 1-128 letters, digits or underscores")
        if self.web_acl is not None:
            problems.check(self.web_acl.scope == "REGIONAL", f"{prefix}.web_acl",
                           self.web_acl.scope, "must be a REGIONAL web ACL (API Gateway "
                           "stages cannot use CLOUDFRONT ones)")


def _describe(value: object) -> object:
    """A readable stand-in for jsii objects in error messages."""
    if isinstance(value, Duration):
        return value.to_human_string()
    if value is None or isinstance(value, str | int | float | dict):
        return value
    return type(value).__name__


def _allowed(values: tuple[int, ...]) -> str:
    """``512, 1024 or 2048``, or ``2048 to 8192 in steps of 1024`` for long ranges."""
    if len(values) <= 3:
        return ", ".join(map(str, values[:-1])) + f" or {values[-1]}"
    return f"{values[0]} to {values[-1]} in steps of {values[1] - values[0]}"
