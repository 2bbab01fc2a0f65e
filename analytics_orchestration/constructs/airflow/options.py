"""The closed sets of an MWAA environment and the limits MWAA puts on them.

Sources: the ``AWS::MWAA::Environment`` schema cfn-lint 1.58 ships (property names, the
log levels, ``WorkerReplacementStrategy``, the 1-5 scheduler range), botocore's MWAA model
and the MWAA user guide (the Airflow versions MWAA accepts, the environment classes and
their scheduler counts).
"""

from __future__ import annotations

import enum

__all__ = [
    "AirflowLogLevel",
    "AirflowVersion",
    "EnvironmentClass",
    "WebserverAccess",
    "WorkerReplacement",
]


class AirflowVersion(enum.Enum):
    """An Apache Airflow version MWAA runs (botocore 1.44's list).

    PyPI's newest Airflow is not necessarily one of them: pin DAG tests to the
    environment's version (``make test-dags`` does, for :attr:`V2_10_3`).
    """

    V2_7_2 = "2.7.2"
    V2_8_1 = "2.8.1"
    V2_9_2 = "2.9.2"
    V2_10_1 = "2.10.1"
    V2_10_3 = "2.10.3"
    V2_11_0 = "2.11.0"
    V3_0_6 = "3.0.6"

    @property
    def python_version(self) -> str:
        """The Python MWAA runs this version on (the constraints file it is resolved with)."""
        return "3.12" if self is AirflowVersion.V3_0_6 else "3.11"

    @property
    def constraints_url(self) -> str:
        """Airflow's official constraints file for this version on MWAA's Python."""
        return (
            "https://raw.githubusercontent.com/apache/airflow/"
            f"constraints-{self.value}/constraints-{self.python_version}.txt"
        )


class EnvironmentClass(enum.Enum):
    """The size of the scheduler, worker and web server containers (MWAA's classes)."""

    MW1_MICRO = "mw1.micro"
    MW1_SMALL = "mw1.small"
    MW1_MEDIUM = "mw1.medium"
    MW1_LARGE = "mw1.large"
    MW1_XLARGE = "mw1.xlarge"
    MW1_2XLARGE = "mw1.2xlarge"

    @property
    def scheduler_range(self) -> tuple[int, int]:
        """How many schedulers MWAA accepts: exactly 1 on mw1.micro, else 2 to 5."""
        return (1, 1) if self is EnvironmentClass.MW1_MICRO else (2, 5)

    @property
    def max_webservers(self) -> int:
        """mw1.micro runs a single web server; the other classes up to 5."""
        return 1 if self is EnvironmentClass.MW1_MICRO else 5


class WebserverAccess(enum.Enum):
    """Who reaches the Airflow UI and REST API (``WebserverAccessMode``)."""

    #: Only from inside the VPC, through the endpoint MWAA creates (the default).
    PRIVATE_ONLY = "PRIVATE_ONLY"
    #: From the internet (IAM still authenticates each login).
    PUBLIC_ONLY = "PUBLIC_ONLY"


class AirflowLogLevel(enum.Enum):
    """The level each of the environment's five log types is written at."""

    CRITICAL = "CRITICAL"
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"
    DEBUG = "DEBUG"


class WorkerReplacement(enum.Enum):
    """How workers are replaced when an update restarts them."""

    #: Running tasks finish (for up to 12 hours) before their worker stops (the default).
    GRACEFUL = "GRACEFUL"
    #: Workers stop at once; running tasks fail and retry as their DAG says.
    FORCED = "FORCED"
