"""Run the fidelity cases (``cases/*.json``) through the offline harness, as a user would.

Every case goes through the harness's public surface (``OfflineAws`` and boto3 clients on
it): EventBridge patterns are deployed as rules targeting a queue and fed with PutEvents,
SNS policies as filtered SQS subscriptions fed with Publish, transformers as rule targets,
intrinsic functions as Pass states of a state machine. Each case ends in one outcome:

- ``correct``: the harness did what AWS's material says AWS does;
- ``refused``: the harness raised an error naming an unsupported feature
  (:class:`~analytics_orchestration.testing.OfflineHarnessError` and subclasses);
- ``wrong``: anything else (a different result, or an unexpected error).

Nothing here imports harness internals, so the same runner scores any version of it
(``python -m tests.fidelity.score``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CASES = Path(__file__).parent / "cases"
REGION = "us-east-2"  # the region of the documentation's transformer example
ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region",
            "resources", "detail"}

Outcome = str


def load(name: str) -> Any:
    """The ``cases`` of one case file."""
    return json.loads((CASES / f"{name}.json").read_text())["cases"]


def _outcome(run: Callable[[], bool]) -> Outcome:
    from analytics_orchestration.testing import OfflineHarnessError

    try:
        return "correct" if run() else "wrong"
    except OfflineHarnessError:
        return "refused"
    except Exception:  # a crash where AWS answers is a wrong answer
        return "wrong"


class Fidelity:
    """One harness, every case: ``results[service][case_id] -> outcome``."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self._counter = 0
        self.results: dict[str, dict[str, Outcome]] = {}

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def _queue(self) -> tuple[str, str]:
        sqs = self.aws.client("sqs")
        url = sqs.create_queue(QueueName=self._name("fidelity"))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        # As on AWS, EventBridge and SNS may send to the queue only if its policy says so
        # (the harness enforces IAM).
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn,
            "Principal": {"Service": ["events.amazonaws.com", "sns.amazonaws.com"]}}]}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return url, arn

    def _messages(self, url: str) -> list[str]:
        self.aws.settle()
        response = self.aws.client("sqs").receive_message(QueueUrl=url,
                                                          MaxNumberOfMessages=10)
        return [m["Body"] for m in response.get("Messages", [])]

    # -- EventBridge ------------------------------------------------------------------
    @staticmethod
    def _entry(event: dict[str, Any], pattern: Any) -> tuple[dict[str, Any], Any]:
        """A PutEvents entry for ``event``; non-envelope events ride in ``detail`` (the
        pattern is nested the same way, which matches identically)."""
        if set(event) <= ENVELOPE and "detail" in event:
            entry: dict[str, Any] = {
                "Source": event.get("source", "fidelity"),
                "DetailType": event.get("detail-type", "fidelity"),
                "Detail": json.dumps(event["detail"]),
            }
            if "resources" in event:
                entry["Resources"] = event["resources"]
            if "time" in event:
                entry["Time"] = dt.datetime.strptime(
                    event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            return entry, pattern
        if isinstance(pattern, str):
            return ({"Source": "fidelity", "DetailType": "fidelity",
                     "Detail": json.dumps(event)}, '{"detail": ' + pattern + "}")
        return ({"Source": "fidelity", "DetailType": "fidelity",
                 "Detail": json.dumps(event)}, {"detail": pattern})

    def eventbridge_matching(self) -> dict[str, Outcome]:
        events = self.aws.client("events")
        out: dict[str, Outcome] = {}
        for case in load("eventbridge_matching"):
            def run(case: dict[str, Any] = case) -> bool:
                bus = events.create_event_bus(Name=self._name("bus"))["EventBusArn"]
                url, arn = self._queue()
                entry, pattern = self._entry(case["event"], case["pattern"])
                rule = self._name("rule")
                text = pattern if isinstance(pattern, str) else json.dumps(pattern)
                events.put_rule(Name=rule, EventBusName=bus, EventPattern=text)
                events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
                events.put_events(Entries=[{**entry, "EventBusName": bus}])
                return bool(self._messages(url)) == case["matches"]
            out[case["id"]] = _outcome(run)
        return out

    def eventbridge_validation(self) -> dict[str, Outcome]:
        from botocore.exceptions import ClientError

        events = self.aws.client("events")
        out: dict[str, Outcome] = {}
        for case in load("eventbridge_validation"):
            def run(case: dict[str, Any] = case) -> bool:
                try:
                    events.put_rule(Name=self._name("check"), EventPattern=case["pattern"])
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "InvalidEventPatternException":
                        raise
                    return not case["valid"]
                return bool(case["valid"])
            out[case["id"]] = _outcome(run)
        return out

    def eventbridge_input_transformer(self) -> dict[str, Outcome]:
        from botocore.exceptions import ClientError

        events = self.aws.client("events")
        out: dict[str, Outcome] = {}
        for case in load("eventbridge_input_transformer"):
            def run(case: dict[str, Any] = case) -> bool:
                url, arn = self._queue()
                events.put_rule(Name="example", EventPattern=json.dumps(
                    {"source": [case["event"]["source"]]}))
                current = events.list_targets_by_rule(Rule="example").get("Targets", [])
                if current:
                    events.remove_targets(Rule="example", Ids=[t["Id"] for t in current])
                expected = case["expected"]
                try:
                    events.put_targets(Rule="example", Targets=[{
                        "Id": "q", "Arn": arn, "InputTransformer": {
                            "InputPathsMap": case["input_paths_map"],
                            "InputTemplate": case["input_template"]}}])
                except ClientError:
                    return expected == {"rejected": True}
                if expected == {"rejected": True}:
                    return False
                entry, _ = self._entry(case["event"], {})
                events.put_events(Entries=[entry])
                bodies = self._messages(url)
                if len(bodies) != 1:
                    return False
                return _same(expected, bodies[0], case["event"])
            out[case["id"]] = _outcome(run)
        return out

    # -- SNS --------------------------------------------------------------------------
    def _subscription(self, policy: Any, scope: str) -> tuple[str, str]:
        sns = self.aws.client("sns")
        topic = sns.create_topic(Name=self._name("topic"))["TopicArn"]
        url, arn = self._queue()
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
            "RawMessageDelivery": "true", "FilterPolicyScope": scope,
            "FilterPolicy": json.dumps(policy)})
        return topic, url

    def sns_matching(self) -> dict[str, Outcome]:
        sns = self.aws.client("sns")
        out: dict[str, Outcome] = {}
        for case in load("sns_filter_policies")["matching"]:
            def run(case: dict[str, Any] = case) -> bool:
                scope = "MessageBody" if case["body"] is not None else "MessageAttributes"
                topic, url = self._subscription(case["policy"], scope)
                request: dict[str, Any] = {"TopicArn": topic, "Message": json.dumps(
                    case["body"]) if case["body"] is not None else "attributes"}
                if case["attributes"]:
                    request["MessageAttributes"] = {
                        name: {"DataType": a["Type"], "StringValue": str(a["Value"])}
                        for name, a in case["attributes"].items()}
                sns.publish(**request)
                return bool(self._messages(url)) == case["matches"]
            out[case["id"]] = _outcome(run)
        return out

    def sns_validation(self) -> dict[str, Outcome]:
        from botocore.exceptions import ClientError

        out: dict[str, Outcome] = {}
        for case in load("sns_filter_policies")["validation"]:
            def run(case: dict[str, Any] = case) -> bool:
                try:
                    self._subscription(case["policy"], case["scope"])
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "InvalidParameter":
                        raise
                    return not case["valid"]
                return bool(case["valid"])
            out[f"validation-{case['id']}"] = _outcome(run)
        return out

    # -- Step Functions ---------------------------------------------------------------
    def stepfunctions(self) -> dict[str, Outcome]:
        sfn = self.aws.client("stepfunctions")
        iam = self.aws.client("iam")
        role = iam.create_role(RoleName=self._name("role"),
                               AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        out: dict[str, Outcome] = {}
        for case in load("stepfunctions_intrinsics"):
            def run(case: dict[str, Any] = case) -> bool:
                states: dict[str, Any] = {}
                if case["assign"]:
                    states["Assign"] = {"Type": "Pass", "Assign": case["assign"],
                                        "Next": "Eval"}
                key = "Output" if case["query_language"] == "JSONata" else "Parameters"
                states["Eval"] = {"Type": "Pass", key: case["parameters"], "End": True}
                definition = {"QueryLanguage": case["query_language"],
                              "StartAt": next(iter(states)), "States": states}
                arn = sfn.create_state_machine(name=self._name("sm"), roleArn=role,
                                               definition=json.dumps(definition))[
                    "stateMachineArn"]
                execution = self.aws.start_execution(arn, case["input"])
                done = self.aws.wait_for_execution(execution)
                return bool(done.status == "SUCCEEDED" and done.output == case["output"])
            out[case["id"]] = _outcome(run)
        return out

    # -- API Gateway --------------------------------------------------------------------
    def apigateway_mapping_templates(self) -> dict[str, Outcome]:
        """Each template is a REST API's request template, its output the message the API's
        SQS integration sends (``#define`` captures it, ``$util.urlEncode`` form-encodes it
        for SendMessage); the request is the one the documentation's example describes."""
        aws = self.aws
        account, region = aws.account_id, aws.region
        out: dict[str, Outcome] = {}
        for case in load("apigateway_mapping_templates"):
            def run(case: dict[str, Any] = case) -> bool:
                name = self._name("fidelity-api")
                wrapped = ("#define($out)" + case["template"] + "#end"
                           'Action=SendMessage&MessageBody=$util.urlEncode("$out")')
                template = {"Resources": {
                    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}},
                    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": name}},
                    "Things": {"Type": "AWS::ApiGateway::Resource", "Properties": {
                        "RestApiId": {"Ref": "Api"}, "PathPart": "things",
                        "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]}}},
                    "Thing": {"Type": "AWS::ApiGateway::Resource", "Properties": {
                        "RestApiId": {"Ref": "Api"}, "PathPart": "{id}",
                        "ParentId": {"Ref": "Things"}}},
                    "Post": {"Type": "AWS::ApiGateway::Method", "Properties": {
                        "RestApiId": {"Ref": "Api"}, "ResourceId": {"Ref": "Thing"},
                        "HttpMethod": "POST", "AuthorizationType": "NONE",
                        "Integration": {
                            "Type": "AWS", "IntegrationHttpMethod": "POST",
                            "Uri": f"arn:aws:apigateway:{region}:sqs:path/{account}/{name}",
                            "RequestParameters": {"integration.request.header.Content-Type":
                                                  "'application/x-www-form-urlencoded'"},
                            "RequestTemplates": {"application/json": wrapped},
                            "PassthroughBehavior": "NEVER",
                            "IntegrationResponses": [{"StatusCode": "200"}]}}},
                    "Deployment": {"Type": "AWS::ApiGateway::Deployment",
                                   "DependsOn": ["Post"],
                                   "Properties": {"RestApiId": {"Ref": "Api"}}},
                    "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
                        "RestApiId": {"Ref": "Api"}, "StageName": "fidelity",
                        "DeploymentId": {"Ref": "Deployment"}}},
                }}
                aws.deploy(template=template, stack_name=name)
                answer = aws.http_request(name, "POST", case["path"], body=case["body"],
                                          headers=case["headers"] or None)
                url = aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
                bodies = self._messages(url)
                return bool(answer.status == 200 and len(bodies) == 1
                            and _same(case["output"], bodies[0], {}))
            out[case["id"]] = _outcome(run)
        return out

    # -- EventBridge API destinations ---------------------------------------------------
    def eventbridge_api_destinations(self) -> dict[str, Outcome]:
        """Each case deploys a rule on the default bus whose target is an API destination
        (its own connection, a role allowed to invoke it, a dead-letter queue), scripts the
        endpoint's answers, puts one event and reads back the calls and the DLQ."""
        from analytics_orchestration.testing import HttpAnswer

        aws = self.aws
        out: dict[str, Outcome] = {}
        for case in load("eventbridge_api_destinations"):
            def run(case: dict[str, Any] = case) -> bool:
                name = self._name("fidelity-dest")
                authorization = case.get("authorization") or {
                    "AuthorizationType": "API_KEY", "AuthParameters": {"ApiKeyAuthParameters": {
                        "ApiKeyName": "x-api-key", "ApiKeyValue": "k"}}}
                target: dict[str, Any] = {
                    "Id": "Hook", "Arn": {"Fn::GetAtt": ["Destination", "Arn"]},
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}}}
                if case.get("retry_policy"):
                    target["RetryPolicy"] = case["retry_policy"]
                template = {"Resources": {
                    "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}},
                    "Connection": {"Type": "AWS::Events::Connection",
                                   "Properties": {"Name": name, **authorization}},
                    "Destination": {"Type": "AWS::Events::ApiDestination", "Properties": {
                        "Name": name, "ConnectionArn": {"Fn::GetAtt": ["Connection", "Arn"]},
                        "InvocationEndpoint": "https://partner.example.com/hook",
                        "HttpMethod": "POST"}},
                    "Role": {"Type": "AWS::IAM::Role", "Properties": {
                        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"Service": "events.amazonaws.com"}}]},
                        "Policies": [{"PolicyName": "invoke", "PolicyDocument": {
                            "Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "events:InvokeApiDestination",
                                "Resource": {"Fn::GetAtt": ["Destination", "Arn"]}}]}}]}},
                    "DlqPolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                        "Queues": [{"Ref": "Dlq"}], "PolicyDocument": {
                            "Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "sqs:SendMessage",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Resource": {"Fn::GetAtt": ["Dlq", "Arn"]}}]}}},
                    "Rule": {"Type": "AWS::Events::Rule", "Properties": {
                        "EventPattern": {"source": [name]}, "Targets": [target]}},
                }}
                aws.deploy(template=template, stack_name=name)
                answers = [HttpAnswer(a[0], retry_after=a[1]) if isinstance(a, list) else a
                           for a in case["answers"]]
                aws.respond_from_api_destination(name, *answers)
                aws.put_events({"Source": name, "DetailType": "fidelity",
                                "Detail": {"case": case["id"]}})
                calls = aws.api_destination_calls(name)
                url = aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
                dead = len(self._messages(url))
                ok = len(calls) == case["calls"] and all(
                    c.method == "POST" and c.url == "https://partner.example.com/hook"
                    and c.json()["detail"] == {"case": case["id"]} for c in calls)
                if "dead_lettered" in case:
                    ok = ok and dead == int(case["dead_lettered"])
                for header, value in (case.get("headers") or {}).items():
                    ok = ok and all(c.headers.get(header) == value for c in calls)
                if case.get("content_length"):
                    ok = ok and all(c.headers["Content-Length"] == str(len(c.body.encode()))
                                    for c in calls)
                return bool(ok)
            out[case["id"]] = _outcome(run)
        return out

    # -- Lambda stream event sources -------------------------------------------------
    def lambda_stream_responses(self) -> dict[str, Outcome]:
        """Each case: its own stream, function and mapping, deployed from a template."""
        out: dict[str, Outcome] = {}
        for case in load("lambda_stream_responses"):
            def run(case: dict[str, Any] = case) -> bool:
                name = self._name("stream").replace("-", "")
                self.aws.deploy(template=_stream_case_template(case), stack_name=name)
                ids = {r.logical_id: r for r in self.aws.resources if r.stack_name == name}
                self.aws.put_records(str(ids["Stream"].arn),
                                     [("k", {"n": i}) for i in range(3)])
                events = [i.event for i in self.aws.invocations(ids["Function"].physical_id)]
                sequences = [[r["kinesis"]["sequenceNumber"] for r in e["Records"]]
                             for e in events]
                if not sequences:
                    return False
                first, rest = sequences[0], sequences[1:]
                expect = case["expect"]
                if expect == "success":
                    return len(first) == 3 and rest == []
                if expect == "retry-all":
                    return len(first) == 3 and rest[:1] == [first]
                if "retry-from" in expect:
                    return rest[:1] == [first[expect["retry-from"]:]]
                sizes = [len(s) for s in rest[:len(expect["split"])]]
                return len(first) == 3 and sizes == expect["split"]
            out[case["id"]] = _outcome(run)
        return out

    # -- Firehose dynamic partitioning ------------------------------------------------
    def firehose_dynamic_partitioning(self) -> dict[str, Outcome]:
        """A Direct PUT stream per case with the case's query and prefix: the record's
        object must land under the evaluated prefix."""
        aws = self.aws
        data = json.loads((CASES / "firehose_dynamic_partitioning.json").read_text())
        out: dict[str, Outcome] = {}
        for case in data["cases"]:
            def run(case: dict[str, Any] = case) -> bool:
                name = self._name("firehose")
                lake, stream, role = (f"{name.replace('-', '')}{part}"
                                      for part in ("Lake", "Stream", "Role"))
                template = {"Resources": {
                    lake: {"Type": "AWS::S3::Bucket", "Properties": {}},
                    role: {"Type": "AWS::IAM::Role", "Properties": {
                        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"Service": "firehose.amazonaws.com"}}]},
                        "Policies": [{"PolicyName": "write", "PolicyDocument": {
                            "Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "s3:PutObject",
                                "Resource": {"Fn::Sub": f"${{{lake}.Arn}}/*"}}]}}]}},
                    stream: {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {
                        "DeliveryStreamType": "DirectPut",
                        "ExtendedS3DestinationConfiguration": {
                            "BucketARN": {"Fn::GetAtt": [lake, "Arn"]},
                            "RoleARN": {"Fn::GetAtt": [role, "Arn"]},
                            "Prefix": case["prefix"],
                            "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 64},
                            "DynamicPartitioningConfiguration": {"Enabled": True},
                            "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                                "Type": "MetadataExtraction", "Parameters": [
                                    {"ParameterName": "MetadataExtractionQuery",
                                     "ParameterValue": case["query"]},
                                    {"ParameterName": "JsonParsingEngine",
                                     "ParameterValue": "JQ-1.6"}]}]}}}},
                }}
                aws.deploy(template=template, stack_name=name)
                aws.put_delivery_record(stream, data["record"])
                aws.flush_delivery_streams(aws.physical_id(stream))
                keys = aws.list_objects(aws.physical_id(lake))
                return len(keys) == 1 and keys[0].startswith(case["key_prefix"])
            out[case["id"]] = _outcome(run)
        return out

    def run_all(self) -> dict[str, dict[str, Outcome]]:
        """Every service's cases; ``results`` keyed by service, then case id."""
        self.results = {service: run(self) for service, run in SERVICES.items()}
        return self.results


def _same(expected: Any, body: str, event: dict[str, Any]) -> bool:
    """Compare a delivered body with the case's expectation.

    A string expectation is the exact text; anything else is compared as parsed JSON, with
    two markers for the predefined event variables: ``{"$detail": d}`` is the whole event
    (its ``detail`` equal to ``d``), ``{"$without": "detail"}`` the event without it.
    """
    if isinstance(expected, str):
        return body == expected
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return _match(expected, value, event)


def _match(expected: Any, value: Any, event: dict[str, Any]) -> bool:
    if isinstance(expected, dict) and set(expected) == {"$detail"}:
        return isinstance(value, dict) and value.get("detail") == expected["$detail"] and (
            value.get("source") == event["source"])
    if isinstance(expected, dict) and set(expected) == {"$without"}:
        return isinstance(value, dict) and expected["$without"] not in value and (
            value.get("source") == event["source"])
    if isinstance(expected, dict):
        return isinstance(value, dict) and set(value) == set(expected) and all(
            _match(v, value[k], event) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(value, list) and len(value) == len(expected) and all(
            _match(e, v, event) for e, v in zip(expected, value, strict=True))
    return bool(expected == value and type(expected) is type(value))


_STREAM_HANDLER = """
import json, os
calls = []
def handler(event, context):
    calls.append(1)
    if len(calls) > 1:
        return {"state": {}} if "window" in event else {}
    response = os.environ["RESPONSE"]
    if response == '"raise"':
        raise RuntimeError("the case's function error")
    for index, record in enumerate(event["Records"]):
        response = response.replace('"$rec%d"' % index,
                                    json.dumps(record["kinesis"]["sequenceNumber"]))
    return json.loads(response)
"""


def _stream_case_template(case: dict[str, Any]) -> dict[str, Any]:
    """A stream, a function answering with the case's response, a mapping between them."""
    mapping: dict[str, Any] = {
        "EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]},
        "FunctionName": {"Ref": "Function"}, "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10, "MaximumRetryAttempts": 1,
        "BisectBatchOnFunctionError": bool(case.get("bisect")),
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    if case.get("tumbling_window"):
        mapping["TumblingWindowInSeconds"] = case["tumbling_window"]
    return {"Resources": {
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": _STREAM_HANDLER},
            "Environment": {"Variables": {"RESPONSE": json.dumps(case["response"])}}}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping},
    }}


def score(results: dict[str, dict[str, Outcome]]) -> Iterator[tuple[str, int, int, int]]:
    """(service, correct, refused, total) per service."""
    for service, outcomes in results.items():
        values = list(outcomes.values())
        yield service, values.count("correct"), values.count("refused"), len(values)


SERVICES: dict[str, Callable[[Fidelity], dict[str, Outcome]]] = {
    "EventBridge patterns": Fidelity.eventbridge_matching,
    "EventBridge pattern validation": Fidelity.eventbridge_validation,
    "EventBridge input transformer": Fidelity.eventbridge_input_transformer,
    "SNS filter policies": lambda f: {**f.sns_matching(), **f.sns_validation()},
    "Step Functions": Fidelity.stepfunctions,
    "API Gateway mapping templates": Fidelity.apigateway_mapping_templates,
    "EventBridge API destinations": Fidelity.eventbridge_api_destinations,
    "Lambda stream event sources": Fidelity.lambda_stream_responses,
    "Firehose dynamic partitioning": Fidelity.firehose_dynamic_partitioning,
}
"""Each service's cases, in the order the docs list the scores."""


def case_ids() -> list[tuple[str, str]]:
    """(service, case id) of every case, read from the case files."""
    sns = load("sns_filter_policies")
    ids = {
        "EventBridge patterns": [c["id"] for c in load("eventbridge_matching")],
        "EventBridge pattern validation": [c["id"] for c in load("eventbridge_validation")],
        "EventBridge input transformer": [c["id"] for c in load(
            "eventbridge_input_transformer")],
        "SNS filter policies": [c["id"] for c in sns["matching"]]
        + [f"validation-{c['id']}" for c in sns["validation"]],
        "Step Functions": [c["id"] for c in load("stepfunctions_intrinsics")],
        "API Gateway mapping templates": [c["id"] for c in load(
            "apigateway_mapping_templates")],
        "EventBridge API destinations": [c["id"] for c in load(
            "eventbridge_api_destinations")],
        "Lambda stream event sources": [c["id"] for c in load("lambda_stream_responses")],
        "Firehose dynamic partitioning": [c["id"] for c in load(
            "firehose_dynamic_partitioning")],
    }
    return [(service, case_id) for service in SERVICES for case_id in ids[service]]


def score_line(service: str, correct: int, refused: int, total: int) -> str:
    """The line the harness docs publish for one service."""
    return f"{service}: {correct}/{total} correct, {refused} refused"
