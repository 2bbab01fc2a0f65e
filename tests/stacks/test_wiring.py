"""Every publisher of every example template can publish, and every service grant is guarded.

The walks live in :mod:`tests.support_wiring`; here they run over every synthesized stack of
the example app (new example stacks are covered as soon as app.py adds them).
"""

from __future__ import annotations

from collections import Counter

import pytest
from aws_cdk import cx_api

from tests.support_wiring import (
    create_grant_statements,
    service_grants,
    trusts,
    unconditioned_service_grants,
    unconditioned_trusts,
    unrestricted_create_grants,
    wirings,
)

#: Every kind of wiring the example app has; each must be found at least once, so that a
#: walk that stops recognising a kind fails instead of passing on nothing.
EXPECTED_KINDS = {
    "alarm->topic",
    "rule->topic",
    "rule->queue",
    "rule->bus",
    "rule->dead-letter queue",
    "topic->queue",
    "subscription->dead-letter queue",
}


@pytest.fixture(scope="module")
def templates(cloud_assembly: cx_api.CloudAssembly) -> dict[str, dict[str, object]]:
    return {stack.stack_name: stack.template for stack in cloud_assembly.stacks}


def test_every_alarm_rule_target_and_subscription_can_deliver(templates):
    found = {name: wirings(template) for name, template in templates.items()}
    kinds = Counter(w.kind for every in found.values() for w in every)
    assert set(kinds) >= EXPECTED_KINDS, kinds
    broken = [f"{name}: {w}" for name, every in found.items() for w in every if w.problems]
    assert broken == []


def test_every_service_principal_grant_is_conditioned_on_its_source(templates):
    assert sum(service_grants(t) for t in templates.values()) > 0
    unguarded = {name: found for name, t in templates.items()
                 if (found := unconditioned_service_grants(t))}
    assert unguarded == {}


def test_kms_create_grant_is_only_for_aws_resources(templates):
    assert sum(len(create_grant_statements(t)) for t in templates.values()) > 0
    unrestricted = {name: found for name, t in templates.items()
                    if (found := unrestricted_create_grants(t))}
    assert unrestricted == {}


def test_roles_of_eventbridge_scheduler_and_step_functions_trust_only_this_account(templates):
    assert {service for t in templates.values() for _, service, _ in trusts(t)} == {
        "events.amazonaws.com", "scheduler.amazonaws.com", "states.amazonaws.com"}
    unguarded = {name: found for name, t in templates.items()
                 if (found := unconditioned_trusts(t))}
    assert unguarded == {}
