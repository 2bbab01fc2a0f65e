"""The cfn-lint speed-up in :mod:`tests.support` changes no finding, only the time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.template.template import Template as LintedTemplate

from tests import support

#: GetAtts that cfn-lint checks through the cached table: a valid one, one naming an
#: attribute the type lacks (E1010), one with a wrong type for its property (E1010's type
#: check), one in a Sub (W1020 reads the table too) and one naming no resource.
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": {"Fn::GetAtt": ["Queue", "QueueName"]}}},
        "Other": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": {"Fn::GetAtt": ["Queue", "NoSuchAttribute"]}}},
        "Typed": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": {"Fn::GetAtt": ["Queue", "DelaySeconds"]},
            "TopicName": {"Fn::Sub": "${Queue.QueueName}-copy"}}},
        "Dangling": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": {"Fn::GetAtt": ["Missing", "Arn"]}}},
    },
}


def test_the_getatt_table_is_built_once_per_linted_template(monkeypatch):
    built: list[LintedTemplate] = []
    uncached = support._UNCACHED_GETATTS

    def counting(template: LintedTemplate) -> Any:
        built.append(template)
        return uncached(template)

    monkeypatch.setattr(support, "_UNCACHED_GETATTS", counting)
    support.lint_problems(TEMPLATE)
    assert len(built) == 1


def test_the_cached_lint_reports_what_cfn_lint_reports_uncached(monkeypatch):
    cached = support.lint_problems(json.dumps(TEMPLATE))
    monkeypatch.setattr(LintedTemplate, "get_valid_getatts", support._UNCACHED_GETATTS)
    uncached = support.lint_problems(TEMPLATE)
    assert cached == uncached
    assert any("E1010" in problem and "NoSuchAttribute" in problem for problem in cached)
    assert any("Missing" in problem for problem in cached)
    assert any("E1010" in problem and "DelaySeconds" in problem for problem in cached)


@pytest.mark.parametrize("template", [{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}])
def test_a_clean_template_has_no_problem(template: dict[str, Any]):
    assert support.lint_problems(template) == []
