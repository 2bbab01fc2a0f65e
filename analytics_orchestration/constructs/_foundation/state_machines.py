"""Step Functions state machines that log everything, trace, and time out."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .logs import log_group as build_log_group
from .roles import acknowledge_resourceless_actions, depend_on_role_policies_only

DEFAULT_STATE_MACHINE_TIMEOUT = Duration.hours(1)


def observable_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    definition_body: sfn.DefinitionBody,
    timeout: Duration = DEFAULT_STATE_MACHINE_TIMEOUT,
    state_machine_type: sfn.StateMachineType = sfn.StateMachineType.STANDARD,
    encryption_key: kms.IKey | None = None,
    comment: str | None = None,
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    """A state machine logging ALL events (with execution data) and traced with X-Ray.

    Every execution stops after ``timeout`` instead of hanging forever. Its role's
    ``Resource::*`` statements are X-Ray's and CloudWatch Logs delivery's only (they take
    no resource), which is acknowledged here once.
    """
    execution_log_group = build_log_group(
        scope, f"{construct_id}LogGroup", encryption_key=encryption_key
    )
    state_machine = sfn.StateMachine(
        scope,
        construct_id,
        definition_body=definition_body,
        state_machine_type=state_machine_type,
        timeout=timeout,
        tracing_enabled=True,
        comment=comment,
        logs=sfn.LogOptions(
            destination=execution_log_group,
            level=sfn.LogLevel.ALL,
            include_execution_data=True,
        ),
    )
    cfn_state_machine = state_machine.node.default_child
    role = state_machine.role
    if isinstance(cfn_state_machine, sfn.CfnStateMachine) and isinstance(role, iam.Role):
        depend_on_role_policies_only(cfn_state_machine, role)
    acknowledge_resourceless_actions(
        state_machine.role, "X-Ray tracing and CloudWatch Logs delivery of a state machine"
    )
    return state_machine, execution_log_group
