"""Retry policy of every task, and the transient errors of each service integration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

from .._foundation.validation import (
    Number,
    Span,
    field_problems,
    seconds_of,
    validated_props,
)

__all__ = ["TRANSIENT_ERRORS", "EtlRetryPolicy", "Retryable"]


#: A state with retriers and catchers.
Retryable = sfn.TaskStateBase | sfn.CustomState | sfn.Parallel | sfn.Map | sfn.DistributedMap


#: Errors worth retrying, per integration: throttling, service-side faults and concurrency
#: limits. A job that ran and failed (``States.TaskFailed``) is not retried: rerunning a
#: transform on bad data fails the same way, and its catch records and notifies instead.
TRANSIENT_ERRORS: dict[str, tuple[str, ...]] = {
    "lambda": (
        "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException",
    ),
    "glue": (
        "Glue.ConcurrentRunsExceededException", "Glue.ThrottlingException",
        "Glue.InternalServiceException", "Glue.OperationTimeoutException",
    ),
    "glue-crawler": (
        "Glue.CrawlerRunningException", "Glue.ThrottlingException",
        "Glue.InternalServiceException", "Glue.OperationTimeoutException",
    ),
    "athena": ("Athena.TooManyRequestsException", "Athena.InternalServerException"),
    # Too many statements or sessions running at once, and the Data API's own faults.
    "redshift-data": ("RedshiftData.ActiveStatementsExceededException",
                      "RedshiftData.ActiveSessionsExceededException",
                      "RedshiftData.InternalServerException"),
    "batch": ("Batch.ServerException", "Batch.AWSBatchException",
              "Batch.TooManyRequestsException"),
    "emr-serverless": ("EMRServerless.InternalServerException",
                       "EMRServerless.ThrottlingException"),
    "sagemaker": ("SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException",
                  "SageMaker.ResourceLimitExceededException"),
    "dynamodb": (
        "DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.RequestLimitExceeded",
        "DynamoDB.ThrottlingException", "DynamoDB.InternalServerErrorException",
    ),
    "sns": ("SNS.ThrottledException", "SNS.InternalErrorException",
            "SNS.KMSThrottlingException"),
    "events": ("EventBridge.InternalException", "EventBridge.ThrottlingException"),
}

#: First retry after this long.
DEFAULT_RETRY_INTERVAL = Duration.seconds(5)
DEFAULT_RETRY_ATTEMPTS = 4
DEFAULT_BACKOFF_RATE = 2.0
#: No wait between attempts exceeds this, however many attempts back off.
DEFAULT_MAX_DELAY = Duration.minutes(2)


#: Step Functions' limits of a retrier (and this library's sane caps).
RETRY_RULES = {
    "interval": Span(Duration.seconds(1), Duration.hours(1), whole_seconds=True,
                     meaning="1 second to 1 hour"),
    "max_attempts": Number(1, 10),
    "backoff_rate": Number(1, 5, integer=False),
    "max_delay": Span(Duration.seconds(1), Duration.days(1), whole_seconds=True),
}


# Types are checked on creation; the ranges by the workflow the policy is given to, which
# reports them with its other problems (``problems``).
@validated_props()
@dataclass(frozen=True)
class EtlRetryPolicy:
    """How every task retries its integration's transient errors.

    :param interval: wait before the first retry. Default: 5 seconds.
    :param max_attempts: retries after the first failure, 1 to 10. Default: 4.
    :param backoff_rate: each wait is this many times the previous one, 1 to 5. Default: 2.
    :param max_delay: cap on any one wait. Default: 2 minutes.
    :param jitter: randomise each wait (full jitter) so that parallel branches retrying
        the same throttled service do not retry in lockstep. Default: True.
    """

    interval: Duration = field(default_factory=lambda: DEFAULT_RETRY_INTERVAL)
    max_attempts: int = DEFAULT_RETRY_ATTEMPTS
    backoff_rate: float = DEFAULT_BACKOFF_RATE
    max_delay: Duration = field(default_factory=lambda: DEFAULT_MAX_DELAY)
    jitter: bool = True

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """The out-of-range settings, as (prop, value, allowed) triples (token-aware).

        The policy checks itself when created; this reports it again under ``prop``.
        """
        found = field_problems(RETRY_RULES, self, f"{prop}.")
        interval, max_delay = seconds_of(self.interval), seconds_of(self.max_delay)
        if interval is not None and max_delay is not None and max_delay < interval:
            found.append((f"{prop}.max_delay", self.max_delay, "must be at least the interval"))
        return found

    def apply(self, state: Retryable, errors: Sequence[str]) -> None:
        """Add this policy as a retrier for ``errors`` to ``state``."""
        if not errors:
            return
        state.add_retry(
            errors=list(errors),
            interval=self.interval,
            max_attempts=self.max_attempts,
            backoff_rate=self.backoff_rate,
            max_delay=self.max_delay,
            jitter_strategy=sfn.JitterType.FULL if self.jitter else sfn.JitterType.NONE,
        )
