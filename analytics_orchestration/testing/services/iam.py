"""IAM roles, KMS keys and SSM parameters: created in moto so that references resolve.

Policies (identity, resource, key) create nothing in moto
(:data:`~analytics_orchestration.testing.core.deploy.NO_OP_TYPES`); they are indexed and
enforced by :mod:`.iam_enforcement`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.patching import Patcher
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate


class _PrivateKeyOnFirstUse:
    """moto's private key of a KMS key, generated when something first uses it.

    moto 5.2 generates a 2048-bit RSA key pair for every key it creates, symmetric ones
    included (its fallback), about 55 ms each: most of a stack's deploy time in KMS. Only
    Sign, Verify and GetPublicKey read it, which AWS allows on asymmetric keys alone, so
    generating it on first use answers every call exactly as before.
    """

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._key is None:
            self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


class IamService:
    """Roles, keys and parameters of one harness."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def apply(self, patcher: Patcher) -> None:
        """Generate moto's key pairs on first use (:class:`_PrivateKeyOnFirstUse`)."""
        from moto.kms import models as kms_models

        generate = getattr(kms_models, "generate_private_key")  # noqa: B009 (not re-exported)
        patcher.set(kms_models, "generate_private_key",
                    lambda key_spec: _PrivateKeyOnFirstUse(generate, key_spec))

    def resource_handlers(self) -> dict[str, Handler]:
        return {
            "AWS::IAM::Role": self.role,
            "AWS::KMS::Key": self.kms_key,
            "AWS::SSM::Parameter": self.ssm_parameter,
        }

    def ensure_role(self, role_arn: str) -> None:
        """moto refuses functions whose role does not exist; create imported roles."""
        name = role_arn.split("/")[-1]
        iam = self.kernel.client("iam")
        try:
            iam.get_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")

    def role(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("RoleName") or generated_name(stack.stack_name, logical_id, 64)
        document = props.get("AssumeRolePolicyDocument") or {}
        role = self.kernel.client("iam").create_role(
            RoleName=name, Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=document if isinstance(document, str)
            else json.dumps(document))["Role"]
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def kms_key(self, stack: StackTemplate, logical_id: str,
                props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        meta = self.kernel.client("kms").create_key(
            Description=str(props.get("Description", logical_id)))["KeyMetadata"]
        return meta["KeyId"], {"Arn": meta["Arn"], "KeyId": meta["KeyId"]}

    def ssm_parameter(self, stack: StackTemplate, logical_id: str,
                      props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or f"CFN-{logical_id}-{uuid.uuid4().hex[:12]}"
        self.kernel.client("ssm").put_parameter(Name=name, Value=str(props["Value"]),
                                                Type=props.get("Type", "String"))
        return name, {"Type": props.get("Type", "String"), "Value": props["Value"]}
