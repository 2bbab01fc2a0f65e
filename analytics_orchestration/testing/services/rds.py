"""Aurora clusters deployed into moto's RDS, so that what references them resolves and
what AWS checks of them at creation is checked here too.

- ``AWS::RDS::DBClusterParameterGroup``: created in moto with its parameters (moto keeps
  them, ``DescribeDBClusterParameters`` answers them): the zero-ETL integration's checks
  read them back (:mod:`.redshift_data`).
- ``AWS::RDS::DBSubnetGroup``: recorded here (moto would look its subnets up in its EC2,
  where the harness's VPCs are only records); AWS refuses fewer than two subnets.
- ``AWS::RDS::DBCluster``: created in moto (engine, version, parameter group, encryption,
  RDS-managed master secret, IAM auth, Serverless v2 scaling); ``Ref`` is the cluster
  identifier (CloudFormation's generated lower-case name), and the attributes are
  CloudFormation's (``Endpoint.Address``, ``DBClusterArn``, ``MasterUserSecret.SecretArn``...).
  A cluster that names a parameter group or subnet group not deployed fails as AWS's
  ``DBClusterParameterGroupNotFound`` / ``DBSubnetGroupNotFoundFault`` would.
- ``AWS::RDS::DBInstance``: a cluster's instance, created in moto in its cluster.

Nothing runs SQL on the clusters: they exist to be referenced and inspected.
"""

from __future__ import annotations

from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate

__all__ = ["RdsService"]

#: CloudFormation property -> the CreateDBCluster parameter of the same meaning.
_CLUSTER_PARAMETERS = {
    **{name: name for name in (
        "Engine", "EngineVersion", "DatabaseName", "MasterUsername", "ManageMasterUserPassword",
        "StorageEncrypted", "KmsKeyId", "Port", "DeletionProtection", "BackupRetentionPeriod",
        "EnableCloudwatchLogsExports", "CopyTagsToSnapshot", "ServerlessV2ScalingConfiguration",
        "VpcSecurityGroupIds", "EnableIAMDatabaseAuthentication",
        "PerformanceInsightsRetentionPeriod")},
    "PerformanceInsightsEnabled": "EnablePerformanceInsights",
    "PerformanceInsightsKmsKeyId": "PerformanceInsightsKMSKeyId",
}


class RdsError(ValueError):
    """A resource RDS would refuse (the message names AWS's error code)."""


class RdsService:
    """Aurora clusters, instances and their parameter and subnet groups."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.subnet_groups: dict[str, list[str]] = {}
        """Subnet group name -> its subnet ids."""

    def resource_handlers(self) -> dict[str, Handler]:
        return {"AWS::RDS::DBClusterParameterGroup": self._parameter_group,
                "AWS::RDS::DBSubnetGroup": self._subnet_group,
                "AWS::RDS::DBCluster": self._cluster,
                "AWS::RDS::DBInstance": self._instance}

    def _client(self) -> Any:
        return self.kernel.client("rds")

    def _parameter_group(self, stack: StackTemplate, logical_id: str,
                         props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("DBClusterParameterGroupName")
                   or generated_name(stack.stack_name, logical_id, 255)).lower()
        client = self._client()
        client.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=name, DBParameterGroupFamily=str(props["Family"]),
            Description=str(props.get("Description") or logical_id))
        parameters = props.get("Parameters") or {}
        if parameters:
            client.modify_db_cluster_parameter_group(
                DBClusterParameterGroupName=name,
                Parameters=[{"ParameterName": key, "ParameterValue": str(value),
                             "ApplyMethod": "pending-reboot"}
                            for key, value in parameters.items()])
        return name, {}

    def _subnet_group(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("DBSubnetGroupName")
                   or generated_name(stack.stack_name, logical_id, 255)).lower()
        subnets = [str(s) for s in props.get("SubnetIds") or []]
        if len(subnets) < 2:
            raise RdsError(f"{logical_id}: DBSubnetGroupDoesNotCoverEnoughAZs: a DB subnet "
                           "group needs subnets in at least two Availability Zones")
        self.subnet_groups[name] = subnets
        return name, {}

    def parameters(self, group_name: str) -> dict[str, str]:
        """A deployed cluster parameter group's parameters, as moto answers them."""
        answer = self._client().describe_db_cluster_parameters(
            DBClusterParameterGroupName=group_name)
        return {p["ParameterName"]: str(p.get("ParameterValue"))
                for p in answer.get("Parameters", [])}

    def cluster(self, identifier: str) -> dict[str, Any]:
        """``DescribeDBClusters`` of one cluster (an identifier or an ARN)."""
        [found] = self._client().describe_db_clusters(
            DBClusterIdentifier=identifier)["DBClusters"]
        return dict(found)

    def _cluster(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        identifier = str(props.get("DBClusterIdentifier")
                         or generated_name(stack.stack_name, logical_id, 63)).lower()
        subnet_group = props.get("DBSubnetGroupName")
        if subnet_group is not None and str(subnet_group) not in self.subnet_groups:
            raise RdsError(f"{logical_id}: DBSubnetGroupNotFoundFault: {subnet_group}")
        request: dict[str, Any] = {"DBClusterIdentifier": identifier}
        for name, parameter in _CLUSTER_PARAMETERS.items():
            if props.get(name) is not None:
                request[parameter] = props[name]
        group = props.get("DBClusterParameterGroupName")
        if group is not None:
            request["DBClusterParameterGroupName"] = str(group)
            self.parameters(str(group))  # DBClusterParameterGroupNotFound, as AWS says
        secret = props.get("MasterUserSecret") or {}
        if secret.get("KmsKeyId"):
            request["MasterUserSecretKmsKeyId"] = secret["KmsKeyId"]
        created = self._client().create_db_cluster(**request)["DBCluster"]
        region, account = self.kernel.region, self.kernel.account_id
        arn = f"arn:aws:rds:{region}:{account}:cluster:{identifier}"
        host = f"{identifier}.cluster-abcdefghijkl.{region}.rds.amazonaws.com"
        port = int(props.get("Port") or (5432 if "postgres" in str(props["Engine"]) else 3306))
        attributes: dict[str, Any] = {
            "DBClusterArn": arn,
            "DBClusterResourceId": created.get("DbClusterResourceId", f"cluster-{identifier}"),
            "Endpoint.Address": host, "Endpoint.Port": str(port),
            "ReadEndpoint.Address": host.replace(".cluster-", ".cluster-ro-"),
        }
        managed = created.get("MasterUserSecret") or {}
        if managed.get("SecretArn"):
            attributes["MasterUserSecret.SecretArn"] = managed["SecretArn"]
        return identifier, attributes

    def _instance(self, stack: StackTemplate, logical_id: str,
                  props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        identifier = str(props.get("DBInstanceIdentifier")
                         or generated_name(stack.stack_name, logical_id, 63)).lower()
        request: dict[str, Any] = {"DBInstanceIdentifier": identifier,
                                   "DBInstanceClass": str(props["DBInstanceClass"]),
                                   "Engine": str(props["Engine"])}
        if props.get("DBClusterIdentifier") is not None:
            request["DBClusterIdentifier"] = str(props["DBClusterIdentifier"])
        if props.get("PubliclyAccessible") is not None:
            request["PubliclyAccessible"] = bool(props["PubliclyAccessible"])
        created = self._client().create_db_instance(**request)["DBInstance"]
        region, account = self.kernel.region, self.kernel.account_id
        return identifier, {
            "DBInstanceArn": f"arn:aws:rds:{region}:{account}:db:{identifier}",
            "DbiResourceId": created.get("DbiResourceId", f"db-{identifier}"),
            "Endpoint.Address": f"{identifier}.abcdefghijkl.{region}.rds.amazonaws.com",
            "Endpoint.Port": str(created.get("Endpoint", {}).get("Port", "")),
        }
