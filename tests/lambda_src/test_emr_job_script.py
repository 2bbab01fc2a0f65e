"""The Glue ETL example's Spark job on EMR Serverless: its per-customer logic."""

from __future__ import annotations

from stacks.etl_assets.emr import customer_features


def test_customer_features_count_orders_and_sum_exactly_per_currency():
    sales = [
        {"order_id": "o-1", "order_date": "2026-11-25", "amount": "0.10", "currency": "EUR",
         "segment": "pro"},
        {"order_id": "o-2", "order_date": "2026-11-24", "amount": "0.20", "currency": "EUR",
         "segment": "pro"},
        {"order_id": "o-3", "order_date": "2026-11-26", "amount": "1.00", "currency": "USD",
         "segment": "pro"},
    ]
    assert customer_features.customer_features("c-1", sales) == {
        "customer_id": "c-1", "segment": "pro", "orders": 3,
        "revenue": {"EUR": "0.30", "USD": "1.00"},
        "first_order_date": "2026-11-24", "last_order_date": "2026-11-26",
    }
