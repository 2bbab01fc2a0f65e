"""Errors raised by analytics-orchestration while constructs are being built.

Every construct checks all of its props before it creates anything and reports every
problem at once, so a user fixes a bad configuration in one round instead of one
``cdk synth`` per mistake.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AnalyticsOrchestrationError", "ConfigurationError"]


class AnalyticsOrchestrationError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigurationError(AnalyticsOrchestrationError, ValueError):
    """Invalid construct props: one error that lists every problem found.

    ``problems`` keeps each message separately so tests and tooling can inspect them;
    ``str(error)`` names the construct and lists one problem per line.
    """

    def __init__(self, construct_name: str, problems: Iterable[str]) -> None:
        self.construct_name = construct_name
        self.problems: tuple[str, ...] = tuple(problems)
        bullet_list = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"{construct_name}: {len(self.problems)} invalid prop(s):\n{bullet_list}"
        )
