"""Calendar arithmetic the review and limit rules share (pure)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def start_of_day(day: date) -> datetime:
    """Timers for a date fire at the start of that day, UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def week_bounds(today: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding `today`."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def parse(day: str | None) -> date | None:
    return date.fromisoformat(day) if day else None
