"""The record partitioner (lambda_src/record_partitioner) against moto, then its pure logic."""

from __future__ import annotations

import io
import json

import pytest

HANDLER = "record_partitioner"
SOURCE = "landing"
TARGET = "lake"
ENVIRONMENT = {"TARGET_BUCKET": TARGET, "TARGET_PREFIX": "curated/",
               "PARTITION_KEYS": '["day", "country"]', "MAX_REJECTED_FRACTION": "0.25"}


@pytest.fixture
def partitioner(aws, aws_client, load_handler, monkeypatch, lambda_context):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    s3 = aws_client("s3")
    for bucket in (SOURCE, TARGET):
        s3.create_bucket(Bucket=bucket)
    module = load_handler(HANDLER)

    def invoke(event):
        return module.handler(event, lambda_context)

    invoke.s3 = s3
    invoke.module = module
    return invoke


def _objects(s3, prefix=""):
    listed = s3.list_objects_v2(Bucket=TARGET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: [json.loads(line) for line in s3.get_object(Bucket=TARGET, Key=o["Key"])[
        "Body"].read().decode().splitlines()] for o in listed}


def test_csv_object_is_partitioned_into_json_lines(partitioner):
    partitioner.s3.put_object(Bucket=SOURCE, Key="in/a.csv", Body=(
        "\ufeffday,country,amount\n2026-11-24,FR,1\n2026-11-24,DE,2\n2026-11-25,FR,3\n"
    ).encode())
    summary = partitioner({"bucket": SOURCE, "key": "in/a.csv"})

    assert summary["records"] == 3 and summary["rejected"] == 0
    assert summary["partitions"] == ["day=2026-11-24/country=DE/", "day=2026-11-24/country=FR/",
                                     "day=2026-11-25/country=FR/"]
    objects = _objects(partitioner.s3, "curated/")
    fr = [v for k, v in objects.items() if k.startswith("curated/day=2026-11-24/country=FR/")]
    assert fr == [[{"amount": "1", "country": "FR", "day": "2026-11-24"}]]


def test_a_retry_overwrites_its_own_output(partitioner):
    partitioner.s3.put_object(Bucket=SOURCE, Key="in/b.jsonl",
                              Body=b'{"day": "d1", "country": "FR", "n": 1}\n')
    event = {"bucket": SOURCE, "key": "in/b.jsonl"}
    partitioner(event)
    partitioner(event)
    assert len(_objects(partitioner.s3, "curated/")) == 1


def test_prefix_mode_converts_every_known_format_and_skips_others(partitioner):
    s3 = partitioner.s3
    s3.put_object(Bucket=SOURCE, Key="batch/1.csv", Body=b"day,country\nd1,FR\n")
    s3.put_object(Bucket=SOURCE, Key="batch/2.ndjson", Body=b'{"day": "d2", "country": "DE"}\n')
    s3.put_object(Bucket=SOURCE, Key="batch/readme.txt", Body=b"hello")
    summary = partitioner({"bucket": SOURCE, "prefix": "batch/"})
    assert (summary["sources"], summary["skipped"], summary["records"]) == (2, 1, 2)


def test_rejected_records_are_kept_aside_with_their_reason(partitioner):
    partitioner.s3.put_object(Bucket=SOURCE, Key="in/c.jsonl", Body=(
        b'{"day": "d1", "country": "FR"}\n{"day": "d1", "country": "FR"}\n'
        b'{"day": "d1", "country": "FR"}\nnot json\n'))
    summary = partitioner({"bucket": SOURCE, "key": "in/c.jsonl"})
    assert summary["rejected"] == 1
    [rejected] = _objects(partitioner.s3, "curated/_rejected/").values()
    assert rejected[0]["line"] == 4 and rejected[0]["reason"].startswith("not JSON")


def test_too_many_rejected_records_fail_before_any_partition_is_written(partitioner):
    partitioner.s3.put_object(Bucket=SOURCE, Key="in/d.csv",
                              Body=b"day,country\nd1,FR\nd1,FR,extra\nd2,DE,extra\n")
    with pytest.raises(partitioner.module.TooManyRejectedRecordsError, match="2 of 3"):
        partitioner({"bucket": SOURCE, "key": "in/d.csv"})
    keys = list(_objects(partitioner.s3, "curated/"))
    assert keys and all(k.startswith("curated/_rejected/") for k in keys)


@pytest.mark.parametrize(("event", "message"), [
    ("not an object", "expected a JSON object"),
    ({"key": "a.csv"}, "non-empty 'bucket'"),
    ({"bucket": SOURCE}, "exactly one of 'key' and 'prefix'"),
    ({"bucket": SOURCE, "key": "a.csv", "prefix": "x/"}, "exactly one"),
    ({"bucket": SOURCE, "key": "picture.png"}, "neither CSV"),
])
def test_malformed_events_fail_clearly(partitioner, event, message):
    with pytest.raises(partitioner.module.InvalidEventError, match=message):
        partitioner(event)


def test_distributed_map_items_are_accepted(partitioner):
    partitioner.s3.put_object(Bucket=SOURCE, Key="m/e.csv", Body=b"day,country\nd,FR\n")
    assert partitioner({"bucket": SOURCE, "Key": "m/e.csv", "Size": 12})["records"] == 1


def test_bad_configuration_names_every_variable(aws, load_handler, monkeypatch, lambda_context):
    monkeypatch.setenv("TARGET_BUCKET", "")
    monkeypatch.setenv("TARGET_PREFIX", "no-slash")
    monkeypatch.setenv("PARTITION_KEYS", '["a b"]')
    monkeypatch.setenv("MAX_REJECTED_FRACTION", "2")
    module = load_handler(HANDLER)
    with pytest.raises(module.ConfigurationError) as raised:
        module.handler({"bucket": "b", "key": "k.csv"}, lambda_context)
    for name in ("TARGET_BUCKET", "TARGET_PREFIX", "PARTITION_KEYS", "MAX_REJECTED_FRACTION"):
        assert name in str(raised.value)


# ------------------------------------------------------------------ pure logic
@pytest.fixture
def records(load_handler):
    return load_handler(HANDLER, "records")


def test_partition_values_are_made_path_safe(records):
    assert records.partition_path({"a": "x/y=z", "b": None}, ["a", "b"]) == (
        f"a=x_y_z/b={records.HIVE_DEFAULT_PARTITION}/")
    assert records.partition_path({"a": True}, ["a"]) == "a=true/"


def test_nested_partition_values_are_rejected(records):
    result = records.partition_records([{"a": {"x": 1}}, {"a": "ok"}], ["a"])
    assert result.record_count == 1 and "holds a dict" in result.rejected[0].reason


def test_csv_rows_shorter_than_the_header_are_padded(records):
    parsed = list(records.parse_records(io.BytesIO(b"a,b,c\n1,2\n\n"), "csv"))
    assert parsed == [{"a": "1", "b": "2", "c": ""}]


def test_json_lines_that_are_not_objects_are_rejected(records):
    [rejected] = list(records.parse_records(io.BytesIO(b"[1, 2]\n"), "jsonl"))
    assert rejected.reason == "a JSON list, not an object"


def test_formats_come_from_the_suffix(records):
    assert [records.detect_format(k) for k in ("a.CSV", "b.jsonl", "c.ndjson", "d.json",
                                               "e.parquet")] == ["csv", "jsonl", "jsonl",
                                                                 "jsonl", None]


def test_output_names_depend_on_the_source_version(records):
    one = records.source_id("b", "k", "v1")
    assert one == records.source_id("b", "k", "v1") != records.source_id("b", "k", "v2")
    assert records.output_key("p/", "a=1/", one) == f"p/a=1/part-{one}.jsonl"
