"""Rent arrears at referral, at closure and six months after closure, and the change (issue 18).
Derby Homes: "the service quickly proved itself when one person's rent arrears fell by
£1500"."""

from __future__ import annotations

from services.outcomes.measures.arrears import (
    ARREARS_CHANGE_TO_6_MONTHS,
    ARREARS_CHANGE_TO_CLOSURE,
)
from services.outcomes.measures.base import GroupBy, ReportingData
from tests.unit.outcomes.history_builder import OTHER, case, data, query, tenancy

PERIOD = ("2026-01-01", "2026-03-31", "2026-09-20")


def histories() -> ReportingData:
    return data(
        case(
            "a1", referred="2025-09-01", allocated="2025-09-05", tenancy="ta1", closed="2026-01-31"
        ),
        case(
            "a2",
            referred="2025-10-01",
            allocated="2025-10-05",
            tenancy="ta2",
            closed="2026-02-10",
            team="team-b",
        ),
        case(
            "a3", referred="2025-11-01", allocated="2025-11-05", tenancy="ta3", closed="2026-03-05"
        ),
        case(
            "a4", referred="2025-11-01", allocated="2025-11-05", tenancy="ta4", closed="2026-03-05"
        ),
        case(
            "a5", referred="2025-12-01", allocated="2025-12-05", tenancy="ta5", closed="2026-03-25"
        ),
        case(
            "a6", referred="2025-10-01", allocated="2025-10-05", tenancy="ta6", closed="2026-03-05"
        ),
        tenancies=[
            tenancy(
                "ta1",
                readings=[
                    ("2025-08-20", 1500.0),
                    ("2025-12-01", 600.0),
                    ("2026-01-20", 400.0),
                    ("2026-06-15", 0.0),
                ],
            ),
            tenancy(
                "ta2",
                readings=[("2025-09-25", 800.0), ("2026-02-01", 900.0), ("2026-05-01", 1000.0)],
            ),
            tenancy("ta3", readings=[("2025-10-30", 300.0), ("2026-03-01", 100.0)]),
            # Another landlord's tenancy, not shared for a4: its figures are not used.
            tenancy("ta4", landlord=OTHER, readings=[("2025-10-30", 5000.0), ("2026-03-01", 0.0)]),
            # Another landlord's tenancy, shared for a5.
            tenancy(
                "ta5",
                landlord=OTHER,
                cases=["a5"],
                readings=[("2025-12-01", 200.0), ("2026-03-20", 50.0)],
            ),
            # No balance by the day of referral: a6 is not measured.
            tenancy("ta6", readings=[("2025-11-01", 700.0), ("2026-03-01", 0.0)]),
        ],
    )


def test_referral_to_closure() -> None:
    """a1 -£1,100, a2 +£100, a3 -£200, a5 -£150 (shared by its landlord); a4's landlord did
    not share its figures and a6 had none by referral."""
    [figure] = ARREARS_CHANGE_TO_CLOSURE.compute(histories(), query(*PERIOD))
    assert (figure.count, figure.value, figure.numerator) == (4, -175.0, None)
    assert figure.extra == {
        "median_at_referral": 550.0,
        "mean_at_referral": 700.0,
        "median_at_closure": 250.0,
        "mean_at_closure": 362.5,
        "median_change": -175.0,
        "mean_change": -337.5,
        "fell": 3,
    }


def test_referral_to_six_months_on() -> None:
    """a1's arrears fell by £1,500 by six months on (31 July); a2 rose £200; a3 fell £200.
    a5's six months (25 September) are not up by 20 September: not counted."""
    [figure] = ARREARS_CHANGE_TO_6_MONTHS.compute(histories(), query(*PERIOD))
    assert (figure.count, figure.value) == (3, -200.0)
    assert figure.extra == {
        "median_at_referral": 800.0,
        "mean_at_referral": 866.67,
        "median_at_closure": 400.0,
        "mean_at_closure": 466.67,
        "median_6_months_on": 100.0,
        "mean_6_months_on": 366.67,
        "median_change": -200.0,
        "mean_change": -500.0,
        "fell": 2,
    }


def test_by_month_of_closure() -> None:
    figures = ARREARS_CHANGE_TO_CLOSURE.compute(histories(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.count, f.value) for f in figures] == [
        ({"month": "2026-01"}, 1, -1100.0),
        ({"month": "2026-02"}, 1, 100.0),
        ({"month": "2026-03"}, 2, -175.0),
    ]


def test_a_team_outside_reach_is_left_out() -> None:
    [figure] = ARREARS_CHANGE_TO_CLOSURE.compute(histories(), query(*PERIOD, teams=["team-a"]))
    assert (figure.count, figure.value) == (3, -200.0)


def test_no_cases_answers_the_organisation_with_nothing_to_measure() -> None:
    [figure] = ARREARS_CHANGE_TO_6_MONTHS.compute(data(), query(*PERIOD))
    assert (figure.group, figure.count, figure.value, figure.extra["fell"]) == ({}, 0, None, 0)
