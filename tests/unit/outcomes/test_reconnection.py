"""Reconnections still holding at three months, by destination area, and the learning log's
themes. Safe Connections, Tool 4: "(Client still in accommodation and engaged after 3
months)"; Step 1: "Is client at 3 months post reconnection point?"."""

from __future__ import annotations

from typing import Any

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.reconnection import LEARNING_LOG_THEMES, RECONNECTION_HELD_3M
from tests.unit.outcomes.history_builder import case, data, query

PERIOD = ("2026-01-01", "2026-03-31", "2026-04-30")


def reconnections() -> ReportingData:
    def reconnection(case_id: str, area: str, on: str, **kw: Any) -> CaseHistory:
        return case(
            case_id,
            route="reconnection",
            allocated="2025-10-01",
            destination=area,
            reconnected=on,
            **kw,
        )

    return data(
        reconnection(
            "rc1",
            "Leeds",
            "2025-11-01",
            followed_up=("2026-02-01", True),
            learning=[
                ("2026-01-20", 3, ["destination_authority", "accommodation"]),
                ("2026-02-05", 1, ["accommodation"]),
            ],
        ),
        reconnection(
            "rc2", "Leeds", "2025-11-15", followed_up=("2026-02-15", False), returned=True
        ),
        reconnection(
            "rc3",
            "Manchester",
            "2025-12-01",
            followed_up=("2026-03-01", True),
            learning=[("2026-03-10", 2, ["health"])],
        ),
        # Three months up on 20 March, not followed up yet: awaiting, not counted.
        reconnection("rc4", "Manchester", "2025-12-20"),
        reconnection("rc5", "Leeds", "2026-01-10", followed_up=("2026-04-10", True)),
        # A learning-log entry tied to no case.
        case("entry-9", referred=None, learning=[("2026-02-20", 2, ["travel_and_budget"])]),
    )


def test_still_holding_at_three_months() -> None:
    [figure] = RECONNECTION_HELD_3M.compute(reconnections(), query(*PERIOD))
    assert (figure.numerator, figure.count, figure.value) == (2, 3, 66.7)
    assert figure.extra == {"returned_to_rough_sleeping": 1, "awaiting_follow_up": 1}


def test_by_destination_area() -> None:
    figures = RECONNECTION_HELD_3M.compute(
        reconnections(), query(*PERIOD, group_by=GroupBy.DESTINATION)
    )
    assert [(f.group, f.numerator, f.count, f.value, f.extra) for f in figures] == [
        (
            {"destination_area": "Leeds"},
            1,
            2,
            50.0,
            {"returned_to_rough_sleeping": 1, "awaiting_follow_up": 0},
        ),
        (
            {"destination_area": "Manchester"},
            1,
            1,
            100.0,
            {"returned_to_rough_sleeping": 0, "awaiting_follow_up": 1},
        ),
    ]


def test_by_month_of_follow_up() -> None:
    figures = RECONNECTION_HELD_3M.compute(reconnections(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.numerator, f.count) for f in figures] == [
        ({"month": "2026-02"}, 1, 2),
        ({"month": "2026-03"}, 1, 1),
    ]


def test_learning_log_themes() -> None:
    """Step 11's learning, counted by theme: four entries in the quarter."""
    [figure] = LEARNING_LOG_THEMES.compute(reconnections(), query(*PERIOD))
    assert (figure.count, figure.value) == (4, 4.0)
    assert {k: v for k, v in figure.extra.items() if v} == {
        "points": 8,
        "destination_authority": 1,
        "accommodation": 2,
        "health": 1,
        "travel_and_budget": 1,
    }
    assert figure.extra["safety"] == 0


def test_learning_entries_with_no_case_are_the_organisation_s_only() -> None:
    [team] = LEARNING_LOG_THEMES.compute(reconnections(), query(*PERIOD, group_by=GroupBy.TEAM))
    assert (team.group, team.count, team.extra["travel_and_budget"]) == (
        {"team_id": "team-a"},
        3,
        0,
    )
