"""Every public construct, options dataclass, factory and building block, with valid props.

The prop fuzz (``test_prop_fuzz.py``) starts from each subject's valid props and breaks
one prop at a time. A subject is called exactly as a user would call it; a dataclass or
factory result is then put into a construct (``host``) so that what a construct does with
it (its own checks, synth for tokens) is part of the verdict.

``accepts`` lists the bad-looking inputs that are valid for AWS, with the reason; every
other generated bad input must be a ConfigurationError naming its prop. ``literal`` lists
string props that cannot be tokens because CDK needs them while building (construct ids,
names in logical ids): for those a token must be refused with a ConfigurationError
naming the prop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_msk as msk
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

import analytics_orchestration as ao
from analytics_orchestration import building_blocks as blocks
from stacks.airflow_stack import ASSETS as AIRFLOW_ASSETS
from tests.support import REPOSITORY_ROOT

#: A real handler folder of the example stacks, for python_function.
HANDLER_FOLDER = REPOSITORY_ROOT / "stacks" / "handlers" / "extract_indexer"

Props = dict[str, Any]


@dataclass(frozen=True)
class Subject:
    """One public callable: how to call it validly, and where its result is used."""

    name: str
    call: Callable[..., Any]
    props: Callable[[Stack], Props]
    #: True when the callable takes (scope, construct_id) first.
    construct: bool = False
    #: Builds a construct around the callable's result (dataclasses and factories).
    host: Callable[[Stack, Any], Any] | None = None
    #: prop -> kinds of bad-looking input that are valid ("negative", "huge", "empty",
    #: "blank_item", "zero").
    accepts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: String props that must be literals (a token is refused, naming the prop).
    literal: frozenset[str] = frozenset()
    #: Props the fuzz leaves alone (callables, resources with no wrong-typed variant).
    skip: frozenset[str] = frozenset()
    #: prop -> the unit CloudFormation takes (a token duration is built in it).
    units: Mapping[str, str] = field(default_factory=dict)
    #: prop -> props dropped from the valid ones when it is fuzzed (exactly-one-of).
    exclusive: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Needs a stack with three Availability Zones (Redshift, OpenSearch standby).
    three_azs: bool = False

    def signature_target(self) -> Callable[..., Any]:
        return self.call.__init__ if inspect.isclass(self.call) else self.call


def _accepts(**kinds: str) -> dict[str, frozenset[str]]:
    return {prop: frozenset(value.split()) for prop, value in kinds.items()}


# --------------------------------------------------------------------------- resources


def _child(stack: Stack, name: str, make: Callable[[], Any]) -> Any:
    existing = stack.node.try_find_child(name)
    return existing if existing is not None else make()


def key(stack: Stack) -> kms.IKey:
    return _child(stack, "FuzzKey", lambda: kms.Key(stack, "FuzzKey"))


def bucket(stack: Stack) -> s3.IBucket:
    return _child(stack, "FuzzBucket", lambda: s3.Bucket.from_bucket_name(
        stack, "FuzzBucket", "fuzz-bucket"))


def fifo_queue(stack: Stack) -> sqs.IQueue:
    return _child(stack, "FuzzFifoQueue", lambda: sqs.Queue(
        stack, "FuzzFifoQueue", fifo=True, encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True))


def queue(stack: Stack) -> sqs.IQueue:
    return _child(stack, "FuzzQueue", lambda: sqs.Queue(
        stack, "FuzzQueue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True))


def topic(stack: Stack) -> sns.ITopic:
    return _child(stack, "FuzzTopic", lambda: sns.Topic.from_topic_arn(
        stack, "FuzzTopic", "arn:aws:sns:us-east-1:111111111111:fuzz"))


def machine(stack: Stack) -> sfn.IStateMachine:
    return _child(stack, "FuzzMachine", lambda: sfn.StateMachine.from_state_machine_arn(
        stack, "FuzzMachine", "arn:aws:states:us-east-1:111111111111:stateMachine:fuzz"))


def function(stack: Stack) -> lambda_.IFunction:
    return _child(stack, "FuzzFunction", lambda: lambda_.Function.from_function_arn(
        stack, "FuzzFunction", "arn:aws:lambda:us-east-1:111111111111:function:fuzz"))


def role(stack: Stack) -> iam.IRole:
    return _child(stack, "FuzzRole", lambda: iam.Role(
        stack, "FuzzRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")))


def bus(stack: Stack) -> events.IEventBus:
    return _child(stack, "FuzzBus", lambda: events.EventBus.from_event_bus_name(
        stack, "FuzzBus", "fuzz"))


def api_destination(stack: Stack) -> events.IApiDestination:
    def make() -> events.IApiDestination:
        connection = events.Connection.from_connection_attributes(
            stack, "FuzzConnection",
            connection_arn="arn:aws:events:us-east-1:111111111111:connection/fuzz/1",
            connection_name="fuzz",
            connection_secret_arn="arn:aws:secretsmanager:us-east-1:111111111111:secret:f")
        return events.ApiDestination.from_api_destination_attributes(
            stack, "FuzzApiDestination", connection=connection,
            api_destination_arn="arn:aws:events:us-east-1:111111111111:api-destination/f/1")
    return _child(stack, "FuzzApiDestination", make)


def stream(stack: Stack) -> kinesis.IStream:
    return _child(stack, "FuzzStream", lambda: kinesis.Stream.from_stream_arn(
        stack, "FuzzStream", "arn:aws:kinesis:us-east-1:111111111111:stream/fuzz"))


def streaming_table(stack: Stack) -> dynamodb.ITable:
    return _child(stack, "FuzzStreamTable", lambda: dynamodb.Table.from_table_attributes(
        stack, "FuzzStreamTable",
        table_arn="arn:aws:dynamodb:us-east-1:111111111111:table/fuzz",
        table_stream_arn="arn:aws:dynamodb:us-east-1:111111111111:table/fuzz/stream/2026"))


def consumer_code() -> lambda_.Code:
    return lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def glue_job(stack: Stack) -> glue.IJob:
    return _child(stack, "FuzzJob", lambda: glue.PySparkEtlJob.from_job_attributes(
        stack, "FuzzJob", job_name="nightly"))


def crawler(stack: Stack) -> glue.CfnCrawler:
    return _child(stack, "FuzzCrawler", lambda: glue.CfnCrawler(
        stack, "FuzzCrawler", role="arn:aws:iam::111111111111:role/crawler",
        targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
            glue.CfnCrawler.S3TargetProperty(path="s3://fuzz-bucket/raw/")])))


def emr_application(stack: Stack) -> emrserverless.CfnApplication:
    return _child(stack, "FuzzEmr", lambda: emrserverless.CfnApplication(
        stack, "FuzzEmr", release_label="emr-7.12.0", type="SPARK"))


def job_queue(stack: Stack) -> batch.IJobQueue:
    return _child(stack, "FuzzJobQueue", lambda: batch.JobQueue.from_job_queue_arn(
        stack, "FuzzJobQueue", "arn:aws:batch:us-east-1:111111111111:job-queue/fuzz"))


def job_definition(stack: Stack) -> batch.IJobDefinition:
    return _child(stack, "FuzzJobDefinition", lambda: batch.EcsJobDefinition
                  .from_job_definition_arn(stack, "FuzzJobDefinition",
                                           "arn:aws:batch:us-east-1:111111111111:"
                                           "job-definition/fuzz:1"))


def workgroup(stack: Stack) -> redshift.CfnWorkgroup:
    return _child(stack, "FuzzWorkgroup", lambda: redshift.CfnWorkgroup(
        stack, "FuzzWorkgroup", workgroup_name="fuzz", namespace_name="fuzz"))


def namespace(stack: Stack) -> redshift.CfnNamespace:
    return _child(stack, "FuzzNamespace", lambda: redshift.CfnNamespace(
        stack, "FuzzNamespace", namespace_name="fuzz"))


def owned_bucket(stack: Stack) -> s3.IBucket:
    """A bucket of the app (zero-ETL extends its policy)."""
    return _child(stack, "FuzzOwnedBucket", lambda: s3.Bucket(stack, "FuzzOwnedBucket"))


def fuzz_vpc(stack: Stack) -> Any:
    """A private VPC of the app (three zones in a three-AZ stack)."""
    return _child(stack, "FuzzVpc", lambda: blocks.private_vpc(stack, "FuzzVpc", max_azs=3))


def collection(stack: Stack) -> aoss.CfnCollection:
    return _child(stack, "FuzzCollection", lambda: aoss.CfnCollection(
        stack, "FuzzCollection", name="fuzz-logs", type="TIMESERIES"))


def direct_query_props(stack: Stack) -> Props:
    return {"data_source_name": "fuzz_logs", "buckets": [owned_bucket(stack)],
            "checkpoint_bucket": owned_bucket(stack), "vpc": fuzz_vpc(stack),
            "domain_options": ao.DirectQueryDomainOptions(master_user=role(stack))}


def in_direct_query(stack: Stack, value: Any) -> Any:
    return ao.S3DirectQuery(stack, _unique(stack, "DirectQuery"),
                            **{**direct_query_props(stack), "domain_options": value})


def owned_table(stack: Stack) -> dynamodb.Table:
    """A table of the app (zero-ETL sets its PITR and resource policy)."""
    return _child(stack, "FuzzOwnedTable", lambda: dynamodb.Table(
        stack, "FuzzOwnedTable",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)))


def msk_cluster(stack: Stack) -> msk.CfnServerlessCluster:
    return _child(stack, "FuzzMskCluster", lambda: msk.CfnServerlessCluster(
        stack, "FuzzMskCluster", cluster_name="fuzz",
        client_authentication=msk.CfnServerlessCluster.ClientAuthenticationProperty(
            sasl=msk.CfnServerlessCluster.SaslProperty(
                iam=msk.CfnServerlessCluster.IamProperty(enabled=True))),
        vpc_configs=[msk.CfnServerlessCluster.VpcConfigProperty(
            subnet_ids=["subnet-0a1b2c3d", "subnet-0e1f2a3b"])]))


def security_group(stack: Stack, name: str, group_id: str) -> ec2.ISecurityGroup:
    return _child(stack, name, lambda: ec2.SecurityGroup.from_security_group_id(
        stack, name, group_id))


def redshift_target(stack: Stack) -> ao.RedshiftTarget:
    return ao.RedshiftTarget.of_workgroup(workgroup(stack), database="dev")


def in_runner(stack: Stack, value: Any) -> Any:
    return ao.RedshiftSqlRunner(stack, _unique(stack, "Sql"), target=value,
                                create_sql=["CREATE SCHEMA s"])


def work_step(stack: Stack) -> ao.EtlStep:
    return ao.EtlStep.lambda_function("Work", function(stack))


def pass_body() -> sfn.DefinitionBody:
    return sfn.DefinitionBody.from_string(
        '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}')


# --------------------------------------------------------------------------- hosts


def _unique(stack: Stack, base: str) -> str:
    index = 0
    while stack.node.try_find_child(f"{base}{index}") is not None:
        index += 1
    return f"{base}{index}"


def in_ingestion(prop: str, as_list: bool = False) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        extra: Props = {}
        if prop != "targets":
            extra["targets"] = [ao.IngestionTarget.queue(queue(stack))]
        return ao.EventDrivenIngestion(stack, _unique(stack, "Ingestion"), **extra,
                                       **{prop: [value] if as_list else value})
    return host


def in_etl(prop: str, as_list: bool = False) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        extra: Props = {} if prop in ("transform", "large_input", "ml") else {
            "transform": [work_step(stack)]}
        return ao.StepFunctionsEtl(stack, _unique(stack, "Etl"), **extra,
                                   **{prop: [value] if as_list else value})
    return host


def in_ml(prop: str) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        props = ml_props(stack)
        props[prop] = value
        return in_etl("ml")(stack, ao.MlWorkflow(**props))
    return host


def in_large_input(stack: Stack, value: Any) -> Any:
    return in_etl("large_input")(stack, ao.LargeInput(bucket=bucket(stack), prefix="in/",
                                                      processor=value))


def in_analytics(prop: str) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        return ao.ServerlessAnalytics(stack, _unique(stack, "Analytics"), **{prop: value})
    return host


def in_athena(stack: Stack, value: Any) -> Any:
    return in_analytics("athena")(stack, ao.AthenaOptions(named_queries=[value]))


def in_pool(prop: str) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        return ao.SqsWorkerPool(stack, _unique(stack, "Pool"), **{prop: value})
    return host


def in_pool_with_visibility(stack: Stack, value: Any) -> Any:
    # A token timeout leaves the minimum visibility unknown: the pool then needs one.
    return ao.SqsWorkerPool(stack, _unique(stack, "Pool"), workers=value,
                            visibility_timeout=Duration.hours(12))


def in_router(stack: Stack, value: Any) -> Any:
    return ao.EventRouter(stack, _unique(stack, "Router"), rules=[value])


def in_route(stack: Stack, value: Any) -> Any:
    return in_router(stack, ao.RoutingRule(
        name="Route", event_pattern=events.EventPattern(source=["fuzz"]), targets=[value]))


def in_fan_out(prop: str) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        return ao.NotificationFanOut(stack, _unique(stack, "FanOut"), enable_archive=False,
                                     **{prop: [value]})
    return host


def in_pipe(stack: Stack, value: Any) -> Any:
    return ao.QueueToStateMachinePipe(stack, _unique(stack, "Pipe"), queue=queue(stack),
                                      state_machine=machine(stack), enrichment=value)


def in_consumer(prop: str) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        props: Props = {"source": ao.StreamSource.kinesis(stream(stack)),
                        "handler": ao.ConsumerHandler.code(consumer_code())}
        props[prop] = value
        if prop == "handler" and value.counter is not None:
            props["tumbling_window"] = Duration.minutes(1)
        return ao.StreamConsumer(stack, _unique(stack, "Consumer"), **props)
    return host


def lake_database(stack: Stack) -> glue.IDatabase:
    return _child(stack, "FuzzDatabase", lambda: glue.Database.from_database_arn(
        stack, "FuzzDatabase", "arn:aws:glue:us-east-1:111111111111:database/fuzz"))


def in_delivery(prop: str, *, many: bool = True) -> Callable[[Stack, Any], Any]:
    def host(stack: Stack, value: Any) -> Any:
        if prop == "columns":
            return ao.DataLakeDeliveryStream(stack, _unique(stack, "Delivery"),
                                             bucket=bucket(stack), columns=[value],
                                             database=lake_database(stack))
        return ao.DataLakeDeliveryStream(stack, _unique(stack, "Delivery"),
                                         bucket=bucket(stack),
                                         **{prop: [value] if many else value})
    return host


def ml_props(stack: Stack) -> Props:
    return {
        "data_bucket": bucket(stack),
        "training": ao.SageMakerTraining(
            image_uri="111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1",
            channels={"train": "s3://fuzz-bucket/train/"},
            output_uri="s3://fuzz-bucket/models/"),
        "gate": ao.EvaluationGate(metric_name="auc", threshold=0.8),
    }


# --------------------------------------------------------------------------- subjects


def _lambda_target(stack: Stack) -> Props:
    return {"function": function(stack)}


SUBJECTS: tuple[Subject, ...] = (
    # ----------------------------------------------------------- pattern constructs
    Subject("EventDrivenIngestion", ao.EventDrivenIngestion,
            lambda s: {"targets": [ao.IngestionTarget.queue(queue(s))]}, construct=True,
            units={"noncurrent_version_expiration": "days"},
            literal=frozenset({"key_prefixes"}),
            # No targets (the ledger only) and no subscribers are valid pipelines; S3
            # expirations have no upper bound.
            accepts=_accepts(minimum_object_size="zero huge", key_prefixes="huge",
                             key_suffixes="huge", targets="empty",
                             fan_out_subscribers="empty",
                             noncurrent_version_expiration="huge")),
    Subject("EventRouter", ao.EventRouter, lambda s: {}, construct=True,
            units={"archive_retention": "days"},
            # An archive may keep events for any number of days.
            accepts=_accepts(archive_retention="huge", put_events_accounts="empty",
                             forward_from_default_bus="empty", rules="empty")),
    Subject("NotificationFanOut", ao.NotificationFanOut, lambda s: {}, construct=True,
            accepts=_accepts(subscriptions="empty", workflows="empty",
                             publishing_services="empty")),
    Subject("QueueToStateMachinePipe", ao.QueueToStateMachinePipe,
            lambda s: {"queue": queue(s), "state_machine": machine(s)}, construct=True,
            accepts=_accepts(filter_patterns="empty", maximum_batching_window="zero")),
    Subject("ServerlessAnalytics", ao.ServerlessAnalytics, lambda s: {}, construct=True),
    Subject("ManagedAirflow", ao.ManagedAirflow,
            lambda s: {"dags_folder": str(AIRFLOW_ASSETS / "dags"),
                       "requirements_file": str(AIRFLOW_ASSETS / "requirements.txt")},
            construct=True,
            literal=frozenset({"dags_folder", "requirements_file", "plugins_file",
                               "startup_script", "environment_name", "triggerable_dags"}),
            # MWAA raises its worker and alarm limits on request; no options, no DAG to
            # trigger and many options or DAG ids are valid.
            accepts=_accepts(max_workers="huge", queued_tasks_threshold="huge",
                             airflow_configuration_options="empty huge",
                             triggerable_dags="empty")),
    Subject("KinesisDataStream", ao.KinesisDataStream, lambda s: {}, construct=True,
            units={"retention_period": "hours", "iterator_age_threshold": "millis"}),
    Subject("StreamingTable", ao.StreamingTable, lambda s: {"partition_key": "id"},
            construct=True),
    Subject("StreamConsumer", ao.StreamConsumer,
            lambda s: {"source": ao.StreamSource.kinesis(stream(s)),
                       "handler": ao.ConsumerHandler.code(consumer_code())},
            construct=True, units={"iterator_age_threshold": "millis"},
            # 0 retries (discard at once) and windows of 0 (none) are valid for Lambda.
            accepts=_accepts(retry_attempts="zero", max_batching_window="zero",
                             tumbling_window="zero", filters="empty")),
    Subject("StreamToStateMachinePipe", ao.StreamToStateMachinePipe,
            lambda s: {"source": ao.StreamSource.kinesis(stream(s)),
                       "state_machine": machine(s)}, construct=True,
            accepts=_accepts(retry_attempts="zero", maximum_batching_window="zero",
                             filter_patterns="empty")),
    Subject("DataLakeDeliveryStream", ao.DataLakeDeliveryStream,
            lambda s: {"bucket": bucket(s)}, construct=True,
            exclusive={"data_lake": ("bucket",)},
            # No partitions (Firehose's hourly folders) and no columns (JSON lines) are
            # valid deliveries; without dynamic partitioning Firehose offers zero buffering
            # (an interval of 0 seconds).
            accepts=_accepts(partitions="empty", columns="empty", buffering_interval="zero")),
    Subject("LakeColumn", ao.LakeColumn, lambda s: {"name": "page"},
            host=in_delivery("columns", many=False),
            accepts=_accepts(comment="empty")),
    Subject("LakePartition.field", ao.LakePartition.field, lambda s: {"name": "event_type"},
            host=in_delivery("partitions"), accepts=_accepts(values="empty"),
            literal=frozenset({"name", "path"})),
    Subject("LakePartition.date", ao.LakePartition.date, lambda s: {"name": "event_date"},
            host=in_delivery("partitions"), literal=frozenset({"name", "path"})),
    Subject("LakeTransform", ao.LakeTransform, lambda s: {},
            host=in_delivery("transform", many=False),
            accepts=_accepts(required_fields="empty", drop_values="empty")),
    Subject("SqsWorkerPool", ao.SqsWorkerPool, lambda s: {}, construct=True),
    Subject("StepFunctionsEtl", ao.StepFunctionsEtl,
            lambda s: {"transform": [work_step(s)]}, construct=True,
            accepts=_accepts(extract="empty", validate="empty", load="empty",
                             triggers="empty"),
            ),
    # ----------------------------------------------------------- ingestion options
    Subject("ObjectValidationRules", ao.ObjectValidationRules, lambda s: {},
            host=in_ingestion("validation_rules"), literal=frozenset({"quarantine_prefix"}),
            # 101 suffixes fit the validator's environment (4 KB) easily.
            accepts=_accepts(allowed_suffixes="huge", max_object_size_bytes="huge")),
    Subject("FanOutSubscriber", ao.FanOutSubscriber, lambda s: {"queue": queue(s)},
            host=in_ingestion("fan_out_subscribers", as_list=True)),
    Subject("TargetRetryPolicy", ao.TargetRetryPolicy, lambda s: {},
            host=in_ingestion("target_retry"), accepts=_accepts(retry_attempts="zero")),
    Subject("ReconciliationSweep", ao.ReconciliationSweep, lambda s: {},
            host=in_ingestion("reconciliation"),
            accepts=_accepts(overlap="zero", minimum_age="zero"),
            units={"overlap": "seconds", "minimum_age": "seconds"}),
    Subject("IngestionTarget.state_machine", ao.IngestionTarget.state_machine,
            lambda s: {"state_machine": machine(s)}, host=in_ingestion("targets", True)),
    Subject("IngestionTarget.function", ao.IngestionTarget.function, _lambda_target,
            host=in_ingestion("targets", True)),
    Subject("IngestionTarget.queue", ao.IngestionTarget.queue,
            lambda s: {"queue": fifo_queue(s), "message_group_id": "objects"},
            host=in_ingestion("targets", True)),
    Subject("IngestionTarget.topic", ao.IngestionTarget.topic,
            lambda s: {"topic": topic(s)}, host=in_ingestion("targets", True)),
    # ----------------------------------------------------------- ETL
    Subject("EtlRetryPolicy", ao.EtlRetryPolicy, lambda s: {}, host=in_etl("retry")),
    Subject("EtlStep.lambda_function", ao.EtlStep.lambda_function,
            lambda s: {"name": "Work", "function": function(s)},
            host=in_etl("transform", True), literal=frozenset({"name"})),
    Subject("EtlStep.partition_records", ao.EtlStep.partition_records,
            lambda s: {"name": "Partition", "source_bucket": bucket(s),
                       "target_bucket": bucket(s), "target_prefix": "curated/",
                       "partition_keys": ["region"]},
            host=in_etl("transform", True), literal=frozenset({"name"}),
            # "" writes partitions at the target bucket's root.
            accepts=_accepts(max_rejected_fraction="zero", target_prefix="empty")),
    Subject("EtlStep.glue_job", ao.EtlStep.glue_job,
            lambda s: {"name": "Glue", "job": glue_job(s)}, host=in_etl("transform", True),
            literal=frozenset({"name"})),
    Subject("EtlStep.glue_crawler", ao.EtlStep.glue_crawler,
            lambda s: {"name": "Crawl", "crawler": crawler(s)}, host=in_etl("transform", True),
            literal=frozenset({"name"})),
    Subject("EtlStep.emr_serverless_job", ao.EtlStep.emr_serverless_job,
            lambda s: {"name": "Spark", "application": emr_application(s),
                       "execution_role": role(s), "entry_point": "s3://fuzz-bucket/job.py"},
            host=in_etl("transform", True), literal=frozenset({"name"}),
            accepts=_accepts(entry_point_arguments="empty blank_item huge",
                             spark_submit_parameters="huge")),
    Subject("EtlStep.batch_job", ao.EtlStep.batch_job,
            lambda s: {"name": "Batch", "job_queue": job_queue(s),
                       "job_definition": job_definition(s)},
            host=in_etl("transform", True), literal=frozenset({"name"})),
    Subject("EtlStep.athena_query", ao.EtlStep.athena_query,
            lambda s: {"name": "Query", "query": "SELECT 1", "database": "analytics",
                       "output_location": s3.Location(bucket_name="fuzz-bucket",
                                                      object_key="athena/")},
            host=in_etl("transform", True),
            literal=frozenset({"name", "database", "read_prefixes", "write_prefixes"}),
            # [""] reads the whole data bucket (the default); writing needs data_bucket.
            accepts=_accepts(query="huge", read_prefixes="empty blank_item",
                             write_prefixes="empty")),
    Subject("EtlStep.redshift_sql", ao.EtlStep.redshift_sql,
            lambda s: {"name": "Merge", "sql": ["SELECT 1"], "target": redshift_target(s)},
            host=in_etl("load", True), literal=frozenset({"name"})),
    Subject("RedshiftSqlRunner", ao.RedshiftSqlRunner,
            lambda s: {"target": redshift_target(s), "create_sql": ["CREATE SCHEMA s"]},
            construct=True, literal=frozenset({"query_interval", "total_timeout"}),
            # No drop SQL (the default) leaves the objects; no roles: the user's own rights.
            accepts=_accepts(drop_sql="empty", database_roles="empty")),
    Subject("S3AutoCopy", ao.S3AutoCopy,
            lambda s: {"bucket": owned_bucket(s), "namespace": namespace(s),
                       "target": redshift_target(s), "table": "orders",
                       "columns": {"id": "VARCHAR(64)"}, "job_name": "orders_copy"},
            construct=True,
            # The whole bucket ("") is a valid prefix; no header rows (0) is the default;
            # no database roles: the runner's own rights.
            accepts=_accepts(key_prefix="empty", ignore_header_rows="zero",
                             database_roles="empty")),
    Subject("KinesisStreamingIngestion", ao.KinesisStreamingIngestion,
            lambda s: {"stream": stream(s), "namespace": namespace(s),
                       "workgroup": workgroup(s), "target": redshift_target(s),
                       "external_schema": "kinesis", "view": "events"},
            construct=True,
            # No readers granted and no runner roles are valid choices.
            accepts=_accepts(grant_select_to="empty", database_roles="empty")),
    Subject("MskStreamingIngestion", ao.MskStreamingIngestion,
            lambda s: {"cluster": msk_cluster(s), "topic": "clickstream",
                       "cluster_security_group": security_group(
                           s, "FuzzMskGroup", "sg-0a1a1a1a1a1a1a1a1"),
                       "workgroup_security_group": security_group(
                           s, "FuzzWorkgroupGroup", "sg-0b2b2b2b2b2b2b2b2"),
                       "namespace": namespace(s), "workgroup": workgroup(s),
                       "target": redshift_target(s), "external_schema": "msk",
                       "view": "events"},
            construct=True,
            # No readers granted and no runner roles are valid choices.
            accepts=_accepts(grant_select_to="empty", database_roles="empty")),
    Subject("DynamoDbToRedshift", ao.DynamoDbToRedshift,
            lambda s: {"table": owned_table(s), "namespace": namespace(s),
                       "workgroup": workgroup(s), "target": redshift_target(s),
                       "database": "replica"},
            construct=True, accepts=_accepts(database_roles="empty")),
    Subject("S3DirectQuery", ao.S3DirectQuery, direct_query_props, construct=True,
            three_azs=True,
            # The whole buckets (""), a new database (no databases) and no description are
            # the defaults.
            accepts=_accepts(key_prefix="empty", databases="empty", description="empty")),
    Subject("DirectQueryDomainOptions", ao.DirectQueryDomainOptions,
            lambda s: {"master_user": role(s)}, host=in_direct_query, three_azs=True),
    Subject("S3IngestionPipeline", ao.S3IngestionPipeline,
            lambda s: {"bucket": owned_bucket(s), "collection": collection(s),
                       "index": "fuzz-logs"},
            construct=True, units={"visibility_timeout": "seconds"},
            literal=frozenset({"pipeline_name"}),
            # Every object of the bucket ("") is the default.
            accepts=_accepts(key_prefix="empty")),
    Subject("AuroraToRedshift", ao.AuroraToRedshift,
            lambda s: {"namespace": namespace(s), "workgroup": workgroup(s),
                       "target": redshift_target(s), "database": "orders_replica",
                       "source_database": "orders",
                       "vpc": _child(s, "FuzzAuroraVpc",
                                     lambda: blocks.private_vpc(s, "FuzzAuroraVpc"))},
            construct=True,
            # No runner roles: the runner's own rights.
            accepts=_accepts(database_roles="empty")),
    Subject("RedshiftTarget", ao.RedshiftTarget,
            lambda s: {"workgroup_name": "sales", "database": "dev",
                       "workgroup_arn": "arn:aws:redshift-serverless:us-east-1:111111111111:"
                                        "workgroup/0b6b7ab0-7b3f-4b5e-9d2c-1c2d3e4f5a6b"},
            host=in_runner),
    Subject("RedshiftTarget.of_workgroup", ao.RedshiftTarget.of_workgroup,
            lambda s: {"workgroup": workgroup(s), "database": "dev"}, host=in_runner),
    Subject("EtlStep.chainable", ao.EtlStep.chainable,
            lambda s: {"name": "Chain", "chainable": sfn.Pass(s, _unique(s, "Pass"))},
            host=in_etl("transform", True), literal=frozenset({"name"})),
    Subject("EtlTrigger.schedule", ao.EtlTrigger.schedule,
            lambda s: {"expression": scheduler.ScheduleExpression.rate(Duration.hours(1))},
            host=in_etl("triggers", True)),
    Subject("EtlTrigger.event", ao.EtlTrigger.event,
            lambda s: {"pattern": events.EventPattern(source=["fuzz"])},
            host=in_etl("triggers", True)),
    Subject("EtlTrigger.object_accepted", ao.EtlTrigger.object_accepted,
            lambda s: {"bucket": bucket(s), "key_prefix": "raw/"},
            host=in_etl("triggers", True)),
    Subject("LargeInput", ao.LargeInput,
            lambda s: {"bucket": bucket(s), "prefix": "in/",
                       "processor": ao.ItemProcessor.lambda_function(function(s))},
            host=in_etl("large_input"),
            literal=frozenset({"name", "tolerated_failure_percentage"}),
            exclusive={"manifest_key": ("prefix",)},
            # prefix "" iterates over the whole bucket.
            accepts=_accepts(tolerated_failure_percentage="zero", prefix="empty")),
    Subject("ItemProcessor.lambda_function", ao.ItemProcessor.lambda_function,
            _lambda_target, host=in_large_input),
    Subject("ItemProcessor.batch_job", ao.ItemProcessor.batch_job,
            lambda s: {"job_queue": job_queue(s), "job_definition": job_definition(s)},
            host=in_large_input),
    Subject("MlWorkflow", ao.MlWorkflow, ml_props, host=in_etl("ml"),
            literal=frozenset({"job_name_prefix"})),
    Subject("SageMakerTraining", ao.SageMakerTraining,
            lambda s: dict(image_uri="111111111111.dkr.ecr.us-east-1.amazonaws.com/t:1",
                           channels={"train": "s3://fuzz-bucket/train/"},
                           output_uri="s3://fuzz-bucket/models/"),
            host=in_ml("training"), accepts=_accepts(hyperparameters="empty")),
    Subject("SageMakerProcessing", ao.SageMakerProcessing,
            lambda s: dict(image_uri="111111111111.dkr.ecr.us-east-1.amazonaws.com/p:1",
                           script_uri="s3://fuzz-bucket/code/prep.py",
                           input_uri="s3://fuzz-bucket/raw/",
                           output_uri="s3://fuzz-bucket/prepared/", script_name="prep.py"),
            host=in_ml("processing"), accepts=_accepts(arguments="empty blank_item huge")),
    Subject("EvaluationGate", ao.EvaluationGate,
            lambda s: {"metric_name": "auc", "threshold": 0.8}, host=in_ml("gate"),
            accepts=_accepts(threshold="negative huge zero")),
    Subject("EndpointDeployment", ao.EndpointDeployment,
            lambda s: {"endpoint_name": "fuzz-endpoint"}, host=in_ml("deployment")),
    # ----------------------------------------------------------- routing
    Subject("RoutingRule", ao.RoutingRule,
            lambda s: {"name": "Route", "event_pattern": events.EventPattern(source=["x"]),
                       "targets": [ao.RouteTarget.queue(queue(s))]},
            host=in_router, literal=frozenset({"name"})),
    Subject("RoutingRule.for_events", ao.RoutingRule.for_events,
            lambda s: {"name": "Failed", "library_events": ao.ETL_RUN_FAILED,
                       "targets": [ao.RouteTarget.queue(queue(s))]},
            host=in_router, literal=frozenset({"name"})),
    Subject("RouteTarget.state_machine", ao.RouteTarget.state_machine,
            lambda s: {"state_machine": machine(s)}, host=in_route),
    Subject("RouteTarget.function", ao.RouteTarget.function, _lambda_target, host=in_route),
    Subject("RouteTarget.queue", ao.RouteTarget.queue,
            lambda s: {"queue": fifo_queue(s), "message_group_id": "events"}, host=in_route),
    Subject("RouteTarget.topic", ao.RouteTarget.topic, lambda s: {"topic": topic(s)},
            host=in_route),
    Subject("RouteTarget.event_bus", ao.RouteTarget.event_bus,
            lambda s: {"event_bus": bus(s)}, host=in_route),
    Subject("RouteTarget.api_destination", ao.RouteTarget.api_destination,
            lambda s: {"api_destination": api_destination(s)}, host=in_route),
    Subject("TopicSubscription.queue", ao.TopicSubscription.queue,
            lambda s: {"queue": queue(s)}, host=in_fan_out("subscriptions")),
    Subject("TopicSubscription.function", ao.TopicSubscription.function, _lambda_target,
            host=in_fan_out("subscriptions")),
    Subject("TopicSubscription.email", ao.TopicSubscription.email,
            lambda s: {"address": "ops@example.com"}, host=in_fan_out("subscriptions")),
    Subject("WorkflowSubscription", ao.WorkflowSubscription,
            lambda s: {"state_machine": machine(s)}, host=in_fan_out("workflows"),
            accepts=_accepts(pipe_filter_patterns="empty")),
    Subject("PipeEnrichment.function", ao.PipeEnrichment.function, _lambda_target,
            host=in_pipe),
    Subject("StreamSource.kinesis", ao.StreamSource.kinesis,
            lambda s: {"stream": stream(s)}, host=in_consumer("source")),
    Subject("StreamSource.dynamodb", ao.StreamSource.dynamodb,
            lambda s: {"table": streaming_table(s)}, host=in_consumer("source")),
    Subject("ConsumerHandler.code", ao.ConsumerHandler.code,
            lambda s: {"code": consumer_code()}, host=in_consumer("handler"),
            units={"timeout": "seconds"}),
    Subject("ConsumerHandler.window_counter", ao.ConsumerHandler.window_counter,
            lambda s: {"key_field": "page"}, host=in_consumer("handler")),
    Subject("catalog_pattern", ao.catalog_pattern,
            lambda s: {"library_events": ao.ETL_RUN_FAILED}),
    Subject("detail_input", ao.detail_input,
            lambda s: {"library_event": ao.ETL_RUN_FAILED, "fields": ["workflow"]}),
    # ----------------------------------------------------------- analytics options
    # No archive tier: the fuzz varies one prop at a time, and the Standard-IA and archive
    # ages conflict by design (the hand-written tests cover that pair).
    Subject("DataLakeOptions", ao.DataLakeOptions, lambda s: {"archive_after": None},
            host=in_analytics("data_lake"),
            units={"infrequent_access_after": "days", "archive_after": "days",
                   "noncurrent_version_expiration": "days"},
            # S3 lifecycle transitions and expirations have no upper bound.
            accepts=_accepts(archive_after="huge", noncurrent_version_expiration="huge",
                             infrequent_access_after="huge")),
    Subject("CatalogOptions", ao.CatalogOptions, lambda s: {},
            host=in_analytics("catalog"), accepts=_accepts(crawled_zones="empty")),
    Subject("CurationJobOptions", ao.CurationJobOptions,
            lambda s: {"source_prefix": "sales/", "table_name": "sales"},
            host=in_analytics("curation_job"), accepts=_accepts(max_retries="zero"),
            literal=frozenset({"source_prefix", "table_name"}),
            units={"timeout": "minutes"}),
    Subject("AthenaOptions", ao.AthenaOptions, lambda s: {}, host=in_analytics("athena"),
            units={"results_expiration": "days"},
            # A terabyte cutoff per query is a valid (if generous) Athena control.
            accepts=_accepts(named_queries="empty", bytes_scanned_cutoff_per_query="huge",
                             results_expiration="huge")),
    Subject("AthenaNamedQuery", ao.AthenaNamedQuery,
            lambda s: {"name": "daily", "query": "SELECT 1"}, host=in_athena,
            accepts=_accepts(query="huge")),
    Subject("RedshiftOptions", ao.RedshiftOptions, lambda s: {}, three_azs=True,
            # No log exports is a valid (if unwise) choice.
            host=in_analytics("redshift"),
            accepts=_accepts(config_parameters="empty", log_exports="empty")),
    Subject("EmrOptions", ao.EmrOptions, lambda s: {}, host=in_analytics("emr"),
            units={"idle_timeout": "minutes"}),
    Subject("MskOptions", ao.MskOptions, lambda s: {}, host=in_analytics("msk")),
    Subject("OpenSearchOptions", ao.OpenSearchOptions,
            lambda s: {"collection_name": "logs", "data_access_principals": [role(s)]},
            host=in_analytics("opensearch"), three_azs=True),
    # ----------------------------------------------------------- worker pool options
    Subject("LambdaWorkers", ao.LambdaWorkers, lambda s: {}, host=in_pool_with_visibility,
            # A batching window of 0 is Lambda's default (no waiting).
            accepts=_accepts(max_batching_window="zero")),
    Subject("ContainerWorkers", ao.ContainerWorkers, lambda s: {},
            host=in_pool("workers"), accepts=_accepts(min_tasks="zero"),
            literal=frozenset({"directory"})),
    Subject("JobApiOptions", ao.JobApiOptions, lambda s: {}, host=in_pool("api_options"),
            literal=frozenset({"stage_name"})),
    # ----------------------------------------------------------- building blocks
    Subject("access_log_bucket", blocks.access_log_bucket, lambda s: {}, construct=True),
    Subject("alarm_topic", blocks.alarm_topic, lambda s: {"encryption_key": key(s)},
            construct=True),
    Subject("log_group", blocks.log_group, lambda s: {}, construct=True),
    Subject("observable_state_machine", blocks.observable_state_machine,
            lambda s: {"definition_body": pass_body()}, construct=True),
    Subject("private_vpc", blocks.private_vpc, lambda s: {}, construct=True,
            literal=frozenset({"max_azs", "cidr"}),
            accepts=_accepts(interface_endpoints="empty")),
    Subject("python_function", blocks.python_function,
            # No reservation, capped otherwise: so that a token cap is valid; a reservation
            # is fuzzed without the cap (0 is valid: it stops every invocation).
            lambda s: {"code_path": HANDLER_FOLDER, "handler": "extract_indexer.handler",
                       "description": "Fuzz function", "reserved_concurrency": None,
                       "concurrency_cap": "the fuzz's own limit"},
            construct=True, literal=frozenset({"code_path", "handler"}),
            exclusive={"reserved_concurrency": ("concurrency_cap",)},
            accepts=_accepts(reserved_concurrency="zero")),
    Subject("queue_with_dead_letter_queue", blocks.queue_with_dead_letter_queue,
            lambda s: {"visibility_timeout": Duration.minutes(6)}, construct=True,
            accepts=_accepts(visibility_timeout="zero")),
    Subject("secure_bucket", blocks.secure_bucket,
            lambda s: {"server_access_logs_bucket": bucket(s),
                       "server_access_logs_prefix": "logs/"}, construct=True,
            units={"noncurrent_version_expiration": "days"},
            # "" logs at the log bucket's root; S3 expirations have no upper bound.
            accepts=_accepts(lifecycle_rules="empty", server_access_logs_prefix="empty",
                             noncurrent_version_expiration="huge")),
    Subject("secure_key", blocks.secure_key, lambda s: {"description": "Fuzz key"},
            construct=True, accepts=_accepts(description="huge")),  # KMS: 8,192
    Subject("secure_repository", blocks.secure_repository,
            lambda s: {"encryption_key": key(s)}, construct=True),
    Subject("secure_topic", blocks.secure_topic,
            lambda s: {"master_key": key(s), "fifo": True},
            construct=True, accepts=_accepts(publishers="empty")),
)

#: Public names that take no props (enums, constants, errors, abstract bases).
NOT_CALLABLE_WITH_PROPS = frozenset({
    "AnalyticsOrchestrationError", "ConfigurationError", "CollectionType", "CopyFormat",
    "DataZone",
    "EmrArchitecture", "PipeLogLevel", "RunStatus", "SourceFormat", "StepKind",
    "DESTROY_ON_REMOVAL_CONTEXT_KEY", "ETL_RUN_FAILED", "ETL_RUN_SUCCEEDED", "JOB_FAILED",
    "JOB_SUCCEEDED", "LIBRARY_EVENTS", "OBJECT_ACCEPTED", "OBJECT_NOTIFICATION_FIELDS",
    "OBJECT_REJECTED",
    # ManagedAirflow's closed sets (enums).
    "AirflowLogLevel", "AirflowVersion", "EnvironmentClass", "WebserverAccess",
    "WorkerReplacement",
    # S3IngestionPipeline's closed sets (enums).
    "PipelineCodec", "PipelineCompression",
})
