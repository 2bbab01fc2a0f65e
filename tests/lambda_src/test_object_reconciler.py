"""Tests of the reconciliation sweep (lambda_src/object_reconciler) against moto.

The sweep runs against a versioned landing bucket, the ledger table, its SSM state parameter
and a bus whose rule forwards its events to a queue. The validator it re-drives is replaced
by a recorder of the asynchronous invocations (the end-to-end path with the real validator is
in ``tests/behaviour/test_reconciliation_flow.py``). Pure functions of ``sweep.py`` are tested
at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from botocore.awsrequest import AWSResponse

HANDLER = "object_reconciler"
BUCKET = "landing-bucket"
UNVERSIONED_BUCKET = "landing-unversioned"
LEDGER_TABLE = "ingestion-ledger"
STATE_PARAMETER = "/ingestion/reconciliation-state"
EVENT_BUS = "ingestion-bus"
EVENT_SOURCE = "analytics.ingestion"
VALIDATOR = "arn:aws:lambda:us-east-1:123456789012:function:validator"

ENVIRONMENT = {
    "BUCKET_NAME": BUCKET,
    "KEY_PREFIXES": '["incoming/"]',
    "KEY_SUFFIXES": '[".csv"]',
    "MINIMUM_OBJECT_SIZE": "1",
    "QUARANTINE_PREFIX": "quarantine/",
    "LEDGER_TABLE_NAME": LEDGER_TABLE,
    "VALIDATOR_FUNCTION_NAME": VALIDATOR,
    "STATE_PARAMETER_NAME": STATE_PARAMETER,
    "EVENT_BUS_NAME": EVENT_BUS,
    "EVENT_SOURCE": EVENT_SOURCE,
    "RECONCILED_DETAIL_TYPE": "ObjectsReconciled",
    "OVERLAP_SECONDS": "3600",
    "MINIMUM_AGE_SECONDS": "300",
    "MAX_OBJECTS_PER_RUN": "10000",
}


def later(minutes: int) -> str:
    """A schedule's scheduled time ``minutes`` from now (objects put now are that old)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Sweep:
    """The handler module, its moto resources and what it re-drove and emitted."""

    module: ModuleType
    context: Any
    s3: Any
    dynamodb: Any
    ssm: Any
    sqs: Any
    queue_url: str
    redriven: list[dict[str, Any]] = field(default_factory=list)

    def run(self, event: Any = None) -> dict[str, Any]:
        """One scheduled run, by default 10 minutes after the objects were put."""
        payload = {"trigger": "schedule", "scheduled_time": later(10)} if event is None else event
        result: dict[str, Any] = self.module.handler(payload, self.context)
        return result

    def put(self, key: str, body: bytes = b"a,b\n", bucket: str = BUCKET) -> dict[str, Any]:
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return {"key": key, "version_id": response.get("VersionId"),
                "etag": response["ETag"].strip('"'), "size": len(body)}

    def record(self, obj: dict[str, Any], *, published: bool = True,
               recorded_at: str = "2025-01-01T00:00:00.000+00:00", bucket: str = BUCKET) -> None:
        """Write the ledger row the validator would have written for ``obj``."""
        item = {"object_id": object_id(obj, bucket), "status": "ACCEPTED",
                "etag": obj["etag"], "recorded_at": recorded_at}
        if published:
            item["published_at"] = recorded_at
        self.dynamodb.Table(LEDGER_TABLE).put_item(Item=item)

    def state(self) -> dict[str, Any]:
        value = self.ssm.get_parameter(Name=STATE_PARAMETER)["Parameter"]["Value"]
        parsed: dict[str, Any] = json.loads(value)
        return parsed

    def emitted(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])
        return events

    def redriven_keys(self) -> list[str]:
        return [event["key"] for event in self.redriven]


def object_id(obj: dict[str, Any], bucket: str = BUCKET) -> str:
    return f"s3://{bucket}/{obj['key']}#{obj['version_id'] or 'null'}"


@pytest.fixture
def reconciler_env(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def sweep(
    aws_client: Callable[..., Any],
    reconciler_env: None,
    load_handler: Callable[..., ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Sweep:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=UNVERSIONED_BUCKET)
    dynamodb = aws_client("dynamodb", resource=True)
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        KeySchema=[{"AttributeName": "object_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "object_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ssm = aws_client("ssm")
    ssm.put_parameter(Name=STATE_PARAMETER, Value="{}", Type="String")
    sqs = aws_client("sqs")
    queue_url = sqs.create_queue(QueueName="reconciliation-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = aws_client("events")
    events.create_event_bus(Name=EVENT_BUS)
    events.put_rule(Name="all", EventBusName=EVENT_BUS,
                    EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    events.put_targets(Rule="all", EventBusName=EVENT_BUS, Targets=[{"Id": "q", "Arn": queue_arn}])

    module = load_handler(HANDLER)
    harness = Sweep(module=module, context=lambda_context, s3=s3, dynamodb=dynamodb, ssm=ssm,
                    sqs=sqs, queue_url=queue_url)

    def invoke(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        """Lambda's answer to an asynchronous Invoke, given in botocore's ``before-call``
        hook: the request is built and counted as any AWS call, only not sent (moto's
        Lambda would run the validator in Docker)."""
        function = quote(VALIDATOR, safe="")
        assert params["url_path"] == f"/2015-03-31/functions/{function}/invocations"
        assert params["headers"]["X-Amz-Invocation-Type"] == "Event"
        harness.redriven.append(json.loads(params["body"]))
        return AWSResponse(params["url"], 202, {}, None), {"StatusCode": 202}

    module._runtime().lambda_.meta.events.register("before-call.lambda.Invoke", invoke)
    return harness


def emf_metrics(out: str) -> dict[str, float]:
    """Metric values of the Powertools EMF blobs printed during the test, summed by name."""
    totals: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            value = blob[name]
            totals[name] = totals.get(name, 0) + (sum(value) if isinstance(value, list) else value)
    return totals


# --- what is re-driven --------------------------------------------------------------------


def test_first_pass_redrives_every_unrecorded_object_the_rule_would_ingest(
    sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = sweep.put("incoming/lost.csv")
    recorded = sweep.put("incoming/recorded.csv")
    sweep.record(recorded)
    sweep.put("incoming/picture.png")  # not a watched suffix
    sweep.put("outgoing/report.csv")  # not a watched prefix
    sweep.put("incoming/empty.csv", b"")  # below the minimum size
    sweep.put("quarantine/incoming/bad.csv")  # the validator's own copy

    summary = sweep.run()

    assert sweep.redriven == [{
        "bucket": BUCKET, "key": "incoming/lost.csv", "size": lost["size"],
        "etag": lost["etag"], "version_id": lost["version_id"],
        "event_time": sweep.redriven[0]["event_time"],
    }]
    assert sweep.redriven[0]["event_time"].endswith("Z")
    assert summary["count"] == 1 and summary["pass_complete"] is True
    assert summary["objects"] == [{"key": "incoming/lost.csv", "version_id": lost["version_id"],
                                   "object_id": object_id(lost)}]
    assert summary["examined"] == 4  # versions listed under incoming/
    [event] = sweep.emitted()
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, "ObjectsReconciled")
    assert event["detail"] == summary
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["ObjectsReconciled"], metrics["ObjectsExamined"]) == (1, 4)
    assert metrics["ReconciliationPassIncomplete"] == 0


def test_a_second_run_redrives_nothing_once_the_validator_recorded_it(
    sweep: Sweep, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = sweep.put("incoming/lost.csv")
    sweep.run()
    sweep.record(lost)  # what the re-driven validator did
    sweep.emitted()
    capsys.readouterr()

    summary = sweep.run({"scheduled_time": later(70)})

    assert len(sweep.redriven) == 1
    assert summary["count"] == 0 and summary["objects"] == []
    assert sweep.emitted() == []  # an event only when something was re-driven
    assert emf_metrics(capsys.readouterr().out)["ObjectsReconciled"] == 0


def test_objects_younger_than_the_minimum_age_are_left_to_their_events(sweep: Sweep) -> None:
    sweep.put("incoming/just-landed.csv")

    summary = sweep.run({"scheduled_time": later(2)})  # minimum age is 5 minutes

    assert sweep.redriven == [] and summary["pass_complete"] is True
    # The watermark stops short of the young object, so the next pass still sees it.
    sweep.run({"scheduled_time": later(10)})
    assert sweep.redriven_keys() == ["incoming/just-landed.csv"]


def test_each_pass_examines_only_its_window_with_the_overlap(sweep: Sweep) -> None:
    sweep.put("incoming/a.csv")
    # The last pass ended 30 minutes after the upload: with an hour of overlap, it is seen.
    sweep.ssm.put_parameter(Name=STATE_PARAMETER, Overwrite=True, Type="String",
                            Value=json.dumps({"watermark": later(30)}))
    sweep.run({"scheduled_time": later(90)})
    assert sweep.redriven_keys() == ["incoming/a.csv"]

    # Ended two hours after the upload: outside the window, not examined again.
    sweep.redriven.clear()
    sweep.ssm.put_parameter(Name=STATE_PARAMETER, Overwrite=True, Type="String",
                            Value=json.dumps({"watermark": later(120)}))
    sweep.run({"scheduled_time": later(180)})
    assert sweep.redriven == []


def test_the_watermark_is_the_pass_time_minus_the_minimum_age(sweep: Sweep) -> None:
    scheduled = "2030-01-01T12:00:00Z"

    summary = sweep.run({"scheduled_time": scheduled})

    assert sweep.state() == {"watermark": "2030-01-01T11:55:00.000Z"}
    assert summary["watermark"] == "2030-01-01T11:55:00+00:00"


def test_an_unfinished_ledger_row_is_redriven_a_finished_one_is_not(sweep: Sweep) -> None:
    unfinished = sweep.put("incoming/unfinished.csv")
    sweep.record(unfinished, published=False)
    just_claimed = sweep.put("incoming/claimed-just-now.csv")
    sweep.record(just_claimed, published=False, recorded_at=later(8))
    finished = sweep.put("incoming/finished.csv")
    sweep.record(finished)

    sweep.run()

    assert sweep.redriven_keys() == ["incoming/unfinished.csv"]


def test_every_version_of_a_key_is_reconciled(sweep: Sweep) -> None:
    first = sweep.put("incoming/daily.csv", b"v1\n")
    second = sweep.put("incoming/daily.csv", b"v2\n")
    sweep.record(second)

    sweep.run()

    assert [e["version_id"] for e in sweep.redriven] == [first["version_id"]]


def test_unversioned_objects_are_redriven_with_a_null_version(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUCKET_NAME", UNVERSIONED_BUCKET)
    sweep.module._runtime.cache_clear()
    runtime = sweep.module._runtime()
    monkeypatch.setattr(runtime.lambda_, "invoke",
                        lambda **r: sweep.redriven.append(json.loads(r["Payload"])))
    recorded = sweep.put("incoming/recorded.csv", bucket=UNVERSIONED_BUCKET)
    sweep.record(recorded, bucket=UNVERSIONED_BUCKET)
    sweep.put("incoming/lost.csv", bucket=UNVERSIONED_BUCKET)

    summary = sweep.run()

    assert [(e["key"], e["version_id"]) for e in sweep.redriven] == [("incoming/lost.csv", None)]
    assert summary["objects"][0]["object_id"] == f"s3://{UNVERSIONED_BUCKET}/incoming/lost.csv#null"


def test_an_overwritten_unversioned_key_is_redriven_so_the_conflict_surfaces(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUCKET_NAME", UNVERSIONED_BUCKET)
    sweep.module._runtime.cache_clear()
    runtime = sweep.module._runtime()
    monkeypatch.setattr(runtime.lambda_, "invoke",
                        lambda **r: sweep.redriven.append(json.loads(r["Payload"])))
    first = sweep.put("incoming/daily.csv", b"monday\n", bucket=UNVERSIONED_BUCKET)
    sweep.record(first, bucket=UNVERSIONED_BUCKET)
    same = sweep.put("incoming/same.csv", b"x\n", bucket=UNVERSIONED_BUCKET)
    sweep.record(same, bucket=UNVERSIONED_BUCKET)
    # The key is overwritten and the new object's event is lost.
    second = sweep.put("incoming/daily.csv", b"tuesday\n", bucket=UNVERSIONED_BUCKET)

    sweep.run()

    assert [(e["key"], e["etag"]) for e in sweep.redriven] == [
        ("incoming/daily.csv", second["etag"])]


# --- bounded work ---------------------------------------------------------------------------


def test_a_large_listing_is_swept_in_bounded_runs_that_continue(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_OBJECTS_PER_RUN", "3")
    sweep.module._runtime.cache_clear()
    runtime = sweep.module._runtime()
    monkeypatch.setattr(runtime.lambda_, "invoke",
                        lambda **r: sweep.redriven.append(json.loads(r["Payload"])))
    keys = [f"incoming/{n:02d}.csv" for n in range(8)]
    for key in keys:
        sweep.put(key)
    scheduled = {"scheduled_time": later(10)}

    first = sweep.run(scheduled)

    assert (first["examined"], first["count"], first["pass_complete"]) == (3, 3, False)
    state = sweep.state()
    assert state["watermark"] is None and state["cursor"]["key_marker"] == "incoming/02.csv"
    assert emf_metrics(capsys.readouterr().out)["ReconciliationPassIncomplete"] == 1

    runs = [first]
    while not runs[-1]["pass_complete"]:
        runs.append(sweep.run({"scheduled_time": later(70)}))

    assert [r["examined"] for r in runs] == [3, 3, 2]
    assert sweep.redriven_keys() == keys  # each exactly once, in key order
    # The pass belongs to its first run: its watermark is that run's, not the last one's.
    watermark = datetime.fromisoformat(sweep.state()["watermark"].replace("Z", "+00:00"))
    assert watermark == datetime.fromisoformat(scheduled["scheduled_time"].replace(
        "Z", "+00:00")) - timedelta(minutes=5)
    assert "cursor" not in sweep.state()


def test_a_run_short_of_time_stops_before_listing_and_keeps_the_pass(sweep: Sweep) -> None:
    sweep.put("incoming/a.csv")
    sweep.context.remaining_time_in_millis = 10_000  # under the 30 s reserve

    summary = sweep.run()

    assert (summary["examined"], summary["pass_complete"]) == (0, False)
    assert sweep.redriven == [] and sweep.state()["cursor"]["prefix_index"] == 0


def test_unprocessed_ledger_keys_are_read_again(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = sweep.put("incoming/recorded.csv")
    sweep.record(recorded)
    client = sweep.module._runtime().dynamodb
    real = client.batch_get_item
    calls: list[int] = []

    def flaky(**request: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:  # DynamoDB throttled the whole batch
            return {"Responses": {}, "UnprocessedKeys": request["RequestItems"]}
        return real(**request)

    monkeypatch.setattr(client, "batch_get_item", flaky)
    monkeypatch.setattr(sweep.module.time, "sleep", lambda seconds: None)

    sweep.run()

    assert len(calls) == 2 and sweep.redriven == []


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_failed_report_leaves_the_state_for_the_next_run(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep.put("incoming/lost.csv")
    events = sweep.module._runtime().events
    monkeypatch.setattr(events, "put_events", lambda **_: {
        "FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]})

    with pytest.raises(RuntimeError, match="InternalFailure"):
        sweep.run()

    assert sweep.state() == {}  # unchanged: the next run re-drives and reports again


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_invalid_configuration_names_every_variable(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_PREFIXES", "incoming/")
    monkeypatch.setenv("MAX_OBJECTS_PER_RUN", "0")
    monkeypatch.delenv("VALIDATOR_FUNCTION_NAME")
    sweep.module._runtime.cache_clear()

    with pytest.raises(sweep.module.ConfigurationError) as raised:
        sweep.run()

    for name in ("KEY_PREFIXES", "MAX_OBJECTS_PER_RUN", "VALIDATOR_FUNCTION_NAME"):
        assert name in str(raised.value)


# --- pure sweep logic -----------------------------------------------------------------------


@pytest.fixture
def logic(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler(HANDLER, "sweep")


def test_object_ids_are_the_validators(
    logic: ModuleType, load_handler: Callable[..., ModuleType]
) -> None:
    validator_rules = load_handler("object_validator", "rules")
    for key, version in (("in/a b+c.csv", "v1"), ("in/été.csv", None)):
        assert logic.make_object_id("b", key, version) == validator_rules.make_object_id(
            "b", key, version)


@pytest.mark.parametrize(("prefixes", "watched"), [
    ((), ("",)),
    (("in/",), ("in/",)),
    (("in/a/", "in/", "out/"), ("in/", "out/")),
    (("b/", "a/", "b/"), ("a/", "b/")),
])
def test_watched_prefixes_list_each_version_once(
    logic: ModuleType, prefixes: tuple[str, ...], watched: tuple[str, ...]
) -> None:
    assert logic.watched_prefixes(prefixes) == watched


def test_wanted_mirrors_the_object_created_rule(logic: ModuleType) -> None:
    settings = logic.load_settings(ENVIRONMENT)
    assert logic.wanted("incoming/a.csv", 1, settings)
    assert not logic.wanted("incoming/a.CSV", 1, settings)  # EventBridge matches case
    assert not logic.wanted("incoming/a.csv", 0, settings)
    assert not logic.wanted("elsewhere/a.csv", 1, settings)
    everything = logic.load_settings({**ENVIRONMENT, "KEY_PREFIXES": "[]", "KEY_SUFFIXES": "[]",
                                      "MINIMUM_OBJECT_SIZE": ""})
    assert logic.wanted("anything", 0, everything)
    assert not logic.wanted("quarantine/anything", 0, everything)


def test_state_round_trips_and_garbage_means_a_full_pass(logic: ModuleType) -> None:
    when = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    state = logic.SweepState(watermark=when, cursor=logic.Cursor(
        until=when, cutoff=None, prefix_index=1, key_marker="in/é", version_id_marker="v"))
    assert logic.parse_state(logic.dump_state(state)) == state
    for text in ("", "not json", "[]", '{"watermark": 5, "cursor": {"prefix_index": -1}}'):
        assert logic.parse_state(text) == logic.SweepState()


def test_reference_time_is_the_scheduled_time(logic: ModuleType) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert logic.reference_time({"scheduled_time": "2029-12-31T23:00:00Z"}, now) == datetime(
        2029, 12, 31, 23, tzinfo=UTC)
    for event in ({}, {"scheduled_time": "soon"}, None, ["x"]):
        assert logic.reference_time(event, now) == now
