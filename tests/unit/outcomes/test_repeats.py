"""Repeat presentations: people referred again within 12 months of closure (issue 18; the staged
model aims "to prevent homelessness and reduces the cycle of homelessness")."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.repeats import REPEAT_PRESENTATIONS
from tests.unit.outcomes.history_builder import OTHER, case, data, query


def histories() -> ReportingData:
    return data(
        # p1 closed in January, referred again in June: a repeat.
        case("r1", person="p1", allocated="2025-10-01", closed="2026-01-10"),
        case("r1b", person="p1", referred="2026-06-01"),
        # p2 referred again 13 months after closure: not within 12 months.
        case("r2", person="p2", allocated="2025-10-01", closed="2026-02-01"),
        case("r2b", person="p2", referred="2027-03-01"),
        # p3's case closed twice in the quarter: one person, followed from the first closure.
        case("r3", person="p3", allocated="2025-10-01", closed="2026-01-15"),
        case(
            "r3b", person="p3", referred="2026-02-01", allocated="2026-02-02", closed="2026-03-20"
        ),
        # p4 referred again, but to another organisation: not a repeat here.
        case("r4", person="p4", allocated="2025-10-01", closed="2026-03-01"),
        case("r4b", person="p4", referred="2026-05-01", org=OTHER),
        case("r5", person="p5", allocated="2025-10-01", closed="2026-03-10"),
        # p6's case was team B's; the new referral went to team A: still a repeat.
        case("r6", person="p6", allocated="2025-10-01", closed="2026-02-20", team="team-b"),
        case("r6b", person="p6", referred="2026-04-01", allocated="2026-04-02"),
    )


def test_people_referred_again_within_12_months() -> None:
    """Six people closed in the quarter; p1, p3 and p6 came back within 12 months."""
    [figure] = REPEAT_PRESENTATIONS.compute(
        histories(), query("2026-01-01", "2026-03-31", "2027-04-15")
    )
    assert (figure.numerator, figure.count, figure.value) == (3, 6, 50.0)
    assert figure.extra == {"not_yet_due": 0}


def test_people_whose_12_months_are_not_up_are_not_counted_yet() -> None:
    """By 15 February 2027 the 12 months are up for p1, p3 and p2 only."""
    [figure] = REPEAT_PRESENTATIONS.compute(
        histories(), query("2026-01-01", "2026-03-31", "2027-02-15")
    )
    assert (figure.numerator, figure.count, figure.value) == (2, 3, 66.7)
    assert figure.extra == {"not_yet_due": 3}


def test_by_month_of_closure() -> None:
    """p3 closed in January and again in March: in March, no new referral followed."""
    figures = REPEAT_PRESENTATIONS.compute(
        histories(), query("2026-01-01", "2026-03-31", "2027-04-15", group_by=GroupBy.MONTH)
    )
    assert [(f.group, f.numerator, f.count) for f in figures] == [
        ({"month": "2026-01"}, 2, 2),
        ({"month": "2026-02"}, 1, 2),
        ({"month": "2026-03"}, 0, 3),
    ]


def test_by_team_outside_reach() -> None:
    figures = REPEAT_PRESENTATIONS.compute(
        histories(),
        query("2026-01-01", "2026-03-31", "2027-04-15", group_by=GroupBy.TEAM, teams=["team-b"]),
    )
    assert [(f.group, f.numerator, f.count) for f in figures] == [({"team_id": "team-b"}, 1, 1)]
