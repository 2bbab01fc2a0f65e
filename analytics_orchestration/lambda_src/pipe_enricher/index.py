"""Enrichment step of an EventBridge Pipe from SQS to Step Functions (``index.handler``).

Pipes calls this function synchronously with the batch, a JSON array of SQS records, and
sends what it returns (an array, one workflow input per record, in order) to the state
machine. The logic is in ``enrichment.py``; this module adds Powertools logging and
metrics (``MessagesEnriched``, ``MalformedMessages``).

No Powertools ``Tracer``: the enrichment makes no AWS call, so its only subsegment would
repeat the invocation segment Lambda's active tracing records anyway, and constructing it
imports the X-Ray SDK, most of this function's cold start (issue #16, ``docs/performance.md``).

A malformed message does not fail the batch (the pipe would retry every message in it):
it reaches the workflow with ``valid: false`` and the reason, for the workflow to route.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from enrichment import InvalidPipeBatch, count_invalid, enrich_batch, enrich_record

__all__ = ["InvalidPipeBatch", "enrich_batch", "enrich_record", "handler"]

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> list[dict[str, Any]]:
    """Enrich one batch (see the module docstring)."""
    items = enrich_batch(event)
    invalid = count_invalid(items)
    metrics.add_metric("MessagesEnriched", MetricUnit.Count, len(items) - invalid)
    metrics.add_metric("MalformedMessages", MetricUnit.Count, invalid)
    if invalid:
        logger.warning("malformed messages in batch", extra={
            "malformed": [(i["message_id"], i["error"]) for i in items if not i["valid"]]})
    return items
