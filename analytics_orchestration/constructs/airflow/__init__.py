"""Managed Airflow (Amazon MWAA): a private environment whose code is deployed by version."""

from .environment import ManagedAirflow
from .options import (
    AirflowLogLevel,
    AirflowVersion,
    EnvironmentClass,
    WebserverAccess,
    WorkerReplacement,
)

__all__ = [
    "AirflowLogLevel",
    "AirflowVersion",
    "EnvironmentClass",
    "ManagedAirflow",
    "WebserverAccess",
    "WorkerReplacement",
]
