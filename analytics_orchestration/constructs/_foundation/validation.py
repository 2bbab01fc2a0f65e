"""Prop validation in one place: type checks from annotations, token-aware value rules.

Every public construct, options dataclass, factory and building block opts in once with
:func:`validated_props` (a decorator). Before the wrapped callable runs, every argument is
checked against its annotation (``typing.get_type_hints``) and against the value rules
the decorator lists; all problems go into one :class:`ConfigurationError` naming each
prop, raised before anything is built. Constructs then add the checks that need more than
one prop with :class:`ProblemCollector`, the same collector.

Why not ``isinstance`` alone: jsii interfaces (``IBucket``, ``IKey``...) are
``typing.Protocol`` classes that are not runtime-checkable, and what jsii hands back for
an imported resource is a proxy that does not inherit them; :func:`implements_interface`
knows both shapes. A ``str`` is a ``Sequence[str]`` to Python but never to a prop.

Tokens: values only known at deploy time (``CfnParameter.value_as_number``,
``Token.as_number(...)``, ``Duration.seconds(token)``, ``value_as_string``) pass every
value rule: a rule on them would reject valid apps. A number token is a ``float`` even
where the annotation says ``int``, so an unresolved float is an ``int`` here.
"""

from __future__ import annotations

import abc
import collections.abc
import dataclasses
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from aws_cdk import Duration, Token
from constructs import Construct

from analytics_orchestration.errors import ConfigurationError

#: Longest repr of a received value an error message shows.
_MAX_REPR = 80

_T = TypeVar("_T")


class ProblemCollector:
    """Accumulates prop problems; :meth:`raise_if_any` raises one ConfigurationError.

    Values that are unresolved CDK tokens are never judged: they are only known at
    deploy time, so a check on them would reject valid apps.
    """

    def __init__(self, construct_name: str) -> None:
        self._construct_name = construct_name
        self._problems: list[str] = []

    def add(self, prop: str, received: object, allowed: str) -> None:
        """Record that ``prop`` received ``received`` where ``allowed`` is what works."""
        self._problems.append(f"{prop}: got {_short_repr(received)}; {allowed}")

    def check(self, condition: bool, prop: str, received: object, allowed: str) -> None:
        """Record a problem unless ``condition`` holds or ``received`` is a token."""
        if is_unresolved(received):
            return
        if not condition:
            self.add(prop, received, allowed)

    def apply(self, rules: Mapping[str, Rule], values: Mapping[str, object],
              prefix: str = "") -> None:
        """Apply each value rule to its prop (None, the default of optional props, passes)."""
        for prop, rule in rules.items():
            if prop not in values or values[prop] is None:
                continue
            value = values[prop]
            allowed = rule.problem(value)
            if allowed is not None:
                self.add(f"{prefix}{prop}", value, allowed)

    def extend(self, problems: Iterable[tuple[str, object, str]]) -> None:
        """Add (prop, received, allowed) triples, skipping those about a token."""
        for prop, received, allowed in problems:
            self.check(False, prop, received, allowed)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(self._problems)

    def raise_if_any(self) -> None:
        if self._problems:
            raise ConfigurationError(self._construct_name, self._problems)


#: What every encoded CDK string token contains: ``${Token[...]}`` (strings) and
#: ``#{Token[...]}`` (list elements). A string without either is a plain value.
_STRING_TOKEN_MARKERS = ("${Token[", "#{Token[")
#: Encoded number tokens are doubles near -1.888e+289; no number closer to zero is one.
_SMALLEST_NUMBER_TOKEN = 1e280


def is_unresolved(value: object) -> bool:
    """True for a CDK token (or a list holding one): a value only known at deploy time.

    Plain strings and ordinary numbers are answered here: asking aws-cdk-lib costs a jsii
    round trip per value, and these checks run on every prop of every construct (issue
    #16). Anything that may be a token is still asked.
    """
    if isinstance(value, Duration):
        return bool(value.is_unresolved())
    if isinstance(value, str):
        if not any(marker in value for marker in _STRING_TOKEN_MARKERS):
            return False
        return Token.is_unresolved(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, int) or abs(value) < _SMALLEST_NUMBER_TOKEN:
            return False
        return Token.is_unresolved(value)
    if isinstance(value, list | tuple):
        return any(is_unresolved(item) for item in value)
    return False


def _short_repr(value: object) -> str:
    if isinstance(value, Duration):
        text = f"Duration({value.to_human_string()})"
    else:
        try:
            text = repr(value)
        except Exception:  # a jsii proxy whose repr fails must not hide the real problem
            text = f"<{type(value).__name__}>"
    return text if len(text) <= _MAX_REPR else f"{text[:_MAX_REPR - 3]}..."


# --------------------------------------------------------------------------- value rules


class Rule(abc.ABC):
    """A value rule of one prop; :meth:`problem` says what is allowed, or None if fine."""

    @abc.abstractmethod
    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` (a sentence naming what is allowed), or None."""


@dataclasses.dataclass(frozen=True)
class Number(Rule):
    """A number within [minimum, maximum], whole unless ``integer`` is False."""

    minimum: float | None = None
    maximum: float | None = None
    integer: bool = True
    #: True when CDK needs the number while building (e.g. how many subnets to make).
    literal: bool = False

    def problem(self, value: object) -> str | None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if is_unresolved(value):
            return ("must be a literal number, not a token: the app's structure depends "
                    "on it while it is built") if self.literal else None
        if self.integer and not float(value).is_integer():
            return "must be a whole number"
        low = self.minimum is None or value >= self.minimum
        high = self.maximum is None or value <= self.maximum
        if low and high:
            return None
        return f"must be {_bounds(self.minimum, self.maximum)}"


def _bounds(minimum: object, maximum: object) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum} to {maximum}"
    if minimum is not None:
        return f"{minimum} or more"
    return f"{maximum} or less"


@dataclasses.dataclass(frozen=True)
class Span(Rule):
    """A Duration within [minimum, maximum] (in whole seconds unless ``whole_seconds`` off).

    A token duration passes: ``Duration.seconds(token).to_seconds()`` is a token, and
    ``Duration.minutes(token).to_seconds()`` even raises, so it is never converted.
    """

    minimum: Duration | None = None
    maximum: Duration | None = None
    whole_seconds: bool = False
    #: The unit CloudFormation takes for this prop: a token duration must be built in it
    #: (CDK cannot convert ``Duration.seconds(token)`` to days at synth).
    unit: str = "seconds"
    #: The allowed range in words (default: from the bounds' human strings).
    meaning: str | None = None

    def problem(self, value: object) -> str | None:
        if not isinstance(value, Duration):
            return None
        if value.is_unresolved():
            if value.unit_label() == self.unit:
                return None
            return (f"a duration from a token must be Duration.{self.unit}(token) here: "
                    f"CloudFormation takes {self.unit}, and CDK cannot convert a token")
        seconds = value.to_seconds(integral=False)
        if self.whole_seconds and not float(seconds).is_integer():
            return "must be a whole number of seconds"
        low = self.minimum is None or seconds >= self.minimum.to_seconds(integral=False)
        high = self.maximum is None or seconds <= self.maximum.to_seconds(integral=False)
        if low and high:
            return None
        if self.meaning is not None:
            return f"must be {self.meaning}"
        return "must be " + _bounds(
            self.minimum and self.minimum.to_human_string(),
            self.maximum and self.maximum.to_human_string(),
        )


@dataclasses.dataclass(frozen=True)
class Text(Rule):
    """A string: non-empty, at most ``max_length``, matching ``pattern`` (full match)."""

    non_empty: bool = True
    max_length: int | None = None
    pattern: str | None = None
    ends_with: str | None = None
    meaning: str | None = None

    #: True when CDK needs the value while building (a construct id, a logical id part).
    literal: bool = False
    #: True when the construct reports a blank value itself (with its other problems).
    blank_is_checked_elsewhere: bool = False

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str):
            return None
        if is_unresolved(value):
            return ("must be a literal string, not a token: it names constructs while the "
                    "app is built") if self.literal else None
        if self.non_empty and not value.strip():
            return "must not be empty"
        if value and not value.strip() and not self.blank_is_checked_elsewhere:
            return "must not be blank (give \"\" or a real value)"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        if self.ends_with is not None and value and not value.endswith(self.ends_with):
            return f"must end in {self.ends_with!r}"
        if self.pattern is not None and value and re.fullmatch(self.pattern, value) is None:
            return f"must be {self.meaning or 'a string matching ' + self.pattern}"
        return None


@dataclasses.dataclass(frozen=True)
class Items(Rule):
    """A sequence or mapping: at least ``min_items``, at most ``max_items``, each ``each``."""

    min_items: int = 1
    max_items: int | None = None
    each: Rule | None = None
    unique: bool = False

    def problem(self, value: object) -> str | None:
        if not isinstance(value, Sequence | Mapping) or isinstance(value, str):
            return None
        if len(value) < self.min_items:
            return f"give at least {self.min_items} item(s)"
        if self.max_items is not None and len(value) > self.max_items:
            return f"give at most {self.max_items} item(s)"
        items = list(value.values() if isinstance(value, Mapping) else value)
        if self.unique:
            plain = [item for item in items if not is_unresolved(item)]
            if len({repr(item) for item in plain}) != len(plain):
                return "items must be unique"
        if self.each is not None:
            for index, item in enumerate(items):
                problem = self.each.problem(item)
                if problem is not None:
                    return f"item {index} ({_short_repr(item)}) {problem}"
        return None


def field_problems(rules: Mapping[str, Rule], instance: object,
                   prefix: str) -> list[tuple[str, object, str]]:
    """(prop, value, allowed) for each field of ``instance`` breaking its rule.

    For options objects a construct reports again under its own prop (``prefix``).
    """
    found: list[tuple[str, object, str]] = []
    for name, rule in rules.items():
        value = getattr(instance, name)
        allowed = None if value is None else rule.problem(value)
        if allowed is not None:
            found.append((f"{prefix}{name}", value, allowed))
    return found


def seconds_of(value: Duration | None) -> float | None:
    """``value`` in seconds, or None for no value or a token (not comparable)."""
    if value is None or value.is_unresolved():
        return None
    return float(value.to_seconds(integral=False))


#: What every ``str`` prop without a rule of its own must be: not blank (None, not "",
#: is how a prop is left out) and of a size any AWS name, prefix or description fits in.
DEFAULT_TEXT = Text(max_length=1024)
#: Every ``Sequence[str]`` prop without a rule of its own: items as :data:`DEFAULT_TEXT`.
DEFAULT_TEXTS = Items(min_items=0, each=DEFAULT_TEXT)


def _default_rules(hints: Mapping[str, Any], values: Mapping[str, object],
                   rules: Mapping[str, Rule]) -> dict[str, Rule]:
    defaults: dict[str, Rule] = {}
    for prop in values:
        if prop in rules or prop == "construct_id" or prop not in hints:
            continue
        members = [arg for arg in typing.get_args(hints[prop]) if arg is not type(None)]
        annotation = members[0] if len(members) == 1 else hints[prop]
        if annotation is str:
            defaults[prop] = DEFAULT_TEXT
        elif typing.get_origin(annotation) in _SEQUENCES and typing.get_args(annotation)[:1] == (
                str,):
            defaults[prop] = DEFAULT_TEXTS
    return defaults


#: A service principal such as ``events.amazonaws.com``.
SERVICE_PRINCIPAL = Text(
    pattern=r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?",
    meaning="a service principal such as 'events.amazonaws.com'",
)
#: A construct id: non-empty, and without the path separator CDK refuses.
CONSTRUCT_ID = Text(pattern=r"[^/]+", meaning="a construct id without '/'", literal=True)


# --------------------------------------------------------------------------- type checks


def annotations_of(target: Callable[..., object]) -> dict[str, Any]:
    """The resolved annotations of ``target``; a name only importable for type checkers
    leaves its prop unjudged instead of failing."""
    cached = _HINTS.get(target)
    if cached is not None:
        return cached
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError, AttributeError):
        hints = {}
        module = sys.modules.get(getattr(target, "__module__", ""), None)
        namespace = dict(vars(module)) if module else {}
        for name, annotation in getattr(target, "__annotations__", {}).items():
            try:
                hints[name] = (
                    eval(annotation, namespace) if isinstance(annotation, str) else annotation
                )
            except Exception:  # unresolvable here: not judged
                continue
    hints.pop("return", None)
    _HINTS[target] = hints
    return hints


_HINTS: dict[Callable[..., object], dict[str, Any]] = {}


def return_annotation(target: Callable[..., object]) -> Any:
    """The resolved return annotation of ``target`` (None when it cannot be resolved)."""
    try:
        return typing.get_type_hints(target).get("return")
    except (NameError, TypeError, AttributeError):
        return None


def implements_interface(value: object, interface: type) -> bool:
    """True when ``value`` implements the jsii interface ``interface``.

    A jsii class declares its interfaces in ``__jsii_ifaces__`` (``@jsii.implements``); a
    proxy jsii returns for an imported resource names its interface in ``__jsii_type__``;
    an object implementing several interfaces comes as ``InterfaceDynamicProxy`` whose
    ``_delegates`` are such proxies. Interfaces extend each other by Python inheritance.
    """
    delegates = getattr(type(value), "__name__", "") == "InterfaceDynamicProxy"
    if delegates:
        return any(implements_interface(delegate, interface)
                   for delegate in object.__getattribute__(value, "_delegates"))
    from jsii import _reference_map

    for klass in type(value).__mro__:
        if klass is interface:
            return True
        declared = list(klass.__dict__.get("__jsii_ifaces__", ()))
        proxied = _reference_map._interfaces.get(klass.__dict__.get("__jsii_type__", ""))
        if proxied is not None:
            declared.append(proxied)
        if any(interface in candidate.__mro__ for candidate in declared):
            return True
    return False


def _is_jsii_interface(annotation: type) -> bool:
    return bool(getattr(annotation, "_is_protocol", False)) and hasattr(
        annotation, "__jsii_type__"
    )


_SEQUENCES = {collections.abc.Sequence, list, tuple, collections.abc.Iterable,
              collections.abc.Collection, collections.abc.MutableSequence}
_MAPPINGS = {collections.abc.Mapping, dict, collections.abc.MutableMapping}


def conforms(value: object, annotation: Any) -> bool:
    """True when ``value`` is of type ``annotation`` (see the module docstring)."""
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(conforms(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin is typing.Annotated:
        return conforms(value, args[0])
    if origin in _SEQUENCES:
        return _conforms_sequence(value, origin, args)
    if origin in _MAPPINGS:
        if not isinstance(value, Mapping):
            return False
        key_type, value_type = args if len(args) == 2 else (Any, Any)
        return all(conforms(k, key_type) and conforms(v, value_type) for k, v in value.items())
    if origin is collections.abc.Callable:
        return callable(value)
    if origin is type:
        return isinstance(value, type)
    if origin is not None:
        annotation = origin
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        if isinstance(value, float):
            return Token.is_unresolved(value)
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if not isinstance(annotation, type):
        return True  # a construct the checker does not know: not judged
    if _is_jsii_interface(annotation):
        return implements_interface(value, annotation)
    try:
        return isinstance(value, annotation)
    except TypeError:  # a non-runtime Protocol of someone else's
        return True


def _conforms_sequence(value: object, origin: object, args: tuple[Any, ...]) -> bool:
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Sequence):
        return False
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return len(value) == len(args) and all(map(conforms, value, args))
    item_type = args[0] if args else Any
    return all(conforms(item, item_type) for item in value)


def explain(prop: str, value: object, annotation: Any) -> tuple[str, object, str]:
    """(prop, received, allowed) for a value that does not conform to ``annotation``.

    Inside a sequence or mapping of the right kind, the first wrong item is named
    (``targets[2]``, ``environment['PORT']``), so the message points at it.
    """
    members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        if value is not None and len(members) == 1:
            return explain(prop, value, members[0])
    elif origin in _SEQUENCES and _is_plain_sequence(value):
        args = typing.get_args(annotation)
        fixed = origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis)
        if args and not fixed:
            for index, item in enumerate(cast(Sequence[object], value)):
                if not conforms(item, args[0]):
                    return explain(f"{prop}[{index}]", item, args[0])
    elif origin in _MAPPINGS and isinstance(value, Mapping):
        args = typing.get_args(annotation)
        if len(args) == 2:
            for key, item in value.items():
                if not conforms(key, args[0]):
                    return (f"{prop} key {key!r}", key, f"expected {describe(args[0])}")
                if not conforms(item, args[1]):
                    return explain(f"{prop}[{key!r}]", item, args[1])
    return prop, value, f"expected {describe(annotation)}"


def _is_plain_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _bare(text: str) -> str:
    for article in ("a ", "an "):
        if text.startswith(article):
            return text[len(article):]
    return text


def describe(annotation: Any) -> str:
    """``annotation`` in words, for an error message."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(describe(arg) for arg in args)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in _SEQUENCES:
        item = _bare(describe(args[0])) if args else "anything"
        return f"a list or tuple of {item} (a single str is not a sequence of them)"
    if origin in _MAPPINGS:
        key, value = (describe(args[0]), describe(args[1])) if len(args) == 2 else ("", "")
        return f"a mapping of {key} to {value}" if key else "a mapping"
    if origin is collections.abc.Callable:
        return "a callable"
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return "a bool (True or False)"
        if annotation is int:
            return "a whole number (int) or a number token"
        if annotation is float:
            return "a number"
        if annotation is str:
            return "a str"
        module = annotation.__module__.replace("aws_cdk.", "").replace("aws_cdk", "cdk")
        name = annotation.__name__
        if not module.startswith("analytics_orchestration"):
            name = f"{module}.{name}"
        article = "an" if name[0].lower() in "aeiou" else "a"
        factories = [member for member, value in vars(annotation).items()
                     if isinstance(value, classmethod) and not member.startswith("_")]
        if factories and module.startswith("analytics_orchestration"):
            listed = ", ".join(f"{name}.{factory}(...)" for factory in factories)
            return f"{article} {name} built by an {name} factory ({listed})"
        return f"{article} {name}"
    return str(annotation)


# --------------------------------------------------------------------------- opting in


def _label(owner: str, arguments: Mapping[str, object]) -> str:
    """The error's subject: the owner, plus the path a construct would get."""
    scope = arguments.get("scope")
    construct_id = arguments.get("construct_id")
    if isinstance(scope, Construct) and isinstance(construct_id, str):
        path = scope.node.path
        return f"{owner} {path}/{construct_id}" if path else f"{owner} {construct_id}"
    return owner


#: A check across props, run when every prop has the right type.
CrossCheck = Callable[[ProblemCollector, Mapping[str, Any]], None]


def validate_arguments(
    owner: str,
    target: Callable[..., object],
    arguments: Mapping[str, object],
    rules: Mapping[str, Rule],
    checks: Sequence[CrossCheck] = (),
    variadic: Mapping[str, inspect._ParameterKind] | None = None,
) -> None:
    """Type-check ``arguments`` against ``target``'s annotations, then apply ``rules``.

    Raises one ConfigurationError listing every problem. A prop of the wrong type skips
    its value rule (the rule could not make sense of it).
    """
    problems = ProblemCollector(_label(owner, arguments))
    hints = annotations_of(target)
    typed_ok: dict[str, object] = {}
    for prop, value in arguments.items():
        annotation = hints.get(prop)
        kind = (variadic or {}).get(prop)
        if annotation is not None and kind is inspect.Parameter.VAR_POSITIONAL:
            annotation = cast(Any, tuple)[annotation, ...]  # *items: each has the annotation
        elif annotation is not None and kind is inspect.Parameter.VAR_KEYWORD:
            annotation = cast(Any, Mapping)[str, annotation]  # **props: each value has it
        if annotation is not None and not conforms(value, annotation):
            problems.add(*explain(prop, value, annotation))
        else:
            typed_ok[prop] = value
    if "construct_id" in typed_ok:
        problems.apply({"construct_id": CONSTRUCT_ID}, typed_ok)
    problems.apply(_default_rules(hints, typed_ok, rules), typed_ok)
    problems.apply(rules, typed_ok)
    if len(typed_ok) == len(arguments):
        for check in checks:
            check(problems, arguments)
    problems.raise_if_any()


def check_value(owner: str, prop: str, value: object, annotation: Any,
                rules: Mapping[str, Rule] | None = None) -> None:
    """Check one value (e.g. what an extension point returned) against ``annotation``."""
    problems = ProblemCollector(owner)
    if not conforms(value, annotation):
        problems.add(prop, value, f"expected {describe(annotation)}")
    elif rules and prop in rules:
        problems.apply({prop: rules[prop]}, {prop: value})
    problems.raise_if_any()


def _wrap(owner: str, function: Callable[..., _T], rules: Mapping[str, Rule],
          skip: frozenset[str], checks: Sequence[CrossCheck] = ()) -> Callable[..., _T]:
    signature = inspect.signature(function)
    variadic = {name: parameter.kind for name, parameter in signature.parameters.items()
                if parameter.kind in (inspect.Parameter.VAR_POSITIONAL,
                                      inspect.Parameter.VAR_KEYWORD)}

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> _T:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:  # unknown or missing prop: name it, as any other
            raise ConfigurationError(owner, [str(error)]) from None
        bound.apply_defaults()
        # A dataclass field with a default_factory shows a sentinel as its default: the
        # factory runs inside __init__, so there is nothing of the caller's to check.
        arguments = {name: value for name, value in bound.arguments.items()
                     if name not in skip and value is not _DEFAULT_FACTORY}
        validate_arguments(owner, function, arguments, rules, checks, variadic)
        return function(*args, **kwargs)

    cast(Any, checked).__validated_props__ = True
    return checked


_SKIPPED = frozenset({"self", "cls"})
_DEFAULT_FACTORY: Any = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", object())


def validated_props(
    rules: Mapping[str, Rule] | None = None,
    *,
    factories: Mapping[str, Mapping[str, Rule]] | None = None,
    extension_points: Mapping[str, Mapping[str, Rule] | None] | None = None,
    checks: Sequence[CrossCheck] = (),
) -> Callable[[_T], _T]:
    """Opt a construct, dataclass, factory class or builder function into validation.

    On a function: every call is checked (annotations + ``rules``) before it runs. On a
    class: its ``__init__`` (generated or written) is, and so is every public classmethod
    (factories; their value rules in ``factories[name]``). ``extension_points`` names
    methods subclasses may override: whatever an override returns is checked against the
    base method's return annotation (and the rules given), when it is called.
    ``checks`` are cross-prop checks (conflicting props) run once every type is right.
    """
    prop_rules = dict(rules or {})

    def decorate(target: _T) -> _T:
        if not inspect.isclass(target):
            function = cast(Callable[..., Any], target)
            return cast(_T, _wrap(function.__name__, function, prop_rules, _SKIPPED, checks))
        cls = cast(type, target)
        if "__init__" in vars(cls):
            init = vars(cls)["__init__"]
            cls.__init__ = _wrap(  # type: ignore[misc]
                cls.__name__, init, prop_rules, _SKIPPED, checks)
        for name, member in list(vars(cls).items()):
            if isinstance(member, classmethod) and not name.startswith("_"):
                method_rules = dict((factories or {}).get(name, {}))
                wrapped = _wrap(f"{cls.__name__}.{name}", member.__func__, method_rules,
                                _SKIPPED)
                setattr(cls, name, classmethod(wrapped))
        cast(Any, cls).__validated_props__ = True
        if extension_points:
            _install_extension_point_checks(cls, dict(extension_points))
        return target

    return decorate


def _install_extension_point_checks(
    cls: type, points: dict[str, Mapping[str, Rule] | None]
) -> None:
    """Check the result of every (overridden) extension point of ``cls`` and subclasses."""
    annotations = {name: return_annotation(getattr(cls, name)) for name in points}

    def guard(klass: type) -> None:
        for name, rules in points.items():
            method = klass.__dict__.get(name)
            if method is None or getattr(method, "__checks_result__", False):
                continue
            klass_name = klass.__name__
            setattr(klass, name, _result_checked(klass_name, name, method,
                                                 annotations[name], rules))

    guard(cls)
    original = cls.__dict__.get("__init_subclass__")

    def __init_subclass__(subclass: type, **kwargs: Any) -> None:
        if original is not None:
            original.__func__(subclass, **kwargs)
        else:
            cast(Any, super)(cls, subclass).__init_subclass__(**kwargs)
        guard(subclass)

    setattr(cls, "__init_subclass__", classmethod(cast(Any, __init_subclass__)))  # noqa: B010


def _result_checked(owner: str, name: str, method: Callable[..., Any], annotation: Any,
                    rules: Mapping[str, Rule] | None) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        subject = f"{owner} {self.node.path}" if isinstance(self, Construct) else owner
        if annotation is not None:
            check_value(subject, f"{name}()", result, annotation, None)
        if rules and result is not None:
            problems = ProblemCollector(subject)
            values = (
                {field.name: getattr(result, field.name) for field in dataclasses.fields(result)}
                if dataclasses.is_dataclass(result) else {"": result}
            )
            problems.apply(rules, values, prefix=f"{name}().")
            problems.raise_if_any()
        return result

    cast(Any, checked).__checks_result__ = True
    return checked


def is_validated(target: object) -> bool:
    """True when ``target`` opted in with :func:`validated_props`."""
    return bool(getattr(target, "__validated_props__", False))
