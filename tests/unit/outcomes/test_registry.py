"""Every measure, once, in a stable order; each answers the organisation even with no data,
and none computes a figure of a team outside the caller's reach."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.registry import MEASURES, compute_all
from tests.unit.outcomes.history_builder import capacity, case, data, query, tenancy

KEYS = [
    "tenancy_sustained_3m",
    "tenancy_sustained_6m",
    "tenancy_sustained_12m",
    "arrears_change_to_closure",
    "arrears_change_to_6_months",
    "tenancy_turnover",
    "repeat_presentations",
    "days_to_allocation",
    "days_to_first_contact",
    "days_to_plan",
    "reviews_on_time",
    "stage_1_days",
    "stage_2_days",
    "stage_3_days",
    "move_on_within_12_months",
    "reconnection_held_3m",
    "learning_log_themes",
    "demand_against_capacity",
    "escalations",
]


def test_the_measures_in_order() -> None:
    assert list(MEASURES) == KEYS
    for key, measure in MEASURES.items():
        assert measure.key == key
        assert measure.title and len(measure.definition) > 80


def test_no_data_answers_each_measure_for_the_organisation() -> None:
    results = compute_all(data(), query("2026-01-01", "2026-03-31", "2026-12-31"))
    assert [r.key for r in results] == KEYS
    for result in results:
        [figure] = result.figures
        assert (figure.group, figure.count, figure.value) == ({}, 0, None), result.key


def busy_team_b() -> ReportingData:
    """One of everything, all in team B."""
    return data(
        case(
            "b1",
            team="team-b",
            worker="wb",
            referred="2025-01-05",
            allocated="2025-01-10",
            contact="2025-01-12",
            plan="2025-01-20",
            tenancy="tb1",
            stages=[("stage_2", "2025-03-01")],
            reviews=[("2026-02-01", "2026-02-01")],
            escalated=["2026-02-10"],
            closed="2026-02-20",
            reason="moved_on",
        ),
        case(
            "b2",
            team="team-b",
            worker="wb",
            person="person-b1",
            referred="2026-03-01",
            allocated="2026-03-02",
            route="reconnection",
            destination="Leeds",
            reconnected="2025-10-01",
            followed_up=("2026-01-05", True),
            learning=[("2026-02-01", 1, ["health"])],
        ),
        tenancies=[
            tenancy(
                "tb1",
                readings=[("2025-01-01", 100.0), ("2026-01-01", 50.0)],
                ended=("2026-03-01", "eviction"),
            )
        ],
        capacities=[capacity("wb", ("2025-01-01", "team-b", 30.0))],
    )


def test_a_team_outside_reach_is_never_computed() -> None:
    everything = compute_all(busy_team_b(), query("2026-01-01", "2026-03-31", "2027-04-01"))
    assert sum(r.figures[0].count for r in everything) > 10  # the data is seen when in reach
    for group_by in GroupBy:
        q = query("2026-01-01", "2026-03-31", "2027-04-01", group_by=group_by, teams=["team-a"])
        for result in compute_all(busy_team_b(), q):
            assert all(f.count == 0 for f in result.figures), (result.key, group_by)
            assert all(f.group == {} for f in result.figures), (result.key, group_by)
