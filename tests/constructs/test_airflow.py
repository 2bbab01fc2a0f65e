"""ManagedAirflow: the MWAA environment, its network, code deployment, role and alarms."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_redshiftserverless as redshiftserverless
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from analytics_orchestration import (
    AirflowLogLevel,
    AirflowVersion,
    ConfigurationError,
    EnvironmentClass,
    ManagedAirflow,
    WebserverAccess,
)
from analytics_orchestration.constructs.airflow._code import custom_resource
from analytics_orchestration.constructs.airflow._requirements import constraint_problems
from analytics_orchestration.constructs.airflow.environment import INTERFACE_ENDPOINTS
from tests.support import new_stack

CONSTRAINT = ('--constraint "https://raw.githubusercontent.com/apache/airflow/'
              'constraints-2.10.3/constraints-3.11.txt"\n')


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("airflow")
    (root / "dags").mkdir()
    (root / "dags" / "pipeline.py").write_text("x = 1\n")
    (root / "requirements.txt").write_text(CONSTRAINT + "apache-airflow-providers-amazon\n")
    (root / "startup.sh").write_text("#!/bin/sh\nexport A=1\n")
    (root / "old.txt").write_text("apache-airflow-providers-amazon\n")
    return {"dags_folder": root / "dags", "requirements_file": root / "requirements.txt",
            "startup_script": root / "startup.sh", "old": root / "old.txt"}


@pytest.fixture(scope="module")
def built(code):
    stack = new_stack()
    airflow = ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"],
                             requirements_file=code["requirements_file"],
                             startup_script=code["startup_script"],
                             triggerable_dags=["pipeline"])
    return stack, airflow, Template.from_stack(stack)


def _environment(template: Template) -> dict:
    (environment,) = template.find_resources("AWS::MWAA::Environment").values()
    return environment


def test_defaults_private_graceful_two_schedulers_cmk(built):
    _, airflow, template = built
    template.has_resource_properties("AWS::MWAA::Environment", {
        "AirflowVersion": "2.10.3", "EnvironmentClass": "mw1.small", "Schedulers": 2,
        "MinWorkers": 1, "MaxWorkers": 10, "WebserverAccessMode": "PRIVATE_ONLY",
        "WorkerReplacementStrategy": "GRACEFUL", "DagS3Path": "dags",
        "KmsKey": Match.any_value(), "Name": airflow.environment_name,
        "MinWebservers": Match.absent(),
    })
    # MWAA is not in every Region: cfn-lint's resource-type check is off for it alone.
    assert _environment(template)["Metadata"]["cfn-lint"] == {
        "config": {"ignore_checks": ["E3006"]}}


def test_all_five_log_types_on_at_the_level_into_groups_created_first(built):
    stack, airflow, template = built
    environment = _environment(template)
    logging = environment["Properties"]["LoggingConfiguration"]
    assert set(logging) == {"DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs",
                            "WorkerLogs"}
    assert all(v == {"Enabled": True, "LogLevel": "INFO"} for v in logging.values())
    groups = template.find_resources("AWS::Logs::LogGroup")
    names = {g["Properties"].get("LogGroupName") for g in groups.values()}
    for suffix in ("DAGProcessing", "Scheduler", "Task", "WebServer", "Worker"):
        name = f"airflow-{airflow.environment_name}-{suffix}"
        assert name in names
        logical_id = stack.resolve(airflow.log_groups[suffix].node.default_child.logical_id)
        assert logical_id in environment["DependsOn"]
        assert groups[logical_id]["Properties"]["RetentionInDays"] == 365
        assert "KmsKeyId" in groups[logical_id]["Properties"]


def test_environment_depends_on_the_role_policy_not_only_the_role(built):
    stack, airflow, template = built
    policy = airflow.execution_role.node.find_child("DefaultPolicy").node.default_child
    assert stack.resolve(policy.logical_id) in _environment(template)["DependsOn"]


def test_requirements_and_startup_script_are_passed_by_object_version(built):
    stack, airflow, template = built
    properties = _environment(template)["Properties"]
    for prop, deployed in (("Requirements", airflow.requirements),
                           ("StartupScript", airflow.startup)):
        resource = stack.resolve(custom_resource(deployed.deployment).logical_id)
        version = properties[f"{prop}S3ObjectVersion"]
        assert version == {"Fn::Select": [0, {"Fn::GetAtt": [resource, "SourceObjectVersionIds"]}]}
        assert properties[f"{prop}S3Path"]["Fn::Join"][1][1]["Fn::Select"][1]["Fn::GetAtt"][0] \
            == resource
    assert "PluginsS3Path" not in properties


def test_an_unchanged_file_keeps_its_deployment_and_a_changed_one_does_not(code, tmp_path):
    def deployment_key(requirements: Path) -> str:
        stack = new_stack()
        ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"],
                       requirements_file=requirements)
        template = Template.from_stack(stack).to_json()
        (props,) = [r["Properties"] for r in template["Resources"].values()
                    if r["Type"] == "Custom::CDKBucketDeployment"
                    and r["Properties"]["DestinationBucketKeyPrefix"] == "requirements/"]
        return str(props["SourceObjectKeys"])

    copy = tmp_path / "requirements.txt"
    copy.write_text(code["requirements_file"].read_text())
    assert deployment_key(copy) == deployment_key(code["requirements_file"])
    copy.write_text(code["requirements_file"].read_text() + "apache-airflow-providers-http\n")
    assert deployment_key(copy) != deployment_key(code["requirements_file"])


def test_dags_are_synced_extracted_and_pruned(built):
    _, _, template = built
    template.has_resource_properties("Custom::CDKBucketDeployment", {
        "DestinationBucketKeyPrefix": "dags/", "Prune": True, "Extract": Match.absent()})
    template.has_resource_properties("Custom::CDKBucketDeployment", {
        "DestinationBucketKeyPrefix": "requirements/", "Prune": False, "Extract": False,
        "OutputObjectVersionIds": True})


def test_private_vpc_two_subnets_endpoints_and_self_referencing_group(built):
    stack, airflow, template = built
    template.resource_count_is("AWS::EC2::Subnet", 2)
    services = [stack.resolve(r["Properties"]["ServiceName"]) for r in
                template.find_resources("AWS::EC2::VPCEndpoint").values()]
    text = str(services)
    for service in INTERFACE_ENDPOINTS:
        assert f".{service.short_name}" in text or service.short_name in text
    assert ".s3" in text
    group = stack.resolve(airflow.security_group.security_group_id)
    template.has_resource_properties("AWS::EC2::SecurityGroupIngress", {
        "IpProtocol": "-1", "SourceSecurityGroupId": group, "GroupId": group})
    assert _environment(template)["Properties"]["NetworkConfiguration"]["SecurityGroupIds"] == [
        group]


def test_execution_role_is_least_privilege(built):
    stack, airflow, _template = built
    trust = stack.resolve(airflow.execution_role.assume_role_policy.to_json())
    services = set()
    for statement in trust["Statement"]:
        service = statement["Principal"]["Service"]
        services |= set(service) if isinstance(service, list) else {service}
    assert services == {"airflow.amazonaws.com", "airflow-env.amazonaws.com"}
    policy = stack.resolve(airflow.execution_role.node.find_child("DefaultPolicy")
                           .node.default_child.policy_document)
    statements = policy["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Action"] == "s3:ListAllMyBuckets"
    kms = [s for s in statements if "kms:GenerateDataKey*" in s["Action"]
           and "Condition" in s]
    assert kms[0]["Condition"] == {"StringLike": {"kms:ViaService": [
        {"Fn::Join": ["", ["sqs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}]}}
    logs = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert len(logs["Resource"]) == 5
    metrics = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}}
    celery = next(s for s in statements if "sqs:ReceiveMessage" in s["Action"])
    assert "airflow-celery-*" in str(celery["Resource"])


def test_alarms_use_the_documented_metrics_and_dimensions(built):
    _, airflow, template = built
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms.values()}
    assert set(by_metric) == {"SchedulerHeartbeat", "QueuedTasks", "TaskInstanceFailures"}
    heartbeat = by_metric["SchedulerHeartbeat"]
    assert heartbeat["Namespace"] == "AmazonMWAA"
    assert heartbeat["Dimensions"] == [{"Name": "Environment", "Value": airflow.environment_name},
                                       {"Name": "Function", "Value": "Scheduler"}]
    assert heartbeat["ComparisonOperator"] == "LessThanThreshold"
    assert heartbeat["TreatMissingData"] == "breaching"
    assert {"Name": "Function", "Value": "Executor"} in by_metric["QueuedTasks"]["Dimensions"]
    assert {"Name": "DAG", "Value": "All"} in by_metric["TaskInstanceFailures"]["Dimensions"]


def test_trigger_function_runs_in_the_vpc_and_may_trigger_only_as_user(built):
    stack, airflow, template = built
    function = airflow.dag_trigger_function
    assert function is not None
    properties = template.to_json()["Resources"][stack.resolve(
        function.node.default_child.logical_id)]["Properties"]
    assert properties["VpcConfig"]["SubnetIds"]
    assert properties["Environment"]["Variables"]["ALLOWED_DAG_IDS"] == "pipeline"
    policy = stack.resolve(function.role.node.find_child("DefaultPolicy")
                           .node.default_child.policy_document)
    invoke = next(s for s in policy["Statement"] if s["Action"] == "airflow:InvokeRestApi")
    assert invoke["Resource"]["Fn::Join"][1][-1] == f":role/{airflow.environment_name}/User"


def test_trigger_task_and_target(code):
    stack = new_stack()
    airflow = ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"],
                             triggerable_dags=["pipeline"])
    task = airflow.trigger_dag_task(stack, "Trigger", dag_id="pipeline",
                                    dag_run_id=sfn.JsonPath.string_at("$$.Execution.Name"))
    assert task.to_state_json()["Parameters"] == {
        "dag_id": "pipeline", "conf.$": "$", "dag_run_id.$": "$$.Execution.Name"}
    with pytest.raises(ConfigurationError, match="add it to triggerable_dags"):
        airflow.trigger_dag_task(stack, "Other", dag_id="other")


def test_grants_for_what_dags_do(code):
    stack = new_stack()
    airflow = ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"])
    workgroup = redshiftserverless.CfnWorkgroup(stack, "Warehouse", workgroup_name="wh")
    airflow.grant_redshift_data(workgroup)
    airflow.grant_run_glue_job("curate")
    policy = stack.resolve(airflow.execution_role.node.find_child("DefaultPolicy")
                           .node.default_child.policy_document)
    text = str(policy)
    assert "redshift-data:ExecuteStatement" in text and "WorkgroupArn" in text
    assert "redshift-data:statement-owner-iam-userid" in text
    assert "glue:StartJobRun" in text and "job/curate" in text


def test_a_vpc_you_bring_needs_exactly_two_private_subnets_in_two_zones(code):
    stack = new_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b", "c"],
        private_subnet_ids=["s-1", "s-2", "s-3"])
    with pytest.raises(ConfigurationError, match="exactly two private subnets"):
        ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"], vpc=vpc)
    airflow = ManagedAirflow(
        stack, "Airflow2", dags_folder=code["dags_folder"], vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(availability_zones=["a", "b"]))
    assert [s.subnet_id for s in airflow.subnets] == ["s-1", "s-2"]


def test_mw1_micro_runs_one_scheduler(code):
    stack = new_stack()
    ManagedAirflow(stack, "Airflow", dags_folder=code["dags_folder"],
                   environment_class=EnvironmentClass.MW1_MICRO,
                   log_level=AirflowLogLevel.WARNING, webserver_access=WebserverAccess.PUBLIC_ONLY)
    Template.from_stack(stack).has_resource_properties("AWS::MWAA::Environment", {
        "Schedulers": 1, "EnvironmentClass": "mw1.micro", "WebserverAccessMode": "PUBLIC_ONLY",
        "LoggingConfiguration": {"TaskLogs": {"Enabled": True, "LogLevel": "WARNING"}}})


def test_every_problem_is_reported_at_once(code, tmp_path):
    with pytest.raises(ConfigurationError) as error:
        ManagedAirflow(new_stack(), "Airflow", dags_folder=tmp_path / "missing",
                       requirements_file=code["old"], schedulers=1, min_workers=5,
                       max_workers=2, airflow_configuration_options={"Core.X": "1"})
    text = str(error.value)
    for expected in ("dags_folder", "has no --constraint line", "schedulers",
                     "min_workers: got 5; must be at most max_workers (2)",
                     "airflow_configuration_options"):
        assert expected in text
    with pytest.raises(ConfigurationError, match="environment_name: got '1bad'"):
        ManagedAirflow(new_stack(), "Airflow", dags_folder=code["dags_folder"],
                       environment_name="1bad")


@pytest.mark.parametrize(("text", "problem"), [
    (CONSTRAINT, None),
    ('-c "/usr/local/airflow/dags/constraints.txt"\n', None),
    ('--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-2.9.2/'
     'constraints-3.11.txt"\n', "is for Airflow 2.9.2"),
    ("--constraint https://example.com/pins.txt\n", "neither Airflow's constraints file"),
    ("boto3\n", "has no --constraint line"),
])
def test_the_constraint_must_match_the_environment_version(text, problem):
    problems = constraint_problems(text, AirflowVersion.V2_10_3)
    assert (problems == []) if problem is None else (problem in problems[0])


def test_a_subclass_is_a_managed_airflow(code):
    class Tagged(ManagedAirflow):
        pass

    stack = Stack(new_stack().node.scope, "Other")
    assert isinstance(Tagged(stack, "Airflow", dags_folder=code["dags_folder"]), ManagedAirflow)
