"""Glue job: curate raw CSV or JSON objects into a partitioned Parquet table.

Runs in AWS Glue 5.0 (Spark 3.5, Python 3.11) as the script of the curation job that
``ServerlessAnalytics(curation_job=...)`` creates. Job arguments (set by the construct):

``--source_path``       ``s3://<raw bucket>/<prefix>``: the objects to curate
``--source_format``     ``csv`` (with a header row) or ``json`` (JSON Lines)
``--target_path``       ``s3://<curated bucket>/<table>/``: where Parquet files go
``--target_database``   the curated Glue database
``--target_table``      the table created or updated there
``--partition_column``  the date partition column (the run's UTC date)

Optional (set by the caller of a run, e.g. an Airflow DAG for its logical date):

``--partition_date``    ``YYYY-MM-DD``: the partition the run writes, instead of the run's
                        UTC date, so a scheduled run for day D that starts on day D+1 (as
                        Airflow's daily runs do) still lands in D's partition

Job bookmarks are on, so a run reads only objects earlier runs have not read. Each run:

1. reads the new objects (``transformation_ctx`` ties them to the bookmark);
2. renames columns to lowercase snake case, unique (Athena, Redshift Spectrum and Spark
   all accept them unquoted);
3. adds ``source_file`` (the object the row came from), then drops rows whose every
   source column is null and rows duplicating another row's source columns;
4. adds the date partition column;
5. appends Parquet (Snappy) under the target path, partitioned by date, and creates or
   updates the table and its partitions in the Glue Data Catalog;
6. commits the bookmark, only after the write succeeded.

The pure functions at the top are what the tests exercise; ``main`` needs the Glue
runtime (``awsglue``, ``pyspark``), which only Glue provides.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ARGUMENTS = (
    "JOB_NAME", "source_path", "source_format", "target_path", "target_database",
    "target_table", "partition_column",
)
SOURCE_FORMATS = ("csv", "json")
SOURCE_FILE_COLUMN = "source_file"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9]+")


class CurationError(ValueError):
    """The job's arguments cannot work; raised before Spark reads anything."""


def normalise_column_name(name: str) -> str:
    """``"Order Date"``, ``"orderDate"``, ``"order-date"`` -> ``"order_date"``.

    Lowercase snake case, letters/digits/underscores only, never starting with a digit
    (prefixed with ``c_``) and never empty (``column``).
    """
    snake = _CAMEL_BOUNDARY.sub("_", name.strip()).lower()
    cleaned = _NOT_IDENTIFIER.sub("_", snake).strip("_")
    if not cleaned:
        return "column"
    return f"c_{cleaned}" if cleaned[0].isdigit() else cleaned


def unique_column_names(names: Sequence[str], reserved: Iterable[str] = ()) -> list[str]:
    """Normalised names, made unique with ``_2``, ``_3``... in order of appearance.

    ``reserved`` names (the columns the job adds) are never produced for source columns.
    """
    taken = set(reserved)
    result = []
    for name in names:
        base = normalise_column_name(name)
        candidate, counter = base, 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}_{counter}"
        taken.add(candidate)
        result.append(candidate)
    return result


def reader_options(source_format: str) -> dict[str, Any]:
    """``format_options`` for Glue's S3 reader, per source format."""
    if source_format == "csv":
        return {"withHeader": True, "separator": ",", "quoteChar": '"', "escaper": "\\"}
    if source_format == "json":
        return {"multiline": False}
    raise CurationError(f"--source_format must be one of {SOURCE_FORMATS}, got {source_format!r}")


def validate_arguments(args: Mapping[str, str]) -> None:
    """Every problem with the job's arguments, in one error."""
    problems = []
    for name in ("source_path", "target_path"):
        if not args.get(name, "").startswith("s3://"):
            problems.append(f"--{name} must be an s3:// URL, got {args.get(name)!r}")
    if args.get("source_format") not in SOURCE_FORMATS:
        problems.append(
            f"--source_format must be one of {SOURCE_FORMATS}, got {args.get('source_format')!r}"
        )
    for name in ("target_database", "target_table", "partition_column"):
        if not args.get(name):
            problems.append(f"--{name} is required")
    partition = args.get("partition_column", "")
    if partition and normalise_column_name(partition) != partition:
        problems.append(f"--partition_column must be lowercase snake case, got {partition!r}")
    if problems:
        raise CurationError("; ".join(problems))


def partition_value(run_time: dt.datetime, requested: str | None = None) -> str:
    """The partition of a run: ``requested`` (``--partition_date``) when given, else the
    run's UTC date, ``YYYY-MM-DD``."""
    if requested is None:
        return run_time.astimezone(dt.UTC).date().isoformat()
    try:
        date = dt.date.fromisoformat(requested)
    except ValueError:
        date = None
    if date is None or date.isoformat() != requested:
        raise CurationError(f"--partition_date must be a YYYY-MM-DD date, got {requested!r}")
    return requested


def requested_partition(argv: Sequence[str]) -> str | None:
    """The optional ``--partition_date`` argument (``getResolvedOptions`` only resolves
    the arguments it is told of, and fails on a missing one)."""
    argv = list(argv)
    for index, arg in enumerate(argv):
        if arg == "--partition_date" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--partition_date="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str]) -> None:  # pragma: no cover - needs the Glue runtime
    from awsglue.context import GlueContext
    from awsglue.dynamicframe import DynamicFrame
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from pyspark.sql import functions as F

    args = getResolvedOptions(list(argv), list(ARGUMENTS))
    validate_arguments(args)
    partition_date = partition_value(dt.datetime.now(dt.UTC), requested_partition(argv))
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    source = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [args["source_path"]], "recurse": True},
        format=args["source_format"],
        format_options=reader_options(args["source_format"]),
        transformation_ctx="source",
    )
    frame = source.toDF()
    if frame.rdd.isEmpty():
        job.commit()
        return

    partition = args["partition_column"]
    columns = unique_column_names(frame.columns, reserved=(SOURCE_FILE_COLUMN, partition))
    # The file name is only known before the first transformation.
    frame = frame.toDF(*columns).withColumn(SOURCE_FILE_COLUMN, F.input_file_name())
    frame = frame.dropna(how="all", subset=columns).dropDuplicates(subset=columns)
    frame = frame.withColumn(partition, F.lit(partition_date))

    sink = glue_context.getSink(
        connection_type="s3",
        path=args["target_path"],
        enableUpdateCatalog=True,
        updateBehavior="UPDATE_IN_DATABASE",
        partitionKeys=[partition],
        transformation_ctx="sink",
    )
    sink.setFormat("glueparquet", compression="snappy")
    sink.setCatalogInfo(
        catalogDatabase=args["target_database"], catalogTableName=args["target_table"]
    )
    sink.writeFrame(DynamicFrame.fromDF(frame, glue_context, "curated"))
    job.commit()


if __name__ == "__main__":  # pragma: no cover - Glue runs the script as __main__
    main(sys.argv)
