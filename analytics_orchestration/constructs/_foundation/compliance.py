"""Acknowledging a cdk-nag finding on the narrowest construct, with the reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (as the cdk-nag report prints it) on ``construct`` only.

    cdk-nag 3 reads acknowledgments through CDK's policy-validation API; the ``Aspects``
    and ``NagSuppressions`` of cdk-nag 2 no longer apply.
    """
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
