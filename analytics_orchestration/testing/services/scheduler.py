"""Schedules on virtual time: scheduled EventBridge rules and EventBridge Scheduler schedules,
fired by :meth:`OfflineAws.advance <analytics_orchestration.testing.OfflineAws.advance>`.

Nothing fires by itself: ``aws.advance(hours=24)`` moves the harness's virtual clock
(:class:`~..core.patching.VirtualClock`, the one Step Functions waits spend) forward and
fires every occurrence due in that span, oldest first (ties in deployment order), each one
delivered and settled before the next, with the virtual clock at the occurrence's time.

Semantics, from the EventBridge and EventBridge Scheduler user guides:

- **Scheduled rules** (``AWS::Events::Rule`` with ``ScheduleExpression``, "Creating a rule
  that runs on a schedule", "Rate expressions reference"): always UTC; "a rate expression
  starts when you create the scheduled event rule", so ``rate(1 hour)`` first fires one hour
  after deployment (24 times in ``advance(hours=24)``). Each target gets the "Scheduled
  Event" (``source`` ``aws.events``, ``resources`` = the rule's ARN, ``detail`` ``{}``,
  ``time`` = the occurrence) through the EventBridge service's target delivery (``Input``,
  ``InputPath``, ``InputTransformer``, dead-letter queues). A disabled rule does not fire.
- **Scheduler schedules** (``AWS::Scheduler::Schedule``, "Schedule types in EventBridge
  Scheduler"): ``rate()``: "if you don't provide a StartDate, your schedule starts invoking
  the target immediately", so the first occurrence is the deployment time (``rate(1 hour)``
  fires 25 times in ``advance(hours=24)``: at 0 h, 1 h ... 24 h), else ``StartDate``;
  ``cron()`` evaluated in ``ScheduleExpressionTimezone`` (IANA; UTC by default), where a
  local time that daylight saving skips does not fire and a repeated one fires once;
  ``at()`` once, in its time zone; ``StartDate`` / ``EndDate`` bound every kind; ``State:
  DISABLED`` never fires; a ``FLEXIBLE`` time window fires at the start of the window (the
  earliest time AWS may choose). Templated targets: Step Functions ``StartExecution``,
  Lambda (asynchronous), SQS (``SqsParameters.MessageGroupId``), SNS, and EventBridge
  ``PutEvents`` (``EventBridgeParameters``: detail = the input); the input's context
  attributes ``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.execution-id>``,
  ``<aws.scheduler.attempt-number>`` and ``<aws.scheduler.schedule-arn>`` are replaced;
  without ``Input`` the target gets ``{}``. Universal (``aws-sdk``) targets raise
  :class:`UnsupportedIntegrationError`. Retries are not emulated: a refused delivery goes to
  the target's dead-letter queue at once.
- **Cron syntax** (six fields: minutes, hours, day-of-month, month, day-of-week, year):
  ``,`` ``-`` ``*`` ``/`` in every field but day-of-week; ``?`` in day-of-month or
  day-of-week (one of them must be ``?``); ``L`` (last day of the month), ``nW`` (weekday
  nearest day *n*, within the month) and ``LW`` in day-of-month; ``L`` (Saturday), ``nL``
  (last weekday *n* of the month) and ``n#k`` (*k*-th weekday *n*) in day-of-week, 1-7 =
  SUN-SAT; month and day names. Anything else is refused with
  :class:`InvalidScheduleExpressionError` naming the expression and the field.

No library is used for cron: ``croniter`` reads Unix cron (day-of-week 0-6, no ``W``, no
year field, different ``?``), not AWS's six-field dialect, and mapping one onto the other
would be harder to trust than this parser.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from analytics_orchestration.testing.core.deploy import Handler
from analytics_orchestration.testing.core.kernel import Kernel
from analytics_orchestration.testing.core.registry import generated_name
from analytics_orchestration.testing.core.template import StackTemplate
from analytics_orchestration.testing.exceptions import (
    OfflineHarnessError,
    UnsupportedIntegrationError,
)
from analytics_orchestration.testing.services.events import EventsService
from analytics_orchestration.testing.services.iam_enforcement import Iam
from analytics_orchestration.testing.services.sqs import SqsService

UTC = dt.UTC
_MONTHS = {name: index for index, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {name: index for index, name in enumerate(
    ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_HORIZON_YEAR = 2199


class InvalidScheduleExpressionError(OfflineHarnessError, ValueError):
    """A schedule expression AWS would reject, or a part of one the harness cannot evaluate."""

    def __init__(self, expression: str, problem: str) -> None:
        self.expression = expression
        super().__init__(f"schedule expression {expression!r}: {problem}")


# -- cron ------------------------------------------------------------------------------------
def _number(token: str, names: dict[str, int], low: int, high: int, expression: str,
            field_name: str) -> int:
    value = names.get(token.upper()) if token.upper() in names else None
    if value is None:
        if not token.isdigit():
            raise InvalidScheduleExpressionError(
                expression, f"{field_name} value {token!r} is not a number or a name")
        value = int(token)
    if not low <= value <= high:
        raise InvalidScheduleExpressionError(
            expression, f"{field_name} value {token!r} is outside {low}-{high}")
    return value


def _values(text: str, low: int, high: int, expression: str, field_name: str,
            names: dict[str, int] | None = None, *, steps: bool = True) -> set[int]:
    """``,`` lists of ``*``, ``n``, ``a-b`` and (``steps``) ``x/step``."""
    names = names or {}
    result: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not steps:
            raise InvalidScheduleExpressionError(
                expression, f"{field_name} does not take '/' ({item!r})")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise InvalidScheduleExpressionError(
                    expression, f"{field_name} step {step_text!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _number(first, names, low, high, expression, field_name)
            end = _number(last, names, low, high, expression, field_name)
            if end < start:
                raise InvalidScheduleExpressionError(
                    expression, f"{field_name} range {base!r} runs backwards")
        else:
            start = _number(base, names, low, high, expression, field_name)
            end = high if slash else start
        result.update(range(start, end + 1, step))
    return result


@dataclass
class CronExpression:
    """AWS's six-field cron, parsed once; :meth:`matches_day` and the time sets drive it."""

    expression: str
    minutes: set[int]
    hours: set[int]
    months: set[int]
    years: set[int]
    dom: str
    dow: str
    dom_values: set[int] = field(default_factory=set)
    dow_values: set[int] = field(default_factory=set)

    @classmethod
    def parse(cls, expression: str, body: str) -> CronExpression:
        fields = body.split()
        if len(fields) != 6:
            raise InvalidScheduleExpressionError(
                expression, f"cron needs 6 fields (minutes hours day-of-month month "
                            f"day-of-week year), got {len(fields)}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise InvalidScheduleExpressionError(
                expression, "exactly one of day-of-month and day-of-week must be '?'")
        cron = cls(
            expression=expression,
            minutes=_values(minute, 0, 59, expression, "minutes"),
            hours=_values(hour, 0, 23, expression, "hours"),
            months=_values(month, 1, 12, expression, "month", _MONTHS),
            years=_values(year, 1970, _HORIZON_YEAR, expression, "year"),
            dom=dom.upper(), dow=dow.upper(),
        )
        if cron.dom not in ("?", "L", "LW") and not re.fullmatch(r"\d{1,2}W", cron.dom):
            cron.dom_values = _values(cron.dom, 1, 31, expression, "day-of-month")
        elif re.fullmatch(r"\d{1,2}W", cron.dom):
            _number(cron.dom[:-1], {}, 1, 31, expression, "day-of-month")
        if cron.dow not in ("?", "L") and not re.fullmatch(r"[1-7A-Z]{1,3}(L|#[1-5])", cron.dow):
            cron.dow_values = _values(cron.dow, 1, 7, expression, "day-of-week", _DAYS,
                                      steps=False)
        elif cron.dow not in ("?", "L"):
            head = re.split(r"L|#", cron.dow)[0]
            _number(head, _DAYS, 1, 7, expression, "day-of-week")
        return cron

    def matches_day(self, day: dt.date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2; Sunday=6 -> 1
        if self.dom != "?":
            if self.dom == "L":
                return day.day == last
            if self.dom.endswith("W"):
                target = last if self.dom == "LW" else min(int(self.dom[:-1]), last)
                return day.day == _nearest_weekday(day.year, day.month, target)
            return day.day in self.dom_values
        if self.dow == "L":
            return aws_weekday == 7
        if self.dow.endswith("L"):
            weekday = _number(self.dow[:-1], _DAYS, 1, 7, self.expression, "day-of-week")
            return aws_weekday == weekday and day.day + 7 > last
        if "#" in self.dow:
            head, _, nth = self.dow.partition("#")
            weekday = _number(head, _DAYS, 1, 7, self.expression, "day-of-week")
            return aws_weekday == weekday and (day.day - 1) // 7 + 1 == int(nth)
        return aws_weekday in self.dow_values


def _nearest_weekday(year: int, month: int, target: int) -> int:
    """The weekday (Mon-Fri) nearest day ``target``, without leaving the month (Quartz's W)."""
    last = calendar.monthrange(year, month)[1]
    weekday = dt.date(year, month, target).weekday()
    if weekday < 5:
        return target
    if weekday == 5:  # Saturday: Friday before, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    return target + 1 if target < last else target - 2  # Sunday


# -- schedules -------------------------------------------------------------------------------
@dataclass
class Schedule:
    """One scheduled rule or Scheduler schedule, with the next time it fires."""

    kind: str  # "rule" | "schedule"
    name: str
    arn: str
    expression: str
    zone: dt.tzinfo
    created: dt.datetime
    start: dt.datetime | None
    end: dt.datetime | None
    enabled: bool
    target: dict[str, Any]
    order: int
    rate: dt.timedelta | None = None
    cron: CronExpression | None = None
    at: dt.datetime | None = None
    next_due: dt.datetime | None = None
    fired: list[dt.datetime] = field(default_factory=list)

    def first(self) -> dt.datetime | None:
        if self.rate is not None:
            if self.kind == "rule":
                return self.created + self.rate
            return self.start or self.created
        if self.at is not None:
            return self.at
        return self.after(max(self.created, self.start or self.created)
                          - dt.timedelta(microseconds=1))

    def after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first occurrence strictly after ``moment`` (None: never again)."""
        if self.rate is not None:
            anchor = self.created + self.rate if self.kind == "rule" else (
                self.start or self.created)
            if moment < anchor:
                return anchor
            steps = int((moment - anchor) / self.rate) + 1
            return anchor + steps * self.rate
        if self.at is not None:
            return self.at if moment < self.at else None
        assert self.cron is not None
        local = moment.astimezone(self.zone)
        day = local.date()
        minutes = sorted(self.cron.minutes)
        hours = sorted(self.cron.hours)
        while day.year <= _HORIZON_YEAR:
            if self.cron.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = dt.datetime(day.year, day.month, day.day, hour, minute,
                                                tzinfo=self.zone)
                        as_utc = candidate.astimezone(UTC)
                        if as_utc.astimezone(self.zone).replace(tzinfo=None) != \
                                candidate.replace(tzinfo=None):
                            continue  # skipped by daylight saving: does not fire
                        if as_utc > moment:
                            return as_utc
            day += dt.timedelta(days=1)
        return None

    def within_bounds(self, moment: dt.datetime) -> bool:
        return (self.start is None or moment >= self.start) and (
            self.end is None or moment <= self.end)


def parse_expression(expression: str, schedule: Schedule) -> None:
    """Set the rate, cron or at of ``schedule`` from its expression (or refuse it)."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value == 0:
            raise InvalidScheduleExpressionError(expression, "the rate must be positive")
        if (value == 1) != (not unit.endswith("s")):
            raise InvalidScheduleExpressionError(
                expression, "the unit must be singular for 1 and plural otherwise "
                            "(rate(1 hour), rate(5 hours))")
        schedule.rate = dt.timedelta(**{unit.rstrip("s") + "s": value})
        return
    if text.startswith("cron(") and text.endswith(")"):
        schedule.cron = CronExpression.parse(expression, text[5:-1])
        return
    at = _AT.match(text)
    if at and schedule.kind == "schedule":
        local = dt.datetime.fromisoformat(at.group(1)).replace(tzinfo=schedule.zone)
        schedule.at = local.astimezone(UTC)
        return
    raise InvalidScheduleExpressionError(
        expression, "not rate(value unit), cron(6 fields)"
                    + (" or at(yyyy-mm-ddThh:mm:ss)" if schedule.kind == "schedule" else ""))


def _instant(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    if value in (None, ""):
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Firing:
    """One occurrence the harness fired: which schedule, when (UTC)."""

    name: str
    kind: str
    time: dt.datetime


class SchedulerService:
    """Scheduled rules and Scheduler schedules of one harness, fired on virtual time."""

    def __init__(self, kernel: Kernel, events: EventsService, sqs: SqsService,
                 iam: Iam) -> None:
        self.kernel = kernel
        self.events = events
        self.sqs = sqs
        self.iam = iam
        self.schedules: list[Schedule] = []
        self.firings: list[Firing] = []
        #: Scheduler schedules' resolved properties, by name.
        self.deployed: dict[str, dict[str, Any]] = {}

    def resource_handlers(self) -> dict[str, Handler]:
        return {
            # The rule itself is EventBridge's; this only notes its schedule.
            "AWS::Events::Rule": self.rule,
            "AWS::Scheduler::Schedule": self.schedule,
            "AWS::Scheduler::ScheduleGroup": self.schedule_group,
        }

    # -- deploy -----------------------------------------------------------------------
    def _add(self, kind: str, name: str, arn: str, props: dict[str, Any],
             zone_name: str, target: dict[str, Any], enabled: bool) -> None:
        expression = str(props["ScheduleExpression"])
        try:
            zone: dt.tzinfo = UTC if zone_name == "UTC" else zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidScheduleExpressionError(
                expression, f"unknown time zone {zone_name!r}") from exc
        schedule = Schedule(
            kind=kind, name=name, arn=arn, expression=expression, zone=zone,
            created=self.kernel.clock.now(), start=_instant(props.get("StartDate"), zone),
            end=_instant(props.get("EndDate"), zone), enabled=enabled, target=target,
            order=len(self.schedules))
        parse_expression(expression, schedule)
        schedule.next_due = schedule.first()
        self.schedules.append(schedule)

    def rule(self, stack: StackTemplate, logical_id: str,
             props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if props.get("ScheduleExpression"):
            # Validate before EventBridge creates it, as PutRule refuses a bad expression.
            probe = Schedule(kind="rule", name="", arn="", expression="", zone=UTC,
                             created=self.kernel.clock.now(), start=None, end=None,
                             enabled=True, target={}, order=0)
            parse_expression(str(props["ScheduleExpression"]), probe)
        ref, attrs = self.events.rule(stack, logical_id, props)
        if props.get("ScheduleExpression"):
            name = str(ref).split("|")[-1]
            self._add("rule", name, str(attrs["Arn"]), props, "UTC", {},
                      str(props.get("State", "ENABLED")) == "ENABLED")
        return ref, attrs

    def schedule(self, stack: StackTemplate, logical_id: str,
                 props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("Name") or generated_name(stack.stack_name, logical_id, 64))
        group = str(props.get("GroupName") or "default")
        arn = self.kernel.arn("scheduler", f"schedule/{group}/{name}")
        self.deployed[name] = props
        self._add("schedule", name, arn, props,
                  str(props.get("ScheduleExpressionTimezone") or "UTC"),
                  dict(props.get("Target") or {}),
                  str(props.get("State", "ENABLED")) == "ENABLED")
        return name, {"Arn": arn}

    def schedule_group(self, stack: StackTemplate, logical_id: str,
                       props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = str(props.get("Name") or generated_name(stack.stack_name, logical_id, 64))
        return name, {"Arn": self.kernel.arn("scheduler", f"schedule-group/{name}"),
                      "CreationDate": _iso(self.kernel.clock.now()), "State": "ACTIVE"}

    # -- virtual time -----------------------------------------------------------------
    def advance(self, delta: dt.timedelta, settle: Callable[[], None]) -> list[Firing]:
        """Fire every occurrence up to ``now + delta`` in time order; returns them."""
        if delta < dt.timedelta(0):
            raise ValueError("virtual time only moves forward")
        clock = self.kernel.clock
        until = clock.now() + delta
        fired: list[Firing] = []
        while True:
            due = [s for s in self.schedules
                   if s.next_due is not None and s.next_due <= until]
            if not due:
                break
            schedule = min(due, key=lambda s: (s.next_due, s.order))
            moment = schedule.next_due
            assert moment is not None
            clock.advance_to(moment)
            schedule.next_due = schedule.after(moment)
            if schedule.end is not None and schedule.next_due is not None and \
                    schedule.next_due > schedule.end:
                schedule.next_due = None
            if not (schedule.enabled and schedule.within_bounds(moment)):
                continue
            schedule.fired.append(moment)
            firing = Firing(name=schedule.name, kind=schedule.kind, time=moment)
            fired.append(firing)
            self.firings.append(firing)
            self.kernel.loop.enqueue(functools.partial(self.fire, schedule, moment))
            settle()
        clock.advance_to(until)
        settle()
        return fired

    def fire(self, schedule: Schedule, moment: dt.datetime) -> None:
        """Deliver one occurrence to the schedule's target(s)."""
        if schedule.kind == "rule":
            self._fire_rule(schedule, moment)
        else:
            self._fire_schedule(schedule, moment)

    def _fire_rule(self, schedule: Schedule, moment: dt.datetime) -> None:
        rule = self.events.backend().describe_event_bus("default").rules.get(schedule.name)
        if rule is None or rule.state != "ENABLED":
            return  # deleted or disabled since deployment
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": self.kernel.account_id, "time": _iso(moment),
            "region": self.kernel.region, "resources": [schedule.arn], "detail": {},
        }
        for target in list(rule.targets):
            self.events.deliver_to_target(rule, dict(target), event)

    def _fire_schedule(self, schedule: Schedule, moment: dt.datetime) -> None:
        target = schedule.target
        arn = str(target.get("Arn", ""))
        text = str(target.get("Input") if target.get("Input") is not None else "{}")
        for name, value in {
            "<aws.scheduler.scheduled-time>": _iso(moment),
            "<aws.scheduler.execution-id>": str(uuid.uuid4()),
            "<aws.scheduler.attempt-number>": "1",
            "<aws.scheduler.schedule-arn>": schedule.arn,
        }.items():
            text = text.replace(name, value)
        if arn.startswith("arn:aws:scheduler:::aws-sdk:"):
            raise UnsupportedIntegrationError("Scheduler universal target", arn)
        if ":event-bus/" in arn:
            parameters = target.get("EventBridgeParameters") or {}
            # The Scheduler calls its target with the schedule's execution role.
            with self.iam.acting(self.iam.principal_for_role(target.get("RoleArn"),
                                                             "scheduler")):
                self.kernel.client("events").put_events(Entries=[{
                    "EventBusName": arn, "Source": str(parameters.get("Source", "")),
                    "DetailType": str(parameters.get("DetailType", "")), "Detail": text,
                    "Resources": [schedule.arn], "Time": moment}])
            return
        delivered: dict[str, Any] = {"Id": schedule.name, "Arn": arn, "Input": text}
        role = target.get("RoleArn")
        if role:
            # The Scheduler calls every target with the schedule's execution role (SQS
            # included, unlike an EventBridge rule): delivery runs as that role.
            self.iam.index.target_roles[(schedule.arn, arn)] = str(role)
        for key in ("DeadLetterConfig", "SqsParameters"):
            if target.get(key):
                delivered[key] = target[key]
        stub = SimpleNamespace(name=schedule.name, arn=schedule.arn)
        self.events.deliver_to_target(stub, delivered, {"time": _iso(moment)})

    # -- on demand ----------------------------------------------------------------------
    def run(self, ref: str) -> str:
        """Start what a Scheduler schedule targets, now, with its input; returns the
        execution ARN (for state-machine targets)."""
        found = self.kernel.registry.find(ref, "AWS::Scheduler::Schedule")
        target = self.deployed[found.physical_id]["Target"]
        arn = str(target["Arn"])
        if ":states:" not in arn:
            raise OfflineHarnessError(f"schedule {ref!r} targets {arn}, not a state machine")
        text = str(target.get("Input") or "{}").replace(
            "<aws.scheduler.scheduled-time>", _iso(self.kernel.clock.now())).replace(
            "<aws.scheduler.execution-id>", str(uuid.uuid4()))
        with self.iam.acting(self.iam.principal_for_role(target.get("RoleArn"), "scheduler")):
            execution: str = self.kernel.client("stepfunctions").start_execution(
                stateMachineArn=arn, input=text)["executionArn"]
        return execution

    def fired(self, names: Iterable[str] | None = None) -> list[Firing]:
        """Every occurrence fired so far (optionally of some schedules), oldest first."""
        wanted = None if names is None else set(names)
        return [f for f in self.firings if wanted is None or f.name in wanted]

