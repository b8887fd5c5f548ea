"""A subject-access request is due one calendar month after receipt (ICO guidance)."""

from __future__ import annotations

from datetime import date

from services.privacy.deadlines import is_overdue, response_due


def test_due_on_the_same_date_next_month() -> None:
    assert response_due(date(2026, 9, 3)) == date(2026, 10, 3)
    assert response_due(date(2026, 12, 15)) == date(2027, 1, 15)


def test_a_date_the_next_month_lacks_falls_to_its_last_day() -> None:
    assert response_due(date(2026, 1, 31)) == date(2026, 2, 28)
    assert response_due(date(2028, 1, 31)) == date(2028, 2, 29)  # leap year
    assert response_due(date(2026, 3, 31)) == date(2026, 4, 30)


def test_overdue_only_after_the_last_day_and_never_once_fulfilled() -> None:
    due = date(2026, 2, 28)
    assert not is_overdue(due, date(2026, 2, 28), fulfilled=False)
    assert is_overdue(due, date(2026, 3, 1), fulfilled=False)
    assert not is_overdue(due, date(2026, 3, 1), fulfilled=True)
