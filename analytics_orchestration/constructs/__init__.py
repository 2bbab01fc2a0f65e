"""Public pattern constructs, one module per pattern.

The private ``_foundation`` package holds the secure builders they share.

Pattern modules are imported on first use (PEP 562): an app that uses one construct does
not pay for importing the aws-cdk-lib modules of all the others. ``_EXPORTS`` is the one
table of what each module exports; the ``TYPE_CHECKING`` imports give type checkers the
same names (a test keeps the two in step).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .airflow import (
        AirflowLogLevel as AirflowLogLevel,
        AirflowVersion as AirflowVersion,
        EnvironmentClass as EnvironmentClass,
        ManagedAirflow as ManagedAirflow,
        WebserverAccess as WebserverAccess,
        WorkerReplacement as WorkerReplacement,
    )
    from .etl import (
        EndpointDeployment as EndpointDeployment,
        EtlRetryPolicy as EtlRetryPolicy,
        EtlStep as EtlStep,
        EtlTrigger as EtlTrigger,
        EvaluationGate as EvaluationGate,
        ItemProcessor as ItemProcessor,
        LargeInput as LargeInput,
        MlWorkflow as MlWorkflow,
        RunStatus as RunStatus,
        SageMakerProcessing as SageMakerProcessing,
        SageMakerTraining as SageMakerTraining,
        StepContext as StepContext,
        StepFunctionsEtl as StepFunctionsEtl,
        StepKind as StepKind,
    )
    from .event_routing import (
        EventRouter as EventRouter,
        NotificationFanOut as NotificationFanOut,
        PipeEnrichment as PipeEnrichment,
        PipeLogLevel as PipeLogLevel,
        QueueToStateMachinePipe as QueueToStateMachinePipe,
        RouteTarget as RouteTarget,
        RoutingRule as RoutingRule,
        TopicSubscription as TopicSubscription,
        WorkflowSubscription as WorkflowSubscription,
        catalog_pattern as catalog_pattern,
        detail_input as detail_input,
    )
    from .ingestion import (
        EventDrivenIngestion as EventDrivenIngestion,
        FanOutSubscriber as FanOutSubscriber,
        IngestionTarget as IngestionTarget,
        ObjectValidationRules as ObjectValidationRules,
        ReconciliationSweep as ReconciliationSweep,
    )
    from .serverless_analytics import (
        AthenaNamedQuery as AthenaNamedQuery,
        AthenaOptions as AthenaOptions,
        CatalogOptions as CatalogOptions,
        CollectionType as CollectionType,
        CurationJobOptions as CurationJobOptions,
        DataLakeOptions as DataLakeOptions,
        DataZone as DataZone,
        EmrArchitecture as EmrArchitecture,
        EmrOptions as EmrOptions,
        MskOptions as MskOptions,
        OpenSearchOptions as OpenSearchOptions,
        RedshiftOptions as RedshiftOptions,
        ServerlessAnalytics as ServerlessAnalytics,
        SourceFormat as SourceFormat,
    )
    from .streaming import (
        ConsumerHandler as ConsumerHandler,
        DataLakeDeliveryStream as DataLakeDeliveryStream,
        KinesisDataStream as KinesisDataStream,
        LakeColumn as LakeColumn,
        LakePartition as LakePartition,
        LakeTransform as LakeTransform,
        StreamConsumer as StreamConsumer,
        StreamSource as StreamSource,
        StreamToStateMachinePipe as StreamToStateMachinePipe,
        StreamingTable as StreamingTable,
    )
    from .warehouse import (
        RedshiftSqlRunner as RedshiftSqlRunner,
        RedshiftTarget as RedshiftTarget,
    )
    from .worker_pool import (
        ContainerWorkers as ContainerWorkers,
        JobApiOptions as JobApiOptions,
        LambdaWorkers as LambdaWorkers,
        SqsWorkerPool as SqsWorkerPool,
        WorkerCompute as WorkerCompute,
    )
    from .zero_etl import (
        AuroraToRedshift as AuroraToRedshift,
        CopyFormat as CopyFormat,
        DynamoDbToRedshift as DynamoDbToRedshift,
        KinesisStreamingIngestion as KinesisStreamingIngestion,
        MskStreamingIngestion as MskStreamingIngestion,
        S3AutoCopy as S3AutoCopy,
    )
    from .zero_etl import (
        DirectQueryDomainOptions as DirectQueryDomainOptions,
        PipelineCodec as PipelineCodec,
        PipelineCompression as PipelineCompression,
        S3DirectQuery as S3DirectQuery,
        S3IngestionPipeline as S3IngestionPipeline,
    )

_EXPORTS: dict[str, tuple[str, ...]] = {
    ".airflow": (
        "AirflowLogLevel", "AirflowVersion", "EnvironmentClass", "ManagedAirflow",
        "WebserverAccess", "WorkerReplacement",
    ),
    ".etl": (
        "EndpointDeployment", "EtlRetryPolicy", "EtlStep", "EtlTrigger", "EvaluationGate",
        "ItemProcessor", "LargeInput", "MlWorkflow", "RunStatus", "SageMakerProcessing",
        "SageMakerTraining", "StepContext", "StepFunctionsEtl", "StepKind",
    ),
    ".event_routing": (
        "EventRouter", "NotificationFanOut", "PipeEnrichment", "PipeLogLevel",
        "QueueToStateMachinePipe", "RouteTarget", "RoutingRule", "TopicSubscription",
        "WorkflowSubscription", "catalog_pattern", "detail_input",
    ),
    ".ingestion": (
        "EventDrivenIngestion", "FanOutSubscriber", "IngestionTarget", "ObjectValidationRules",
        "ReconciliationSweep",
    ),
    ".serverless_analytics": (
        "AthenaNamedQuery", "AthenaOptions", "CatalogOptions", "CollectionType",
        "CurationJobOptions", "DataLakeOptions", "DataZone", "EmrArchitecture", "EmrOptions",
        "MskOptions", "OpenSearchOptions", "RedshiftOptions", "ServerlessAnalytics",
        "SourceFormat",
    ),
    ".streaming": (
        "ConsumerHandler", "DataLakeDeliveryStream", "KinesisDataStream", "LakeColumn",
        "LakePartition", "LakeTransform", "StreamConsumer", "StreamSource",
        "StreamToStateMachinePipe", "StreamingTable",
    ),
    ".warehouse": ("RedshiftSqlRunner", "RedshiftTarget"),
    ".worker_pool": (
        "ContainerWorkers", "JobApiOptions", "LambdaWorkers", "SqsWorkerPool", "WorkerCompute",
    ),
    ".zero_etl": ("AuroraToRedshift", "CopyFormat", "DynamoDbToRedshift",
                  "KinesisStreamingIngestion", "MskStreamingIngestion", "S3AutoCopy",
                  "DirectQueryDomainOptions", "PipelineCodec", "PipelineCompression",
                  "S3DirectQuery", "S3IngestionPipeline"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the pattern module that defines ``name`` on first access."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
