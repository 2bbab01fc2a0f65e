"""The fidelity suite: cases from AWS's own public material, run through the harness.

The cases live in ``cases/*.json``, each naming its source (aws/event-ruler's tests and
README at a pinned commit; the EventBridge, SNS and Step Functions guides). Every case must
come out ``correct`` (the harness does what AWS does) or ``refused`` (the harness raises an
error naming the unsupported feature): never a silent mismatch. The per-service score is
published in the harness docs, and checked here against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fidelity.runner import REGION, Fidelity, case_ids, score, score_line


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, dict[str, str]]]:
    from analytics_orchestration.testing import OfflineAws

    with OfflineAws(region=REGION) as aws:
        yield Fidelity(aws).run_all()


@pytest.mark.parametrize(("service", "case_id"), case_ids(),
                         ids=[f"{s}:{c}" for s, c in case_ids()])
def test_case_is_emulated_or_refused(results: dict[str, dict[str, str]], service: str,
                                     case_id: str) -> None:
    assert results[service][case_id] in ("correct", "refused")


def test_the_docs_publish_the_current_score(results: dict[str, dict[str, str]]) -> None:
    import analytics_orchestration.testing as harness

    docs = " ".join((harness.__doc__ or "").split())
    for line in (score_line(*row) for row in score(results)):
        assert line in docs, f"the harness docstring should say {line!r}"


def test_the_readme_publishes_the_current_score(results: dict[str, dict[str, str]]) -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "/" in cells[1]:
            rows[cells[0]] = (cells[1].replace(" ", ""), cells[2])
    for service, correct, refused, total in score(results):
        assert rows.get(service) == (f"{correct}/{total}", str(refused)), service


def test_cases_cite_their_source() -> None:
    from tests.fidelity.runner import load

    sns: Any = load("sns_filter_policies")
    every = [*load("eventbridge_matching"), *load("eventbridge_validation"),
             *load("eventbridge_input_transformer"), *sns["matching"], *sns["validation"],
             *load("stepfunctions_intrinsics"), *load("apigateway_mapping_templates"),
             *load("eventbridge_api_destinations"), *load("lambda_stream_responses"),
             *load("firehose_dynamic_partitioning")]
    assert every and all(str(case.get("source", "")).startswith("https://") for case in every)
