"""Escalations and their results. Safety-net crisis support: "If the tenancy is breaking down
there needs to be crisis intervention by a worker designated by the team"."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.escalations import ESCALATIONS
from tests.unit.outcomes.history_builder import case, data, query

PERIOD = ("2026-01-01", "2026-03-31", "2026-04-05")


def escalated() -> ReportingData:
    return data(
        case(
            "e1",
            allocated="2025-11-01",
            escalated=["2026-01-10", "2026-02-01"],
            closed="2026-03-01",
            reason="tenancy_sustained",
            outcome="sustained",
        ),
        case(
            "e2",
            allocated="2025-11-01",
            escalated=["2026-02-05"],
            closed="2026-03-15",
            reason="evicted",
            outcome="evicted",
        ),
        case("e3", allocated="2025-11-01", escalated=["2026-03-01"]),
        case(
            "e4",
            allocated="2025-11-01",
            escalated=["2026-01-20"],
            closed="2026-02-01",
            reason="disengaged",
            outcome="unknown",
        ),
        case("e5", allocated="2025-11-01", escalated=["2025-12-01"]),  # before the period
        # Closes after the day the figures are drawn: still open then.
        case("e6", allocated="2025-11-01", escalated=["2026-03-10"], closed="2026-04-10"),
    )


def test_escalations_and_what_became_of_them() -> None:
    [figure] = ESCALATIONS.compute(escalated(), query(*PERIOD))
    assert (figure.count, figure.value) == (5, 5.0)
    assert figure.extra == {
        "escalations": 6,
        "closed_sustained": 1,
        "evicted": 1,
        "closed_other": 1,
        "still_open": 2,
    }


def test_escalations_per_month() -> None:
    figures = ESCALATIONS.compute(escalated(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.count, f.extra["escalations"]) for f in figures] == [
        ({"month": "2026-01"}, 2, 3),
        ({"month": "2026-02"}, 1, 1),
        ({"month": "2026-03"}, 2, 2),
    ]
