"""analytics-orchestration: secure, tested AWS CDK constructs for data-analytics workflows.

Import the constructs from here::

    from analytics_orchestration import EventDrivenIngestion, IngestionTarget
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import AnalyticsOrchestrationError, ConfigurationError
from .event_catalog import (
    ETL_RUN_FAILED,
    ETL_RUN_SUCCEEDED,
    JOB_FAILED,
    JOB_SUCCEEDED,
    LIBRARY_EVENTS,
    OBJECT_ACCEPTED,
    OBJECT_NOTIFICATION_FIELDS,
    OBJECT_REJECTED,
    OBJECTS_RECONCILED,
    LibraryEvent,
)

if TYPE_CHECKING:
    from .constructs import (
        AirflowLogLevel as AirflowLogLevel,
        AirflowVersion as AirflowVersion,
        AthenaNamedQuery as AthenaNamedQuery,
        AthenaOptions as AthenaOptions,
        CatalogOptions as CatalogOptions,
        CollectionType as CollectionType,
        ConsumerHandler as ConsumerHandler,
        ContainerWorkers as ContainerWorkers,
        CurationJobOptions as CurationJobOptions,
        DataLakeDeliveryStream as DataLakeDeliveryStream,
        DataLakeOptions as DataLakeOptions,
        DataZone as DataZone,
        EmrArchitecture as EmrArchitecture,
        EmrOptions as EmrOptions,
        EnvironmentClass as EnvironmentClass,
        EndpointDeployment as EndpointDeployment,
        EtlRetryPolicy as EtlRetryPolicy,
        EtlStep as EtlStep,
        EtlTrigger as EtlTrigger,
        EvaluationGate as EvaluationGate,
        EventDrivenIngestion as EventDrivenIngestion,
        EventRouter as EventRouter,
        FanOutSubscriber as FanOutSubscriber,
        IngestionTarget as IngestionTarget,
        ItemProcessor as ItemProcessor,
        JobApiOptions as JobApiOptions,
        KinesisDataStream as KinesisDataStream,
        LakeColumn as LakeColumn,
        LakePartition as LakePartition,
        LakeTransform as LakeTransform,
        LambdaWorkers as LambdaWorkers,
        LargeInput as LargeInput,
        ManagedAirflow as ManagedAirflow,
        MlWorkflow as MlWorkflow,
        MskOptions as MskOptions,
        NotificationFanOut as NotificationFanOut,
        ObjectValidationRules as ObjectValidationRules,
        OpenSearchOptions as OpenSearchOptions,
        PipeEnrichment as PipeEnrichment,
        PipeLogLevel as PipeLogLevel,
        QueueToStateMachinePipe as QueueToStateMachinePipe,
        ReconciliationSweep as ReconciliationSweep,
        RedshiftOptions as RedshiftOptions,
        RouteTarget as RouteTarget,
        RoutingRule as RoutingRule,
        RunStatus as RunStatus,
        SageMakerProcessing as SageMakerProcessing,
        SageMakerTraining as SageMakerTraining,
        ServerlessAnalytics as ServerlessAnalytics,
        SourceFormat as SourceFormat,
        RedshiftSqlRunner as RedshiftSqlRunner,
        RedshiftTarget as RedshiftTarget,
        AuroraToRedshift as AuroraToRedshift,
        CopyFormat as CopyFormat,
        DynamoDbToRedshift as DynamoDbToRedshift,
        KinesisStreamingIngestion as KinesisStreamingIngestion,
        MskStreamingIngestion as MskStreamingIngestion,
        S3AutoCopy as S3AutoCopy,
        DirectQueryDomainOptions as DirectQueryDomainOptions,
        PipelineCodec as PipelineCodec,
        PipelineCompression as PipelineCompression,
        S3DirectQuery as S3DirectQuery,
        S3IngestionPipeline as S3IngestionPipeline,
        SqsWorkerPool as SqsWorkerPool,
        StepContext as StepContext,
        StepFunctionsEtl as StepFunctionsEtl,
        StepKind as StepKind,
        StreamConsumer as StreamConsumer,
        StreamSource as StreamSource,
        StreamToStateMachinePipe as StreamToStateMachinePipe,
        StreamingTable as StreamingTable,
        TopicSubscription as TopicSubscription,
        WebserverAccess as WebserverAccess,
        WorkerCompute as WorkerCompute,
        WorkerReplacement as WorkerReplacement,
        WorkflowSubscription as WorkflowSubscription,
        catalog_pattern as catalog_pattern,
        detail_input as detail_input,
    )
    from .constructs._foundation import (
        DESTROY_ON_REMOVAL_CONTEXT_KEY as DESTROY_ON_REMOVAL_CONTEXT_KEY,
        TargetRetryPolicy as TargetRetryPolicy,
    )

#: Names served from the construct modules, imported on first access (see
#: ``analytics_orchestration.constructs``): importing the package stays cheap.
_FOUNDATION_NAMES = ("DESTROY_ON_REMOVAL_CONTEXT_KEY", "TargetRetryPolicy")

__all__ = [
    "DESTROY_ON_REMOVAL_CONTEXT_KEY",
    "ETL_RUN_FAILED",
    "ETL_RUN_SUCCEEDED",
    "JOB_FAILED",
    "JOB_SUCCEEDED",
    "LIBRARY_EVENTS",
    "OBJECTS_RECONCILED",
    "OBJECT_ACCEPTED",
    "OBJECT_NOTIFICATION_FIELDS",
    "OBJECT_REJECTED",
    "AirflowLogLevel",
    "AirflowVersion",
    "AnalyticsOrchestrationError",
    "AthenaNamedQuery",
    "AthenaOptions",
    "AuroraToRedshift",
    "CatalogOptions",
    "CollectionType",
    "ConfigurationError",
    "ConsumerHandler",
    "ContainerWorkers",
    "CopyFormat",
    "CurationJobOptions",
    "DataLakeDeliveryStream",
    "DataLakeOptions",
    "DataZone",
    "DirectQueryDomainOptions",
    "DynamoDbToRedshift",
    "EmrArchitecture",
    "EmrOptions",
    "EndpointDeployment",
    "EnvironmentClass",
    "EtlRetryPolicy",
    "EtlStep",
    "EtlTrigger",
    "EvaluationGate",
    "EventDrivenIngestion",
    "EventRouter",
    "FanOutSubscriber",
    "IngestionTarget",
    "ItemProcessor",
    "JobApiOptions",
    "KinesisDataStream",
    "KinesisStreamingIngestion",
    "LakeColumn",
    "LakePartition",
    "LakeTransform",
    "LambdaWorkers",
    "LargeInput",
    "LibraryEvent",
    "ManagedAirflow",
    "MlWorkflow",
    "MskOptions",
    "MskStreamingIngestion",
    "NotificationFanOut",
    "ObjectValidationRules",
    "OpenSearchOptions",
    "PipeEnrichment",
    "PipeLogLevel",
    "PipelineCodec",
    "PipelineCompression",
    "QueueToStateMachinePipe",
    "ReconciliationSweep",
    "RedshiftOptions",
    "RedshiftSqlRunner",
    "RedshiftTarget",
    "RouteTarget",
    "RoutingRule",
    "RunStatus",
    "S3AutoCopy",
    "S3DirectQuery",
    "S3IngestionPipeline",
    "SageMakerProcessing",
    "SageMakerTraining",
    "ServerlessAnalytics",
    "SourceFormat",
    "SqsWorkerPool",
    "StepContext",
    "StepFunctionsEtl",
    "StepKind",
    "StreamConsumer",
    "StreamSource",
    "StreamToStateMachinePipe",
    "StreamingTable",
    "TargetRetryPolicy",
    "TopicSubscription",
    "WebserverAccess",
    "WorkerCompute",
    "WorkerReplacement",
    "WorkflowSubscription",
    "catalog_pattern",
    "detail_input",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Serve construct and foundation names lazily, importing only what is used."""
    if name in _FOUNDATION_NAMES:
        value = getattr(importlib.import_module(".constructs._foundation", __name__), name)
    else:
        # import_module, not `from . import constructs`: the latter looks the submodule up
        # as an attribute first, which would recurse into this function.
        constructs = importlib.import_module(".constructs", __name__)
        if name not in constructs.__all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(constructs, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
