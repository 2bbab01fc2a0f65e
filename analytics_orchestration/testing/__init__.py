"""Run a synthesized CDK stack end to end, offline, inside pytest.

Install with the extra ``analytics-orchestration[testing]`` (moto pinned to exactly 5.2.5,
jsonata-python). Importing this package with any other moto raises
:class:`MotoVersionMismatchError` naming both versions: the harness patches moto internals.

Public API
==========
``OfflineAws(region=..., account_id=..., ignore_resource_types=...,``
``max_deliveries_without_dlq=3, iam="enforce")``
    Context manager; starts ``moto.mock_aws`` (Step Functions executing) and the patches.
    ``iam``: ``"enforce"`` (default; or the ``OFFLINE_AWS_IAM`` environment variable),
    ``"report"`` or ``"off"`` (see IAM below).
``offline_aws`` (pytest fixture, from :mod:`analytics_orchestration.testing.pytest_plugin`)
    Yields an entered :class:`OfflineAws` per test; ``@pytest.mark.offline_aws(**options)``
    (on the test, its class or module) passes ``OfflineAws``'s keyword arguments
    (``account_id``, ``region``, ``ignore_resource_types``...), so an
    :class:`UnsupportedResourceError`'s advice is pasted there as written.
    ``offline_aws_factory`` creates configured harnesses inside a test.

On the handle:

- deploy: ``deploy(stack)`` or ``deploy(template=..., asset_dir=..., stack_name=...)``;
- lookups: ``resource(path_or_id)`` (construct path such as ``"Ingestion/Ledger"``, logical
  id, physical id or ARN) -> :class:`DeployedResource`; ``physical_id(...)``; ``arn(...)``;
  ``client(service)`` for anything else;
- acting: ``put_object`` (``emit_event=False``: no S3 notification at all, a lost event),
  ``delete_object``, ``send_message``, ``publish``, ``put_events``,
  ``invoke``, ``start_execution`` (each accepts a construct path/logical id or a physical
  name, and settles the system before returning); ``http_request(api, method, path,
  body=..., headers=..., caller=...)`` calls a REST API and returns an
  :class:`HttpResponse` (``status``, ``headers``, ``body``, ``text``);
- API destinations: ``api_destination_calls(destination)`` lists each :class:`HttpCall` a
  rule made (method, URL, headers with the connection's authorization, body, attempt,
  status); ``respond_from_api_destination(destination, 503, 200)`` scripts the endpoint's
  answers (a status, an :class:`HttpAnswer` with ``Retry-After``, or a callable);
- time: ``advance(days=..., hours=..., minutes=..., seconds=...)`` fires the scheduled rules
  and Scheduler schedules due on the way, oldest first, and returns each :class:`Firing`;
  ``now`` is the virtual time;
- waiting: ``settle()`` (queued deliveries, pollers, and the Step Functions executions
  running in moto's threads until each has finished or waits for a callback such as a task
  token), ``wait_for_executions(state_machine, count=...)``, ``wait_for_execution(arn)``;
- reading back: ``executions(...)``, ``execution_history(arn)`` (and ``Execution.history()``,
  ``Execution.states_entered()``), ``table_items(table)``, ``queue_messages(queue)``,
  ``get_object``, ``list_objects``, ``invocations(function)``, ``events_seen`` (every event put
  on each bus, by bus name), ``events_on(bus)``, ``virtual_seconds``,
  ``iam_denials(kind=None)``.
- the run: ``journal`` (every object stored or deleted, event put and routed, function
  invoked with its result or error, message queued, published or dead-lettered, item
  written and execution started, in order, with who did it: recorded where it happens,
  moto's own deliveries included) and ``report(path)``, a self-contained HTML report of
  it (:mod:`~analytics_orchestration.testing.report`: the timeline with each execution's
  states, retries and catches, each workflow's graph with the path taken marked, the final
  tables, queues and buckets) to look at a failing test instead of only reading it;
- handler errors: ``lambda_errors(function=None)`` (every failed invocation, with the
  handler's traceback); ``expect_lambda_errors(function=None, error_type=None)`` declares a
  failure the test drives; ``check_lambda_errors()`` raises :class:`UnexpectedHandlerErrors`
  for errors no synchronous caller received (async invocations, SQS batches, pipe
  enrichments) and none declared. The ``offline_aws`` fixture runs it at teardown.
- analytics jobs (``aws.analytics``, :class:`AnalyticsServices`): ``on(service, name,
  handler)`` runs a fake of a Glue job, crawler, Athena work group, Batch job definition,
  EMR Serverless job or SageMaker processing/training job (it may read and write S3 and
  return fields of the job's description); ``fail(service, name, reason)`` (or a handler
  raising :class:`JobFailed`) fails it; ``runs(...)`` lists every :class:`JobRun`;
  ``models`` / ``endpoint_configs`` / ``endpoints`` hold what workflows created;
  ``run_schedule(path)`` starts what an EventBridge Scheduler schedule targets, now.

Where things live
=================
One module per service under ``services/``, around a small ``core/``; imports point one way,
facade -> services -> core (``tests/testing/test_import_graph.py`` fails on a cycle or an
upward import):

- ``harness.py``: the facade, :class:`OfflineAws` (wires the services, test-facing API);
- ``core/``: ``kernel`` (account, region, clients, clock, shared by every service),
  ``loop`` (queued asynchronous work and pollers: what ``settle()`` runs), ``registry``
  (deployed resources and lookups), ``deploy`` (creation order, no-op types), ``template``
  (intrinsics, assets), ``patching`` (moto patches, virtual clock), ``patterns``
  (EventBridge pattern language, shared by rules and filters), ``streams`` and
  ``stream_polling`` (how a stream consumer reads shards: batches, bisect, retries,
  record age, tumbling windows), ``journal`` (what each service did, for the report);
- ``services/``: ``s3``, ``sqs``, ``sns``, ``lambda_`` (+ ``lambda_runtime``), ``events``
  (EventBridge), ``scheduler`` (scheduled rules, EventBridge Scheduler), ``apigateway``
  (+ ``apigateway_vtl``), ``stepfunctions``, ``pipes`` (+ ``stream_pipes``), ``firehose``,
  ``dynamodb`` (+ ``dynamodb_streams``), ``kinesis``, ``stream_sources`` (stream event
  source mappings), ``iam`` (roles, keys, parameters), ``analytics`` (Glue, Athena, Batch,
  EMR Serverless, SageMaker), ``redshift_data`` (the Redshift Data API, Redshift
  Serverless), ``custom_resources`` (provider-framework custom resources), ``recording``
  (the journal's entries for what moto's S3, SQS, SNS and DynamoDB backends store). Each holds that
  service's resource handlers, its moto patches and its runtime behaviour. Adding a service
  (MWAA...) is one
  more module there, constructed in :class:`OfflineAws`: the steps are in
  :mod:`analytics_orchestration.testing.services`.

What runs
=========
- Resources created directly from the template (not via moto's CloudFormation, which skips
  subscriptions and queue policies and cannot run the CDK's notification custom resource):
  S3 buckets (versioning, notification configuration incl. EventBridge), SQS queues (redrive),
  SNS topics and subscriptions (raw delivery, filter policies), DynamoDB tables (indexes, TTL,
  streams), Lambda functions, event source mappings and event-invoke configs, IAM roles, KMS
  keys, SSM parameters, state machines, event buses and rules, Redshift Serverless
  namespaces and workgroups, and ``Custom::S3BucketNotifications``. IAM policies, resource
  policies, log groups, alarms, KMS aliases and the CDK's auto-delete/log-retention custom
  resources create nothing in moto (policies are indexed for IAM evaluation, below). Any
  other type
  raises :class:`UnsupportedResourceError` naming it (or pass ``ignore_resource_types``).
- Custom resources of the CDK provider framework (``custom_resources.Provider``): the
  request goes to the user's ``on_event`` handler and, with an ``is_complete`` handler, is
  polled as the waiter state machine retries it (its deployed interval, backoff and
  attempts, on virtual time; out of attempts: "Operation timed out"). A handler error fails
  the deploy with :class:`CustomResourceFailedError` (the reason CloudFormation would show).
  :meth:`OfflineAws.update` sends Update requests to the provider-framework resources whose
  properties changed (Delete for removed or replaced ones) and creates new resources;
  :meth:`OfflineAws.destroy` sends Delete requests in reverse creation order. No other
  resource is updated or deleted. ``aws.custom_resource_requests`` lists every request.
- Redshift Data API (``aws.redshift_data``): ``ExecuteStatement``,
  ``BatchExecuteStatement``, ``DescribeStatement``, ``ListStatements`` (the caller's own,
  as its API reference documents), ``GetStatementResult`` and ``CancelStatement`` from
  handlers and from Step Functions' ``aws-sdk:redshiftdata`` tasks,
  recorded in order (``calls``, ``statements``, ``sql_run()``); statuses go SUBMITTED ->
  STARTED -> FINISHED on virtual time (``statement_seconds``); ``fail_statements``,
  ``abort_statements`` and ``throttle_statements`` by SQL pattern; ``set_result`` injects
  rows; ``ClientToken`` is idempotent; the statement-owner condition key is enforced.
- Lambda: the real handler, imported from the cloud assembly's asset directory (or inline
  code), called in-process with the function's environment variables and a Lambda-like
  context. Each handler is imported when its function is deployed: one that cannot be
  imported (a package missing from the test environment) raises :class:`HandlerImportError`
  with the import's traceback. Handler exceptions come back in Lambda's error shape
  (``errorType`` = exception class name), so Step Functions ``Retry``/``Catch`` match on
  them. Asynchronous invocations (S3, SNS, EventBridge, ``InvocationType=Event``) retry
  ``MaximumRetryAttempts`` times (default 2), then go to the on-failure destination or the
  function's dead-letter queue.
- SQS -> Lambda event source mappings, polled by :meth:`OfflineAws.settle`: batch size, filter
  criteria, ``ReportBatchItemFailures`` (malformed responses fail the whole batch); failed
  messages are redelivered at once and moved to the DLQ by the queue's redrive policy.
- EventBridge: patterns validated (``PutRule`` rejects what AWS rejects, naming the problem)
  and matched as AWS's rule engine does (:mod:`~.core.patterns`: prefix, suffix, wildcard,
  numeric, anything-but, exists, equals-ignore-case, cidr, ``$or``, arrays of objects with
  array consistency, booleans distinct from numbers); the same engine filters event source
  mappings, pipes and SNS subscriptions. Delivery to Lambda, SQS (incl. FIFO group id), SNS,
  Step Functions and event-bus targets with ``Input``, ``InputPath`` or ``InputTransformer``
  applied as AWS does: a path missing from the event gives ``""``, objects and lists inside
  a string are written AWS's way (``{acc_id:0a787ecb-4015,sf_id:baz}``),
  ``<aws.events.event>`` is the event without ``detail`` (``detailType``), a template that
  yields invalid JSON delivers nothing, and ``PutTargets`` rejects a placeholder the
  transformer does not define. S3 sends "Object Created"/"Object Deleted" events
  in AWS's shape to the default bus when the bucket has EventBridge notifications on, with
  the object key as it is (not URL-encoded, as captured from AWS; sources in
  ``services/s3.py``).
- Streams (:mod:`~.services.kinesis`, :mod:`~.services.dynamodb_streams`,
  :mod:`~.services.stream_sources`, :mod:`~.services.stream_pipes`): Kinesis streams in
  moto (``put_record``/``put_records`` here or boto3; shards by partition-key hash;
  arrival times on the virtual clock) and DynamoDB Streams (INSERT/MODIFY/REMOVE with the
  view type's images; a write that changes nothing writes no record). Lambda event source
  mappings and pipes read them per shard in order: batch size, filter criteria, starting
  position, partial batch responses (the lowest failed record is the checkpoint),
  bisect on error (no retry used), retry attempts, maximum record age (``advance``),
  tumbling windows (state passed between invocations, a final ``isFinalInvokeForWindow``
  invocation when the window ends), on-failure destinations (SQS, SNS, S3) and pipe
  dead-letter queues with the batch metadata AWS sends; Express targets of a pipe run
  synchronously. ``blocked_shards`` shows a shard stuck behind a record retried forever.
- Event routing (:mod:`~.services.events`, :mod:`~.services.pipes`,
  :mod:`~.services.firehose`): an EventBridge target
  that refuses a delivery (deleted queue, state machine or topic; function not deployed)
  sends the event to the target's ``DeadLetterConfig`` queue with AWS's ``RULE_ARN``,
  ``TARGET_ARN``, ``ERROR_CODE`` and ``ERROR_MESSAGE`` attributes (without a DLQ the error
  is raised from ``settle()``); ``AWS::Pipes::Pipe`` from SQS (filter criteria, batch size,
  optional Lambda enrichment called synchronously with the batch) to Step Functions, one
  execution per batch with the batch as a JSON array, failed batches redelivered and
  dead-lettered by the queue's redrive policy; ``AWS::KinesisFirehose::DeliveryStream``
  with an S3 destination, fed by PutRecord(Batch), SNS ``firehose`` subscriptions (raw,
  filtered) or a Kinesis stream as its source (read per shard in order from ``LATEST`` at
  creation, as the source role: the Kinesis read actions and the stream key's
  ``kms:Decrypt``): buffering (delivered when full, when its interval passes on ``aws.advance``,
  or on ``aws.flush_delivery_streams()``), the Lambda transform (Ok / Dropped /
  ProcessingFailed, failures under the error prefix), dynamic partitioning (a JQ subset),
  prefix expressions, GZIP, and Parquet through the Glue table's schema (``pyarrow``);
  ``AWS::Events::EventBusPolicy`` and
  ``AWS::Logs::LogStream`` as no-ops.
- Step Functions: moto's interpreter, with JSONata evaluated by jsonata-python (``$uuid()``
  and ``$hash()`` included), optimized/aws-sdk integrations given the API's parameter casing
  (``states:startExecution`` incl. ``.sync``/``.sync:2``), aws-sdk error names such as
  ``S3.NoSuchKeyException``, Distributed Map with an S3 item reader, intrinsic functions
  with ``null`` arguments, definition string literals with their JSON escapes decoded,
  ``$$.Execution.RedriveCount`` (0), and virtual time: a
  ``Wait`` or a retry back-off advances ``virtual_seconds`` instead of sleeping. The
  interpreter is patched with the first ``stepfunctions`` client the harness makes (deploying
  a state machine, ``start_execution``, ``client("stepfunctions")``), so a stack without one
  never loads it; create state machines through those, not a client of your own.
- Analytics integrations, emulated (:mod:`~analytics_orchestration.testing.services.analytics`):
  ``glue:startJobRun``, ``athena:startQueryExecution``, ``batch:submitJob``,
  ``emr-serverless:startJobRun``, ``sagemaker:createProcessingJob`` / ``createTrainingJob``
  (each also ``.sync``), ``sagemaker:createModel`` / ``createEndpointConfig`` /
  ``createEndpoint`` / ``updateEndpoint``, and aws-sdk ``glue:startCrawler`` /
  ``getCrawler`` and ``sagemaker:listEndpoints``: AWS's response shapes and error names,
  ``States.TaskFailed`` for a failed job, existence checks against the deployed template.
  Jobs finish when started (a crawl reports RUNNING for one poll). Glue jobs, crawlers,
  tables and security configurations, Athena work groups, Batch, EMR Serverless, Scheduler,
  ECR, EC2 network resources and Glue databases deploy as records.
  ``$$.Execution.StartTime`` is ISO 8601 and a Fail state may re-raise ``States.*`` errors.
- API Gateway REST APIs (:mod:`~.services.apigateway`): routing (``{param}``, ``{proxy+}``),
  ``AWS_IAM`` authorization of the ``caller`` against its role's identity policies in the
  template (unsigned: 403 ``Missing Authentication Token``; denied: 403 ``User: ... is not
  authorized to perform: execute-api:Invoke``), request validators (required parameters;
  body against the model, JSON schema draft 4: 400 ``Invalid request body``), request and
  response mapping templates in Velocity (``airspeed``) with ``$input`` (``body``,
  ``json``, ``path``, ``params``), ``$util`` (``escapeJavaScript``, ``parseJson``,
  ``urlEncode``/``urlDecode``, ``base64Encode``/``base64Decode``), ``$context``
  (``requestId``, ``identity.*``, ``httpMethod``, ``resourcePath``, ``stage``,
  ``responseOverride``...), passthrough behaviours, AWS integrations with SQS
  (``SendMessage``, query protocol) and DynamoDB (any action), mock integrations,
  integration response selection and parameter mappings.
- Schedules (:mod:`~.services.scheduler`): scheduled rules (UTC) and Scheduler schedules
  (rate, cron, at; time zones with daylight saving; start/end dates; disabled) fire on
  ``advance(...)``; AWS's six-field cron (``?``, ``L``, ``W``, ``LW``, ``nL``, ``#``,
  names, years) is parsed by the harness, anything else refused naming the expression.
  Deploying a resource type in ``ignore_resource_types`` (or a built-in no-op) answers
  every ``Fn::GetAtt`` on it with a stand-in value, so other resources may refer to it.

Fidelity
========
``tests/fidelity/`` runs cases taken from AWS's own public material (the EventBridge rule
engine's tests and README, github.com/aws/event-ruler; the EventBridge, SNS, Step
Functions, API Gateway and Lambda developer guides), each citing its source, through the
harness's public surface.
A case is correct (the harness does what AWS does), refused (the harness raises an error
naming the feature) or wrong; the suite fails on any wrong one. Score per service (before
the fidelity work of issue 11 the same cases scored 46/53, 21/60, 9/11, 44/56 and 4/8):

- EventBridge patterns: 53/53 correct, 0 refused
- EventBridge pattern validation: 60/60 correct, 0 refused
- EventBridge input transformer: 11/11 correct, 0 refused
- SNS filter policies: 56/56 correct, 0 refused
- Step Functions: 8/8 correct, 0 refused
- API Gateway mapping templates: 8/8 correct, 0 refused (new with the API Gateway emulation)
- EventBridge API destinations: 13/13 correct, 0 refused (new with the API destination
  emulation)
- Lambda stream event sources: 12/12 correct, 0 refused (new with the stream emulation)
- Firehose dynamic partitioning: 4/4 correct, 0 refused (new with the Firehose emulation)

IAM
===
Every AWS call made by a handler (as the function's execution role), a Step Functions
task (as the state machine's role, or the task's ``Credentials``), a pipe (its role), an
EventBridge rule target (the target's role, or ``events.amazonaws.com`` with
``aws:SourceArn`` = the rule), an SNS subscription (``sns.amazonaws.com`` with the topic as
source), an S3 notification (``s3.amazonaws.com``), an SQS event source mapping's poller
(the function's role), Lambda destinations and DLQs (the function's role) and a Scheduler
schedule run by ``run_schedule`` (its role) is evaluated with AWS's policy logic
(:mod:`~analytics_orchestration.testing.core.iam_engine`) against the deployed identity
policies (inline, customer-managed, the AWS-managed ones the library attaches), resource
policies (queue, topic, bucket, bus, table, Lambda permissions; queue policies set through
the API too) and key policies (a write to or read from a CMK-encrypted queue, topic or
bucket needs the KMS actions too, asked with ``kms:ViaService``). Denied calls fail as on
AWS: ``AccessDenied``/``AccessDeniedException``/``AuthorizationError`` (AWS's message naming
the principal, action and resource) into the handler or the task; an EventBridge delivery
into the target's DLQ; an SNS delivery to the subscription's DLQ (or nowhere); a refused
poller leaves the messages in the queue. ``aws.iam_denials()`` lists every denial, every
condition key or operator the engine cannot evaluate (the statement fails closed: an Allow
does not apply, a Deny does) and every operation the harness cannot map to IAM actions (let
through, listed as ``"unevaluated"``). Alarms never fire offline: each alarm's SNS actions
are evaluated once at deploy, as ``cloudwatch.amazonaws.com`` with the alarm as
``aws:SourceArn``, and a refusal is recorded (not raised). Not evaluated: calls the test
makes itself (deploy, ``put_object``...), ``.sync`` polling calls of Step Functions,
CloudWatch Logs writes, S3 notifications to SQS and SNS, SNS's default topic policy,
permissions boundaries, SCPs and KMS grants.

What does not
=============
- Lambda memory size and timeout are not enforced; concurrency limits and reserved
  concurrency are ignored; layers are not loaded (their packages, e.g. Powertools, must be
  installed in the test environment); only Python runtimes run (others raise
  :class:`UnsupportedIntegrationError` when invoked); Powertools' tracer is disabled.
- Wall-clock time is not virtual: ``time.time()`` in handlers is real; SQS delays and
  visibility timeouts are not waited for (failed messages are redelivered immediately).
- Schedules fire only when a test calls ``advance`` (never during ``settle``), without
  Scheduler's retries or flexible-window randomness (a flexible window fires at its start);
  API Gateway throttling, usage plans, API keys, caching, gateway responses, resource
  policies, Cognito/Lambda authorizers and HTTP integrations are not emulated (refused by
  name). Job scripts and containers never run (register a
  fake); DynamoDB/Kinesis event sources, container-image
  functions, nested stacks, ``Fn::ImportValue`` and custom resources other than the CDK's
  bucket-notification one are unsupported. An API request's ``execute-api:Invoke`` is
  judged on the caller role's identity policies without conditions (a condition is
  refused by name); the integration's own role is not evaluated.
- EventBridge retries, throttling and ``RetryPolicy`` are not emulated (a refused delivery
  is dead-lettered at once), except for API destinations: their HTTP answers are retried
  as EventBridge documents (429 and 5xx, within the retry policy; no real back-off, no
  rate limit, no OAuth connections); archives and replays do nothing; pipe input
  templates and pipe sources/targets other than SQS -> Step Functions raise
  :class:`UnsupportedIntegrationError`; so do Firehose ORC output and destinations other
  than S3; KPL-aggregated records are not de-aggregated (:mod:`~.services.firehose`).
- Only one harness may be active per process at a time (moto's mock is process-wide).
"""

from __future__ import annotations

from analytics_orchestration.testing._version import REQUIRED_MOTO_VERSION, check_moto_version
from analytics_orchestration.testing.exceptions import (
    ExecutionTimeoutError,
    HandlerImportError,
    HarnessStateError,
    MotoVersionMismatchError,
    OfflineHarnessError,
    ResourceNotFoundError,
    TemplateResolutionError,
    UnexpectedHandlerErrors,
    UnsupportedIntegrationError,
    UnsupportedResourceError,
)

check_moto_version()

from analytics_orchestration.testing.core.registry import DeployedResource  # noqa: E402
from analytics_orchestration.testing.harness import (  # noqa: E402
    Execution,
    Firing,
    HttpAnswer,
    HttpCall,
    HttpResponse,
    OfflineAws,
    QueueMessage,
)
from analytics_orchestration.testing.services.analytics import (  # noqa: E402
    AnalyticsServices,
    JobFailed,
    JobRun,
)
from analytics_orchestration.testing.services.lambda_runtime import Invocation  # noqa: E402

__all__ = [
    "REQUIRED_MOTO_VERSION",
    "AnalyticsServices",
    "DeployedResource",
    "Execution",
    "ExecutionTimeoutError",
    "Firing",
    "HandlerImportError",
    "HarnessStateError",
    "HttpAnswer",
    "HttpCall",
    "HttpResponse",
    "Invocation",
    "JobFailed",
    "JobRun",
    "MotoVersionMismatchError",
    "OfflineAws",
    "OfflineHarnessError",
    "QueueMessage",
    "ResourceNotFoundError",
    "TemplateResolutionError",
    "UnexpectedHandlerErrors",
    "UnsupportedIntegrationError",
    "UnsupportedResourceError",
    "check_moto_version",
]
