"""Collecting prop problems so that a construct reports all of them in one error."""

from __future__ import annotations

from aws_cdk import Token

from analytics_orchestration.errors import ConfigurationError


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
        self._problems.append(f"{prop}: got {received!r}; {allowed}")

    def check(self, condition: bool, prop: str, received: object, allowed: str) -> None:
        """Record a problem unless ``condition`` holds or ``received`` is a token."""
        if is_unresolved(received):
            return
        if not condition:
            self.add(prop, received, allowed)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(self._problems)

    def raise_if_any(self) -> None:
        if self._problems:
            raise ConfigurationError(self._construct_name, self._problems)


def is_unresolved(value: object) -> bool:
    """True for a CDK token (or a list holding one): a value only known at deploy time."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return Token.is_unresolved(value)
    if isinstance(value, list | tuple):
        return any(is_unresolved(item) for item in value)
    return False
