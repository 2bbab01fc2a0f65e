"""Kept for imports of the former module: EventBridge event shapes and input transformation
now live in :mod:`.services.events`, S3's event in :mod:`.services.s3`."""

from __future__ import annotations

from analytics_orchestration.testing.services.events import envelope, json_path, transform_input
from analytics_orchestration.testing.services.s3 import s3_event

__all__ = ["envelope", "json_path", "s3_event", "transform_input"]
