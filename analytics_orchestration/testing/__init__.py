"""Run a synthesized CDK stack end to end, offline, inside pytest.

Install with the extra ``analytics-orchestration[testing]`` (moto pinned to exactly 5.2.5,
jsonata-python). Importing this package with any other moto raises
:class:`MotoVersionMismatchError` naming both versions: the harness patches moto internals.

Public API
==========
``OfflineAws(region=..., account_id=..., ignore_resource_types=..., max_deliveries_without_dlq=3)``
    Context manager; starts ``moto.mock_aws`` (Step Functions executing) and the patches.
``offline_aws`` (pytest fixture, from :mod:`analytics_orchestration.testing.pytest_plugin`)
    Yields an entered :class:`OfflineAws` per test.

On the handle:

- deploy: ``deploy(stack)`` or ``deploy(template=..., asset_dir=..., stack_name=...)``;
- lookups: ``resource(path_or_id)`` (construct path such as ``"Ingestion/Ledger"``, logical
  id, physical id or ARN) -> :class:`DeployedResource`; ``physical_id(...)``; ``arn(...)``;
  ``client(service)`` for anything else;
- acting: ``put_object``, ``delete_object``, ``send_message``, ``publish``, ``put_events``,
  ``invoke``, ``start_execution`` (each accepts a construct path/logical id or a physical
  name, and settles the system before returning);
- waiting: ``settle()``, ``wait_for_executions(state_machine, count=...)``,
  ``wait_for_execution(arn)``;
- reading back: ``executions(...)``, ``execution_history(arn)`` (and ``Execution.history()``,
  ``Execution.states_entered()``), ``table_items(table)``, ``queue_messages(queue)``,
  ``get_object``, ``list_objects``, ``invocations(function)``, ``events_seen`` (every event put
  on each bus, by bus name), ``events_on(bus)``, ``virtual_seconds``.

What runs
=========
- Resources created directly from the template (not via moto's CloudFormation, which skips
  subscriptions and queue policies and cannot run the CDK's notification custom resource):
  S3 buckets (versioning, notification configuration incl. EventBridge), SQS queues (redrive),
  SNS topics and subscriptions (raw delivery, filter policies), DynamoDB tables (indexes, TTL,
  streams), Lambda functions, event source mappings and event-invoke configs, IAM roles, KMS
  keys, SSM parameters, state machines, event buses and rules, and
  ``Custom::S3BucketNotifications``. IAM policies, resource policies, log groups, alarms, KMS
  aliases and the CDK's auto-delete/log-retention custom resources are no-ops. Any other type
  raises :class:`UnsupportedResourceError` naming it (or pass ``ignore_resource_types``).
- Lambda: the real handler, imported from the cloud assembly's asset directory (or inline
  code), called in-process with the function's environment variables and a Lambda-like
  context. Handler exceptions come back in Lambda's error shape (``errorType`` = exception
  class name), so Step Functions ``Retry``/``Catch`` match on them. Asynchronous invocations
  (S3, SNS, EventBridge, ``InvocationType=Event``) retry ``MaximumRetryAttempts`` times (default
  2), then go to the on-failure destination or the function's dead-letter queue.
- SQS -> Lambda event source mappings, polled by :meth:`OfflineAws.settle`: batch size, filter
  criteria, ``ReportBatchItemFailures`` (malformed responses fail the whole batch); failed
  messages are redelivered at once and moved to the DLQ by the queue's redrive policy.
- EventBridge: moto's pattern matcher (prefix, suffix, wildcard, numeric, anything-but,
  exists, equals-ignore-case, cidr, ``$or``); delivery to Lambda, SQS (incl. FIFO group id),
  SNS, Step Functions and event-bus targets with ``Input``, ``InputPath`` or
  ``InputTransformer`` applied as AWS does. S3 sends "Object Created"/"Object Deleted" events
  in AWS's shape to the default bus when the bucket has EventBridge notifications on.
- Step Functions: moto's interpreter, with JSONata evaluated by jsonata-python (``$uuid()``
  and ``$hash()`` included), optimized/aws-sdk integrations given the API's parameter casing
  (``states:startExecution`` incl. ``.sync``/``.sync:2``), aws-sdk error names such as
  ``S3.NoSuchKeyException``, Distributed Map with an S3 item reader, and virtual time: a
  ``Wait`` or a retry back-off advances ``virtual_seconds`` instead of sleeping.

What does not
=============
- Lambda memory size and timeout are not enforced; concurrency limits and reserved
  concurrency are ignored; layers are not loaded (their packages, e.g. Powertools, must be
  installed in the test environment); only Python runtimes run (others raise
  :class:`UnsupportedIntegrationError` when invoked); Powertools' tracer is disabled.
- Wall-clock time is not virtual: ``time.time()`` in handlers is real; SQS delays and
  visibility timeouts are not waited for (failed messages are redelivered immediately).
- Scheduled rules are not triggered; DynamoDB/Kinesis event sources, container-image
  functions, nested stacks, ``Fn::ImportValue`` and custom resources other than the CDK's
  bucket-notification one are unsupported. EventBridge patterns on arrays of objects are not
  matched (moto's matcher limitation). IAM is not evaluated: a missing grant passes here.
- Only one harness may be active per process at a time (moto's mock is process-wide).
"""

from __future__ import annotations

from analytics_orchestration.testing._version import REQUIRED_MOTO_VERSION, check_moto_version
from analytics_orchestration.testing.exceptions import (
    ExecutionTimeoutError,
    HarnessStateError,
    MotoVersionMismatchError,
    OfflineHarnessError,
    ResourceNotFoundError,
    TemplateResolutionError,
    UnsupportedIntegrationError,
    UnsupportedResourceError,
)

check_moto_version()

from analytics_orchestration.testing._deploy import DeployedResource  # noqa: E402
from analytics_orchestration.testing._lambda_runtime import Invocation  # noqa: E402
from analytics_orchestration.testing.harness import (  # noqa: E402
    Execution,
    OfflineAws,
    QueueMessage,
)

__all__ = [
    "REQUIRED_MOTO_VERSION",
    "DeployedResource",
    "Execution",
    "ExecutionTimeoutError",
    "HarnessStateError",
    "Invocation",
    "MotoVersionMismatchError",
    "OfflineAws",
    "OfflineHarnessError",
    "QueueMessage",
    "ResourceNotFoundError",
    "TemplateResolutionError",
    "UnsupportedIntegrationError",
    "UnsupportedResourceError",
    "check_moto_version",
]
