"""StepFunctionsEtl: declarative extract-transform-load workflows on Step Functions.

::

    trigger (schedule | event | none)
      -> RecordStart (ledger row RUNNING, DynamoDB, no Lambda)
      -> extract (one step, or a Parallel of sources)
      -> large input (Distributed Map over an S3 prefix or manifest)
      -> transform -> validate (data quality) -> load -> ML stage
      -> RecordSuccess -> NotifySuccess (SNS) -> PublishRunSucceeded (EventBridge)
    any step's error (after its retries) -> RecordFailure -> NotifyFailure
      -> PublishRunFailed -> RunFailed (Fail: the execution ends FAILED with the error)

The state starts as the execution input; each step's result is added at
``$.results.<step name>`` and a caught error at ``$.failure`` (``Error``, ``Cause``), so
``results`` and ``failure`` are reserved input keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from analytics_orchestration.event_catalog import ETL_RUN_FAILED, ETL_RUN_SUCCEEDED

from .._foundation import (
    ProblemCollector,
    TargetRetryPolicy,
    acknowledge,
    dead_letter_queue_alarm,
    observable_state_machine,
    require_feature_flags,
    secure_key,
    secure_table,
    secure_topic,
    target_dead_letter_queue,
)
from .._foundation.alarms import state_machine_alarms
from .._foundation.state_machines import DEFAULT_STATE_MACHINE_TIMEOUT
from .._foundation.validation import validated_props
from .large_input import LargeInput
from .ml import MlStage, MlWorkflow
from .policies import TRANSIENT_ERRORS, EtlRetryPolicy, Retryable
from .steps import EtlStep, StepContext, StepKind, bucket_logical_id
from .triggers import EtlTrigger

__all__ = ["LEDGER_PARTITION_KEY", "RunStatus", "StepFunctionsEtl"]

#: The ledger's partition key: the execution ARN.
LEDGER_PARTITION_KEY = "execution_arn"
#: Express executions run for at most five minutes.
EXPRESS_MAX_TIMEOUT = Duration.minutes(5)
#: The longest a Standard execution may run (one year).
STANDARD_MAX_TIMEOUT = Duration.days(365)
METRIC_PERIOD = Duration.minutes(5)
_WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
#: States the workflow itself adds; steps may not use these names.
RESERVED_STATE_NAMES = frozenset({
    "RecordStart", "Extract", "RecordSuccess", "NotifySuccess", "PublishRunSucceeded",
    "RunSucceeded", "RecordFailure", "NotifyFailure", "PublishRunFailed", "RunFailed",
    "NameMlJobs", "Preprocess", "Train", "ReadMetric", "EvaluationGate", "ModelBelowThreshold",
    "CreateModel", "CreateEndpointConfig", "FindEndpoint", "EndpointExists", "UpdateEndpoint",
    "CreateEndpoint",
})


class RunStatus:
    """The ``status`` values of a ledger row."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@validated_props()
class StepFunctionsEtl(Construct):
    """An ETL workflow: declarative steps, safe by default (retries, catch, ledger, notify).

    Stages run in this order, each optional but at least one step overall: ``extract``
    (several sources run in parallel), ``large_input``, ``transform``, ``validate``,
    ``load`` (in order), ``ml``.

    :param extract: steps reading the sources; more than one run as parallel branches.
        Default: none.
    :param large_input: a Distributed Map over many objects. Default: None.
    :param transform: steps run one after the other. Default: none.
    :param validate: data-quality / validation steps; a failing one fails the run before
        anything is loaded. Default: none.
    :param load: steps run one after the other. Default: none.
    :param ml: a SageMaker stage (preprocess, train, gate, deploy). Default: None.
    :param workflow_name: the name in ledger rows, notifications and events. Default: the
        construct id.
    :param state_machine_type: ``STANDARD`` or ``EXPRESS``. Express needs no ``.sync`` step
        (AWS does not support it) and a timeout of 5 minutes at most. Default: STANDARD.
    :param timeout: stop an execution after this long. Default: 1 hour (Standard),
        5 minutes (Express).
    :param retry: how every task retries its integration's transient errors. Default:
        ``EtlRetryPolicy()`` (5 s, x2, 4 attempts, full jitter, 2-minute cap).
    :param triggers: what starts the workflow. Default: none (by hand or by another
        workflow: see ``grant_start_execution``).
    :param trigger_retry: delivery retry policy of every trigger. Default: 24 hours, 185
        attempts.
    :param ledger_table: the run ledger; its partition key must be the string
        ``execution_arn``. Default: None, a table is created (encrypted, PITR, RETAINed).
    :param notification_topic: where run outcomes are published. Default: None, a
        KMS-encrypted topic is created.
    :param notify_on_success: publish successful runs to the topic too (failures always
        are). Default: True.
    :param event_bus: where EtlRunSucceeded / EtlRunFailed are put. Default: None, the
        account's default bus.
    :param encryption_key: encrypts what the construct creates (ledger, topic, logs).
        Default: None, a rotating key is created.
    :param alarm_topic: where the alarms notify. Default: None, alarms without actions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        extract: Sequence[EtlStep] = (),
        large_input: LargeInput | None = None,
        transform: Sequence[EtlStep] = (),
        validate: Sequence[EtlStep] = (),
        load: Sequence[EtlStep] = (),
        ml: MlWorkflow | None = None,
        workflow_name: str | None = None,
        state_machine_type: sfn.StateMachineType = sfn.StateMachineType.STANDARD,
        timeout: Duration | None = None,
        retry: EtlRetryPolicy | None = None,
        triggers: Sequence[EtlTrigger] = (),
        trigger_retry: TargetRetryPolicy | None = None,
        ledger_table: dynamodb.ITable | None = None,
        notification_topic: sns.ITopic | None = None,
        notify_on_success: bool = True,
        event_bus: events.IEventBus | None = None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        require_feature_flags(self)
        self.extract = tuple(extract)
        self.large_input = large_input
        self.transform = tuple(transform)
        self.validate = tuple(validate)
        self.load = tuple(load)
        self.ml = ml
        self.workflow_name = workflow_name or construct_id
        self.state_machine_type = state_machine_type
        express = state_machine_type == sfn.StateMachineType.EXPRESS
        self.timeout = timeout or (EXPRESS_MAX_TIMEOUT if express else
                                   DEFAULT_STATE_MACHINE_TIMEOUT)
        self.retry = retry or EtlRetryPolicy()
        self.triggers = tuple(triggers)
        self.trigger_retry = trigger_retry or TargetRetryPolicy()
        self.notify_on_success = notify_on_success
        self._alarm_topic = alarm_topic
        self._check_props()

        #: The KMS key of what this construct creates.
        self.encryption_key: kms.IKey = encryption_key or secure_key(
            self, "Key", description=f"Encrypts the ETL workflow {self.node.path}")
        #: One row per execution: status, start, end, error, input.
        self.ledger_table: dynamodb.ITable = ledger_table or secure_table(
            self, "Ledger", partition_key=LEDGER_PARTITION_KEY,
            encryption_key=self.encryption_key)
        #: Where run outcomes are published (message attribute ``status``).
        self.notification_topic: sns.ITopic = notification_topic or secure_topic(
            self, "Notifications", master_key=self.encryption_key,
            display_name=f"ETL runs of {self.workflow_name}"[:100])
        #: Where EtlRunSucceeded / EtlRunFailed are put.
        self.event_bus: events.IEventBus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default")
        #: Every alarm of the workflow.
        self.alarms: list[cloudwatch.Alarm] = []
        #: Every dead-letter queue (one per trigger).
        self.dead_letter_queues: list[sqs.IQueue] = []
        #: The schedules and rules that start the workflow.
        self.trigger_constructs: list[Construct] = []
        self._grants: list[Any] = []
        self._ml_stage: MlStage | None = MlStage(self, ml) if ml is not None else None

        #: The states every caught error leads to (record, notify, fail).
        self.failure_path: sfn.IChainable = self._build_failure_path()
        definition = self._build_definition()
        state_machine, log_group = observable_state_machine(
            self, "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=self.timeout,
            state_machine_type=state_machine_type,
            encryption_key=self.encryption_key,
            comment=f"ETL workflow {self.workflow_name}",
        )
        #: The workflow.
        self.state_machine: sfn.StateMachine = state_machine
        #: Its execution log group (level ALL, with execution data).
        self.log_group: logs.LogGroup = log_group
        self._grant_role(state_machine.role)
        for index, trigger in enumerate(self.triggers):
            self._bind_trigger(trigger, index)
        self._build_alarms()

    # ------------------------------------------------------------------ public API
    @property
    def sagemaker_role(self) -> iam.IRole | None:
        """The role SageMaker jobs run as (None without an ML stage)."""
        return self._ml_stage.role if self._ml_stage is not None else None

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start runs (``states:StartExecution``)."""
        return self.state_machine.grant_start_execution(grantee)

    def grant_read_ledger(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the run ledger (and decrypt it)."""
        return self.ledger_table.grant_read_data(grantee)

    def metric_executions_failed(self, period: Duration = METRIC_PERIOD,
                                 statistic: str = "Sum") -> cloudwatch.Metric:
        """``ExecutionsFailed`` of the state machine."""
        return self.state_machine.metric_failed(period=period, statistic=statistic)

    def metric_executions_succeeded(self, period: Duration = METRIC_PERIOD,
                                    statistic: str = "Sum") -> cloudwatch.Metric:
        """``ExecutionsSucceeded`` of the state machine."""
        return self.state_machine.metric_succeeded(period=period, statistic=statistic)

    def metric_execution_time(self, period: Duration = METRIC_PERIOD,
                              statistic: str = "p90") -> cloudwatch.Metric:
        """``ExecutionTime`` of the state machine (milliseconds)."""
        return self.state_machine.metric_time(period=period, statistic=statistic)

    # ------------------------------------------------------------------ extension points
    def _build_definition(self) -> sfn.IChainable:
        """The whole definition: record the start, run the stages, record and notify.

        Override to reshape the workflow; build states in ``self`` and send errors to
        ``self.failure_path`` (``self._guard(state, integration)`` adds both retry and
        catch).
        """
        return (sfn.Chain.start(self._record_start())
                .next(self._build_stages())
                .next(self._success_path()))

    def _build_stages(self) -> sfn.IChainable:
        """The stages in order: extract, large input, transform, validate, load, ML."""
        pieces: list[sfn.Chain] = []
        if len(self.extract) == 1:
            pieces.append(self._top_level(self.extract[0]))
        elif self.extract:
            pieces.append(self._parallel_extract(self.extract))
        if self.large_input is not None:
            state = self.large_input.build(self, self.retry,
                                           f"$.results.{self.large_input.name}")
            self._guard(state, None)
            pieces.append(sfn.Chain.start(state))
        for step in (*self.transform, *self.validate, *self.load):
            pieces.append(self._top_level(step))
        if self._ml_stage is not None:
            pieces.append(self._ml_stage.build(self._context("$", in_branch=False)))
        chain = pieces[0]
        for piece in pieces[1:]:
            chain = chain.next(piece)
        return chain

    def _guard(self, state: Retryable, integration: str | None) -> None:
        """Retry ``integration``'s transient errors and catch the rest to the failure path."""
        if integration is not None:
            self.retry.apply(state, TRANSIENT_ERRORS[integration])
        state.add_catch(self.failure_path, errors=["States.ALL"], result_path="$.failure")

    # ------------------------------------------------------------------ building
    def _check_props(self) -> None:
        problems = ProblemCollector(f"StepFunctionsEtl {self.node.path}")
        stages = {"extract": self.extract, "transform": self.transform,
                  "validate": self.validate, "load": self.load}
        if not any(stages.values()) and self.large_input is None and self.ml is None:
            problems.add("extract/transform/validate/load/large_input/ml", "no steps",
                         "give at least one step, a large_input or an ml stage")
        express = self.state_machine_type == sfn.StateMachineType.EXPRESS
        seen: dict[str, str] = {}
        for stage, steps in stages.items():
            for index, step in enumerate(steps):
                prop = f"{stage}[{index}]"
                if not isinstance(step, EtlStep) or not isinstance(
                        getattr(step, "kind", None), StepKind):
                    problems.add(prop, step, "must be built with an EtlStep factory "
                                 f"(kinds: {', '.join(k.value for k in StepKind)})")
                    continue
                for found in step.problems(prop):
                    problems.check(False, *found)
                if step.name in RESERVED_STATE_NAMES:
                    problems.add(f"{prop}.name", step.name,
                                 "is a state of the workflow itself; choose another name")
                elif step.name in seen:
                    problems.add(f"{prop}.name", step.name, f"is also the name of {seen[step.name]}"
                                 "; step names must be unique")
                seen.setdefault(step.name, prop)
                if express and step.waits_for_job:
                    problems.add(prop, f"{step.kind.value} step {step.name}",
                                 "waits for a job (.sync), which Express workflows do not "
                                 "support; use state_machine_type STANDARD")
        if self.large_input is not None:
            for found in self.large_input.problems("large_input"):
                problems.check(False, *found)
            if express and isinstance(self.large_input, LargeInput) and (
                    self.large_input.waits_for_job):
                problems.add("large_input.processor", "a Batch job per item",
                             "waits for a job (.sync), which Express workflows do not support")
        if self.ml is not None:
            for found in self.ml.problems("ml"):
                problems.check(False, *found)
            if express:
                problems.add("ml", "SageMaker jobs", "wait for jobs (.sync), which Express "
                             "workflows do not support; use state_machine_type STANDARD")
        problems.check(bool(_WORKFLOW_NAME.match(self.workflow_name)), "workflow_name",
                       self.workflow_name, "must be 1 to 80 letters, digits, '_', '.', '-'")
        limit = EXPRESS_MAX_TIMEOUT if express else STANDARD_MAX_TIMEOUT
        seconds = None if self.timeout.is_unresolved() else self.timeout.to_seconds()
        problems.check(seconds is None or 1 <= seconds <= limit.to_seconds(), "timeout",
                       self.timeout,
                       f"must be 1 second to {limit.to_human_string()} for "
                       f"{'Express' if express else 'Standard'} workflows")
        for found in self.retry.problems("retry"):
            problems.check(False, *found)
        for found in self.trigger_retry.problems("trigger_retry"):
            problems.check(False, *found)
        for index, trigger in enumerate(self.triggers):
            if not isinstance(trigger, EtlTrigger):
                problems.add(f"triggers[{index}]", trigger,
                             "must be built with an EtlTrigger factory")
        problems.raise_if_any()

    def _context(self, result_path: str, *, in_branch: bool) -> StepContext:
        ctx = StepContext(
            scope=self, retry=self.retry, result_path=result_path, in_branch=in_branch,
            catch=lambda state: self._guard(state, None), fail=self._fail_state,
            encryption_key=self.encryption_key,
        )
        self._grants.append(ctx.grants)
        return ctx

    def _fail_state(self, state_name: str, error: str, cause_path: str) -> sfn.IChainable:
        """Top level: record the error and take the failure path (the contexts decide)."""
        return sfn.Pass(self, state_name,
                        parameters={"Error": error, "Cause.$": cause_path},
                        result_path="$.failure").next(self.failure_path)

    def _branch_fail(self, state_name: str, error: str, cause_path: str) -> sfn.IChainable:
        return sfn.Fail(self, state_name, error=error, cause_path=cause_path)

    def _top_level(self, step: EtlStep) -> sfn.Chain:
        return step.build(self._context(f"$.results.{step.name}", in_branch=False))

    def _parallel_extract(self, steps: Sequence[EtlStep]) -> sfn.Chain:
        """Sources extracted at once; ``$.results.<name>`` holds each one's result."""
        parallel = sfn.Parallel(
            self, "Extract",
            result_selector={f"{step.name}.$": f"$[{i}].results.{step.name}"
                             for i, step in enumerate(steps)},
            result_path="$.results",
        )
        for step in steps:
            ctx = self._context(f"$.results.{step.name}", in_branch=True)
            ctx.fail = self._branch_fail
            parallel.branch(step.build(ctx))
        self._guard(parallel, None)
        return sfn.Chain.start(parallel)

    # ------------------------------------------------------------------ ledger, notify
    def _ledger_key(self) -> dict[str, tasks.DynamoAttributeValue]:
        return {LEDGER_PARTITION_KEY: tasks.DynamoAttributeValue.from_string(
            sfn.JsonPath.execution_id)}

    def _record_start(self) -> sfn.State:
        put = tasks.DynamoPutItem(
            self, "RecordStart", table=self.ledger_table,
            item={
                **self._ledger_key(),
                "workflow": tasks.DynamoAttributeValue.from_string(self.workflow_name),
                "status": tasks.DynamoAttributeValue.from_string(RunStatus.RUNNING),
                "started_at": tasks.DynamoAttributeValue.from_string(
                    sfn.JsonPath.execution_start_time),
                "input": tasks.DynamoAttributeValue.from_string(
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$$.Execution.Input"))),
            },
            condition_expression=f"attribute_not_exists({LEDGER_PARTITION_KEY})",
            result_path=sfn.JsonPath.DISCARD,
        )
        self._guard(put, "dynamodb")
        return put

    def _record_outcome(
        self, state_id: str, status: str, *, failed: bool
    ) -> tasks.DynamoUpdateItem:
        values = {
            ":status": tasks.DynamoAttributeValue.from_string(status),
            ":finished": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.state_entered_time),
            ":workflow": tasks.DynamoAttributeValue.from_string(self.workflow_name),
            ":started": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.execution_start_time),
        }
        expression = ("SET #status = :status, finished_at = :finished, workflow = :workflow, "
                      "started_at = if_not_exists(started_at, :started)")
        if failed:
            values[":error"] = tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.failure.Error"))
            values[":cause"] = tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.failure.Cause"))
            expression += ", #error = :error, #cause = :cause"
        names = {"#status": "status"}
        if failed:
            names.update({"#error": "error", "#cause": "cause"})
        return tasks.DynamoUpdateItem(
            self, state_id, table=self.ledger_table, key=self._ledger_key(),
            update_expression=expression,
            expression_attribute_names=names,
            expression_attribute_values=values,
            result_path=sfn.JsonPath.DISCARD,
        )

    def _run_summary(self, status: str, *, failed: bool) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "workflow": self.workflow_name,
            "execution_arn": sfn.JsonPath.execution_id,
            "started_at": sfn.JsonPath.execution_start_time,
            "finished_at": sfn.JsonPath.state_entered_time,
            "status": status,
        }
        if failed:
            summary["error"] = sfn.JsonPath.string_at("$.failure.Error")
            summary["cause"] = sfn.JsonPath.string_at("$.failure.Cause")
        return summary

    def _notify(self, state_id: str, status: str, *, failed: bool) -> tasks.SnsPublish:
        return tasks.SnsPublish(
            self, state_id, topic=self.notification_topic,
            subject=f"ETL run {status}: {self.workflow_name}"[:100],
            message=sfn.TaskInput.from_object(self._run_summary(status, failed=failed)),
            message_attributes={"status": tasks.MessageAttribute(value=status),
                                "workflow": tasks.MessageAttribute(value=self.workflow_name)},
            result_path=sfn.JsonPath.DISCARD,
        )

    def _publish_event(
        self, state_id: str, status: str, *, failed: bool
    ) -> tasks.EventBridgePutEvents:
        event = ETL_RUN_FAILED if failed else ETL_RUN_SUCCEEDED
        return tasks.EventBridgePutEvents(
            self, state_id,
            entries=[tasks.EventBridgePutEventsEntry(
                event_bus=self.event_bus,
                source=event.source,
                detail_type=event.detail_type,
                detail=sfn.TaskInput.from_object(self._run_summary(status, failed=failed)),
            )],
            result_path=sfn.JsonPath.DISCARD,
        )

    def _success_path(self) -> sfn.Chain:
        record = self._record_outcome("RecordSuccess", RunStatus.SUCCEEDED, failed=False)
        self._guard(record, "dynamodb")
        chain = sfn.Chain.start(record)
        if self.notify_on_success:
            notify = self._notify("NotifySuccess", RunStatus.SUCCEEDED, failed=False)
            self._guard(notify, "sns")
            chain = chain.next(notify)
        publish = self._publish_event("PublishRunSucceeded", RunStatus.SUCCEEDED, failed=False)
        self._guard(publish, "events")
        return chain.next(publish).next(sfn.Succeed(self, "RunSucceeded"))

    def _build_failure_path(self) -> sfn.IChainable:
        """Record, notify, publish, then fail with the caught error (retries, no catch)."""
        record = self._record_outcome("RecordFailure", RunStatus.FAILED, failed=True)
        notify = self._notify("NotifyFailure", RunStatus.FAILED, failed=True)
        publish = self._publish_event("PublishRunFailed", RunStatus.FAILED, failed=True)
        self.retry.apply(record, TRANSIENT_ERRORS["dynamodb"])
        self.retry.apply(notify, TRANSIENT_ERRORS["sns"])
        self.retry.apply(publish, TRANSIENT_ERRORS["events"])
        fail = sfn.Fail(self, "RunFailed", error_path="$.failure.Error",
                        cause_path="$.failure.Cause")
        return sfn.Chain.start(record).next(notify).next(publish).next(fail)

    # ------------------------------------------------------------------ role, triggers
    def _grant_role(self, role: iam.IRole) -> None:
        # SNS with a customer-managed key: the publisher needs the key (not granted by
        # SnsPublish); DynamoDB tasks use the table key through the table's grants.
        if isinstance(self.notification_topic, sns.Topic) and (
                self.notification_topic.master_key is not None):
            self.notification_topic.master_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        for grants in self._grants:
            for grant in grants:
                grant(role)
        if self._ml_stage is not None:
            self._ml_stage.grant(role)
        if self.large_input is not None:
            self.large_input.processor.grant(role)
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None and self.large_input is not None:
            self._acknowledge_large_input(policy)

    def _acknowledge_large_input(self, policy: IConstruct) -> None:
        """The Distributed Map's grants: its bucket's objects and the child executions of
        this state machine (a Batch processor acknowledges its own)."""
        assert self.large_input is not None
        logical = bucket_logical_id(self.large_input.bucket)
        if logical is not None:
            acknowledge(
                policy, "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
                f"<{logical}>/*]",
                "The Distributed Map reads the listed objects and writes its results in this "
                "one bucket (CDK's item reader and result writer grants).",
            )
        map_policy = self.state_machine.node.try_find_child("DistributedMapPolicy")
        if map_policy is None:
            return
        stack = Stack.of(self)
        machine = stack.resolve(stack.get_logical_id(
            self.state_machine.node.default_child))  # type: ignore[arg-type]
        name = '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + str(machine) + '"}]}]}'
        for suffix in (":*", "/*:*"):
            acknowledge(
                map_policy,
                "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:"
                f"<AWS::Region>:<AWS::AccountId>:execution:{name}{suffix}]",
                "The Distributed Map starts, reads and stops the child executions of this one "
                "state machine; their names are only known at run time.",
            )

    def _bind_trigger(self, trigger: EtlTrigger, index: int) -> None:
        dead_letters = target_dead_letter_queue(
            self, f"Trigger{index}DeadLetterQueue",
            rule_name=f"trigger {index} of {self.node.path}")
        self.dead_letter_queues.append(dead_letters)
        self.trigger_constructs.append(trigger.bind(
            self, f"Trigger{index}", state_machine=self.state_machine,
            dead_letter_queue=dead_letters, retry=self.trigger_retry))

    def _build_alarms(self) -> None:
        self.alarms.extend(state_machine_alarms(
            self, "", state_machine=self.state_machine, alarm_topic=self._alarm_topic))
        for queue in self.dead_letter_queues:
            self.alarms.append(dead_letter_queue_alarm(
                self, f"{queue.node.id}Alarm", queue=queue, what=queue.node.path,
                alarm_topic=self._alarm_topic))


