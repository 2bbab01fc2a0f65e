"""What the data stores received, recorded in the journal where moto stores it.

Patched at moto's backends rather than at the API, so that every way in is seen: a test's
call, a handler's, a Step Functions task's, and moto's own deliveries (SNS to a subscribed
queue, a redrive moving a message to its dead-letter queue after ``maxReceiveCount``
receives). Functions, EventBridge routing and executions are recorded by their own services
(:mod:`.lambda_`, :mod:`.events`) and the kernel (``StartExecution``).
"""

from __future__ import annotations

from typing import Any

from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher


class Recorder:
    """Journals objects stored and deleted, messages queued and published, items written."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def resource_handlers(self) -> dict[str, Any]:
        return {}

    def apply(self, patcher: Patcher) -> None:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.s3.models import S3Backend
        from moto.sns.models import Topic
        from moto.sqs.models import Queue

        journal = self.kernel.journal

        put_object = S3Backend.put_object

        def stored(backend: Any, bucket_name: str, key_name: str, value: Any,
                   *args: Any, **kwargs: Any) -> Any:
            # Recorded first: moto sends the object's notifications before it returns.
            # (A form upload's value is a file object: its size is not known here.)
            sized = isinstance(value, bytes | bytearray | str)
            journal.record("s3", "object stored", bucket_name, key_name,
                           size=f"{len(value)} bytes" if sized else "",
                           body=value[:200] if sized else "")
            return put_object(backend, bucket_name, key_name, value, *args, **kwargs)

        delete_object = S3Backend.delete_object

        def deleted(backend: Any, bucket_name: str, key_name: str, *args: Any,
                    **kwargs: Any) -> Any:
            result = delete_object(backend, bucket_name, key_name, *args, **kwargs)
            journal.record("s3", "object deleted", bucket_name, key_name)
            return result

        add_message = Queue.add_message

        def queued(queue: Any, message: Any) -> None:
            add_message(queue, message)
            from moto.sqs.models import sqs_backends

            sources = [q.name for q in sqs_backends[queue.account_id][queue.region].queues.values()
                       if getattr(q, "dead_letter_queue", None) is queue]
            if sources and message.approximate_receive_count:
                # moto moves a message received maxReceiveCount times to the DLQ.
                journal.record("sqs", "dead-lettered", queue.name,
                               f"from {', '.join(sources)} after "
                               f"{message.approximate_receive_count} receives",
                               failed=True, actor="sqs redrive", body=message.body)
            else:
                journal.record("sqs", "message queued", queue.name, body=message.body)

        publish = Topic.publish

        def published(topic: Any, message: str, *args: Any, **kwargs: Any) -> str:
            journal.record("sns", "message published", topic.name, message=message)
            message_id: str = publish(topic, message, *args, **kwargs)
            return message_id

        patcher.set(S3Backend, "put_object", stored)
        patcher.set(S3Backend, "delete_object", deleted)
        patcher.set(Queue, "add_message", queued)
        patcher.set(Topic, "publish", published)
        for name, action in (("put_item", "item written"), ("update_item", "item updated"),
                             ("delete_item", "item deleted")):
            patcher.set(DynamoDBBackend, name, _item_change(getattr(DynamoDBBackend, name),
                                                             action, journal))


def _item_change(original: Any, action: str, journal: Any) -> Any:
    def change(backend: Any, table_name: str, item: dict[str, Any], *args: Any,
               **kwargs: Any) -> Any:
        result = original(backend, table_name, item, *args, **kwargs)
        journal.record("dynamodb", action, table_name, item=_plain(item))
        return result

    return change


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB's typed attributes (``{"S": "a"}``) as plain values, for reading."""
    plain: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, dict) and len(value) == 1:
            plain[name] = next(iter(value.values()))
        else:
            plain[name] = value
    return plain
