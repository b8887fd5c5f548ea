"""The local-connection test of Tool 3: 6 of the last 12 months or 3 of the last 5 years,
employment, close family and special circumstances; never the referring area."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from services.reconnection.local_connection import (
    GroundKind,
    LocalConnectionEvidence,
    assess_local_connection,
    days_within,
    merged,
    required_days,
    window,
)

TODAY = date(2026, 7, 1)


def lived(*periods: tuple[str, str, str | None]) -> LocalConnectionEvidence:
    return LocalConnectionEvidence.model_validate(
        {"residence": [{"area": a, "start": s, "end": e} for a, s, e in periods]}
    )


def grounds(evidence: LocalConnectionEvidence, referring: list[str] | None = None) -> dict:
    result = assess_local_connection(evidence, TODAY, referring or [])
    return {c.area: sorted(g.kind.value for g in c.grounds) for c in result.candidates}


def test_window_is_the_last_twelve_months_both_ends_included() -> None:
    assert window(TODAY, 12) == (date(2025, 7, 2), TODAY)
    assert window(date(2024, 2, 29), 12) == (date(2023, 3, 1), date(2024, 2, 29))
    assert window(TODAY, 60) == (date(2021, 7, 2), TODAY)
    assert required_days(*window(TODAY, 12), share=Fraction(1, 2)) == 183
    assert required_days(*window(date(2024, 7, 1), 12), share=Fraction(1, 2)) == 183  # 366 days


@pytest.mark.parametrize(
    ("start", "end", "connected"),
    [
        ("2026-01-01", None, False),  # 182 days to 1 Jul: half of 365 rounded up is 183
        ("2025-12-31", None, True),  # 183 days: exactly half the 365-day window
        ("2026-01-02", None, False),  # 181 days
        ("2025-01-01", "2025-12-31", True),  # ended: 183 days inside the window
        ("2025-01-01", "2025-12-30", False),  # 182 days inside the window
        ("2020-01-01", "2025-07-01", False),  # ends the day before the window opens
    ],
)
def test_six_of_the_last_twelve_months_at_the_edges(start, end, connected) -> None:
    result = grounds(lived(("Leeds", start, end)))
    assert ("residence_6_of_12_months" in result.get("Leeds", [])) is connected


def test_three_of_the_last_five_years_with_a_gap() -> None:
    evidence = lived(
        ("Leeds", "2021-07-02", "2023-07-01"),  # 730 days
        ("Leeds", "2024-07-01", "2025-07-01"),  # 366 days, after a year elsewhere
        ("Bristol", "2023-07-02", "2024-06-30"),
    )
    result = assess_local_connection(evidence, TODAY, [])
    leeds = next(c for c in result.candidates if c.area == "Leeds")
    kinds = {g.kind: g.days for g in leeds.grounds}
    assert kinds == {GroundKind.RESIDENCE_3_OF_5_YEARS: 1096}  # needs ceil(1826 * 3/5) = 1096
    assert "Bristol" not in {c.area for c in result.candidates}


def test_one_day_short_of_three_years_is_not_enough() -> None:
    evidence = lived(("Leeds", "2021-07-02", "2023-07-01"), ("Leeds", "2024-07-02", "2025-07-01"))
    assert grounds(evidence) == {}


def test_overlapping_periods_in_one_area_count_each_day_once() -> None:
    evidence = lived(("York", "2026-01-01", "2026-05-31"), ("york ", "2026-03-01", "2026-06-30"))
    result = assess_local_connection(evidence, TODAY, [])
    assert result.candidates == []  # 181 days, not 151 + 122
    assert (
        days_within(
            [(date(2026, 1, 1), date(2026, 5, 31)), (date(2026, 3, 1), date(2026, 6, 30))],
            date(2025, 7, 2),
            TODAY,
        )
        == 181
    )


def test_touching_periods_join_and_overlaps_between_areas_are_reported() -> None:
    assert merged(
        [(date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 1), date(2026, 1, 31))]
    ) == [(date(2026, 1, 1), date(2026, 2, 28))]
    evidence = lived(("Leeds", "2025-01-01", None), ("Bradford", "2026-06-01", "2026-06-10"))
    result = assess_local_connection(evidence, TODAY, [])
    assert any("overlaps from 2026-06-01 to 2026-06-10" in n for n in result.notes)


def test_future_periods_are_ignored_and_open_periods_end_today() -> None:
    evidence = lived(("Leeds", "2026-08-01", None), ("Hull", "2020-01-01", None))
    result = assess_local_connection(evidence, TODAY, [])
    assert [c.area for c in result.candidates] == ["Hull"]
    assert any("after the assessment date" in n for n in result.notes)


def test_end_before_start_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="end"):
        lived(("Leeds", "2026-01-02", "2026-01-01"))


def test_employment_family_and_special_circumstances() -> None:
    evidence = LocalConnectionEvidence.model_validate(
        {
            "employment": [
                {"area": "Sheffield", "employer": "warehouse", "start": "2026-01-01"},
                {"area": "Derby", "start": "2020-01-01", "end": "2026-06-30"},  # ended
            ],
            "family": [
                {"area": "Hull", "relationship": "Sister", "years_in_area": 12},
                {"area": "Wakefield", "relationship": "mother", "years_in_area": 2},  # < 5 years
                {"area": "Bolton", "relationship": "cousin"},  # not close family
                {"area": "Bury", "relationship": "father"},  # length unconfirmed: counts, noted
            ],
            "special_circumstances": [{"area": "Preston", "description": "treatment programme"}],
        }
    )
    result = assess_local_connection(evidence, TODAY, [])
    assert {c.area: [g.kind.value for g in c.grounds] for c in result.candidates} == {
        "Bury": ["family"],
        "Hull": ["family"],
        "Preston": ["special_circumstances"],
        "Sheffield": ["employment"],
    }
    assert len(result.notes) == 3
    assert "unconfirmed" in next(c for c in result.candidates if c.area == "Bury").grounds[0].detail


def test_the_referring_area_is_never_a_destination() -> None:
    evidence = lived(("Hackney", "2015-01-01", None), ("Leeds", "2010-01-01", "2014-12-31"))
    result = assess_local_connection(evidence, TODAY, [" HACKNEY"])
    assert result.candidates == []
    assert result.excluded[0].area == "Hackney" and result.excluded[0].grounds


def test_candidates_are_ordered_by_residence_then_grounds() -> None:
    evidence = LocalConnectionEvidence.model_validate(
        {
            "residence": [
                {"area": "Leeds", "start": "2025-12-01", "end": None},
                {"area": "Hull", "start": "2019-01-01", "end": "2025-11-30"},
            ],
            "family": [{"area": "Derby", "relationship": "brother", "years_in_area": 9}],
        }
    )
    result = assess_local_connection(evidence, TODAY, [])
    assert [c.area for c in result.candidates] == ["Hull", "Leeds", "Derby"]
    # Hull: 152 days of the last 12 months (not enough), but over 3 of the last 5 years.
    assert {g.kind for g in result.candidates[0].grounds} == {GroundKind.RESIDENCE_3_OF_5_YEARS}
    assert {g.kind for g in result.candidates[1].grounds} == {GroundKind.RESIDENCE_6_OF_12_MONTHS}
