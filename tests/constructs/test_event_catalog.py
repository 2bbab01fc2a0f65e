"""The event catalog: one definition per event, checked patterns."""

from __future__ import annotations

import pytest

from analytics_orchestration import LIBRARY_EVENTS, OBJECT_ACCEPTED, ConfigurationError


def test_detail_types_are_unique_and_sources_namespaced():
    assert len({e.detail_type for e in LIBRARY_EVENTS}) == len(LIBRARY_EVENTS)
    assert all(e.source.startswith("analytics-orchestration.") for e in LIBRARY_EVENTS)


def test_pattern_narrowed_by_known_fields():
    pattern = OBJECT_ACCEPTED.pattern({"bucket": ["b"], "key": [{"prefix": "in/"}]})
    assert pattern.source == ["analytics-orchestration.ingestion"]
    assert pattern.detail_type == ["ObjectAccepted"]
    assert pattern.detail == {"bucket": ["b"], "key": [{"prefix": "in/"}]}


def test_pattern_on_a_field_the_event_lacks_is_an_error():
    with pytest.raises(ConfigurationError) as raised:
        OBJECT_ACCEPTED.pattern({"bukcet": ["b"], "reason": ["x"]})
    assert [p.split(":")[0] for p in raised.value.problems] == ["detail.bukcet", "detail.reason"]
