"""Screens each large order and announces the verdict on the platform's bus.

Invoked asynchronously by the router's ``LargeOrdersToWorkers`` rule
(``RouteTarget.function``) with the ``OrderPlaced`` event itself. The verdict is put on
``EVENT_BUS_NAME`` as ``OrderScreened`` (source ``analytics-platform.screening``) with the
reasons, for the fraud team's rules to pick up; the event id of the order is the
screening's id, so a redelivered order yields the same verdict under the same id.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()

SOURCE = "analytics-platform.screening"
DETAIL_TYPE = "OrderScreened"
#: Above this amount an order is reviewed whatever the customer's tier.
REVIEW_AMOUNT = Decimal(10_000)
#: Tiers whose large orders are routine.
TRUSTED_TIERS = frozenset({"gold", "platinum"})


def screen(order: dict[str, Any]) -> dict[str, Any]:
    """The verdict (``clear`` or ``review``) on one order, with the reasons for a review."""
    amount = Decimal(str(order["amount"]))
    reasons = []
    if amount >= REVIEW_AMOUNT:
        reasons.append(f"amount {amount} is {REVIEW_AMOUNT} or more")
    if str(order.get("customer_tier", "")).lower() not in TRUSTED_TIERS:
        reasons.append(f"customer tier {order.get('customer_tier')!r} is not trusted")
    return {"order_id": order["order_id"], "amount": float(amount),
            "currency": order.get("currency"),
            "verdict": "review" if reasons else "clear", "reasons": reasons}


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Screen the order of one ``OrderPlaced`` event (see the module docstring)."""
    verdict = {**screen(event["detail"]), "order_event_id": event["id"]}
    response = boto3.client("events").put_events(Entries=[{
        "Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(verdict),
        "EventBusName": os.environ["EVENT_BUS_NAME"], "Resources": [],
    }])
    if response.get("FailedEntryCount"):
        # Raising makes Lambda retry the event, then send it to the on-failure queue.
        raise RuntimeError(f"PutEvents refused the verdict: {response['Entries']}")
    logger.info("order screened", extra=verdict)
    return verdict
