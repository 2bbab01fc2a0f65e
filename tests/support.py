"""Helpers shared by the test layers: the app's context, small stacks, normalisation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, App, Stack, Validations
from constructs import IConstruct

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so tests synthesize exactly what `cdk synth` does."""
    return dict(json.loads((REPOSITORY_ROOT / "cdk.json").read_text())["context"])


def new_stack(context: dict[str, Any] | None = None, stack_id: str = "TestStack") -> Stack:
    """A fresh environment-agnostic stack in an app with the cdk.json feature flags."""
    app = App(context={**cdk_json_context(), **(context or {})})
    return Stack(app, stack_id)


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
