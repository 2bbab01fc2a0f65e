"""Scenario: sales and inventory extracts land in S3 and feed a loader and two teams.

Partners upload CSV and JSON-lines extracts under ``incoming/``. Each new object is
validated (suffix, size, not empty), recorded in the ingestion ledger and, if accepted,
sent to the loader's work queue; an SNS topic fans the same notification out to an audit
queue (everything) and to the sales team's queue (``incoming/sales/`` only). The partner
integration is told about every accepted extract through its own encrypted notification
topic, which its systems subscribe to (here, the partner gateway's queue). Every accepted
extract is also indexed (its format and columns, in the extract index bucket, by the
stack's own ``extract_indexer`` function) and dispatched to its owning team by the extract
dispatch workflow (sales, inventory, or unassigned). Rejected
objects are moved to ``quarantine/`` with the reason. Partners' upload tools are not ours
to fix, so nothing relies on every S3 event arriving: an hourly reconciliation sweep
re-drives any extract that landed without reaching the ledger. Alarms notify the
operations topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from analytics_orchestration import (
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    NotificationFanOut,
    ObjectValidationRules,
    ReconciliationSweep,
    TopicSubscription,
)
from analytics_orchestration import building_blocks as blocks

EXTRACT_SUFFIXES = (".csv", ".json", ".jsonl")
HANDLERS = Path(__file__).parent / "handlers"
#: Where the indexer writes one document per accepted extract.
INDEX_PREFIX = "index/"
#: Key prefix -> the team that owns the extracts under it (the dispatch workflow's choices).
TEAM_PREFIXES = {"incoming/sales/": "sales", "incoming/inventory/": "inventory"}
#: The team of extracts under no other prefix: the data platform team triages them.
UNASSIGNED = "unassigned"


class IngestionStack(Stack):
    """The ingestion pipeline of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "PlatformKey",
            description="Encrypts the example ingestion pipeline and its consumers",
        )
        operations_topic = blocks.alarm_topic(self, "OperationsAlarms", encryption_key=key)
        # The consumers' queues use their own key: SNS subscriptions add the topic's ARN
        # to the queue key's policy, and the topic is encrypted with the pipeline key.
        consumer_key = blocks.secure_key(
            self, "ConsumerKey", description="Encrypts the example pipeline's consumer queues"
        )
        loader_queue = blocks.queue_with_dead_letter_queue(
            self, "LoaderQueue", visibility_timeout=Duration.minutes(6),
            encryption_key=consumer_key,
        ).queue
        audit_queue, sales_queue, partner_gateway_queue = (
            blocks.queue_with_dead_letter_queue(
                self, name, visibility_timeout=Duration.seconds(30), encryption_key=consumer_key
            ).queue
            for name in ("AuditQueue", "SalesTeamQueue", "PartnerGatewayQueue")
        )
        logs_bucket = blocks.access_log_bucket(self, "AccessLogs")
        self.extract_index = blocks.secure_bucket(
            self, "ExtractIndex", encryption_key=key, server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="extract-index/")
        indexer = blocks.python_function(
            self, "ExtractIndexer", code_path=HANDLERS / "extract_indexer",
            handler="extract_indexer.handler",
            description="Indexes the format and columns of each accepted extract",
            environment={"INDEX_BUCKET": self.extract_index.bucket_name},
            invoked_asynchronously=True, failure_queue_key=key, log_encryption_key=key,
        )
        self.indexer = indexer.function
        self.dispatch = self._dispatch_workflow(key)
        # The partners' topic: only notifications, no archive (the ledger is the record).
        self.partner_notifications = NotificationFanOut(
            self, "PartnerNotifications", encryption_key=key,
            display_name="Accepted partner extracts",
            subscriptions=[TopicSubscription.queue(partner_gateway_queue)],
            enable_archive=False,
            alarm_topic=operations_topic,
        )

        self.ingestion = EventDrivenIngestion(
            self,
            "Ingestion",
            encryption_key=key,
            key_prefixes=["incoming/"],
            key_suffixes=EXTRACT_SUFFIXES,
            validation_rules=ObjectValidationRules(
                allowed_suffixes=EXTRACT_SUFFIXES,
                max_object_size_bytes=512 * 1024**2,
            ),
            targets=[IngestionTarget.queue(loader_queue),
                     IngestionTarget.topic(self.partner_notifications.topic),
                     IngestionTarget.function(self.indexer),
                     IngestionTarget.state_machine(self.dispatch)],
            fan_out_subscribers=[
                FanOutSubscriber(audit_queue),
                FanOutSubscriber(
                    sales_queue,
                    filter_policy_with_message_body={
                        "key": sns.FilterOrPolicy.filter(
                            sns.SubscriptionFilter.string_filter(
                                match_prefixes=["incoming/sales/"]
                            )
                        )
                    },
                ),
            ],
            reconciliation=ReconciliationSweep(),
            server_access_logs_bucket=logs_bucket,
            alarm_topic=operations_topic,
        )
        self._grant_indexer(indexer.role, self.ingestion.bucket)

    def _grant_indexer(self, role: iam.Role, landing: s3.IBucket) -> None:
        """The indexer reads the accepted version of an extract and writes its entry."""
        self.indexer.add_to_role_policy(iam.PolicyStatement(
            sid="ReadAcceptedExtracts", actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[landing.arn_for_objects("incoming/*")]))
        self.indexer.add_to_role_policy(iam.PolicyStatement(
            sid="WriteIndexEntries", actions=["s3:PutObject"],
            resources=[self.extract_index.arn_for_objects(f"{INDEX_PREFIX}*")]))
        # One key encrypts the landing bucket and the index: decrypt to read, a data key
        # to write.
        self.ingestion.encryption_key.grant(self.indexer, "kms:Decrypt", "kms:GenerateDataKey")
        policy = role.node.find_child("DefaultPolicy")
        for bucket, pattern, reason in (
            (landing, "incoming/*", "The indexer reads whichever extract was accepted; keys "
             "are only known at run time, within the watched incoming/ prefix."),
            (self.extract_index, f"{INDEX_PREFIX}*", "One index entry per accepted extract, "
             "named after its key (only known at run time), within index/ only."),
        ):
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{_logical_id(self, bucket)}"
                   f".Arn>/{pattern}]", reason=reason))

    def _dispatch_workflow(self, key: kms.IKey) -> sfn.StateMachine:
        """Hands each accepted extract to the team owning its prefix (its output names it)."""
        done = sfn.Succeed(self, "Dispatched")
        choice = sfn.Choice(self, "WhichTeam", comment="The owning team, by key prefix")
        for prefix, team in TEAM_PREFIXES.items():
            assign = sfn.Pass(self, f"AssignTo{team.title()}",
                              result=sfn.Result.from_object({"team": team}),
                              result_path="$.dispatch")
            choice.when(sfn.Condition.string_matches("$.key", f"{prefix}*"), assign.next(done))
        unassigned = sfn.Pass(self, "Unassigned", result=sfn.Result.from_object(
            {"team": UNASSIGNED}), result_path="$.dispatch")
        choice.otherwise(unassigned.next(done))
        workflow, _ = blocks.observable_state_machine(
            self, "ExtractDispatch", definition_body=sfn.DefinitionBody.from_chainable(choice),
            timeout=Duration.minutes(5), encryption_key=key,
            comment="Dispatches each accepted extract to its owning team",
        )
        return workflow


def _logical_id(stack: Stack, bucket: s3.IBucket) -> str:
    child = bucket.node.default_child
    assert isinstance(child, s3.CfnBucket)
    return str(stack.resolve(stack.get_logical_id(child)))
