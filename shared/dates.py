"""Calendar arithmetic every service's rules share (pure)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (earlier if negative); a day the target
    month lacks falls back to its last day: 31 Jan + 1 -> 28 Feb (29 in a leap year)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
