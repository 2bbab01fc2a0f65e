"""Container workers: an ECS Fargate queue-processing service in a private VPC."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .._foundation import acknowledge, log_group, private_vpc
from .._foundation.functions import ASSET_EXCLUDES, LAMBDA_SOURCE_ROOT
from .options import ContainerWorkers

#: The reference poller: the job worker's folder, whose Dockerfile runs ``poller.py``.
REFERENCE_WORKER_DIRECTORY = LAMBDA_SOURCE_ROOT / "job_worker"
#: What the created VPC's tasks reach through interface endpoints (S3 and DynamoDB
#: have gateway endpoints): image pulls, logs, the queue, the key.
WORKER_ENDPOINTS = (
    ec2.InterfaceVpcEndpointAwsService.ECR,
    ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    ec2.InterfaceVpcEndpointAwsService.SQS,
    ec2.InterfaceVpcEndpointAwsService.KMS,
)
#: Step scaling on visible messages: shrink by one when none waits, grow by one while
#: any does, by five from 100.
SCALING_STEPS = (
    autoscaling.ScalingInterval(upper=0, change=-1),
    autoscaling.ScalingInterval(lower=1, change=+1),
    autoscaling.ScalingInterval(lower=100, change=+5),
)
#: Long polling: a receive waits up to 20 s for messages (fewer empty receives).
WAIT_TIME_SECONDS = 20
#: The worker runs as this unprivileged user and group (the reference image's ``USER``);
#: an image of your own must run as it too (files readable by others suffice).
WORKER_USER = "10001:10001"
#: The one writable path of the read-only root filesystem: a task-scoped scratch volume
#: (Fargate's ephemeral storage) for libraries that use ``tempfile``. The reference poller
#: writes nothing to disk.
SCRATCH_PATH = "/tmp"
_SCRATCH_VOLUME = "scratch"


def build_container_workers(
    scope: Construct,
    options: ContainerWorkers,
    *,
    queue: sqs.IQueue,
    encryption_key: kms.IKey,
    environment: Mapping[str, str],
    visibility_timeout_seconds: int,
    publishes_events: bool,
) -> tuple[ecs_patterns.QueueProcessingFargateService, ec2.IVpc, logs.LogGroup]:
    """The service, the VPC it runs in and its log group."""
    created_vpc = options.vpc is None
    endpoints = list(WORKER_ENDPOINTS)
    if publishes_events:
        endpoints.append(ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE)
    vpc = options.vpc or private_vpc(
        scope, "Vpc", interface_endpoints=endpoints, flow_logs_key=encryption_key
    )
    cluster = ecs.Cluster(
        scope, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
    )
    worker_logs = log_group(scope, "WorkerLogs", encryption_key=encryption_key)
    image = options.image or ecs.ContainerImage.from_asset(
        options.directory or str(REFERENCE_WORKER_DIRECTORY), exclude=list(ASSET_EXCLUDES)
    )
    service = ecs_patterns.QueueProcessingFargateService(
        scope,
        "Workers",
        cluster=cluster,
        queue=queue,
        image=image,
        cpu=options.cpu,
        memory_limit_mib=options.memory_limit_mib,
        min_scaling_capacity=options.min_tasks,
        max_scaling_capacity=options.max_tasks,
        scaling_steps=list(SCALING_STEPS),
        disable_cpu_based_scaling=True,
        assign_public_ip=False,
        task_subnets=(ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
                      if created_vpc else None),
        environment={
            **environment,
            "QUEUE_URL": queue.queue_url,
            "QUEUE_ARN": queue.queue_arn,
            "BATCH_SIZE": str(options.batch_size),
            "WAIT_TIME_SECONDS": str(WAIT_TIME_SECONDS),
            "VISIBILITY_TIMEOUT_SECONDS": str(visibility_timeout_seconds),
            **(options.environment or {}),
        },
        log_driver=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=worker_logs),
        circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
        min_healthy_percent=100,
        max_healthy_percent=200,
        enable_execute_command=False,
    )
    task_definition = service.task_definition
    _harden_worker_container(task_definition, memory_limit_mib=options.memory_limit_mib)
    acknowledge(
        task_definition,
        "AwsSolutions::AwsSolutions-ECS2",
        "The environment holds resource names and tuning values (queue URL, table names, "
        "batch size), no secrets.",
    )
    execution_policy = task_definition.obtain_execution_role().node.try_find_child(
        "DefaultPolicy")
    if execution_policy is not None:
        acknowledge(
            execution_policy,
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken accepts no resource but '*'; image pulls are limited "
            "to the image's repository.",
        )
    return service, vpc, worker_logs


def _harden_worker_container(
    task_definition: ecs.FargateTaskDefinition, *, memory_limit_mib: int
) -> None:
    """Read-only root filesystem, a non-root user and a hard memory limit.

    A compromised or buggy worker can then change nothing in its image and holds no root
    privileges in the container; ``/tmp`` stays writable through a task-scoped volume.
    The queue-processing pattern builds the container itself, so its definition is
    completed here: the mount point through the L2, the three settings the L2 offers only
    at creation through the task definition's CloudFormation properties.
    """
    container = task_definition.default_container
    assert container is not None
    task_definition.add_volume(name=_SCRATCH_VOLUME)
    container.add_mount_points(
        ecs.MountPoint(container_path=SCRATCH_PATH, source_volume=_SCRATCH_VOLUME,
                       read_only=False)
    )
    cfn_task_definition = task_definition.node.default_child
    assert isinstance(cfn_task_definition, ecs.CfnTaskDefinition)
    prefix = "ContainerDefinitions.0"  # the pattern's one container, the worker
    cfn_task_definition.add_property_override(f"{prefix}.ReadonlyRootFilesystem", True)
    cfn_task_definition.add_property_override(f"{prefix}.User", WORKER_USER)
    # The task's memory is the container's hard limit (CT.ECS.PR.7): one container per task.
    cfn_task_definition.add_property_override(f"{prefix}.Memory", memory_limit_mib)
