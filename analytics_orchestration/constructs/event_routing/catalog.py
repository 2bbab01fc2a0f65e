"""Rule builders over the typed event catalog (:mod:`analytics_orchestration.event_catalog`).

The catalog defines each event the library emits once (source, detail-type, detail
fields). These helpers build what a rule needs from those definitions, and check a
hand-written pattern against them, so that a misspelt detail-type or detail field is a
:class:`~analytics_orchestration.errors.ConfigurationError` at synth instead of a rule
that silently never matches::

    RoutingRule.for_events(
        "FailedRuns", ETL_RUN_FAILED, JOB_FAILED,
        targets=[RouteTarget.topic(alerts, input=detail_input(
            ETL_RUN_FAILED, {"workflow": "workflow", "error": "error"}))],
    )
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_events as events
from constructs import IConstruct

from analytics_orchestration.errors import ConfigurationError
from analytics_orchestration.event_catalog import LIBRARY_EVENTS, LibraryEvent

from .._foundation.validation import validated_props

__all__ = ["LIBRARY_SOURCE_PREFIX", "catalog_pattern", "detail_input", "pattern_problems"]

#: Every source of the catalog starts with this; patterns on such a source are checked.
LIBRARY_SOURCE_PREFIX = "analytics-orchestration."
#: Envelope fields an input transformation may use besides the detail.
ENVELOPE_PATHS = {
    "id": "$.id", "time": "$.time", "source": "$.source", "detail-type": "$.detail-type",
    "account": "$.account", "region": "$.region", "resources": "$.resources",
}


@validated_props()
def catalog_pattern(
    *library_events: LibraryEvent, detail: Mapping[str, object] | None = None
) -> events.EventPattern:
    """A pattern matching any of ``library_events``, optionally narrowed by ``detail``.

    ``detail`` may filter only on fields that every one of the events carries (a filter on
    a field one of them lacks would never match that event); values use EventBridge's
    matching (``events.Match.prefix(...)``, ``Match.greater_than(...)``, ``Match.exists()``,
    ``Match.anything_but(...)``, ...) or plain lists of values.
    """
    if not library_events:
        raise ConfigurationError("catalog_pattern", ["library_events: give at least one event"])
    unknown = [f"detail.{name}: not a field of {event.detail_type}; fields are "
               f"{', '.join(event.detail_fields)}"
               for name in sorted(detail or {}) for event in library_events
               if name not in event.detail_fields]
    if unknown:
        names = "/".join(e.detail_type for e in library_events)
        raise ConfigurationError(f"{names} pattern", unknown)
    return events.EventPattern(
        source=sorted({event.source for event in library_events}),
        detail_type=[event.detail_type for event in library_events],
        detail=dict(detail) if detail else None,
    )


@validated_props()
def detail_input(
    library_event: LibraryEvent | Sequence[LibraryEvent],
    fields: Mapping[str, str] | Sequence[str],
    *,
    envelope: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> events.RuleTargetInput:
    """An input transformation building a JSON object from the event's fields.

    :param library_event: the event (or events) the rule matches; every field must be a
        detail field of each of them.
    :param fields: output key -> detail field (or a list of field names, kept as they are).
    :param envelope: output key -> envelope field (``id``, ``time``, ``source``,
        ``detail-type``, ``account``, ``region``, ``resources``).
    :param constants: output keys with fixed values.
    """
    matched = (library_event,) if isinstance(library_event, LibraryEvent) else tuple(
        library_event)
    mapping = dict(fields) if isinstance(fields, Mapping) else {name: name for name in fields}
    problems = [f"fields.{out}: {field!r} is not a field of {event.detail_type}; fields are "
                f"{', '.join(event.detail_fields)}"
                for out, field in mapping.items() for event in matched
                if field not in event.detail_fields]
    problems += [f"envelope.{out}: {field!r} is not an envelope field; use one of "
                 f"{', '.join(ENVELOPE_PATHS)}"
                 for out, field in (envelope or {}).items() if field not in ENVELOPE_PATHS]
    clashes = set(mapping) & (set(envelope or {}) | set(constants or {}))
    clashes |= set(envelope or {}) & set(constants or {})
    problems += [f"{name}: the same output key is given twice" for name in sorted(clashes)]
    if problems:
        raise ConfigurationError("detail_input", problems)
    document: dict[str, Any] = dict(constants or {})
    for out, field in mapping.items():
        document[out] = events.EventField.from_path(f"$.detail.{field}")
    for out, field in (envelope or {}).items():
        document[out] = events.EventField.from_path(ENVELOPE_PATHS[field])
    return events.RuleTargetInput.from_object(document)


def pattern_problems(pattern: events.EventPattern, scope: IConstruct) -> list[str]:
    """What in ``pattern`` can never match an event of the catalog, in words.

    Only patterns naming a library source (``analytics-orchestration.*``) are judged: each
    such source must exist, each detail-type must belong to one of those sources, and
    each top-level detail key must be a field of at least one of the matched events.
    """
    resolved = Stack.of(scope).resolve(
        {"source": pattern.source, "detail_type": pattern.detail_type, "detail": pattern.detail}
    )
    sources = [s for s in resolved.get("source") or [] if isinstance(s, str)]
    library_sources = [s for s in sources if s.startswith(LIBRARY_SOURCE_PREFIX)]
    if not library_sources or Token.is_unresolved(str(resolved)):
        return []
    catalog = [e for e in LIBRARY_EVENTS if e.source in library_sources]
    problems = [f"source {s!r} is not a source of the event catalog; sources are "
                f"{', '.join(sorted({e.source for e in LIBRARY_EVENTS}))}"
                for s in library_sources if s not in {e.source for e in LIBRARY_EVENTS}]
    detail_types = resolved.get("detail_type")
    if detail_types is not None:
        known = {e.detail_type for e in catalog}
        problems += [f"detail-type {d!r} is not emitted by {', '.join(library_sources)}; "
                     f"known detail-types are {', '.join(sorted(known)) or 'none'}"
                     for d in detail_types if isinstance(d, str) and d not in known]
        catalog = [e for e in catalog if e.detail_type in detail_types] or catalog
    fields = {f for e in catalog for f in e.detail_fields}
    for key in sorted(resolved.get("detail") or {}):
        if key not in fields and not key.startswith("$"):
            problems.append(f"detail.{key} is not a field of "
                            f"{'/'.join(e.detail_type for e in catalog)}")
    return problems
