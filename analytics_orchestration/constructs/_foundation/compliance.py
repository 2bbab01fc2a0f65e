"""Acknowledging a cdk-nag finding on the narrowest construct, with the reason."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (as the cdk-nag report prints it) on ``construct`` only.

    cdk-nag 3 reads acknowledgments through CDK's policy-validation API; the ``Aspects``
    and ``NagSuppressions`` of cdk-nag 2 no longer apply.
    """
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def nag_reference(scope: IConstruct, value: str) -> str:
    """``value`` (an ARN with tokens) as cdk-nag prints it in a finding id.

    The same flattening as cdk-nag's ``flattenCfnReference``: ``Ref`` becomes ``<Id>``,
    ``Fn::GetAtt`` becomes ``<Id.Attr>``, ``Fn::Join`` is joined; so an acknowledgment
    names exactly the resource its statement grants, not a guessed spelling of it.
    """
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
