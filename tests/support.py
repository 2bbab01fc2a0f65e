"""Helpers shared by the test layers: the app's context, small stacks, normalisation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from aws_cdk import Acknowledgment, App, Stack, Validations
from cfnlint.api import lint_all
from cfnlint.template.template import Template as LintedTemplate
from constructs import IConstruct
from filelock import FileLock

from tests import app_py_runner

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    return dict(json.loads((REPOSITORY_ROOT / "cdk.json").read_text())["context"])


def new_stack(context: dict[str, Any] | None = None, stack_id: str = "TestStack") -> Stack:
    """A fresh environment-agnostic stack in an app with the cdk.json feature flags."""
    app = App(context={**cdk_json_context(), **(context or {})})
    return Stack(app, stack_id)


@dataclass(frozen=True)
class AppRun:
    """What ``python app.py`` did when run as a user runs it: no CDK CLI, an empty directory."""

    returncode: int
    stdout: str
    stderr: str
    #: The directory it ran in; it synthesizes to ``cdk.out`` there.
    directory: Path

    @property
    def outdir(self) -> Path:
        return self.directory / "cdk.out"

    def templates(self) -> dict[str, dict[str, Any]]:
        """Every stack's template in its cloud assembly, by artifact id."""
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        return {
            name: json.loads((self.outdir / artifact["properties"]["templateFile"]).read_text())
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        }

    def validation_report(self) -> dict[str, Any]:
        """The compliance packs' report (CDK writes it whenever a validation plugin ran)."""
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))

    def to_json(self) -> str:
        return json.dumps({"returncode": self.returncode, "stdout": self.stdout,
                           "stderr": self.stderr, "directory": str(self.directory)})

    @classmethod
    def from_json(cls, text: str) -> AppRun:
        fields = json.loads(text)
        return cls(fields["returncode"], fields["stdout"], fields["stderr"],
                   Path(fields["directory"]))


class AppPyRun:
    """``python app.py`` run once per test session, in the background, by whichever process
    of the session asks first; every process reads its one record.

    Under pytest-xdist every worker's base temporary directory is a child of the session's,
    so ``shared`` (the session's) is the same for all: a file lock decides who starts
    :mod:`tests.app_py_runner`, whose pid is written beside; its record appears whole when
    the app has ended (the pattern pytest-xdist documents for once-per-session work, without
    a worker blocked while the app runs).
    """

    #: The runner this process started, waited for when the process ends (:meth:`reap`).
    _started: ClassVar[list[subprocess.Popen[bytes]]] = []

    def __init__(self, shared: Path) -> None:
        self.directory = shared / "app-py-run"
        self.record = shared / "app-py-run.json"
        self._lock = FileLock(str(shared / "app-py-run.lock"))
        self._pid_file = shared / "app-py-run.pid"

    def start(self) -> None:
        """Start the runner unless a process of this session already did."""
        with self._lock:
            if self._pid_file.exists():
                return
            runner = subprocess.Popen(  # same process group: Ctrl-C stops it too
                [sys.executable, str(REPOSITORY_ROOT / "tests" / "app_py_runner.py"),
                 str(self.directory), str(self.record)], stdin=subprocess.DEVNULL)
            self._started.append(runner)
            self._pid_file.write_text(str(runner.pid))

    def result(self, poll_seconds: float = 0.2) -> AppRun:
        """The run's record, waiting for it (starting the run if no one has).

        Fails, instead of waiting on, a runner that ended without a record (killed) or
        outlived its own timeout (a zombie of another worker still "exists").
        """
        self.start()
        pid = int(self._pid_file.read_text())
        deadline = time.monotonic() + app_py_runner.TIMEOUT_SECONDS + 60
        while not self.record.exists():
            ended = not _process_exists(pid) or any(
                runner.pid == pid and runner.poll() is not None for runner in self._started)
            if (ended or time.monotonic() > deadline) and not self.record.exists():
                raise RuntimeError(f"tests/app_py_runner.py (pid {pid}) ended without "
                                   f"writing {self.record}")
            time.sleep(poll_seconds)
        return AppRun.from_json(self.record.read_text())

    @classmethod
    def reap(cls) -> None:
        """Wait for the runner this process started, if it did, when the session ends.

        Not to leave it behind (it ends anyway), but so that its CPU time is counted in
        this process's children, as ``time make test`` and ``make bench`` read it.
        """
        for runner in cls._started:
            runner.wait()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


def render_joined(value: Any, intrinsic: Callable[[dict[str, Any]], str]) -> str:
    """A resolved CloudFormation string as deployed: ``Fn::Join`` joined, every other
    intrinsic (a ``Ref``, a ``Fn::GetAtt``) given the value ``intrinsic`` returns for it."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_joined(part, intrinsic) for part in parts)
    return intrinsic(value)


def normalise_template(template: dict[str, Any]) -> dict[str, Any]:
    """The template without what changes for reasons unrelated to behaviour.

    Asset hashes change with any byte of handler code (the handler tests cover that);
    the bootstrap-version parameter and rule are the synthesizer's, not the stack's.
    """
    normalised = json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    normalised.get("Parameters", {}).pop("BootstrapVersion", None)
    normalised.get("Rules", {}).pop("CheckBootstrapVersion", None)
    for section in ("Parameters", "Rules"):
        if normalised.get(section) == {}:
            del normalised[section]
    return normalised


_UNCACHED_GETATTS = LintedTemplate.get_valid_getatts


def _getatts_once_per_template(template: LintedTemplate) -> Any:
    """cfn-lint's ``get_valid_getatts``, computed once per linted template.

    cfn-lint 1.58 rebuilds the table of every resource's attributes in every Region for each
    ``Fn::GetAtt`` it checks (rule E1010) and again in W1020: on the example app, linted
    for all 46 Regions as ``lint_all`` does, that was about half of the lint time. The
    table is a pure function of the template's resources and Regions, which no rule
    changes, and its callers only read it (``match``); ``tests/stacks/test_lint_cache.py``
    checks the cached lint reports exactly what the uncached one does.
    """
    cached = template.__dict__.get("_analytics_getatts")
    if cached is None:
        cached = template.__dict__["_analytics_getatts"] = _UNCACHED_GETATTS(template)
    return cached


LintedTemplate.get_valid_getatts = _getatts_once_per_template  # type: ignore[method-assign]


def lint_problems(template: dict[str, Any] | str) -> list[str]:
    """cfn-lint's errors and warnings for one template, in every Region cfn-lint knows.

    Informational findings pass. ``lint_all`` lints for every Region, so a resource type a
    Region lacks is reported (E3006) unless the resource says why it is exempt.
    """
    text = template if isinstance(template, str) else json.dumps(template)
    return [str(match) for match in lint_all(text)
            if match.rule.severity in ("error", "warning")]


@dataclass(frozen=True)
class RecordedAcknowledgment:
    """One ``Validations.of(construct).acknowledge(...)`` call: the rule and where."""

    rule_id: str
    construct_path: str
    reason: str


class _RecordingValidations:
    """``Validations.of(scope)`` that also records each acknowledgment it is asked for."""

    def __init__(self, validations: Validations, scope: IConstruct,
                 records: list[RecordedAcknowledgment]) -> None:
        self._validations = validations
        self._scope = scope
        self._records = records

    def acknowledge(self, *rules: Acknowledgment) -> None:
        for rule in rules:
            self._records.append(RecordedAcknowledgment(
                rule_id=rule.id, construct_path=self._scope.node.path, reason=rule.reason))
        self._validations.acknowledge(*rules)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._validations, name)


@contextmanager
def recording_acknowledgments() -> Iterator[list[RecordedAcknowledgment]]:
    """Record every acknowledgment the project's code makes while the block runs.

    Only calls made from Python are recorded (``compliance.acknowledge`` and direct
    ``Validations.of(...).acknowledge``), not the ones aws-cdk-lib makes inside its own
    constructs (e.g. ``CloudFormation-Validate::W3010`` on every stack), which this project
    neither owns nor can narrow. ``Validations.of`` is restored when the block ends.
    """
    records: list[RecordedAcknowledgment] = []
    original = Validations.__dict__["of"]

    def recording_of(cls: type[Validations], scope: IConstruct) -> _RecordingValidations:
        return _RecordingValidations(original.__func__(cls, scope), scope, records)

    Validations.of = classmethod(recording_of)  # type: ignore[method-assign,assignment]
    try:
        yield records
    finally:
        Validations.of = original  # type: ignore[method-assign]


def stale_acknowledgments(
    acknowledgments: list[RecordedAcknowledgment], validation_report: dict[str, Any]
) -> list[RecordedAcknowledgment]:
    """The acknowledgments that suppressed no finding of any plugin in the report.

    CDK suppresses a finding with the acknowledgment of its rule on the closest construct
    at or above the violating resource, and the report names that one
    (``acknowledgedId`` at ``acknowledgedAt``) for every suppressed finding, whatever the
    plugin. An acknowledgment no suppressed finding names is stale: its rule no longer
    fires there, it sits on the wrong construct, or a closer one shadows it. One whose
    rule belongs to no registered plugin names no finding either.
    """
    used = {
        (suppressed["acknowledgedId"], suppressed["acknowledgedAt"])
        for plugin in validation_report["pluginReports"]
        for suppressed in plugin.get("suppressedViolations") or []
    }
    return [ack for ack in acknowledgments if (ack.rule_id, ack.construct_path) not in used]
