"""Scenario: clickstream analytics on a Kinesis data stream and DynamoDB Streams.

- The web and mobile front ends (producers, outside this example) put one JSON event per
  page view on the ``Clickstream`` stream, partitioned by session:
  ``{"session_id", "page", "action", "bot_score", "ts"}``: ``action`` is the event type
  (``view``, ``click``, ``purchase``; ``heartbeat`` for the keep-alive pings of an open
  page), ``ts`` the event time (ISO 8601 with an offset, or epoch seconds/milliseconds).
- ``PageCounts`` counts page views per page in one-minute tumbling windows and writes each
  window's counts to DynamoDB (the library's window counter); a malformed event is isolated
  by bisecting and its metadata lands in the failure queue, without holding up the shard.
- ``SessionAlerts``: an EventBridge Pipe passes the events of suspicious sessions (a bot
  score of 0.9 or more) to an Express workflow, run synchronously per batch, which
  publishes one alert per event to the ``SessionAlerts`` topic (the fraud team's queue
  subscribes); batches the workflow fails on go to the pipe's dead-letter queue.
- ``ProfileChanges``: customer profiles live in a table with DynamoDB Streams; every
  change is told to the personalisation team's queue by the example's own consumer code;
  discarded batches go to S3 with their records.
- ``RawEvents``: Firehose reads the same stream and lands the raw events in the data
  lake's raw zone as Parquet, partitioned by event date (the UTC date of ``ts``) and event
  type, with the Glue table ``clickstream`` Athena queries (:meth:`_land_raw_events`).
- Every alarm notifies the operations topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from analytics_orchestration import (
    CatalogOptions,
    ConsumerHandler,
    DataLakeDeliveryStream,
    DataZone,
    KinesisDataStream,
    LakeColumn,
    LakePartition,
    LakeTransform,
    NotificationFanOut,
    ServerlessAnalytics,
    StreamConsumer,
    StreamingTable,
    StreamSource,
    StreamToStateMachinePipe,
    TopicSubscription,
)
from analytics_orchestration import building_blocks as blocks

ASSETS = Path(__file__).resolve().parent / "streaming_assets"
#: A session whose events carry a bot score at least this high is suspicious.
BOT_SCORE_THRESHOLD = 0.9
PAGE_COUNT_WINDOW = Duration.minutes(1)
#: The event types (``action``) the lake's partition projection enumerates; heartbeats
#: are dropped on the way to the lake.
EVENT_TYPES = ("view", "click", "purchase")
CLICKSTREAM_TABLE = "clickstream"
CLICKSTREAM_PREFIX = "clickstream/"


class StreamingStack(Stack):
    """The streaming layer of the example analytics platform."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = blocks.secure_key(
            self, "PlatformKey", description="Encrypts the example streaming layer")
        self.operations_topic = blocks.alarm_topic(self, "OperationsAlarms",
                                                   encryption_key=self.key)
        self.clickstream = KinesisDataStream(
            self, "Clickstream", encryption_key=self.key, alarm_topic=self.operations_topic)
        self.page_counts = StreamConsumer(
            self,
            "PageCounts",
            source=StreamSource.kinesis(self.clickstream.stream),
            handler=ConsumerHandler.window_counter(key_field="page"),
            tumbling_window=PAGE_COUNT_WINDOW,
            batch_size=100,
            retry_attempts=2,
            encryption_key=self.key,
            alarm_topic=self.operations_topic,
        )
        self._session_alerts()
        self._profile_changes()
        self._land_raw_events()

    def _session_alerts(self) -> None:
        # The queue's key lets SNS (this topic only) write: a key of its own, or the key
        # policy and the topic (encrypted with the platform key) would refer to each other.
        fraud_key = blocks.secure_key(self, "FraudTeamKey",
                                      description="Encrypts the fraud team's alert queue")
        self.fraud_queue = blocks.queue_with_dead_letter_queue(
            self, "FraudTeamQueue", visibility_timeout=Duration.seconds(30),
            encryption_key=fraud_key,
        ).queue
        self.alerts = NotificationFanOut(
            self, "SessionAlerts", encryption_key=self.key, display_name="Session alerts",
            subscriptions=[TopicSubscription.queue(self.fraud_queue)],
            alarm_topic=self.operations_topic,
        )
        decode = sfn.Pass(self, "DecodeEvent", parameters={
            "event.$": "States.StringToJson(States.Base64Decode($.data))",
            "sequence_number.$": "$.sequenceNumber",
        })
        publish = tasks.SnsPublish(
            self, "PublishAlert", topic=self.alerts.topic,
            message=sfn.TaskInput.from_object({
                "kind": "SuspiciousSession",
                "session_id": sfn.JsonPath.string_at("$.event.session_id"),
                "page": sfn.JsonPath.string_at("$.event.page"),
                "bot_score": sfn.JsonPath.number_at("$.event.bot_score"),
                "sequence_number": sfn.JsonPath.string_at("$.sequence_number"),
            }),
            result_path=sfn.JsonPath.DISCARD,
        )
        publish.add_retry(errors=["SNS.SdkClientException", "SNS.ThrottledException",
                                  "SNS.InternalErrorException"],
                          interval=Duration.seconds(1), max_attempts=3, backoff_rate=2,
                          jitter_strategy=sfn.JitterType.FULL)
        each_event = sfn.Map(self, "EachSuspiciousEvent", items_path="$",
                             result_path=sfn.JsonPath.DISCARD)
        each_event.item_processor(decode.next(publish))
        self.alert_workflow, _ = blocks.observable_state_machine(
            self, "AlertWorkflow",
            definition_body=sfn.DefinitionBody.from_chainable(each_event),
            state_machine_type=sfn.StateMachineType.EXPRESS,
            timeout=Duration.minutes(1),
            encryption_key=self.key,
            comment="Publishes one alert per suspicious clickstream event of a batch",
        )
        # Publishing to an encrypted topic needs the topic's key (SnsPublish grants only
        # sns:Publish).
        self.key.grant(self.alert_workflow, "kms:GenerateDataKey", "kms:Decrypt")
        self.session_alerts = StreamToStateMachinePipe(
            self,
            "SessionAlertsPipe",
            source=StreamSource.kinesis(self.clickstream.stream),
            state_machine=self.alert_workflow,
            filter_patterns=[{"data": {"bot_score": [{"numeric": [">=", BOT_SCORE_THRESHOLD]}]}}],
            batch_size=10,
            retry_attempts=3,
            encryption_key=self.key,
            log_encryption_key=self.key,
            alarm_topic=self.operations_topic,
        )

    def _profile_changes(self) -> None:
        self.profiles = StreamingTable(self, "Profiles", partition_key="profile_id",
                                       encryption_key=self.key)
        self.personalisation_queue = blocks.queue_with_dead_letter_queue(
            self, "PersonalisationQueue", visibility_timeout=Duration.seconds(30),
            encryption_key=self.key,
        ).queue
        logs = blocks.access_log_bucket(self, "AccessLogs")
        self.discarded_changes = blocks.secure_bucket(
            self, "DiscardedProfileChanges", server_access_logs_bucket=logs,
            server_access_logs_prefix="discarded-profile-changes/", encryption_key=self.key)
        self.profile_changes = StreamConsumer(
            self,
            "ProfileChanges",
            source=StreamSource.dynamodb(self.profiles.table),
            handler=ConsumerHandler.code(
                lambda_.Code.from_asset(str(ASSETS / "profile_changes"),
                                        exclude=["__pycache__", "*.pyc"]),
                environment={"QUEUE_URL": self.personalisation_queue.queue_url},
            ),
            batch_size=10,
            failure_bucket=self.discarded_changes,
            encryption_key=self.key,
            alarm_topic=self.operations_topic,
        )
        self.personalisation_queue.grant(self.profile_changes.function, "sqs:SendMessage")
        self.key.grant(self.profile_changes.function, "kms:GenerateDataKey", "kms:Decrypt")

    def _land_raw_events(self) -> None:
        """Firehose lands the raw clickstream in the data lake as Parquet, partitioned by
        event date and type, with a Glue table Athena queries.

        The bundled transform checks each event (a session, an action and a readable
        ``ts``, else it lands under the error prefix), rewrites ``ts`` as ISO 8601 UTC and
        adds its UTC date as ``event_date``; heartbeats are dropped. The table is declared
        here, so the raw zone has no crawler; its partition projection follows the prefix,
        so Athena sees a new day as soon as it lands.
        """
        self.data_lake = ServerlessAnalytics(
            self, "DataLake", encryption_key=self.key,
            catalog=CatalogOptions(crawled_zones=(), crawler_schedule=None),
        )
        self.raw_events = DataLakeDeliveryStream(
            self, "RawEvents",
            source_stream=self.clickstream.stream,
            data_lake=self.data_lake, zone=DataZone.RAW,
            prefix=CLICKSTREAM_PREFIX,
            table_name=CLICKSTREAM_TABLE,
            partitions=[
                LakePartition.date("event_date", path="event_date"),
                LakePartition.field("event_type", path="action", values=EVENT_TYPES),
            ],
            columns=[
                LakeColumn("session_id", comment="The front end's session"),
                LakeColumn("page"),
                LakeColumn("bot_score", "double", comment="0 (human) to 1 (bot)"),
                LakeColumn("ts", "timestamp", comment="When it happened (UTC)"),
            ],
            transform=LakeTransform(
                required_fields=("session_id", "action", "ts"),
                timestamp_field="ts", date_field="event_date",
                drop_values={"action": ["heartbeat"]},
            ),
            alarm_topic=self.operations_topic,
        )
