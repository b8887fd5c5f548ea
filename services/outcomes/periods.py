"""The periods the outcomes API is asked about: a from-to period, a month (`2026-10`) and a
quarter (`2026-Q3`). Pure; every error is a `PeriodError` whose message names the field.

Quarters are H-CLIC's: of the financial year that starts on 1 April, named by that year
(`2026-Q1` = April to June 2026, `2026-Q3` = October to December 2026, `2026-Q4` = January to
March 2027). A period is at most five years, so one request cannot ask for everything ever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MAX_YEARS = 5
# Hearth's records are of this century: a day outside is a slip, and one at the calendar's
# edge (0001-01-01) would overflow the months counted back from it.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period that cannot be answered; the message is "field: why"."""


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


def in_range(day: date | None, field: str) -> date | None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise PeriodError(f"{field}: must be between {EARLIEST} and {LATEST}")
    return day


def period(start: date | None, end: date | None, today: date) -> Period:
    """`from`/`to` as asked, both inclusive: by default the twelve months to `to` (itself
    today by default), from the first of the month eleven months before."""
    in_range(start, "from")
    in_range(end, "to")
    end = end or today
    start = start or add_months(end, -11)
    if start > end:
        raise PeriodError("from: must not be after to")
    if end > _years_after(start, MAX_YEARS):
        raise PeriodError(f"to: a period is at most {MAX_YEARS} years")
    return Period(start, end)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def month(text: str, today: date, field: str = "month") -> Period:
    """A month, `YYYY-MM`, that has begun by `today`."""
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise PeriodError(f"{field}: must be a month as YYYY-MM, e.g. 2026-10")
    first = date(max(int(match[1]), 1), int(match[2]), 1)
    in_range(first, field)
    if first > today:
        raise PeriodError(f"{field}: {text} has not begun")
    return Period(first, month_end(first))


def quarter(text: str, today: date, field: str = "quarter") -> Period:
    """A quarter of the financial year starting in April of `YYYY`, `YYYY-Qn`, that has
    begun by `today`."""
    match = _QUARTER.match(text)
    if match is None:
        raise PeriodError(f"{field}: must be a quarter as YYYY-Qn, e.g. 2026-Q3")
    year = int(match[1])
    in_range(date(max(year, 1), 4, 1), field)
    first = add_months(date(year, 4, 1), 3 * (int(match[2]) - 1))
    if first > today:
        raise PeriodError(f"{field}: {text} has not begun")
    return Period(first, month_end(add_months(first, 2)))


def twelve_months_to(last: Period) -> Period:
    """The twelve months ending with the month `last`."""
    return Period(add_months(last.start, -11), last.end)
