"""A Powertools ``BatchProcessor`` for streams that stops at the first failed record.

Lambda checkpoints a stream at the lowest sequence number a handler reports as failed and
retries every record from there (Lambda developer guide, "Configuring partial batch
response with Kinesis Data Streams"). Powertools' ``BatchProcessor`` processes every
record of the batch and reports only the failed ones, so the records after a failure are
processed now *and* again on the retry. This processor processes the records in order and
stops at the first failure: the ones after it are reported as failed without being
processed, so every record is processed once:

- a failure after the first record: the records before it are checkpointed, the retry
  starts at the failed one;
- the first record fails: every record is reported, Powertools raises
  ``BatchProcessingError`` (a function error), and with ``BisectBatchOnFunctionError``
  Lambda splits the batch until the poison record is alone, retries it
  ``MaximumRetryAttempts`` times and sends its metadata to the on-failure destination.

Use it in your own handler exactly as ``BatchProcessor``::

    processor = InOrderStreamProcessor(EventType.KinesisDataStreams)

    def handler(event, context):
        return process_partial_response(event=event, record_handler=record_handler,
                                        processor=processor, context=context)
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor


class SkippedAfterFailureError(Exception):
    """A record not processed because an earlier record of its batch failed."""


class InOrderStreamProcessor(BatchProcessor):
    """``BatchProcessor`` that processes no record after the first failed one."""

    _stopped = False

    def _prepare(self) -> None:
        super()._prepare()
        self._stopped = False

    def _process_record(self, record: dict[str, Any]) -> Any:
        if self._stopped:
            data = self._to_batch_type(record=record, event_type=self.event_type,
                                       model=self.model)
            error = SkippedAfterFailureError("an earlier record of the batch failed")
            return self.failure_handler(record=data,
                                        exception=(SkippedAfterFailureError, error, None))
        entry = super()._process_record(record)
        if entry[0] == "fail":
            self._stopped = True
        return entry
