"""The landing logs of ``AnalyticsZeroEtl``, queryable from OpenSearch in place and indexed.

Deployed on the offline harness, which records OpenSearch (no query engine runs) and checks
each resource as the service would (:mod:`analytics_orchestration.testing.services.opensearch`).
Proved here: the direct-query data source is on the deployed domain (OpenSearch 2.13 or
later) with a role only the direct-query service may assume for that domain, which reads
exactly the logs prefix; a log file landing under the prefix reaches the pipeline's queue
as EventBridge's Object Created event, one landing elsewhere does not; the pipeline, run
once as its role with IAM enforced, indexes the file's JSON lines into the day's index and
leaves its queue empty; and its configuration names the deployed queue, role and collection.
"""

from __future__ import annotations

import json

import pytest
import yaml

from stacks.zero_etl_stack import LANDING_LOGS_PREFIX, LOGS_COLLECTION, LOGS_DATA_SOURCE

STACK = "AnalyticsZeroEtl"
BUCKET = "LandingLogs"
QUEUE = "LandingLogsIndexed/Notifications"
LINES = [{"partner": "p-17", "file": "orders-2026-12-01.csv", "status": "RECEIVED"},
         {"partner": "p-17", "file": "orders-2026-12-01.csv", "status": "LOADED", "rows": 3}]


@pytest.fixture
def aws(offline_aws, example_stack):
    offline_aws.deploy(example_stack(STACK))
    return offline_aws


def _log_file(lines: list[dict[str, object]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def test_the_direct_query_data_source_reads_the_logs_in_place_on_the_domain(aws):
    [(arn, props)] = aws.opensearch.data_sources.items()
    domain = aws.resource("LandingLogsInPlace/Domain")
    assert props["DomainName"] == domain.physical_id
    assert arn == f"{domain.attributes['Arn']}/datasource/{LOGS_DATA_SOURCE}"
    assert aws.opensearch.domains[domain.physical_id]["EngineVersion"] == "OpenSearch_2.19"
    role = aws.resource("LandingLogsInPlace/Role")
    assert props["DataSourceType"]["S3GlueDataCatalog"]["RoleArn"] == role.arn
    [trust] = role.properties["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "directquery.opensearchservice.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == [
        domain.attributes["Arn"], f"{domain.attributes['Arn']}/*"]
    bucket_arn = aws.resource(BUCKET).arn
    policy = aws.resource("LandingLogsInPlace/Role/DefaultPolicy")
    reads = [s for s in policy.properties["PolicyDocument"]["Statement"]
             if s.get("Sid") == "ReadTheData"]
    assert reads[0]["Resource"] == f"{bucket_arn}/{LANDING_LOGS_PREFIX}*"
    database = aws.resource("LandingLogsInPlace/Database")
    assert database.properties["DatabaseInput"]["Name"] == LOGS_DATA_SOURCE


def test_a_log_file_under_the_prefix_notifies_the_pipeline_and_is_indexed(aws):
    aws.put_object(BUCKET, "partners/readme.txt", "not a log")
    assert aws.queue_messages(QUEUE) == []
    aws.put_object(BUCKET, f"{LANDING_LOGS_PREFIX}2026/12/01/landing.log", _log_file(LINES))
    [message] = aws.queue_messages(QUEUE)
    event = json.loads(message.body)
    assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created"
    assert event["detail"]["object"]["key"] == f"{LANDING_LOGS_PREFIX}2026/12/01/landing.log"
    assert event["detail"]["bucket"]["name"] == aws.physical_id(BUCKET)

    pipeline = aws.resource("LandingLogsIndexed").physical_id.rsplit("/", 1)[1]
    assert aws.opensearch.run_pipeline(pipeline) == len(LINES)
    day = aws.clock.now().strftime("%Y.%m.%d")
    documents = aws.opensearch.documents(f"landing-logs-{day}")
    assert [{k: v for k, v in d.items() if k != "@timestamp"} for d in documents] == LINES
    assert all(d["@timestamp"].startswith(aws.clock.now().strftime("%Y-%m-%dT")) for d in
               documents)
    assert aws.queue_messages(QUEUE, include_in_flight=True) == []
    assert aws.iam_denials() == []


def test_the_pipeline_configuration_names_the_deployed_queue_role_and_collection(aws):
    resource = aws.resource("LandingLogsIndexed")
    body = yaml.safe_load(resource.properties["PipelineConfigurationBody"])
    [sub] = [value for key, value in body.items() if key != "version"]
    source, sink = sub["source"]["s3"], sub["sink"][0]["opensearch"]
    role = aws.resource("LandingLogsIndexed/Role").arn
    assert source["sqs"]["queue_url"] == aws.physical_id(QUEUE)
    assert source["aws"]["sts_role_arn"] == sink["aws"]["sts_role_arn"] == role
    assert resource.properties["PipelineRoleArn"] == role
    assert sink["hosts"] == [aws.opensearch.collections[LOGS_COLLECTION].endpoint]
    assert sink["aws"]["serverless"] is True
    # The collection's data access policy of the pipeline names its role, on its indexes.
    [policy] = aws.opensearch.access_policies[
        aws.resource("LandingLogsIndexed/DataAccessPolicy").physical_id]
    assert policy["Principal"] == [role]
    assert policy["Rules"][0]["Resource"] == [f"index/{LOGS_COLLECTION}/landing-logs-*"]


def test_a_pipeline_whose_role_cannot_read_the_object_indexes_nothing(aws):
    """The run is as the pipeline role: an object outside its prefix is refused."""
    aws.put_object(BUCKET, f"{LANDING_LOGS_PREFIX}today.log", _log_file(LINES[:1]))
    pipeline = aws.resource("LandingLogsIndexed").physical_id.rsplit("/", 1)[1]
    # A message naming an object outside the prefix, as if the rule matched too much.
    aws.put_object(BUCKET, "partners/secret.log", _log_file(LINES[1:]))
    aws.client("sqs").send_message(QueueUrl=aws.physical_id(QUEUE), MessageBody=json.dumps({
        "source": "aws.s3", "detail-type": "Object Created",
        "detail": {"bucket": {"name": aws.physical_id(BUCKET)},
                   "object": {"key": "partners/secret.log"}}}))
    with pytest.raises(Exception, match="AccessDenied"):
        aws.opensearch.run_pipeline(pipeline)
    assert [d.kind for d in aws.iam_denials()] == ["denied"]
