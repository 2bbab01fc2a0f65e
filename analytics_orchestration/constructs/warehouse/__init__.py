"""The warehouse: Redshift SQL at deploy time (``RedshiftSqlRunner``) and its target.

Named for what it serves rather than for one feature: the zero-ETL integrations (Aurora,
DynamoDB and S3 into Redshift, streaming ingestion) each end in SQL on the warehouse
(``CREATE DATABASE ... FROM INTEGRATION``, ``COPY ... JOB CREATE``, ``CREATE EXTERNAL
SCHEMA``), and the ETL workflow's Redshift step runs against the same
:class:`RedshiftTarget`; both build on this module.
"""

from .runner import RedshiftSqlRunner
from .sql import identifier_problem, qualified_name, quote_identifier, quote_literal
from .target import RedshiftTarget

__all__ = ["RedshiftSqlRunner", "RedshiftTarget", "identifier_problem", "qualified_name",
           "quote_identifier", "quote_literal"]
