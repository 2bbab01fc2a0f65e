"""A machine-learning stage: preprocess, train, evaluate (a gate), deploy, on SageMaker.

::

    NameMlJobs -> Preprocess (processing job, .sync) -> Train (training job, .sync)
      -> ReadMetric -> EvaluationGate --below threshold--> failure (ModelEvaluationFailed)
                                      --passes--> CreateModel -> CreateEndpointConfig
                                                    -> FindEndpoint -> CreateEndpoint
                                                                    or UpdateEndpoint

Job, model and endpoint-config names are ``<job_name_prefix>-<uuid>`` (one per run); the
endpoint keeps its name and is updated in place once it exists, so callers never change
endpoints. The gate reads the training job's own final metric (``FinalMetricDataList``),
which SageMaker's built-in algorithms and any container that logs metric definitions
report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .._foundation import acknowledge, grant_create_grant_for_aws_resources, is_unresolved
from .._foundation.validation import Items, Number, Span, Text, validated_props
from .steps import StepContext

__all__ = [
    "EndpointDeployment",
    "EvaluationGate",
    "MlWorkflow",
    "SageMakerProcessing",
    "SageMakerTraining",
]

#: SageMaker job names hold at most 63 characters; a UUID takes 37 of them.
_PREFIX_PATTERN = re.compile(r"^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,25}$")
_ENDPOINT_PATTERN = re.compile(r"^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,62}$")
_METRIC_PATTERN = re.compile(r"^[A-Za-z0-9_:./-]{1,255}$")
DEFAULT_PROCESSING_INSTANCE = "ml.m5.large"
DEFAULT_TRAINING_INSTANCE = "ml.m5.xlarge"
DEFAULT_ENDPOINT_INSTANCE = "ml.m5.large"
DEFAULT_VOLUME_GB = 30
DEFAULT_PROCESSING_RUNTIME = Duration.hours(1)
DEFAULT_TRAINING_RUNTIME = Duration.hours(2)
_CODE_DIR = "/opt/ml/processing/code"
_INPUT_DIR = "/opt/ml/processing/input"
_OUTPUT_DIR = "/opt/ml/processing/output"


@validated_props({
    "instance_count": Number(maximum=100),
    "volume_size_gb": Number(1, 16_384),
    "max_runtime": Span(Duration.seconds(1), Duration.days(5), whole_seconds=True),
    # A processing job has at most 10 outputs; each channel is one.
    "output_channels": Items(max_items=10, each=Text(max_length=256)),
})
@dataclass(frozen=True)
class SageMakerProcessing:
    """The preprocessing job: ``script`` runs on ``input_uri``, writes ``output_uri``.

    The container gets the script under ``/opt/ml/processing/code``, the input under
    ``/opt/ml/processing/input``, and uploads ``/opt/ml/processing/output/<channel>`` to
    ``<output_uri>/<channel>/`` for each of ``output_channels``.

    :param image_uri: the processing image (e.g. SageMaker's scikit-learn image).
    :param script_uri: ``s3://`` URI of the script (a file), run with ``python3``.
    :param input_uri: ``s3://`` prefix of the raw data.
    :param output_uri: ``s3://`` prefix the channels are written under.
    :param output_channels: Default: ``("train", "validation")``, the training channels.
    :param script_name: the script's file name in the container. Default: the last segment
        of ``script_uri``; give it when ``script_uri`` is a token (e.g. an asset's
        ``s3_object_url``, whose file is ``<asset_hash>.py``).
    :param arguments: passed to the script. Default: none.
    :param instance_type: Default: ``ml.m5.large``.
    :param instance_count: Default: 1.
    :param volume_size_gb: Default: 30.
    :param max_runtime: Default: 1 hour.
    """

    image_uri: str
    script_uri: str
    input_uri: str
    output_uri: str
    output_channels: Sequence[str] = ("train", "validation")
    script_name: str | None = None
    arguments: Sequence[str] = ()
    instance_type: str = DEFAULT_PROCESSING_INSTANCE
    instance_count: int = 1
    volume_size_gb: int = DEFAULT_VOLUME_GB
    max_runtime: Duration = field(default_factory=lambda: DEFAULT_PROCESSING_RUNTIME)


@validated_props({
    "instance_count": Number(maximum=100),
    "volume_size_gb": Number(1, 16_384),
    "max_runtime": Span(Duration.seconds(1), Duration.days(28), whole_seconds=True),
})
@dataclass(frozen=True)
class SageMakerTraining:
    """The training job: one channel per entry of ``channels`` (name -> ``s3://`` prefix).

    :param image_uri: the training image (a built-in algorithm or your own).
    :param channels: input channels, e.g. ``{"train": ..., "validation": ...}``.
    :param output_uri: ``s3://`` prefix for the model artifacts.
    :param hyperparameters: Default: none.
    :param content_type: of every channel. Default: ``text/csv``.
    :param inference_image_uri: the image serving the model. Default: ``image_uri``
        (right for SageMaker's built-in algorithms).
    :param instance_type: Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    :param volume_size_gb: Default: 30.
    :param max_runtime: Default: 2 hours.
    """

    image_uri: str
    channels: Mapping[str, str]
    output_uri: str
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "text/csv"
    inference_image_uri: str | None = None
    instance_type: str = DEFAULT_TRAINING_INSTANCE
    instance_count: int = 1
    volume_size_gb: int = DEFAULT_VOLUME_GB
    max_runtime: Duration = field(default_factory=lambda: DEFAULT_TRAINING_RUNTIME)


@validated_props()
@dataclass(frozen=True)
class EvaluationGate:
    """Deploy only when the training job's ``metric_name`` reaches ``threshold``.

    :param metric_name: as the training job reports it (e.g. ``validation:auc``).
    :param threshold: the value to reach.
    :param higher_is_better: pass at ``>= threshold``; False: pass at ``<= threshold``
        (losses, errors). Default: True.
    """

    metric_name: str
    threshold: float
    higher_is_better: bool = True


@validated_props({"initial_instance_count": Number(maximum=100)})
@dataclass(frozen=True)
class EndpointDeployment:
    """The real-time endpoint serving the model; created once, then updated in place.

    :param endpoint_name: stable name callers invoke.
    :param instance_type: Default: ``ml.m5.large``.
    :param initial_instance_count: Default: 1.
    """

    endpoint_name: str
    instance_type: str = DEFAULT_ENDPOINT_INSTANCE
    initial_instance_count: int = 1


# The prefix names SageMaker job ARNs in IAM statements and a cdk-nag acknowledgment (its
# shape is checked by the workflow, with its other problems).
@validated_props({"job_name_prefix": Text(non_empty=False, literal=True)})
@dataclass(frozen=True)
class MlWorkflow:
    """Preprocess (optional), train, gate on a metric, deploy (optional) on SageMaker.

    :param data_bucket: the bucket every ``s3://`` URI of the stage points into; the
        created execution role may read and write it.
    :param training: the training job.
    :param gate: the evaluation gate.
    :param processing: the preprocessing job. Default: None, training reads prepared data.
    :param deployment: the endpoint. Default: None, the run ends with the model created.
    :param execution_role: the role SageMaker jobs, models and endpoints run as. Default:
        None, a role is created with read/write on ``data_bucket`` and logging only.
    :param encryption_key: encrypts job volumes, outputs and endpoint storage. Default:
        None, SageMaker's own keys.
    :param job_name_prefix: prefix of job, model and endpoint-config names, up to 26
        characters. Default: ``etl``.
    """

    data_bucket: s3.IBucket
    training: SageMakerTraining
    gate: EvaluationGate
    processing: SageMakerProcessing | None = None
    deployment: EndpointDeployment | None = None
    execution_role: iam.IRole | None = None
    encryption_key: kms.IKey | None = None
    job_name_prefix: str = "etl"

    def problems(self, prop: str) -> list[tuple[str, object, str]]:
        """What is wrong with these settings, as (prop, value, allowed) triples."""
        found: list[tuple[str, object, str]] = []
        if not _PREFIX_PATTERN.match(self.job_name_prefix):
            found.append((f"{prop}.job_name_prefix", self.job_name_prefix,
                          "must be 1 to 26 letters, digits and single hyphens"))
        uris: list[tuple[str, str]] = [("training.output_uri", self.training.output_uri)]
        uris += [(f"training.channels[{n!r}]", u) for n, u in self.training.channels.items()]
        if not self.training.channels:
            found.append((f"{prop}.training.channels", {}, "give at least one channel"))
        if self.processing is not None:
            uris += [("processing.script_uri", self.processing.script_uri),
                     ("processing.input_uri", self.processing.input_uri),
                     ("processing.output_uri", self.processing.output_uri)]
            if self.processing.script_name is None and is_unresolved(
                    self.processing.script_uri):
                found.append((f"{prop}.processing.script_name", None,
                              "give the script's file name: script_uri is only known at "
                              "deploy time"))
            if not self.processing.output_channels:
                found.append((f"{prop}.processing.output_channels", [],
                              "give at least one channel"))
        for name, uri in uris:
            if not uri.startswith("s3://") and not is_unresolved(uri):
                found.append((f"{prop}.{name}", uri, "must be an s3:// URI"))
        if not _METRIC_PATTERN.match(self.gate.metric_name):
            found.append((f"{prop}.gate.metric_name", self.gate.metric_name,
                          "must be a SageMaker metric name (letters, digits, _:./-)"))
        for job_prop, count in (("training.instance_count", self.training.instance_count),
                                ("processing.instance_count",
                                 self.processing.instance_count if self.processing else 1)):
            if count < 1:
                found.append((f"{prop}.{job_prop}", count, "must be at least 1"))
        if self.deployment is not None:
            if not _ENDPOINT_PATTERN.match(self.deployment.endpoint_name):
                found.append((f"{prop}.deployment.endpoint_name", self.deployment.endpoint_name,
                              "must be 1 to 63 letters, digits and single hyphens"))
            if self.deployment.initial_instance_count < 1:
                found.append((f"{prop}.deployment.initial_instance_count",
                              self.deployment.initial_instance_count, "must be at least 1"))
        return found


class MlStage:
    """Builds the states of an :class:`MlWorkflow` and the permissions they need."""

    def __init__(self, scope: Construct, workflow: MlWorkflow) -> None:
        self.scope = scope
        self.workflow = workflow
        stack = Stack.of(scope)
        self.stack = stack
        self.partition = stack.partition
        #: The role SageMaker runs as (created unless brought).
        self.role: iam.IRole = workflow.execution_role or self._create_role()

    # -------------------------------------------------------------------- naming
    def _name(self, suffix: str = "") -> str:
        return f"States.Format('{self.workflow.job_name_prefix}-{{}}{suffix}', $.ml.run_id)"

    def _arn(self, resource: str, name: str) -> str:
        return self.stack.format_arn(service="sagemaker", resource=resource, resource_name=name)

    def _resource(self, action: str, sync: bool = False) -> str:
        return f"arn:{self.partition}:states:::sagemaker:{action}{'.sync' if sync else ''}"

    # -------------------------------------------------------------------- role
    def _create_role(self) -> iam.Role:
        role = iam.Role(
            self.scope, "SageMakerRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Runs the SageMaker jobs and endpoint of {self.scope.node.path}",
        )
        bucket = self.workflow.data_bucket
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ReadAndWriteDataSets",
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects("*")],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="ListDataSets", actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[bucket.bucket_arn],
        ))
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="WriteJobLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                     "logs:DescribeLogStreams"],
            resources=[self.stack.format_arn(service="logs", resource="log-group",
                                             resource_name="/aws/sagemaker/*",
                                             arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="PublishJobMetrics", actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ))
        if self.workflow.encryption_key is not None:
            self.workflow.encryption_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
            grant_create_grant_for_aws_resources(self.workflow.encryption_key, role)
        policy = role.node.try_find_child("DefaultPolicy")
        assert policy is not None
        for finding, reason in _role_findings(self.stack, bucket):
            acknowledge(policy, finding, reason)
        return role

    # -------------------------------------------------------------------- states
    def build(self, ctx: StepContext) -> sfn.Chain:
        """The stage's states, from naming the run's jobs to the deployed endpoint."""
        scope = self.scope
        name_jobs = sfn.Pass(scope, "NameMlJobs", parameters={"run_id.$": "States.UUID()"},
                             result_path="$.ml")
        chain = sfn.Chain.start(name_jobs)
        if self.workflow.processing is not None:
            chain = chain.next(self._processing(ctx, self.workflow.processing))
        train = self._training(ctx)
        read_metric = sfn.Pass(
            scope, "ReadMetric",
            parameters={"values.$": f"$.results.Train.FinalMetricDataList"
                                    f"[?(@.MetricName == '{self.workflow.gate.metric_name}')]"
                                    ".Value"},
            result_path="$.evaluation",
        )
        gate = self.workflow.gate
        compare = (sfn.Condition.number_greater_than_equals if gate.higher_is_better
                   else sfn.Condition.number_less_than_equals)
        passes = sfn.Condition.and_(
            sfn.Condition.is_present("$.evaluation.values[0]"),
            compare("$.evaluation.values[0]", gate.threshold),
        )
        rejected = ctx.failure("ModelBelowThreshold", "ModelEvaluationFailed",
                               "States.JsonToString($.evaluation)")
        create_model = self._create_model(ctx)
        evaluation = sfn.Choice(scope, "EvaluationGate").when(passes, create_model)
        evaluation.otherwise(rejected)
        chain = chain.next(train).next(read_metric).next(evaluation)
        if self.workflow.deployment is None:
            return sfn.Chain.custom(name_jobs, [create_model], create_model)
        ends = self._deploy(ctx, create_model, self.workflow.deployment)
        return sfn.Chain.custom(name_jobs, ends, ends[-1])

    def _processing(self, ctx: StepContext, job: SageMakerProcessing) -> sfn.CustomState:
        script = job.script_name or job.script_uri.rsplit("/", 1)[-1]
        key = self.workflow.encryption_key
        outputs = [{
            "OutputName": channel,
            "S3Output": {"S3Uri": f"{job.output_uri.rstrip('/')}/{channel}",
                         "LocalPath": f"{_OUTPUT_DIR}/{channel}", "S3UploadMode": "EndOfJob"},
        } for channel in job.output_channels]
        output_config: dict[str, Any] = {"Outputs": outputs}
        cluster: dict[str, Any] = {"InstanceCount": job.instance_count,
                                   "InstanceType": job.instance_type,
                                   "VolumeSizeInGB": job.volume_size_gb}
        if key is not None:
            output_config["KmsKeyId"] = key.key_arn
            cluster["VolumeKmsKeyId"] = key.key_arn
        app: dict[str, Any] = {"ImageUri": job.image_uri,
                               "ContainerEntrypoint": ["python3", f"{_CODE_DIR}/{script}"]}
        if job.arguments:
            app["ContainerArguments"] = list(job.arguments)
        state = sfn.CustomState(self.scope, "Preprocess", state_json={
            "Type": "Task",
            "Resource": self._resource("createProcessingJob", sync=True),
            "Parameters": {
                "ProcessingJobName.$": self._name(),
                "RoleArn": self.role.role_arn,
                "AppSpecification": app,
                "ProcessingInputs": [
                    _processing_input("code", job.script_uri, _CODE_DIR, "S3Prefix"),
                    _processing_input("input", job.input_uri, _INPUT_DIR, "S3Prefix"),
                ],
                "ProcessingOutputConfig": output_config,
                "ProcessingResources": {"ClusterConfig": cluster},
                "StoppingCondition": {"MaxRuntimeInSeconds": int(job.max_runtime.to_seconds())},
            },
            "ResultSelector": {"ProcessingJobName.$": "$.ProcessingJobName",
                               "ProcessingJobStatus.$": "$.ProcessingJobStatus"},
            "ResultPath": "$.results.Preprocess",
        })
        ctx.guard(state, "sagemaker")
        return state

    def _training(self, ctx: StepContext) -> sfn.CustomState:
        job = self.workflow.training
        key = self.workflow.encryption_key
        output: dict[str, Any] = {"S3OutputPath": job.output_uri}
        resources: dict[str, Any] = {"InstanceCount": job.instance_count,
                                     "InstanceType": job.instance_type,
                                     "VolumeSizeInGB": job.volume_size_gb}
        if key is not None:
            output["KmsKeyId"] = key.key_arn
            resources["VolumeKmsKeyId"] = key.key_arn
        parameters: dict[str, Any] = {
            "TrainingJobName.$": self._name(),
            "RoleArn": self.role.role_arn,
            "AlgorithmSpecification": {"TrainingImage": job.image_uri,
                                       "TrainingInputMode": "File"},
            "InputDataConfig": [{
                "ChannelName": name,
                "ContentType": job.content_type,
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                                "S3DataDistributionType": "FullyReplicated"}},
            } for name, uri in job.channels.items()],
            "OutputDataConfig": output,
            "ResourceConfig": resources,
            "StoppingCondition": {"MaxRuntimeInSeconds": int(job.max_runtime.to_seconds())},
            "EnableInterContainerTrafficEncryption": True,
        }
        if job.hyperparameters:
            parameters["HyperParameters"] = dict(job.hyperparameters)
        state = sfn.CustomState(self.scope, "Train", state_json={
            "Type": "Task",
            "Resource": self._resource("createTrainingJob", sync=True),
            "Parameters": parameters,
            "ResultSelector": {"TrainingJobName.$": "$.TrainingJobName",
                               "ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
                               "FinalMetricDataList.$": "$.FinalMetricDataList"},
            "ResultPath": "$.results.Train",
        })
        ctx.guard(state, "sagemaker")
        return state

    def _create_model(self, ctx: StepContext) -> sfn.CustomState:
        job = self.workflow.training
        state = sfn.CustomState(self.scope, "CreateModel", state_json={
            "Type": "Task",
            "Resource": self._resource("createModel"),
            "Parameters": {
                "ModelName.$": self._name(),
                "ExecutionRoleArn": self.role.role_arn,
                "PrimaryContainer": {"Image": job.inference_image_uri or job.image_uri,
                                     "ModelDataUrl.$": "$.results.Train.ModelArtifacts"},
            },
            "ResultPath": "$.results.CreateModel",
        })
        ctx.guard(state, "sagemaker")
        return state

    def _deploy(self, ctx: StepContext, create_model: sfn.CustomState,
                deployment: EndpointDeployment) -> list[sfn.CustomState]:
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName.$": self._name(),
                                   "InstanceType": deployment.instance_type,
                                   "InitialInstanceCount": deployment.initial_instance_count}
        config_parameters: dict[str, Any] = {"EndpointConfigName.$": self._name(),
                                             "ProductionVariants": [variant]}
        if self.workflow.encryption_key is not None:
            config_parameters["KmsKeyId"] = self.workflow.encryption_key.key_arn
        config = sfn.CustomState(self.scope, "CreateEndpointConfig", state_json={
            "Type": "Task", "Resource": self._resource("createEndpointConfig"),
            "Parameters": config_parameters, "ResultPath": "$.results.CreateEndpointConfig",
        })
        ctx.guard(config, "sagemaker")
        name = deployment.endpoint_name
        find = tasks.CallAwsService(
            self.scope, "FindEndpoint", service="sagemaker", action="listEndpoints",
            parameters={"NameContains": name}, iam_resources=["*"],
            iam_action="sagemaker:ListEndpoints",
            result_selector={"matches.$": f"$.Endpoints[?(@.EndpointName == '{name}')]"},
            result_path="$.ml.endpoint",
        )
        ctx.guard(find, "sagemaker")
        endpoint_parameters = {"EndpointName": name, "EndpointConfigName.$": self._name()}
        update = sfn.CustomState(self.scope, "UpdateEndpoint", state_json={
            "Type": "Task", "Resource": self._resource("updateEndpoint"),
            "Parameters": endpoint_parameters, "ResultPath": "$.results.Deploy",
        })
        create = sfn.CustomState(self.scope, "CreateEndpoint", state_json={
            "Type": "Task", "Resource": self._resource("createEndpoint"),
            "Parameters": endpoint_parameters, "ResultPath": "$.results.Deploy",
        })
        ctx.guard(update, "sagemaker")
        ctx.guard(create, "sagemaker")
        exists = sfn.Choice(self.scope, "EndpointExists").when(
            sfn.Condition.is_present("$.ml.endpoint.matches[0]"), update).otherwise(create)
        create_model.next(config).next(find).next(exists)
        return [update, create]

    # -------------------------------------------------------------------- permissions
    def grant(self, role: iam.IRole) -> None:
        """What the state machine's role needs for every state of the stage."""
        prefix = self.workflow.job_name_prefix
        statements = [
            iam.PolicyStatement(
                sid="RunSageMakerJobs",
                actions=["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                         "sagemaker:StopProcessingJob", "sagemaker:CreateTrainingJob",
                         "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                         "sagemaker:AddTags"],
                resources=[self._arn("processing-job", f"{prefix}-*"),
                           self._arn("training-job", f"{prefix}-*")],
            ),
            iam.PolicyStatement(
                sid="TrackSageMakerJobs",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[self.stack.format_arn(service="events", resource="rule",
                                                 resource_name=rule)
                           for rule in ("StepFunctionsGetEventsForSageMakerTrainingJobsRule",
                                        "StepFunctionsGetEventsForSageMakerProcessingJobsRule")],
            ),
            iam.PolicyStatement(
                sid="CreateModels", actions=["sagemaker:CreateModel"],
                resources=[self._arn("model", f"{prefix}-*")],
            ),
            iam.PolicyStatement(
                sid="PassTheSageMakerRole", actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        ]
        if self.workflow.deployment is not None:
            endpoint = self._arn("endpoint", self.workflow.deployment.endpoint_name.lower())
            statements.append(iam.PolicyStatement(
                sid="DeployEndpoints",
                actions=["sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint",
                         "sagemaker:UpdateEndpoint"],
                resources=[self._arn("endpoint-config", f"{prefix}-*"), endpoint],
            ))
        for statement in statements:
            role.add_to_principal_policy(statement)
        if self.workflow.encryption_key is not None:
            self.workflow.encryption_key.grant(role, "kms:DescribeKey")
            grant_create_grant_for_aws_resources(self.workflow.encryption_key, role)
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        for kind in ("processing-job", "training-job", "model", "endpoint-config"):
            acknowledge(
                policy,
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:"
                f"<AWS::Region>:<AWS::AccountId>:{kind}/{prefix}-*]",
                f"Each run names its {kind} '{prefix}-<run id>'; the wildcard is limited to "
                "this workflow's prefix.",
            )
        acknowledge(
            policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            "sagemaker:ListEndpoints (finding whether the endpoint exists) and X-Ray's "
            "trace APIs accept no resource but '*'.",
        )


def _processing_input(name: str, uri: str, local_path: str, data_type: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local_path,
                                           "S3DataType": data_type, "S3InputMode": "File"}}


def _role_findings(stack: Stack, bucket: s3.IBucket) -> list[tuple[str, str]]:
    from .steps import bucket_logical_id

    findings = [
        ("AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
         "<AWS::AccountId>:log-group:/aws/sagemaker/*]",
         "SageMaker jobs and endpoints create their own log groups under /aws/sagemaker/."),
        ("AwsSolutions::AwsSolutions-IAM5[Resource::*]",
         "cloudwatch:PutMetricData accepts no resource; it is limited to SageMaker's "
         "namespaces by condition."),
    ]
    logical = bucket_logical_id(bucket)
    if logical is not None:
        findings.append((f"AwsSolutions::AwsSolutions-IAM5[Resource::<{logical}.Arn>/*]",
                         "Jobs read data sets and write models anywhere in this one data "
                         "bucket; keys are chosen per run."))
    return findings
