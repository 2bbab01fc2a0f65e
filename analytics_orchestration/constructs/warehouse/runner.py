"""``RedshiftSqlRunner``: SQL run on Redshift when a stack is created, updated or deleted."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, CustomResource, Duration, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from .._foundation import acknowledge, is_unresolved, log_group, python_function
from .._foundation.compliance import nag_reference
from .._foundation.functions import (
    ASSET_EXCLUDES,
    OUTSIDE_VPC_REASON,
    acknowledge_no_dead_letter_queue,
    handler_asset_path,
)
from .._foundation.roles import depend_on_role_policies_only
from .._foundation.validation import Items, ProblemCollector, Span, Text, validated_props
from .target import STATEMENT_ACTIONS, RedshiftTarget

__all__ = ["RedshiftSqlRunner"]

#: How often the waiter asks whether the statements finished.
DEFAULT_QUERY_INTERVAL = Duration.seconds(10)
#: After this long the deploy fails, whatever the statements' state.
DEFAULT_TOTAL_TIMEOUT = Duration.minutes(30)
#: The custom resource's type (``Custom::`` + a name of the library's).
RESOURCE_TYPE = "Custom::RedshiftSql"
#: The Data API's limit on one statement (100 KB).
MAX_STATEMENT_BYTES = 100_000
#: Statements per list: one ListStatements page (100) a poll reads them all; an update
#: runs the old drop_sql and the new create_sql, two pages at most.
MAX_STATEMENTS = 100
#: What ``is_complete`` reads its request's statements with, once a poll; it lists only
#: the caller's own statements and accepts no resource but ``*``.
LIST_STATEMENTS_ACTION = "redshift-data:ListStatements"
#: An IAM tag value holds at most 256 characters.
_MAX_TAG_VALUE = 256
_STATEMENTS = Items(min_items=0, max_items=MAX_STATEMENTS,
                    each=Text(max_length=MAX_STATEMENT_BYTES))
_HANDLER_NAME = "redshift_sql"
#: The principal tag Redshift Serverless reads the database roles of an IAM identity from
#: ("Defining database roles to grant to federated users in Amazon Redshift Serverless").
DATABASE_ROLES_TAG = "RedshiftDbRoles"


@validated_props({"create_sql": Items(max_items=MAX_STATEMENTS,
                                      each=Text(max_length=MAX_STATEMENT_BYTES)),
                  "drop_sql": _STATEMENTS,
                  "database_roles": Items(min_items=0, unique=True,
                                          each=Text(max_length=127)),
                  "query_interval": Span(Duration.seconds(1), Duration.minutes(10),
                                         whole_seconds=True, meaning="1 second to 10 minutes"),
                  "total_timeout": Span(Duration.minutes(1), Duration.hours(2),
                                        whole_seconds=True, meaning="1 minute to 2 hours")})
class RedshiftSqlRunner(Construct):
    """Runs SQL through the Redshift Data API at deploy time, and drop SQL on delete.

    For what CloudFormation cannot declare (``CREATE DATABASE ... FROM INTEGRATION``,
    ``COPY ... JOB CREATE``, ``CREATE EXTERNAL SCHEMA``, tables, grants). A custom resource
    of the CDK provider framework: ``on_event`` checks the request, ``is_complete`` runs
    at once and then every ``query_interval``, starting each statement once the previous
    one FINISHED (only it calls the Data API, so it can read every statement it ran): one
    ``ListStatements`` a poll and one ``ExecuteStatement`` a statement.
    Statements run one by one, never batched into one transaction (the
    statements above cannot run in one). A statement that ends FAILED or ABORTED fails the
    deploy with its text and Redshift's error; ``total_timeout`` bounds the whole request.

    On **update**: unchanged SQL runs nothing; changed SQL runs the *previous* ``drop_sql``
    (if any), then the new ``create_sql``; a changed workgroup or database replaces the
    resource (``create_sql`` on the new target, then the old ``drop_sql`` on the old one).
    So write ``create_sql`` to be re-runnable after ``drop_sql`` (``IF NOT EXISTS`` where
    Redshift has it). On **delete**: ``drop_sql`` in order. Build quoted names with
    :func:`~analytics_orchestration.constructs.warehouse.sql.quote_identifier`.

    :param target: the workgroup and database (and credentials) statements run in.
    :param create_sql: statements run on create (and on an update that changes them).
    :param drop_sql: statements run on delete, and before ``create_sql`` when it changes.
        Default: none (deleting the stack leaves the objects in the database).
    :param query_interval: time between two polls of the statements. Default: 10 seconds.
    :param total_timeout: the deploy fails when the statements are not done by then.
        Default: 30 minutes.
    :param encryption_key: encrypts the handlers' logs. Default: the stack's shared key.
    :param database_roles: with IAM credentials, the database roles the statements run
        with: :attr:`role` is tagged ``RedshiftDbRoles`` (colon-separated), which Redshift
        Serverless grants the role's database user ``IAMR:<role>`` at sign-in (e.g.
        ``["sys:superuser"]`` to create schemas and external schemas). Default: none, the
        user's own privileges (a new user has only PUBLIC's).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: RedshiftTarget,
        create_sql: Sequence[str],
        drop_sql: Sequence[str] = (),
        query_interval: Duration = DEFAULT_QUERY_INTERVAL,
        total_timeout: Duration = DEFAULT_TOTAL_TIMEOUT,
        encryption_key: kms.IKey | None = None,
        database_roles: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        problems = ProblemCollector(f"RedshiftSqlRunner {self.node.path}")
        interval, timeout = query_interval.to_seconds(), total_timeout.to_seconds()
        for prop, seconds, value in (("query_interval", interval, query_interval),
                                     ("total_timeout", timeout, total_timeout)):
            if is_unresolved(seconds):
                problems.add(prop, value.to_string(), "must be a literal duration: the "
                             "provider's number of polls is computed while the app is built")
        if not (is_unresolved(interval) or is_unresolved(timeout)) and interval > 0:
            problems.check(interval < timeout, "query_interval",
                           query_interval.to_human_string(),
                           "must be shorter than total_timeout")
            problems.check(timeout % interval == 0, "total_timeout",
                           total_timeout.to_human_string(),
                           "must be a whole number of query intervals (the provider polls "
                           "total_timeout / query_interval times)")
        roles = ":".join(r for r in database_roles if not is_unresolved(r))
        problems.check(len(roles) <= _MAX_TAG_VALUE, "database_roles", list(database_roles),
                       f"joined with ':', at most {_MAX_TAG_VALUE} characters (an IAM tag)")
        problems.raise_if_any()
        self.target = target
        self.create_sql = tuple(create_sql)
        self.drop_sql = tuple(drop_sql)
        code = lambda_.Code.from_asset(str(handler_asset_path(_HANDLER_NAME)),
                                       exclude=list(ASSET_EXCLUDES))
        handlers = {}
        for name, handler, description in (
            ("OnEvent", "index.on_event", "checks each request"),
            ("IsComplete", "index.is_complete", "runs the statements one by one"),
        ):
            built = python_function(
                self, name, code=code, handler=handler,
                description=f"Redshift SQL of {self.node.path}: {description}",
                service_name="redshift_sql", log_encryption_key=encryption_key,
                timeout=Duration.minutes(1),
            )
            acknowledge_no_dead_letter_queue(
                built.function,
                "The provider framework invokes it synchronously; its error fails the "
                "CloudFormation request, which reports it.",
            )
            handlers[name] = built
        self.on_event_function: lambda_.Function = handlers["OnEvent"].function
        self.is_complete_function: lambda_.Function = handlers["IsComplete"].function
        #: The role that runs (and owns) every statement.
        self.role: iam.Role = handlers["IsComplete"].role
        target.grant_execute(self.role)
        iam.Grant.add_to_principal(grantee=self.role, actions=[LIST_STATEMENTS_ACTION],
                                   resource_arns=["*"])
        if database_roles:
            Tags.of(self.role).add(DATABASE_ROLES_TAG, ":".join(database_roles))
        self._acknowledge_statement_actions(self.role)
        self.provider = cr.Provider(
            self, "Provider",
            on_event_handler=self.on_event_function,
            is_complete_handler=self.is_complete_function,
            query_interval=query_interval,
            total_timeout=total_timeout,
            log_group=log_group(self, "ProviderLogs", encryption_key=encryption_key),
            waiter_state_machine_log_options=cr.LogOptions(
                destination=log_group(self, "WaiterLogs", encryption_key=encryption_key),
                include_execution_data=False,
                level=sfn.LogLevel.ALL,
            ),
            provider_function_env_encryption=encryption_key,
            disable_waiter_state_machine_logging=False,
        )
        self._acknowledge_provider()
        self._condition_waiter_trust()
        self._depend_on_framework_policies_only()
        properties: dict[str, object] = {
            "WorkgroupName": target.workgroup_name,
            "Database": target.database,
            "CreateSql": list(self.create_sql),
            "DropSql": list(self.drop_sql),
        }
        if target.secret is not None:
            properties["SecretArn"] = target.secret.secret_arn
        self.resource = CustomResource(
            self, "Resource", service_token=self.provider.service_token,
            resource_type=RESOURCE_TYPE, properties=properties,
        )

    def _acknowledge_statement_actions(self, role: iam.IRole) -> None:
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        acknowledge(
            policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            f"{', '.join(STATEMENT_ACTIONS)} accept no resource but '*'; the statement-owner "
            f"condition limits them to the statements this role ran. {LIST_STATEMENTS_ACTION} "
            "accepts no resource either and lists only the caller's own statements. X-Ray's "
            "actions accept no resource either.",
        )

    def _depend_on_framework_policies_only(self) -> None:
        """The framework's functions and waiter depend on their roles' policies, not on
        the roles they already reference (cfn-lint W3005), as the library's own do."""
        for child in self.provider.node.find_all():
            if isinstance(child, lambda_.Function) and isinstance(child.role, iam.Role):
                cfn = child.node.default_child
                assert isinstance(cfn, lambda_.CfnFunction)
                depend_on_role_policies_only(cfn, child.role)
            elif isinstance(child, sfn.CfnStateMachine):
                role = child.node.scope.node.try_find_child("Role")  # type: ignore[union-attr]
                if isinstance(role, iam.Role):
                    depend_on_role_policies_only(child, role)

    def _condition_waiter_trust(self) -> None:
        """Step Functions may assume the waiter's role only for this account's state
        machines (the confused-deputy conditions, as the library's own state machines have).

        aws-cdk-lib creates the waiter's role without them and offers no prop for it: the
        one trust statement it writes gets the conditions through its L1.
        """
        stack = Stack.of(self)
        for child in self.provider.node.find_all():
            if not isinstance(child, iam.CfnRole) or "waiter-state-machine" not in (
                    child.node.path):
                continue
            child.add_property_override("AssumeRolePolicyDocument.Statement.0.Condition", {
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="states", resource="stateMachine", resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME)},
            })

    def _acknowledge_provider(self) -> None:
        """What cdk-nag finds in the provider framework's own resources, acknowledged there.

        aws-cdk-lib builds the framework's three Node.js functions, their roles and the
        waiter state machine; their properties are not ours to set (an escape hatch on
        each would break with every aws-cdk-lib release). Our two handlers, which do the
        work, carry every default of the library instead.
        """
        function_reasons = {
            "Serverless::Serverless-LambdaDLQ": _FRAMEWORK_SYNC,
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ": _FRAMEWORK_SYNC,
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency":
                "Invoked once per CloudFormation request of this one resource (and by the "
                "waiter): its concurrency is bounded by the stack's deployments.",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC": OUTSIDE_VPC_REASON,
            "cdk-validator-cfnguard::lambda_inside_vpc_check": OUTSIDE_VPC_REASON,
            "Serverless::Serverless-LambdaDefaultMemorySize":
                "The provider framework's function: it only forwards the request to the "
                "library's handlers (which set their memory) and answers CloudFormation.",
            "Serverless::Serverless-LambdaTracing":
                "The provider framework's function (aws-cdk-lib sets no tracing on it); the "
                "library's handlers it invokes are traced with X-Ray.",
        }
        handlers = [self.on_event_function, self.is_complete_function]
        for child in self.provider.node.find_all():
            if isinstance(child, lambda_.CfnFunction):
                for rule, reason in function_reasons.items():
                    acknowledge(child, rule, reason)
            elif isinstance(child, iam.CfnRole) and "framework-" in child.node.path:
                acknowledge(
                    child, "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::"
                    "aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                    "aws-cdk-lib gives the provider framework's functions the basic "
                    "execution role (writing their own logs) and nothing else managed.")
            elif isinstance(child, sfn.CfnStateMachine):
                reason = ("The provider framework's waiter (aws-cdk-lib offers no tracing "
                          "setting for it); it only retries the traced is-complete handler.")
                for rule in ("AwsSolutions::AwsSolutions-SF2",
                             "Serverless::Serverless-StepFunctionStateMachineXray",
                             "cdk-validator-cfnguard::"
                             "step_functions_state_machine_tracing_enabled_check"):
                    acknowledge(child, rule, reason)
        # The framework's functions invoke our two handlers; the waiter invokes the
        # framework's is-complete and timeout functions.
        waited = [c for c in self.provider.node.find_all() if isinstance(c, lambda_.Function)
                  and any(n in c.node.path for n in ("framework-isComplete",
                                                     "framework-onTimeout"))]
        for child in self.provider.node.find_all():
            if not isinstance(child, iam.CfnPolicy):
                continue
            waiter = "waiter-state-machine" in child.node.path
            if waiter:
                acknowledge(
                    child, "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                    "The waiter's log delivery: CloudWatch Logs' vended-log actions accept "
                    "no resource but '*'.")
            for function in waited if waiter else handlers:
                reference = nag_reference(child, f"{function.function_arn}:*")
                acknowledge(
                    child, f"AwsSolutions::AwsSolutions-IAM5[Resource::{reference}]",
                    "aws-cdk-lib's grant_invoke of the provider framework: the function "
                    "and its versions and aliases (ARN:*), of this one function only.")

#: Why the framework's functions need no dead-letter queue.
_FRAMEWORK_SYNC = (
    "Invoked synchronously by CloudFormation's request (and by the waiter state machine); "
    "a failure is answered to CloudFormation, which fails the deploy and reports it."
)
