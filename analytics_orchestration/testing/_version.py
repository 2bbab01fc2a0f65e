"""The moto version guard.

Checked before anything imports moto internals, so that a mismatch is reported as one clear
:class:`MotoVersionMismatchError` instead of an ``AttributeError`` from a patched private name.
"""

from __future__ import annotations

from importlib import metadata

from analytics_orchestration.testing.exceptions import MotoVersionMismatchError

REQUIRED_MOTO_VERSION = "5.2.5"
"""The exact moto release whose internals the harness patches; bump with care."""


def installed_moto_version() -> str | None:
    """Return the installed moto version, or ``None`` when moto is not installed."""
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return None


def check_moto_version(installed: str | None = None) -> None:
    """Raise :class:`MotoVersionMismatchError` unless moto is exactly the required version.

    ``installed`` exists for tests of the guard itself; by default the installed distribution
    is read from package metadata (no import of moto, which may be the broken part).
    """
    version = installed if installed is not None else installed_moto_version()
    if version != REQUIRED_MOTO_VERSION:
        raise MotoVersionMismatchError(installed=version, required=REQUIRED_MOTO_VERSION)
