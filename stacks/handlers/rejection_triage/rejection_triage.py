"""Enrichment of the rejected-object pipe: what to ask the partner for each rejection.

EventBridge Pipes calls it synchronously with a batch of SQS records whose bodies are
``ObjectRejected`` notifications (raw SNS delivery) and sends what it returns, one item per
record in order, to the follow-up workflow. Each item says whether re-sending the same
file can help and what the partner must fix; a body that is not a notification becomes
``{"action": "investigate"}`` rather than failing the batch (the pipe would retry every
record of it).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()

#: Reason fragments (the validator's wording) -> what the partner must do.
ACTIONS = (
    ("is empty", "re-export", "The file was empty: export it again with its rows."),
    ("suffix is not allowed", "re-export", "Unsupported file type: export as CSV or JSON."),
    ("exceeds the maximum", "split", "The file is too large: split it into smaller files."),
)


def triage(notification: dict[str, Any]) -> dict[str, Any]:
    """The follow-up of one rejection: ``action`` and the partner-facing ``message``."""
    reason = str(notification.get("reason", ""))
    action, message = next(
        ((action, message) for fragment, action, message in ACTIONS if fragment in reason),
        ("investigate", f"Rejected for an unusual reason: {reason}"))
    return {"key": notification.get("key"), "reason": reason, "action": action,
            "partner_message": message, "resend_helps": action != "investigate"}


def triage_record(record: dict[str, Any]) -> dict[str, Any]:
    try:
        notification = json.loads(record["body"])
        if not isinstance(notification, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        return {"message_id": record.get("messageId"), "action": "investigate",
                "resend_helps": False, "partner_message": f"Unreadable notification: {error}"}
    return {"message_id": record.get("messageId"), **triage(notification)}


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: list[dict[str, Any]], context: LambdaContext) -> list[dict[str, Any]]:
    """Triage one batch (see the module docstring)."""
    items = [triage_record(record) for record in event]
    logger.info("rejections triaged", extra={"actions": [i["action"] for i in items]})
    return items
