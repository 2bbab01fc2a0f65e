"""Spark job on EMR Serverless: per-customer features from the curated sales zone.

Arguments: ``<curated_path> <features_path>`` (``s3://`` prefixes). Sales are grouped by
customer and each group becomes one feature record (``customer_features``), written as JSON
lines under ``features_path``. The features feed the data scientists' churn and
lifetime-value models; the logic is plain Python so tests run it without Spark.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any


def customer_features(customer_id: str,
                      sales: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One customer's features: order count, revenue per currency, first and last day.

    Sales are the curated zone's (deduplicated, amounts as exact decimal strings).
    """
    orders: set[str] = set()
    revenue: dict[str, Decimal] = {}
    days: list[str] = []
    segment = "unknown"
    for sale in sales:
        orders.add(str(sale["order_id"]))
        currency = str(sale.get("currency", "EUR"))
        revenue[currency] = revenue.get(currency, Decimal(0)) + Decimal(str(sale["amount"]))
        days.append(str(sale["order_date"]))
        segment = str(sale.get("segment") or segment)
    return {
        "customer_id": customer_id, "segment": segment, "orders": len(orders),
        "revenue": {currency: f"{amount:.2f}" for currency, amount in sorted(revenue.items())},
        "first_order_date": min(days), "last_order_date": max(days),
    }


def main(argv: Sequence[str]) -> None:
    import json

    from pyspark.sql import SparkSession

    curated_path, features_path = argv
    spark = SparkSession.builder.appName("customer-features").getOrCreate()
    sales = spark.read.json(curated_path).rdd.map(lambda row: row.asDict())
    features = sales.groupBy(lambda sale: sale["customer_id"]).map(
        lambda group: json.dumps(customer_features(group[0], group[1])))
    if not features.isEmpty():  # a refresh replaces the previous features
        spark.read.json(features).write.mode("overwrite").json(features_path)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
