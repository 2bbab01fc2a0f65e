"""Bad and tokenized inputs for every prop of every subject, generated from its annotation.

A case breaks one prop of a subject's valid props (``prop_subjects.SUBJECTS``) with a
value derived from the prop's annotation, never from the library's own rules:

- ``type``: a value of another type (a str where a sequence of str is expected, an int
  where a str is, a str where a resource interface is, a bool where a number is ...);
- ``negative``, ``zero``, ``huge``: numbers and durations out of any sane range;
- ``empty``, ``blank``, ``blank_item``: an empty or blank string, an empty sequence, a
  sequence holding "";
- ``token``: ``Token.as_number(CfnParameter)``, ``CfnParameter.value_as_number``,
  ``Duration.seconds(<number token>)``, ``CfnParameter.value_as_string``.

Verdicts (:func:`run_case`): a bad input must raise a ConfigurationError naming the prop
(``clear``); anything else is ``unclear`` (a ConfigurationError about something else),
``crash`` (another exception) or ``accepted`` (silently built). A token must build and
synthesize (``token_ok``) unless the subject lists the prop as literal-only, where a
ConfigurationError naming it is the right answer.

``python -m tests.validation.prop_fuzz`` prints the counts over every case.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import sys
import time
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, CfnParameter, Duration, Fn, Stack, Token
from hypothesis import strategies as st

from analytics_orchestration import ConfigurationError
from tests.support import cdk_json_context, new_stack
from tests.validation.prop_subjects import SUBJECTS, Subject

BAD_KINDS = ("type", "negative", "zero", "huge", "empty", "blank", "blank_item")


@dataclass(frozen=True)
class Case:
    """One input of one prop: ``make(stack, drawn)`` builds it from a drawn raw value."""

    subject: Subject
    prop: str
    kind: str
    strategy: st.SearchStrategy[Any]
    example: Any
    make: Callable[[Stack, Any], Any]

    @property
    def label(self) -> str:
        return f"{self.subject.name}.{self.prop}[{self.kind}]"


def _identity(stack: Stack, value: Any) -> Any:
    return value


def _param(stack: Stack, kind: str) -> CfnParameter:
    name = f"FuzzParam{len([c for c in stack.node.children if isinstance(c, CfnParameter)])}"
    return CfnParameter(stack, name, type="Number" if kind == "number" else "String")


def number_token(stack: Stack, flavour: Any) -> float:
    parameter = _param(stack, "number")
    return Token.as_number(parameter) if flavour == "as_number" else parameter.value_as_number


def string_token(stack: Stack, _: Any) -> str:
    return _param(stack, "string").value_as_string


def duration_token(stack: Stack, unit: Any) -> Duration:
    """``Duration.<unit>(CfnParameter.value_as_number)``: seconds unless the prop takes
    another unit in CloudFormation (then CDK cannot convert a token to it)."""
    return getattr(Duration, unit or "seconds")(_param(stack, "number").value_as_number)


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
        return typing.Union[tuple(members)]  # noqa: UP007 - rebuilt at runtime
    return annotation


_SEQUENCE_ORIGINS = {collections.abc.Sequence, list, tuple}
_MAPPING_ORIGINS = {collections.abc.Mapping, dict}
_RESOURCE_ARN = "arn:aws:sqs:us-east-1:111111111111:not-a-resource-object"


def _cases_of_prop(subject: Subject, prop: str, annotation: Any) -> Iterator[Case]:
    base = _strip_optional(annotation)
    origin = typing.get_origin(base)

    def case(kind: str, strategy: st.SearchStrategy[Any], example: Any,
             make: Callable[[Stack, Any], Any] = _identity) -> Case:
        return Case(subject, prop, kind, strategy, example, make)

    def wrong(*values: Any) -> Case:
        return case("type", st.sampled_from(values), values[0])

    if base is bool:
        yield wrong("yes", 1, "false")
    elif base is int:
        yield wrong("5", True, 2.5)
        yield case("negative", st.integers(max_value=-1), -1)
        yield case("zero", st.just(0), 0)
        yield case("huge", st.integers(min_value=10**12, max_value=10**18), 10**12)
        yield case("token", st.sampled_from(["as_number", "value_as_number"]), "as_number",
                   number_token)
    elif base is float:
        yield wrong("0.5", False)
        yield case("negative", st.floats(max_value=-0.001, min_value=-1e12), -1.0)
        yield case("huge", st.floats(min_value=1e12, max_value=1e18), 1e12)
        yield case("token", st.sampled_from(["as_number", "value_as_number"]), "as_number",
                   number_token)
    elif base is str:
        yield wrong(42, ["a"], None if not _optional(annotation) else 4.5)
        yield case("empty", st.just(""), "")
        yield case("blank", st.sampled_from([" ", "\t", "  \n"]), " ")
        # Beyond any name or prefix, within the longest descriptions (KMS: 8,192).
        yield case("huge", st.integers(min_value=1025, max_value=8192).map(lambda n: "x" * n),
                   "x" * 5000)
        yield case("token", st.just(None), None, string_token)
    elif base is Duration:
        yield wrong(30, "PT5M", 1.5)
        yield case("zero", st.just(0), 0, lambda s, v: Duration.seconds(v))
        yield case("huge", st.integers(min_value=10 * 365, max_value=1000 * 365), 36500,
                   lambda s, v: Duration.days(v))
        unit = subject.units.get(prop, "seconds")
        yield case("token", st.just(unit), unit, duration_token)
    elif origin in _SEQUENCE_ORIGINS:
        item = (typing.get_args(base) or (Any,))[0]
        if item is str:
            yield wrong("incoming/", [42], "a,b")
            yield case("empty", st.just(()), ())
            # Where a blank item is valid ("" is the bucket's root, an empty argument), the
            # case is [""] alone: next to another item it would judge that item instead
            # (["ok", ""] as Athena read prefixes is refused for "ok", not for "").
            blank_is_valid = "blank_item" in subject.accepts.get(prop, frozenset())
            yield case("blank_item", st.sampled_from([[""]] if blank_is_valid
                                                     else [[""], ["ok", ""]]), [""])
            yield case("huge", st.integers(min_value=101, max_value=300).map(
                lambda n: [f"v{i}/" for i in range(n)]), [f"v{i}/" for i in range(101)])
            yield case("token", st.just(None), None, lambda s, v: [string_token(s, v)])
        else:
            yield wrong("x", [42], {"a": 1})
            yield case("empty", st.just(()), ())
    elif origin in _MAPPING_ORIGINS:
        value_type = (typing.get_args(base) or (Any, Any))[1]
        values: list[Any] = [["a"], "k=v"]
        if value_type is str:
            values.append({"k": 5})
        yield wrong(*values)
    elif inspect.isclass(base) and issubclass(base, enum.Enum):
        members = list(base)
        yield wrong(str(members[0].value), 0)
    elif origin is collections.abc.Callable:
        return
    elif inspect.isclass(base) or origin is typing.Union:
        yield wrong(_RESOURCE_ARN, 42, "x")


def _optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def cases(subject: Subject) -> list[Case]:
    """Every case of ``subject``: each prop of its signature, each kind that fits."""
    target = subject.signature_target()
    hints = typing.get_type_hints(target)
    found: list[Case] = []
    for name in inspect.signature(target).parameters:
        if name in ("self", "cls", "scope") or name in subject.skip:
            continue
        if name == "construct_id":
            found.append(Case(subject, name, "type", st.sampled_from([42, None]), 42,
                              _identity))
            found.append(Case(subject, name, "empty", st.sampled_from(["", "a/b"]), "",
                              _identity))
            found.append(Case(subject, name, "token", st.just(None), None, string_token))
            continue
        if name in hints:
            found.extend(_cases_of_prop(subject, name, hints[name]))
    return found


ALL_CASES: tuple[Case, ...] = tuple(case for subject in SUBJECTS for case in cases(subject))


def expected(case: Case) -> str:
    """What the case must produce: ``error`` or ``token``."""
    if case.kind == "token":
        return "error" if case.prop in case.subject.literal or case.prop == "construct_id" \
            else "token"
    if case.kind in case.subject.accepts.get(case.prop, frozenset()):
        return "valid"
    return "error"


def names_prop(error: ConfigurationError, prop: str) -> bool:
    """True when one of the error's problems is about ``prop`` (possibly nested)."""
    pattern = re.compile(rf"(^|[./\[(\s]){re.escape(prop)}(\(\))?(\[[^\]]*\])?([./:\s]|$)")
    return any(pattern.search(problem.split(": got", 1)[0]) for problem in error.problems)


def build(case: Case, drawn: Any, stack: Stack) -> Any:
    """Call the subject with the case's value in place of its prop; host the result."""
    subject = case.subject
    props = subject.props(stack)
    for other in subject.exclusive.get(case.prop, ()):
        props.pop(other, None)
    props[case.prop] = case.make(stack, drawn)
    positional: list[Any] = []
    parameters = inspect.signature(subject.signature_target()).parameters.values()
    star = [p.name for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL]
    if star:  # f(name, *items, ...): what comes before *items is passed by position
        value = props.pop(star[0])
        before = [p.name for p in parameters
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                  and p.name not in ("self", "cls", "scope", "construct_id")]
        items = list(value) if isinstance(value, list | tuple) else [value]
        positional = [props.pop(name) for name in before if name in props] + items
    if subject.construct:
        construct_id = props.pop("construct_id", "Subject")
        result = subject.call(stack, construct_id, *positional, **props)
    else:
        result = subject.call(*positional, **props)
    if subject.host is not None:
        subject.host(stack, result)
    return result


class _ThreeAzStack(Stack):
    @property
    def availability_zones(self) -> list[str]:
        return [Fn.select(index, Fn.get_azs()) for index in range(3)]


def _stack(subject: Subject) -> Stack:
    # Asset staging copies every handler folder at synth (30 s here under load); what a
    # token does to a template does not depend on it.
    context = {"aws:cdk:disable-asset-staging": True}
    if subject.three_azs:
        return _ThreeAzStack(App(context={**cdk_json_context(), **context}), "TestStack")
    return new_stack(context)


def run_case(case: Case, drawn: Any | None = None) -> tuple[str, str]:
    """(verdict, detail) of one case; see the module docstring."""
    drawn = case.example if drawn is None else drawn
    stack = _stack(case.subject)
    must = expected(case)
    try:
        build(case, drawn, stack)
        if must == "token":
            app = stack.node.scope
            assert app is not None
            typing.cast(Any, app).synth()
    except ConfigurationError as error:
        if case.kind == "token" and must == "error":  # a literal-only prop refused a token
            return ("literal_refused" if names_prop(error, case.prop) else "unclear"), str(error)
        if must == "token":
            return "token_rejected", str(error)
        if must == "valid":
            return "valid_rejected", str(error)
        return ("clear" if names_prop(error, case.prop) else "unclear"), str(error)
    except Exception as error:  # the point of the fuzz: nothing else may escape
        text = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        return ("token_crash" if must == "token" else "crash"), text
    if must == "token":
        return "token_ok", ""
    if must == "valid":
        return "valid_ok", ""
    return "accepted", ""


def measure(verbose: bool = False) -> Counter[str]:
    """Run every case once (its fixed example) and count the verdicts."""
    counts: Counter[str] = Counter()
    for case in ALL_CASES:
        started = time.perf_counter()
        verdict, detail = run_case(case)
        counts[verdict] += 1
        if verbose and verdict not in ("clear", "token_ok", "valid_ok", "literal_refused"):
            print(f"{verdict:15} {case.label} ({time.perf_counter() - started:.1f} s): "
                  f"{detail[:160]}", flush=True)
    return counts


def summary(counts: Counter[str]) -> str:
    bad = sum(counts[v] for v in ("clear", "unclear", "crash", "accepted"))
    tokens = sum(counts[v] for v in ("token_ok", "token_rejected", "token_crash"))
    literal = counts["literal_refused"]
    return (f"subjects {len(SUBJECTS)}, cases {sum(counts.values())}; bad inputs {bad}: "
            f"clear {counts['clear']}, unclear {counts['unclear']}, crash {counts['crash']}, "
            f"silently accepted {counts['accepted']}; tokens {tokens}: accepted "
            f"{counts['token_ok']}, rejected {counts['token_rejected']}, crash "
            f"{counts['token_crash']}; tokens on literal-only props refused naming the prop "
            f"{literal}; valid edge inputs {counts['valid_ok']} ok, "
            f"{counts['valid_rejected']} rejected")


if __name__ == "__main__":
    result = measure(verbose="-v" in sys.argv)
    print(summary(result))
