"""Run ``python app.py`` as a user runs it and record what it did, for the test session.

``python tests/app_py_runner.py <directory> <record>`` runs the example app in
``<directory>`` (empty: it writes ``cdk.out`` there; cdk.json is found beside app.py) without
the CDK CLI's environment, then writes ``<record>``: its exit status, stdout and stderr as
JSON (:class:`tests.support.AppRun`). The record appears whole (written beside, then
renamed), so any process of the session can wait for it by polling: the test session starts
this runner in the background at collection and reads the record only when a test needs it
(``tests/conftest.py``).

Standard library only: started before any test, it should not pay for importing jsii.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
#: What the CDK CLI sets for the app; none of it is there when a user runs ``python app.py``.
CLI_ENVIRONMENT = ("CDK_CONTEXT_JSON", "CONTEXT_OVERFLOW_LOCATION_ENV", "CDK_OUTDIR",
                   "CDK_CLI_VERSION", "CDK_CLI_ASM_VERSION")
#: Far above the 20 to 60 s it takes; only a hung synthesis reaches it.
TIMEOUT_SECONDS = 900


def run(directory: Path) -> dict[str, object]:
    """``python app.py`` in ``directory``: its exit status and output, as a record."""
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENVIRONMENT}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    try:
        result = subprocess.run([sys.executable, str(REPOSITORY_ROOT / "app.py")],
                                cwd=directory, env=env, capture_output=True, text=True,
                                timeout=TIMEOUT_SECONDS, check=False)
        returncode, stdout, stderr = result.returncode, result.stdout, result.stderr
    except (OSError, subprocess.TimeoutExpired) as error:  # recorded, so no one waits forever
        returncode, stdout, stderr = -1, "", f"python app.py could not run: {error}"
    return {"returncode": returncode, "stdout": stdout, "stderr": stderr,
            "directory": str(directory)}


def write_record(record: Path, fields: dict[str, object]) -> None:
    """Write ``record`` so that a reader sees it whole or not at all."""
    partial = record.with_name(record.name + ".partial")
    partial.write_text(json.dumps(fields))
    os.replace(partial, record)


def main(argv: list[str]) -> int:
    directory, record = Path(argv[0]), Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    write_record(record, run(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
