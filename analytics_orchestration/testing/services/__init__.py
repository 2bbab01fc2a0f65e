"""One module per AWS service the harness emulates.

Where behaviour lives:

====================  ======================================================================
module                what it emulates
====================  ======================================================================
``s3``                buckets, notifications (to Lambda, to EventBridge in AWS's event shape)
``sqs``               queues, the SQS record shape, reading queues, redelivery and redrive
``sns``               topics, subscriptions, delivery to Lambda / Firehose, filter policies
``lambda_``           functions run in-process, SQS event source mappings, asynchronous
                      invocation (retries, destinations, DLQ)
``lambda_runtime``    importing and calling one handler (environment, context, error shape)
``events``            buses, rules, PutEvents, pattern matching (via ``core.patterns``), targets,
                      input transformers, target dead-letter queues; ``api_destinations``: Secrets
                      Manager secrets, connections, API destinations and the HTTP calls rules
                      make to them (recorded, answered by the test, 429/5xx retried)
``stepfunctions``     state machines and moto's interpreter patches (JSONata, virtual time,
                      integration casing, intrinsic functions)
``pipes``             ``AWS::Pipes::Pipe`` SQS -> (Lambda enrichment) -> Step Functions
``stream_pipes``      pipes from Kinesis / DynamoDB streams, Express targets run synchronously
``kinesis``           Kinesis data streams and enhanced fan-out consumers (moto), virtual time
``dynamodb_streams``  the change records of tables with a stream, in Lambda's shape
``stream_sources``    Lambda event source mappings from Kinesis and DynamoDB streams: batches,
                      bisect, partial responses, retries, record age, tumbling windows,
                      on-failure destinations (the engine: ``core.stream_polling``)
``firehose``          ``AWS::KinesisFirehose::DeliveryStream`` to S3 (Direct PUT, SNS, a
                      Kinesis stream source read with ``core.stream_polling``)
``scheduler``         scheduled rules and EventBridge Scheduler schedules on virtual time
                      (``OfflineAws.advance``), AWS's cron dialect, rate and at expressions
``apigateway``        REST APIs: routing, IAM authorization, request validation, AWS (SQS,
                      DynamoDB) and mock integrations, integration responses;
                      ``apigateway_vtl``: the mapping templates' ``$input``/``$util``/``$context``
``analytics``         Glue, Athena, Batch, EMR Serverless, SageMaker fakes
``dynamodb``          tables
``iam``               roles, KMS keys, SSM parameters (created in moto)
``iam_enforcement``   IAM enforced: the policy index, the acting principal, the boto3 hook
``rds``               Aurora clusters, instances, parameter and subnet groups (moto's RDS)
``redshift_data``     the Redshift Data API (statements in order, statuses on virtual time,
                      injected results, failures and aborts by SQL pattern), Redshift
                      Serverless namespaces and workgroups, zero-ETL integrations (recorded,
                      not replicating; Aurora ones refused as AWS refuses them)
``opensearch``        OpenSearch domains, direct-query data sources, Serverless collections and
                      their policies, Ingestion pipelines (recorded, checked as the services
                      would; ``run_pipeline`` runs an S3-source pipeline once, as its role)
``custom_resources``  provider-framework custom resources: Create, Update and Delete through
                      the user's ``on_event`` / ``is_complete`` handlers, waiter retries
====================  ======================================================================

Adding a service (MWAA...)
--------------------------
1. Create ``services/<name>.py`` with one class taking the
   :class:`~analytics_orchestration.testing.core.kernel.Kernel` (and, as constructor
   arguments, the other service objects it calls: e.g. ``LambdaService`` to invoke a
   function). It may define

   - ``resource_handlers() -> dict[str, Handler]``: CloudFormation type -> create function
     (``core.deploy.Handler``), returning the ``Ref`` value and the ``GetAtt`` attributes;
   - ``apply(patcher)``: the moto internals it replaces, each with a comment saying why;
   - a poller (``kernel.loop.add_poller(self.poll)``) when AWS polls a source (like an event
     source mapping), or ``kernel.loop.enqueue(...)`` for asynchronous work.
2. Construct it in :class:`~analytics_orchestration.testing.harness.OfflineAws` (``_services``
   lists them in dependency order) and, if tests act on it, add a facade method there.
3. Import only ``core`` and the services it calls, never ``harness``: the import-graph test
   (``tests/testing/test_import_graph.py``) fails on a cycle.
4. Add fidelity cases under ``tests/fidelity/cases/`` citing AWS's own material.
"""
