"""Putting an environment's code into its bucket: DAGs by folder, other files by version.

``aws_s3_deployment.BucketDeployment`` copies the assets at deploy time. MWAA reads
``requirements.txt``, the plugins zip and the startup script by S3 object version, and
restarts when a version changes. Each file therefore gets its own deployment with
``extract=False``: the object keeps its asset name (``<content hash>.<ext>``), so an
unchanged file keeps its deployment, its object and its version (no restart), and a changed
one gets a new object whose version (``object_version_ids``) updates the environment.

``Source.asset`` accepts only a zip or a folder, so a plain file (``requirements.txt``,
``startup.sh``) is deployed by :class:`_FileSource`, a file asset copied as it is.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import CfnResource, CustomResource, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from .._foundation.compliance import acknowledge, nag_reference
from .._foundation.roles import depend_on_role_policies_only

#: Memory of the deployment handler: the AWS CLI copies the assets in it.
DEPLOYMENT_MEMORY_MB = 512
_HANDLER_PREFIX = "Custom::CDKBucketDeployment"
_DEPLOY_ONLY = (
    "CDK's BucketDeployment handler runs only while CloudFormation creates or updates the "
    "stack, once per changed asset; "
)


@jsii.implements(s3_deployment.ISource)
class _FileSource:
    """A local file deployed as it is (no zip), for ``BucketDeployment(extract=False)``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def bind(
        self, scope: Construct, *, handler_role: iam.IRole | None = None
    ) -> s3_deployment.SourceConfig:
        asset = s3_assets.Asset(scope, "Asset", path=str(self._path))
        if handler_role is not None:
            asset.grant_read(handler_role)
        return s3_deployment.SourceConfig(bucket=asset.bucket, zip_object_key=asset.s3_object_key)


class DeployedFile:
    """Where one deployed file is (``key``) and which version of it (``version``)."""

    def __init__(self, deployment: s3_deployment.BucketDeployment, prefix: str) -> None:
        self.deployment = deployment
        self.key = Fn.join("", [prefix, Fn.select(0, deployment.object_keys)])
        self.version = Fn.select(0, deployment.object_version_ids)


def custom_resource(deployment: s3_deployment.BucketDeployment) -> CfnResource:
    """The deployment's ``Custom::CDKBucketDeployment`` resource (its id carries the memory
    size: ``CustomResource-512MiB``)."""
    for child in deployment.node.children:
        if isinstance(child, CustomResource):
            default = child.node.default_child
            assert isinstance(default, CfnResource)
            return default
    raise LookupError(f"{deployment.node.path} has no custom resource")


def deploy_folder(
    scope: Construct, construct_id: str, *, folder: Path, bucket: s3.IBucket, prefix: str,
    log_group: logs.ILogGroup,
) -> s3_deployment.BucketDeployment:
    """``folder``'s files under ``prefix`` (extracted; files deleted locally are deleted)."""
    deployment = s3_deployment.BucketDeployment(
        scope, construct_id,
        sources=[s3_deployment.Source.asset(str(folder), exclude=["__pycache__", "*.pyc"])],
        destination_bucket=bucket, destination_key_prefix=prefix, prune=True,
        memory_limit=DEPLOYMENT_MEMORY_MB, log_group=log_group,
    )
    acknowledge_handler(deployment, bucket)
    return deployment


def deploy_file(
    scope: Construct, construct_id: str, *, path: Path, bucket: s3.IBucket, prefix: str,
    log_group: logs.ILogGroup,
) -> DeployedFile:
    """``path`` as one object under ``prefix`` (a zip stays zipped), with its version."""
    source = (s3_deployment.Source.asset(str(path)) if path.suffix == ".zip"
              else _FileSource(path))
    deployment = s3_deployment.BucketDeployment(
        scope, construct_id, sources=[source], destination_bucket=bucket,
        destination_key_prefix=prefix, extract=False, prune=False,
        memory_limit=DEPLOYMENT_MEMORY_MB, log_group=log_group,
    )
    acknowledge_handler(deployment, bucket)
    return DeployedFile(deployment, prefix)


def acknowledge_handler(deployment: s3_deployment.BucketDeployment, bucket: s3.IBucket) -> None:
    """Acknowledge, on CDK's shared deployment handler, what it cannot change.

    The handler is CDK's (a singleton per stack and memory size): its code, runtime, CLI
    layer and role policy come with aws-cdk-lib and cannot be configured here; the log group
    (finite retention, customer-managed key) and memory size can, and are. The handler's
    own findings are acknowledged once; the objects of each destination bucket once each.
    """
    stack = Stack.of(deployment)
    for child in stack.node.children:
        if not (child.node.id.startswith(_HANDLER_PREFIX) and isinstance(child, lambda_.Function)):
            continue
        done: set[str] = getattr(child, "_analytics_acknowledged", set())
        if not done:
            _acknowledge_function(child)
        reference = nag_object_reference(deployment, bucket.bucket_arn)
        policy = child.role.node.try_find_child("DefaultPolicy") if child.role else None
        if reference not in done and policy is not None:
            acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Resource::{reference}]",
                        _DEPLOY_ONLY + "CDK's grant_read_write of the destination bucket (it "
                        "syncs and prunes the copied files).")
        object.__setattr__(child, "_analytics_acknowledged", done | {reference})


def _acknowledge_function(function: lambda_.Function) -> None:
    cfn_function = function.node.default_child
    if isinstance(cfn_function, lambda_.CfnFunction) and isinstance(function.role, iam.Role):
        # CDK's DependsOn on the role repeats its GetAtt (cfn-lint W3005); the policies are
        # what must exist first.
        depend_on_role_policies_only(cfn_function, function.role)
    for rule_id in ("Serverless::Serverless-LambdaDLQ", "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ"):
        acknowledge(function, rule_id,
                    _DEPLOY_ONLY + "CloudFormation invokes it synchronously and fails the "
                    "deployment on its error: there is no asynchronous event to dead-letter.")
    acknowledge(function, "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
                _DEPLOY_ONLY + "CloudFormation bounds its concurrency by the deployments of "
                "the stack; reserving concurrency would take it from the account.")
    for rule_id in ("NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                    "cdk-validator-cfnguard::lambda_inside_vpc_check"):
        acknowledge(function, rule_id,
                    _DEPLOY_ONLY + "it calls only S3 and CloudFormation's response URL and "
                    "reaches nothing inside a VPC.")
    for rule_id in ("AwsSolutions::AwsSolutions-L1", "Serverless::Serverless-LambdaLatestVersion"):
        acknowledge(function, rule_id,
                    _DEPLOY_ONLY + "aws-cdk-lib pins its runtime to the Python version its "
                    "bundled AWS CLI layer is built for.")
    acknowledge(function, "Serverless::Serverless-LambdaTracing",
                _DEPLOY_ONLY + "its code is aws-cdk-lib's, without an X-Ray SDK; its log "
                "group records every copy.")
    role = function.role
    policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
    if role is None or policy is None:
        return
    acknowledge(role, "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:"
                "policy/service-role/AWSLambdaBasicExecutionRole]",
                _DEPLOY_ONLY + "aws-cdk-lib attaches the AWS-managed basic execution policy "
                "(writing its own logs) to its role.")
    grants = (_DEPLOY_ONLY + "CDK's grant_read of the asset bucket and grant_read_write of "
              "the destination bucket (it syncs and prunes the copied files).")
    for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*",
                   "s3:DeleteObject*", "kms:GenerateDataKey*", "kms:ReEncrypt*"):
        acknowledge(policy, f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]", grants)
    acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
                "cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
                _DEPLOY_ONLY + "it reads the stack's assets from the CDK bootstrap bucket, "
                "whose object keys are content hashes.")


def nag_object_reference(scope: Construct, bucket_arn: str) -> str:
    """The ``<bucket.Arn>/*`` spelling cdk-nag uses for a bucket's objects."""
    return nag_reference(scope, bucket_arn) + "/*"
