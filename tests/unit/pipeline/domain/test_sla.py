"""Due-time computation: targets per priority, the warning share, business hours in a time zone (DST
included), priority changes, and clear errors for bad settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract import names
from contract.errors import SlaConfigError
from contract.models import Priority
from pipeline.domain.sla import BusinessHours, SlaPolicy, at_expression, parse_at, parse_duration

MON_10_UTC = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_are_written_as_people_write_them(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "8", "8 hours", "h", "1.5h", "-1h", "0s", "1w"])
def test_a_bad_duration_is_refused_naming_the_setting_and_the_format(bad):
    with pytest.raises(SlaConfigError, match=r"TMS_SLA_HIGH: .*(duration|longer than zero)"):
        parse_duration(bad, setting="TMS_SLA_HIGH")


def test_defaults_are_one_hour_eight_hours_and_a_day_warned_at_80_percent():
    policy = SlaPolicy.from_env({})
    assert policy.due_at(MON_10_UTC, Priority.HIGH) == MON_10_UTC + timedelta(hours=1)
    assert policy.due_at(MON_10_UTC, Priority.MEDIUM) == MON_10_UTC + timedelta(hours=8)
    assert policy.due_at(MON_10_UTC, Priority.NORMAL) == MON_10_UTC + timedelta(hours=24)
    assert policy.warn_at(MON_10_UTC, Priority.HIGH) == MON_10_UTC + timedelta(minutes=48)


def test_environment_overrides_each_priority_and_the_warning_share():
    env = {f"{names.ENV_SLA_PREFIX}HIGH": "30s", names.ENV_SLA_WARN_FRACTION: "0.5"}
    policy = SlaPolicy.from_env(env)
    assert policy.due_at(MON_10_UTC, Priority.HIGH) == MON_10_UTC + timedelta(seconds=30)
    assert policy.warn_at(MON_10_UTC, Priority.HIGH) == MON_10_UTC + timedelta(seconds=15)
    assert policy.due_at(MON_10_UTC, Priority.NORMAL) == MON_10_UTC + timedelta(hours=24)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({f"{names.ENV_SLA_PREFIX}MEDIUM": "8 hours"}, "TMS_SLA_MEDIUM"),
        ({names.ENV_SLA_WARN_FRACTION: "1.2"}, "warn fraction"),
        ({names.ENV_SLA_WARN_FRACTION: "most"}, "TMS_SLA_WARN_FRACTION"),
        ({names.ENV_SLA_BUSINESS_HOURS: "9-5"}, "HH:MM-HH:MM"),
        ({names.ENV_SLA_BUSINESS_HOURS: "17:00-09:00"}, "close after it opens"),
        ({names.ENV_SLA_BUSINESS_HOURS: "09:00-17:00", names.ENV_SLA_TIMEZONE: "Mars/Olympus"}, "time zone"),
    ],
)
def test_bad_sla_settings_fail_at_cold_start_with_a_clear_error(env, message):
    with pytest.raises(SlaConfigError, match=message):
        SlaPolicy.from_env(env)


def _lisbon_9_to_5() -> SlaPolicy:
    return SlaPolicy.from_env(
        {
            names.ENV_SLA_BUSINESS_HOURS: "09:00-17:00",
            names.ENV_SLA_TIMEZONE: "Europe/Lisbon",
            f"{names.ENV_SLA_PREFIX}MEDIUM": "8h",
            f"{names.ENV_SLA_PREFIX}HIGH": "1h",
        }
    )


def test_business_hours_stop_the_clock_overnight():
    # Monday 16:30 Lisbon (winter, UTC+0) with 8 h: 30 min on Monday, 7 h 30 on Tuesday -> Tuesday 16:30.
    start = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    assert _lisbon_9_to_5().due_at(start, Priority.MEDIUM) == datetime(2026, 11, 24, 16, 30, tzinfo=UTC)


def test_business_hours_skip_the_weekend():
    # Friday 16:30 with 1 h: 30 min on Friday, 30 min on Monday morning.
    start = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert _lisbon_9_to_5().due_at(start, Priority.HIGH) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def test_a_ticket_submitted_before_opening_starts_counting_at_opening():
    start = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # Tuesday 03:00
    assert _lisbon_9_to_5().due_at(start, Priority.HIGH) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_business_hours_follow_the_zone_across_daylight_saving_time():
    # Lisbon moves to UTC+1 on Sunday 29 March 2026: 09:00 local is 09:00 UTC on Friday, 08:00 UTC on Monday.
    start = datetime(2026, 3, 27, 16, 30, tzinfo=UTC)  # Friday 16:30 local
    assert _lisbon_9_to_5().due_at(start, Priority.HIGH) == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)


def test_a_window_that_spans_the_clock_change_counts_real_elapsed_time():
    # New York springs forward at 02:00 on 8 March 2026 (a Sunday): 00:00-04:00 that day lasts 3 real hours.
    hours = BusinessHours.parse("00:00-04:00", "America/New_York")
    hours = BusinessHours(hours.opens, hours.closes, hours.tz, workdays=frozenset(range(7)))
    start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert hours.add(start, timedelta(hours=3)) == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 04:00 EDT
    # The 4th hour is the next day's first: 9 March 00:00 EDT is 04:00 UTC, +1 h.
    assert hours.add(start, timedelta(hours=4)) == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)


def test_the_warning_share_is_of_working_time_too():
    start = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # Monday 16:30
    # 80 % of 8 h = 6 h 24: 30 min Monday + 5 h 54 Tuesday -> Tuesday 14:54.
    assert _lisbon_9_to_5().warn_at(start, Priority.MEDIUM) == datetime(2026, 11, 24, 14, 54, tzinfo=UTC)


def test_a_priority_change_moves_the_due_time_from_the_submission_not_from_the_change():
    policy = SlaPolicy.from_env({})
    before = policy.arm("TKT-20261123-0123456789", MON_10_UTC, Priority.NORMAL)
    after = policy.arm("TKT-20261123-0123456789", MON_10_UTC, Priority.HIGH)
    assert before.sla_due_at == MON_10_UTC + timedelta(hours=24)
    assert after.sla_due_at == MON_10_UTC + timedelta(hours=1)
    assert after.sla_warn_at == MON_10_UTC + timedelta(minutes=48)


def test_timers_are_scheduled_in_utc_seconds_never_before_they_are_due():
    assert at_expression(datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)) == "at(2026-11-23T10:00:00)"
    assert at_expression(datetime(2026, 11, 23, 10, 0, 0, 1000, tzinfo=UTC)) == "at(2026-11-23T10:00:01)"
    assert parse_at("at(2026-11-23T10:00:01)") == datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC)
    assert parse_at("rate(5 minutes)") is None
