"""Trigger one Airflow DAG run on an MWAA environment through ``InvokeRestApi``.

Plain functions, so tests call them with a stubbed client. A request names the DAG
(``dag_id``), optionally the run's ``conf`` (a JSON object) and its ``dag_run_id``: given,
the run id makes the trigger idempotent (Airflow answers 409 for an id it already has, which
is reported as ``already_triggered``, not as a failure), so a redelivered EventBridge event or
a retried workflow step does not start the DAG twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

#: Airflow's DAG id and run id alphabet (``airflow.utils.helpers.KEY_REGEX``), at most 250.
_DAG_ID = re.compile(r"^[\w.-]{1,250}$")
_RUN_ID = re.compile(r"^[\w.:+~-]{1,250}$")
#: Airflow's answer for a run id that exists already.
CONFLICT = 409


class TriggerRequestError(ValueError):
    """The request cannot trigger a run (unknown DAG, malformed fields): not retried."""


class TriggerFailedError(RuntimeError):
    """Airflow refused or failed the run (its status code and answer are in the message)."""


@dataclass(frozen=True)
class TriggerRequest:
    dag_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    dag_run_id: str | None = None
    note: str | None = None


def parse_request(event: Any, allowed_dag_ids: frozenset[str]) -> TriggerRequest:
    """The request in ``event``; ``TriggerRequestError`` names what is wrong with it."""
    if not isinstance(event, dict):
        raise TriggerRequestError(f"the event must be a JSON object, got {type(event).__name__}")
    dag_id = event.get("dag_id")
    if not isinstance(dag_id, str) or not _DAG_ID.match(dag_id):
        raise TriggerRequestError(f"dag_id must be an Airflow DAG id, got {dag_id!r}")
    if dag_id not in allowed_dag_ids:
        raise TriggerRequestError(
            f"DAG {dag_id!r} may not be triggered here; allowed: {sorted(allowed_dag_ids)}")
    conf = event.get("conf", {})
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        raise TriggerRequestError(f"conf must be a JSON object, got {type(conf).__name__}")
    run_id = event.get("dag_run_id")
    if run_id is not None and (not isinstance(run_id, str) or not _RUN_ID.match(run_id)):
        raise TriggerRequestError(
            f"dag_run_id must be letters, digits and _.:+~- (at most 250), got {run_id!r}")
    note = event.get("note")
    if note is not None and not isinstance(note, str):
        raise TriggerRequestError(f"note must be a string, got {type(note).__name__}")
    return TriggerRequest(dag_id=dag_id, conf=conf, dag_run_id=run_id, note=note)


def request_body(request: TriggerRequest) -> dict[str, Any]:
    """The body of Airflow's ``POST /dags/{dag_id}/dagRuns``."""
    body: dict[str, Any] = {"conf": request.conf}
    if request.dag_run_id is not None:
        body["dag_run_id"] = request.dag_run_id
    if request.note is not None:
        body["note"] = request.note
    return body


def trigger_dag_run(client: Any, environment_name: str, request: TriggerRequest) -> dict[str, Any]:
    """Start the run; what the caller (a workflow, a rule) needs to follow it."""
    try:
        response = client.invoke_rest_api(
            Name=environment_name, Path=f"/dags/{quote(request.dag_id, safe='')}/dagRuns",
            Method="POST", Body=request_body(request),
        )
    except client.exceptions.RestApiClientException as error:
        status = error.response.get("RestApiStatusCode")
        if status == CONFLICT and request.dag_run_id is not None:
            return {"dag_id": request.dag_id, "dag_run_id": request.dag_run_id,
                    "state": None, "already_triggered": True}
        raise TriggerFailedError(
            f"Airflow refused the run of {request.dag_id!r} (HTTP {status}): "
            f"{error.response.get('RestApiResponse')}") from error
    run = response.get("RestApiResponse") or {}
    return {"dag_id": request.dag_id, "dag_run_id": run.get("dag_run_id"),
            "state": run.get("state"), "already_triggered": False}
