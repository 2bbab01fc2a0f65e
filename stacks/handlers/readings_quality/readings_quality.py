"""Checks one raw readings object and writes its quality report.

Called synchronously by Step Functions with ``{"bucket", "key"}``: per object of the weekly
quality scan's Distributed Map (``ItemProcessor.lambda_function``) and before an object is
re-processed on request (``EtlStep.lambda_function``). Counts the readings that parse
(a ``sensor_id``, an ISO-8601 ``timestamp``, a numeric ``value``) and those that do not,
writes ``readings/quality/<object name>.json`` and returns the report. An object without
a single valid reading raises :class:`NoValidReadingsError`: the item (or the run) fails,
and nothing is processed from it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()

DEFAULT_REPORT_PREFIX = "readings/quality/"


class NoValidReadingsError(Exception):
    """The object holds no reading that parses (the error name Step Functions sees)."""


def valid_reading(line: str) -> bool:
    try:
        reading = json.loads(line)
        dt.datetime.fromisoformat(str(reading["timestamp"]).replace("Z", "+00:00"))
        value = reading["value"]
        return bool(reading["sensor_id"]) and isinstance(value, int | float) and not isinstance(
            value, bool)
    except (ValueError, KeyError, TypeError):
        return False


def quality_report(bucket: str, key: str, lines: list[str]) -> dict[str, Any]:
    """Counts of the object's readings: ``readings``, ``valid``, ``invalid``."""
    readings = [line for line in lines if line.strip()]
    valid = sum(valid_reading(line) for line in readings)
    return {"bucket": bucket, "key": key, "readings": len(readings), "valid": valid,
            "invalid": len(readings) - valid}


def report_key(key: str, prefix: str = DEFAULT_REPORT_PREFIX) -> str:
    return f"{prefix}{key.rsplit('/', 1)[-1].rsplit('.', 1)[0]}.json"


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check one object (see the module docstring)."""
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read()
    report = quality_report(event["bucket"], event["key"],
                            body.decode("utf-8", errors="replace").splitlines())
    prefix = os.environ.get("REPORT_PREFIX", DEFAULT_REPORT_PREFIX)
    s3.put_object(Bucket=event["bucket"], Key=report_key(event["key"], prefix),
                  Body=json.dumps(report, sort_keys=True).encode(),
                  ContentType="application/json")
    logger.info("readings checked", extra=report)
    if report["valid"] == 0:
        raise NoValidReadingsError(f"s3://{event['bucket']}/{event['key']}: no valid reading "
                                   f"among {report['readings']}")
    return report
