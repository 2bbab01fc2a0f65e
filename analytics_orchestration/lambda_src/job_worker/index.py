"""Lambda entry point of the job worker (``index.handler``), fed by an SQS event source.

The event source mapping always reports batch item failures: Powertools' batch processor
runs :func:`worker.process_record` for each record and answers with the ids of the records
that failed, so only those are redelivered (and, after ``MAX_RECEIVE_COUNT`` receives,
parked in the dead-letter queue) while the rest of the batch is deleted. FIFO queues use
the FIFO processor, which stops at the first failure so that order within a message group
is kept. See ``worker.py`` for what happens to each job.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from worker import logger, metrics, new_processor, process_record, runtime

__all__ = ["handler"]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process one SQS batch; returns ``{"batchItemFailures": [...]}``."""
    runtime().deadline.start(context)
    return dict(process_partial_response(
        event=event, record_handler=process_record, processor=new_processor(), context=context
    ))
