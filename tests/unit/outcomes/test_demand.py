"""Demand against capacity over time: the open cases' target hours against the caseworkers'
hours, with the referrals waiting. The staged model: "1-3 hours per week" in Stages 1 and 2."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.demand import DEMAND_AGAINST_CAPACITY
from tests.unit.outcomes.history_builder import capacity, case, data, query

PERIOD = ("2026-01-01", "2026-03-31", "2026-04-30")


def service() -> ReportingData:
    return data(
        case("d1", allocated="2025-12-10", worker="w1", hours=3.0),
        case("d2", allocated="2026-01-05", worker="w2", hours=2.0, closed="2026-02-20"),
        case("d3", allocated="2026-01-20", worker="w3", team="team-b", hours=1.0),
        # Waiting for a caseworker from 1 February.
        case("d4", referred="2026-02-01"),
        # Waited from 10 January to 5 March.
        case("d5", referred="2026-01-10", allocated="2026-03-05", worker="w1", hours=3.0),
        # Declined at assessment: not waiting.
        case("d6", referred="2026-01-10", route="declined"),
        capacities=[
            capacity("w1", ("2025-12-01", "team-a", 30.0)),
            capacity("w2", ("2025-12-01", "team-a", 20.0), ("2026-02-15", "team-a", 20.0, False)),
            capacity("w3", ("2026-01-01", "team-b", 10.0)),
        ],
    )


def test_on_the_period_s_last_day() -> None:
    """31 March: d1, d3 and d5 open, 7 hours a week asked of 40 (w2 has left)."""
    [figure] = DEMAND_AGAINST_CAPACITY.compute(service(), query(*PERIOD))
    assert (figure.count, figure.value) == (3, 17.5)
    assert figure.extra == {
        "day": "2026-03-31",
        "demand_hours": 7.0,
        "capacity_hours": 40.0,
        "waiting": 1,
    }


def test_month_by_month() -> None:
    figures = DEMAND_AGAINST_CAPACITY.compute(service(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [
        (
            f.group,
            f.count,
            f.value,
            f.extra["demand_hours"],
            f.extra["capacity_hours"],
            f.extra["waiting"],
        )
        for f in figures
    ] == [
        ({"month": "2026-01"}, 3, 10.0, 6.0, 60.0, 1),
        ({"month": "2026-02"}, 2, 10.0, 4.0, 40.0, 2),
        ({"month": "2026-03"}, 3, 17.5, 7.0, 40.0, 1),
    ]


def test_by_team_and_by_caseworker() -> None:
    teams = DEMAND_AGAINST_CAPACITY.compute(service(), query(*PERIOD, group_by=GroupBy.TEAM))
    assert [(f.group, f.count, f.value, f.extra["waiting"]) for f in teams] == [
        ({"team_id": "team-a"}, 2, 20.0, None),
        ({"team_id": "team-b"}, 1, 10.0, None),
    ]
    workers = DEMAND_AGAINST_CAPACITY.compute(
        service(), query(*PERIOD, group_by=GroupBy.CASEWORKER)
    )
    assert [(f.group, f.count, f.value) for f in workers] == [
        ({"caseworker_id": "w1"}, 2, 20.0),
        ({"caseworker_id": "w3"}, 1, 10.0),
    ]


def test_only_the_teams_in_reach() -> None:
    """Team B's manager sees team B's cases and hours; waiting referrals have no team yet."""
    [figure] = DEMAND_AGAINST_CAPACITY.compute(service(), query(*PERIOD, teams=["team-b"]))
    assert (
        figure.count,
        figure.value,
        figure.extra["capacity_hours"],
        figure.extra["waiting"],
    ) == (
        1,
        10.0,
        10.0,
        0,
    )
    by_team = DEMAND_AGAINST_CAPACITY.compute(
        service(), query(*PERIOD, group_by=GroupBy.TEAM, teams=["team-b"])
    )
    assert [f.group for f in by_team] == [{"team_id": "team-b"}]


def test_capacity_has_no_route() -> None:
    assert DEMAND_AGAINST_CAPACITY.compute(service(), query(*PERIOD, group_by=GroupBy.ROUTE)) == []
