"""Large inputs: a Distributed Map over the objects under an S3 prefix, or over a manifest."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .._foundation.validation import Number, Text, validated_props
from .policies import TRANSIENT_ERRORS, EtlRetryPolicy
from .steps import acknowledge_function_versions, batch_submit_job, grant_batch_submit_job

__all__ = ["ItemProcessor", "LargeInput"]

#: Child executions running at once (Step Functions allows up to 10,000).
DEFAULT_MAX_CONCURRENCY = 100
MAX_CONCURRENCY_LIMIT = 10_000
#: Where the Distributed Map writes its per-item results, in the input bucket.
DEFAULT_RESULTS_PREFIX = "etl-map-results/"

#: What each child execution receives for an object of a prefix listing.
_OBJECT_ITEM = {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"}
#: ... and for a manifest row (the manifest's header must name a ``key`` column).
_MANIFEST_ITEM = {"key.$": "$$.Map.Item.Value.key"}


@validated_props()
class ItemProcessor(abc.ABC):
    """What handles one item of a Distributed Map; build one with a factory method.

    Each item arrives as ``{"bucket": ..., "key": ..., "size": ...}`` (``size`` for prefix
    listings only).
    """

    @classmethod
    def lambda_function(
        cls, function: lambda_.IFunction, *, payload: sfn.TaskInput | None = None
    ) -> ItemProcessor:
        """Invoke ``function`` with the item (or ``payload``)."""
        return _LambdaProcessor(function, payload)

    @classmethod
    def batch_job(
        cls,
        *,
        job_queue: batch.IJobQueue,
        job_definition: batch.IJobDefinition,
        parameters: Mapping[str, str] | None = None,
    ) -> ItemProcessor:
        """Submit an AWS Batch job per item and wait for it (``.sync``).

        Default ``parameters``: ``bucket`` and ``key`` of the item, for the job
        definition's ``Ref::bucket`` / ``Ref::key`` placeholders.
        """
        return _BatchProcessor(job_queue, job_definition, dict(parameters or {
            "bucket": sfn.JsonPath.string_at("$.bucket"),
            "key": sfn.JsonPath.string_at("$.key"),
        }))

    @property
    @abc.abstractmethod
    def waits_for_job(self) -> bool:
        """True when each item runs a ``.sync`` job."""

    @abc.abstractmethod
    def build(self, scope: Construct, state_name: str, retry: EtlRetryPolicy) -> sfn.IChainable:
        """The states run for each item (retried; failures count against the tolerance)."""

    @abc.abstractmethod
    def grant(self, role: iam.IRole) -> None:
        """Grant the state machine's role what the item states need that CDK's task
        classes do not grant themselves."""


class _LambdaProcessor(ItemProcessor):
    def __init__(self, function: lambda_.IFunction, payload: sfn.TaskInput | None) -> None:
        self.function = function
        self.payload = payload

    @property
    def waits_for_job(self) -> bool:
        return False

    def build(self, scope: Construct, state_name: str, retry: EtlRetryPolicy) -> sfn.IChainable:
        task = tasks.LambdaInvoke(
            scope, state_name, lambda_function=self.function,
            payload=self.payload,
            payload_response_only=True, retry_on_service_exceptions=False,
        )
        retry.apply(task, TRANSIENT_ERRORS["lambda"])
        return task

    def grant(self, role: iam.IRole) -> None:
        """Nothing more (CDK's LambdaInvoke grants ``lambda:InvokeFunction`` itself on the
        function and its qualifiers, ``ARN:*``): that wildcard is acknowledged here."""
        acknowledge_function_versions(role, self.function)


class _BatchProcessor(ItemProcessor):
    def __init__(self, job_queue: batch.IJobQueue, job_definition: batch.IJobDefinition,
                 parameters: dict[str, str]) -> None:
        self.job_queue = job_queue
        self.job_definition = job_definition
        self.parameters = parameters

    @property
    def waits_for_job(self) -> bool:
        return True

    def build(self, scope: Construct, state_name: str, retry: EtlRetryPolicy) -> sfn.IChainable:
        task = batch_submit_job(
            scope, state_name, job_queue=self.job_queue, job_definition=self.job_definition,
            parameters=self.parameters, result_path="$",
        )
        retry.apply(task, TRANSIENT_ERRORS["batch"])
        return task

    def grant(self, role: iam.IRole) -> None:
        grant_batch_submit_job(role, job_queue=self.job_queue, job_definition=self.job_definition)


@validated_props({
    # The Map state's name: a literal, like every state name.
    "name": Text(max_length=80, literal=True),
    # "" is the bucket's root; the construct checks that prefixes end in '/'.
    "prefix": Text(non_empty=False, max_length=1024),
    "results_prefix": Text(non_empty=False, max_length=1024),
    # CDK's Distributed Map checks the percentage while synthesizing and refuses a token.
    "tolerated_failure_percentage": Number(integer=False, literal=True),
})
@dataclass(frozen=True)
class LargeInput:
    """A Distributed Map: one child execution per object of ``bucket`` (or manifest row).

    :param bucket: where the objects (or the manifest) are; the map's results are written
        here too, under ``results_prefix``.
    :param processor: what handles each item.
    :param prefix: iterate over every object under this prefix (``""``: the whole bucket).
    :param manifest_key: iterate over the rows of this CSV manifest instead; its header row
        must have a ``key`` column (object keys in ``bucket``). Exactly one of ``prefix``
        and ``manifest_key``.
    :param max_concurrency: child executions at once, 1 to 10,000. Default: 100.
    :param tolerated_failure_percentage: the map (and the run) fails only when more items
        than this fail, 0 to 100. Default: 0, any failed item fails the run.
    :param results_prefix: where the per-item results are written. Default:
        ``etl-map-results/``; never in the state, which is limited to 256 KiB.
    :param name: the Map state's name. Default: ``ProcessObjects``.
    """

    bucket: s3.IBucket
    processor: ItemProcessor
    prefix: str | None = None
    manifest_key: str | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    tolerated_failure_percentage: float = 0
    results_prefix: str = DEFAULT_RESULTS_PREFIX
    name: str = field(default="ProcessObjects")

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """What is wrong with these settings, as (prop, value, allowed) triples."""
        found: list[tuple[str, object, str]] = []
        if (self.prefix is None) == (self.manifest_key is None):
            found.append((f"{prop}.prefix", self.prefix,
                          "give exactly one of prefix and manifest_key"))
        if not isinstance(self.processor, ItemProcessor):
            found.append((f"{prop}.processor", self.processor,
                          "must be built with an ItemProcessor factory"))
        if not 1 <= self.max_concurrency <= MAX_CONCURRENCY_LIMIT:
            found.append((f"{prop}.max_concurrency", self.max_concurrency,
                          f"must be 1 to {MAX_CONCURRENCY_LIMIT}"))
        if not 0 <= self.tolerated_failure_percentage <= 100:
            found.append((f"{prop}.tolerated_failure_percentage",
                          self.tolerated_failure_percentage, "must be 0 to 100"))
        if not self.results_prefix.endswith("/"):
            found.append((f"{prop}.results_prefix", self.results_prefix, "must end in '/'"))
        return found

    @property
    def waits_for_job(self) -> bool:
        """True when each item runs a ``.sync`` job."""
        return self.processor.waits_for_job

    def build(
        self, scope: Construct, retry: EtlRetryPolicy, result_path: str
    ) -> sfn.DistributedMap:
        """The Distributed Map state (the workflow adds its retry and catch)."""
        reader: sfn.IItemReader
        if self.manifest_key is not None:
            reader = sfn.S3CsvItemReader(bucket=self.bucket, key=self.manifest_key,
                                         csv_headers=sfn.CsvHeaders.use_first_row())
            selector = dict(_MANIFEST_ITEM)
        else:
            reader = sfn.S3ObjectsItemReader(bucket=self.bucket, prefix=self.prefix or None)
            selector = dict(_OBJECT_ITEM)
        selector["bucket"] = self.bucket.bucket_name
        state = sfn.DistributedMap(
            scope, self.name,
            item_reader=reader,
            item_selector=selector,
            max_concurrency=self.max_concurrency,
            tolerated_failure_percentage=self.tolerated_failure_percentage,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.bucket, prefix=self.results_prefix),
            result_path=result_path,
        )
        state.item_processor(self.processor.build(scope, f"{self.name}Item", retry))
        return state
