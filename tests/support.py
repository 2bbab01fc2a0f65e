"""Helpers shared by the test layers: the app's context, small stacks, normalisation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack

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
