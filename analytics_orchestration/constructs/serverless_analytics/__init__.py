"""ServerlessAnalytics: data lake, catalog, Athena, Redshift, EMR, MSK and OpenSearch
Serverless as one construct whose parts can each be turned off."""

from .construct import ServerlessAnalytics
from .options import (
    AthenaNamedQuery,
    AthenaOptions,
    CatalogOptions,
    CollectionType,
    CurationJobOptions,
    DataLakeOptions,
    DataZone,
    EmrArchitecture,
    EmrOptions,
    MskOptions,
    OpenSearchOptions,
    RedshiftOptions,
    SourceFormat,
)

__all__ = [
    "AthenaNamedQuery",
    "AthenaOptions",
    "CatalogOptions",
    "CollectionType",
    "CurationJobOptions",
    "DataLakeOptions",
    "DataZone",
    "EmrArchitecture",
    "EmrOptions",
    "MskOptions",
    "OpenSearchOptions",
    "RedshiftOptions",
    "ServerlessAnalytics",
    "SourceFormat",
]
