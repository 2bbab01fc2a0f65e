"""The sales data set's rules, in plain Python: the Glue jobs apply them record by record.

Shipped to Glue with ``--extra-py-files`` next to the job scripts, and imported by the tests
and the offline fakes, so the rules are tested once and run the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ORDER_FIELDS",
    "clean_customer",
    "clean_order",
    "curate_sales",
    "daily_totals",
]

ORDER_FIELDS = ("order_id", "customer_id", "order_date", "amount", "currency")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def clean_order(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A raw order row (CSV strings) as a typed record, or None when it cannot be used.

    Rejected: missing id or customer, a date that is not ``YYYY-MM-DD``, an amount that is
    not a positive decimal, a currency that is not three capital letters.
    """
    order_id = str(row.get("order_id") or "").strip()
    customer_id = str(row.get("customer_id") or "").strip()
    if not order_id or not customer_id:
        return None
    try:
        day = dt.date.fromisoformat(str(row.get("order_date") or "").strip())
        amount = Decimal(str(row.get("amount") or "").strip())
    except (ValueError, InvalidOperation):
        return None
    currency = str(row.get("currency") or "EUR").strip().upper()
    if amount <= 0 or not _CURRENCY.match(currency):
        return None
    return {"order_id": order_id, "customer_id": customer_id, "order_date": day.isoformat(),
            "amount": str(amount.quantize(Decimal("0.01"))), "currency": currency}


def clean_customer(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A customer reference record (JSON lines), or None without an id."""
    customer_id = str(record.get("customer_id") or "").strip()
    if not customer_id:
        return None
    return {"customer_id": customer_id,
            "segment": str(record.get("segment") or "unknown").strip().lower(),
            "country": str(record.get("country") or "").strip().upper() or "ZZ"}


def curate_sales(
    orders: Iterable[Mapping[str, Any]], customers: Iterable[Mapping[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Orders joined with their customer (left join: unknown customers keep segment
    ``unknown``), deduplicated on ``order_id`` (the last one wins)."""
    by_id = {c["customer_id"]: c for c in customers}
    latest: dict[str, Mapping[str, Any]] = {}
    for order in orders:
        latest[str(order["order_id"])] = order
    for order_id in sorted(latest):
        order = latest[order_id]
        customer = by_id.get(str(order["customer_id"]), {})
        yield {**order, "segment": customer.get("segment", "unknown"),
               "country": customer.get("country", "ZZ")}


def daily_totals(sales: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Revenue and order count per day, segment and currency (the warehouse table)."""
    totals: dict[tuple[str, str, str], list[Decimal]] = {}
    for sale in sales:
        key = (str(sale["order_date"]), str(sale["segment"]), str(sale["currency"]))
        totals.setdefault(key, []).append(Decimal(str(sale["amount"])))
    return [{"order_date": day, "segment": segment, "currency": currency,
             "orders": len(amounts), "revenue": str(sum(amounts, Decimal("0")))}
            for (day, segment, currency), amounts in sorted(totals.items())]
