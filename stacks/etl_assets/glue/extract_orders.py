"""Glue job: partner order extracts (CSV) from the landing bucket to the raw zone.

Arguments: ``--source_bucket``, ``--source_key`` (the accepted object), ``--raw_path``
(``s3://.../raw/orders/``). Rows that break the rules of ``sales_transforms.clean_order``
are dropped and counted in the job's log.
"""

from __future__ import annotations

import sys
from typing import Any

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from sales_transforms import clean_order


def main() -> None:
    args = getResolvedOptions(sys.argv, ["JOB_NAME", "source_bucket", "source_key", "raw_path"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    rows = spark.read.option("header", "true").csv(
        f"s3://{args['source_bucket']}/{args['source_key']}")
    cleaned = rows.rdd.map(lambda row: clean_order(row.asDict())).filter(_present)
    total, kept = rows.count(), cleaned.count()
    print(f"extract_orders: kept {kept} of {total} rows")
    if kept:
        spark.createDataFrame(cleaned).write.mode("append").partitionBy("order_date").json(
            args["raw_path"])
    job.commit()


def _present(record: Any) -> bool:
    return record is not None


if __name__ == "__main__":
    main()
