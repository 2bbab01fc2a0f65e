"""The logic of the ETL example stacks' job scripts (Glue, SageMaker processing, Batch)."""

from __future__ import annotations

import pytest

from stacks.etl_assets.batch import process_object
from stacks.etl_assets.glue import sales_transforms
from stacks.etl_assets.sagemaker import preprocess


@pytest.mark.parametrize(("row", "expected"), [
    ({"order_id": "o", "customer_id": "c", "order_date": "2026-11-24", "amount": "1.5",
      "currency": "eur"},
     {"order_id": "o", "customer_id": "c", "order_date": "2026-11-24", "amount": "1.50",
      "currency": "EUR"}),
    ({"order_id": "", "customer_id": "c", "order_date": "2026-11-24", "amount": "1"}, None),
    ({"order_id": "o", "customer_id": "c", "order_date": "24/11/2026", "amount": "1"}, None),
    ({"order_id": "o", "customer_id": "c", "order_date": "2026-11-24", "amount": "-1"}, None),
    ({"order_id": "o", "customer_id": "c", "order_date": "2026-11-24", "amount": "x"}, None),
    ({"order_id": "o", "customer_id": "c", "order_date": "2026-11-24", "amount": "1",
      "currency": "EURO"}, None),
])
def test_clean_order(row, expected):
    assert sales_transforms.clean_order(row) == expected


def test_curate_sales_joins_deduplicates_and_defaults_unknown_customers():
    orders = [{"order_id": "2", "customer_id": "c1", "amount": "1.00"},
              {"order_id": "1", "customer_id": "c9", "amount": "2.00"},
              {"order_id": "2", "customer_id": "c1", "amount": "3.00"}]
    customers = [sales_transforms.clean_customer({"customer_id": "c1", "segment": " Pro "})]
    assert list(sales_transforms.curate_sales(orders, customers)) == [
        {"order_id": "1", "customer_id": "c9", "amount": "2.00", "segment": "unknown",
         "country": "ZZ"},
        {"order_id": "2", "customer_id": "c1", "amount": "3.00", "segment": "pro",
         "country": "ZZ"},
    ]


def test_daily_totals_sum_exactly():
    sales = [{"order_date": "d", "segment": "s", "currency": "EUR", "amount": "0.10"}] * 3
    assert sales_transforms.daily_totals(sales) == [
        {"order_date": "d", "segment": "s", "currency": "EUR", "orders": 3, "revenue": "0.30"}]


def test_preprocess_split_is_label_first_deterministic_and_rejects_bad_rows():
    lines = ["customer_id,a,b,churned", "c1,1,2,1", "c2,3,x,0", "c3,5,6,maybe", "c4,7,8,false"]
    train, validation, rejected = preprocess.split(lines, 0.5)
    assert rejected == 2
    assert sorted(train + validation) == [["0", "7.0", "8.0"], ["1", "1.0", "2.0"]]
    assert preprocess.split(lines, 0.5) == (train, validation, rejected)
    assert preprocess.split(lines, 0.0)[1] == []


def test_process_object_aggregates_per_sensor_and_hour():
    lines = ['{"sensor_id": "s", "timestamp": "2026-11-24T01:05:00Z", "value": 1}',
             '{"sensor_id": "s", "timestamp": "2026-11-24T01:55:00Z", "value": 3}', "",
             '{"sensor_id": "s", "timestamp": "2026-11-24T02:00:00Z", "value": 5}']
    assert process_object.hourly_aggregates(lines) == [
        {"sensor_id": "s", "hour": "2026-11-24T01", "count": 2, "min": 1.0, "max": 3.0,
         "mean": 2.0},
        {"sensor_id": "s", "hour": "2026-11-24T02", "count": 1, "min": 5.0, "max": 5.0,
         "mean": 5.0},
    ]
    assert process_object.output_key("out/", "raw/a/dev-1.jsonl") == "out/dev-1.hourly.jsonl"


@pytest.mark.parametrize("line", ['{"sensor_id": "s", "value": 1}', "[]", "nope",
                                  '{"sensor_id": "s", "timestamp": "2026", "value": 1}'])
def test_process_object_rejects_malformed_readings(line):
    with pytest.raises(process_object.InvalidReadingError, match="line 1"):
        process_object.hourly_aggregates([line])
