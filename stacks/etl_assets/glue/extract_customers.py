"""Glue job: the customer reference data (JSON lines) to the raw zone, cleaned.

Arguments: ``--source_path`` (``s3://.../reference/customers/``), ``--raw_path``.
"""

from __future__ import annotations

import sys
from typing import Any

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from sales_transforms import clean_customer


def main() -> None:
    args = getResolvedOptions(sys.argv, ["JOB_NAME", "source_path", "raw_path"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    records = spark.read.json(args["source_path"])
    cleaned = records.rdd.map(lambda row: clean_customer(row.asDict())).filter(_present)
    spark.createDataFrame(cleaned).write.mode("overwrite").json(args["raw_path"])
    job.commit()


def _present(record: Any) -> bool:
    return record is not None


if __name__ == "__main__":
    main()
