"""Public pattern constructs, one module per pattern.

The private ``_foundation`` package holds the secure builders they share.
"""

from .ingestion import (
    EventDrivenIngestion,
    FanOutSubscriber,
    IngestionTarget,
    ObjectValidationRules,
)

__all__ = ["EventDrivenIngestion", "FanOutSubscriber", "IngestionTarget", "ObjectValidationRules"]
