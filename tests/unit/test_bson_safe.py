"""What a repository stores for a model: the same on MongoDB and FerretDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from shared.codes import Stage
from shared.repository import bson_safe


def test_dates_become_iso_strings_and_datetimes_stay_datetimes() -> None:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    stored = bson_safe(
        {
            "on": date(2026, 11, 30),
            "at": at,
            "stage": Stage.STAGE_2,
            "hours": Decimal("2.5"),
            "needs": ("a", "b"),
            "nested": [{"due": date(2027, 2, 22)}],
        }
    )
    assert stored == {
        "on": "2026-11-30",
        "at": at,
        "stage": Stage.STAGE_2.value,
        "hours": 2.5,
        "needs": ["a", "b"],
        "nested": [{"due": "2027-02-22"}],
    }
