"""Planned weekly hours as periods: each period listed once."""

from __future__ import annotations

from datetime import date

from services.support.case import HoursPeriodRecord
from services.support.hours_periods import distinct_periods, with_period

OPENED = date(2026, 1, 5)


def period(day: date, hours: float) -> HoursPeriodRecord:
    return HoursPeriodRecord(starts_on=day, hours=hours)


def test_a_stage_change_on_the_opening_day_with_the_same_hours_adds_no_period() -> None:
    """Before: a case opened at 2 hours and stepped down the same day (stage 2 keeps the
    hours: "1-3 hours per week") listed the period from 2026-01-05 at 2 hours twice."""
    assert with_period([period(OPENED, 2.0)], OPENED, 2.0) == [period(OPENED, 2.0)]


def test_a_later_change_on_the_same_day_replaces_that_days_period() -> None:
    periods = with_period([period(OPENED, 2.0)], date(2026, 3, 30), 1.0)
    periods = with_period(periods, date(2026, 3, 30), 0.5)
    assert periods == [period(OPENED, 2.0), period(date(2026, 3, 30), 0.5)]


def test_back_to_the_hours_before_on_the_same_day_leaves_the_earlier_period() -> None:
    periods = with_period([period(OPENED, 2.0)], date(2026, 3, 30), 1.0)
    assert with_period(periods, date(2026, 3, 30), 2.0) == [period(OPENED, 2.0)]


def test_stored_duplicates_are_shown_once_in_date_order() -> None:
    stored = [period(OPENED, 2.0), period(date(2026, 4, 6), 1.0), period(OPENED, 2.0)]
    assert distinct_periods(stored) == [period(OPENED, 2.0), period(date(2026, 4, 6), 1.0)]
