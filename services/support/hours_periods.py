"""The periods of planned weekly hours a case has had (pure).

A case opens with one period and each stage change starts another from its day. A period is a
change of hours from a day on, so a change on the day a period began replaces it (the later
decision stands), and a change that keeps the hours starts none. Otherwise a case opened and
stepped down on the same day listed the same period twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.support.case import HoursPeriodRecord


def distinct_periods(periods: Iterable[HoursPeriodRecord]) -> list[HoursPeriodRecord]:
    """The periods in date order, one per day (the last given for it), each a change of hours."""
    by_day: dict[date, HoursPeriodRecord] = {}
    for period in periods:  # in the order they were recorded: a later one replaces
        by_day[period.starts_on] = period
    result: list[HoursPeriodRecord] = []
    for day in sorted(by_day):
        period = by_day[day]
        if not result or result[-1].hours != period.hours:
            result.append(period)
    return result


def with_period(
    periods: Iterable[HoursPeriodRecord], starts_on: date, hours: float
) -> list[HoursPeriodRecord]:
    """The periods after the planned hours become `hours` from `starts_on` on."""
    return distinct_periods([*periods, HoursPeriodRecord(starts_on=starts_on, hours=hours)])
