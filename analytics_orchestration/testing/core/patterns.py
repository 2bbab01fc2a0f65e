"""The EventBridge event-pattern language, shared by rules, event source mapping filters and
pipe filters.

Matching is moto's ``EventPattern`` for now (prefix, suffix, wildcard, equals-ignore-case,
numeric, anything-but, exists, cidr and ``$or``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def matches(pattern: str, event: Any) -> bool:
    """Whether ``event`` matches the JSON ``pattern``."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(pattern).matches_event(event))


def matches_any(patterns: Iterable[str], event: Any) -> bool:
    """Whether ``event`` matches at least one of ``patterns``."""
    return any(matches(p, event) for p in patterns)
