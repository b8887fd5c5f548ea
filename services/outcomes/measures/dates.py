"""Calendar arithmetic the measures share: a day N months on, a month's label and last day."""

from __future__ import annotations

import calendar
from datetime import date


def months_after(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 August + 6
    months = 28 or 29 February): the day a follow-up falls due."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_day_of_month(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def within(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end
