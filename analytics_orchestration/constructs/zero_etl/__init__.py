"""Zero-ETL into Redshift Serverless, each a single construct that deploys ready to query.

- :class:`S3AutoCopy`: files landing in S3 loaded by a COPY job (an S3 event integration);
- :class:`KinesisStreamingIngestion`: a Kinesis stream as an auto-refreshed materialized
  view (payload as SUPER);
- :class:`MskStreamingIngestion`: a topic of an MSK (Serverless) cluster as an
  auto-refreshed materialized view (payload as SUPER);
- :class:`DynamoDbToRedshift`: a DynamoDB table replicated by a zero-ETL integration;
- :class:`AuroraToRedshift`: an Aurora PostgreSQL or MySQL cluster (created or brought)
  replicated by a zero-ETL integration;
- :class:`S3DirectQuery`: S3 data queried from OpenSearch in place (a direct-query data
  source over the Glue catalog), and :class:`S3IngestionPipeline`, the alternative that
  indexes new objects into an OpenSearch Serverless collection (OpenSearch Ingestion).

The Redshift ones build the CloudFormation side (integration, resource policies, roles
attached to the namespace) and run the SQL only the Data API can run through
:class:`~analytics_orchestration.constructs.warehouse.RedshiftSqlRunner`.
"""

from .aurora import AuroraToRedshift
from .auto_copy import CopyFormat, S3AutoCopy
from .dynamodb import DynamoDbToRedshift
from .ingestion_pipeline import PipelineCodec, PipelineCompression, S3IngestionPipeline
from .msk_ingestion import MskStreamingIngestion
from .opensearch import DirectQueryDomainOptions, S3DirectQuery
from .streaming_ingestion import KinesisStreamingIngestion

__all__ = ["AuroraToRedshift", "CopyFormat", "DirectQueryDomainOptions", "DynamoDbToRedshift",
           "KinesisStreamingIngestion", "MskStreamingIngestion", "PipelineCodec",
           "PipelineCompression", "S3AutoCopy", "S3DirectQuery", "S3IngestionPipeline"]
