"""Zero-ETL into Redshift Serverless, each a single construct that deploys ready to query.

- :class:`S3AutoCopy`: files landing in S3 loaded by a COPY job (an S3 event integration);
- :class:`KinesisStreamingIngestion`: a Kinesis stream as an auto-refreshed materialized
  view (payload as SUPER);
- :class:`DynamoDbToRedshift`: a DynamoDB table replicated by a zero-ETL integration;
- :class:`AuroraToRedshift`: an Aurora PostgreSQL or MySQL cluster (created or brought)
  replicated by a zero-ETL integration.

Each builds the CloudFormation side (integration, resource policies, roles attached to the
namespace) and runs the SQL only the Data API can run through
:class:`~analytics_orchestration.constructs.warehouse.RedshiftSqlRunner`.
"""

from .aurora import AuroraToRedshift
from .auto_copy import CopyFormat, S3AutoCopy
from .dynamodb import DynamoDbToRedshift
from .streaming_ingestion import KinesisStreamingIngestion

__all__ = ["AuroraToRedshift", "CopyFormat", "DynamoDbToRedshift", "KinesisStreamingIngestion",
           "S3AutoCopy"]
