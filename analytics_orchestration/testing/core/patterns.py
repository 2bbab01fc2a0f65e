"""The EventBridge event-pattern language: validation and matching, as AWS's rule engine does.

Shared by EventBridge rules, Lambda event source mapping filters, pipe filters and (with
SNS's scoping, :mod:`..services.sns`) SNS subscription filter policies. Written here rather
than reusing moto's matcher, which does not look inside arrays of objects, requires CIDR
blocks without host bits, lets ``exists: true`` match an empty array, treats ``true`` as the
number 1 and accepts patterns AWS rejects (``{"numeric": [">", 0, ">", 0]}``,
``{"prefix": 123}``, ``{"cidr": "bad"}``).

Semantics follow AWS's open-source rule engine (github.com/aws/event-ruler, the engine
behind EventBridge) and the EventBridge content-filtering documentation:

- a pattern is an object; each leaf is a non-empty array of alternatives (literals or one
  matcher object each); every field named must match (AND), any alternative may (OR);
- an array in the event matches if any of its elements does; objects inside arrays are
  matched element by element, so two fields of one pattern object must both match in the
  *same* array element (``rulesForJSONEvent``'s array consistency);
- ``exists`` looks at leaf values only: an object, a missing field or an empty array do not
  exist;
- literals compare by JSON type: ``[1]`` matches ``1`` and ``1.0`` but not ``true`` or
  ``"1"``; ``[null]`` matches ``null``;
- matchers: ``prefix``, ``suffix`` (optionally ``{"equals-ignore-case": ...}``),
  ``equals-ignore-case``, ``wildcard``, ``anything-but`` (value, list, or
  prefix/suffix/equals-ignore-case/wildcard), ``numeric`` (one comparison, or a lower then
  an upper bound), ``cidr`` (IPv4/IPv6; host bits may be set), ``exists``, ``exactly``;
  ``$or`` takes a list of two or more pattern objects.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any


class InvalidPatternError(ValueError):
    """A pattern AWS rejects (``InvalidEventPatternException`` on PutRule)."""


_MISSING = object()

# ---------------------------------------------------------------------------------------
# parsing and validation
# ---------------------------------------------------------------------------------------


def parse(pattern: str | dict[str, Any]) -> dict[str, Any]:
    """Parse and validate a pattern; raise :class:`InvalidPatternError` naming the problem.

    Numbers are read as :class:`~decimal.Decimal` first so that out-of-range literals
    (``1E309``, ``2.0e422``) are rejected rather than rounded to infinity or zero.
    """
    if isinstance(pattern, str):
        try:
            value = json.loads(pattern, parse_float=Decimal, parse_int=Decimal)
        except ValueError as exc:
            raise InvalidPatternError(f"Event pattern is not valid JSON: {exc}") from exc
    else:
        value = json.loads(json.dumps(pattern), parse_float=Decimal, parse_int=Decimal)
    if not isinstance(value, dict):
        raise InvalidPatternError("Event pattern must be a JSON object")
    _validate_object(value, "")
    converted: dict[str, Any] = _to_float(value)
    return converted


def _to_float(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 \
            else float(value)
    if isinstance(value, dict):
        return {k: _to_float(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_float(v) for v in value]
    return value


def _is_or(key: str, value: Any) -> bool:
    return key == "$or" and isinstance(value, list) and len(value) >= 2 and all(
        isinstance(v, dict) for v in value)


def _validate_object(obj: dict[str, Any], path: str) -> None:
    if not obj:
        raise InvalidPatternError(f"Empty objects are not allowed{_at(path)}")
    for key, value in obj.items():
        where = f"{path}.{key}" if path else key
        if _is_or(key, value):
            for branch in value:
                _validate_object(branch, path)
        elif isinstance(value, dict):
            _validate_object(value, where)
        elif isinstance(value, list):
            if not value:
                raise InvalidPatternError(f"Empty arrays are not allowed{_at(where)}")
            for item in value:
                _validate_alternative(item, where)
        else:
            raise InvalidPatternError(f"Values must be in an array{_at(where)}")


def _at(path: str) -> str:
    return f" (at {path})" if path else ""


def _number(value: Any) -> bool:
    if not isinstance(value, Decimal):
        return False
    if value.is_nan() or value.is_infinite():
        return False
    as_float = float(value)
    return math.isfinite(as_float) and not (as_float == 0.0 and value != 0)


def _validate_alternative(item: Any, where: str) -> None:
    if item is None or isinstance(item, (str, bool)) or _number(item):
        return
    if isinstance(item, Decimal):
        raise InvalidPatternError(f"Number out of range{_at(where)}")
    if isinstance(item, list):
        raise InvalidPatternError(f"Array values must be primitives or matchers{_at(where)}")
    assert isinstance(item, dict)
    if len(item) != 1:
        raise InvalidPatternError(
            f"A matcher object must have exactly one key, got {sorted(item)}{_at(where)}")
    [(name, arg)] = item.items()
    check = _MATCHER_CHECKS.get(name)
    if check is None:
        raise InvalidPatternError(f"Unrecognized match type {name}{_at(where)}")
    check(arg, where)


def _string_or_ignore_case(name: str) -> Any:
    def check(arg: Any, where: str) -> None:
        if isinstance(arg, str):
            return
        if isinstance(arg, dict) and list(arg) == ["equals-ignore-case"] and isinstance(
                arg["equals-ignore-case"], str):
            return
        raise InvalidPatternError(
            f"{name} match pattern must be a string or an equals-ignore-case object"
            f"{_at(where)}")
    return check


def _check_equals_ignore_case(arg: Any, where: str) -> None:
    if not isinstance(arg, str):
        raise InvalidPatternError(f"equals-ignore-case match pattern must be a string{_at(where)}")


def _check_exactly(arg: Any, where: str) -> None:
    if not isinstance(arg, str):
        raise InvalidPatternError(f"exactly match pattern must be a string{_at(where)}")


def _check_wildcard(arg: Any, where: str) -> None:
    if not isinstance(arg, str):
        raise InvalidPatternError(f"wildcard match pattern must be a string{_at(where)}")
    _wildcard_regex(arg, where)


def _wildcard_regex(text: str, where: str = "") -> re.Pattern[str]:
    out, i, previous_star = [], 0, False
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "*\\":
                raise InvalidPatternError(
                    f"wildcard: a backslash may only escape * or \\{_at(where)}")
            out.append(re.escape(text[i + 1]))
            i += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise InvalidPatternError(
                    f"wildcard: consecutive wildcard characters at pos {i}{_at(where)}")
            out.append(".*")
            previous_star = True
        else:
            out.append(re.escape(char))
            previous_star = False
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _check_cidr(arg: Any, where: str) -> None:
    if not isinstance(arg, str):
        raise InvalidPatternError(f"cidr match pattern must be a string{_at(where)}")
    try:
        ipaddress.ip_network(arg, strict=False)
    except ValueError as exc:
        raise InvalidPatternError(f"Nonstandard IP address: {arg}{_at(where)}") from exc


def _check_exists(arg: Any, where: str) -> None:
    if not isinstance(arg, bool):
        raise InvalidPatternError(f"exists match pattern must be true or false{_at(where)}")


_LOWER = (">", ">=")
_UPPER = ("<", "<=")
_OPERATORS = ("<", "<=", "=", ">", ">=")


def _check_numeric(arg: Any, where: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise InvalidPatternError(
            f"numeric match pattern must be [op, number] or [op, number, op, number]"
            f"{_at(where)}")
    for index in range(0, len(arg), 2):
        op, number = arg[index], arg[index + 1]
        if op not in _OPERATORS:
            raise InvalidPatternError(f"Unrecognized numeric range operator: {op}{_at(where)}")
        if isinstance(number, bool) or not _number(number):
            raise InvalidPatternError(f"Value of {op} must be a number in range{_at(where)}")
    if len(arg) == 4:
        if arg[0] not in _LOWER or arg[2] not in _UPPER:
            raise InvalidPatternError(
                f"numeric: a range is a lower bound (> or >=) then an upper bound (< or <=)"
                f"{_at(where)}")
        if not arg[1] < arg[3]:
            raise InvalidPatternError(f"numeric: bottom must be less than top{_at(where)}")


def _check_anything_but(arg: Any, where: str) -> None:
    if isinstance(arg, str) or (_number(arg) and not isinstance(arg, bool)):
        return
    if isinstance(arg, list):
        if not arg:
            raise InvalidPatternError(f"anything-but list must not be empty{_at(where)}")
        if all(isinstance(v, str) for v in arg) or all(
                _number(v) and not isinstance(v, bool) for v in arg):
            return
        raise InvalidPatternError(
            f"anything-but list must hold only strings or only numbers{_at(where)}")
    if isinstance(arg, dict) and len(arg) == 1:
        [(name, inner)] = arg.items()
        if name in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            values = inner if isinstance(inner, list) else [inner]
            if values and all(isinstance(v, str) for v in values) and (
                    name in ("equals-ignore-case", "wildcard") or all(values)):
                if name == "wildcard":
                    for value in values:
                        _wildcard_regex(value, where)
                return
            raise InvalidPatternError(
                f"anything-but {name} must be a non-empty string or list of strings"
                f"{_at(where)}")
    raise InvalidPatternError(
        f"anything-but must be a string, a number, a list of either, or one of prefix, "
        f"suffix, equals-ignore-case, wildcard{_at(where)}")


_MATCHER_CHECKS: dict[str, Any] = {
    "prefix": _string_or_ignore_case("prefix"),
    "suffix": _string_or_ignore_case("suffix"),
    "equals-ignore-case": _check_equals_ignore_case,
    "wildcard": _check_wildcard,
    "anything-but": _check_anything_but,
    "numeric": _check_numeric,
    "cidr": _check_cidr,
    "exists": _check_exists,
    "exactly": _check_exactly,
}


def validate(pattern: str | dict[str, Any]) -> None:
    """Raise :class:`InvalidPatternError` if AWS would reject ``pattern``."""
    parse(pattern)


# ---------------------------------------------------------------------------------------
# matching
# ---------------------------------------------------------------------------------------


def _elements(value: Any) -> Iterator[Any]:
    """An event value's elements, nested arrays flattened."""
    if isinstance(value, list):
        for item in value:
            yield from _elements(item)
    else:
        yield value


def _object_matches(pattern: dict[str, Any], node: Any) -> bool:
    """``pattern`` (an object) against ``node``: an object, or an array of them."""
    if isinstance(node, list):
        return any(_object_matches(pattern, element) for element in _elements(node))
    for key, expected in pattern.items():
        if _is_or(key, expected):
            if not any(_object_matches(branch, node) for branch in expected):
                return False
            continue
        value = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if isinstance(expected, dict):
            if value is _MISSING or not _object_matches(expected, value):
                return False
        elif not _leaf_matches(expected, value):
            return False
    return True


def _leaf_matches(alternatives: list[Any], value: Any) -> bool:
    leaves = [] if value is _MISSING else [
        v for v in _elements(value) if not isinstance(v, dict)]
    for alternative in alternatives:
        if isinstance(alternative, dict) and "exists" in alternative:
            if bool(leaves) == alternative["exists"]:
                return True
            continue
        if any(_value_matches(alternative, leaf) for leaf in leaves):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _literal_equal(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if _is_number(expected):
        return _is_number(value) and float(value) == float(expected)
    return isinstance(value, str) and value == expected


def _string_test(spec: Any, value: Any, test: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(spec, dict):
        return bool(test(value.lower(), str(spec["equals-ignore-case"]).lower()))
    return bool(test(value, spec))


def _value_matches(alternative: Any, value: Any) -> bool:
    if not isinstance(alternative, dict):
        return _literal_equal(alternative, value)
    [(name, arg)] = alternative.items()
    if name == "prefix":
        return _string_test(arg, value, str.startswith)
    if name == "suffix":
        return _string_test(arg, value, str.endswith)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if name == "exactly":
        return isinstance(value, str) and value == arg
    if name == "wildcard":
        return isinstance(value, str) and _wildcard_regex(arg).fullmatch(value) is not None
    if name == "numeric":
        return _is_number(value) and _numeric(arg, float(value))
    if name == "cidr":
        return isinstance(value, str) and _in_cidr(arg, value)
    if name == "anything-but":
        return _anything_but(arg, value)
    return False


def _numeric(spec: list[Any], value: float) -> bool:
    for index in range(0, len(spec), 2):
        op, bound = spec[index], float(spec[index + 1])
        ok = {"<": value < bound, "<=": value <= bound, "=": value == bound,
              ">": value > bound, ">=": value >= bound}[op]
        if not ok:
            return False
    return True


def _in_cidr(block: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        [(name, inner)] = arg.items()
        options = inner if isinstance(inner, list) else [inner]
        if not isinstance(value, str):
            return False
        if name == "prefix":
            return not any(value.startswith(o) for o in options)
        if name == "suffix":
            return not any(value.endswith(o) for o in options)
        if name == "equals-ignore-case":
            return value.lower() not in {o.lower() for o in options}
        return not any(_wildcard_regex(o).fullmatch(value) for o in options)
    options = arg if isinstance(arg, list) else [arg]
    return not any(_literal_equal(o, value) for o in options)


def matches(pattern: str | dict[str, Any], event: Any) -> bool:
    """Whether ``event`` matches ``pattern`` (validated first)."""
    return _object_matches(parse(pattern), event)


def matches_any(patterns: Iterable[str | dict[str, Any]], event: Any) -> bool:
    """Whether ``event`` matches at least one of ``patterns``."""
    return any(matches(p, event) for p in patterns)


class CompiledPattern:
    """A validated pattern, parsed once (rules match every event against it)."""

    def __init__(self, pattern: str | dict[str, Any]) -> None:
        self.pattern = parse(pattern)

    def matches(self, event: Any) -> bool:
        return _object_matches(self.pattern, event)
