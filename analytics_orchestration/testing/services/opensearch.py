"""OpenSearch: domains, direct-query data sources, Serverless collections, Ingestion pipelines.

Records, not search engines: no index answers a query offline. What is checked at deploy,
as the services would refuse it (each a ``ValueError`` naming the resource):

- ``AWS::OpenSearchService::Domain``: the name (3 to 28 lowercase letters, digits,
  hyphens), ``OpenSearch_<major>.<minor>``, zone awareness with one subnet per zone and a
  data node count that is a multiple of the zones, 3 or 5 dedicated masters, and
  fine-grained access control only with HTTPS, node-to-node encryption and encryption at
  rest ("Fine-grained access control in Amazon OpenSearch Service": its prerequisites);
- ``AWS::OpenSearch::DataSource``: a deployed domain running OpenSearch 2.13 or later, a
  name of 3 to 80 lowercase letters, digits and ``_``, and a deployed role that
  ``directquery.opensearchservice.amazonaws.com`` may assume;
- ``AWS::OpenSearchServerless::Collection``: an encryption policy naming the collection
  deployed before it (AWS: "No matching security policy of encryption type found");
  security, access policies and VPC endpoints are recorded with their JSON parsed;
- ``AWS::OSIS::Pipeline``: the name, 1 <= MinUnits <= MaxUnits <= 384, a body of at most
  100,000 characters that parses as YAML with a ``version`` and sub-pipelines each with a
  source and a sink, a role that ``osis-pipelines.amazonaws.com`` may assume, and a log
  group under ``/aws/vendedlogs/``.

What runs: :meth:`OpenSearchService.run_pipeline` does what an S3-source pipeline does
once, as its role (IAM enforced): it receives the notifications on the source queue
(EventBridge's Object Created events with ``notification_source: eventbridge``, S3's own
otherwise), reads each object (``GetObject``), splits it by the codec (newline, JSON lines),
adds ``@timestamp`` and stores the documents in the sink's index (the date pattern
resolved on the harness's clock), then deletes the messages. ``documents(index)`` reads
them back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import yaml

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import DeployedResource
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.services.iam_enforcement import Iam

__all__ = ["OpenSearchService", "PipelineRecord"]

_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9-]{2,27}")
_ENGINE = re.compile(r"OpenSearch_(\d+)\.(\d+)")
_DATA_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{2,79}")
_PIPELINE_NAME = re.compile(r"[a-z][a-z0-9-]{2,27}")
_COLLECTION_NAME = re.compile(r"[a-z][a-z0-9-]{2,31}")
_DATE_PATTERN = re.compile(r"%\{([^}]*)\}")
_JAVA_DATE = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"))
DIRECT_QUERY_SERVICE = "directquery.opensearchservice.amazonaws.com"
OSIS_SERVICE = "osis-pipelines.amazonaws.com"


@dataclass
class PipelineRecord:
    """A deployed pipeline: its properties and its parsed configuration."""

    name: str
    arn: str
    properties: dict[str, Any]
    configuration: dict[str, Any]
    runs: int = 0


@dataclass
class _Collection:
    name: str
    arn: str
    endpoint: str
    properties: dict[str, Any]


@dataclass
class _Indexes:
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class OpenSearchService:
    """OpenSearch resources of one harness (see the module)."""

    def __init__(self, kernel: Kernel, iam: Iam) -> None:
        self.kernel = kernel
        self.iam = iam
        self.domains: dict[str, dict[str, Any]] = {}
        """Domain name -> its properties."""
        self.data_sources: dict[str, dict[str, Any]] = {}
        """Data source ARN -> its properties."""
        self.collections: dict[str, _Collection] = {}
        self.security_policies: dict[tuple[str, str], Any] = {}
        """(type, name) -> the parsed policy."""
        self.access_policies: dict[str, Any] = {}
        """Name -> the parsed data access policy."""
        self.pipelines: dict[str, PipelineRecord] = {}
        self._indexes = _Indexes()

    # -- deploy -----------------------------------------------------------------------
    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::OpenSearchService::Domain": self._domain,
            "AWS::OpenSearch::DataSource": self._data_source,
            "AWS::OpenSearchServerless::SecurityPolicy": self._security_policy,
            "AWS::OpenSearchServerless::AccessPolicy": self._access_policy,
            "AWS::OpenSearchServerless::Collection": self._collection,
            "AWS::OpenSearchServerless::VpcEndpoint": self._vpc_endpoint,
            "AWS::OSIS::Pipeline": self._pipeline,
            "AWS::Logs::ResourcePolicy": self._log_resource_policy,
        }

    def _domain(self, stack: StackTemplate, logical_id: str,
                props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("DomainName") or logical_id.lower()[:28])
        problems = []
        if not _DOMAIN_NAME.fullmatch(name):
            problems.append(f"DomainName {name!r}: 3 to 28 lowercase letters, digits, hyphens")
        engine = str(props.get("EngineVersion", "OpenSearch_2.19"))
        if not _ENGINE.fullmatch(engine):
            problems.append(f"EngineVersion {engine!r} is not OpenSearch_<major>.<minor>")
        cluster = props.get("ClusterConfig", {})
        count = int(cluster.get("InstanceCount", 1))
        if _true(cluster.get("ZoneAwarenessEnabled")):
            zones = int(cluster.get("ZoneAwarenessConfig", {}).get("AvailabilityZoneCount", 2))
            subnets = props.get("VPCOptions", {}).get("SubnetIds")
            if count % zones:
                problems.append(f"InstanceCount {count} is not a multiple of {zones} zones")
            if subnets is not None and len(subnets) != zones:
                problems.append(f"{len(subnets)} subnets for {zones} zones (one per zone)")
        if _true(cluster.get("DedicatedMasterEnabled")) and int(
                cluster.get("DedicatedMasterCount", 3)) not in (3, 5):
            problems.append("DedicatedMasterCount must be 3 or 5")
        security = props.get("AdvancedSecurityOptions", {})
        if _true(security.get("Enabled")):
            needed = {
                "DomainEndpointOptions.EnforceHTTPS": props.get(
                    "DomainEndpointOptions", {}).get("EnforceHTTPS"),
                "NodeToNodeEncryptionOptions.Enabled": props.get(
                    "NodeToNodeEncryptionOptions", {}).get("Enabled"),
                "EncryptionAtRestOptions.Enabled": props.get(
                    "EncryptionAtRestOptions", {}).get("Enabled"),
            }
            problems += [f"fine-grained access control requires {key}" for key, value
                         in needed.items() if not _true(value)]
            if not _true(security.get("InternalUserDatabaseEnabled")) and not security.get(
                    "MasterUserOptions", {}).get("MasterUserARN"):
                problems.append("fine-grained access control without the internal user "
                                "database needs MasterUserOptions.MasterUserARN")
        _refuse(logical_id, problems)
        self.domains[name] = dict(props)
        arn = self.kernel.arn("es", f"domain/{name}")
        endpoint = f"vpc-{name}.{self.kernel.region}.es.amazonaws.com"
        return name, {"Arn": arn, "DomainArn": arn, "DomainEndpoint": endpoint, "Id": name,
                      "DomainEndpoints": {"vpc": endpoint}}

    def _data_source(self, stack: StackTemplate, logical_id: str,
                     props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        domain, name = str(props.get("DomainName", "")), str(props.get("Name", ""))
        problems = []
        if domain not in self.domains:
            problems.append(f"DomainName {domain!r} is not a deployed domain")
        else:
            match = _ENGINE.fullmatch(str(self.domains[domain].get("EngineVersion", "")))
            if match is None or (int(match[1]), int(match[2])) < (2, 13):
                problems.append(f"domain {domain} must run OpenSearch 2.13 or later for S3 "
                                "direct queries")
        if not _DATA_SOURCE_NAME.fullmatch(name):
            problems.append(f"Name {name!r}: 3 to 80 lowercase letters, digits or _")
        role_arn = props.get("DataSourceType", {}).get("S3GlueDataCatalog", {}).get("RoleArn")
        if not role_arn:
            problems.append("DataSourceType.S3GlueDataCatalog.RoleArn is required")
        else:
            problems += self._trust_problems(str(role_arn), DIRECT_QUERY_SERVICE)
        _refuse(logical_id, problems)
        arn = self.kernel.arn("es", f"domain/{domain}/datasource/{name}")
        self.data_sources[arn] = dict(props)
        return arn, {"Arn": arn, "Status": "ACTIVE"}

    def _security_policy(self, stack: StackTemplate, logical_id: str,
                         props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        kind, name = str(props.get("Type")), str(props.get("Name"))
        if kind not in ("encryption", "network"):
            _refuse(logical_id, [f"Type {kind!r} is not encryption or network"])
        self.security_policies[(kind, name)] = _json(logical_id, props.get("Policy"))
        return name, {}

    def _access_policy(self, stack: StackTemplate, logical_id: str,
                       props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("Name"))
        if props.get("Type") != "data":
            _refuse(logical_id, [f"Type {props.get('Type')!r} is not data"])
        self.access_policies[name] = _json(logical_id, props.get("Policy"))
        return name, {}

    def _collection(self, stack: StackTemplate, logical_id: str,
                    props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("Name"))
        problems = [] if _COLLECTION_NAME.fullmatch(name) else [
            f"Name {name!r}: 3 to 32 lowercase letters, digits, hyphens"]
        if not any(kind == "encryption" and _names_collection(policy, name)
                   for (kind, _), policy in self.security_policies.items()):
            problems.append(f"No matching security policy of encryption type found for "
                            f"collection name: {name}")
        _refuse(logical_id, problems)
        collection_id = _digest(stack.stack_name, name)[:20]
        arn = self.kernel.arn("aoss", f"collection/{collection_id}")
        endpoint = f"https://{collection_id}.{self.kernel.region}.aoss.amazonaws.com"
        self.collections[name] = _Collection(name, arn, endpoint, dict(props))
        return collection_id, {"Arn": arn, "Id": collection_id, "CollectionEndpoint": endpoint,
                               "DashboardEndpoint": f"{endpoint}/_dashboards"}

    def _vpc_endpoint(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        endpoint_id = f"vpce-{_digest(stack.stack_name, logical_id)[:17]}"
        return endpoint_id, {"Id": endpoint_id}

    def _pipeline(self, stack: StackTemplate, logical_id: str,
                  props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("PipelineName", ""))
        problems = []
        if not _PIPELINE_NAME.fullmatch(name):
            problems.append(f"PipelineName {name!r}: 3 to 28 lowercase letters, digits, "
                            "hyphens")
        low, high = int(props.get("MinUnits", 0)), int(props.get("MaxUnits", 0))
        if not 1 <= low <= high <= 384:
            problems.append(f"MinUnits {low} / MaxUnits {high}: need 1 <= MinUnits <= "
                            "MaxUnits <= 384")
        body = str(props.get("PipelineConfigurationBody", ""))
        configuration: dict[str, Any] = {}
        if not 1 <= len(body) <= 100_000:
            problems.append("PipelineConfigurationBody must be 1 to 100000 characters")
        try:
            loaded = yaml.safe_load(body)
        except yaml.YAMLError as error:
            problems.append(f"PipelineConfigurationBody is not YAML: {error}")
        else:
            if isinstance(loaded, dict):
                configuration = loaded
            problems += _configuration_problems(configuration)
        role = props.get("PipelineRoleArn")
        if role:
            problems += self._trust_problems(str(role), OSIS_SERVICE)
        logging = props.get("LogPublishingOptions", {})
        group = logging.get("CloudWatchLogDestination", {}).get("LogGroup")
        if _true(logging.get("IsLoggingEnabled")) and not str(group or "").startswith(
                "/aws/vendedlogs/"):
            problems.append(f"LogGroup {group!r} must start with /aws/vendedlogs/")
        _refuse(logical_id, problems)
        arn = self.kernel.arn("osis", f"pipeline/{name}")
        self.pipelines[name] = PipelineRecord(name, arn, dict(props), configuration)
        url = f"{name}-{_digest(arn)[:10]}.{self.kernel.region}.osis.amazonaws.com"
        return arn, {"PipelineArn": arn, "IngestEndpointUrls": [url],
                     "VpcEndpointService": f"com.amazonaws.osis.{self.kernel.region}.{name}",
                     "VpcEndpoints": []}

    def _log_resource_policy(self, stack: StackTemplate, logical_id: str,
                             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        _json(logical_id, props.get("PolicyDocument"))
        return str(props.get("PolicyName") or logical_id), {}

    def _trust_problems(self, role_arn: str, service: str) -> list[str]:
        role = self._deployed_role(role_arn)
        if role is None:
            return [f"role {role_arn} is not a deployed role"]
        trust = role.properties.get("AssumeRolePolicyDocument", {})
        for statement in trust.get("Statement", []):
            principals = statement.get("Principal", {}).get("Service", [])
            principals = [principals] if isinstance(principals, str) else principals
            if statement.get("Effect") == "Allow" and service in principals:
                return []
        return [f"role {role_arn} cannot be assumed by {service}"]

    def _deployed_role(self, role_arn: str) -> DeployedResource | None:
        for resource in self.kernel.registry.resources:
            if resource.resource_type == "AWS::IAM::Role" and resource.arn == role_arn:
                return resource
        return None

    # -- what a pipeline does -----------------------------------------------------------
    def run_pipeline(self, name: str) -> int:
        """Process what the S3 source's queue holds once, as the pipeline role; returns the
        number of documents written (see the module)."""
        record = self.pipelines[name]
        sub = next(value for key, value in record.configuration.items() if key != "version")
        source, sink = sub["source"]["s3"], sub["sink"][0]["opensearch"]
        role = self.iam.principal_for_role(source["aws"]["sts_role_arn"], name)
        queue_url = source["sqs"]["queue_url"]
        codec = next(iter(source.get("codec", {"newline": {}})))
        parse_json = any("parse_json" in step for step in sub.get("processor") or [])
        written = 0
        with self.iam.acting(role):
            sqs, s3 = self.kernel.client("sqs"), self.kernel.client("s3")
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", [])
            for message in messages:
                for bucket, key in _objects(json.loads(message["Body"]),
                                            source.get("notification_source", "s3")):
                    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
                    written += self._index(sink["index"], body, codec, parse_json)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        record.runs += 1
        return written

    def _index(self, index: str, body: str, codec: str, parse_json: bool) -> int:
        now = self.kernel.clock.now()
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        name = _DATE_PATTERN.sub(lambda m: now.strftime(_java_date(m[1])), index)
        if codec == "json":
            events = [item if isinstance(item, dict) else {"message": item}
                      for item in json.loads(body)]
        elif codec == "newline":
            events = [json.loads(line) if parse_json else {"message": line}
                      for line in body.splitlines() if line.strip()]
        else:
            raise NotImplementedError(f"codec {codec} is not emulated (newline and json are)")
        documents = self._indexes.documents.setdefault(name, [])
        documents.extend({**event, "@timestamp": stamp} for event in events)
        return len(events)

    def documents(self, index: str) -> list[dict[str, Any]]:
        """The documents a pipeline wrote to ``index`` (its resolved name)."""
        return list(self._indexes.documents.get(index, []))

    @property
    def indexes(self) -> list[str]:
        """The names of the indexes written, oldest first."""
        return list(self._indexes.documents)


def _objects(message: Mapping[str, Any], notification_source: str) -> list[tuple[str, str]]:
    """(bucket, key) of each object a notification names: EventBridge's Object Created
    event (``detail.bucket.name``, ``detail.object.key``) or S3's own ``Records``."""
    if notification_source == "eventbridge":
        if message.get("detail-type") != "Object Created":
            return []
        detail = message["detail"]
        return [(detail["bucket"]["name"], detail["object"]["key"])]
    return [(record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            for record in message.get("Records", [])]


def _digest(*parts: str) -> str:
    """A stable lowercase id from ``parts`` (``hash()`` differs between processes)."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def _java_date(pattern: str) -> str:
    for java, python in _JAVA_DATE:
        pattern = pattern.replace(java, python)
    return pattern


def _configuration_problems(configuration: Mapping[str, Any]) -> list[str]:
    if "version" not in configuration:
        return ["PipelineConfigurationBody has no version"]
    subs = {key: value for key, value in configuration.items() if key != "version"}
    if not subs:
        return ["PipelineConfigurationBody has no sub-pipeline"]
    problems = []
    for name, sub in subs.items():
        if not isinstance(sub, Mapping) or "source" not in sub or not sub.get("sink"):
            problems.append(f"sub-pipeline {name} needs a source and a sink")
    return problems


def _names_collection(policy: Any, name: str) -> bool:
    rules = policy.get("Rules", []) if isinstance(policy, Mapping) else []
    for rule in rules:
        for resource in rule.get("Resource", []):
            pattern = str(resource).removeprefix("collection/")
            if re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name):
                return True
    return False


def _json(logical_id: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"{logical_id}: the policy is not JSON: {error}") from error


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _refuse(logical_id: str, problems: list[str]) -> None:
    if problems:
        raise ValueError(f"{logical_id}: " + "; ".join(problems))
