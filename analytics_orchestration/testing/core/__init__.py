"""The harness's core: what every service emulator shares, and nothing service-specific.

- :mod:`.kernel`: :class:`~.kernel.Kernel`, one per harness: account, region, boto3 clients,
  the virtual clock, the work loop, the registry of deployed resources and the patcher.
- :mod:`.loop`: :class:`~.loop.EventLoop`, the queue of asynchronous work (event deliveries,
  async invocations) and the pollers (SQS event sources, pipes) that ``settle()`` runs.
- :mod:`.registry`: :class:`~.registry.DeployedResource` and the lookups by construct path,
  logical id, physical id or ARN; CloudFormation-style generated names.
- :mod:`.deploy`: creating a template's resources in dependency order through the resource
  handlers the services contribute.
- :mod:`.template`: reading a synthesized template (intrinsics, assets, construct paths).
- :mod:`.patching`: replacing moto internals for the life of a harness; the virtual clock.
- :mod:`.patterns`: the EventBridge event-pattern language (rules, event source mapping and
  pipe filters share it).

Modules here import nothing from :mod:`..services` or the facade (``harness``): the import
graph points facade -> services -> core (``tests/testing/test_import_graph.py``).
"""
