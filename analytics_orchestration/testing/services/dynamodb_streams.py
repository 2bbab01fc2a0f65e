"""DynamoDB Streams: the change records of tables that have a stream.

moto's DynamoDB backend keeps a stream shard per table with ``StreamSpecification``; every
PutItem, UpdateItem and DeleteItem (and their batch and transaction forms) appends an
``INSERT``, ``MODIFY`` or ``REMOVE`` record carrying the keys and the images the stream's
view type names (``KEYS_ONLY``, ``NEW_IMAGE``, ``OLD_IMAGE``, ``NEW_AND_OLD_IMAGES``).
This module corrects what moto gets wrong and hands the records to consumers
(:mod:`.stream_sources`, :mod:`.pipes`) in Lambda's shape:

- a write that changes nothing writes no record, as the DynamoDB developer guide says
  ("Change data capture for DynamoDB Streams": "If you perform a PutItem or UpdateItem
  operation that does not change any data in an item, DynamoDB Streams does not write a
  stream record for that operation"); moto writes a ``MODIFY``;
- ``ApproximateCreationDateTime`` is the harness's virtual time (epoch seconds), and
  ``awsRegion`` the harness's region (moto writes ``us-east-1``);
- each record names its stream (``eventSourceARN``).

Not emulated: the 24-hour retention, shard splits (one shard per table), TTL deletions
(no expiry runs offline).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.streams import StreamRecord
from analytics_orchestration.testing.exceptions import ResourceNotFoundError


class DynamoDbStreamsService:
    """The DynamoDB streams of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def resource_handlers(self) -> dict[str, Handler]:
        return {}  # the streams are the tables' (``.dynamodb``): nothing of their own

    def apply(self, patcher: Patcher) -> None:
        """Drop no-op MODIFY records; stamp each record with the virtual time and region."""
        from moto.dynamodb.models import table as table_models

        original = table_models.StreamShard.add
        kernel = self.kernel

        def add(shard: Any, old: Any, new: Any) -> None:
            before = len(shard.items)
            original(shard, old, new)
            if len(shard.items) <= before:
                return
            record = shard.items[-1].record
            change = record["dynamodb"]
            if record["eventName"] == "MODIFY" and (
                    old.to_json()["Attributes"] == new.to_json()["Attributes"]):
                shard.items.pop()
                return
            change["ApproximateCreationDateTime"] = float(int(kernel.clock.now().timestamp()))
            record["awsRegion"] = kernel.region
            record["eventVersion"] = "1.1"

        patcher.set(table_models.StreamShard, "add", add)

    def _table(self, stream_arn: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.kernel.account_id][self.kernel.region]
        for table in backend.tables.values():
            label = getattr(table, "latest_stream_label", None)
            if label and f"{table.table_arn}/stream/{label}" == stream_arn:
                return table
        raise ResourceNotFoundError(f"no deployed DynamoDB stream {stream_arn!r}")

    def shards(self, stream_arn: str) -> dict[str, list[StreamRecord]]:
        """The stream's shard and its records, in sequence order."""
        table = self._table(stream_arn)
        shard = table.stream_shard
        records = []
        for item in shard.items:
            record = dict(item.record)
            record["dynamodb"] = dict(record["dynamodb"])
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, dt.datetime):  # written before the patch (no harness)
                created = float(int(created.timestamp()))
                record["dynamodb"]["ApproximateCreationDateTime"] = created
            arrival = dt.datetime.fromtimestamp(float(created or 0), dt.UTC)
            records.append(StreamRecord(
                shard_id=str(shard.id), sequence_number=record["dynamodb"]["SequenceNumber"],
                arrival=arrival, lambda_record=record, filter_view=record))
        return {str(shard.id): records}
