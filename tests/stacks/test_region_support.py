"""Region support is computed, not remembered: cfn-lint's per-region schemas decide it.

cfn-lint lints every template against every Region it knows (``lint_all``), and reports a
resource type that a Region's provider schema lacks (E3006). The library's answer is an
exception for that one check on that one resource, and the README's region table. Both are
checked here against the installed cfn-lint, so an upgrade that adds or removes a Region
fails this test until the exception and the docs follow:

- in every example stack, a resource carries the E3006 exception exactly when its type is
  missing from at least one Region's schema (no stale exception, none missing);
- the README's zero-ETL region table lists, for each integration resource type, exactly the
  Regions whose schema lacks it;
- the zero-ETL modules that say their integration needs no exception are right.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from aws_cdk import cx_api
from cfnlint.helpers import REGIONS
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

from analytics_orchestration.constructs.zero_etl import auto_copy, dynamodb
from tests.support import REPOSITORY_ROOT

#: The zero-ETL integration resource types the README's table covers.
INTEGRATION_TYPES = ("AWS::Redshift::Integration", "AWS::RDS::Integration")
_ROW = re.compile(r"^\| [^|]+ \| `(?P<type>AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)` \| "
                  r"(?P<regions>[^|]+) \|$", re.MULTILINE)


@functools.cache
def regions_lacking(resource_type: str) -> tuple[str, ...]:
    """The Regions cfn-lint checks whose provider schema has no ``resource_type``."""
    missing = []
    for region in REGIONS:
        try:
            PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
        except ResourceNotFoundError:
            missing.append(region)
    return tuple(sorted(missing))


def _has_region_exception(resource: dict[str, Any]) -> bool:
    config = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {})
    return "E3006" in config.get("ignore_checks", [])


def test_the_e3006_exception_is_on_exactly_the_resources_some_region_lacks(
        cloud_assembly: cx_api.CloudAssembly):
    wrong = []
    for stack in cloud_assembly.stacks:
        for logical_id, resource in stack.template["Resources"].items():
            kind = resource["Type"]
            if kind.startswith("Custom::"):
                continue  # custom resources are Lambda-backed: every Region
            lacking = regions_lacking(kind)
            if _has_region_exception(resource) != bool(lacking):
                wrong.append((stack.stack_name, logical_id, kind, lacking))
    assert wrong == []


def test_the_readme_region_table_lists_the_regions_each_integration_type_lacks():
    readme = (REPOSITORY_ROOT / "README.md").read_text()
    rows = {m.group("type"): m.group("regions").strip() for m in _ROW.finditer(readme)}
    for resource_type in INTEGRATION_TYPES:
        assert resource_type in rows, f"README's region table has no row for {resource_type}"
        stated = rows[resource_type]
        lacking = regions_lacking(resource_type)
        expected = ", ".join(lacking) if lacking else "none"
        assert stated == expected, resource_type


@pytest.mark.parametrize("module", [auto_copy, dynamodb])
def test_the_redshift_integration_modules_say_no_exception_only_while_it_is_true(module):
    docs = " ".join((module.__doc__ or "").split())
    assert "AWS::Redshift::Integration" in docs
    assert ("no cfn-lint exception" in docs) == (not regions_lacking(
        "AWS::Redshift::Integration"))
