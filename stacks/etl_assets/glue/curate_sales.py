"""Glue job: raw orders joined with customers into the curated zone, partitioned by day.

Arguments: ``--orders_path``, ``--customers_path`` (raw zone), ``--curated_path``.
The join and deduplication are ``sales_transforms.curate_sales``, applied per partition:
orders are hash-partitioned on ``order_id`` (so duplicates meet in one partition) and the
customer reference set, small, is broadcast to every executor.
"""

from __future__ import annotations

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from sales_transforms import curate_sales


def main() -> None:
    args = getResolvedOptions(
        sys.argv, ["JOB_NAME", "orders_path", "customers_path", "curated_path"])
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    customers = spark.sparkContext.broadcast(
        [row.asDict() for row in spark.read.json(args["customers_path"]).collect()])
    orders = spark.read.json(args["orders_path"]).repartition("order_id")
    curated = orders.rdd.mapPartitions(
        lambda rows: curate_sales((row.asDict() for row in rows), customers.value))
    if not curated.isEmpty():
        spark.createDataFrame(curated).write.mode("overwrite").partitionBy(
            "order_date").json(args["curated_path"])
    job.commit()


if __name__ == "__main__":
    main()
