"""What the stream emulators (Kinesis, DynamoDB Streams) hand to their consumers.

A consumer (a Lambda event source mapping, a pipe) reads a stream as shards of
:class:`StreamRecord` in sequence order, each with its arrival time on the harness's
virtual clock, the record exactly as Lambda passes it, and the view filter criteria match.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StreamRecord:
    """One record of a shard."""

    shard_id: str
    sequence_number: str
    arrival: dt.datetime
    #: The record as Lambda's event carries it (``Records[i]``), without ``eventSourceARN``
    #: and ``invokeIdentityArn``, which the consumer adds.
    lambda_record: dict[str, Any]
    #: What filter criteria match: Kinesis's ``kinesis`` object with ``data`` decoded when
    #: it is JSON; a DynamoDB stream record as it is.
    filter_view: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence(self) -> int:
        """The sequence number as an integer (they compare numerically)."""
        return int(self.sequence_number)


def iso_millis(moment: dt.datetime) -> str:
    """``2019-11-14T00:38:06.021Z``: how Lambda writes times in its records."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z")


def window_bounds(moment: dt.datetime, seconds: int) -> tuple[dt.datetime, dt.datetime]:
    """The tumbling window of ``seconds`` that ``moment`` falls in (aligned to the epoch)."""
    epoch = moment.timestamp()
    start = epoch - (epoch % seconds)
    begin = dt.datetime.fromtimestamp(start, dt.UTC)
    return begin, begin + dt.timedelta(seconds=seconds)
