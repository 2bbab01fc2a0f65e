"""Firehose: ``AWS::KinesisFirehose::DeliveryStream`` with an S3 destination.

moto's Firehose writes each record to the bucket at once (no buffering, no compression, no
dynamic partitioning), one object per record, under the destination's prefix. SNS
``firehose`` subscriptions deliver here (:mod:`.sns`). The stream's error-log
``AWS::Logs::LogStream`` deploys as a no-op (telemetry only, like its log group).
"""

from __future__ import annotations

from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import UnsupportedIntegrationError


class FirehoseService:
    """Delivery streams of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::KinesisFirehose::DeliveryStream": self.delivery_stream,
            # Firehose's error-log stream: telemetry only, like the log group it lives in.
            "AWS::Logs::LogStream": lambda stack, logical_id, props: (
                str(props.get("LogStreamName") or logical_id), {}),
        }

    def delivery_stream(self, stack: StackTemplate, logical_id: str,
                        props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("DeliveryStreamName") or generated_name(stack.stack_name, logical_id,
                                                                 64)
        destination = props.get("ExtendedS3DestinationConfiguration") or props.get(
            "S3DestinationConfiguration")
        if not destination:
            raise UnsupportedIntegrationError("Firehose destination other than S3", logical_id)
        config = {key: destination[key] for key in ("RoleARN", "BucketARN", "Prefix",
                                                    "ErrorOutputPrefix") if key in destination}
        arn = self.kernel.client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType=str(props.get("DeliveryStreamType", "DirectPut")),
            ExtendedS3DestinationConfiguration=config,
        )["DeliveryStreamARN"]
        return name, {"Arn": arn}

    def put_record(self, stream_arn: str, data: bytes) -> None:
        """Put one record on a stream (by ARN or name)."""
        self.kernel.client("firehose").put_record(
            DeliveryStreamName=stream_arn.split("/")[-1], Record={"Data": data})
