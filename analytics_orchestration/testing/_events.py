"""EventBridge semantics moto does not provide: input transformation and event shapes.

Pattern matching reuses moto's ``EventPattern`` (it handles prefix, suffix, wildcard,
equals-ignore-case, numeric, anything-but, exists, cidr and ``$or``). Its one known gap: values
inside arrays of objects are not flattened, so a pattern on ``detail.items.name`` where
``items`` is a list of objects does not match.

Input transformation is re-implemented because moto's only replaces text and requires the
result to be JSON; AWS also accepts plain-string templates and inserts string values with or
without quotes depending on where the placeholder stands.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def iso_now() -> str:
    """EventBridge's ``time`` format: UTC, second precision, ``Z`` suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    *,
    source: str,
    detail_type: str,
    detail: Any,
    account: str,
    region: str,
    resources: list[str] | None = None,
    time: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event as EventBridge delivers it to targets."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time or iso_now(),
        "region": region,
        "resources": list(resources or []),
        "detail": detail,
    }


def json_path(document: Any, path: str) -> Any:
    """Evaluate the simple JSONPath subset EventBridge supports (``$.a.b[0]``)."""
    if path in ("$", ""):
        return document
    if not path.startswith("$"):
        raise ValueError(f"unsupported JSONPath {path!r}")
    current = document
    for token in re.findall(r"\.([^.\[]+)|\[(\d+)\]|\['([^']+)'\]", path[1:]):
        key, index, quoted = token
        if current is None:
            return None
        if index:
            current = current[int(index)] if isinstance(current, list) and int(index) < len(
                current
            ) else None
        else:
            name = key or quoted
            current = current.get(name) if isinstance(current, dict) else None
    return current


def _inside_string(template: str, position: int) -> bool:
    quoted = False
    escaped = False
    for char in template[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    return quoted


def transform_input(target: Mapping[str, Any], event: Mapping[str, Any], rule_name: str,
                    rule_arn: str) -> str:
    """The text a target receives for ``event``: Input, InputPath, InputTransformer or all.

    Returns text (what SQS/SNS deliver verbatim; Lambda and Step Functions parse it).
    """
    if "Input" in target and target["Input"] is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    paths = transformer.get("InputPathsMap") or {}
    values: dict[str, Any] = {name: json_path(event, path) for name, path in paths.items()}
    values.setdefault("aws.events.event", event)
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.rule-name", rule_name)
    values.setdefault("aws.events.rule-arn", rule_arn)
    values.setdefault("aws.events.event.ingestion-time", event.get("time"))
    template: str = transformer["InputTemplate"]

    def placeholders() -> list[tuple[re.Match[str], bool]]:
        return [
            (m, _inside_string(template, m.start()))
            for m in _PLACEHOLDER.finditer(template)
            if m.group(1) in values
        ]

    found = placeholders()
    probe = template
    for match, quoted in reversed(found):
        probe = probe[: match.start()] + ("x" if quoted else "null") + probe[match.end():]
    try:
        json.loads(probe)
        is_json = True
    except ValueError:
        is_json = False

    out = template
    for match, quoted in reversed(found):
        value = values[match.group(1)]
        if not is_json:
            text = value if isinstance(value, str) else json.dumps(value)
        elif quoted:
            text = json.dumps(value)[1:-1] if isinstance(value, str) else json.dumps(value)
        else:
            text = json.dumps(value)
        out = out[: match.start()] + text + out[match.end():]
    return out


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
