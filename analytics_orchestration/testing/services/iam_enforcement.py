"""IAM enforced in the offline harness: who makes each call, and the verdict.

Three parts, so that each service emulator needs one call into this module:

- the policy index (:class:`~..core.iam_index.PolicyIndex`), filled while a template
  deploys (:meth:`Iam.record`, a deploy observer);
- the acting principal, a context variable: set while a handler runs (the function's role,
  ``services.lambda_``), while a Step Functions task runs (the state machine's role, in the
  interpreter's worker thread: :meth:`Iam.apply_step_functions`) and around each delivery
  the harness makes on a service's behalf (the service principal with
  ``aws:SourceArn``/``aws:SourceAccount``: ``services.events``, ``sns``, ``s3``, ``pipes``,
  ``analytics``). Calls made with no principal set are the test's own (deploy,
  ``put_object``...): they run as the account's administrator, unevaluated;
- enforcement: the kernel's ``before-parameter-build`` hook on the shared boto3 session
  calls :meth:`Iam.before_call`, which maps the operation to its IAM action(s) and resource
  ARN(s) (:mod:`~..core.iam_actions`, plus the KMS actions implied by an encrypted queue,
  topic or bucket, asked with ``kms:ViaService``), asks the engine
  (:mod:`~..core.iam_engine`) and raises AWS's AccessDenied error when it says no.
  Deliveries that do not go through boto3 (S3/SNS/EventBridge invoking a function, SNS
  writing to a queue) call :meth:`Iam.check` at the delivery point.

Modes (``OfflineAws(iam=...)``): ``"enforce"`` (default) refuses denied calls as AWS does;
``"report"`` only records them; ``"off"`` evaluates nothing. Every denial, every condition
key the engine cannot evaluate and every call whose action the harness cannot name is kept
in :meth:`Iam.findings` (``aws.iam_denials()``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from analytics_orchestration.testing.core import iam_actions
from analytics_orchestration.testing.core.iam_engine import (
    ContextValue,
    Decision,
    Policy,
    Principal,
    Request,
    denial_message,
    evaluate,
)
from analytics_orchestration.testing.core.iam_index import (
    PolicyIndex,
    policy_document,
    queue_arn_from_url,
)
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher

IamMode = Literal["enforce", "report", "off"]
IAM_MODES: tuple[str, ...] = ("enforce", "report", "off")

_ACTING: contextvars.ContextVar[tuple[Principal, Mapping[str, ContextValue]] | None] = (
    contextvars.ContextVar("offline_iam_principal", default=None))

_DENIED_CODES: dict[str, tuple[str, int]] = {
    # What each service calls a denied request (code, HTTP status).
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
}
_KMS_DENIED_CODES: dict[str, str] = {"sqs": "KmsAccessDenied", "sns": "KMSAccessDenied",
                                     "s3": "AccessDenied"}


@dataclass
class IamFinding:
    """One thing the harness's IAM evaluation found (``aws.iam_denials()``).

    ``kind`` is ``"denied"`` (AWS would refuse the call), ``"unsupported"`` (a condition
    key or operator the engine cannot evaluate: the statement failed closed) or
    ``"unevaluated"`` (an operation whose action and resource the harness cannot name: the
    call was let through unevaluated).
    """

    kind: str
    principal: str
    action: str
    resource: str
    message: str
    enforced: bool
    via: str = "boto3"
    unsupported: tuple[str, ...] = ()


class Iam:
    """The harness's IAM evaluation: policy index, acting principal, decisions, findings."""

    def __init__(self, kernel: Kernel, mode: str = "enforce") -> None:
        if mode not in IAM_MODES:
            raise ValueError(f"iam must be one of {', '.join(IAM_MODES)}; got {mode!r}")
        self.kernel = kernel
        self.mode = mode
        self.index = PolicyIndex()
        self._findings: list[IamFinding] = []
        self._seen: set[tuple[str, str, str, str, str]] = set()
        self._lock = threading.Lock()
        self._alarms: list[tuple[str, list[str]]] = []
        # Every boto3 call made while this harness is active passes through before_call.
        kernel.authorize = self.before_call

    # ------------------------------------------------------------------ findings
    def findings(self) -> list[IamFinding]:
        """Everything denied, failed closed or left unevaluated so far, oldest first."""
        with self._lock:
            return list(self._findings)

    def _note(self, finding: IamFinding) -> None:
        """Keep a finding once: a refused poller is asked again on every settle."""
        key = (finding.kind, finding.principal, finding.action, finding.resource, finding.via)
        with self._lock:
            if key not in self._seen:
                self._seen.add(key)
                self._findings.append(finding)

    # ------------------------------------------------------------------ the index
    def record(self, resource_type: str, logical_id: str, props: Mapping[str, Any],
               ref: Any, attrs: Mapping[str, Any]) -> None:
        """Index what one deployed resource contributes to IAM (no-op for most types)."""
        ix = self.index
        region, account = self.kernel.region, self.kernel.account_id
        if resource_type == "AWS::IAM::Role":
            name = str(ref)
            ix.role_arns[name] = str(attrs.get("Arn"))
            for item in props.get("Policies") or []:
                ix.inline.setdefault(name, []).append(Policy(
                    policy_document(item.get("PolicyDocument")),
                    f"identity-based policy {item.get('PolicyName')} of role {name}"))
            ix.attached.setdefault(name, []).extend(
                str(a) for a in props.get("ManagedPolicyArns") or [])
        elif resource_type == "AWS::IAM::Policy":
            policy = Policy(policy_document(props.get("PolicyDocument")),
                            f"identity-based policy {props.get('PolicyName', logical_id)}")
            for role in props.get("Roles") or []:
                ix.inline.setdefault(str(role).rsplit("/", 1)[-1], []).append(policy)
        elif resource_type == "AWS::IAM::ManagedPolicy":
            arn = str(ref)
            ix.managed[arn] = Policy(policy_document(props.get("PolicyDocument")),
                                     f"managed policy {arn.rsplit('/', 1)[-1]}")
            for role in props.get("Roles") or []:
                ix.attached.setdefault(str(role).rsplit("/", 1)[-1], []).append(arn)
        elif resource_type == "AWS::SQS::QueuePolicy":
            for url in props.get("Queues") or []:
                arn = queue_arn_from_url(str(url), region)
                self._add_resource_policy(arn, props.get("PolicyDocument"), "queue policy")
        elif resource_type == "AWS::SNS::TopicPolicy":
            for topic in props.get("Topics") or []:
                self._add_resource_policy(str(topic), props.get("PolicyDocument"),
                                          "topic policy")
        elif resource_type == "AWS::S3::BucketPolicy":
            bucket = str(props.get("Bucket"))
            self._add_resource_policy(f"arn:aws:s3:::{bucket}", props.get("PolicyDocument"),
                                      "bucket policy")
        elif resource_type == "AWS::Events::EventBusPolicy":
            bus = str(props.get("EventBusName") or "default").rsplit("/", 1)[-1]
            statement = props.get("Statement") or {
                "Sid": props.get("StatementId"), "Effect": "Allow",
                "Principal": {"AWS": props.get("Principal")},
                "Action": props.get("Action"), "Condition": props.get("Condition")}
            self._add_resource_policy(f"arn:aws:events:{region}:{account}:event-bus/{bus}",
                                      {"Statement": [statement]}, "event bus policy")
        elif resource_type == "AWS::Lambda::Permission":
            self._lambda_permission(logical_id, props)
        elif resource_type == "AWS::KMS::Key":
            arn, key_id = str(attrs.get("Arn")), str(attrs.get("KeyId"))
            document = props.get("KeyPolicy") or {
                # The default key policy of CreateKey without a policy [KMS default].
                "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                               "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
            ix.key_policies[arn] = Policy(policy_document(document), f"key policy of {key_id}")
            ix.key_ids[arn] = ix.key_ids[key_id] = arn
        elif resource_type == "AWS::KMS::Alias":
            target = ix.key_arn(str(props.get("TargetKeyId")))
            if target:
                ix.key_ids[str(props.get("AliasName"))] = target
        elif resource_type == "AWS::SQS::Queue":
            self._encrypted(str(attrs.get("Arn")), props.get("KmsMasterKeyId"))
        elif resource_type == "AWS::SNS::Topic":
            self._encrypted(str(ref), props.get("KmsMasterKeyId"))
        elif resource_type == "AWS::Kinesis::Stream":
            encryption = props.get("StreamEncryption") or {}
            if encryption.get("EncryptionType") == "KMS":
                self._encrypted(str(attrs.get("Arn")), encryption.get("KeyId"))
        elif resource_type == "AWS::S3::Bucket":
            for rule in (props.get("BucketEncryption") or {}).get(
                    "ServerSideEncryptionConfiguration") or []:
                default = rule.get("ServerSideEncryptionByDefault") or {}
                if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
                    self._encrypted(str(attrs.get("Arn")),
                                    default.get("KMSMasterKeyID") or "alias/aws/s3")
        elif resource_type in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
            table_policy = (props.get("ResourcePolicy") or {}).get("PolicyDocument")
            if table_policy:
                self._add_resource_policy(str(attrs.get("Arn")), table_policy, "table policy")
        elif resource_type == "AWS::Lambda::Function":
            ix.function_roles[str(ref)] = str(props.get("Role"))
        elif resource_type == "AWS::StepFunctions::StateMachine":
            ix.state_machine_roles[str(ref)] = str(props.get("RoleArn"))
        elif resource_type == "AWS::Events::Rule":
            for target in props.get("Targets") or []:
                if target.get("RoleArn"):
                    ix.target_roles[(str(attrs.get("Arn")), str(target.get("Arn")))] = str(
                        target["RoleArn"])
        elif resource_type == "AWS::SNS::Subscription":
            if props.get("SubscriptionRoleArn"):
                ix.subscription_roles[str(props.get("Endpoint"))] = str(
                    props["SubscriptionRoleArn"])
        elif resource_type == "AWS::Pipes::Pipe":
            ix.pipe_roles[str(attrs.get("Arn"))] = str(props.get("RoleArn"))
        elif resource_type == "AWS::CloudWatch::Alarm":
            actions = [str(a) for key in ("AlarmActions", "OKActions",
                                          "InsufficientDataActions")
                       for a in props.get(key) or []]
            self._alarms.append((str(attrs.get("Arn")), actions))

    def check_alarm_actions(self) -> None:
        """Could CloudWatch publish each deployed alarm's SNS actions? Recorded, not raised.

        Alarms never fire offline, so this is asked once the whole stack is deployed (its
        topic and key policies included), as ``cloudwatch.amazonaws.com`` with the alarm as
        ``aws:SourceArn``; on AWS a refused alarm notification is lost without an error.
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html)
        """
        principal = Principal.aws_service("cloudwatch.amazonaws.com")
        pending, self._alarms = self._alarms, []
        for alarm_arn, actions in pending:
            for action in actions:
                if action.startswith("arn:aws:sns:"):
                    self.check("sns", "Publish", {"TopicArn": action}, principal=principal,
                               context=self.service_context(alarm_arn),
                               via="CloudWatch alarm action (checked at deploy)")

    def _add_resource_policy(self, arn: str, document: Any, label: str) -> None:
        self.index.resource_policies.setdefault(arn, []).append(
            Policy(policy_document(document), f"{label} of {arn.rsplit(':', 1)[-1]}"))

    def _encrypted(self, arn: str, key: Any) -> None:
        if key:
            self.index.encryption[arn] = str(key)

    def _lambda_permission(self, logical_id: str, props: Mapping[str, Any]) -> None:
        """``AWS::Lambda::Permission`` is one statement of the function's resource policy."""
        function = str(props.get("FunctionName"))
        arn = function if function.startswith("arn:") else (
            f"arn:aws:lambda:{self.kernel.region}:{self.kernel.account_id}:function:{function}")
        arn = ":".join(arn.split(":")[:7])
        principal = str(props.get("Principal"))
        statement: dict[str, Any] = {
            "Sid": logical_id, "Effect": "Allow", "Action": props.get("Action"),
            "Resource": [arn, f"{arn}:*"],
            "Principal": {"Service": principal} if principal.endswith(".amazonaws.com")
            else {"AWS": principal},
        }
        condition: dict[str, dict[str, Any]] = {}
        if props.get("SourceArn"):
            condition.setdefault("ArnLike", {})["aws:SourceArn"] = props["SourceArn"]
        if props.get("SourceAccount"):
            condition.setdefault("StringEquals", {})["aws:SourceAccount"] = props[
                "SourceAccount"]
        if props.get("PrincipalOrgID"):
            condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = props[
                "PrincipalOrgID"]
        if condition:
            statement["Condition"] = condition
        self._add_resource_policy(arn, {"Statement": [statement]}, "function policy")

    # ------------------------------------------------------------------ principals
    def function_principal(self, function_name: str) -> Principal | None:
        """The execution role session a function's handler runs as."""
        role = self.index.function_roles.get(function_name)
        return Principal.role(role, session_name=function_name) if role else None

    def state_machine_principal(self, role_arn: str | None,
                                execution: str = "states") -> Principal | None:
        """A state machine's role session, named after the execution."""
        return Principal.role(role_arn, session_name=execution) if role_arn else None

    def service_context(self, source_arn: str | None) -> dict[str, ContextValue]:
        """``aws:SourceArn`` and ``aws:SourceAccount`` of a service acting for a resource."""
        context: dict[str, ContextValue] = {"aws:SourceAccount": self.kernel.account_id}
        if source_arn:
            context["aws:SourceArn"] = source_arn
        return context

    # ------------------------------------------------------------------ decisions
    def _base_context(self, principal: Principal) -> dict[str, ContextValue]:
        now = dt.datetime.now(dt.UTC)
        context: dict[str, ContextValue] = {
            "aws:SecureTransport": "true",
            "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now.timestamp())),
            "aws:RequestedRegion": self.kernel.region,
            "aws:ViaAWSService": "false",
            "aws:PrincipalIsAWSService": "true" if principal.is_service else "false",
        }
        if principal.is_service:
            context["aws:PrincipalServiceName"] = str(principal.service)
        else:
            context.update({
                "aws:PrincipalArn": principal.arn,
                "aws:PrincipalAccount": str(principal.account),
                "aws:PrincipalType": "AssumedRole",
                "aws:userid": f"AROA{principal.role_name.upper()[:17]}:{principal.session_name}",
            })
        return context

    def decide(self, principal: Principal, action: str, resource: str,
               context: Mapping[str, ContextValue] | None = None) -> tuple[Request, Decision]:
        """Evaluate one request against the indexed policies (nothing recorded)."""
        full = self._base_context(principal)
        full.update(context or {})
        resource_account = resource.split(":")[4] if resource.count(":") >= 5 else None
        request = Request(principal, action, resource, full,
                          resource_account=resource_account or None)
        identity = [] if principal.is_service else self.index.identity_policies(principal.arn)
        if action.lower().startswith("kms:"):
            known_policy = self.index.key_policies.get(resource)
            if known_policy is not None:
                key_policy = known_policy
            else:
                # A key the stack does not own (imported or AWS managed): its policy is
                # unknown; the identity-based policies decide.
                key_policy = Policy({"Statement": [{
                    "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                    "Principal": {"AWS": f"arn:aws:iam::{self.kernel.account_id}:root"}}]},
                    f"assumed default key policy of {resource}")
            return request, evaluate(request, identity=identity, key_policy=key_policy)
        resource_policies = self._resource_policies(resource)
        return request, evaluate(request, identity=identity, resource=resource_policies)

    def _runtime_queue_policy(self, arn: str) -> list[Policy]:
        """A queue policy set through the API (``SetQueueAttributes``), e.g. on a queue a
        test created: template policies are indexed at deploy, these are read from moto."""
        from moto.sqs.models import sqs_backends

        parts = arn.split(":")
        try:
            queue = sqs_backends[parts[4]][parts[3]].get_queue(parts[5])
        except Exception:  # not a queue moto knows: no policy
            return []
        policy = getattr(queue, "policy", None)
        return [Policy(policy_document(policy), f"queue policy of {parts[5]}")] if policy else []

    def _resource_policies(self, resource: str) -> list[Policy]:
        found = list(self.index.resource_policies.get(resource, []))
        if resource.startswith("arn:aws:sqs:"):
            found += self._runtime_queue_policy(resource)
        if resource.startswith("arn:aws:s3:::") and "/" in resource:
            found += self.index.resource_policies.get(resource.split("/", 1)[0], [])
        if resource.startswith("arn:aws:lambda:"):
            found += self.index.resource_policies.get(":".join(resource.split(":")[:7]), []) \
                if resource.count(":") > 6 else []
        if ":table/" in resource and "/index/" in resource:
            found += self.index.resource_policies.get(resource.split("/index/", 1)[0], [])
        return found

    def allows(self, principal: Principal | None, action: str, resource: str,
               context: Mapping[str, ContextValue] | None = None, *,
               via: str = "boto3") -> tuple[bool, str]:
        """Decide and record: (allowed, AWS's message). Always True when ``iam="off"``.

        In ``"report"`` mode a denial is recorded and the call is allowed.
        """
        if self.mode == "off" or principal is None:
            return True, ""
        request, decision = self.decide(principal, action, resource, context)
        who = principal.session_arn
        if decision.unsupported:
            self._note(IamFinding("unsupported", who, action, resource,
                                  "; ".join(decision.unsupported),
                                  enforced=self.mode == "enforce", via=via,
                                  unsupported=decision.unsupported))
        if decision.allowed:
            return True, ""
        message = denial_message(request, decision)
        self._note(IamFinding("denied", who, action, resource, message,
                              enforced=self.mode == "enforce", via=via,
                              unsupported=decision.unsupported))
        return self.mode != "enforce", message

    def check(self, service: str, operation: str, params: Mapping[str, Any], *, via: str,
              principal: Principal | None = None,
              context: Mapping[str, ContextValue] | None = None) -> str | None:
        """Evaluate everything a call would need; AWS's message for the first denial.

        Used where the harness delivers on a service's behalf without a boto3 call (SNS
        writing to a queue, S3 or EventBridge invoking a function). ``principal`` defaults
        to the acting one. None when allowed (always in ``"report"``/``"off"`` mode).
        """
        extra: dict[str, ContextValue] = {}
        if principal is None:
            acting = _ACTING.get()
            if acting is None:
                return None
            principal, acting_context = acting
            extra.update(acting_context)
        extra.update(context or {})
        if self.mode == "off":
            return None
        requests = iam_actions.requests_for(self.index, self.kernel.region, self.kernel.account_id,
                                           service, operation, dict(params))
        if requests is None:
            self._note(IamFinding("unevaluated", principal.session_arn,
                                  f"{service}:{operation}", "-", "not mapped to IAM actions",
                                  enforced=False, via=via))
            return None
        for item in requests:
            allowed, message = self.allows(principal, item.action, item.resource,
                                           {**extra, **item.context}, via=via)
            if not allowed:
                return message
        return None

    def require(self, service: str, operation: str, params: Mapping[str, Any], *, via: str,
                principal: Principal | None = None,
                context: Mapping[str, ContextValue] | None = None) -> None:
        """:meth:`check`, raising AWS's AccessDenied error for a denial."""
        message = self.check(service, operation, params, via=via, principal=principal,
                             context=context)
        if message:
            raise self.denied_error(service, operation, message)

    def principal_for_role(self, role_arn: str | None, session: str) -> Principal | None:
        """A role's session, or None (unevaluated) when the resource names no role."""
        return Principal.role(role_arn, session_name=session) if role_arn else None

    def queue_url_of(self, queue_arn: str) -> str:
        """The URL of a queue given its ARN (as moto names it)."""
        parts = queue_arn.split(":")
        return f"https://sqs.{parts[3]}.amazonaws.com/{parts[4]}/{parts[5]}"

    def may_poll(self, principal: Principal | None, queue_url: str, *, via: str) -> bool:
        """May a poller (Lambda's event source mapping, a pipe) read and delete messages?

        Lambda needs ``sqs:ReceiveMessage``, ``sqs:DeleteMessage`` and
        ``sqs:GetQueueAttributes`` on the queue (and ``kms:Decrypt`` for a CMK queue):
        https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions
        """
        for operation in ("GetQueueAttributes", "ReceiveMessage", "DeleteMessage"):
            if self.check("sqs", operation, {"QueueUrl": queue_url}, via=via,
                          principal=principal, context={}) if principal else None:
                return False
        return True

    def sns_may_deliver(self, sub: Any, service: str, operation: str,
                        params: Mapping[str, Any], message: str) -> bool:
        """May SNS deliver to a subscription's endpoint? If not, the message goes to the
        subscription's dead-letter queue (when it has one), as SNS does after its retries:
        https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
        """
        topic_arn = str(sub.topic.arn)
        principal = Principal.aws_service("sns.amazonaws.com")
        context = self.service_context(topic_arn)
        if not self.check(service, operation, params, via=f"SNS subscription ({service})",
                          principal=principal, context=context):
            return True
        redrive = (getattr(sub, "attributes", None) or {}).get("RedrivePolicy")
        if redrive:
            from botocore.exceptions import ClientError

            dlq = json.loads(redrive).get("deadLetterTargetArn") if isinstance(
                redrive, str) else redrive.get("deadLetterTargetArn")
            envelope = json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                                   "TopicArn": topic_arn, "Message": message})
            with self.acting(principal, context), contextlib.suppress(ClientError):
                self.kernel.client("sqs").send_message(QueueUrl=self.queue_url_of(str(dlq)),
                                                  MessageBody=envelope)
        return False

    def service_principal(self, service: str) -> Principal:
        """A service principal such as ``events.amazonaws.com``."""
        return Principal.aws_service(service)

    def target_principal(self, rule_arn: str, target_arn: str) -> Principal:
        """Who delivers to a rule target: the target's role, or EventBridge itself."""
        role = self.index.target_roles.get((rule_arn, target_arn))
        return Principal.role(role, session_name="events") if role else Principal.aws_service(
            "events.amazonaws.com")

    # ------------------------------------------------------------------ acting principal
    @staticmethod
    @contextlib.contextmanager
    def acting(principal: Principal | None,
               context: Mapping[str, ContextValue] | None = None) -> Iterator[None]:
        """Run the block's AWS calls as ``principal`` (None: as the test, unevaluated)."""
        token = _ACTING.set((principal, dict(context or {})) if principal else None)
        try:
            yield
        finally:
            _ACTING.reset(token)

    @staticmethod
    def current() -> tuple[Principal, Mapping[str, ContextValue]] | None:
        """The principal the current call runs as, with its extra context (or None)."""
        return _ACTING.get()

    def user_id(self, principal: Principal) -> str | None:
        """The principal's ``aws:userid`` (None for a service principal)."""
        value = self._base_context(principal).get("aws:userid")
        return None if value is None else str(value)

    @staticmethod
    def current_principal() -> Principal | None:
        """The principal the current call runs as (None: the test itself)."""
        acting = _ACTING.get()
        return acting[0] if acting else None

    # ------------------------------------------------------------------ boto3 calls
    def denied_error(self, service: str, operation: str, message: str, *,
                     kms: bool = False) -> Exception:
        """AWS's error for a denied call, as the client's modeled exception when it has one."""
        from botocore.exceptions import ClientError

        code, status = _DENIED_CODES.get(service, ("AccessDeniedException", 400))
        if kms:
            code = _KMS_DENIED_CODES.get(service, "AccessDeniedException")
        response: Any = {"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status,
                                              "RequestId": str(uuid.uuid4())}}
        try:
            client = self.kernel.client(_CLIENT_NAMES.get(service, service))
            error_class: type[Exception] = client.exceptions.from_code(code)
        except Exception:  # an unknown service name: the generic error shape
            error_class = ClientError
        return error_class(response, operation)

    def before_call(self, params: Mapping[str, Any], model: Any) -> None:
        """The boto3 hook: authorize one API call of the acting principal, or raise."""
        acting = _ACTING.get()
        if acting is None or self.mode == "off":
            return
        principal, extra = acting
        service = str(model.service_model.endpoint_prefix)
        operation = str(model.name)
        if (service, operation) in _UNAUTHORIZED_OPERATIONS:
            return
        requests = iam_actions.requests_for(self.index, self.kernel.region, self.kernel.account_id,
                                           service, operation, dict(params))
        if requests is None:
            self._note(IamFinding(
                "unevaluated", principal.session_arn, f"{service}:{operation}", "-",
                f"the harness does not know which IAM action and resource {service}:"
                f"{operation} needs; the call was not evaluated", enforced=False))
            return
        for item in requests:
            context = dict(extra)
            context.update(item.context)
            allowed, message = self.allows(principal, item.action, item.resource, context)
            if not allowed:
                raise self.denied_error(service, operation, message, kms=item.kms)

    def apply_step_functions(self, patcher: Patcher) -> None:
        """Run every Step Functions task as the state machine's role (or the task's Credentials).

        Tasks run in the interpreter's worker threads, which do not inherit the caller's
        context: the principal is set inside ``_eval_execution``, in the thread that makes the
        task's calls.
        """
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service,
        )

        iam = self

        def wrap(owner: Any) -> None:
            original: Callable[[Any, Any], None] = owner._eval_execution

            def eval_execution(task: Any, env: Any) -> None:
                if not iam.kernel.active:
                    original(task, env)
                    return
                role, name = None, "states"
                with contextlib.suppress(Exception):
                    execution = env.states.context_object.context_object_data["Execution"]
                    role, name = execution["RoleArn"], str(execution["Name"])
                if getattr(task, "credentials", None) is not None:
                    # A task's own Credentials (RoleArn) replace the state machine's role.
                    role = task._eval_state_credentials(env=env).role_arn or role
                with iam.acting(iam.state_machine_principal(role, name)):
                    original(task, env)

            patcher.set(owner, "_eval_execution", eval_execution)

        from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map

        wrap(state_task_service.StateTaskService)
        wrap(state_task_lambda.StateTaskLambda)
        wrap(state_map.StateMap)  # a Distributed Map's item reader reads S3 as the role


_CLIENT_NAMES: dict[str, str] = {"states": "stepfunctions", "monitoring": "cloudwatch",
                                 "execute-api": "apigateway"}
_UNAUTHORIZED_OPERATIONS: frozenset[tuple[str, str]] = frozenset({
    # GetCallerIdentity needs no permission: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    ("sts", "GetCallerIdentity"),
})


