"""Scenario: a weekly churn model: preprocess, train, evaluate, deploy.

Every Monday at 06:00 (Paris time) the workflow turns the customer-activity extracts under
``activity/`` into training and validation sets (SageMaker processing, scikit-learn image,
``etl_assets/sagemaker/preprocess.py``), trains SageMaker's built-in XGBoost on them, and
deploys the model to the ``churn-scoring`` endpoint only when its validation AUC reaches
0.80; a weaker model fails the run (recorded, notified) and the endpoint keeps serving the
previous one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    CfnMapping,
    Duration,
    Fn,
    Stack,
    TimeZone,
    Validations,
)
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from analytics_orchestration import (
    EndpointDeployment,
    EtlTrigger,
    EvaluationGate,
    MlWorkflow,
    SageMakerProcessing,
    SageMakerTraining,
    StepFunctionsEtl,
)
from analytics_orchestration import building_blocks as blocks

PREPROCESS_SCRIPT = Path(__file__).parent / "etl_assets" / "sagemaker" / "preprocess.py"
ENDPOINT_NAME = "churn-scoring"
AUC_THRESHOLD = 0.8
#: Accounts publishing SageMaker's first-party images (scikit-learn, XGBoost) per region,
#: as listed by the SageMaker Python SDK's image registry. Deploying elsewhere needs an
#: entry here.
SAGEMAKER_IMAGE_ACCOUNTS = {
    "us-east-1": "683313688378", "us-east-2": "257758044811", "us-west-1": "746614075791",
    "us-west-2": "246618743249", "eu-west-1": "141502667606", "eu-west-2": "764974769150",
    "eu-central-1": "492215442770", "ap-northeast-1": "354813040037",
    "ap-southeast-1": "121021644041", "ap-southeast-2": "783357654285",
}
SKLEARN_IMAGE = "sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "sagemaker-xgboost:1.7-1"


class MlWorkflowStack(Stack):
    """The churn model's weekly preprocess -> train -> evaluate -> deploy workflow."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = blocks.secure_key(
            self, "ModelKey", description="Encrypts the churn model's data, jobs and workflow"
        )
        operations = blocks.alarm_topic(self, "OperationsTopic", encryption_key=key)
        self.data = blocks.secure_bucket(
            self, "ModelData", encryption_key=key,
            server_access_logs_bucket=blocks.access_log_bucket(self, "AccessLogs"),
            server_access_logs_prefix="model-data/",
        )
        script = s3_assets.Asset(self, "PreprocessScript", path=str(PREPROCESS_SCRIPT))
        data = f"s3://{self.data.bucket_name}"
        self.etl = StepFunctionsEtl(
            self, "ChurnModel",
            workflow_name="churn-model",
            ml=MlWorkflow(
                data_bucket=self.data,
                processing=SageMakerProcessing(
                    image_uri=self._image(SKLEARN_IMAGE), script_uri=script.s3_object_url,
                    # CDK names a file asset's object after its hash and extension.
                    script_name=f"{script.asset_hash}.py",
                    input_uri=f"{data}/activity/", output_uri=f"{data}/prepared",
                    arguments=["--validation-share", "0.2"],
                ),
                training=SageMakerTraining(
                    image_uri=self._image(XGBOOST_IMAGE),
                    channels={"train": f"{data}/prepared/train/",
                              "validation": f"{data}/prepared/validation/"},
                    output_uri=f"{data}/models/",
                    hyperparameters={"objective": "binary:logistic", "eval_metric": "auc",
                                     "num_round": "200", "max_depth": "5", "eta": "0.2"},
                ),
                gate=EvaluationGate(metric_name="validation:auc", threshold=AUC_THRESHOLD),
                deployment=EndpointDeployment(endpoint_name=ENDPOINT_NAME),
                encryption_key=key,
                job_name_prefix="churn",
            ),
            timeout=Duration.hours(4),
            triggers=[EtlTrigger.schedule(
                scheduler.ScheduleExpression.cron(
                    minute="0", hour="6", week_day="MON",
                    time_zone=TimeZone.EUROPE_PARIS),
                description="Weekly retraining of the churn model",
            )],
            encryption_key=key,
            notification_topic=operations,
            alarm_topic=operations,
        )
        sagemaker_role = self.etl.sagemaker_role
        assert sagemaker_role is not None
        script.grant_read(sagemaker_role)
        policy = sagemaker_role.node.find_child("DefaultPolicy")
        for finding in ("Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-"
                        "<AWS::AccountId>-<AWS::Region>/*", "Action::s3:GetBucket*",
                        "Action::s3:GetObject*", "Action::s3:List*"):
            Validations.of(policy).acknowledge(Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]",
                reason="The processing job reads its script, published by CDK as an asset "
                       "(CDK's asset grant_read on the bootstrap bucket)."))

    def _image(self, name: str) -> str:
        """The image URI of a SageMaker first-party image in the deploying region."""
        mapping = self.node.try_find_child("SageMakerImageAccounts")
        if mapping is None:
            mapping = CfnMapping(self, "SageMakerImageAccounts", mapping={
                region: {"account": account}
                for region, account in SAGEMAKER_IMAGE_ACCOUNTS.items()})
        assert isinstance(mapping, CfnMapping)
        return Fn.join("", [mapping.find_in_map(self.region, "account"), ".dkr.ecr.",
                            self.region, ".", self.url_suffix, f"/{name}"])
