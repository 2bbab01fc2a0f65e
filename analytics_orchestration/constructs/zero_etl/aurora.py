"""``AuroraToRedshift``: an Aurora PostgreSQL or MySQL cluster replicated into Redshift.

A zero-ETL integration (``AWS::RDS::Integration``) with what AWS requires of each side
("Getting started with Aurora zero-ETL integrations", Amazon Aurora User Guide;
"Configure authorization for your Amazon Redshift data warehouse", Amazon Redshift
Management Guide):

- **the source cluster**, created here (Aurora Serverless v2 with the library's defaults,
  :func:`~analytics_orchestration.constructs._foundation.databases.serverless_aurora_cluster`:
  private, encrypted with the given key, RDS-managed credentials in Secrets Manager, IAM
  authentication, deletion protection, backups, log exports, Performance Insights,
  enhanced monitoring) or brought by you. Its cluster parameter group holds the settings
  the integration needs (:data:`INTEGRATION_PARAMETERS`): enhanced binlog for MySQL,
  enhanced logical replication for PostgreSQL;
- **the namespace**: a resource policy authorizing the cluster as an inbound source;
- **the workgroup**: ``enable_case_sensitive_identifier=true``;
- **the target database**: ``CREATE DATABASE <db> FROM INTEGRATION '<id>'`` (PostgreSQL
  sources also name the source database: ``... DATABASE "<source db>"``) through the SQL
  runner, outside a transaction; ``DROP DATABASE <db> FORCE`` on delete. The database is
  read-only: Redshift keeps it in step with the cluster. Source tables need primary keys.

Regions: ``AWS::RDS::Integration`` is not in the CloudFormation schemas of ap-east-2,
ap-southeast-5, ap-southeast-6, ap-southeast-7, mx-central-1, us-gov-east-1 and
us-gov-west-1 (cfn-lint 1.58); the integration carries a cfn-lint exception for that check
(E3006) on that resource alone. Aurora PostgreSQL sources are offered in fewer Regions than
MySQL ones ("Supported Regions and Aurora DB engines for zero-ETL integrations", Amazon
Aurora User Guide): check the table there before deploying elsewhere than the main ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Names, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from .._foundation import acknowledge, is_unresolved
from .._foundation.databases import serverless_aurora_cluster
from .._foundation.keys import stack_key
from .._foundation.regions import available_in_some_regions_only
from .._foundation.validation import Items, Number, ProblemCollector, Text, validated_props
from ..warehouse import RedshiftSqlRunner, RedshiftTarget
from ..warehouse.sql import quote_identifier, quote_literal
from ._common import (
    Identifier,
    authorize_inbound_integration,
    integration_id,
    require_case_sensitive_identifiers,
)

__all__ = ["DEFAULT_ENGINE", "INTEGRATION_PARAMETERS", "MINIMUM_VERSIONS", "AuroraToRedshift"]

POSTGRESQL, MYSQL = "aurora-postgresql", "aurora-mysql"
#: The engine of a cluster created when none is given.
DEFAULT_ENGINE = rds.DatabaseClusterEngine.aurora_postgres(
    version=rds.AuroraPostgresEngineVersion.VER_16_13)
#: The oldest engine version each engine's zero-ETL integrations with Redshift accept
#: ("Supported Regions and Aurora DB engines for zero-ETL integrations", Amazon Aurora
#: User Guide, https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/
#: Concepts.Aurora_Fea_Regions_DB-eng.Feature.Zero-ETL.html: Aurora MySQL "Version 3.05.2
#: and higher", Aurora PostgreSQL "Version 16.4 and higher").
MINIMUM_VERSIONS: Mapping[str, tuple[int, ...]] = {MYSQL: (3, 5, 2), POSTGRESQL: (16, 4)}
#: The cluster parameters each engine's integration needs ("Configure DB cluster
#: parameters", Amazon Aurora User Guide). A brought cluster's parameter group must hold
#: them, and the cluster must be rebooted once they are set.
INTEGRATION_PARAMETERS: Mapping[str, Mapping[str, str]] = {
    MYSQL: {
        "aurora_enhanced_binlog": "1",
        "binlog_backup": "0",
        "binlog_format": "ROW",
        "binlog_replication_globaldb": "0",
        "binlog_row_image": "full",
        "binlog_row_metadata": "full",
    },
    POSTGRESQL: {
        "rds.logical_replication": "1",
        "aurora.enhanced_logical_replication": "1",
        "aurora.logical_replication_backup": "0",
        "aurora.logical_replication_globaldb": "0",
    },
}
#: Serverless v2 capacity defaults (ACUs): the smallest writer that stays awake (a
#: cluster with an integration cannot pause), growing to 4 ACUs under load.
DEFAULT_MIN_CAPACITY, DEFAULT_MAX_CAPACITY = 0.5, 4.0
_ENGINE_NAMES = {POSTGRESQL: "Aurora PostgreSQL", MYSQL: "Aurora MySQL"}
#: Aurora PostgreSQL's initial database name (CreateDBCluster ``DatabaseName``).
_POSTGRES_DATABASE = Text(max_length=63, pattern=r"[A-Za-z][A-Za-z0-9_]*",
                          meaning="a PostgreSQL database name Aurora can create (a letter, "
                                  "then letters, digits or _; at most 63)")
_CAPACITY = Number(0.5, 256, integer=False)
#: ``DataFilter`` of ``AWS::RDS::Integration`` (at most 25600 characters of its character
#: set), in the form "Data filtering for Aurora zero-ETL integrations" documents: filters
#: ``include:`` or ``exclude:`` a pattern, more patterns after commas.
_FILTER_PATTERN = r'[A-Za-z0-9_ "\\$*.?+/-]+'
_DATA_FILTER = Text(
    max_length=25600,
    pattern=(rf"\s*(include|exclude):{_FILTER_PATTERN}"
             rf"(,\s*((include|exclude):)?{_FILTER_PATTERN})*"),
    meaning="include: or exclude: filters of database.table patterns (PostgreSQL "
            "database.schema.table), comma-separated, e.g. 'include: orders.*.*'")
_SELECTION_FIELDS = ("availability_zones", "one_per_az", "subnet_filters", "subnet_group_name",
                     "subnets", "subnet_type")


def version_problem(engine_type: str, version: str) -> str | None:
    """Why ``version`` of ``engine_type`` cannot be a zero-ETL source, or None."""
    if engine_type == POSTGRESQL:
        match = re.fullmatch(r"(\d+)\.(\d+)", version)
    elif engine_type == MYSQL:
        match = re.fullmatch(r"\d+\.\d+\.mysql_aurora\.(\d+)\.(\d+)\.(\d+)", version)
    else:
        return "must be Aurora PostgreSQL or Aurora MySQL"
    minimum = MINIMUM_VERSIONS[engine_type]
    shown = ".".join(f"{part:02d}" if index == 1 and engine_type == MYSQL else str(part)
                     for index, part in enumerate(minimum))
    if match is None:
        return (f"{_ENGINE_NAMES[engine_type]} {version} is not a version zero-ETL "
                f"integrations accept ({shown} or later; Limitless clusters cannot be sources)")
    if tuple(int(part) for part in match.groups()) < minimum:
        return (f"{_ENGINE_NAMES[engine_type]} {version} is too old for a zero-ETL "
                f"integration: use {shown} or later")
    return None


@validated_props({"database": Identifier(),
                  "source_database": Identifier(),
                  "data_filter": _DATA_FILTER,
                  "min_capacity": _CAPACITY,
                  "max_capacity": _CAPACITY,
                  "database_roles": Items(min_items=0, unique=True,
                                          each=Text(max_length=127))})
class AuroraToRedshift(Construct):
    """An Aurora cluster (created or brought) replicated into the Redshift database ``database``.

    :param namespace: the target Redshift Serverless namespace (always encrypted: with its
        ``KmsKeyId``, else an AWS-owned key). Its resource policy authorizes the cluster.
    :param workgroup: the namespace's workgroup (case-sensitive identifiers are turned on).
    :param target: where ``CREATE DATABASE`` runs (a database of ``workgroup``).
    :param database: the replicated database's name in Redshift.
    :param engine: the cluster's engine and version: Aurora PostgreSQL 16.4 or later, or
        Aurora MySQL 3.05.2 or later. Default: the brought cluster's engine, or for a created
        cluster :data:`DEFAULT_ENGINE` (Aurora PostgreSQL 16.13).
    :param source_database: PostgreSQL only, and required there: the Aurora database the
        integration replicates (created in a new cluster as its initial database). MySQL
        integrations replicate every database of the cluster (narrow with
        ``data_filter``). Default: None.
    :param cluster: a cluster you bring instead of creating one. Its cluster parameter
        group must hold :data:`INTEGRATION_PARAMETERS` for its engine, and the cluster
        must have been rebooted after they were set (the integration fails otherwise);
        give ``engine`` when the cluster's is unknown (``from_attributes``). Default: None,
        a new Aurora Serverless v2 cluster in ``vpc``.
    :param vpc: the VPC of a created cluster (for example ``ServerlessAnalytics``'s
        ``vpc``). Required without ``cluster``, refused with it.
    :param vpc_subnets: the created cluster's subnets, private ones only (at least two
        Availability Zones). Default: the VPC's isolated subnets if it has any, else its
        private subnets with egress.
    :param encryption_key: encrypts the created cluster's storage, its managed master
        secret, Performance Insights, and the runner's logs. Default: the stack's shared key.
    :param min_capacity: a created cluster's minimum Aurora capacity units (0.5 to 256).
        Default: 0.5.
    :param max_capacity: a created cluster's maximum ACUs (0.5 to 256). Default: 4.
    :param data_filter: the integration's ``DataFilter`` (``include: db.table``,
        ``exclude: ...``; PostgreSQL ``db.schema.table``). Default: None, every table.
    :param database_roles: the runner's database roles (``CREATE DATABASE`` needs a
        superuser or CREATEDB). Default: ``["sys:superuser"]``.

    Attributes: ``cluster`` (the source), ``integration`` (``rds.CfnIntegration``),
    ``create_sql``, ``drop_sql``, ``runner``, and for a created cluster
    ``parameter_group``; allow clients in with ``cluster.connections.allow_default_port_from``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        namespace: redshift.CfnNamespace,
        workgroup: redshift.CfnWorkgroup,
        target: RedshiftTarget,
        database: str,
        engine: rds.IClusterEngine | None = None,
        source_database: str | None = None,
        cluster: rds.IDatabaseCluster | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        min_capacity: float | None = None,
        max_capacity: float | None = None,
        data_filter: str | None = None,
        database_roles: Sequence[str] = ("sys:superuser",),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"AuroraToRedshift {self.node.path}")
        engine = engine or (cluster.engine if cluster is not None else DEFAULT_ENGINE)
        engine_type = self._check_engine(problems, engine, cluster)
        self._check_source_database(problems, engine_type, source_database, cluster)
        subnets = self._check_network(problems, cluster, vpc, vpc_subnets, min_capacity,
                                      max_capacity)
        self._check_target(problems, namespace, workgroup, target)
        problems.raise_if_any()
        assert engine is not None and engine_type is not None
        self.engine_type = engine_type
        """``aurora-postgresql`` or ``aurora-mysql``."""
        key = encryption_key or stack_key(self)
        self.parameter_group: rds.IParameterGroup | None = None
        if cluster is None:
            assert vpc is not None and subnets is not None
            created = self._create_cluster(
                engine=engine, vpc=vpc, vpc_subnets=subnets, encryption_key=key,
                min_capacity=DEFAULT_MIN_CAPACITY if min_capacity is None else min_capacity,
                max_capacity=DEFAULT_MAX_CAPACITY if max_capacity is None else max_capacity,
                source_database=source_database)
            found = self.node.try_find_child("ClusterParameters")
            self.parameter_group = found if isinstance(found, rds.ParameterGroup) else None
            cluster = created
        self.cluster: rds.IDatabaseCluster = cluster
        authorize_inbound_integration(namespace, cluster.cluster_arn)
        self.integration = rds.CfnIntegration(
            self, "Integration", source_arn=cluster.cluster_arn,
            target_arn=namespace.attr_namespace_namespace_arn,
            integration_name=Names.unique_resource_name(self, max_length=63, separator=""),
            data_filter=data_filter,
            description=f"{_ENGINE_NAMES[engine_type]} {self.cluster.node.path} into "
                        f"Redshift database {database}"[:1000],
        )
        # The integration needs the cluster's writer running with its parameters and the
        # workgroup's case sensitivity in place (the cluster and the namespace, with its
        # policy, it references already).
        for instance in cluster.node.find_all():
            if isinstance(instance, rds.CfnDBInstance):
                self.integration.node.add_dependency(instance)
        self.integration.node.add_dependency(workgroup)
        available_in_some_regions_only(self.integration)
        self.create_sql = [self._create_database_sql(database, source_database)]
        self.drop_sql = [f"DROP DATABASE {quote_identifier(database)} FORCE"]
        self.runner = RedshiftSqlRunner(
            self, "Sql", target=target, create_sql=self.create_sql, drop_sql=self.drop_sql,
            encryption_key=key, database_roles=database_roles,
        )

    # ----------------------------------------------------------------- extension points

    def _create_cluster(self, *, engine: rds.IClusterEngine, vpc: ec2.IVpc,
                        vpc_subnets: ec2.SubnetSelection, encryption_key: kms.IKey,
                        min_capacity: float, max_capacity: float,
                        source_database: str | None) -> rds.DatabaseCluster:
        """The source cluster, with the integration's parameters. Override to change it
        (keep :data:`INTEGRATION_PARAMETERS` in its parameter group)."""
        cluster = serverless_aurora_cluster(
            self, "Cluster", engine=engine, vpc=vpc, vpc_subnets=vpc_subnets,
            encryption_key=encryption_key,
            parameters=INTEGRATION_PARAMETERS[engine.engine_type],
            min_capacity=min_capacity, max_capacity=max_capacity,
            default_database_name=source_database,
        )
        cfn_cluster = cluster.node.default_child
        assert isinstance(cfn_cluster, rds.CfnDBCluster)
        if engine.engine_type == MYSQL:
            acknowledge(
                cfn_cluster, "AwsSolutions::AwsSolutions-RDS14",
                "Backtrack is not supported with binary log replication, and the zero-ETL "
                "integration reads this cluster's enhanced binlog; recovery is by "
                "point-in-time restore (7 days) and the stack's AWS Backup plan.")
            # cdk-nag flags Aurora's 3306 only (not PostgreSQL's 5432).
            acknowledge(
                cfn_cluster, "AwsSolutions::AwsSolutions-RDS11",
                "The engine's default port: the cluster is in private subnets behind a "
                "security group with no inbound rule until a client is allowed in, so a "
                "different port would hide nothing and break every client's default.")
        return cluster

    def _create_database_sql(self, database: str, source_database: str | None) -> str:
        """``CREATE DATABASE ... FROM INTEGRATION`` (not in a transaction)."""
        sql = (f"CREATE DATABASE {quote_identifier(database)} FROM INTEGRATION "
               f"{quote_literal(integration_id(self.integration.attr_integration_arn))}")
        if self.engine_type == POSTGRESQL:
            assert source_database is not None
            sql += f" DATABASE {quote_identifier(source_database)}"
        return sql

    # ----------------------------------------------------------------- checks

    @staticmethod
    def _check_engine(problems: ProblemCollector, engine: rds.IClusterEngine | None,
                      cluster: rds.IDatabaseCluster | None) -> str | None:
        if engine is None:
            problems.add("engine", None, "the brought cluster's engine is unknown: give "
                         "engine (Aurora PostgreSQL 16.4+ or Aurora MySQL 3.05.2+)")
            return None
        engine_type = engine.engine_type
        if engine_type not in MINIMUM_VERSIONS:
            problems.add("engine", engine_type, "must be Aurora PostgreSQL "
                         "(DatabaseClusterEngine.aurora_postgres) or Aurora MySQL "
                         "(DatabaseClusterEngine.aurora_mysql)")
            return None
        version = engine.engine_version.full_version if engine.engine_version else None
        if version is None:
            if cluster is None:
                problems.add("engine", engine_type, "give the engine a version (the "
                             "parameter group's family and the zero-ETL check need it)")
            return engine_type
        if not is_unresolved(version):
            found = version_problem(engine_type, version)
            if found is not None:
                problems.add("engine", version, found)
        return engine_type

    @staticmethod
    def _check_source_database(problems: ProblemCollector, engine_type: str | None,
                               source_database: str | None,
                               cluster: rds.IDatabaseCluster | None) -> None:
        if engine_type == POSTGRESQL and source_database is None:
            problems.add("source_database", None, "a PostgreSQL integration replicates one "
                         "database: name it")
        elif engine_type == MYSQL and source_database is not None:
            problems.add("source_database", source_database, "only for PostgreSQL: a MySQL "
                         "integration replicates every database (narrow with data_filter)")
        elif engine_type == POSTGRESQL and cluster is None and source_database is not None:
            found = _POSTGRES_DATABASE.problem(source_database)
            if found is not None:
                problems.add("source_database", source_database, found)

    @staticmethod
    def _check_network(problems: ProblemCollector, cluster: rds.IDatabaseCluster | None,
                       vpc: ec2.IVpc | None, vpc_subnets: ec2.SubnetSelection | None,
                       min_capacity: float | None,
                       max_capacity: float | None) -> ec2.SubnetSelection | None:
        if cluster is not None:
            for prop, value in (("vpc", vpc), ("vpc_subnets", vpc_subnets),
                                ("min_capacity", min_capacity),
                                ("max_capacity", max_capacity)):
                if value is not None:
                    problems.add(prop, value, "only for a created cluster: the brought "
                                 "cluster keeps its own")
            return None
        low = DEFAULT_MIN_CAPACITY if min_capacity is None else min_capacity
        high = DEFAULT_MAX_CAPACITY if max_capacity is None else max_capacity
        for prop, value in (("min_capacity", low), ("max_capacity", high)):
            if not is_unresolved(value) and float(value * 2) != int(value * 2):
                problems.add(prop, value, "must be a multiple of 0.5 ACU")
        if not is_unresolved([low, high]) and low > high:
            problems.add("max_capacity", high, f"must be at least min_capacity ({low})")
        if vpc is None:
            problems.add("vpc", None, "give the VPC of the cluster to create (for example "
                         "ServerlessAnalytics.vpc), or bring a cluster")
            return None
        selection = vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED if vpc.isolated_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS)
        if selection.subnet_type is ec2.SubnetType.PUBLIC:
            problems.add("vpc_subnets", "PUBLIC", "the cluster goes in private subnets only")
            return None
        try:
            selected = vpc.select_subnets(**{
                name: getattr(selection, name) for name in _SELECTION_FIELDS
                if getattr(selection, name) is not None})
        except RuntimeError as error:  # jsii's error for a selection the VPC cannot meet
            problems.add("vpc_subnets", selection, f"selects no subnets of vpc: {error}")
            return None
        public = {subnet.subnet_id for subnet in vpc.public_subnets}
        if any(subnet.subnet_id in public for subnet in selected.subnets):
            problems.add("vpc_subnets", [s.subnet_id for s in selected.subnets],
                         "the cluster goes in private subnets only")
        if len(set(selected.availability_zones)) < 2:
            problems.add("vpc_subnets", selected.availability_zones,
                         "an Aurora cluster needs subnets in at least two Availability Zones")
        return selection

    @staticmethod
    def _check_target(problems: ProblemCollector, namespace: redshift.CfnNamespace,
                      workgroup: redshift.CfnWorkgroup, target: RedshiftTarget) -> None:
        try:
            require_case_sensitive_identifiers(workgroup)
        except ValueError as error:
            problems.add("workgroup", workgroup.node.path, str(error))
        stack = Stack.of(workgroup)
        names = [stack.resolve(name) for name in (
            workgroup.attr_workgroup_workgroup_name, workgroup.workgroup_name)]
        if stack.resolve(target.workgroup_name) not in names:
            problems.add("target", target.workgroup_name, "must be a database of workgroup "
                         "(RedshiftTarget.of_workgroup(workgroup, database=...))")
        namespaces = [stack.resolve(name) for name in (
            namespace.namespace_name, namespace.ref, namespace.attr_namespace_namespace_name)]
        if stack.resolve(workgroup.namespace_name) not in namespaces:
            problems.add("workgroup", workgroup.node.path, "must be a workgroup of namespace "
                         f"{namespace.node.path} (its NamespaceName)")
