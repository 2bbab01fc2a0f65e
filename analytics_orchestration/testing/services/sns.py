"""SNS: topics, subscriptions (raw delivery, filter policies), delivery to Lambda and Firehose.

``AWS::SNS::Subscription`` is created through the API (moto's CloudFormation skips it).
Delivery to SQS, HTTP and e-mail is moto's; moto's ``Subscription.publish`` is replaced for

- ``lambda``: AWS invokes asynchronously (retries, destinations); moto sent a canned event
  synchronously;
- ``firehose``: moto drops these; the raw message is put on the stream.

Filter policies (both scopes) are validated and matched by the EventBridge pattern engine
(:mod:`..core.patterns`) with SNS's scoping: in ``MessageAttributes`` scope a ``String``
attribute is a string, ``Number`` a number, ``String.Array`` its JSON array (``Binary`` is
never matched) and nested objects are refused; in ``MessageBody`` scope the body is parsed
as JSON (a body that is not JSON matches nothing) and keys are literal (a key ``"a.b"``
names a field called ``a.b``). moto's matcher lacked ``cidr``, nested ``$or``,
``anything-but`` against array values, dotted keys and upper-case ``equals-ignore-case``
values, and accepted invalid policies (``{"key": []}``, ``{"suffix": 100}``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from analytics_orchestration.testing.core import patterns
from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import UnsupportedIntegrationError
from analytics_orchestration.testing.services.firehose import FirehoseService
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.lambda_ import LambdaService


class SnsService:
    """Topics and subscriptions of one harness."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService,
                 firehose: FirehoseService, iam: Iam) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.firehose = firehose
        self.iam = iam

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
        """A topic's ARN from its ARN, construct path, logical id or physical name."""
        found = self.kernel.registry.lookup(ref, "AWS::SNS::Topic")
        if found:
            return found.physical_id
        for resource in self.kernel.registry.resources:
            if resource.resource_type == "AWS::SNS::Topic" and resource.attributes.get(
                    "TopicName") == ref:
                return resource.physical_id
        if ref.startswith("arn:"):
            return ref
        return self.kernel.arn("sns", ref)

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
            elif sub.protocol == "sqs":
                self._to_sqs(original_publish, sub, message, message_id, *args, **kwargs)
            else:
                original_publish(sub, message, message_id, *args, **kwargs)

        patcher.set(sns_models.Subscription, "publish", subscription_publish)

        from moto.sns import utils as sns_utils
        from moto.sns.exceptions import SNSInvalidParameter

        def validate_filter_policy(backend: Any, value: Any, scope: str | None) -> None:
            problem = filter_policy_problem(value, scope)
            if problem:
                raise SNSInvalidParameter(f"Invalid parameter: FilterPolicy: {problem}")

        def policy_matches(matcher: Any, message_attributes: dict[str, Any] | None,
                           message: str) -> bool:
            return filter_policy_matches(matcher.filter_policy, matcher.filter_policy_scope,
                                         message_attributes, message)

        patcher.set(sns_models.SNSBackend, "_validate_filter_policy", validate_filter_policy)
        patcher.set(sns_utils.FilterPolicyMatcher, "matches", policy_matches)

    @staticmethod
    def _matches(sub: Any, message: str, attributes: dict[str, Any] | None) -> bool:
        matcher = getattr(sub, "_filter_policy_matcher", None)
        return matcher is None or bool(matcher.matches(attributes, message))

    @staticmethod
    def _attributes(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The message attributes moto passes ``Subscription.publish`` (after the subject)."""
        attributes = kwargs.get("message_attributes")
        if attributes is None and len(args) > 1:
            attributes = args[1]
        return attributes if isinstance(attributes, dict) else None

    def _to_sqs(self, original: Callable[..., None], sub: Any, message: str, message_id: str,
                *args: Any, **kwargs: Any) -> None:
        if not self._matches(sub, message, self._attributes(args, kwargs)):
            return
        # SNS sends as sns.amazonaws.com for the topic: the queue's policy (and its key's)
        # must allow it, or the message goes to the subscription's DLQ.
        queue_url = self.iam.queue_url_of(str(sub.endpoint))
        if self.iam.sns_may_deliver(sub, "sqs", "SendMessage", {"QueueUrl": queue_url},
                                    message):
            original(sub, message, message_id, *args, **kwargs)

    def _to_firehose(self, sub: Any, message: str, *args: Any, **kwargs: Any) -> None:
        if not self._matches(sub, message, self._attributes(args, kwargs)):
            return
        # SNS writes to Firehose with the subscription's role (SubscriptionRoleArn).
        role = self.iam.index.subscription_roles.get(str(sub.endpoint))
        with self.iam.acting(self.iam.principal_for_role(role, "sns")):
            self.firehose.put_record(sub.endpoint, f"{message}\n".encode())

    def _to_lambda(self, sub: Any, message: str, message_id: str,
                   subject: str | None = None,
                   message_attributes: dict[str, Any] | None = None,
                   *args: Any, **kwargs: Any) -> None:
        if not self._matches(sub, message, message_attributes):
            return
        if not self.iam.sns_may_deliver(sub, "lambda", "Invoke",
                                        {"FunctionName": str(sub.endpoint)}, message):
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


def filter_policy_problem(policy: Any, scope: str | None) -> str | None:
    """Why SNS would reject ``policy`` (``InvalidParameter``), or None."""
    if not isinstance(policy, dict):
        return "Filter policy must be a JSON object"
    if scope in (None, "MessageAttributes"):
        for key, value in policy.items():
            if isinstance(value, dict):
                return (f"Filter policy scope MessageAttributes does not support nested "
                        f"filter policy (key {key})")
        names = [key for key in policy if key != "$or"]
        if len(names) > _MAX_ATTRIBUTE_NAMES:
            return (f"Filter policy can not have more than {_MAX_ATTRIBUTE_NAMES} keys "
                    f"(has {len(names)})")
    try:
        patterns.validate(policy)
    except patterns.InvalidPatternError as exc:
        return str(exc)
    combinations = _combinations(policy)
    if combinations > _MAX_COMBINATIONS:
        return (f"Filter policy is too complex: {combinations} combinations of values, at "
                f"most {_MAX_COMBINATIONS}")
    return None


_MAX_ATTRIBUTE_NAMES = 5
_MAX_COMBINATIONS = 150


def _combinations(policy: dict[str, Any]) -> int:
    """The product of the number of values of each key (``$or`` branches add up), as the
    SNS developer guide's filter policy constraints count them."""
    total = 1
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            total *= sum(_combinations(branch) for branch in value if isinstance(branch, dict))
        elif isinstance(value, dict):
            total *= _combinations(value)
        elif isinstance(value, list):
            total *= max(1, len(value))
    return total


def _attribute_value(attribute: Any) -> Any:
    kind = str(attribute.get("Type") or attribute.get("DataType") or "String")
    value = attribute.get("Value", attribute.get("StringValue"))
    if kind.endswith(".Array"):
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value
    if kind.startswith("Number"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value
        return int(number) if number.is_integer() else number
    if kind.startswith("Binary"):
        return None
    return value


def filter_policy_matches(policy: dict[str, Any] | None, scope: str | None,
                          message_attributes: dict[str, Any] | None, message: str) -> bool:
    """Whether a message passes a subscription's filter policy (SNS's scoping)."""
    if not policy:
        return True
    if scope == "MessageBody":
        try:
            document = json.loads(message)
        except ValueError:
            return False
    else:
        document = {name: _attribute_value(attribute)
                    for name, attribute in (message_attributes or {}).items()
                    if not str(attribute.get("Type") or attribute.get("DataType") or ""
                               ).startswith("Binary")}
    return patterns.matches(policy, document)
