"""The DAG trigger handler (lambda_src/dag_trigger) against MWAA's InvokeRestApi.

moto has no MWAA REST API, so the MWAA client is botocore's own with a ``Stubber``: the
recorded request is checked against botocore's MWAA model (names, types, the POST to
``/dags/{dag_id}/dagRuns``), and the answers are the shapes the MWAA API reference gives for
``InvokeRestApi`` (``RestApiStatusCode``, ``RestApiResponse``) and its
``RestApiClientException``.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

HANDLER = "dag_trigger"
ENVIRONMENT = "AnalyticsAirflow-Airflow-1A2B3C4D"


@pytest.fixture
def mwaa(aws_credentials):
    client = boto3.client("mwaa", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def trigger(load_handler, monkeypatch, mwaa):
    monkeypatch.setenv("ENVIRONMENT_NAME", ENVIRONMENT)
    monkeypatch.setenv("ALLOWED_DAG_IDS", "sales_pipeline,table_quality")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Tests")
    module = load_handler(HANDLER)
    module._client = mwaa[0]
    return module


def _expect_post(stubber, body, *, dag_id="sales_pipeline", response=None):
    stubber.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": response or {
            "dag_id": dag_id, "dag_run_id": body.get("dag_run_id", "manual__2026-12-01"),
            "state": "queued"}},
        {"Name": ENVIRONMENT, "Path": f"/dags/{dag_id}/dagRuns", "Method": "POST", "Body": body},
    )


def test_a_step_functions_request_starts_a_run_with_its_conf(trigger, mwaa, lambda_context):
    _expect_post(mwaa[1], {"conf": {"ingest_date": "2026-12-01"}, "dag_run_id": "sfn-run-1"})
    result = trigger.handler({"dag_id": "sales_pipeline", "conf": {"ingest_date": "2026-12-01"},
                              "dag_run_id": "sfn-run-1"}, lambda_context)
    assert result == {"dag_id": "sales_pipeline", "dag_run_id": "sfn-run-1", "state": "queued",
                      "already_triggered": False}


def test_an_eventbridge_target_input_starts_a_run_named_after_the_event(
        trigger, mwaa, lambda_context):
    # What ManagedAirflow.trigger_dag_target's input transformer sends for an ObjectAccepted.
    event = {"dag_id": "sales_pipeline",
             "conf": {"bucket": {"name": "lake"}, "object": {"key": "orders/a.csv"}},
             "dag_run_id": "event-8f1c2b9e-5a1d-4c4e-9a59-0d5f2b8e7c11"}
    _expect_post(mwaa[1], {"conf": event["conf"], "dag_run_id": event["dag_run_id"]})
    assert trigger.handler(event, lambda_context)["dag_run_id"] == event["dag_run_id"]


def test_a_redelivered_event_is_not_a_second_run(trigger, mwaa, lambda_context):
    mwaa[1].add_client_error(
        "invoke_rest_api", service_error_code="RestApiClientException",
        http_status_code=400, modeled_fields={
            "RestApiStatusCode": 409,
            "RestApiResponse": {"title": "Conflict", "status": 409,
                                "detail": "DAGRun with DAG ID: 'sales_pipeline' and DAGRun ID: "
                                          "'event-1' already exists"}},
    )
    result = trigger.handler({"dag_id": "sales_pipeline", "dag_run_id": "event-1"},
                             lambda_context)
    assert result["already_triggered"] is True
    assert result["dag_run_id"] == "event-1"


def test_airflow_refusing_the_run_fails_the_invocation(trigger, mwaa, lambda_context):
    mwaa[1].add_client_error(
        "invoke_rest_api", service_error_code="RestApiClientException", http_status_code=400,
        modeled_fields={"RestApiStatusCode": 404,
                        "RestApiResponse": {"title": "DAG not found", "status": 404}})
    with pytest.raises(trigger.TriggerFailedError, match="HTTP 404"):
        trigger.handler({"dag_id": "table_quality"}, lambda_context)


@pytest.mark.parametrize(("event", "message"), [
    ({"dag_id": "drop_everything"}, "may not be triggered here"),
    ({"conf": {}}, "dag_id must be an Airflow DAG id"),
    ({"dag_id": "sales pipeline"}, "dag_id must be an Airflow DAG id"),
    ({"dag_id": "sales_pipeline", "conf": ["a"]}, "conf must be a JSON object"),
    ({"dag_id": "sales_pipeline", "dag_run_id": "a/b"}, "dag_run_id must be"),
    (["sales_pipeline"], "must be a JSON object"),
])
def test_malformed_or_foreign_requests_never_reach_airflow(trigger, lambda_context, event,
                                                            message):
    with pytest.raises(trigger.TriggerRequestError, match=message):
        trigger.handler(event, lambda_context)


def test_the_body_leaves_out_what_the_request_does_not_give(load_handler):
    module = load_handler(HANDLER, "trigger")
    request = module.parse_request({"dag_id": "d", "conf": None}, frozenset({"d"}))
    assert module.request_body(request) == {"conf": {}}
