"""``S3IngestionPipeline``: objects landing in S3 indexed into an OpenSearch Serverless
collection by an OpenSearch Ingestion pipeline (``AWS::OSIS::Pipeline``).

The alternative to :class:`~.opensearch.S3DirectQuery` when the data should be indexed
(full-text search, dashboards over recent data) rather than read in place. Here:

- the bucket's Object Created events (EventBridge notifications, turned on through the
  bucket's own ``NotificationConfiguration``: the library's way for S3 events) under
  ``key_prefix`` are routed by a rule to an SQS queue (encrypted with the customer-managed
  key, with a dead-letter queue), the target with its own dead-letter queue and retry
  policy; the queue and key policies let ``events.amazonaws.com`` send for this account
  (CDK's grant to an encrypted queue's target: the rule's ARN there would be a cycle);
- the pipeline (Data Prepper configuration generated from props, :mod:`._pipeline_body`,
  ``notification_source: eventbridge``) reads the queue, the objects, and writes each
  event to ``index`` of the collection;
  1 to 384 Ingestion OCUs, logs to an encrypted ``/aws/vendedlogs/`` log group, its
  buffer encrypted with the key, its endpoint in your VPC when you give one;
- the pipeline role is trusted by ``osis-pipelines.amazonaws.com`` for this pipeline
  only (``aws:SourceAccount``, ``aws:SourceArn``); it may read the queue and the prefix,
  use the collection (``aoss:BatchGetCollection``, ``aoss:APIAccessAll``) and manage the
  network policy that lets the pipeline reach a VPC-only collection (those ``aoss``
  actions have no resource ARN: they are conditioned on ``aoss:collection``);
- a data access policy of its own on the collection grants the role the index
  permissions AWS documents for pipelines, on the pipeline's index pattern only.

Regions: ``AWS::OSIS::Pipeline`` is missing from 19 of the 46 Region schemas cfn-lint
1.58 ships (among them ap-northeast-3, eu-south-1, eu-central-2 and the China Regions):
the pipeline carries a cfn-lint exception for the resource-type check (E3006) alone.
"""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_osis as osis
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .._foundation import (
    TargetRetryPolicy,
    acknowledge,
    enable_event_bridge_notifications,
    is_unresolved,
    log_group,
    queue_with_dead_letter_queue,
    target_dead_letter_queue,
)
from .._foundation.compliance import nag_reference
from .._foundation.keys import stack_key
from .._foundation.networks import literal_cidr
from .._foundation.regions import available_in_some_regions_only
from .._foundation.validation import Number, ProblemCollector, Span, Text, validated_props
from ..serverless_analytics._common import lowercase_name
from ._pipeline_body import (
    INDEX_NAME,
    PipelineCodec,
    PipelineCompression,
    dump,
    index_prefix,
    pipeline_configuration,
    shape_problems,
)

__all__ = ["OSIS_SERVICE", "PIPELINE_INDEX_PERMISSIONS", "PipelineCodec", "PipelineCompression",
           "S3IngestionPipeline"]

#: The service principal OpenSearch Ingestion assumes pipeline roles as.
OSIS_SERVICE = "osis-pipelines.amazonaws.com"
#: Ingestion OCUs a pipeline may have (the ``MinUnits`` / ``MaxUnits`` bounds).
MIN_OCUS, MAX_OCUS = 1, 384
#: Pipeline names: 3 to 28 characters, lowercase letters, digits, hyphens.
PIPELINE_NAME = r"[a-z][a-z0-9-]{2,27}"
#: What the pipeline role may do on its indexes (AWS's pipeline tutorial for collections).
PIPELINE_INDEX_PERMISSIONS = ("aoss:CreateIndex", "aoss:UpdateIndex", "aoss:DescribeIndex",
                              "aoss:ReadDocument", "aoss:WriteDocument")
#: The network-policy actions a pipeline needs to reach a VPC-only collection.
NETWORK_POLICY_ACTIONS = ("aoss:GetSecurityPolicy", "aoss:CreateSecurityPolicy",
                          "aoss:UpdateSecurityPolicy")
#: How long a notification stays hidden while its object is indexed.
DEFAULT_VISIBILITY_TIMEOUT = Duration.minutes(5)
#: Policy names: at most 32 characters.
_POLICY_NAME_LENGTH = 32


@validated_props({
    "index": Text(max_length=255, pattern=INDEX_NAME,
                  meaning="an OpenSearch index name: lowercase letters, digits and ._+-, "
                          "starting with a letter or digit, optionally one date pattern "
                          "such as logs-%{yyyy.MM.dd}"),
    "key_prefix": Text(non_empty=False, max_length=1024),
    # Literal: the collection policies' and the log group's names are derived from it.
    "pipeline_name": Text(pattern=PIPELINE_NAME, literal=True,
                          meaning="3 to 28 lowercase letters, digits or hyphens, starting "
                                  "with a letter"),
    "min_units": Number(minimum=MIN_OCUS, maximum=MAX_OCUS),
    "max_units": Number(minimum=MIN_OCUS, maximum=MAX_OCUS),
    "visibility_timeout": Span(minimum=Duration.seconds(30), maximum=Duration.hours(12),
                               whole_seconds=True),
})
class S3IngestionPipeline(Construct):
    """New objects under ``key_prefix`` of ``bucket`` indexed into ``collection``.

    :param bucket: where the objects land. Its EventBridge notifications are turned on
        when it is a bucket of this app (an imported bucket must have them on: a warning
        says so).
    :param collection: the OpenSearch Serverless collection (``ServerlessAnalytics``'s
        ``opensearch_collection``).
    :param index: the index each event goes to; a date pattern makes one index per day
        (``logs-%{yyyy.MM.dd}``).
    :param key_prefix: only objects under this prefix are indexed. Default: all.
    :param codec: how objects are read. Default: JSON lines.
    :param compression: how objects are compressed. Default: by extension (``automatic``).
    :param min_units: Ingestion OCUs at least (1 to 384). Default: 1.
    :param max_units: Ingestion OCUs at most (``min_units`` to 384). Default: 4.
    :param pipeline_name: the pipeline's name (3 to 28 lowercase letters, digits, hyphens).
        Default: derived from the construct path.
    :param visibility_timeout: how long a notification is hidden while its object is
        processed; after ``max_receive_count`` receives it moves to the dead-letter queue.
        Default: 5 minutes.
    :param vpc: the VPC of the pipeline's endpoint. Default: None, the pipeline gets a
        public endpoint (SigV4-signed ``osis:Ingest`` calls only; an S3-source pipeline
        takes no pushes).
    :param vpc_subnets: the endpoint's subnets. Default: the VPC's private subnets.
    :param encryption_key: encrypts the queues, the buffer and the logs. Default: the
        stack's key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        collection: aoss.CfnCollection,
        index: str,
        key_prefix: str = "",
        codec: PipelineCodec = PipelineCodec.JSON_LINES,
        compression: PipelineCompression = PipelineCompression.AUTOMATIC,
        min_units: int = 1,
        max_units: int = 4,
        pipeline_name: str | None = None,
        visibility_timeout: Duration = DEFAULT_VISIBILITY_TIMEOUT,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"S3IngestionPipeline {self.node.path}")
        problems.check(is_unresolved(min_units) or is_unresolved(max_units)
                       or min_units <= max_units, "max_units", max_units,
                       f"must be at least min_units ({min_units})")
        problems.check(not key_prefix.startswith("/"), "key_prefix", key_prefix,
                       "an S3 key prefix does not start with '/'")
        problems.check(vpc_subnets is None or vpc is not None, "vpc_subnets", "given",
                       "only with vpc")
        problems.raise_if_any()
        stack = Stack.of(self)
        self.key: kms.IKey = encryption_key or stack_key(self)
        self.pipeline_name = pipeline_name or lowercase_name(self, max_length=28)
        self.pipeline_arn = stack.format_arn(
            service="osis", resource="pipeline", resource_name=self.pipeline_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        self.index = index
        self.collection = collection
        queues = queue_with_dead_letter_queue(self, "Notifications",
                                              visibility_timeout=visibility_timeout,
                                              encryption_key=self.key)
        self.security_group: ec2.SecurityGroup | None = None
        self.queue: sqs.Queue = queues.queue
        self.dead_letter_queue: sqs.Queue = queues.dead_letter_queue
        self.object_created_rule = self._route_object_events(bucket, key_prefix)
        self.role = self._create_role()
        self._grant(bucket, key_prefix)
        self.network_policy_name = _policy_name(self.pipeline_name, "net")
        self.access_policy = aoss.CfnAccessPolicy(
            self, "DataAccessPolicy", name=_policy_name(self.pipeline_name, "data"), type="data",
            description=f"The ingestion pipeline {self.pipeline_name} writes to {index}",
            policy=stack.to_json_string([{
                "Rules": [{"ResourceType": "index",
                           "Resource": [f"index/{collection.name}/{index_prefix(index)}*"],
                           "Permission": list(PIPELINE_INDEX_PERMISSIONS)}],
                "Principal": [self.role.role_arn],
            }]),
        )
        self.log_group: logs.LogGroup = log_group(
            self, "Logs", encryption_key=self.key,
            log_group_name=f"/aws/vendedlogs/OpenSearchIngestion/{self.pipeline_name}/audit-logs")
        self.configuration = pipeline_configuration(
            queue_url=self.queue.queue_url, role_arn=self.role.role_arn, region=stack.region,
            codec=codec, compression=compression,
            visibility_timeout_seconds=int(visibility_timeout.to_seconds()),
            collection_endpoint=collection.attr_collection_endpoint, index=index,
            network_policy_name=self.network_policy_name,
        )
        shape = shape_problems(self.configuration)
        if shape:  # a defect of this module, not of the props: fail loudly
            raise AssertionError(f"pipeline configuration off its documented shape: {shape}")
        self.pipeline = osis.CfnPipeline(
            self, "Resource", pipeline_name=self.pipeline_name,
            min_units=min_units, max_units=max_units,
            pipeline_configuration_body=dump(self.configuration),
            pipeline_role_arn=self.role.role_arn,
            encryption_at_rest_options=osis.CfnPipeline.EncryptionAtRestOptionsProperty(
                kms_key_arn=self.key.key_arn),
            log_publishing_options=osis.CfnPipeline.LogPublishingOptionsProperty(
                is_logging_enabled=True,
                cloud_watch_log_destination=(
                    osis.CfnPipeline.CloudWatchLogDestinationProperty(
                        log_group=self.log_group.log_group_name))),
            vpc_options=self._vpc_options(vpc, vpc_subnets),
        )
        self.pipeline.node.add_dependency(self.access_policy)
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.pipeline.node.add_dependency(policy)
        # Not in every Region's schema (see the module): cfn-lint's type check off here only.
        available_in_some_regions_only(self.pipeline)
        available_in_some_regions_only(self.access_policy)

    # -- extension points -----------------------------------------------------------
    def _create_role(self) -> iam.Role:
        """The pipeline role: trusted by OpenSearch Ingestion for this pipeline only."""
        return iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal(OSIS_SERVICE, conditions={
                "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                "ArnLike": {"aws:SourceArn": self.pipeline_arn},
            }),
            description=f"OpenSearch Ingestion pipeline {self.node.path}: S3 to a collection",
        )

    # -- wiring ----------------------------------------------------------------------
    def _route_object_events(self, bucket: s3.IBucket, key_prefix: str) -> events.Rule:
        """Object Created events of ``bucket`` under ``key_prefix`` -> the queue."""
        if isinstance(bucket, s3.Bucket) and isinstance(bucket.node.default_child,
                                                        s3.CfnBucket):
            enable_event_bridge_notifications(bucket)
        else:
            Annotations.of(self).add_warning_v2(
                "analytics-orchestration:ingestion-pipeline-imported-bucket",
                f"The bucket {bucket.node.path} is imported: turn on its EventBridge "
                "notifications, or no object will be indexed.")
        detail: dict[str, object] = {"bucket": {"name": [bucket.bucket_name]}}
        if key_prefix:
            detail["object"] = {"key": [{"prefix": key_prefix}]}
        rule = events.Rule(
            self, "ObjectCreatedRule",
            description=f"New objects for the ingestion pipeline {self.pipeline_name}",
            event_pattern=events.EventPattern(source=["aws.s3"], detail_type=["Object Created"],
                                              detail=detail))
        retry = TargetRetryPolicy()
        self.target_dead_letter_queue = target_dead_letter_queue(
            self, "TargetDeadLetterQueue", rule_name=rule.node.path, encryption_key=self.key)
        rule.add_target(targets.SqsQueue(
            self.queue, dead_letter_queue=self.target_dead_letter_queue,
            max_event_age=retry.max_event_age, retry_attempts=retry.retry_attempts))
        return rule

    def _grant(self, bucket: s3.IBucket, key_prefix: str) -> None:
        role, collection = self.role, self.collection
        self.queue.grant_consume_messages(role)
        objects = bucket.arn_for_objects(f"{key_prefix}*")
        role.add_to_policy(iam.PolicyStatement(sid="ReadTheObjects", actions=["s3:GetObject"],
                                               resources=[objects]))
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant_decrypt(role)
        role.add_to_policy(iam.PolicyStatement(
            sid="UseTheCollection", actions=["aoss:BatchGetCollection", "aoss:APIAccessAll"],
            resources=[collection.attr_arn]))
        role.add_to_policy(iam.PolicyStatement(
            sid="ReachTheCollection", actions=list(NETWORK_POLICY_ACTIONS), resources=["*"],
            conditions={"StringEquals": {"aoss:collection": collection.name}}))
        role.add_to_policy(iam.PolicyStatement(
            sid="BufferKey", actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[self.key.key_arn]))
        policy = role.node.find_child("DefaultPolicy")
        object_finding = f"Resource::{nag_reference(self, objects)}"
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[{object_finding}]",
                    "The pipeline reads every object that lands under the prefix: their "
                    "names are only known when they land.")
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    "aoss:Get/Create/UpdateSecurityPolicy take no resource ARN (the "
                    "Service Authorization Reference lists none); the statement is "
                    "conditioned on aoss:collection, this pipeline's collection only.")

    def _vpc_options(self, vpc: ec2.IVpc | None, selection: ec2.SubnetSelection | None
                     ) -> osis.CfnPipeline.VpcOptionsProperty | None:
        if vpc is None:
            return None
        group = self.security_group = ec2.SecurityGroup(
            self, "EndpointSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"The endpoint of the ingestion pipeline {self.pipeline_name}")
        group.add_ingress_rule(ec2.Peer.ipv4(literal_cidr(vpc)),
                                             ec2.Port.tcp(443), "HTTPS from the VPC")
        subnets = (vpc.select_subnets() if selection is None else vpc.select_subnets(
            availability_zones=selection.availability_zones, one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters, subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets, subnet_type=selection.subnet_type))
        return osis.CfnPipeline.VpcOptionsProperty(
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[group.security_group_id],
            vpc_endpoint_management="SERVICE")


def _policy_name(name: str, suffix: str) -> str:
    """``<name>-<suffix>`` within the 32-character limit of collection policy names."""
    return f"{name[: _POLICY_NAME_LENGTH - len(suffix) - 1]}-{suffix}"
