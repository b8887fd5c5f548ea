"""The day a follow-up falls due: the same day N months on, or the month's last day."""

from __future__ import annotations

from datetime import date

from services.outcomes.measures.dates import last_day_of_month, month_label, months_after


def test_months_after_keeps_the_day_or_takes_the_month_s_last() -> None:
    assert months_after(date(2026, 1, 10), 3) == date(2026, 4, 10)
    assert months_after(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert months_after(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert months_after(date(2026, 3, 31), -12) == date(2025, 3, 31)
    assert months_after(date(2026, 11, 15), 12) == date(2027, 11, 15)


def test_month_label_and_last_day() -> None:
    assert month_label(date(2026, 2, 14)) == "2026-02"
    assert last_day_of_month(date(2028, 2, 1)) == date(2028, 2, 29)
