"""The ``--constraint`` rule of an MWAA ``requirements.txt``, checked at synth.

From Airflow 2.7.2 on, MWAA resolves ``requirements.txt`` with a constraints file; without
one it picks its own, and with one for another Airflow version pip may install providers
that do not import on the environment's Airflow (the failure only shows in the scheduler's
log, after a 20-minute update). So every constraint must be either Airflow's official file
for the environment's version and Python, or a file shipped with the environment's own code
under ``/usr/local/airflow/`` (where MWAA puts the DAGs and plugins folders), which is how
an environment without internet access resolves (AWS's advice for private web servers).
"""

from __future__ import annotations

import re

from .options import AirflowVersion

#: A ``--constraint`` (or ``-c``) line: the target, quoted or not.
_CONSTRAINT_LINE = re.compile(
    r"^\s*(?:--constraint|-c)(?:\s*=\s*|\s+)[\"']?(?P<target>[^\"'\s]+)[\"']?\s*(?:#.*)?$"
)
#: Airflow's official constraints file: ``.../constraints-<airflow>/constraints-<python>.txt``.
_OFFICIAL = re.compile(
    r"/constraints-(?P<airflow>\d+\.\d+\.\d+)/constraints-(?P<python>\d+\.\d+)\.txt$"
)
#: Where MWAA mounts the environment's DAGs and plugins.
LOCAL_CODE_ROOT = "/usr/local/airflow/"


def constraint_targets(text: str) -> list[str]:
    """The target of every ``--constraint`` line of a requirements file's ``text``."""
    return [match.group("target") for line in text.splitlines()
            if (match := _CONSTRAINT_LINE.match(line))]


def constraint_problems(text: str, version: AirflowVersion) -> list[str]:
    """What is wrong with the constraints of ``text`` for ``version`` (empty when right)."""
    expected = f'--constraint "{version.constraints_url}"'
    targets = constraint_targets(text)
    if not targets:
        return [f"has no --constraint line; add {expected} (or a constraints file shipped "
                f"with the DAGs, under {LOCAL_CODE_ROOT})"]
    problems = []
    for target in targets:
        if target.startswith(LOCAL_CODE_ROOT):
            continue
        official = _OFFICIAL.search(target)
        if official is None:
            problems.append(
                f"--constraint {target!r} is neither Airflow's constraints file nor a file "
                f"under {LOCAL_CODE_ROOT}; use {expected}")
        elif (official.group("airflow"), official.group("python")) != (
                version.value, version.python_version):
            problems.append(
                f"--constraint {target!r} is for Airflow {official.group('airflow')} on "
                f"Python {official.group('python')}, the environment runs Airflow "
                f"{version.value} on Python {version.python_version}; use {expected}")
    return problems
