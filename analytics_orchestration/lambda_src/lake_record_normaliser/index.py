"""Lake record normaliser: the Firehose data-transformation function of DataLakeDeliveryStream.

Firehose invokes it synchronously with a batch of records (``invocationId``,
``deliveryStreamArn``, ``region``, ``records[]`` of ``recordId``, ``approximateArrivalTimestamp``
and base64 ``data``; a Kinesis source adds ``sourceKinesisStreamArn`` and per-record
``kinesisRecordMetadata``). It answers one record per input record with the same
``recordId``, a ``result`` (``Ok``, ``Dropped`` or ``ProcessingFailed``) and base64 ``data``:
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html

The rules are in ``normalise.py``. A record that fails is returned as ``ProcessingFailed``
with its original data, never raised: Firehose then writes it, base64-encoded with the
error, under the stream's error prefix (``processing-failed/``), and the rest of the batch
is delivered. Raising would fail the whole batch (Firehose retries it, then sends every
record of it to the error prefix).

No Powertools ``Tracer``: the transformation makes no AWS call, so its only subsegment would
repeat the invocation segment Lambda's active tracing records anyway, and constructing it
imports the X-Ray SDK, most of this function's cold start (issue #16, ``docs/performance.md``).
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
    event_source,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from normalise import OK, PROCESSING_FAILED, ConfigurationError, load_settings, normalise

__all__ = ["ConfigurationError", "handler"]

logger = Logger()
metrics = Metrics()
#: Read once per container: a bad environment fails the first invocation loudly.
SETTINGS = load_settings()


@metrics.log_metrics
@logger.inject_lambda_context
@event_source(data_class=KinesisFirehoseEvent)
def handler(event: KinesisFirehoseEvent, context: LambdaContext) -> dict[str, Any]:
    response = KinesisFirehoseDataTransformationResponse()
    counts = {"Ok": 0, "Dropped": 0, "ProcessingFailed": 0}
    for record in event.records:
        outcome = normalise(record.data_as_bytes, SETTINGS)
        counts[outcome.result] += 1
        # A record that is not Ok keeps its original bytes: what Firehose writes to the
        # error prefix.
        data = base64.b64encode(outcome.data).decode() if outcome.result == OK else record.data
        if outcome.result == PROCESSING_FAILED:
            logger.warning("record failed", record_id=record.record_id, reason=outcome.reason)
        response.add_record(record.build_data_transformation_response(
            result=outcome.result,  # type: ignore[arg-type]
            data=data))
    for result, count in counts.items():
        if count:
            metrics.add_metric(name=f"Records{result}", unit=MetricUnit.Count, value=count)
    return response.asdict()
