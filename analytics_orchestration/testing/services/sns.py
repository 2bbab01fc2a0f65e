"""SNS: topics, subscriptions (raw delivery, filter policies), delivery to Lambda and Firehose.

``AWS::SNS::Subscription`` is created through the API (moto's CloudFormation skips it).
Delivery to SQS, HTTP and e-mail is moto's; moto's ``Subscription.publish`` is replaced for

- ``lambda``: AWS invokes asynchronously (retries, destinations); moto sent a canned event
  synchronously;
- ``firehose``: moto drops these; the raw message is put on the stream.

Filter policies are moto's matcher (``_filter_policy_matcher``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import UnsupportedIntegrationError
from analytics_orchestration.testing.services.firehose import FirehoseService
from analytics_orchestration.testing.services.lambda_ import LambdaService


class SnsService:
    """Topics and subscriptions of one harness."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService,
                 firehose: FirehoseService) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.firehose = firehose

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::SNS::Topic": self.topic, "AWS::SNS::Subscription": self.subscription}

    def topic(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fifo = str(props.get("FifoTopic", "false")).lower() == "true"
        name = props.get("TopicName") or generated_name(
            stack.stack_name, logical_id, 256, suffix=".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoTopic"] = "true"
            if "ContentBasedDeduplication" in props:
                attributes["ContentBasedDeduplication"] = str(
                    props["ContentBasedDeduplication"]).lower()
        sns = self.kernel.client("sns")
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for sub in props.get("Subscription") or []:
            sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
        return arn, {"TopicArn": arn, "TopicName": name}

    def subscription(self, stack: StackTemplate, logical_id: str,
                     props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        attributes: dict[str, str] = {}
        if "RawMessageDelivery" in props:
            attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
        for key in ("FilterPolicy", "RedrivePolicy"):
            if props.get(key) is not None:
                value = props[key]
                attributes[key] = value if isinstance(value, str) else json.dumps(value)
        if props.get("FilterPolicyScope"):
            attributes["FilterPolicyScope"] = props["FilterPolicyScope"]
        protocol = props["Protocol"]
        if protocol not in ("sqs", "lambda", "http", "https", "email", "email-json", "sms",
                            "firehose"):
            raise UnsupportedIntegrationError(f"SNS subscription protocol {protocol}")
        arn = self.kernel.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=protocol, Endpoint=props["Endpoint"],
            Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        return arn, {"Arn": arn}

    # -- names ------------------------------------------------------------------------
    def topic_arn(self, ref: str) -> str:
        return self.kernel.registry.physical_id(ref, "AWS::SNS::Topic")

    # -- moto patches -----------------------------------------------------------------
    def apply(self, patcher: Patcher) -> None:
        from moto.sns import models as sns_models

        original_publish: Callable[..., None] = sns_models.Subscription.publish

        def subscription_publish(sub: Any, message: str, message_id: str, *args: Any,
                                 **kwargs: Any) -> None:
            if sub.protocol == "lambda":
                self._to_lambda(sub, message, message_id, *args, **kwargs)
            elif sub.protocol == "firehose":
                self._to_firehose(sub, message, *args, **kwargs)
            else:
                original_publish(sub, message, message_id, *args, **kwargs)

        patcher.set(sns_models.Subscription, "publish", subscription_publish)

    @staticmethod
    def _matches(sub: Any, message: str, attributes: dict[str, Any] | None) -> bool:
        matcher = getattr(sub, "_filter_policy_matcher", None)
        return matcher is None or bool(matcher.matches(attributes, message))

    def _to_firehose(self, sub: Any, message: str, *args: Any, **kwargs: Any) -> None:
        attributes = kwargs.get("message_attributes")
        if attributes is None and len(args) > 1:
            attributes = args[1]
        if not self._matches(sub, message, attributes):
            return
        self.firehose.put_record(sub.endpoint, f"{message}\n".encode())

    def _to_lambda(self, sub: Any, message: str, message_id: str,
                   subject: str | None = None,
                   message_attributes: dict[str, Any] | None = None,
                   *args: Any, **kwargs: Any) -> None:
        if not self._matches(sub, message, message_attributes):
            return
        event = {"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": sub.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": sub.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {
                    k: {"Type": v.get("Type"), "Value": v.get("Value")}
                    for k, v in (message_attributes or {}).items()
                },
            },
        }]}
        self.lambda_.enqueue_async_invoke(sub.endpoint, event)
