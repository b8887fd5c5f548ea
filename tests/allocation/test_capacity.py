"""Demand against capacity: Derby sized its service at about 200 tenants for 24 staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.allocation.capacity import capacity_view
from services.allocation.records import CaseEntry, Caseworker, Team

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def worker(n: int, team: str, open_cases: int, skills: list[str]) -> Caseworker:
    stored = {
        "_id": f"w{n}",
        "organisation": "derby-homes",
        "team_id": team,
        "specialisms": skills,
        "contracted_hours": 18.0,
        "free_hours": 18.0 - 2.0 * open_cases,
        "open_cases": open_cases,
        "max_caseload": 9,
        "active": True,
    }
    return Caseworker.model_validate(stored)


def teams_of(*documents: dict[str, Any]) -> list[Team]:
    return [Team.model_validate({"organisation": "derby-homes", **d}) for d in documents]


def entries(*documents: dict[str, Any]) -> list[CaseEntry]:
    return [CaseEntry.model_validate(d) for d in documents]


def test_derby_sized_service_shows_demand_against_capacity() -> None:
    teams = teams_of(
        *({"_id": f"team-{t}", "name": f"Team {t}", "team_leader_id": f"tl{t}"} for t in range(4))
    )
    skills = [["generalist"], ["mental_health"], ["domestic_abuse"]]
    workers = [worker(n, f"team-{n % 4}", 8, skills[n % 3]) for n in range(24)]  # 192 open
    waiting = entries(
        *(
            {
                "_id": f"c{n}",
                "route": "support",
                "support_needs": ["mental_health"] if n % 2 else [],
                "waiting_since": NOW - timedelta(days=n),
            }
            for n in range(1, 9)  # 8 more waiting: 200 tenants in all
        )
    )
    view = capacity_view("derby-homes", teams, workers, waiting, 2, NOW)
    totals = view["organisation_totals"]
    assert totals["caseworkers"] == 24 and totals["teams"] == 4
    assert totals["contracted_hours"] == 432.0 and totals["hours_committed"] == 384.0
    assert totals["open_cases"] == 192 and totals["waiting"] == 8
    assert totals["longest_wait_days"] == 8.0 and totals["median_wait_days"] == 4.5
    assert totals["waiting_demand_hours"] == 16.0 and totals["hours_short"] == 0.0
    assert totals["caseworkers_short"] == 0 and totals["cases_per_caseworker"] == 8.0
    assert totals["reviews_weighed"] == 2 and totals["utilisation"] == 0.889
    team0 = view["teams"][0]
    assert team0["caseworkers"] == 6 and team0["open_cases"] == 48
    # Each waiting case counts for the one team whose worker it waits for (issue 20): the
    # generalist cases for w0 (team 0), the mental-health cases for w1 (team 1).
    assert [t["waiting"] for t in view["teams"]] == [4, 4, 0, 0]
    assert totals["waiting_without_team"] == 0


def test_shortfall_in_hours_and_caseworkers() -> None:
    teams = teams_of({"_id": "team-0"})
    workers = [worker(0, "team-0", 9, ["generalist"])]  # 0 h free
    waiting = entries(
        *({"_id": f"c{n}", "route": "support", "waiting_since": NOW} for n in range(10))
    )
    totals = capacity_view("org", teams, workers, waiting, 0, NOW)["organisation_totals"]
    assert totals["hours_short"] == 20.0 and totals["caseworkers_short"] == 2
