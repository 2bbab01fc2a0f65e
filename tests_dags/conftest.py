"""The DAG tests run in .venv-dags (``make test-dags``), never in the main suite."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "stacks" / "airflow_assets" / "dags"


@pytest.fixture(scope="session")
def dag_bag():
    """Every DAG of the example environment, parsed once as the scheduler would."""
    from airflow.models import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), include_examples=False, safe_mode=False)
