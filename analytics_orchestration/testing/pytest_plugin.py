"""pytest plugin: the ``offline_aws`` fixture and its ``offline_aws`` marker.

Registered through the ``pytest11`` entry point, so it loads in every pytest run of an
environment where the library is installed, including ones without the ``testing`` extra.
It therefore imports nothing heavy at import time: moto and the harness are imported when a
test asks for the fixture, which is also where a wrong moto version is reported.

Options: mark the test (or its module, ``pytestmark = pytest.mark.offline_aws(...)``, or
class) with ``@pytest.mark.offline_aws(**options)``; the options are
:class:`~analytics_orchestration.testing.OfflineAws`'s keyword arguments (``account_id``,
``region``, ``ignore_resource_types``, ``max_deliveries_without_dlq``, and the IAM mode
once the harness has one), so the advice of an :class:`UnsupportedResourceError`
(``Pass ignore_resource_types={'AWS::X::Y'}``) is followed by writing exactly that inside
the marker. Markers closer to the test win, option by option. A test needing several
configurations uses the ``offline_aws_factory`` fixture instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from analytics_orchestration.testing.harness import OfflineAws

MARKER = "offline_aws"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (the suite runs with ``--strict-markers``)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): keyword arguments of OfflineAws for the offline_aws fixture "
        "(account_id, region, ignore_resource_types, ...)",
    )


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """The ``offline_aws`` marker options of a test, closest marker last (so it wins)."""
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):
        if marker.args:
            raise TypeError(
                f"@pytest.mark.{MARKER} takes keyword arguments only (OfflineAws's), "
                f"got positional {marker.args!r}")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def offline_aws(request: pytest.FixtureRequest) -> Iterator[OfflineAws]:
    """An entered :class:`~analytics_orchestration.testing.OfflineAws` for one test.

    Deploy with ``offline_aws.deploy(stack)``; everything is torn down after the test.
    Synthesize stacks in module- or session-scoped fixtures: synthesis is the slow part.
    Configure it with ``@pytest.mark.offline_aws(account_id=..., region=...,
    ignore_resource_types=[...])``.

    At teardown, a handler that raised where no caller saw the error (an asynchronous
    event, an SQS batch, a pipe enrichment) fails the test with its traceback
    (:class:`~analytics_orchestration.testing.UnexpectedHandlerErrors`), unless the test
    declared it with ``offline_aws.expect_lambda_errors(function, error_type=...)``.
    """
    from analytics_orchestration.testing import OfflineAws

    with OfflineAws(**marker_options(request.node)) as aws:
        yield aws
        aws.check_lambda_errors()


@pytest.fixture
def offline_aws_factory() -> Iterator[Callable[..., OfflineAws]]:
    """Enter an :class:`~analytics_orchestration.testing.OfflineAws` with the options given
    (``offline_aws_factory(account_id="111122223333")``); it is exited after the test.

    Only one harness may be active at a time: exit one (``aws.__exit__(None, None, None)``)
    before creating the next, or use the ``offline_aws`` fixture with its marker.
    """
    from analytics_orchestration.testing import OfflineAws

    with ExitStack() as stack:

        def create(**options: Any) -> OfflineAws:
            return stack.enter_context(OfflineAws(**options))

        yield create
