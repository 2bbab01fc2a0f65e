"""SQS: queues, the record shape Lambda and Pipes receive, reading queues, redelivery.

Messages are read straight from moto's backend (no receive, so receive counts are kept) and
redelivered at once after a failure: visibility timeouts and delays are not waited for. A
message failing on a queue without a redrive policy is delivered
``max_deliveries_without_dlq`` times, then left in flight.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patterns import matches_any
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate


@dataclass
class QueueMessage:
    """A message sitting in a queue, read without consuming it."""

    message_id: str
    body: str
    receive_count: int
    attributes: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class SqsService:
    """Queues of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._deliveries: dict[str, int] = collections.Counter()

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::SQS::Queue": self.queue}

    def queue(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fifo = str(props.get("FifoQueue", "false")).lower() == "true"
        name = props.get("QueueName") or generated_name(
            stack.stack_name, logical_id, 80, suffix=".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize"):
            if key in props:
                attributes[key] = str(props[key])
        if fifo:
            attributes["FifoQueue"] = "true"
            if "ContentBasedDeduplication" in props:
                attributes["ContentBasedDeduplication"] = str(
                    props["ContentBasedDeduplication"]).lower()
        if props.get("RedrivePolicy"):
            policy = props["RedrivePolicy"]
            attributes["RedrivePolicy"] = policy if isinstance(policy, str) else json.dumps(
                policy)
        # DelaySeconds and ReceiveMessageWaitTimeSeconds are left out on purpose: offline
        # they would only make a test wait in real time.
        url = self.kernel.client("sqs").create_queue(QueueName=name, Attributes=attributes)[
            "QueueUrl"]
        arn = self.kernel.arn("sqs", name)
        return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}

    # -- names ------------------------------------------------------------------------
    def queue_url(self, ref: str) -> str:
        """The URL of a queue given as path, logical id, URL, ARN or name."""
        if ref.startswith("https://") or ref.startswith("http://"):
            return ref
        found = self.kernel.registry.lookup(ref, "AWS::SQS::Queue")
        if found:
            return found.physical_id
        if ref.startswith("arn:aws:sqs:"):
            # Built from the ARN, as the services themselves address a queue: a GetQueueUrl
            # call here would run as the delivering principal and need sqs:GetQueueUrl.
            _, _, _, region, account, name = ref.split(":", 5)
            return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        name = ref.split(":")[-1]
        return str(self.kernel.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def backend(self) -> Any:
        """moto's SQS backend for the harness's account and region."""
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.kernel.account_id][self.kernel.region]

    # -- acting and reading -----------------------------------------------------------
    def send(self, queue: str, body: str, **kwargs: Any) -> str:
        message_id: str = self.kernel.client("sqs").send_message(
            QueueUrl=self.queue_url(queue), MessageBody=body, **kwargs)["MessageId"]
        return message_id

    def messages(self, queue: str, *, include_in_flight: bool = False) -> list[QueueMessage]:
        """The messages in a queue, read without receiving them (receive counts unchanged)."""
        name = self.queue_url(queue).rstrip("/").split("/")[-1]
        q = self.backend().get_queue(name)
        messages = list(q._messages)
        if not include_in_flight:
            messages = [m for m in messages if m.visible]
        return [QueueMessage(message_id=m.id, body=m.body,
                             receive_count=m.approximate_receive_count,
                             attributes=dict(m.message_attributes)) for m in messages]

    # -- consumers (event source mappings, pipes) -------------------------------------
    def has_visible(self, queue_name: str) -> bool:
        """Whether a queue holds a message a consumer could receive now."""
        return any(m.visible for m in self.backend().get_queue(queue_name)._messages)

    def receive_batch(self, queue_name: str, batch_size: int) -> tuple[Any, list[Any]]:
        """The queue and up to ``batch_size`` visible messages (received, all attributes)."""
        backend = self.backend()
        queue = backend.get_queue(queue_name)
        if not any(m.visible for m in queue._messages):
            return queue, []
        # Consumers receive every message attribute; moto strips them unless asked.
        messages = backend.receive_message(queue_name, batch_size, 0,
                                           int(getattr(queue, "visibility_timeout", 30)),
                                           ["All"])
        return queue, list(messages or [])

    def delete(self, queue: Any, message: Any) -> None:
        """Delete a received message (consumed, or dropped by a filter)."""
        self.backend().delete_message(queue.name, message.receipt_handle)

    def settle_batch(self, queue: Any, messages: Iterable[Any], failed_ids: set[str]) -> None:
        """Delete the messages that succeeded; make the failed ones visible again.

        The queue's redrive policy moves a message to its DLQ after ``maxReceiveCount``
        receives; without one a message is left in flight after
        ``max_deliveries_without_dlq`` failures (AWS would retry until retention expires).
        """
        backend = self.backend()
        for message in messages:
            if message.id not in failed_ids:
                backend.delete_message(queue.name, message.receipt_handle)
                continue
            self._deliveries[message.id] += 1
            if queue.redrive_policy is None and (
                    self._deliveries[message.id] >= self.kernel.max_deliveries_without_dlq):
                continue
            backend.change_message_visibility(queue.name, message.receipt_handle, 0)

    def record(self, queue: Any, message: Any) -> dict[str, Any]:
        """The record Lambda (and Pipes) receive for one SQS message."""
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(message.sender_id),
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
            attributes["MessageDeduplicationId"] = str(message.deduplication_id)
            attributes["SequenceNumber"] = str(message.sequence_number)
        message_attributes = {}
        for name, value in (message.message_attributes or {}).items():
            entry: dict[str, Any] = {"dataType": value.get("data_type", value.get("DataType")),
                                     "stringListValues": [], "binaryListValues": []}
            string_value = value.get("string_value", value.get("StringValue"))
            binary_value = value.get("binary_value", value.get("BinaryValue"))
            if string_value is not None:
                entry["stringValue"] = string_value
            if binary_value is not None:
                entry["binaryValue"] = (binary_value if isinstance(binary_value, str)
                                        else base64.b64encode(binary_value).decode())
            message_attributes[name] = entry
        return {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.queue_arn,
            "awsRegion": self.kernel.region,
        }

    def records(self, queue: Any, messages: Sequence[Any]) -> list[dict[str, Any]]:
        return [self.record(queue, m) for m in messages]


def record_matches(record: dict[str, Any], patterns: list[str]) -> bool:
    """Filter criteria of an event source mapping or pipe against one SQS record.

    The body is matched as JSON when it is JSON (``{"body": {"kind": ["a"]}}``), as AWS
    documents for Lambda and Pipes filtering.
    """
    view = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        view["body"] = json.loads(record["body"])
    return matches_any(patterns, view)
