"""pytest plugin: the ``offline_aws`` fixture.

Registered through the ``pytest11`` entry point, so it loads in every pytest run of an
environment where the library is installed, including ones without the ``testing`` extra.
It therefore imports nothing heavy at import time: moto and the harness are imported when a
test asks for the fixture, which is also where a wrong moto version is reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from analytics_orchestration.testing.harness import OfflineAws


@pytest.fixture
def offline_aws() -> Iterator[OfflineAws]:
    """An entered :class:`~analytics_orchestration.testing.OfflineAws` for one test.

    Deploy with ``offline_aws.deploy(stack)``; everything is torn down after the test.
    Synthesize stacks in module- or session-scoped fixtures: synthesis is the slow part.

    At teardown, a handler that raised where no caller saw the error (an asynchronous
    event, an SQS batch, a pipe enrichment) fails the test with its traceback
    (:class:`~analytics_orchestration.testing.UnexpectedHandlerErrors`), unless the test
    declared it with ``offline_aws.expect_lambda_errors(function, error_type=...)``.
    """
    from analytics_orchestration.testing import OfflineAws

    with OfflineAws() as aws:
        yield aws
        aws.check_lambda_errors()
