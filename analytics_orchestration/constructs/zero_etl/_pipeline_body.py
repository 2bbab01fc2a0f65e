"""The Data Prepper configuration of an S3 -> OpenSearch Serverless ingestion pipeline.

Built as a mapping from props, written as YAML with PyYAML (:func:`dump`), and checked
(:func:`shape_problems`) against the shape of AWS's S3 blueprint ("Using an OpenSearch
Ingestion pipeline with Amazon S3" and "Ingesting data into Amazon OpenSearch Serverless
collections", Amazon OpenSearch Service Developer Guide): ``version: "2"``, one
sub-pipeline with an ``s3`` source (``notification_type: sqs``, here with
``notification_source: eventbridge``, a codec, the queue's URL,
the role and Region), processors, and one ``opensearch`` sink with ``serverless: true``.

Values that are CloudFormation tokens (the queue URL, the role ARN, the collection
endpoint, the Region) are written as double-quoted YAML strings and never wrapped, so the
token text reaches CloudFormation whole and its deployed value stays one YAML string.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["INDEX_NAME", "PipelineCodec", "PipelineCompression", "dump", "index_prefix",
           "pipeline_configuration", "shape_problems"]

#: The Data Prepper configuration version OpenSearch Ingestion takes.
VERSION = "2"
#: The one sub-pipeline's name.
SUB_PIPELINE = "s3-pipeline"
#: An OpenSearch index name: lowercase, not starting with ``_``, ``-``, ``+`` or ``.``,
#: none of ``\\ / * ? " < > | , #`` or spaces; optionally one Data Prepper date pattern
#: (``logs-%{yyyy.MM.dd}``: an index per day).
INDEX_NAME = r"[a-z0-9][a-z0-9._+-]*(%\{[yMdHhmsS._:-]+\}[a-z0-9._+-]*)?"
_DATE_PATTERN = re.compile(r"%\{[^}]*\}")


class PipelineCodec(enum.Enum):
    """How the pipeline reads each object (the S3 source's ``codec``)."""

    #: One event per line, parsed as JSON (``newline`` codec + ``parse_json`` processor).
    JSON_LINES = "json_lines"
    #: One event per line, the line in ``message``.
    LINES = "newline"
    #: One event per element of a JSON array.
    JSON = "json"
    #: One event per row, a header row naming the columns.
    CSV = "csv"
    #: One event per Parquet row.
    PARQUET = "parquet"


class PipelineCompression(enum.Enum):
    """How the objects are compressed (the S3 source's ``compression``)."""

    NONE = "none"
    GZIP = "gzip"
    #: By the object's extension (``.gz``).
    AUTOMATIC = "automatic"


def index_prefix(index: str) -> str:
    """The part of ``index`` before its date pattern (the whole name without one)."""
    return _DATE_PATTERN.split(index, maxsplit=1)[0]


def pipeline_configuration(
    *, queue_url: str, role_arn: str, region: str, codec: PipelineCodec,
    compression: PipelineCompression, visibility_timeout_seconds: int, collection_endpoint: str,
    index: str, network_policy_name: str,
) -> dict[str, Any]:
    """The configuration as a mapping (see the module)."""
    codec_name = "newline" if codec is PipelineCodec.JSON_LINES else codec.value
    processors: list[dict[str, Any]] = []
    if codec is PipelineCodec.JSON_LINES:
        processors.append({"parse_json": {}})
    processors.append({"date": {"from_time_received": True, "destination": "@timestamp"}})
    aws = {"sts_role_arn": role_arn, "region": region}
    return {
        "version": VERSION,
        SUB_PIPELINE: {
            "source": {"s3": {
                # Messages are deleted only once their objects' events reached the sink.
                "acknowledgments": True,
                "notification_type": "sqs",
                # The queue holds EventBridge's Object Created events, not S3's own.
                "notification_source": "eventbridge",
                "compression": compression.value,
                "codec": {codec_name: {}},
                "sqs": {"queue_url": queue_url, "maximum_messages": 10,
                        "visibility_timeout": f"{visibility_timeout_seconds}s"},
                "aws": dict(aws),
            }},
            "processor": processors,
            "sink": [{"opensearch": {
                "hosts": [collection_endpoint],
                "index": index,
                "aws": {**aws, "serverless": True,
                        "serverless_options": {"network_policy_name": network_policy_name}},
            }}],
        },
    }


class _Quoted(str):
    """A string value: always written double-quoted."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    """Keys plain, string values double-quoted (tokens stay one scalar), the rest plain."""


def _quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(_Quoted, _quoted)


def _mark_values(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _mark_values(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_mark_values(item) for item in node]
    if isinstance(node, str):
        return _Quoted(node)
    return node


def dump(configuration: Mapping[str, Any]) -> str:
    """``configuration`` as YAML, keys in the order given, no line ever wrapped."""
    return yaml.dump(_mark_values(configuration), Dumper=_Dumper, sort_keys=False,
                     default_flow_style=False, width=2**31 - 1, allow_unicode=True)


def shape_problems(configuration: Mapping[str, Any]) -> list[str]:
    """What keeps ``configuration`` from the documented S3 -> collection shape."""
    problems: list[str] = []
    if configuration.get("version") != VERSION:
        problems.append(f"version must be {VERSION!r}")
    subs = [key for key in configuration if key != "version"]
    if len(subs) != 1:
        return [*problems, f"one sub-pipeline expected, found {len(subs)}"]
    sub = configuration[subs[0]]
    if not isinstance(sub, Mapping):
        return [*problems, "the sub-pipeline must be a mapping"]
    source = sub.get("source", {}).get("s3") if isinstance(sub.get("source"), Mapping) else None
    if not isinstance(source, Mapping):
        problems.append("the source must be s3")
    else:
        if source.get("notification_type") != "sqs":
            problems.append("the s3 source's notification_type must be sqs")
        codec = source.get("codec")
        if not isinstance(codec, Mapping) or len(codec) != 1:
            problems.append("the s3 source needs exactly one codec")
        if not source.get("sqs", {}).get("queue_url"):
            problems.append("the s3 source needs sqs.queue_url")
        if not {"sts_role_arn", "region"} <= set(source.get("aws", {})):
            problems.append("the s3 source needs aws.sts_role_arn and aws.region")
    sinks = sub.get("sink")
    if not isinstance(sinks, list) or len(sinks) != 1 or "opensearch" not in sinks[0]:
        problems.append("one opensearch sink expected")
    else:
        sink = sinks[0]["opensearch"]
        if not sink.get("hosts") or not sink.get("index"):
            problems.append("the opensearch sink needs hosts and index")
        aws = sink.get("aws", {})
        if aws.get("serverless") is not True or not {"sts_role_arn", "region"} <= set(aws):
            problems.append("the opensearch sink needs aws.serverless: true, aws.sts_role_arn "
                            "and aws.region")
    return problems
