"""``MskStreamingIngestion``: a topic of an MSK (Serverless) cluster queryable in Redshift.

Redshift streaming ingestion from Amazon MSK has no CloudFormation resource: an IAM role,
a network path and SQL (Amazon Redshift Database Developer Guide, "Getting started with
streaming ingestion from Apache Kafka sources"; the steps shared with Kinesis are in
:mod:`._streaming`):

- the role, attached to the namespace, authenticates with IAM and holds exactly the actions
  the guide's policy for ``AUTHENTICATION iam`` lists, each on the narrowest resource:
  ``kafka-cluster:Connect`` on the cluster, ``kafka-cluster:DescribeTopic`` and
  ``kafka-cluster:ReadData`` on the topic. The guide grants no consumer-group action:
  Redshift keeps each partition's last offset with the view, it does not commit offsets;
- the cluster's security group admits the workgroup's on MSK's IAM port (9098, SASL/IAM
  over TLS): the guide's "the inbound security group rules for your Amazon MSK cluster
  should allow your Amazon Redshift cluster's security group";
- ``CREATE EXTERNAL SCHEMA <s> FROM MSK IAM_ROLE '<arn>' AUTHENTICATION iam CLUSTER_ARN
  '<cluster arn>'`` maps the cluster's topics;
- ``CREATE MATERIALIZED VIEW ... AUTO REFRESH YES AS SELECT kafka_partition, kafka_offset,
  kafka_timestamp_type, kafka_timestamp, kafka_key, kafka_headers, refresh_time,
  JSON_PARSE(kafka_value) AS payload FROM <s>."<topic>" WHERE CAN_JSON_PARSE(kafka_value)``:
  the guide's metadata columns and the record's value as SUPER (its first refresh reads each
  partition from offset 0);
- ``GRANT USAGE`` on the view's schema and ``SELECT`` on the view to the reading roles.

Regions: no CloudFormation resource type, so no cfn-lint exception; it runs wherever
Redshift Serverless and MSK (Serverless) both do, with Kafka 2.7.1 or later for IAM
authentication on a provisioned cluster.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from aws_cdk import Annotations, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_msk as msk
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation.validation import ProblemCollector, Rule, is_unresolved, validated_props
from ..serverless_analytics.options import MSK_IAM_PORT
from ..warehouse import RedshiftTarget
from ..warehouse.sql import MAX_IDENTIFIER_BYTES, quote_literal
from ._streaming import VIEW_RULES, StreamingIngestionBase

__all__ = ["KafkaTopic", "MskStreamingIngestion"]

#: The guide's metadata columns of a Kafka streaming view, besides the payload.
METADATA_COLUMNS = ("kafka_partition", "kafka_offset", "kafka_timestamp_type",
                    "kafka_timestamp", "kafka_key", "kafka_headers", "refresh_time")
#: The column holding a Kafka record's value (VARBYTE).
VALUE_COLUMN = "kafka_value"
#: Apache Kafka's topic name rules (``org.apache.kafka.common.internals.Topic``).
KAFKA_TOPIC_CHARACTERS = re.compile(r"[a-zA-Z0-9._-]+")
KAFKA_TOPIC_MAX_LENGTH = 249
#: What MSK's IAM access control calls for each part of the ingestion.
CLUSTER_ACTIONS = ("kafka-cluster:Connect",)
TOPIC_ACTIONS = ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData")


@dataclasses.dataclass(frozen=True)
class KafkaTopic(Rule):
    """A Kafka topic name a Redshift view can select from.

    Kafka allows letters, digits, ``.``, ``_`` and ``-``, at most 249 characters, never
    ``.`` or ``..``; the view names the topic as a Redshift identifier, at most 127 bytes.
    """

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str) or is_unresolved(value):
            return None
        if value in (".", ".."):
            return "must not be '.' or '..' (Kafka refuses them)"
        if KAFKA_TOPIC_CHARACTERS.fullmatch(value) is None:
            return ("must be a Kafka topic name: ASCII letters, digits, '.', '_' and '-' "
                    "only, not empty")
        if len(value) > KAFKA_TOPIC_MAX_LENGTH:
            return f"must be at most {KAFKA_TOPIC_MAX_LENGTH} characters (Kafka's limit)"
        if len(value) > MAX_IDENTIFIER_BYTES:
            return (f"must be at most {MAX_IDENTIFIER_BYTES} characters: the view selects "
                    "from the topic as a Redshift identifier")
        return None


@validated_props({"topic": KafkaTopic(), **VIEW_RULES})
class MskStreamingIngestion(StreamingIngestionBase):
    """``topic`` of an MSK cluster ingested into the auto-refreshed view ``view_schema.view``.

    :param cluster: the MSK Serverless (or provisioned) cluster, with IAM client
        authentication (e.g. ``ServerlessAnalytics.msk_cluster``).
    :param topic: the topic to ingest (case sensitive; created by your producers).
    :param cluster_security_group: the cluster's security group (e.g.
        ``ServerlessAnalytics.msk_security_group``): it gets an ingress rule from
        ``workgroup_security_group`` on port 9098.
    :param workgroup_security_group: the workgroup's security group (e.g.
        ``ServerlessAnalytics.redshift_security_group``); an egress rule to the cluster's
        group is added too when it does not allow all outbound traffic.
    :param namespace: the Redshift Serverless namespace of ``target`` (the topic-reading
        role is attached to it).
    :param workgroup: the namespace's workgroup: case-sensitive identifiers are turned on
        (topic names are case sensitive); a warning says when its enhanced VPC routing is
        not on (the guide's set-up turns it on).
    :param target: the workgroup and database the schema and view are created in.
    :param external_schema: the schema that maps the cluster's topics.
    :param view: the materialized view's name.
    :param view_schema: the view's (local) schema. Default: ``public``.
    :param grant_select_to: database roles that may read the view (they must exist).
        Default: none.
    :param encryption_key: encrypts the runner's logs. Default: the stack's shared key.
    :param database_roles: the runner's database roles (creating an external schema needs
        a superuser or CREATE on the database). Default: ``["sys:superuser"]``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: msk.CfnServerlessCluster | msk.CfnCluster,
        topic: str,
        cluster_security_group: ec2.ISecurityGroup,
        workgroup_security_group: ec2.ISecurityGroup,
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        target: RedshiftTarget,
        external_schema: str,
        view: str,
        view_schema: str = "public",
        grant_select_to: Sequence[str] = (),
        encryption_key: kms.IKey | None = None,
        database_roles: Sequence[str] = ("sys:superuser",),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"MskStreamingIngestion {self.node.path}")
        self._check_props(problems, workgroup, external_schema, view_schema)
        if cluster_security_group is workgroup_security_group:
            problems.add("cluster_security_group", cluster_security_group.node.path,
                         "give the cluster's own security group, not the workgroup's")
        problems.raise_if_any()
        routing = workgroup.enhanced_vpc_routing
        if routing is not True and not is_unresolved(routing):
            Annotations.of(self).add_warning_v2(
                "@analytics-orchestration/zero-etl:mskEnhancedVpcRouting",
                "the workgroup's enhanced VPC routing is off: the streaming ingestion "
                "guide turns it on so that Redshift reaches the cluster through the VPC")
        self.cluster = cluster
        self.topic_arn = kafka_topic_arn(self, cluster, topic)
        role = self._create_role()
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ConnectToCluster", actions=list(CLUSTER_ACTIONS),
            resources=[cluster.attr_arn]))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadTopic", actions=list(TOPIC_ACTIONS), resources=[self.topic_arn]))
        port = ec2.Port.tcp(MSK_IAM_PORT)
        description = f"Redshift streaming ingestion of {self.node.path} (SASL/IAM over TLS)"
        cluster_security_group.add_ingress_rule(workgroup_security_group, port, description)
        # A group that allows all outbound traffic needs no rule (CDK would warn about one).
        if not workgroup_security_group.allow_all_outbound:
            workgroup_security_group.add_egress_rule(cluster_security_group, port, description)
        self._ingest(
            namespace=namespace, target=target, external_schema=external_schema,
            source_clause=(f"MSK IAM_ROLE {quote_literal(role.role_arn)} AUTHENTICATION iam "
                           f"CLUSTER_ARN {quote_literal(cluster.attr_arn)}"),
            source_object=topic, metadata_columns=METADATA_COLUMNS,
            value_column=VALUE_COLUMN, view=view, view_schema=view_schema,
            grant_select_to=grant_select_to, encryption_key=encryption_key,
            database_roles=database_roles,
        )


def kafka_topic_arn(scope: Construct, cluster: msk.CfnServerlessCluster | msk.CfnCluster,
                    topic: str) -> str:
    """``arn:...:kafka:<region>:<account>:topic/<cluster name>/<cluster uuid>/<topic>``.

    The uuid is the last part of the cluster's ARN (``...:cluster/<name>/<uuid>``), known
    at deploy time.
    """
    cluster_uuid = Fn.select(2, Fn.split("/", cluster.attr_arn))
    return Stack.of(scope).format_arn(
        service="kafka", resource="topic",
        resource_name=f"{cluster.cluster_name}/{cluster_uuid}/{topic}")
