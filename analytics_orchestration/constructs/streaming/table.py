"""StreamingTable: a DynamoDB table whose changes are published on DynamoDB Streams.

Its stream feeds a :class:`~.consumer.StreamConsumer` (``StreamSource.dynamodb(table)``) or
a :class:`~.pipe.StreamToStateMachinePipe`: every insert, update and delete becomes a
stream record (``INSERT``/``MODIFY``/``REMOVE``) with the images ``view_type`` names.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._foundation import require_feature_flags, secure_key, secure_table
from .._foundation.validation import Text, validated_props

__all__ = ["StreamingTable"]

_ATTRIBUTE = Text(max_length=255)


@validated_props({"partition_key": _ATTRIBUTE, "sort_key": _ATTRIBUTE,
                  "time_to_live_attribute": _ATTRIBUTE})
class StreamingTable(Construct):
    """An on-demand, encrypted, backed-up table with DynamoDB Streams on.

    :param partition_key: the partition key attribute (a string).
    :param sort_key: the sort key attribute (a string). Default: None, no sort key.
    :param view_type: what each stream record carries. Default: ``NEW_AND_OLD_IMAGES``
        (a consumer sees what changed, and a ``REMOVE`` still carries the deleted item).
    :param encryption_key: the table's key (and so its stream's). Default: None, a
        rotating key is created.
    :param time_to_live_attribute: the attribute whose epoch-seconds value expires an
        item (an expiry is a ``REMOVE`` on the stream). Default: None, no expiry.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        partition_key: str,
        sort_key: str | None = None,
        view_type: dynamodb.StreamViewType = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        encryption_key: kms.IKey | None = None,
        time_to_live_attribute: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        #: The table's key.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the table {self.node.path} and its stream")
        #: The table (``Resource``).
        self.table: dynamodb.Table = secure_table(
            self, "Resource", partition_key=partition_key, sort_key=sort_key,
            encryption_key=self.encryption_key,
            time_to_live_attribute=time_to_live_attribute, stream=view_type,
        )
        #: What each stream record carries.
        self.view_type = view_type

    @property
    def table_stream_arn(self) -> str:
        arn = self.table.table_stream_arn
        assert arn is not None  # the table is built with a stream
        return arn

    def grant_read_write_data(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read and write items (and use the key)."""
        return self.table.grant_read_write_data(grantee)

    def grant_stream_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the table's stream (and decrypt it)."""
        return self.table.grant_stream_read(grantee)
