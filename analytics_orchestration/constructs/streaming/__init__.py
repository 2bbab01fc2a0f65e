"""Streaming analytics: Kinesis Data Streams, DynamoDB Streams and Firehose.

- :class:`KinesisDataStream`: an encrypted stream, on-demand unless provisioned, or yours;
- :class:`StreamingTable`: a DynamoDB table with DynamoDB Streams on;
- :class:`StreamConsumer` with :class:`StreamSource` and :class:`ConsumerHandler`: Lambda
  consuming a Kinesis or DynamoDB stream (partial batch responses, bisect, bounded retries
  and record age, an alarmed on-failure destination, filters, enhanced fan-out, tumbling
  windows);
- :class:`StreamToStateMachinePipe`: an EventBridge Pipe from a stream to an Express state
  machine, run synchronously, failing batches to a dead-letter queue;
- :class:`DataLakeDeliveryStream` with :class:`LakeColumn`, :class:`LakePartition` and
  :class:`LakeTransform`: Firehose into the data lake (dynamic partitioning, a normalising
  transform, Parquet through a Glue table, an error prefix, a data-freshness alarm).

Each module is one pattern; add one ``from .module import Name`` line and the name to
``__all__`` per export.
"""

from .consumer import ConsumerHandler, StreamConsumer, StreamSource
from .delivery import DataLakeDeliveryStream, LakeColumn, LakePartition, LakeTransform
from .pipe import StreamToStateMachinePipe
from .stream import KinesisDataStream
from .table import StreamingTable

__all__ = [
    "ConsumerHandler",
    "DataLakeDeliveryStream",
    "KinesisDataStream",
    "LakeColumn",
    "LakePartition",
    "LakeTransform",
    "StreamConsumer",
    "StreamSource",
    "StreamToStateMachinePipe",
    "StreamingTable",
]
