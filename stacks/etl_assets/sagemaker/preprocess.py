"""SageMaker processing script: customer activity (CSV) to XGBoost train/validation sets.

Reads every ``*.csv`` under ``/opt/ml/processing/input`` (header: ``customer_id``, the
feature columns, ``churned``), writes label-first, header-less CSV (what SageMaker's
XGBoost expects) to ``/opt/ml/processing/output/train`` and ``.../validation``. The split is
deterministic: a hash of the customer id sends about ``--validation-share`` of customers to
validation, so reruns on the same data produce the same sets.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

LABEL = "churned"
ID_FIELD = "customer_id"
INPUT_DIR = Path("/opt/ml/processing/input")
OUTPUT_DIR = Path("/opt/ml/processing/output")


def to_row(record: dict[str, str], features: Sequence[str]) -> list[str] | None:
    """Label first, then the features as numbers; None when a value is missing or bad."""
    label = record.get(LABEL, "").strip().lower()
    if label not in ("0", "1", "true", "false"):
        return None
    values = []
    for name in features:
        try:
            values.append(repr(float(record.get(name, ""))))
        except ValueError:
            return None
    return ["1" if label in ("1", "true") else "0", *values]


def is_validation(customer_id: str, share: float) -> bool:
    """Deterministically assign about ``share`` of customers to validation."""
    bucket = int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < share


def split(lines: Iterable[str], share: float) -> tuple[list[list[str]], list[list[str]], int]:
    """(train rows, validation rows, rejected count) for one CSV file's lines."""
    reader = csv.DictReader(lines)
    features = [f for f in (reader.fieldnames or []) if f not in (LABEL, ID_FIELD)]
    train: list[list[str]] = []
    validation: list[list[str]] = []
    rejected = 0
    for record in reader:
        row = to_row(record, features)
        if row is None:
            rejected += 1
            continue
        target = validation if is_validation(record.get(ID_FIELD, ""), share) else train
        target.append(row)
    return train, validation, rejected


def to_csv(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--validation-share", type=float, default=0.2)
    args = parser.parse_args(argv)
    train: list[list[str]] = []
    validation: list[list[str]] = []
    rejected = 0
    for path in sorted(INPUT_DIR.rglob("*.csv")):
        with path.open(newline="") as handle:
            t, v, r = split(handle, args.validation_share)
        train, validation, rejected = train + t, validation + v, rejected + r
    for channel, rows in (("train", train), ("validation", validation)):
        directory = OUTPUT_DIR / channel
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{channel}.csv").write_text(to_csv(rows))
    print(f"preprocess: {len(train)} train, {len(validation)} validation, {rejected} rejected")


if __name__ == "__main__":
    main()
