"""Streaming analytics: stream consumers, pipes and Firehose delivery into the data lake.

Only the Firehose part (:mod:`.delivery`) is on this branch; the lead merges the rest of the
package (Kinesis streams, consumers, pipes), which owns this file.
"""

from .delivery import DataLakeDeliveryStream, LakeColumn, LakePartition, LakeTransform

__all__ = ["DataLakeDeliveryStream", "LakeColumn", "LakePartition", "LakeTransform"]
