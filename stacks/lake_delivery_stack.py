"""Scenario: clickstream events delivered by Firehose into the data lake as Parquet.

The web shop's producers put click, view and purchase events (JSON, one per record) on a
Direct PUT Firehose stream. The bundled transform normalises each event (lower-case field
names, the event time as ISO 8601 UTC, its date as ``event_date``), fails events without
an id, type or readable time (they land under the error prefix) and drops heartbeats.
Firehose partitions the events by event date and event type and converts them to Parquet
through the Glue table ``clickstream`` of the platform's raw zone, whose partition
projection follows the same prefix: Athena queries the new data as soon as it lands.

The composition is :func:`compose_lake_delivery`, one function, so that it moves into the
clickstream stack as it is.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from analytics_orchestration import (
    CatalogOptions,
    DataLakeDeliveryStream,
    DataZone,
    LakeColumn,
    LakePartition,
    LakeTransform,
    ServerlessAnalytics,
)
from analytics_orchestration import building_blocks as blocks

#: The event types the shop sends (heartbeats are dropped by the transform).
EVENT_TYPES = ("click", "view", "purchase")
CLICKSTREAM_TABLE = "clickstream"
CLICKSTREAM_PREFIX = "clickstream/"


def compose_lake_delivery(scope: Construct, *, data_lake: ServerlessAnalytics,
                          alarm_topic: sns.ITopic) -> DataLakeDeliveryStream:
    """Firehose from the shop into ``data_lake``'s raw zone, partitioned by event date and
    event type, as Parquet with a Glue table Athena can query."""
    return DataLakeDeliveryStream(
        scope, "ClickstreamDelivery",
        data_lake=data_lake, zone=DataZone.RAW,
        prefix=CLICKSTREAM_PREFIX,
        table_name=CLICKSTREAM_TABLE,
        partitions=[
            LakePartition.date("event_date", path="event_date"),
            LakePartition.field("event_type", values=EVENT_TYPES),
        ],
        columns=[
            LakeColumn("event_id", comment="Unique per event, set by the producer"),
            LakeColumn("event_time", "timestamp", comment="When it happened (UTC)"),
            LakeColumn("session_id"),
            LakeColumn("page"),
            LakeColumn("amount", "decimal(12,2)", comment="Purchases only"),
        ],
        transform=LakeTransform(
            required_fields=("event_id", "event_type", "event_time"),
            drop_values={"event_type": ["heartbeat"]},
        ),
        alarm_topic=alarm_topic,
    )


class LakeDeliveryStack(Stack):
    """The data lake (raw zone, catalog, Athena) and the clickstream delivery into it."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(self, "Key", description="Encrypts the clickstream data lake")
        self.alarm_topic = blocks.alarm_topic(self, "Alarms", encryption_key=key)
        # The delivery's table is declared, not crawled: no crawler of the raw zone.
        self.data_lake = ServerlessAnalytics(
            self, "DataLake", encryption_key=key,
            catalog=CatalogOptions(crawled_zones=(), crawler_schedule=None),
        )
        self.delivery = compose_lake_delivery(self, data_lake=self.data_lake,
                                              alarm_topic=self.alarm_topic)
        self.producer = iam.Role(self, "ClickstreamProducerRole",
                                 assumed_by=iam.AccountPrincipal(self.account),
                                 description="The web shop putting clickstream events")
        self.delivery.grant_put_records(self.producer)
