"""Trigger an Airflow DAG run on the environment (``index.handler``).

Invoked by a Step Functions task or an EventBridge rule with ``{"dag_id", "conf",
"dag_run_id"}`` (see ``trigger.py``). The environment comes from ``ENVIRONMENT_NAME``; only
the DAGs in ``ALLOWED_DAG_IDS`` (comma-separated) may be triggered, whatever the caller sends:
the function's role may trigger any DAG of the environment (the Airflow role it acts as is
not per DAG), so the list is what keeps a rule or workflow to its own DAGs.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from trigger import TriggerFailedError, TriggerRequestError, parse_request, trigger_dag_run

__all__ = ["TriggerFailedError", "TriggerRequestError", "handler"]

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_client: Any = None


def _mwaa() -> Any:
    global _client
    if _client is None:
        _client = boto3.client("mwaa")
    return _client


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Trigger the run the event asks for; errors fail the invocation (the caller retries)."""
    allowed = frozenset(name for name in os.environ["ALLOWED_DAG_IDS"].split(",") if name)
    request = parse_request(event, allowed)
    result = trigger_dag_run(_mwaa(), os.environ["ENVIRONMENT_NAME"], request)
    metrics.add_metric("DagRunsAlreadyTriggered" if result["already_triggered"]
                       else "DagRunsTriggered", MetricUnit.Count, 1)
    logger.info("DAG run triggered", extra=result)
    return result
