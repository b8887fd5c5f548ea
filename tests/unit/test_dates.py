"""Calendar months as the reviews, the support limit and the closure checklist count them."""

from __future__ import annotations

from datetime import date

import pytest

from shared.dates import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # a day the month lacks: its last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 3, 10), 3, date(2026, 6, 10)),  # reconnection + 3 months: closure point
        (date(2026, 11, 30), 2, date(2027, 1, 30)),  # across the year end
        (date(2026, 1, 5), 24, date(2028, 1, 5)),  # the two-year support limit
        (date(2026, 5, 20), 0, date(2026, 5, 20)),
    ],
)
def test_adds_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 31), -2, date(2025, 11, 30)),  # back across the year start
        (date(2026, 6, 1), -12, date(2025, 6, 1)),  # local connection's look-back window
    ],
)
def test_negative_months_count_back(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_month_end_is_not_carried_forward() -> None:
    # 31 Jan + 1 is 28 Feb, and 28 Feb + 1 is 28 Mar: each step clamps from the day it is given.
    assert add_months(add_months(date(2026, 1, 31), 1), 1) == date(2026, 3, 28)
    assert add_months(date(2026, 1, 31), 2) == date(2026, 3, 31)
