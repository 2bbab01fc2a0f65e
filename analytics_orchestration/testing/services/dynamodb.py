"""DynamoDB: tables (indexes, TTL, streams) and reading them back as plain Python values.

Streams are created but not delivered: DynamoDB event sources are unsupported.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate


def plain(value: Any) -> Any:
    """DynamoDB numbers as int/float rather than Decimal, so assertions read naturally."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set):
        return {plain(v) for v in value}
    return value


class DynamoDbService:
    """Tables of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::DynamoDB::Table": self.table, "AWS::DynamoDB::GlobalTable": self.table}

    def table_name(self, ref: str) -> str:
        registry = self.kernel.registry
        found = registry.lookup(ref, "AWS::DynamoDB::Table") or registry.lookup(
            ref, "AWS::DynamoDB::GlobalTable")
        return found.physical_id if found else ref

    def items(self, table: str) -> list[dict[str, Any]]:
        """Every item of a table, as plain Python values (numbers as int/float)."""
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        paginator = self.kernel.client("dynamodb").get_paginator("scan")
        items = []
        for page in paginator.paginate(TableName=self.table_name(table)):
            for item in page.get("Items", []):
                items.append(plain({k: deserializer.deserialize(v) for k, v in item.items()}))
        return items

    def table(self, stack: StackTemplate, logical_id: str,
              props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("TableName") or generated_name(stack.stack_name, logical_id, 255)
        billing = props.get("BillingMode") or (
            "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST")
        if props.get("WriteProvisionedThroughputSettings"):
            billing = "PROVISIONED"
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing,
        }
        throughput = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = props.get("ProvisionedThroughput", throughput)

        def index(spec: Mapping[str, Any], gsi: bool) -> dict[str, Any]:
            out = {k: spec[k] for k in ("IndexName", "KeySchema", "Projection") if k in spec}
            if gsi and billing == "PROVISIONED":
                out["ProvisionedThroughput"] = spec.get("ProvisionedThroughput", throughput)
            return out

        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [index(g, True)
                                                 for g in props["GlobalSecondaryIndexes"]]
        if props.get("LocalSecondaryIndexes"):
            request["LocalSecondaryIndexes"] = [index(g, False)
                                                for g in props["LocalSecondaryIndexes"]]
        stream = props.get("StreamSpecification") or {}
        if stream.get("StreamViewType"):
            request["StreamSpecification"] = {"StreamEnabled": True,
                                              "StreamViewType": stream["StreamViewType"]}
        ddb = self.kernel.client("dynamodb")
        description = ddb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        attrs = {"Arn": description["TableArn"], "TableId": description.get("TableId", name)}
        if description.get("LatestStreamArn"):
            attrs["StreamArn"] = description["LatestStreamArn"]
        return name, attrs
