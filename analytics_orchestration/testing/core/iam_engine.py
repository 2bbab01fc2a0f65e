"""AWS's policy evaluation logic, as a pure function of policies and a request.

No moto, no boto: the harness
(:mod:`~analytics_orchestration.testing.services.iam_enforcement`) gathers the policies
that apply to a call and asks :func:`evaluate` for the decision. Every rule below
follows AWS's documentation, cited where it is applied:

- [EVAL] Policy evaluation logic, requests within a single account and across accounts:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
  (an explicit deny in any policy wins; within one account the identity-based OR the
  resource-based policy may allow; across accounts both must.)
- [COND] Condition operators (missing keys, negated operators, ``...IfExists``, ``Null``,
  ARN operators matching each of the six colon-delimited parts separately):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- [MULTI] Set operators ``ForAnyValue``/``ForAllValues``:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- [PRINCIPAL] The account principal in a resource-based policy delegates to the account's
  identity-based policies; it does not by itself grant a role anything:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- [KMS] Key policies: no principal uses a KMS key unless the key policy allows it, directly
  or through the statement that gives the account (``arn:aws:iam::ACCOUNT:root``) access and
  thereby enables IAM policies:
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html
- [VARS] Policy variables (``${aws:SourceAccount}``, ``${*}``, ``${?}``, ``${$}``):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

Not evaluated (the library does not use them): permissions boundaries, session policies,
SCPs/RCPs, KMS grants, ``NotPrincipal`` with federated principals.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ContextValue = str | list[str]

SUPPORTED_KEYS: frozenset[str] = frozenset({
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:securetransport",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalservicename",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:userid",
    "aws:username",
    "aws:currenttime",
    "aws:epochtime",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:viaawsservice",
    "aws:calledvia",
    "kms:viaservice",
    "kms:calleraccount",
    "kms:grantisforawsresource",
    "s3:tlsversion",
    "s3:signatureversion",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "cloudwatch:namespace",
    "iam:passedtoservice",
})
"""Condition keys the harness knows how to fill in (lower case: keys are case-insensitive).

A key in this set that is missing from a request's context is *absent* in AWS's sense (a
direct call by a role has no ``aws:SourceArn``); any other key makes the condition
*unsupported*: the statement is reported and fails closed (an Allow does not apply, a Deny
does), never silently allowed.
"""

SUPPORTED_KEY_PREFIXES: tuple[str, ...] = ("kms:encryptioncontext:",)
"""Key families with a variable suffix the harness fills in (``kms:EncryptionContext:...``)."""


# ---------------------------------------------------------------------------------------
# requests and decisions
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who makes a call: an IAM role session, or an AWS service acting on its own.

    ``arn`` is the role ARN (``arn:aws:iam::ACCOUNT:role/path/name``) or, for a service
    principal, the service name (``events.amazonaws.com``).
    """

    arn: str
    account: str | None = None
    service: str | None = None
    session_name: str = "offline"

    @classmethod
    def role(cls, role_arn: str, session_name: str = "offline") -> Principal:
        """The session of an assumed role (how Lambda, Step Functions and pipes call AWS)."""
        return cls(arn=role_arn, account=role_arn.split(":")[4], session_name=session_name)

    @classmethod
    def aws_service(cls, service: str) -> Principal:
        """A service principal, e.g. ``sns.amazonaws.com`` delivering to a queue."""
        return cls(arn=service, service=service)

    @property
    def is_service(self) -> bool:
        """True for a service principal (no identity-based policies of its own)."""
        return self.service is not None

    @property
    def role_name(self) -> str:
        """The role's name (the last path segment of its ARN)."""
        return self.arn.rsplit("/", 1)[-1]

    @property
    def session_arn(self) -> str:
        """``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``, the caller AWS names in errors."""
        if self.is_service:
            return self.arn
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?"""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_account: str | None = None
    """Owner of the resource; ``None`` means the principal's own account."""


@dataclass(frozen=True)
class Decision:
    """The outcome, with AWS's reason and what could not be evaluated."""

    allowed: bool
    reason: str
    """``explicit deny in ...``, ``no identity-based policy allows ...``, ``allowed by ...``."""
    unsupported: tuple[str, ...] = ()
    """Condition keys or operators met that the engine cannot evaluate (fail closed)."""


@dataclass(frozen=True)
class Policy:
    """A policy document with a label for messages (``identity-based policy X``)."""

    document: Mapping[str, Any]
    label: str


# ---------------------------------------------------------------------------------------
# matching
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` and ``?`` wildcards, everything else literal (no character classes as fnmatch)."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whole-string wildcard match as IAM does it (``*`` any run, ``?`` one character)."""
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Actions are case-insensitive: ``SQS:SendMessage`` matches ``sqs:sendmessage``."""
    return glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN matching: each of the first five colon-delimited parts separately, then the rest.

    [COND] ARN operators: ``arn:aws:someservice:*:111122223333:finance/*`` does not match
    ``arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt``
    although a string match would. The resource part (sixth) may itself contain colons.
    """
    if pattern == "*":
        return True
    p_parts = pattern.split(":", 5)
    a_parts = arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(p, a) for p, a in zip(p_parts, a_parts, strict=True))


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _MissingVariable(Exception):
    pass


def substitute(text: str, context: Mapping[str, ContextValue]) -> str:
    """Replace policy variables from the request context ([VARS]).

    ``${*}``, ``${?}`` and ``${$}`` are the literal characters; a variable whose key is not
    in the context makes the element not match (raised as ``_MissingVariable``). A default
    (``${aws:username, 'x'}``) is used when the key is missing.
    """
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner in ("*", "?", "$"):
            return inner
        name, _, default = inner.partition(",")
        value = _lookup(context, name.strip())
        if value is None:
            default = default.strip()
            if default.startswith("'") and default.endswith("'") and len(default) >= 2:
                return default[1:-1]
            raise _MissingVariable(name)
        return value if isinstance(value, str) else ",".join(value)

    return _VARIABLE.sub(replace, text)


def _lookup(context: Mapping[str, ContextValue], key: str) -> ContextValue | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------
# conditions
# ---------------------------------------------------------------------------------------
class _Unsupported(Exception):
    """A condition the engine cannot evaluate: the key or the operator."""


def supported_key(key: str) -> bool:
    """Whether the harness fills ``key`` in when it applies (else: unsupported if absent)."""
    lowered = key.lower()
    return lowered in SUPPORTED_KEYS or lowered.startswith(SUPPORTED_KEY_PREFIXES)


KeyFilter = Callable[[str], bool]


def _parse_operator(operator: str) -> tuple[str | None, str, bool]:
    qualifier: str | None = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
        if qualifier not in ("ForAnyValue", "ForAllValues"):
            raise _Unsupported(f"set operator {qualifier}")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> dt.datetime:
    text = str(text)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _compare(base: str, policy_value: str, actual: str,
             context: Mapping[str, ContextValue]) -> bool:
    """One positive (non-negated) comparison of a context value with a policy value."""
    if base in ("StringEquals", "StringNotEquals"):
        return substitute(policy_value, context) == actual
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return substitute(policy_value, context).lower() == actual.lower()
    if base in ("StringLike", "StringNotLike"):
        return glob_match(substitute(policy_value, context), actual)
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return arn_matches(substitute(policy_value, context), actual)
    if base == "Bool":
        return substitute(policy_value, context).lower() == actual.lower()
    if base == "BinaryEquals":
        return base64.b64decode(policy_value) == base64.b64decode(actual)
    if base.startswith("Numeric"):
        left, right = _number(actual), _number(policy_value)
        return {
            "NumericEquals": left == right, "NumericNotEquals": left == right,
            "NumericLessThan": left < right, "NumericLessThanEquals": left <= right,
            "NumericGreaterThan": left > right, "NumericGreaterThanEquals": left >= right,
        }[base]
    if base.startswith("Date"):
        left_d, right_d = _date(actual), _date(policy_value)
        return {
            "DateEquals": left_d == right_d, "DateNotEquals": left_d == right_d,
            "DateLessThan": left_d < right_d, "DateLessThanEquals": left_d <= right_d,
            "DateGreaterThan": left_d > right_d, "DateGreaterThanEquals": left_d >= right_d,
        }[base]
    if base in ("IpAddress", "NotIpAddress"):
        return ipaddress.ip_address(actual) in ipaddress.ip_network(policy_value, strict=False)
    raise _Unsupported(f"condition operator {base}")


_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike",
                      "ArnNotEquals", "ArnNotLike", "NumericNotEquals", "DateNotEquals",
                      "NotIpAddress"})
_KNOWN = _NEGATED | frozenset({
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool",
    "BinaryEquals", "NumericEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "IpAddress"})


def _one_key(operator: str, key: str, policy_values: Sequence[str],
             context: Mapping[str, ContextValue], known: KeyFilter) -> bool:
    """Evaluate one ``operator: {key: values}`` entry ([COND], [MULTI]).

    A key present in the context is evaluated; an absent key is *absent* only when
    ``known`` says the harness would have filled it in, else the condition is unsupported.
    """
    qualifier, base, if_exists = _parse_operator(operator)
    if base != "Null" and base not in _KNOWN:
        raise _Unsupported(f"condition operator {operator}")
    actual = _lookup(context, key)
    if actual is None and not known(key):
        raise _Unsupported(f"condition key {key}")
    if base == "Null":
        # true: the key must be absent; false: present and not null.
        wanted_absent = any(str(v).lower() == "true" for v in policy_values)
        return (actual is None) == wanted_absent
    negated = base in _NEGATED
    values = _as_list(actual)
    if actual is None or (qualifier and not values):
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # [MULTI]: an empty or missing key makes ForAllValues true
        if qualifier == "ForAnyValue":
            return False
        return negated

    def matches_any(value: str) -> bool:
        return any(_compare(base, str(p), value, context) for p in policy_values)

    try:
        if qualifier == "ForAllValues":
            # Every request value must match a policy value (negated: match none).
            return all(matches_any(v) != negated for v in values)
        if qualifier == "ForAnyValue":
            return any(matches_any(v) != negated for v in values)
        # Single-valued key: any policy value matches (negated: none matches).
        return any(matches_any(v) for v in values) != negated
    except _MissingVariable:
        return negated
    except (ValueError, TypeError) as exc:
        raise _Unsupported(f"value of {key} for {operator}: {exc}") from exc


def conditions_hold(condition: Mapping[str, Any] | None,
                    context: Mapping[str, ContextValue],
                    known: KeyFilter = supported_key) -> bool:
    """Every operator and every key in a ``Condition`` block must hold (a logical AND).

    Raises ``_Unsupported`` when an operator or key cannot be evaluated.
    """
    if not condition:
        return True
    for operator, entries in condition.items():
        if not isinstance(entries, Mapping):
            raise _Unsupported(f"malformed condition {operator}")
        for key, raw in entries.items():
            values = [_as_text(v) for v in _as_list(raw)]
            if not _one_key(str(operator), str(key), values, context, known):
                return False
    return True


# ---------------------------------------------------------------------------------------
# statements
# ---------------------------------------------------------------------------------------
def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statements of a policy document (``Statement`` may be one object or a list)."""
    found = document.get("Statement", [])
    return [s for s in _as_list(found) if isinstance(s, Mapping)]


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(action_matches(str(p), action) for p in _as_list(statement["NotAction"]))
    return any(action_matches(str(p), action) for p in _as_list(statement.get("Action")))


def _resource_applies(statement: Mapping[str, Any], resource: str,
                      context: Mapping[str, ContextValue], *, default: bool) -> bool:
    """``Resource``/``NotResource``; a statement with neither applies when ``default``.

    Resource-based policies may omit ``Resource`` (Lambda permissions, EventBridge bus
    policies written with ``Statement`` shorthand): the policy's own resource is meant.
    """
    key = "NotResource" if "NotResource" in statement else "Resource"
    if key not in statement:
        return default
    patterns = _as_list(statement[key])
    hit = False
    for pattern in patterns:
        try:
            if arn_matches(substitute(str(pattern), context), resource):
                hit = True
                break
        except _MissingVariable:
            continue
    return not hit if key == "NotResource" else hit


@dataclass(frozen=True)
class _PrincipalMatch:
    direct: bool
    """The statement names this principal (role, its session, the service, or ``*``)."""
    account: bool
    """The statement names the principal's account (delegation to IAM policies)."""


def _principal_entries(value: Any) -> list[tuple[str, str]]:
    if value == "*":
        return [("AWS", "*")]
    if isinstance(value, Mapping):
        return [(str(kind), str(item)) for kind, items in value.items()
                for item in _as_list(items)]
    return [("AWS", str(v)) for v in _as_list(value)]


def _principal_match(value: Any, principal: Principal) -> _PrincipalMatch:
    direct = account = False
    for kind, item in _principal_entries(value):
        if item == "*" and kind in ("AWS", "*"):
            direct = True
        elif kind == "Service":
            if principal.is_service and item.lower() == str(principal.service).lower():
                direct = True
        elif kind == "AWS" and not principal.is_service:
            if item in (principal.account, f"arn:aws:iam::{principal.account}:root"):
                account = True
            elif item in (principal.arn, principal.session_arn) or (
                    item.startswith("arn:aws:sts::") and glob_match(item, principal.session_arn)):
                direct = True
    return _PrincipalMatch(direct=direct, account=account)


@dataclass
class _Tally:
    """What the statements of one set of policies say about a request."""

    deny: str | None = None
    allow: str | None = None
    allow_via_account: str | None = None
    unsupported: list[str] = field(default_factory=list)


def _tally(policies: Iterable[Policy], request: Request, *, resource_based: bool,
           known: KeyFilter) -> _Tally:
    tally = _Tally()
    context = request.context
    for policy in policies:
        for index, statement in enumerate(statements(policy.document)):
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                continue
            if not _action_applies(statement, request.action):
                continue
            if not _resource_applies(statement, request.resource, context,
                                     default=resource_based):
                continue
            match = _PrincipalMatch(direct=True, account=False)
            if resource_based:
                if "NotPrincipal" in statement:
                    named = _principal_match(statement["NotPrincipal"], request.principal)
                    match = _PrincipalMatch(direct=not (named.direct or named.account),
                                            account=False)
                else:
                    match = _principal_match(statement.get("Principal"), request.principal)
                if not (match.direct or match.account):
                    continue
            sid = statement.get("Sid")
            where = f"{policy.label} (statement {sid or index})"
            try:
                holds = conditions_hold(statement.get("Condition"), context, known)
            except _Unsupported as exc:
                tally.unsupported.append(f"{exc} in {where}")
                # Fail closed: an Allow we cannot evaluate does not apply, a Deny does.
                holds = effect == "Deny"
            if not holds:
                continue
            if effect == "Deny":
                # A Deny naming the account applies to every principal in it.
                tally.deny = tally.deny or where
            elif match.direct:
                tally.allow = tally.allow or where
            else:
                tally.allow_via_account = tally.allow_via_account or where
    return tally


# ---------------------------------------------------------------------------------------
# the decision
# ---------------------------------------------------------------------------------------
def evaluate(request: Request, *, identity: Sequence[Policy] = (),
             resource: Sequence[Policy] = (), key_policy: Policy | None = None,
             known_keys: KeyFilter = supported_key) -> Decision:
    """Decide a request as AWS does ([EVAL], [KMS]).

    :param identity: the principal's identity-based policies (none for a service principal).
    :param resource: the resource-based policies of the resource (queue, topic, bucket,
        bus, table, function permissions).
    :param key_policy: for a KMS action, the key's policy; it replaces ``resource`` and
        must allow the request itself or through the account principal, in which case an
        identity-based policy must allow it too.
    :param known_keys: condition keys that are absent (not unsupported) when missing from
        the context; by default the keys the harness fills in (:data:`SUPPORTED_KEYS`).
    """
    principal = request.principal
    identity = () if principal.is_service else identity
    ident = _tally(identity, request, resource_based=False, known=known_keys)
    res = _tally([key_policy] if key_policy else resource, request, resource_based=True,
                 known=known_keys)
    unsupported = tuple(ident.unsupported + res.unsupported)
    deny = ident.deny or res.deny
    if deny:
        return Decision(False, f"explicit deny in {deny}", unsupported)
    # A service principal belongs to no account: its resource-policy grant stands alone.
    same_account = (request.resource_account is None or principal.is_service
                    or request.resource_account == principal.account)
    if key_policy is not None:
        if res.allow:
            return Decision(True, f"allowed by {res.allow}", unsupported)
        if res.allow_via_account and ident.allow:
            return Decision(True, f"allowed by {ident.allow} (enabled by "
                                  f"{res.allow_via_account})", unsupported)
        if ident.allow:
            return Decision(False, "no resource-based policy allows the "
                                   f"{request.action} action (the key policy does not "
                                   "enable IAM policies for it)", unsupported)
        return Decision(False, f"no resource-based policy allows the {request.action} action",
                        unsupported)
    if same_account:
        if ident.allow:
            return Decision(True, f"allowed by {ident.allow}", unsupported)
        if res.allow:
            return Decision(True, f"allowed by {res.allow}", unsupported)
    elif ident.allow and (res.allow or res.allow_via_account):
        return Decision(True, f"allowed by {ident.allow} and "
                              f"{res.allow or res.allow_via_account}", unsupported)
    if principal.is_service or (not same_account and ident.allow):
        return Decision(False, f"no resource-based policy allows the {request.action} action",
                        unsupported)
    return Decision(False, f"no identity-based policy allows the {request.action} action",
                    unsupported)


def denial_message(request: Request, decision: Decision) -> str:
    """AWS's AccessDenied message: who, what, on which resource, and why.

    Shape as AWS writes it since 2021 ("User: arn:aws:sts::123456789012:assumed-role/R/S is
    not authorized to perform: sqs:SendMessage on resource: arn:... because no
    identity-based policy allows the sqs:SendMessage action").
    """
    joint = "with an" if decision.reason.startswith("explicit deny") else "because"
    return (f"User: {request.principal.session_arn} is not authorized to perform: "
            f"{request.action} on resource: {request.resource} {joint} {decision.reason}")


__all__ = [
    "SUPPORTED_KEYS",
    "Decision",
    "Policy",
    "Principal",
    "Request",
    "action_matches",
    "arn_matches",
    "conditions_hold",
    "denial_message",
    "evaluate",
    "glob_match",
    "statements",
    "supported_key",
]
