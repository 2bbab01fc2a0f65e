"""AWS Batch job: one raw sensor-readings object (JSON lines) to hourly aggregates.

Run by the Distributed Map once per object: ``python process_object.py --bucket B --key K
--output-prefix P``. Writes ``<P><key without extension>.hourly.jsonl``: per sensor and hour,
the count, minimum, maximum and mean of the readings. A malformed line fails the job (exit
code 1) so the map counts the object as failed rather than silently aggregating less.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


class InvalidReadingError(ValueError):
    """A line is not a reading ``{"sensor_id", "timestamp", "value"}``."""


def parse_reading(line: str, number: int) -> tuple[str, str, float]:
    """(sensor id, hour ``YYYY-MM-DDTHH``, value) of one JSON line."""
    try:
        record = json.loads(line)
        sensor = str(record["sensor_id"])
        hour = str(record["timestamp"])[:13]
        value = float(record["value"])
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidReadingError(f"line {number}: {err!r}") from err
    if len(hour) != 13 or hour[10] != "T":
        raise InvalidReadingError(f"line {number}: timestamp is not ISO 8601")
    return sensor, hour, value


def hourly_aggregates(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Count, min, max and mean per (sensor, hour), sorted."""
    groups: dict[tuple[str, str], list[float]] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            sensor, hour, value = parse_reading(line, number)
            groups.setdefault((sensor, hour), []).append(value)
    return [{"sensor_id": sensor, "hour": hour, "count": len(values), "min": min(values),
             "max": max(values), "mean": round(sum(values) / len(values), 6)}
            for (sensor, hour), values in sorted(groups.items())]


def output_key(prefix: str, key: str) -> str:
    """Where the aggregates of ``key`` go."""
    stem = key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{prefix}{stem}.hourly.jsonl"


def to_json_lines(records: Iterable[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def main(argv: Sequence[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser()
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--output-prefix", required=True)
    args = parser.parse_args(argv)
    s3 = boto3.client("s3")
    body = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"].read().decode()
    try:
        aggregates = hourly_aggregates(body.splitlines())
    except InvalidReadingError as err:
        print(f"process_object: s3://{args.bucket}/{args.key}: {err}", file=sys.stderr)
        return 1
    s3.put_object(Bucket=args.bucket, Key=output_key(args.output_prefix, args.key),
                  Body=to_json_lines(aggregates), ContentType="application/x-ndjson")
    print(f"process_object: {len(aggregates)} aggregates from s3://{args.bucket}/{args.key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
