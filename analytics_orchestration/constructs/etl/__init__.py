"""StepFunctionsEtl and its building blocks: steps, large inputs, the ML stage, triggers."""

from .large_input import ItemProcessor, LargeInput
from .ml import (
    EndpointDeployment,
    EvaluationGate,
    MlWorkflow,
    SageMakerProcessing,
    SageMakerTraining,
)
from .policies import TRANSIENT_ERRORS, EtlRetryPolicy
from .steps import EtlStep, StepContext, StepKind
from .triggers import EtlTrigger
from .workflow import LEDGER_PARTITION_KEY, RunStatus, StepFunctionsEtl

__all__ = [
    "LEDGER_PARTITION_KEY",
    "TRANSIENT_ERRORS",
    "EndpointDeployment",
    "EtlRetryPolicy",
    "EtlStep",
    "EtlTrigger",
    "EvaluationGate",
    "ItemProcessor",
    "LargeInput",
    "MlWorkflow",
    "RunStatus",
    "SageMakerProcessing",
    "SageMakerTraining",
    "StepContext",
    "StepFunctionsEtl",
    "StepKind",
]
