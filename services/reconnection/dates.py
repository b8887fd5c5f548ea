"""The bounds every date from outside must respect, and when scheduled work fires (calendar
months: shared.dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
# Scheduled work (packs, reviews) fires at the start of the working day, UTC.
WORKING_DAY_STARTS = time(9, 0)


def _in_range(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


# A date accepted from a caller: bounded, so later arithmetic can never overflow.
BoundedDate = Annotated[date, AfterValidator(_in_range)]


def at_working_start(day: date) -> datetime:
    return datetime.combine(day, WORKING_DAY_STARTS, tzinfo=UTC)


def days_inclusive(start: date, end: date) -> int:
    return (end - start).days + 1


def day_before(day: date) -> date:
    return day - timedelta(days=1)
