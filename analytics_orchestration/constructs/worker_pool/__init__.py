"""SqsWorkerPool: a job queue, a scalable pool of workers and an API that accepts jobs.

- :mod:`.pool`: the construct;
- :mod:`.options`: what runs the jobs (:class:`LambdaWorkers`, :class:`ContainerWorkers`)
  and how the job API behaves (:class:`JobApiOptions`);
- ``_api`` and ``_container``: the API Gateway integrations and the ECS service.
"""

from .options import ContainerWorkers, JobApiOptions, LambdaWorkers, WorkerCompute
from .pool import SqsWorkerPool

__all__ = ["ContainerWorkers", "JobApiOptions", "LambdaWorkers", "SqsWorkerPool", "WorkerCompute"]
