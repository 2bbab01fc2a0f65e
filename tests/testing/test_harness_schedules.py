"""Schedules on virtual time: AWS's cron dialect, rate and at expressions, and scheduled rules /
Scheduler schedules fired by ``aws.advance(...)`` through the harness's target delivery.

The cron cases are the examples of the EventBridge user guide ("Creating a rule that runs on a
schedule", cron expression examples) and the Scheduler user guide ("Schedule types in
EventBridge Scheduler": daylight saving time, rate without StartDate)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from zoneinfo import ZoneInfo

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs

from analytics_orchestration.testing import OfflineAws
from analytics_orchestration.testing.services.scheduler import (
    InvalidScheduleExpressionError,
    Schedule,
    parse_expression,
)

UTC = dt.UTC


def occurrences(expression: str, start: dt.datetime, count: int, *, zone: str = "UTC",
                kind: str = "schedule") -> list[dt.datetime]:
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    schedule = Schedule(kind=kind, name="s", arn="a", expression=expression, zone=tz,
                        created=start, start=None, end=None, enabled=True, target={}, order=0)
    parse_expression(expression, schedule)
    found: list[dt.datetime] = []
    moment: dt.datetime | None = start
    while len(found) < count and moment is not None:
        moment = schedule.after(moment)
        if moment is not None:
            found.append(moment)
    return found


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# 2026-12-01 is a Tuesday.
START = utc(2026, 12, 1, 0, 0, 30)


@pytest.mark.parametrize(("expression", "expected"), [
    # The EventBridge user guide's examples.
    ("cron(0 10 * * ? *)", [utc(2026, 12, 1, 10), utc(2026, 12, 2, 10)]),
    ("cron(15 12 * * ? *)", [utc(2026, 12, 1, 12, 15), utc(2026, 12, 2, 12, 15)]),
    ("cron(0 18 ? * MON-FRI *)", [utc(2026, 12, 1, 18), utc(2026, 12, 2, 18),
                                  utc(2026, 12, 3, 18), utc(2026, 12, 4, 18),
                                  utc(2026, 12, 7, 18)]),
    ("cron(0 8 1 * ? *)", [utc(2026, 12, 1, 8), utc(2027, 1, 1, 8)]),
    ("cron(0/15 * * * ? *)", [utc(2026, 12, 1, 0, 15), utc(2026, 12, 1, 0, 30),
                              utc(2026, 12, 1, 0, 45)]),
    ("cron(0/10 * ? * MON-FRI *)", [utc(2026, 12, 1, 0, 10), utc(2026, 12, 1, 0, 20)]),
    ("cron(0/30 20-21 ? * MON-FRI *)", [utc(2026, 12, 1, 20), utc(2026, 12, 1, 20, 30),
                                        utc(2026, 12, 1, 21), utc(2026, 12, 1, 21, 30),
                                        utc(2026, 12, 2, 20)]),
    ("cron(0 9 ? * 2#1 *)", [utc(2026, 12, 7, 9), utc(2027, 1, 4, 9)]),  # first Monday
    # L, W, LW, nL; day numbers 1-7 are SUN-SAT; names; years.
    ("cron(0 0 L * ? *)", [utc(2026, 12, 31), utc(2027, 1, 31), utc(2027, 2, 28)]),
    ("cron(0 0 LW * ? *)", [utc(2026, 12, 31), utc(2027, 1, 29), utc(2027, 2, 26)]),
    ("cron(0 0 1W * ? *)", [utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 3, 1)]),
    ("cron(0 0 15W * ? *)", [utc(2026, 12, 15), utc(2027, 1, 15), utc(2027, 2, 15)]),
    ("cron(0 0 ? * 6L *)", [utc(2026, 12, 25), utc(2027, 1, 29)]),  # last Friday
    ("cron(0 0 ? * L *)", [utc(2026, 12, 5), utc(2026, 12, 12)]),  # Saturday
    ("cron(0 0 ? * 1 *)", [utc(2026, 12, 6), utc(2026, 12, 13)]),  # 1 = Sunday
    ("cron(0 12 25 DEC ? 2027-2028)", [utc(2027, 12, 25, 12), utc(2028, 12, 25, 12)]),
    ("cron(0 12 29 2 ? *)", [utc(2028, 2, 29, 12), utc(2032, 2, 29, 12)]),
])
def test_cron_occurrences(expression: str, expected: list[dt.datetime]) -> None:
    assert occurrences(expression, START, len(expected)) == expected


def test_cron_in_a_time_zone_skips_the_hour_daylight_saving_skips_and_fires_once_in_a_repeat():
    # Scheduler guide: a cron time that does not exist when clocks go forward is skipped;
    # when they go back it runs once. Europe/Paris: 2027-03-28 02:00 -> 03:00;
    # 2027-10-31 03:00 -> 02:00.
    spring = occurrences("cron(30 2 * * ? *)", utc(2027, 3, 26), 3, zone="Europe/Paris")
    assert spring == [utc(2027, 3, 26, 1, 30), utc(2027, 3, 27, 1, 30),
                      utc(2027, 3, 29, 0, 30)]
    autumn = occurrences("cron(30 2 * * ? *)", utc(2027, 10, 30), 3, zone="Europe/Paris")
    assert autumn == [utc(2027, 10, 30, 0, 30), utc(2027, 10, 31, 0, 30),
                      utc(2027, 11, 1, 1, 30)]


def test_rate_and_at() -> None:
    assert occurrences("rate(5 minutes)", START, 2, kind="rule") == [
        START + dt.timedelta(minutes=5), START + dt.timedelta(minutes=10)]
    assert occurrences("at(2027-01-01T09:00:00)", START, 2, zone="America/New_York") == [
        utc(2027, 1, 1, 14)]


@pytest.mark.parametrize(("expression", "problem"), [
    ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 10 * * ?)", "cron needs 6 fields"),
    ("cron(0 10 ? * 1/2 *)", "day-of-week does not take '/'"),
    ("cron(60 10 * * ? *)", "minutes value '60' is outside 0-59"),
    ("cron(0 10 ? * 8 *)", "day-of-week value '8' is outside 1-7"),
    ("cron(0 10 ? * MON#6 *)", "day-of-week value 'MON#6' is not a number or a name"),
    ("cron(? 10 * * ? *)", "minutes value '?' is not a number or a name"),
    ("cron(0 10 32W * ? *)", "day-of-month value '32' is outside 1-31"),
    ("cron(0 10 * FOO ? *)", "month value 'FOO' is not a number or a name"),
    ("rate(1 hours)", "singular for 1"),
    ("rate(5 hour)", "singular for 1"),
    ("rate(0 minutes)", "positive"),
    ("every(5 minutes)", "not rate(value unit)"),
])
def test_invalid_expressions_are_refused_naming_the_expression(expression: str,
                                                               problem: str) -> None:
    with pytest.raises(InvalidScheduleExpressionError) as caught:
        occurrences(expression, START, 1)
    assert expression in str(caught.value) and problem in str(caught.value)


def test_at_is_refused_on_rules() -> None:
    with pytest.raises(InvalidScheduleExpressionError, match="not rate"):
        occurrences("at(2027-01-01T09:00:00)", START, 1, kind="rule")


# -- firing, through deployed stacks --------------------------------------------------------
@pytest.fixture(scope="module")
def scheduled_stack() -> cdk.Stack:
    app = cdk.App()
    stack = cdk.Stack(app, "Timed")
    hourly = sqs.Queue(stack, "Hourly")
    events.Rule(stack, "EveryHour", schedule=events.Schedule.rate(cdk.Duration.hours(1)),
                targets=[targets.SqsQueue(hourly)])
    transformed = sqs.Queue(stack, "Transformed")
    events.Rule(stack, "Daily", schedule=events.Schedule.cron(minute="30", hour="3"),
                targets=[targets.SqsQueue(transformed, message=events.RuleTargetInput.from_object(
                    {"at": events.EventField.time, "rule": events.EventField.from_path(
                        "$.resources[0]")}))])
    events.Rule(stack, "Off", schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
                enabled=False, targets=[targets.SqsQueue(hourly)])
    deliveries = sqs.Queue(stack, "Deliveries")
    role_arn = "arn:aws:iam::123456789012:role/scheduler"
    scheduler.CfnSchedule(
        stack, "Immediate", schedule_expression="rate(1 hour)",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(
            arn=deliveries.queue_arn, role_arn=role_arn,
            input=json.dumps({"at": "<aws.scheduler.scheduled-time>", "kind": "rate"})))
    once = (dt.datetime.now(UTC) + dt.timedelta(hours=36)).replace(second=0, microsecond=0)
    stack.node.add_metadata("once", once.isoformat())
    scheduler.CfnSchedule(
        stack, "Once", schedule_expression=f"at({once.strftime('%Y-%m-%dT%H:%M:%S')})",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(arn=deliveries.queue_arn, role_arn=role_arn,
                                                    input='{"kind": "at"}'))
    scheduler.CfnSchedule(
        stack, "Disabled", schedule_expression="rate(1 minute)", state="DISABLED",
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(arn=deliveries.queue_arn, role_arn=role_arn))
    bounded = sqs.Queue(stack, "Bounded")
    start = (dt.datetime.now(UTC) + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    scheduler.CfnSchedule(
        stack, "Window", schedule_expression="rate(1 hour)",
        start_date=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_date=(start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE", maximum_window_in_minutes=15),
        target=scheduler.CfnSchedule.TargetProperty(arn=bounded.queue_arn, role_arn=role_arn))
    return stack


@pytest.fixture
def timed(scheduled_stack):
    # Schedule semantics, not permissions: the schedules' role is a bare ARN with no policy
    # (IAM enforcement is proven in test_harness_iam.py).
    with OfflineAws(iam="off") as aws:
        aws.deploy(scheduled_stack)
        yield aws


def test_rate_rule_fires_24_times_in_24_hours_in_order_with_the_scheduled_event(timed):
    start = timed.now
    fired = timed.advance(hours=24)

    hourly = [f for f in fired if f.name == timed.physical_id("EveryHour")]
    assert [f.time for f in hourly] == [start + dt.timedelta(hours=h) for h in range(1, 25)]
    messages = [m.json() for m in timed.queue_messages("Hourly")]
    assert [m["time"] for m in messages] == [f.time.strftime("%Y-%m-%dT%H:%M:%SZ")
                                             for f in hourly]
    first = messages[0]
    assert (first["source"], first["detail-type"], first["detail"]) == (
        "aws.events", "Scheduled Event", {})
    assert first["resources"] == [timed.arn("EveryHour")]
    assert timed.now == start + dt.timedelta(hours=24)
    assert [f.time for f in fired] == sorted(f.time for f in fired)


def test_cron_rule_delivers_through_the_targets_input_transformer(timed):
    [daily] = [f for f in timed.advance(hours=24) if f.name == timed.physical_id("Daily")]
    assert (daily.time.hour, daily.time.minute) == (3, 30)
    [message] = timed.queue_messages("Transformed")
    assert message.json() == {"at": daily.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "rule": timed.arn("Daily")}


def test_scheduler_rate_starts_at_once_and_at_fires_once_and_disabled_never(timed):
    start = timed.now
    fired = timed.advance(hours=24)
    immediate = [f.time for f in fired if f.name == timed.physical_id("Immediate")]
    # No StartDate: "your schedule starts invoking the target immediately".
    assert immediate == [start + dt.timedelta(hours=h) for h in range(25)]
    assert not [f for f in fired if f.name in (timed.physical_id("Disabled"),
                                               timed.physical_id("Off"))]
    bodies = [m.json() for m in timed.queue_messages("Deliveries")]
    assert [b["at"] for b in bodies] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in immediate]

    assert not [f for f in fired if f.name == timed.physical_id("Once")]
    later = timed.advance(hours=24)
    [once] = [f.time for f in later if f.name == timed.physical_id("Once")]
    assert timed.now - dt.timedelta(hours=24) < once <= timed.now
    assert (once.second, once.microsecond) == (0, 0)


def test_advance_refuses_going_back(timed):
    with pytest.raises(ValueError, match="forward"):
        timed.advance(hours=-1)


def test_start_and_end_dates_bound_a_schedule_and_a_flexible_window_fires_at_its_start(timed):
    fired = [f.time for f in timed.advance(hours=24) if f.name == timed.physical_id("Window")]
    assert len(fired) == 4  # StartDate, +1 h, +2 h, +3 h = EndDate
    assert [b - a for a, b in itertools.pairwise(fired)] == [dt.timedelta(hours=1)] * 3
    assert fired[0].second == 0  # StartDate, to the minute
    assert timed.now - dt.timedelta(hours=23) < fired[0] < timed.now - dt.timedelta(hours=20)
    assert [m.json() for m in timed.queue_messages("Bounded")] == [{}] * 4
