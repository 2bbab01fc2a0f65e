"""Pure logic of the job worker: job messages, settings and the analytic jobs themselves.

Nothing here talks to AWS, reads the clock or the process environment, so every function is
unit-tested directly (``tests/lambda_src/test_job_worker.py``). ``worker.py`` wires it to
DynamoDB and EventBridge; ``index.py`` (Lambda) and ``poller.py`` (container) feed it
messages. This is a plain top-level module because the handler folder is the asset root.

A job message is the JSON body the job API sends (or any producer that calls SendMessage)::

    {"job_type": "summary", "parameters": {"values": [1, 2, 3]}}

with the job id in the ``job_id`` message attribute (the API sets it to its request id, and
``submitted_by`` to the caller). Without the attribute, a ``job_id`` field of the body is
used, and without that the SQS message id: a redelivered message keeps its id, so a job is
still processed once.

Job types (``run_job``): ``summary`` (count, sum, mean, min, max, standard deviation,
median and percentiles of ``values``), ``histogram`` (``bins`` equal-width bins over
``values``) and ``group_aggregate`` (``sum``/``mean``/``count``/``min``/``max`` of a
``measure`` over ``rows`` grouped by a ``group_by`` field).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "JOB_TYPES",
    "MAX_ERROR_LENGTH",
    "ConfigurationError",
    "InvalidJob",
    "Job",
    "Settings",
    "error_text",
    "load_settings",
    "parse_job",
    "run_job",
]

#: Longest error text recorded on a job row and in a JobFailed event.
MAX_ERROR_LENGTH = 1000
#: Most values or rows one job may carry (an SQS message holds at most 256 KiB anyway).
MAX_ITEMS = 100_000
MAX_BINS = 1000

_JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_DIGITS = re.compile(r"^[0-9]+$")
_TRUE_FALSE = {"true": True, "false": False}


class InvalidJob(ValueError):
    """The message is not a job this worker can run (a poison message).

    ``job_id`` is set when the message named one, so the failure is recorded on its row.
    """

    def __init__(self, message: str, job_id: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id


class ConfigurationError(ValueError):
    """The worker's environment variables are missing or invalid (names every bad one)."""


@dataclass(frozen=True)
class Job:
    """One job, parsed from an SQS record."""

    job_id: str
    job_type: str
    parameters: Mapping[str, Any]
    message_id: str
    receive_count: int = 1
    submitted_by: str | None = None
    submitted_at: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


def _attribute(attributes: Mapping[str, Any], name: str) -> str | None:
    """A string message attribute, in Lambda's (``stringValue``) or SQS's shape."""
    value = attributes.get(name)
    if isinstance(value, Mapping):
        text = value.get("stringValue", value.get("StringValue"))
        return text if isinstance(text, str) and text else None
    return None


def parse_job(record: Mapping[str, Any]) -> Job:
    """Turn an SQS record (Lambda's event shape) into a :class:`Job`.

    Raises :class:`InvalidJob` naming every problem (and the job id, when one is known).
    """
    message_id = str(record.get("messageId") or "")
    message_attributes = record.get("messageAttributes") or {}
    system = record.get("attributes") or {}
    raw_count = str(system.get("ApproximateReceiveCount", "1"))
    receive_count = int(raw_count) if _DIGITS.match(raw_count) else 1
    try:
        body = json.loads(record.get("body") or "")
    except ValueError:
        body = None
    job_id = _attribute(message_attributes, "job_id")
    if job_id is None and isinstance(body, Mapping) and isinstance(body.get("job_id"), str):
        job_id = body["job_id"]
    job_id = job_id or message_id
    problems: list[str] = []
    if not _JOB_ID.match(job_id or ""):
        problems.append(f"job_id: expected 1-128 of [A-Za-z0-9_.:-], got {job_id!r}")
        job_id = ""
    if not isinstance(body, Mapping):
        problems.append("body: expected a JSON object with job_type and parameters")
        body = {}
    job_type = body.get("job_type")
    if job_type not in JOB_TYPES:
        problems.append(f"job_type: expected one of {', '.join(sorted(JOB_TYPES))}, "
                        f"got {job_type!r}")
    parameters = body.get("parameters", {})
    if not isinstance(parameters, Mapping):
        problems.append(f"parameters: expected a JSON object, got {type(parameters).__name__}")
    if problems:
        raise InvalidJob("invalid job message: " + "; ".join(problems), job_id or None)
    sent = system.get("SentTimestamp")
    return Job(
        job_id=job_id,
        job_type=str(job_type),
        parameters=dict(parameters),
        message_id=message_id,
        receive_count=receive_count,
        submitted_by=_attribute(message_attributes, "submitted_by"),
        submitted_at=str(sent) if sent else None,
        attributes={
            name: text for name in message_attributes
            if (text := _attribute(message_attributes, name)) is not None
        },
    )


# --- the analytic jobs --------------------------------------------------------------------


def _numbers(parameters: Mapping[str, Any], name: str = "values") -> list[float]:
    values = parameters.get(name)
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise InvalidJob(f"parameters.{name}: expected a non-empty list of numbers")
    if len(values) > MAX_ITEMS:
        raise InvalidJob(f"parameters.{name}: at most {MAX_ITEMS} values, got {len(values)}")
    numbers: list[float] = []
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise InvalidJob(f"parameters.{name}[{index}]: expected a finite number, "
                             f"got {value!r}")
        numbers.append(value)
    return numbers


def _round(value: float) -> float:
    """Results are stored as JSON: round away float noise, keep integers integers."""
    rounded = round(value, 10)
    return int(rounded) if rounded == int(rounded) and abs(rounded) < 2**53 else rounded


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Descriptive statistics of ``values``."""
    values = _numbers(parameters)
    ordered = sorted(values)
    return {
        "count": len(values),
        "sum": _round(math.fsum(values)),
        "mean": _round(statistics.fmean(values)),
        "min": _round(ordered[0]),
        "max": _round(ordered[-1]),
        "stddev": _round(statistics.pstdev(values)),
        "median": _round(statistics.median(ordered)),
        "p90": _round(_percentile(ordered, 0.9)),
        "p99": _round(_percentile(ordered, 0.99)),
    }


def histogram(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``bins`` equal-width bins from min to max of ``values`` (the last bin is closed)."""
    values = _numbers(parameters)
    bins = parameters.get("bins", 10)
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        raise InvalidJob(f"parameters.bins: expected an integer from 1 to {MAX_BINS}, "
                         f"got {bins!r}")
    low, high = min(values), max(values)
    width = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return {
        "edges": [_round(low + width * i) for i in range(bins + 1)],
        "counts": counts,
    }


_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "mean": statistics.fmean,
    "count": len,
    "min": min,
    "max": max,
}


def group_aggregate(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Aggregate ``measure`` of ``rows`` per value of ``group_by``."""
    rows = parameters.get("rows")
    group_by = parameters.get("group_by")
    measure = parameters.get("measure")
    aggregate = parameters.get("aggregate", "sum")
    problems = []
    if not isinstance(rows, list) or not rows or len(rows) > MAX_ITEMS:
        problems.append(f"parameters.rows: expected a list of 1 to {MAX_ITEMS} objects")
        rows = []
    if not isinstance(group_by, str) or not group_by:
        problems.append("parameters.group_by: expected a field name")
    if not isinstance(measure, str) or not measure:
        problems.append("parameters.measure: expected a field name")
    if aggregate not in _AGGREGATES:
        problems.append(f"parameters.aggregate: expected one of {', '.join(_AGGREGATES)}, "
                        f"got {aggregate!r}")
    if problems:
        raise InvalidJob("; ".join(problems))
    groups: dict[str, list[float]] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or group_by not in row:
            raise InvalidJob(f"parameters.rows[{index}]: expected an object with {group_by!r}")
        if measure not in row:
            raise InvalidJob(f"parameters.rows[{index}]: missing measure {measure!r}")
        field_name = f"rows[{index}].{measure}"
        value = _numbers({field_name: [row[measure]]}, field_name)[0]
        groups.setdefault(str(row[group_by]), []).append(value)
    function = _AGGREGATES[str(aggregate)]
    return {
        "aggregate": aggregate,
        "groups": {key: _round(function(values)) for key, values in sorted(groups.items())},
    }


#: Every job type the reference worker runs.
JOB_TYPES: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "summary": summary,
    "histogram": histogram,
    "group_aggregate": group_aggregate,
}


def run_job(job: Job) -> dict[str, Any]:
    """Run the job; raises :class:`InvalidJob` for parameters the job type cannot use."""
    try:
        return JOB_TYPES[job.job_type](job.parameters)
    except InvalidJob as err:
        raise InvalidJob(f"{job.job_type}: {err}", job.job_id) from None


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The worker's configuration, read once from the environment the construct sets."""

    job_table_name: str
    max_receive_count: int
    queue_name: str
    fifo: bool
    event_bus_name: str | None
    event_source: str
    succeeded_detail_type: str
    failed_detail_type: str


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse and check the environment, reporting every bad variable in one error.

    ``EVENT_BUS_NAME`` is optional: without it no JobSucceeded/JobFailed events are put.
    """
    problems: list[str] = []

    def required(name: str) -> str:
        value = environ.get(name, "")
        if not value:
            problems.append(f"{name} must be set to a non-empty value")
        return value

    def positive_int(name: str) -> int:
        raw = environ.get(name, "")
        if not _DIGITS.match(raw.strip()) or int(raw) < 1:
            problems.append(f"{name} must be an integer >= 1, got {raw!r}")
            return 1
        return int(raw)

    job_table = required("JOB_TABLE_NAME")
    queue_name = required("QUEUE_NAME")
    max_receive = positive_int("MAX_RECEIVE_COUNT")
    raw_fifo = environ.get("QUEUE_FIFO", "false")
    fifo = _TRUE_FALSE.get(raw_fifo.strip().lower())
    if fifo is None:
        problems.append(f"QUEUE_FIFO must be 'true' or 'false', got {raw_fifo!r}")
    if problems:
        raise ConfigurationError("invalid job worker configuration: " + "; ".join(problems))
    return Settings(
        job_table_name=job_table,
        max_receive_count=max_receive,
        queue_name=queue_name,
        fifo=bool(fifo),
        event_bus_name=environ.get("EVENT_BUS_NAME") or None,
        event_source=environ.get("EVENT_SOURCE") or "analytics-orchestration.jobs",
        succeeded_detail_type=environ.get("SUCCEEDED_DETAIL_TYPE") or "JobSucceeded",
        failed_detail_type=environ.get("FAILED_DETAIL_TYPE") or "JobFailed",
    )


def error_text(err: BaseException) -> str:
    """``Type: message``, cut to :data:`MAX_ERROR_LENGTH` characters."""
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."
