"""Example stacks: each composes the library's public constructs into one real scenario."""

from .etl_batch_stack import BatchProcessingStack
from .etl_glue_stack import GlueEtlStack
from .etl_ml_stack import MlWorkflowStack
from .event_routing_stack import EventRoutingStack
from .ingestion_stack import IngestionStack
from .job_queue_stack import JobQueueStack
from .serverless_analytics_stack import ServerlessAnalyticsStack

__all__ = [
    "BatchProcessingStack",
    "EventRoutingStack",
    "GlueEtlStack",
    "IngestionStack",
    "JobQueueStack",
    "MlWorkflowStack",
    "ServerlessAnalyticsStack",
]
