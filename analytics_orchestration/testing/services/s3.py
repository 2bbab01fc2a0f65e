"""S3: buckets (versioning, notification configuration), notifications to Lambda and to
EventBridge.

- ``AWS::S3::Bucket`` and the CDK's ``Custom::S3BucketNotifications`` set moto's
  notification configuration; moto then calls the two functions patched here.
- S3 -> Lambda notifications are asynchronous invocations (retries, destinations).
- S3 -> EventBridge: "Object Created" / "Object Deleted" events in the shape AWS documents,
  to the default bus only (moto's shape differs, and it also fires ACL events on every
  PutObject; AWS only on PutObjectAcl).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.services.events import EventsService, envelope
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.lambda_ import LambdaService


def _s3_filter(cfn_filter: Mapping[str, Any] | None) -> dict[str, Any]:
    if not cfn_filter:
        return {}
    rules = cfn_filter.get("S3Key", {}).get("Rules", [])
    return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]}
                                               for r in rules]}}}


def notification_from_cfn(config: Mapping[str, Any]) -> dict[str, Any]:
    """Convert ``AWS::S3::Bucket`` NotificationConfiguration to the S3 API shape."""
    out: dict[str, Any] = {}
    if config.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        out["EventBridgeConfiguration"] = {}
    for cfn_key, api_key, target_key, arn_key in (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function",
         "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
    ):
        items = config.get(cfn_key) or []
        if items:
            out[api_key] = [
                {"Events": [item["Event"]], arn_key: item[target_key],
                 **_s3_filter(item.get("Filter"))}
                for item in items
            ]
    return out


class S3Service:
    """Buckets of one harness."""

    def __init__(self, kernel: Kernel, lambda_: LambdaService, events: EventsService,
                 iam: Iam) -> None:
        self.kernel = kernel
        self.lambda_ = lambda_
        self.events = events
        self.iam = iam
        self._sequencer = 0
        #: True while S3 sends no notifications (``put_object(..., emit_event=False)``).
        self.notifications_dropped = False

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::S3::Bucket": self.bucket,
            "Custom::S3BucketNotifications": self.bucket_notifications,
        }

    def bucket(self, stack: StackTemplate, logical_id: str,
               props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        region = self.kernel.region
        name = props.get("BucketName") or generated_name(stack.stack_name, logical_id, 63,
                                                         lower=True)
        s3 = self.kernel.client("s3")
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name,
                             CreateBucketConfiguration={"LocationConstraint": region})
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name,
                                     VersioningConfiguration={"Status": "Enabled"})
        notification = notification_from_cfn(props.get("NotificationConfiguration") or {})
        if notification:
            self._put_notification(name, notification)
        return name, {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{region}.amazonaws.com",
        }

    def _put_notification(self, bucket: str, notification: dict[str, Any]) -> None:
        s3 = self.kernel.client("s3")
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        for key, value in notification.items():
            if isinstance(value, list):
                current[key] = [*current.get(key, []), *value]
            else:
                current[key] = value
        s3.put_bucket_notification_configuration(Bucket=bucket,
                                                 NotificationConfiguration=current)

    def bucket_notifications(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        config = dict(props.get("NotificationConfiguration") or {})
        if config:
            self._put_notification(props["BucketName"], config)
        return logical_id, {}

    def bucket_name(self, ref: str) -> str:
        return self.kernel.registry.physical_id(ref, "AWS::S3::Bucket")

    # -- moto patches -----------------------------------------------------------------
    def apply(self, patcher: Patcher) -> None:
        from moto.s3 import notifications as s3_notifications

        # S3 -> Lambda notifications are asynchronous invocations (retries, destinations).
        def s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str,
                             region: str) -> None:
            # S3 invokes as s3.amazonaws.com for the bucket: the function's policy must
            # allow it; S3 drops a notification it may not deliver.
            bucket = ""
            with contextlib.suppress(Exception):
                bucket = json.loads(event_body)["Records"][0]["s3"]["bucket"]["arn"]
            if self.iam.check("lambda", "Invoke", {"FunctionName": fn_arn},
                              via="S3 event notification",
                              principal=self.iam.service_principal("s3.amazonaws.com"),
                              context=self.iam.service_context(bucket or None)):
                return
            self.lambda_.enqueue_async_invoke(fn_arn, event_body)

        patcher.set(s3_notifications, "_invoke_awslambda", s3_invoke_lambda)

        # S3 notifications of every kind are dropped while the harness says so
        # (``put_object(..., emit_event=False)``): an event lost upstream.
        original_send_event: Callable[..., None] = s3_notifications.send_event

        def send_event(*args: Any, **kwargs: Any) -> None:
            if self.notifications_dropped:
                return
            original_send_event(*args, **kwargs)

        patcher.set(s3_notifications, "send_event", send_event)

        # S3 -> EventBridge in the event shape AWS documents, to the default bus only.
        def s3_to_eventbridge(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
            self.to_eventbridge(bucket, event_name, key)

        patcher.set(s3_notifications, "_send_event_bridge_message", s3_to_eventbridge)

    def to_eventbridge(self, bucket: Any, event_name: str, key: Any) -> None:
        event_name = str(getattr(event_name, "value", event_name))
        if not event_name.startswith(("s3:ObjectCreated", "s3:ObjectRemoved")):
            # moto also fires ACL events on every PutObject; AWS only on PutObjectAcl.
            return
        self._sequencer += 1
        versioned = getattr(bucket, "is_versioned", False)
        item = s3_event(
            event_name=event_name, bucket=bucket.name, key=key.name, size=int(key.size),
            etag=str(key.etag).strip('"'),
            version_id=str(key.version_id) if versioned and key.version_id else None,
            sequencer=f"{int(time.time() * 1000):012X}{self._sequencer:06X}",
            account=self.kernel.account_id, region=bucket.region_name)
        backend = self.events.backend(self.kernel.account_id, bucket.region_name)
        self.events.publish_to_bus(backend, "default", item)


_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


def s3_event(
    *,
    event_name: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    sequencer: str,
    account: str,
    region: str,
) -> dict[str, Any]:
    """The event S3 sends to EventBridge, in the shape AWS documents.

    Shape: the "Object created" example of "EventBridge event message structure",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html

    The key is the object's key as it is, not URL-encoded. AWS documents URL encoding
    (``application/x-www-form-urlencoded``, a space becomes ``+``) only for the classic
    notifications to SQS/SNS/Lambda
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
    its EventBridge page says nothing about encoding and its example key (``example-key``)
    cannot tell. What events captured from AWS show:

    - an Object Created event carrying ``raw/health-check/2023-08-08T14:03:40.532432.zip``
      with its colons as they are, where classic encoding gives ``%3A``
      (https://gist.github.com/vincentclaes/7a5eb53acc05b316c86769fed25d4e1a);
    - AWS Solutions Library's "Guidance for MediaLake on AWS", tested against S3 with keys
      such as ``test+b.png`` and ``%2B++ %20.mp3``: it decodes classic notification keys and
      uses EventBridge keys as sent, because decoding them corrupted ``+``
      (https://github.com/aws-solutions-library-samples/guidance-for-medialake-on-aws/pull/21).

    Consumers disagree (Powertools' ``S3EventBridgeNotificationObject.key`` applies
    ``unquote_plus``), so the library's validator does not rely on either: it resolves the
    key against S3 (see ``lambda_src/object_validator``).
    """
    created = event_name.startswith("s3:ObjectCreated")
    obj: dict[str, Any] = {"key": key, "sequencer": sequencer}
    if created:
        obj["size"] = size
        obj["etag"] = etag
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": _S3_REASONS.get(event_name, event_name.split(":")[-1]),
    }
    if not created:
        detail["deletion-type"] = (
            "Delete Marker Created" if event_name.endswith("DeleteMarkerCreated")
            else "Permanently Deleted"
        )
    return envelope(
        source="aws.s3",
        detail_type="Object Created" if created else "Object Deleted",
        detail=detail,
        account=account,
        region=region,
        resources=[f"arn:aws:s3:::{bucket}"],
    )
