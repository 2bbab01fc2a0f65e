"""The strict compliance profile: the same four rule packs that gate the example app.

One switch registers, as CDK policy-validation plugins, every rule pack the library's own
constructs are proven against::

    from aws_cdk import App
    from analytics_orchestration.compliance import strict_profile

    app = App()
    ...  # your stacks
    strict_profile(app)
    app.synth()  # fails on any finding that is not acknowledged with a reason

The packs (:class:`RulePack`): cdk-nag's ``AwsSolutions``, ``Serverless`` and
``NIST.800.53.R5`` checks, and the AWS Control Tower proactive controls run by cfn-guard
(``cdk-validator-cfnguard``, whose bundled rules are the Control Tower ones). A finding is
acknowledged on the construct it concerns with
``Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))``; the id is the
one the failure report prints (``NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ``,
``cdk-validator-cfnguard::sqs_dlq_check``). The library's constructs already acknowledge,
on the resource concerned, each finding they cannot fix, with the reason.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import (
    IAspect,
    IPolicyValidationPlugin,
    PolicyValidationPluginReportBeta1,
    Stack,
    Stage,
    Validations,
)
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct, IValidation

from ._cfn_guard import (
    policy_violations,
    run_in_parallel,
    split_by_rule_types,
    unpacked_package,
)
from .constructs._foundation.compliance import acknowledge
from .errors import ConfigurationError

#: The NIST finding that every CDK grant policy raises, and why it is acknowledged.
GRANT_POLICY_RULE = "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy"
GRANT_POLICY_REASON = (
    "A CDK grant policy (AWS::IAM::Policy) attached to exactly one role: it is that role's "
    "least-privilege statements, generated from grant_* calls on named resources and "
    "reviewed in the template. A customer-managed policy would hold the same statements "
    "with the same single attachment; AC-6 is met by the statements, not by the policy "
    "type. Policies attached to users, groups or several roles, and inline policies "
    "written into a role, are still reported."
)


class RulePack(enum.Enum):
    """A rule pack of the strict profile; the value is the plugin name reports print."""

    AWS_SOLUTIONS = "AwsSolutions"
    SERVERLESS = "Serverless"
    NIST_800_53_R5 = "NIST.800.53.R5"
    CONTROL_TOWER = "cdk-validator-cfnguard"


#: Every pack, in the order they are registered.
STRICT_PROFILE: tuple[RulePack, ...] = tuple(RulePack)


def add_compliance_checks(
    scope: Stage,
    *,
    packs: Iterable[RulePack] = STRICT_PROFILE,
    acknowledge_grant_policies: bool = True,
) -> list[IPolicyValidationPlugin]:
    """Register ``packs`` (default: all four) on ``scope``, an ``App`` or a ``Stage``.

    Synthesis then fails on every finding of those packs that is not acknowledged.
    With the NIST pack and ``acknowledge_grant_policies`` (default), its
    ``IAMNoInlinePolicy`` finding is acknowledged on each policy that CDK's grants attach
    to exactly one role (:data:`GRANT_POLICY_REASON`), and only there; pass ``False`` to
    review each one yourself. Returns the registered plugins.

    Raises :class:`ConfigurationError` when ``scope`` is not a stage (CDK accepts plugins
    only there) or ``packs`` is empty or holds anything but :class:`RulePack` members.
    """
    selected = list(packs) if not isinstance(packs, (str, RulePack)) else [packs]
    problems: list[str] = []
    if not Stage.is_stage(scope):
        problems.append(
            f"scope: expected an App or a Stage (policy-validation plugins are registered "
            f"there), got {type(scope).__name__}"
        )
    if not selected:
        problems.append("packs: give at least one RulePack (default: all four)")
    wrong = [pack for pack in selected if not isinstance(pack, RulePack)]
    if wrong:
        problems.append(
            f"packs: expected RulePack members ({', '.join(p.name for p in RulePack)}), "
            f"got {wrong!r}"
        )
    if problems:
        raise ConfigurationError("add_compliance_checks", problems)
    unique = list(dict.fromkeys(selected))
    plugins = [_plugin(scope, pack) for pack in unique]
    Validations.of(scope).add_plugins(*plugins)
    if acknowledge_grant_policies and RulePack.NIST_800_53_R5 in unique:
        scope.node.add_validation(_GrantPolicyAcknowledgments(scope))
    return plugins


@jsii.implements(IValidation)
class _GrantPolicyAcknowledgments:
    """:class:`SingleRolePolicyAcknowledgment` over every policy of ``scope``, run once when
    synthesis validates the construct tree: after every grant and app preparation, before
    the packs run and the templates and their acknowledgments are written.

    Registered as an aspect, it cost one Node-to-Python callback per construct of the app
    (thousands in the example app, most of what its aspects cost: issue #16); here it is one
    callback and one ``find_all``, then a few calls per policy.
    """

    def __init__(self, scope: IConstruct) -> None:
        self._scope = scope
        self._aspect = SingleRolePolicyAcknowledgment()
        self._visited: set[str] = set()

    def validate(self) -> list[str]:
        """Acknowledge on each single-role policy not yet seen; never an error."""
        for node in self._scope.node.find_all():
            if isinstance(node, iam.Policy) and node.node.path not in self._visited:
                self._visited.add(node.node.path)
                self._aspect.visit(node)
        return []


@jsii.implements(IAspect)
class SingleRolePolicyAcknowledgment:
    """Acknowledges NIST ``IAMNoInlinePolicy`` on each ``iam.Policy`` of exactly one role.

    Visited at synthesis (:func:`add_compliance_checks` runs it over the tree when CDK
    validates it), because grant policies appear whenever a grant is made, after the
    constructs that own the roles were built (a user's ``bucket.grant_read(role)``). Usable
    as an aspect too.
    """

    def visit(self, node: IConstruct) -> None:
        """Acknowledge on ``node`` when it is a policy attached to one role and nothing else."""
        if not isinstance(node, iam.Policy):
            return
        cfn_policy = node.node.default_child
        if not isinstance(cfn_policy, iam.CfnPolicy):
            return
        # The L2 renders its attachments lazily: resolve them to count what they name.
        stack = Stack.of(node)
        roles, users, groups = (
            stack.resolve(attached) or []
            for attached in (cfn_policy.roles, cfn_policy.users, cfn_policy.groups)
        )
        if len(roles) == 1 and not users and not groups:
            acknowledge(node, GRANT_POLICY_RULE, GRANT_POLICY_REASON)


def strict_profile(scope: Stage) -> list[IPolicyValidationPlugin]:
    """Register all four packs on ``scope``: the gate the example app passes."""
    return add_compliance_checks(scope, packs=STRICT_PROFILE)


def _plugin(scope: IConstruct, pack: RulePack) -> IPolicyValidationPlugin:
    if pack is RulePack.AWS_SOLUTIONS:
        return AwsSolutionsChecks(scope)
    if pack is RulePack.SERVERLESS:
        return ServerlessChecks(scope)
    if pack is RulePack.NIST_800_53_R5:
        return NIST80053R5Checks(scope)
    # Every bundled Control Tower rule on; findings are acknowledged per resource. The
    # plugin is typed against CDK's Beta1 plugin interface, which has the same members
    # (name, version, ruleIds, validate) and which Validations accepts at run time.
    return cast(IPolicyValidationPlugin, ControlTowerRules())


#: A CloudFormation resource type named in a Guard rule file.
_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")


@functools.cache
def control_tower_rule_types() -> Mapping[str, frozenset[str]]:
    """Each bundled Control Tower rule (file name without ``.guard``) -> the resource types
    its rules name (outside comments); read once from the plugin's own jsii bundle.

    A rule naming no type at all maps to an empty set: it is always run.
    """
    rules: dict[str, frozenset[str]] = {}
    for name, path in unpacked_package().rule_files().items():
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith("#"))
        rules[name] = frozenset(_RESOURCE_TYPE.findall(code))
    return rules


def inapplicable_rules(resource_types: Iterable[str]) -> list[str]:
    """The Control Tower rules that cannot match any resource of ``resource_types``.

    Every Control Tower rule selects the resources it checks by type
    (``Resources.*[ Type == 'AWS::S3::Bucket' ]``) and ends in SKIP when there is none;
    a rule naming none of the types present can only skip, so leaving it out changes no
    finding. A rule naming no type is never left out.
    """
    present = set(resource_types)
    return sorted(name for name, types in control_tower_rule_types().items()
                  if types and not types & present)


class ControlTowerRules(CfnGuardValidator):
    """cfn-guard with every bundled Control Tower rule, run only where it can apply, on
    every core.

    The same plugin as ``CfnGuardValidator(control_tower_rules_enabled=True)`` (same name,
    rule ids, guard binary, rule files and findings), except for two things (issue #16):

    - cfn-guard is run once per template with only the rules that name a resource type
      present in that template (:func:`inapplicable_rules`): guard parses and evaluates
      every rule file it is given against every template it is given, and most of the 237
      rules concern services an app does not use. On the example app, all rules against all
      ten templates at once took 67 s of CPU, the rules of all templates' types against all
      of them 26 s, each template's own rules against it alone about two thirds of that.
    - guard runs side by side, one process per core, instead of one template after another
      inside the jsii kernel, and each process reads only the part of a template its rules
      can look at (their types' resources and all those reference): guard's time grows with
      the document times the rule files. guard's output is read by a port of the plugin's
      own result handling (:mod:`analytics_orchestration._cfn_guard`); the reports are
      proven equal to the plugin's on whole templates with hundreds of findings.
    """

    def __init__(self) -> None:
        super().__init__(control_tower_rules_enabled=True)

    def validate(self, context: Any) -> Any:
        """Run cfn-guard on each of ``context``'s templates with the rules that can apply."""
        rule_files = unpacked_package().rule_files()
        rule_types = control_tower_rule_types()
        with tempfile.TemporaryDirectory(prefix="cfn-guard-data-") as scratch:
            jobs = []
            for path in context.template_paths:
                with open(path) as template:
                    resources = json.load(template).get("Resources", {})
                skipped = set(inapplicable_rules(
                    {str(resource.get("Type")) for resource in resources.values()}))
                rules = [(file, rule_types[name]) for name, file in rule_files.items()
                         if name not in skipped]
                jobs += split_by_rule_types(path, rules, Path(scratch))
            reports = run_in_parallel(jobs)
        return PolicyValidationPluginReportBeta1(
            success=all(report.success for report in reports),
            violations=[violation for report in reports for violation in policy_violations(report)],
        )
