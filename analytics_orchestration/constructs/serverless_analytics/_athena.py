"""The Athena workgroup: enforced settings, encrypted results, a per-query scan cutoff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ._common import lowercase_name
from .options import ATHENA_ENGINE_VERSION, AthenaNamedQuery, AthenaOptions, DataZone


@dataclass(frozen=True)
class AthenaWorkgroup:
    workgroup: athena.CfnWorkGroup
    named_queries: Sequence[athena.CfnNamedQuery]
    results_location: str


def build_athena(
    scope: Construct,
    *,
    encryption_key: kms.IKey,
    results_bucket: s3.IBucket,
    databases: Mapping[DataZone, glue.IDatabase],
    options: AthenaOptions,
    named_queries: Sequence[AthenaNamedQuery],
) -> AthenaWorkgroup:
    """A workgroup whose settings clients cannot override.

    Results go to ``options.results_prefix`` of ``results_bucket``, SSE-KMS with the
    construct's key and only into a bucket of this account; engine version 3; CloudWatch
    metrics on; a query is cancelled once it scanned
    ``options.bytes_scanned_cutoff_per_query`` bytes.
    """
    results_location = results_bucket.s3_url_for_object(options.results_prefix)
    workgroup = athena.CfnWorkGroup(
        scope,
        "Workgroup",
        name=options.workgroup_name or lowercase_name(scope, max_length=128),
        description=f"Queries over the data lake of {scope.node.path}",
        state="ENABLED",
        work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
            enforce_work_group_configuration=True,
            publish_cloud_watch_metrics_enabled=True,
            bytes_scanned_cutoff_per_query=options.bytes_scanned_cutoff_per_query,
            requester_pays_enabled=False,
            engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                selected_engine_version=ATHENA_ENGINE_VERSION
            ),
            result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                output_location=results_location,
                encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                    encryption_option="SSE_KMS", kms_key=encryption_key.key_arn
                ),
                expected_bucket_owner=Stack.of(scope).account,
            ),
        ),
    )
    queries = []
    for index, query in enumerate(named_queries):
        named = athena.CfnNamedQuery(
            scope,
            f"NamedQuery{index}",
            name=query.name,
            description=query.description,
            database=databases[query.zone].database_name,
            query_string=query.query,
            work_group=workgroup.ref,
        )
        queries.append(named)
    return AthenaWorkgroup(
        workgroup=workgroup, named_queries=queries, results_location=results_location
    )
