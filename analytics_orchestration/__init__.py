"""analytics-orchestration: secure, tested AWS CDK constructs for data-analytics workflows.

Import the constructs from here::

    from analytics_orchestration import EventDrivenIngestion, IngestionTarget
"""

from .constructs import (
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    ObjectValidationRules,
)
from .constructs._foundation import DESTROY_ON_REMOVAL_CONTEXT_KEY, TargetRetryPolicy
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
    LibraryEvent,
)

__all__ = [
    "DESTROY_ON_REMOVAL_CONTEXT_KEY",
    "ETL_RUN_FAILED",
    "ETL_RUN_SUCCEEDED",
    "JOB_FAILED",
    "JOB_SUCCEEDED",
    "LIBRARY_EVENTS",
    "OBJECT_ACCEPTED",
    "OBJECT_NOTIFICATION_FIELDS",
    "OBJECT_REJECTED",
    "AnalyticsOrchestrationError",
    "ConfigurationError",
    "EventDrivenIngestion",
    "FanOutSubscriber",
    "IngestionTarget",
    "LibraryEvent",
    "ObjectValidationRules",
    "TargetRetryPolicy",
]

__version__ = "0.1.0"
