"""The lake record normaliser (lambda_src/lake_record_normaliser): Firehose's transform contract.

The event and response shapes are the documented ones (Firehose developer guide, "Transform
source data in Amazon Data Firehose" and "Required parameters for data transformation"):
every input ``recordId`` comes back once, with ``result`` Ok / Dropped / ProcessingFailed and
base64 ``data``.
"""

from __future__ import annotations

import base64
import json

import pytest

HANDLER = "lake_record_normaliser"
ENVIRONMENT = {"REQUIRED_FIELDS": '["event_type", "event_time"]',
               "TIMESTAMP_FIELD": "event_time", "DATE_FIELD": "event_date",
               "DROP_VALUES": '{"event_type": ["heartbeat"]}'}
STREAM = "arn:aws:firehose:us-east-1:123456789012:deliverystream/lake"


def _event(*payloads: bytes) -> dict:
    return {
        "invocationId": "invocation-1",
        "deliveryStreamArn": STREAM,
        "region": "us-east-1",
        "records": [{"recordId": f"record-{i}", "approximateArrivalTimestamp": 1796166000000,
                     "data": base64.b64encode(p).decode()} for i, p in enumerate(payloads)],
    }


@pytest.fixture
def normaliser(aws_credentials, load_handler, monkeypatch, lambda_context):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    module = load_handler(HANDLER)

    def invoke(*payloads: bytes) -> list[dict]:
        return module.handler(_event(*payloads), lambda_context)["records"]

    invoke.rules = load_handler(HANDLER, "normalise")
    return invoke


def test_each_record_gets_its_own_result_in_one_response(normaliser):
    good = json.dumps({"Event_Type": " click ", "event_time": "2026-12-01T23:30:00+01:00",
                       "page": "/home"}).encode()
    heartbeat = json.dumps({"event_type": "heartbeat", "event_time": 1796166000}).encode()
    records = normaliser(good, b"{not json", heartbeat)

    assert [r["recordId"] for r in records] == ["record-0", "record-1", "record-2"]
    assert [r["result"] for r in records] == ["Ok", "ProcessingFailed", "Dropped"]
    line = base64.b64decode(records[0]["data"])
    assert line.endswith(b"\n")
    assert json.loads(line) == {"event_type": "click", "event_time": "2026-12-01T22:30:00.000Z",
                                "event_date": "2026-12-01", "page": "/home"}
    # A failed record keeps its original bytes: Firehose writes them to the error prefix.
    assert base64.b64decode(records[1]["data"]) == b"{not json"


def test_missing_required_field_and_bad_timestamp_fail_only_their_record(normaliser):
    records = normaliser(
        json.dumps({"event_time": 1796166000}).encode(),
        json.dumps({"event_type": "view", "event_time": "yesterday"}).encode(),
        json.dumps({"event_type": "view", "event_time": "2026-12-01T10:00:00"}).encode(),
        json.dumps(["an", "array"]).encode(),
        json.dumps({"event_type": "view", "event_time": 1796166000123}).encode(),
    )
    assert [r["result"] for r in records] == ["ProcessingFailed"] * 4 + ["Ok"]
    assert json.loads(base64.b64decode(records[4]["data"]))["event_time"] == \
        "2026-12-01T23:00:00.123Z"


def test_rules_report_why(normaliser):
    rules = normaliser.rules
    settings = rules.load_settings(ENVIRONMENT)
    assert rules.normalise(b'{"event_time": 1}', settings).reason == \
        "missing required fields: event_type"
    naive = rules.normalise(b'{"event_type": "a", "event_time": "2026-12-01 10:00:00"}', settings)
    assert naive.result == "ProcessingFailed" and "no UTC offset" in str(naive.reason)
    assert rules.normalise(b'{"event_type": "heartbeat", "event_time": 1}', settings).result == \
        "Dropped"
    # Epoch seconds and milliseconds name the same instant.
    assert rules.parse_timestamp(1796166000) == rules.parse_timestamp(1796166000000)
    assert rules.parse_timestamp("1796166000") == rules.parse_timestamp(1796166000)


@pytest.mark.parametrize("environ", [{"REQUIRED_FIELDS": "not json"},
                                     {"REQUIRED_FIELDS": '{"a": 1}'},
                                     {"DROP_VALUES": '{"a": "b"}'}])
def test_a_bad_environment_is_a_configuration_error(normaliser, environ):
    with pytest.raises(normaliser.rules.ConfigurationError):
        normaliser.rules.load_settings(environ)
