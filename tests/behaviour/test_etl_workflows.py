"""The three ETL example stacks, run end to end on the offline harness.

The jobs' fakes run the real job logic (``stacks/etl_assets``) against the emulated S3, so
data flows from the sample inputs to the curated zone, the warehouse table, the model
channels and the hourly aggregates. Each scenario also takes its failure path once: the
ledger row ends FAILED, the operations topic gets a FAILED notification and EtlRunFailed is
put on the bus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from analytics_orchestration import ETL_RUN_FAILED, ETL_RUN_SUCCEEDED
from analytics_orchestration.testing import JobFailed, OfflineAws
from stacks.etl_assets.batch import process_object
from stacks.etl_assets.emr import customer_features
from stacks.etl_assets.glue import sales_transforms
from stacks.etl_assets.sagemaker import preprocess
from stacks.etl_batch_stack import (
    BY_SENSOR_PREFIX,
    COMPLETION_MARKER,
    HOURLY_PREFIX,
    OPERATIONS_SOURCE,
    QUALITY_PREFIX,
    RAW_PREFIX,
    REPROCESS_OBJECT_REQUESTED,
    REPROCESS_REQUESTED,
)
from stacks.etl_glue_stack import (
    CURATED_SALES,
    CUSTOMER_FEATURES,
    MERGE_SQL,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    WAREHOUSE,
    WAREHOUSE_DATABASE,
    WAREHOUSE_DDL,
)

ORDERS_CSV = (
    "order_id,customer_id,order_date,amount,currency\n"
    "o-1,c-1,2026-11-24,19.90,EUR\n"
    "o-2,c-2,2026-11-24,5.00,EUR\n"
    "o-2,c-2,2026-11-24,5.00,EUR\n"       # duplicate: curated once
    "o-3,c-9,2026-11-25,42.00,eur\n"       # unknown customer: segment unknown
    "o-4,c-1,not-a-date,1.00,EUR\n"        # rejected by clean_order
)
CUSTOMERS = [{"customer_id": "c-1", "segment": "Retail", "country": "fr"},
             {"customer_id": "c-2", "segment": "pro", "country": "de"}]


# ------------------------------------------------------------------------------ helpers
def _read_lines(aws, bucket: str, prefix: str) -> list[dict[str, Any]]:
    records = []
    for key in aws.list_objects(bucket, prefix):
        records += [json.loads(line) for line in aws.get_object(bucket, key).decode().splitlines()
                    if line.strip()]
    return records


def _put_lines(aws, bucket: str, key: str, records: list[dict[str, Any]]) -> None:
    body = "".join(json.dumps(r) + "\n" for r in records)
    aws.client("s3").put_object(Bucket=aws.physical_id(bucket), Key=key, Body=body.encode())


def _notifications(aws, topic: str) -> Iterator[dict[str, Any]]:
    """Subscribe a fresh queue to ``topic``; the iterator drains it (messages as JSON)."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName=f"probe-{topic.split('/')[0]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    # As on AWS, SNS may write to the queue only if the queue's policy lets it (IAM is
    # enforced offline).
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": aws.physical_id(topic)}}}]})})
    sns.subscribe(TopicArn=aws.physical_id(topic), Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})

    def drain() -> Iterator[dict[str, Any]]:
        for message in aws.queue_messages(url):
            yield message.json()

    return drain  # type: ignore[return-value]


def _run_events(aws) -> list[dict[str, Any]]:
    return [e for e in aws.events_on() if e["source"] == ETL_RUN_SUCCEEDED.source]


def _only_execution(aws, machine: str):
    [execution] = aws.wait_for_executions(machine, count=1, timeout=30)
    return execution


# ------------------------------------------------------------------------------ scenario 1
def _glue_fakes(aws, fail: str | None = None) -> None:
    """Fakes of the Glue jobs, crawler and warehouse queries, running sales_transforms."""
    lake = aws.physical_id("AnalyticsGlueEtl/DataLake")

    def extract_orders(request: dict[str, Any]) -> None:
        args = request["Arguments"]
        text = aws.get_object(args["--source_bucket"], args["--source_key"]).decode()
        import csv
        import io

        rows = [sales_transforms.clean_order(row) for row in csv.DictReader(io.StringIO(text))]
        _put_lines(aws, "AnalyticsGlueEtl/DataLake", f"{RAW_ORDERS}part-0.jsonl",
                   [r for r in rows if r is not None])

    def extract_customers(request: dict[str, Any]) -> None:
        source = request["Arguments"]["--source_path"].removeprefix(f"s3://{lake}/")
        records = [sales_transforms.clean_customer(r) for r in
                   _read_lines(aws, lake, source)]
        _put_lines(aws, "AnalyticsGlueEtl/DataLake", f"{RAW_CUSTOMERS}part-0.jsonl",
                   [r for r in records if r is not None])

    def curate(request: dict[str, Any]) -> None:
        if fail == "CurateSales":
            raise JobFailed("AnalysisException: Path does not exist: s3://lake/raw/orders/")
        sales = sales_transforms.curate_sales(_read_lines(aws, lake, RAW_ORDERS),
                                              _read_lines(aws, lake, RAW_CUSTOMERS))
        by_day: dict[str, list[dict[str, Any]]] = {}
        for sale in sales:
            by_day.setdefault(sale["order_date"], []).append(sale)
        for day, records in by_day.items():
            _put_lines(aws, "AnalyticsGlueEtl/DataLake",
                       f"{CURATED_SALES}order_date={day}/part-0.jsonl", records)

    def warehouse(request: dict[str, Any]) -> None:
        sales = _read_lines(aws, lake, CURATED_SALES)
        if request["QueryString"].startswith("SELECT 1 /"):
            if not sales or any(float(s["amount"]) <= 0 for s in sales):
                raise JobFailed("DIVISION_BY_ZERO: Division by zero")
            return
        for total in sales_transforms.daily_totals(sales):
            _put_lines(aws, "AnalyticsGlueEtl/DataLake",
                       f"{WAREHOUSE}order_date={total['order_date']}/{total['segment']}.jsonl",
                       [total])

    def features(request: dict[str, Any]) -> dict[str, Any]:
        """The Spark job on EMR Serverless: its logic, on the arguments the workflow passed."""
        assert request["ApplicationId"] == aws.physical_id("AnalyticsGlueEtl/SparkApplication")
        assert request["ExecutionRoleArn"] == aws.arn("AnalyticsGlueEtl/SparkJobRole")
        spark = request["JobDriver"]["SparkSubmit"]
        assert spark["EntryPoint"].endswith(".py")
        curated, target = (a.removeprefix(f"s3://{lake}/") for a in spark["EntryPointArguments"])
        if fail == "BuildCustomerFeatures":
            raise JobFailed("Job failed, ExitCode: 1. Last few exceptions: OutOfMemoryError")
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for sale in _read_lines(aws, lake, curated):
            by_customer.setdefault(sale["customer_id"], []).append(sale)
        _put_lines(aws, "AnalyticsGlueEtl/DataLake", f"{target}part-00000.json",
                   [customer_features.customer_features(c, sales)
                    for c, sales in sorted(by_customer.items())])
        return {"TotalResourceUtilization": {"vCPUHour": 0.1, "memoryGBHour": 0.4}}

    for job, handler in (("ExtractOrders", extract_orders),
                         ("ExtractCustomers", extract_customers), ("CurateSales", curate)):
        aws.analytics.on("glue", aws.physical_id(f"AnalyticsGlueEtl/{job}"), handler)
    aws.analytics.on("athena", aws.physical_id("AnalyticsGlueEtl/Warehouse"), warehouse)
    aws.analytics.on("emr-serverless", "BuildCustomerFeatures", features)


#: The harness does not create Glue databases yet; the crawler and queries name it.
GLUE_IGNORED = {"AWS::Glue::Database"}


@pytest.fixture
def glue_etl(example_stack):
    with OfflineAws(ignore_resource_types=GLUE_IGNORED) as aws:
        aws.deploy(example_stack("AnalyticsGlueEtl"))
        _put_lines(aws, "AnalyticsGlueEtl/DataLake", "reference/customers/customers.jsonl",
                   CUSTOMERS)
        yield aws
        aws.check_lambda_errors()  # what the offline_aws fixture does at teardown


def test_glue_etl_turns_an_accepted_extract_into_curated_sales_and_warehouse_rows(glue_etl):
    aws = glue_etl
    _glue_fakes(aws)
    aws.put_object("Ingestion/LandingBucket", "incoming/orders/2026-11-25.csv", ORDERS_CSV)

    execution = _only_execution(aws, "SalesEtl/StateMachine")
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.input["key"] == "incoming/orders/2026-11-25.csv"
    entered = execution.states_entered()
    assert entered.index("CheckCuratedSales") < entered.index("UpdateCatalog") < entered.index(
        "LoadWarehouse")
    lake = aws.physical_id("DataLake")
    curated = _read_lines(aws, lake, CURATED_SALES)
    assert sorted((s["order_id"], s["segment"]) for s in curated) == [
        ("o-1", "retail"), ("o-2", "pro"), ("o-3", "unknown")]
    totals = {(t["order_date"], t["segment"]): t for t in _read_lines(aws, lake, WAREHOUSE)}
    assert totals["2026-11-24", "retail"]["revenue"] == "19.90"
    assert totals["2026-11-25", "unknown"]["orders"] == 1
    assert [r.name for r in aws.analytics.runs("glue-crawler")] == [
        aws.physical_id("CuratedCrawler")]
    # The Redshift warehouse: its DDL ran at deploy time, one statement at a time; the
    # workflow's MERGE ran after the lake's load, as one batch (one transaction).
    deploy_time, merge = aws.redshift_data.statements[:-1], aws.redshift_data.statements[-1]
    assert [s.sql for s in deploy_time] == WAREHOUSE_DDL
    assert merge.batch and merge.sqls == MERGE_SQL and merge.database == WAREHOUSE_DATABASE
    assert {s.workgroup_name for s in aws.redshift_data.statements} == set(
        aws.redshift_data.workgroups)  # the stack's one workgroup
    assert entered.index("LoadWarehouse") < entered.index("MergeIntoRedshift") < entered.index(
        "MergeIntoRedshiftSucceeded")
    assert execution.output["results"]["MergeIntoRedshift"]["Status"] == "FINISHED"
    # The last load step: Spark on EMR Serverless (.sync), after the warehouse load.
    assert entered.index("MergeIntoRedshiftSucceeded") < entered.index("BuildCustomerFeatures")
    [emr_run] = aws.analytics.runs("emr-serverless")
    features = {f["customer_id"]: f for f in _read_lines(aws, lake, CUSTOMER_FEATURES)}
    assert features["c-2"] == {
        "customer_id": "c-2", "segment": "pro", "orders": 1, "revenue": {"EUR": "5.00"},
        "first_order_date": "2026-11-24", "last_order_date": "2026-11-24"}
    assert sorted(features) == ["c-1", "c-2", "c-9"]
    result = execution.output["results"]["BuildCustomerFeatures"]
    assert (result["State"], result["JobRunId"]) == ("SUCCESS", emr_run.run_id)
    [row] = aws.table_items("SalesEtl/Ledger")
    assert row["status"] == "SUCCEEDED" and row["workflow"] == "sales-etl"
    assert json.loads(row["input"])["key"] == "incoming/orders/2026-11-25.csv"
    assert [e["detail-type"] for e in _run_events(aws)] == [ETL_RUN_SUCCEEDED.detail_type]


def test_glue_etl_failure_is_recorded_notified_and_loads_nothing(glue_etl):
    aws = glue_etl
    _glue_fakes(aws, fail="CurateSales")
    drain = _notifications(aws, "AnalyticsGlueEtl/OperationsTopic")
    aws.put_object("Ingestion/LandingBucket", "incoming/orders/2026-11-25.csv", ORDERS_CSV)

    execution = _only_execution(aws, "SalesEtl/StateMachine")
    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"
    assert "Path does not exist" in execution.cause
    assert "LoadWarehouse" not in execution.states_entered()
    assert aws.list_objects("DataLake", WAREHOUSE) == []
    assert aws.redshift_data.sql_run() == WAREHOUSE_DDL  # no MERGE ran
    [row] = aws.table_items("SalesEtl/Ledger")
    assert row["status"] == "FAILED" and row["error"] == "States.TaskFailed"
    [message] = list(drain())
    assert message["status"] == "FAILED" and message["workflow"] == "sales-etl"
    assert message["execution_arn"] == execution.arn
    [event] = _run_events(aws)
    assert event["detail-type"] == ETL_RUN_FAILED.detail_type
    assert event["detail"]["error"] == "States.TaskFailed"


def test_glue_etl_fails_the_run_when_the_spark_job_on_emr_serverless_fails(glue_etl):
    aws = glue_etl
    _glue_fakes(aws, fail="BuildCustomerFeatures")
    aws.put_object("Ingestion/LandingBucket", "incoming/orders/2026-11-25.csv", ORDERS_CSV)

    execution = _only_execution(aws, "SalesEtl/StateMachine")
    assert execution.status == "FAILED"
    assert execution.error == "States.TaskFailed"
    assert "OutOfMemoryError" in execution.cause
    entered = execution.states_entered()
    # The .sync task failed (no retry for a failed job run) straight into the failure path.
    assert entered[entered.index("BuildCustomerFeatures") + 1] == "RecordFailure"
    assert entered.count("BuildCustomerFeatures") == 1
    [emr_run] = aws.analytics.runs("emr-serverless")
    assert emr_run.failed
    assert aws.list_objects("DataLake", CUSTOMER_FEATURES) == []
    [row] = aws.table_items("SalesEtl/Ledger")
    assert row["status"] == "FAILED" and row["error"] == "States.TaskFailed"
    [event] = _run_events(aws)
    assert event["detail-type"] == ETL_RUN_FAILED.detail_type


def test_glue_etl_retries_a_busy_warehouse_and_fails_the_run_on_a_failed_merge(glue_etl):
    aws = glue_etl
    _glue_fakes(aws)
    aws.redshift_data.throttle_statements("MERGE INTO", times=1)
    aws.redshift_data.fail_statements("MERGE INTO", 'ERROR: Invalid input syntax for type '
                                      'date: "not-a-date"')
    aws.put_object("Ingestion/LandingBucket", "incoming/orders/2026-11-25.csv", ORDERS_CSV)

    execution = _only_execution(aws, "SalesEtl/StateMachine")
    assert execution.status == "FAILED"
    assert execution.error == "Redshift.StatementFailed"
    cause = json.loads(execution.cause)
    assert cause["Status"] == "FAILED" and "not-a-date" in cause["Error"]
    # The batch's statements: the stage was built, MERGE failed, the rest was rolled back.
    assert [s["Status"] for s in cause["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]
    refused = [c for c in aws.redshift_data.calls if c.operation == "BatchExecuteStatement"]
    assert len(refused) == 2  # too many active statements once, retried with backoff
    entered = execution.states_entered()
    assert entered.count("MergeIntoRedshift") == 1  # one state, its retrier retried
    assert "BuildCustomerFeatures" not in entered
    [row] = aws.table_items("SalesEtl/Ledger")
    assert row["status"] == "FAILED" and row["error"] == "Redshift.StatementFailed"
    [event] = _run_events(aws)
    assert event["detail-type"] == ETL_RUN_FAILED.detail_type


# ------------------------------------------------------------------------------ scenario 2
ACTIVITY = "customer_id,tenure_months,monthly_spend,support_calls,churned\n" + "".join(
    f"c-{i},{i % 48},{20 + i % 70}.5,{i % 7},{int(i % 5 == 0)}\n" for i in range(200))


def _ml_fakes(aws, auc: float) -> None:
    def process(request: dict[str, Any]) -> None:
        source = request["ProcessingInputs"][1]["S3Input"]["S3Uri"]
        bucket, prefix = source.removeprefix("s3://").split("/", 1)
        train, validation, _ = [], [], 0
        for key in aws.list_objects(bucket, prefix):
            t, v, _ = preprocess.split(aws.get_object(bucket, key).decode().splitlines(), 0.2)
            train, validation = train + t, validation + v
        for output in request["ProcessingOutputConfig"]["Outputs"]:
            rows = train if output["OutputName"] == "train" else validation
            out_bucket, out_prefix = output["S3Output"]["S3Uri"].removeprefix("s3://").split(
                "/", 1)
            aws.client("s3").put_object(Bucket=out_bucket, Key=f"{out_prefix}/data.csv",
                                        Body=preprocess.to_csv(rows).encode())

    def train(request: dict[str, Any]) -> dict[str, Any]:
        for channel in request["InputDataConfig"]:
            bucket, prefix = channel["DataSource"]["S3DataSource"]["S3Uri"].removeprefix(
                "s3://").split("/", 1)
            assert aws.list_objects(bucket, prefix), f"empty channel {channel['ChannelName']}"
        return {"FinalMetricDataList": [{"MetricName": "train:auc", "Value": 0.99},
                                        {"MetricName": "validation:auc", "Value": auc}]}

    aws.analytics.on("sagemaker-processing", "churn", process)
    aws.analytics.on("sagemaker-training", "churn", train)


@pytest.fixture
def ml_workflow(offline_aws, example_stack):
    aws = offline_aws.deploy(example_stack("AnalyticsMlWorkflow"))
    aws.put_object("ModelData", "activity/2026-11.csv", ACTIVITY)
    return aws


def test_ml_workflow_preprocesses_trains_and_deploys_a_good_model(ml_workflow):
    aws = ml_workflow
    _ml_fakes(aws, auc=0.86)
    execution = aws.wait_for_execution(aws.analytics.run_schedule("ChurnModel/Trigger0"))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.input["trigger"] == "schedule"
    assert len(aws.list_objects("ModelData", "prepared/train/")) == 1
    [endpoint] = aws.analytics.endpoints.values()
    assert endpoint["EndpointName"] == "churn-scoring"
    model = aws.analytics.models[execution.output["results"]["Train"]["TrainingJobName"]]
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/output/model.tar.gz")
    [row] = aws.table_items("ChurnModel/Ledger")
    assert row["status"] == "SUCCEEDED"


def test_ml_workflow_keeps_the_endpoint_when_the_model_is_too_weak(ml_workflow):
    aws = ml_workflow
    _ml_fakes(aws, auc=0.62)
    drain = _notifications(aws, "AnalyticsMlWorkflow/OperationsTopic")
    execution = aws.wait_for_execution(aws.analytics.run_schedule("ChurnModel/Trigger0"))

    assert execution.status == "FAILED"
    assert execution.error == "ModelEvaluationFailed"
    assert json.loads(execution.cause) == {"values": [0.62]}
    assert aws.analytics.endpoints == {} and aws.analytics.models == {}
    [row] = aws.table_items("ChurnModel/Ledger")
    assert row["status"] == "FAILED" and row["error"] == "ModelEvaluationFailed"
    assert [m["status"] for m in drain()] == ["FAILED"]


def test_ml_workflow_retrains_weekly_on_monday_at_six_paris_time(ml_workflow):
    import datetime as dt
    from zoneinfo import ZoneInfo

    aws = ml_workflow
    _ml_fakes(aws, auc=0.86)
    fired = aws.advance(days=14)

    # cron(0 6 ? * MON *) in Europe/Paris: exactly two Mondays in any 14 days.
    assert [f.name for f in fired] == [aws.physical_id("ChurnModel/Trigger0")] * 2
    executions = aws.wait_for_executions(count=2, timeout=30)
    assert [e.status for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    for firing, execution in zip(fired, executions, strict=True):
        local = firing.time.astimezone(ZoneInfo("Europe/Paris"))
        assert (local.weekday(), local.hour, local.minute) == (0, 6, 0)
        assert execution.input["trigger"] == "schedule"
        assert dt.datetime.fromisoformat(execution.input["scheduled_time"]) == firing.time
    assert fired[1].time - fired[0].time == dt.timedelta(days=7)


# ------------------------------------------------------------------------------ scenario 3
def _reading(sensor: str, minute: int, value: float) -> str:
    stamp = f"2026-11-24T0{minute % 3}:{minute:02d}:00Z"
    return json.dumps({"sensor_id": sensor, "timestamp": stamp, "value": value}) + "\n"


def _batch_fake(aws) -> None:
    def run(request: dict[str, Any]) -> None:
        parameters = request["Parameters"]
        code = process_object.main(["--bucket", parameters["bucket"], "--key",
                                    parameters["key"], "--output-prefix", HOURLY_PREFIX])
        if code != 0:
            raise JobFailed(f"Essential container in task exited (exit code {code})")

    [definition] = aws.analytics.deployed["batch-job-definition"]
    aws.analytics.on("batch", definition, run)


@pytest.fixture
def batch_processing(offline_aws, example_stack):
    aws = offline_aws.deploy(example_stack("AnalyticsBatchProcessing"))
    _batch_fake(aws)
    for device in range(20):
        body = "".join(_reading(f"s-{device}", m, m / 2) for m in range(0, 60, 7))
        aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                    Key=f"{RAW_PREFIX}device-{device:02d}.jsonl", Body=body)
    return aws


def test_batch_processing_aggregates_every_object_within_the_tolerance(batch_processing):
    aws = batch_processing
    aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                Key=f"{RAW_PREFIX}device-99.jsonl", Body=b"not json\n")
    execution = aws.wait_for_execution(aws.analytics.run_schedule("NightlyReadings/Trigger0"),
                                       timeout=30)

    assert execution.status == "SUCCEEDED", execution.cause
    runs = aws.analytics.runs("batch")
    assert len(runs) == 21 and sum(r.failed for r in runs) == 1  # 1 of 21 < 5 %
    outputs = aws.list_objects("Readings", HOURLY_PREFIX)
    assert len(outputs) == 20
    [first] = [k for k in outputs if "device-00" in k]
    aggregates = [json.loads(x) for x in aws.get_object("Readings", first).decode().splitlines()]
    assert {a["sensor_id"] for a in aggregates} == {"s-0"}
    assert sum(a["count"] for a in aggregates) == len(range(0, 60, 7))
    results = execution.output["results"]["ProcessObjects"]["ResultWriterDetails"]
    assert results["Key"].startswith("etl-map-results/")
    # Then the Lambda step (the library's record partitioner) re-partitions the night's
    # hourly aggregates by sensor: its output is the next state's input.
    entered = execution.states_entered()
    assert entered.index("ProcessObjects") < entered.index("PartitionBySensor") < entered.index(
        "RecordSuccess")
    summary = execution.output["results"]["PartitionBySensor"]
    assert (summary["sources"], summary["rejected"]) == (20, 0)
    assert summary["records"] == sum(
        len(aws.get_object("Readings", k).decode().splitlines()) for k in outputs)
    assert len(summary["partitions"]) == 20
    by_sensor = _read_lines(aws, aws.physical_id("Readings"), f"{BY_SENSOR_PREFIX}sensor_id=s-0/")
    assert sorted(json.dumps(a, sort_keys=True) for a in by_sensor) == sorted(
        json.dumps(a, sort_keys=True) for a in aggregates)
    assert aws.list_objects("Readings", f"{BY_SENSOR_PREFIX}_rejected/") == []
    # Last, the state of its own (EtlStep.chainable) marks the night complete with the run.
    assert entered.index("PartitionBySensor") < entered.index(
        "MarkPartitionsComplete") < entered.index("RecordSuccess")
    assert json.loads(aws.get_object("Readings", COMPLETION_MARKER)) == {
        "execution_arn": execution.arn}
    [row] = aws.table_items("NightlyReadings/Ledger")
    assert row["status"] == "SUCCEEDED"


def test_batch_processing_runs_nightly_at_one_utc(batch_processing):
    aws = batch_processing
    [firing] = aws.advance(days=1)  # cron(0 1 * * ? *) in UTC: once in any 24 hours

    assert (firing.time.hour, firing.time.minute) == (1, 0)
    [execution] = aws.wait_for_executions(count=1, timeout=30)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.input["scheduled_time"].startswith(firing.time.strftime("%Y-%m-%dT01:00"))
    assert len(aws.list_objects("Readings", HOURLY_PREFIX)) == 20


def test_batch_processing_fails_past_the_tolerated_percentage(batch_processing):
    aws = batch_processing
    drain = _notifications(aws, "AnalyticsBatchProcessing/OperationsTopic")
    for bad in ("device-97", "device-98"):
        aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                    Key=f"{RAW_PREFIX}{bad}.jsonl", Body=b'{"value": 1}\n')
    execution = aws.wait_for_execution(aws.analytics.run_schedule("NightlyReadings/Trigger0"),
                                       timeout=30)

    assert execution.status == "FAILED"
    assert execution.error == "States.ExceedToleratedFailureThreshold"
    [row] = aws.table_items("NightlyReadings/Ledger")
    assert row["status"] == "FAILED"
    assert row["error"] == "States.ExceedToleratedFailureThreshold"
    assert [m["status"] for m in drain()] == ["FAILED"]
    assert [e["detail-type"] for e in _run_events(aws)] == [ETL_RUN_FAILED.detail_type]
    assert "PartitionBySensor" not in execution.states_entered()
    assert aws.list_objects("Readings", BY_SENSOR_PREFIX) == []


def test_batch_processing_reruns_on_an_operations_request(batch_processing):
    """EtlTrigger.event: a request on the default bus starts the run, the event as input."""
    aws = batch_processing
    [event_id] = aws.put_events({
        "Source": OPERATIONS_SOURCE, "DetailType": REPROCESS_REQUESTED,
        "Detail": {"night": "2026-11-24", "requested_by": "ops"}})
    execution = _only_execution(aws, "NightlyReadings/StateMachine")

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.input["id"] == event_id
    assert execution.input["detail"] == {"night": "2026-11-24", "requested_by": "ops"}
    assert len(aws.analytics.runs("batch")) == 20
    assert len(aws.list_objects("Readings", f"{BY_SENSOR_PREFIX}sensor_id=")) == 20
    assert json.loads(aws.get_object("Readings", COMPLETION_MARKER)) == {
        "execution_arn": execution.arn}
    # Another source or detail-type starts nothing more.
    aws.put_events({"Source": "analytics-platform.shop", "DetailType": REPROCESS_REQUESTED,
                    "Detail": {}})
    assert len(aws.executions("NightlyReadings/StateMachine")) == 1


def _request_reprocessing(aws, key: str) -> str:
    [event_id] = aws.put_events({"Source": OPERATIONS_SOURCE,
                                 "DetailType": REPROCESS_OBJECT_REQUESTED,
                                 "Detail": {"key": key, "requested_by": "ops"}})
    return event_id


def test_object_reprocessing_checks_the_readings_then_runs_its_batch_job(batch_processing):
    """EtlStep.lambda_function (the stack's own check), then EtlStep.batch_job for the one
    object the request names; nothing else is processed."""
    aws = batch_processing
    _request_reprocessing(aws, f"{RAW_PREFIX}device-03.jsonl")
    execution = _only_execution(aws, "ObjectReprocessing/StateMachine")

    assert execution.status == "SUCCEEDED", execution.cause
    entered = execution.states_entered()
    assert entered.index("CheckReadings") < entered.index("ReprocessObject")
    report = execution.output["results"]["CheckReadings"]
    readings = len(range(0, 60, 7))
    assert (report["readings"], report["valid"], report["invalid"]) == (readings, readings, 0)
    assert json.loads(aws.get_object("Readings", f"{QUALITY_PREFIX}device-03.json")) == report
    [run] = aws.analytics.runs("batch")
    assert run.request["Parameters"] == {"bucket": aws.physical_id("Readings"),
                                         "key": f"{RAW_PREFIX}device-03.jsonl"}
    assert aws.list_objects("Readings", HOURLY_PREFIX) == [f"{HOURLY_PREFIX}device-03.hourly.jsonl"]
    assert execution.output["results"]["ReprocessObject"]["Status"] == "SUCCEEDED"
    [row] = aws.table_items("ObjectReprocessing/Ledger")
    assert row["status"] == "SUCCEEDED" and row["workflow"] == "object-reprocessing"
    assert aws.executions("NightlyReadings/StateMachine") == []


def test_object_reprocessing_refuses_an_object_without_a_valid_reading(batch_processing):
    aws = batch_processing
    aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                Key=f"{RAW_PREFIX}device-99.jsonl", Body=b"not json\n{}\n")
    _request_reprocessing(aws, f"{RAW_PREFIX}device-99.jsonl")
    execution = _only_execution(aws, "ObjectReprocessing/StateMachine")

    assert execution.status == "FAILED"
    assert "no valid reading among 2" in execution.cause
    assert "ReprocessObject" not in execution.states_entered()
    assert aws.analytics.runs("batch") == []
    assert json.loads(aws.get_object("Readings", f"{QUALITY_PREFIX}device-99.json"))[
        "invalid"] == 2
    [row] = aws.table_items("ObjectReprocessing/Ledger")
    assert row["status"] == "FAILED"
    # A request for a key outside the raw readings starts nothing.
    _request_reprocessing(aws, f"{HOURLY_PREFIX}device-00.hourly.jsonl")
    assert len(aws.executions("ObjectReprocessing/StateMachine")) == 1


def test_quality_scan_checks_every_raw_object_within_the_tolerance(batch_processing):
    """ItemProcessor.lambda_function: the weekly scan's Distributed Map invokes the check
    per raw object; one unusable object of 21 is within its 5 %."""
    aws = batch_processing
    aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                Key=f"{RAW_PREFIX}device-99.jsonl", Body=b"not json\n")
    execution = aws.wait_for_execution(aws.analytics.run_schedule("QualityScan/Trigger0"),
                                       timeout=30)

    assert execution.status == "SUCCEEDED", execution.cause
    assert "CheckObjects" in execution.states_entered()
    reports = aws.list_objects("Readings", QUALITY_PREFIX)
    assert len(reports) == 21
    bad = json.loads(aws.get_object("Readings", f"{QUALITY_PREFIX}device-99.json"))
    assert (bad["valid"], bad["invalid"]) == (0, 1)
    good = json.loads(aws.get_object("Readings", f"{QUALITY_PREFIX}device-00.json"))
    assert good["valid"] == good["readings"] == len(range(0, 60, 7))
    assert len(aws.invocations("ReadingsQuality")) == 21
    results = execution.output["results"]["CheckObjects"]["ResultWriterDetails"]
    assert results["Key"].startswith("quality-scan-results/")
    assert aws.analytics.runs("batch") == []  # the scan only checks


def test_quality_scan_fails_past_its_tolerance_and_notifies(batch_processing):
    aws = batch_processing
    drain = _notifications(aws, "AnalyticsBatchProcessing/OperationsTopic")
    for bad in ("device-97", "device-98"):
        aws.client("s3").put_object(Bucket=aws.physical_id("Readings"),
                                    Key=f"{RAW_PREFIX}{bad}.jsonl", Body=b"{}\n")
    execution = aws.wait_for_execution(aws.analytics.run_schedule("QualityScan/Trigger0"),
                                       timeout=30)

    assert execution.status == "FAILED"
    assert execution.error == "States.ExceedToleratedFailureThreshold"
    [message] = list(drain())
    assert (message["status"], message["workflow"]) == ("FAILED", "readings-quality-scan")
