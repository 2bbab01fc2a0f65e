"""The benchmark's two-pattern pipeline composed from this library's constructs.

The same pipeline as :mod:`benchmarks.apps.handwritten_pipeline`, each pattern from the
construct that provides it, with the constructs' defaults (one key and one alarm topic
given to all, as the example stacks do) and the strict compliance profile (the same four
packs):

- S3 -> EventBridge -> Step Functions with a Lambda task: :class:`EventDrivenIngestion`
  targeting a :class:`StepFunctionsEtl` workflow whose one step invokes a function built
  with :func:`building_blocks.python_function`;
- SQS -> Lambda with partial batch failures: :class:`SqsWorkerPool` with
  :class:`LambdaWorkers` running the same handler code (no job API: the pipeline has none).

The defaults add what the hand-written copy does not have (object validation and its
ledger, alarms, the workflow's ledger and notifications): the benchmark compares cost per
resource, not per pipeline. ``python benchmarks/apps/library_pipeline.py [COPIES]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from analytics_orchestration import (
    EtlStep,
    EventDrivenIngestion,
    IngestionTarget,
    LambdaWorkers,
    SqsWorkerPool,
    StepFunctionsEtl,
)
from analytics_orchestration import building_blocks as blocks
from analytics_orchestration.compliance import strict_profile

HANDLER = Path(__file__).resolve().parent / "handler"


class LibraryPipeline(Stack):
    """One copy of the two patterns, in its own stack."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        key = blocks.secure_key(self, "Key", description="Encrypts the benchmark pipeline")
        # Alarms need somewhere to go: the constructs take the operations topic.
        alarms = blocks.alarm_topic(self, "Alarms", encryption_key=key)
        process = blocks.python_function(
            self, "Process", code_path=HANDLER, handler="index.handler",
            description="the benchmark workflow's processing task",
        )
        for rule_id in ("Serverless::Serverless-LambdaDLQ",
                        "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ"):
            Validations.of(process.function).acknowledge(Acknowledgment(
                id=rule_id, reason="Invoked synchronously by the workflow, which retries "
                "and records the error itself: no asynchronous invocation to catch."))
        workflow = StepFunctionsEtl(
            self, "Workflow", transform=[EtlStep.lambda_function("Process", process.function)],
            encryption_key=key, alarm_topic=alarms,
        )
        EventDrivenIngestion(
            self, "Landing", targets=[IngestionTarget.state_machine(workflow.state_machine)],
            encryption_key=key, alarm_topic=alarms,
        )
        SqsWorkerPool(
            self, "Jobs", enable_api=False, encryption_key=key, alarm_topic=alarms,
            workers=LambdaWorkers(code=lambda_.Code.from_asset(str(HANDLER)),
                                  handler="index.handler"),
        )


def build(copies: int) -> App:
    """The app: ``copies`` pipeline stacks and the strict profile."""
    app = App()
    for index in range(copies):
        LibraryPipeline(app, f"LibraryPipeline{index}")
    strict_profile(app)
    return app


if __name__ == "__main__":
    build(int(sys.argv[1]) if len(sys.argv) > 1 else 1).synth()
