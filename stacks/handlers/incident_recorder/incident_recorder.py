"""Records every high-severity notification as an incident document.

Subscribed to the platform's notification topic (``TopicSubscription.function``, filtered
to ``severity: high``): SNS invokes it asynchronously with one record per notification.
Each becomes ``incidents/<kind>/<event id>.json`` in ``INCIDENT_BUCKET``, which the
on-call handbook links to; the key comes from the notification, so a redelivered message
overwrites its own incident instead of opening a second one.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()

INCIDENT_PREFIX = "incidents/"


def incident(notification: dict[str, Any], message_id: str, published_at: str
             ) -> tuple[str, dict[str, Any]]:
    """(key, document) of the incident opened by one notification."""
    kind = str(notification.get("kind") or "Unknown")
    incident_id = str(notification.get("event_id") or message_id)
    document = {"incident_id": incident_id, "kind": kind, "opened_at": published_at,
                "error": notification.get("error"), "notification": notification}
    return f"{INCIDENT_PREFIX}{kind}/{incident_id}.json", document


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> list[str]:
    """Write one incident per SNS record; returns the keys written."""
    s3 = boto3.client("s3")
    written = []
    for record in event["Records"]:
        sns = record["Sns"]
        key, document = incident(json.loads(sns["Message"]), sns["MessageId"], sns["Timestamp"])
        s3.put_object(Bucket=os.environ["INCIDENT_BUCKET"], Key=key,
                      Body=json.dumps(document, sort_keys=True).encode(),
                      ContentType="application/json")
        written.append(key)
    logger.info("incidents recorded", extra={"keys": written})
    return written
