"""Day helpers of the review and limit rules (pure; calendar months: shared.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


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
