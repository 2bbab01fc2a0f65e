"""What the documentation site documents: its patterns and where each runs in the example app.

One entry per pattern page (``docs/patterns/<slug>.md``). ``modules`` are read for the
pattern's documented defaults and its extension points, ``events`` name the
:mod:`analytics_orchestration.event_catalog` events it emits, and ``instances`` are the
constructs of the example app that compose it: ``(stack name, construct path under the
stack)``. The generator fails when an instance is not in the synthesized app, so a renamed
construct breaks ``make docs`` instead of leaving a page about nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    """One pattern page of the site."""

    slug: str
    title: str
    modules: tuple[str, ...]
    events: tuple[str, ...] = ()
    instances: tuple[tuple[str, str], ...] = ()


_C = "analytics_orchestration.constructs"

PATTERNS: tuple[Pattern, ...] = (
    Pattern("ingestion", "Event-driven ingestion", (f"{_C}.ingestion",),
            ("OBJECT_ACCEPTED", "OBJECT_REJECTED", "OBJECTS_RECONCILED"),
            (("AnalyticsIngestion", "Ingestion"),)),
    Pattern("event-routing", "Event routing",
            (f"{_C}.event_routing.router", f"{_C}.event_routing.fan_out",
             f"{_C}.event_routing.pipe", f"{_C}.event_routing.targets",
             f"{_C}.event_routing.catalog"),
            (),
            (("AnalyticsEventRouting", "Router"), ("AnalyticsEventRouting", "Notifications"))),
    Pattern("worker-pool", "SQS worker pool",
            (f"{_C}.worker_pool.pool", f"{_C}.worker_pool.options", f"{_C}.worker_pool._api",
             f"{_C}.worker_pool._container"),
            ("JOB_SUCCEEDED", "JOB_FAILED"),
            (("AnalyticsJobQueue", "ReportJobs"), ("AnalyticsJobQueue", "HeavyJobs"))),
    Pattern("etl", "Step Functions ETL",
            (f"{_C}.etl.workflow", f"{_C}.etl.steps", f"{_C}.etl.triggers",
             f"{_C}.etl.policies", f"{_C}.etl.large_input", f"{_C}.etl.ml"),
            ("ETL_RUN_SUCCEEDED", "ETL_RUN_FAILED"),
            (("AnalyticsGlueEtl", "SalesEtl"), ("AnalyticsMlWorkflow", "ChurnModel"),
             ("AnalyticsBatchProcessing", "NightlyReadings"))),
    Pattern("serverless-analytics", "Serverless analytics",
            (f"{_C}.serverless_analytics.construct", f"{_C}.serverless_analytics.options"),
            (),
            (("AnalyticsServerless", "Platform"),)),
    Pattern("streaming", "Streaming",
            (f"{_C}.streaming.stream", f"{_C}.streaming.table", f"{_C}.streaming.consumer",
             f"{_C}.streaming.pipe", f"{_C}.streaming.delivery"),
            (),
            (("AnalyticsStreaming", "Clickstream"), ("AnalyticsStreaming", "PageCounts"),
             ("AnalyticsStreaming", "SessionAlertsPipe"), ("AnalyticsStreaming", "RawEvents"))),
    Pattern("zero-etl", "Zero-ETL into Redshift",
            (f"{_C}.zero_etl._common", f"{_C}.zero_etl.auto_copy",
             f"{_C}.zero_etl.streaming_ingestion", f"{_C}.zero_etl.dynamodb"),
            (),
            (("AnalyticsZeroEtl", "PartnerOrders"), ("AnalyticsZeroEtl", "ClickstreamView"),
             ("AnalyticsZeroEtl", "OrdersDatabase"))),
    Pattern("airflow", "Managed Airflow",
            (f"{_C}.airflow.environment", f"{_C}.airflow.options"),
            (),
            (("AnalyticsAirflow", "Airflow"),)),
    Pattern("warehouse", "Warehouse SQL runner",
            (f"{_C}.warehouse.runner", f"{_C}.warehouse.target", f"{_C}.warehouse.sql"),
            (),
            (("AnalyticsGlueEtl", "WarehouseSchema"), ("AnalyticsZeroEtl", "WarehouseSchema"))),
    Pattern("building-blocks", "Building blocks",
            ("analytics_orchestration.building_blocks",
             *(f"{_C}._foundation.{name}" for name in (
                 "backups", "buckets", "delivery_streams", "event_buses", "event_targets",
                 "functions", "keys", "logs", "queues", "state_machines", "streams",
                 "tables", "topics", "alarms", "networks", "repositories", "rest_apis",
                 "removal"))),
            ()),
)
