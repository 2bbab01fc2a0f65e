"""Structural walks over a synthesized CloudFormation template: can every publisher publish?

A topic policy replaces SNS's default policy, a queue policy is the only way another
service may send to a queue, and a customer-managed key lets nobody but whom its policy
names. Synth accepts a template in which none of those allow the service that is meant to
deliver, and the deployed stack then fails silently (an alarm goes to ALARM and notifies
nobody). These walks read the template the way AWS evaluates it, one wiring at a time:

* :func:`wirings` - every alarm action naming a topic, every EventBridge rule target that is a
  topic, a queue or a bus (and every target's dead-letter queue), every SNS-to-SQS
  subscription (and its dead-letter queue), every S3 notification sent straight to a topic
  or queue: each one a :class:`Wiring` with the problems that would stop delivery.
* :func:`unconditioned_service_grants` - resource-policy statements granting a service
  principal without ``aws:SourceArn``/``aws:SourceAccount`` (the confused-deputy guard).
* :func:`unrestricted_create_grants` - statements allowing ``kms:CreateGrant`` without
  ``kms:GrantIsForAWSResource``.
* :func:`unconditioned_trusts` - roles EventBridge, Scheduler or Step Functions may assume
  for any account.

References are resolved within the template (``Ref``, ``Fn::GetAtt``); what the template
does not define (imported resources, another account's bus) is outside the walk.
Everything takes a plain template dict, so the walks run on the example app's templates
and on any small per-construct stack (``Template.from_stack(stack).to_json()``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Any
Statement = dict[str, Any]

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"
SNS = "sns.amazonaws.com"
S3 = "s3.amazonaws.com"
#: Services whose source ARN (a bucket's) names no account: AWS requires aws:SourceAccount
#: next to aws:SourceArn for them ("If the aws:SourceArn value does not contain the account
#: ID, such as an Amazon S3 bucket ARN, you must use both global condition context keys").
ACCOUNTLESS_SOURCES = (S3, "logging.s3.amazonaws.com")

#: Keys that bind a service principal's grant to this account or one of its resources.
SOURCE_KEYS = ("aws:sourcearn", "aws:sourceaccount")

#: Documented alternatives to aws:SourceArn/aws:SourceAccount, per service, in key policies:
#: an encryption-context condition naming the one resource the service may use the key for.
#: - CloudWatch Logs: "kms:EncryptionContext:aws:logs:arn ... restrict the key to be used
#:   with a single account and log group" (CloudWatch Logs User Guide, Encrypt log data in
#:   CloudWatch Logs using AWS KMS). Logs' principal is regional, ``logs.<region>.amazonaws.com``.
#: - EventBridge: "add an aws:SourceArn, aws:sourceAccount, or
#:   kms:EncryptionContext:aws:events:event-bus:arn condition key to the AWS KMS key policy"
#:   (EventBridge User Guide, Authorizing EventBridge to use a customer managed key); AWS's
#:   own archive key policy example uses the encryption context alone.
ENCRYPTION_CONTEXT_ALTERNATIVES: dict[str, str] = {
    "logs.*": "kms:encryptioncontext:aws:logs:arn",
    EVENTBRIDGE: "kms:encryptioncontext:aws:events:event-bus:arn",
}

RESOURCE_POLICY_TYPES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
}
IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


@dataclass
class Wiring:
    """One publisher -> destination path and what stops delivery on it (empty: it works)."""

    kind: str
    source: str
    destination: str
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind}: {self.source} -> {self.destination}: {'; '.join(self.problems)}"


# ----------------------------------------------------------------------------- references

def referenced_id(value: Json) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, list) and target:
                return str(target[0])
            if isinstance(target, str):
                return target.split(".", 1)[0]
    return None


def _listed(value: Json) -> list[Json]:
    return value if isinstance(value, list) else [value]


def _statements(document: Json) -> list[Statement]:
    if not isinstance(document, dict):
        return []
    return [s for s in _listed(document.get("Statement", [])) if isinstance(s, dict)]


def _references(value: Json) -> set[str]:
    """Every logical id referenced anywhere inside ``value`` (through joins, too)."""
    found: set[str] = set()
    direct = referenced_id(value)
    if direct is not None and not direct.startswith("AWS::"):
        found.add(direct)
    if isinstance(value, dict):
        for inner in value.values():
            found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


# ----------------------------------------------------------------------------- statements

def services(statement: Statement) -> list[Json]:
    """The service principals of an Allow or Deny statement (strings or unresolved values)."""
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or "Service" not in principal:
        return []
    return _listed(principal["Service"])


def _service_matches(name: Json, service: str) -> bool:
    if isinstance(name, str):
        return name == service
    # logs.<region>.amazonaws.com renders as a Fn::Join; compare its literal parts.
    return service == "logs.*" and "logs." in str(name)


def _covers(patterns: Json, action: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(action.lower(), p.lower())
               for p in _listed(patterns))


def condition_keys(statement: Statement) -> dict[str, list[Json]]:
    """Condition keys (lower-cased) -> the values they compare, over every operator."""
    keys: dict[str, list[Json]] = {}
    for _operator, block in (statement.get("Condition") or {}).items():
        if isinstance(block, dict):
            for key, value in block.items():
                keys.setdefault(key.lower(), []).extend(_listed(value))
    return keys


def _allows(statement: Statement, service: str, action: str) -> bool:
    return (statement.get("Effect") == "Allow"
            and any(_service_matches(s, service) for s in services(statement))
            and _covers(statement.get("Action", []), action))


@dataclass
class Index:
    """The template's resources and their policies, keyed by logical id."""

    resources: Mapping[str, dict[str, Any]]

    @classmethod
    def of(cls, template: Mapping[str, Any]) -> Index:
        return cls(template.get("Resources", {}))

    def of_type(self, type_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == type_name:
                yield logical_id, resource

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources.get(logical_id, {}).get("Properties", {}))

    def type_of(self, logical_id: str | None) -> str | None:
        if logical_id is None or logical_id not in self.resources:
            return None
        return str(self.resources[logical_id].get("Type"))

    def attached(self, policy_type: str, list_prop: str, target: str) -> list[Statement]:
        """Statements of every ``policy_type`` attached to ``target`` through ``list_prop``."""
        found: list[Statement] = []
        for _, policy in self.of_type(policy_type):
            props = policy.get("Properties", {})
            if target in {referenced_id(t) for t in _listed(props.get(list_prop, []))}:
                found.extend(_statements(props.get("PolicyDocument")))
        return found

    def topic_policy(self, topic: str) -> list[Statement]:
        return self.attached("AWS::SNS::TopicPolicy", "Topics", topic)

    def queue_policy(self, queue: str) -> list[Statement]:
        return self.attached("AWS::SQS::QueuePolicy", "Queues", queue)

    def key_policy(self, key: str) -> list[Statement]:
        return _statements(self.props(key).get("KeyPolicy"))

    def identity_statements(self, role: str) -> list[Statement]:
        found = [s for p in self.props(role).get("Policies", [])
                 for s in _statements(p.get("PolicyDocument"))]
        for policy_type in IDENTITY_POLICY_TYPES:
            found.extend(self.attached(policy_type, "Roles", role))
        for arn in self.props(role).get("ManagedPolicyArns", []):
            managed = referenced_id(arn)
            if self.type_of(managed) == "AWS::IAM::ManagedPolicy" and managed is not None:
                found.extend(_statements(self.props(managed).get("PolicyDocument")))
        return found

    def key_of(self, logical_id: str, prop: str) -> tuple[str | None, Json]:
        """The in-template key a resource is encrypted with (None, raw) when it is not one."""
        raw = self.props(logical_id).get(prop)
        key = referenced_id(raw)
        return (key if self.type_of(key) == "AWS::KMS::Key" else None), raw


# ------------------------------------------------------------------------------ checks

def _resource_grant(statements: list[Statement], service: str, actions: tuple[str, ...],
                    what: str, *, conditioned: bool = True,
                    source: str | None = None) -> list[str]:
    """Problems unless one Allow statement grants ``service`` every action in ``actions``.

    ``conditioned``: the statement must carry aws:SourceArn and aws:SourceAccount (or, for
    ``source``, an aws:SourceArn naming that logical id).
    """
    candidates = [s for s in statements if all(_allows(s, service, a) for a in actions)]
    if not candidates:
        return [f"{what} does not allow {service} {'+'.join(actions)}"]
    if source is not None:
        if not any(source in _references(condition_keys(s).get("aws:sourcearn", []))
                   for s in candidates):
            return [f"{what} allows {service} but not with aws:SourceArn = {source}"]
    elif conditioned and not any(all(k in condition_keys(s) for k in SOURCE_KEYS)
                                 for s in candidates):
        return [f"{what} allows {service} without aws:SourceArn and aws:SourceAccount"]
    return []


def _key_grant(index: Index, resource: str, prop: str, service: str, *,
               conditioned: bool = True, source: str | None = None) -> list[str]:
    key, raw = index.key_of(resource, prop)
    if raw is None:
        return []
    if key is None:
        return [f"{resource} is encrypted with {raw!r}, whose policy this template cannot "
                f"make allow {service}"]
    return _resource_grant(index.key_policy(key), service, ("kms:Decrypt", "kms:GenerateDataKey"),
                           f"key {key} of {resource}", conditioned=conditioned, source=source)


def _role_grant(index: Index, role: str, action: str, resource: str) -> list[str]:
    """Problems unless ``role`` is assumable by EventBridge and may ``action`` on ``resource``."""
    if index.type_of(role) != "AWS::IAM::Role":
        return [f"role {role} is not defined in this template"]
    trust = _statements(index.props(role).get("AssumeRolePolicyDocument"))
    problems = _resource_grant(trust, EVENTBRIDGE, ("sts:AssumeRole",), f"trust of {role}",
                               conditioned=False)
    allowed = [s for s in index.identity_statements(role)
               if s.get("Effect") == "Allow" and _covers(s.get("Action", []), action)
               and (resource in _references(s.get("Resource"))
                    or "*" in _listed(s.get("Resource")))]
    if not allowed:
        problems.append(f"role {role} may not {action} on {resource}")
    return problems


def _role_key_grant(index: Index, role: str, resource: str, prop: str) -> list[str]:
    key, raw = index.key_of(resource, prop)
    if raw is None:
        return []
    if key is None:
        return [f"{resource} is encrypted with {raw!r}, outside this template"]
    problems = [p for action in ("kms:Decrypt", "kms:GenerateDataKey")
                for p in _role_grant(index, role, action, key)]
    delegates = any(s.get("Effect") == "Allow" and _covers(s.get("Action", []), "kms:Decrypt")
                    and ":root" in str(s.get("Principal", {}).get("AWS", ""))
                    for s in index.key_policy(key) if isinstance(s.get("Principal"), dict))
    if not delegates:
        problems.append(f"key {key} does not let IAM policies of its account use it")
    return problems


def _alarm_wirings(index: Index) -> Iterator[Wiring]:
    for alarm, resource in index.of_type("AWS::CloudWatch::Alarm"):
        props = resource.get("Properties", {})
        actions = [*props.get("AlarmActions", []), *props.get("OKActions", []),
                   *props.get("InsufficientDataActions", [])]
        for topic in sorted({t for a in actions if index.type_of(t := referenced_id(a))
                             == "AWS::SNS::Topic" and t is not None}):
            problems = _resource_grant(index.topic_policy(topic), CLOUDWATCH, ("sns:Publish",),
                                       f"policy of topic {topic}")
            problems += _key_grant(index, topic, "KmsMasterKeyId", CLOUDWATCH)
            yield Wiring("alarm->topic", alarm, topic, problems)


def _dead_letter_wiring(index: Index, kind: str, source: str, queue_arn: Json,
                        service: str) -> Iterator[Wiring]:
    queue = referenced_id(queue_arn)
    if index.type_of(queue) != "AWS::SQS::Queue" or queue is None:
        return
    problems = _resource_grant(index.queue_policy(queue), service, ("sqs:SendMessage",),
                               f"policy of queue {queue}", source=source)
    problems += _key_grant(index, queue, "KmsMasterKeyId", service, conditioned=False)
    yield Wiring(kind, source, queue, problems)


def _rule_wirings(index: Index) -> Iterator[Wiring]:
    for rule, resource in index.of_type("AWS::Events::Rule"):
        for target in resource.get("Properties", {}).get("Targets", []):
            destination = referenced_id(target.get("Arn"))
            role = referenced_id(target.get("RoleArn"))
            kind = index.type_of(destination)
            if destination is None:
                pass
            elif kind == "AWS::SNS::Topic":
                if role is not None:
                    problems = _role_grant(index, role, "sns:Publish", destination)
                    problems += _role_key_grant(index, role, destination, "KmsMasterKeyId")
                else:
                    problems = _resource_grant(index.topic_policy(destination), EVENTBRIDGE,
                                               ("sns:Publish",), f"policy of topic {destination}",
                                               conditioned=False)
                    problems += _key_grant(index, destination, "KmsMasterKeyId", EVENTBRIDGE,
                                           conditioned=False)
                yield Wiring("rule->topic", rule, destination, problems)
            elif kind == "AWS::SQS::Queue":
                if role is not None:
                    problems = _role_grant(index, role, "sqs:SendMessage", destination)
                    problems += _role_key_grant(index, role, destination, "KmsMasterKeyId")
                else:
                    problems = _resource_grant(index.queue_policy(destination), EVENTBRIDGE,
                                               ("sqs:SendMessage",),
                                               f"policy of queue {destination}",
                                               conditioned=False)
                    problems += _key_grant(index, destination, "KmsMasterKeyId", EVENTBRIDGE,
                                           conditioned=False)
                yield Wiring("rule->queue", rule, destination, problems)
            elif kind == "AWS::Events::EventBus":
                problems = (["a same-account bus target needs a role"] if role is None
                            else _role_grant(index, role, "events:PutEvents", destination))
                yield Wiring("rule->bus", rule, destination, problems)
            dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
            yield from _dead_letter_wiring(index, "rule->dead-letter queue", rule, dead_letter,
                                           EVENTBRIDGE)


def _subscription_wirings(index: Index) -> Iterator[Wiring]:
    for _subscription, resource in index.of_type("AWS::SNS::Subscription"):
        props = resource.get("Properties", {})
        topic = referenced_id(props.get("TopicArn"))
        if index.type_of(topic) != "AWS::SNS::Topic" or topic is None:
            continue
        queue = referenced_id(props.get("Endpoint"))
        if props.get("Protocol") == "sqs" and index.type_of(queue) == "AWS::SQS::Queue":
            assert queue is not None
            problems = _resource_grant(index.queue_policy(queue), SNS, ("sqs:SendMessage",),
                                       f"policy of queue {queue}", source=topic)
            problems += _key_grant(index, queue, "KmsMasterKeyId", SNS, source=topic)
            yield Wiring("topic->queue", topic, queue, problems)
        redrive = props.get("RedrivePolicy") or {}
        yield from _dead_letter_wiring(index, "subscription->dead-letter queue", topic,
                                       redrive.get("deadLetterTargetArn"), SNS)


def _bucket_notification_wirings(index: Index) -> Iterator[Wiring]:
    """S3 event notifications sent straight to a topic or a queue (not through EventBridge):
    the bucket's own ``NotificationConfiguration`` or CDK's ``Custom::S3BucketNotifications``."""
    sources = [(bucket, r.get("Properties", {}).get("NotificationConfiguration"))
               for bucket, r in index.of_type("AWS::S3::Bucket")]
    sources += [(referenced_id(r.get("Properties", {}).get("BucketName")),
                 r.get("Properties", {}).get("NotificationConfiguration"))
                for _, r in index.of_type("Custom::S3BucketNotifications")]
    for bucket, configured in sources:
        notifications = configured or {}
        if bucket is None:
            continue
        for kind, prop, type_name, policy_of, action in (
                ("bucket->topic", "Topic", "AWS::SNS::Topic", index.topic_policy, "sns:Publish"),
                ("bucket->queue", "Queue", "AWS::SQS::Queue", index.queue_policy,
                 "sqs:SendMessage")):
            for configuration in notifications.get(f"{prop}Configurations", []):
                # CloudFormation names the destination Topic/Queue; CDK's custom resource
                # (the S3 API's shape) TopicArn/QueueArn.
                destination = referenced_id(configuration.get(prop)
                                            or configuration.get(f"{prop}Arn"))
                if index.type_of(destination) != type_name:
                    continue
                assert destination is not None
                problems = _resource_grant(policy_of(destination), S3, (action,),
                                           f"policy of {destination}", source=bucket)
                problems += _key_grant(index, destination, "KmsMasterKeyId", S3, conditioned=False)
                yield Wiring(kind, bucket, destination, problems)


def wirings(template: Mapping[str, Any]) -> list[Wiring]:
    """Every publisher -> destination path of the template, each with its problems."""
    index = Index.of(template)
    return [*_alarm_wirings(index), *_rule_wirings(index), *_subscription_wirings(index),
            *_bucket_notification_wirings(index)]


# -------------------------------------------------------------------- confused deputy

def _has_source_condition(statement: Statement, service_name: Json, *,
                          key_policy: bool) -> bool:
    """aws:SourceArn/aws:SourceAccount (both kinds of key where the ARN names no account);
    in a key policy, the encryption-context key its service documents also counts."""
    keys = condition_keys(statement)
    if service_name in ACCOUNTLESS_SOURCES:
        return "aws:sourceaccount" in keys
    if any(k in keys for k in SOURCE_KEYS):
        return True
    return key_policy and any(
        _service_matches(service_name, service) and alternative in keys
        for service, alternative in ENCRYPTION_CONTEXT_ALTERNATIVES.items())


def unconditioned_service_grants(template: Mapping[str, Any]) -> list[str]:
    """Resource-policy grants to a service principal without a confused-deputy condition.

    Key, topic, queue and bucket policies, event bus policies and Lambda permissions.
    A key-policy statement may instead carry the encryption-context key its service
    documents (:data:`ENCRYPTION_CONTEXT_ALTERNATIVES`).
    """
    index = Index.of(template)
    found: list[str] = []
    for type_name, prop in RESOURCE_POLICY_TYPES.items():
        for logical_id, resource in index.of_type(type_name):
            for statement in _statements(resource.get("Properties", {}).get(prop)):
                if statement.get("Effect") != "Allow":
                    continue
                for service in services(statement):
                    if not _has_source_condition(statement, service,
                                                 key_policy=type_name == "AWS::KMS::Key"):
                        found.append(f"{type_name} {logical_id}: {service} "
                                     f"{statement.get('Action')}")
    for logical_id, resource in index.of_type("AWS::Events::EventBusPolicy"):
        props = resource.get("Properties", {})
        for statement in _statements({"Statement": props.get("Statement", [])}):
            if services(statement) and not any(k in condition_keys(statement)
                                               for k in SOURCE_KEYS):
                found.append(f"AWS::Events::EventBusPolicy {logical_id}: {services(statement)}")
    for logical_id, resource in index.of_type("AWS::Lambda::Permission"):
        props = resource.get("Properties", {})
        principal = props.get("Principal")
        if (isinstance(principal, str) and principal.endswith(".amazonaws.com")
                and not (props.get("SourceArn") or props.get("SourceAccount"))):
            found.append(f"AWS::Lambda::Permission {logical_id}: {principal}")
    return found


def service_grants(template: Mapping[str, Any]) -> int:
    """How many resource-policy statements (and Lambda permissions) grant a service."""
    index = Index.of(template)
    count = sum(1 for type_name, prop in RESOURCE_POLICY_TYPES.items()
                for _, resource in index.of_type(type_name)
                for s in _statements(resource.get("Properties", {}).get(prop))
                if s.get("Effect") == "Allow" and services(s))
    return count + sum(1 for _, r in index.of_type("AWS::Lambda::Permission")
                       if str(r.get("Properties", {}).get("Principal", "")).endswith(
                           ".amazonaws.com"))


# ----------------------------------------------------------------------- CreateGrant

def _all_policy_statements(index: Index) -> Iterator[tuple[str, Statement]]:
    for type_name in IDENTITY_POLICY_TYPES:
        for logical_id, resource in index.of_type(type_name):
            for s in _statements(resource.get("Properties", {}).get("PolicyDocument")):
                yield f"{type_name} {logical_id}", s
    for logical_id, resource in index.of_type("AWS::IAM::Role"):
        for policy in resource.get("Properties", {}).get("Policies", []):
            for s in _statements(policy.get("PolicyDocument")):
                yield f"AWS::IAM::Role {logical_id}", s
    for logical_id, resource in index.of_type("AWS::KMS::Key"):
        for s in _statements(resource.get("Properties", {}).get("KeyPolicy")):
            yield f"AWS::KMS::Key {logical_id}", s


def _delegates_to_account(statement: Statement) -> bool:
    """The key policy's account-root statement: it lets IAM policies decide, grants nothing."""
    principal = statement.get("Principal")
    return (isinstance(principal, dict) and set(principal) == {"AWS"}
            and all(":root" in str(p) for p in _listed(principal["AWS"])))


def create_grant_statements(template: Mapping[str, Any]) -> list[tuple[str, Statement]]:
    """Every Allow statement (identity or key policy) covering ``kms:CreateGrant``, except
    the key policies' delegation to the account's IAM policies."""
    return [(where, s) for where, s in _all_policy_statements(Index.of(template))
            if s.get("Effect") == "Allow" and _covers(s.get("Action", []), "kms:CreateGrant")
            and not (where.startswith("AWS::KMS::Key") and _delegates_to_account(s))]


def unrestricted_create_grants(template: Mapping[str, Any]) -> list[str]:
    """Statements allowing kms:CreateGrant without ``kms:GrantIsForAWSResource: true``."""
    found = []
    for where, statement in create_grant_statements(template):
        values = condition_keys(statement).get("kms:grantisforawsresource", [])
        bool_block = (statement.get("Condition") or {}).get("Bool", {})
        if not (values and all(str(v).lower() == "true" for v in values)
                and "kms:GrantIsForAWSResource" in bool_block):
            found.append(f"{where}: {statement.get('Action')}")
    return found


# ----------------------------------------------------------------------- trust policies

#: Services whose role trust policies AWS documents aws:SourceAccount/aws:SourceArn for, and
#: which the library conditions: EventBridge ("For EventBridge event bus rule targets, the
#: value of aws:SourceArn must be the rule ARN"), EventBridge Scheduler (the schedule
#: execution role), Step Functions (the state machine role). Other services' trust policies
#: are left alone: a condition a service does not send makes the role unassumable.
CONDITIONED_TRUSTS = ("events.amazonaws.com", "scheduler.amazonaws.com", "states.amazonaws.com")


def trusts(template: Mapping[str, Any]) -> list[tuple[str, str, Statement]]:
    """(role, service, statement) for every trust statement of :data:`CONDITIONED_TRUSTS`."""
    found = []
    for logical_id, resource in Index.of(template).of_type("AWS::IAM::Role"):
        document = resource.get("Properties", {}).get("AssumeRolePolicyDocument")
        for statement in _statements(document):
            for service in services(statement):
                if service in CONDITIONED_TRUSTS and statement.get("Effect") == "Allow":
                    found.append((logical_id, str(service), statement))
    return found


def unconditioned_trusts(template: Mapping[str, Any]) -> list[str]:
    """Roles those services may assume for any account's resources."""
    return [f"AWS::IAM::Role {role}: {service}" for role, service, statement in trusts(template)
            if not any(k in condition_keys(statement) for k in SOURCE_KEYS)]
