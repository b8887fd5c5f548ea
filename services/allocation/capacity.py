"""Demand against capacity, per team and for the organisation: pure, from the stored models.

Each waiting case counts for one team, the one whose worker the waiting list has it waiting
for (waiting_list.team_of), so the teams' counts and those of no team add up to the list."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from services.allocation.records import CaseEntry, Caseworker, Team, case_to_place, worker_view
from services.allocation.waiting_list import waiting_by_team


def wait_stats(entries: Iterable[CaseEntry], now: datetime) -> dict[str, Any]:
    counted = list(entries)  # every waiting case, as the list counts them
    days = [(now - e.waiting_since).total_seconds() / 86400 for e in counted if e.waiting_since]
    return {
        "waiting": len(counted),
        "longest_wait_days": round(max(days), 1) if days else 0.0,
        "median_wait_days": round(statistics.median(days), 1) if days else 0.0,
    }


def _workers_summary(workers: list[Caseworker], today: date) -> dict[str, Any]:
    contracted = sum(w.contracted_hours for w in workers)
    free = sum(w.free_hours for w in workers)
    active = [w for w in workers if w.active]
    return {
        "caseworkers": len(active),
        "on_leave_today": sum(1 for w in active if worker_view(w).on_leave(today)),
        "contracted_hours": round(contracted, 2),
        "hours_committed": round(contracted - free, 2),
        "hours_free": round(free, 2),
        "open_cases": sum(w.open_cases for w in workers),
        "maximum_caseload": sum(w.max_caseload for w in active),
        "utilisation": round((contracted - free) / contracted, 3) if contracted else 0.0,
    }


def capacity_view(
    organisation: str,
    teams: list[Team],
    workers: list[Caseworker],
    waiting: list[CaseEntry],
    reviews_waiting: int,
    now: datetime,
) -> dict[str, Any]:
    today = now.date()
    counted_for = waiting_by_team(waiting, workers, now)
    team_rows = []
    for team in teams:
        members = [w for w in workers if w.team_id == team.team_id]
        # The waiting cases this team's workers are placing, kept for or held behind.
        matching = [e for e in waiting if counted_for.get(e.case_id) == team.team_id]
        team_rows.append(
            {
                "team_id": team.team_id,
                "name": team.name,
                "team_leader_id": team.team_leader_id,
                **_workers_summary(members, today),
                **wait_stats(matching, now),
            }
        )
    totals = _workers_summary(workers, today)
    demand = sum(case_to_place(e).hours for e in waiting)
    shortfall = max(0.0, demand - totals["hours_free"])
    active = [w for w in workers if w.active]
    mean_contract = sum(w.contracted_hours for w in active) / len(active) if active else 0.0
    return {
        "organisation": organisation,
        "generated_at": now,
        "teams": team_rows,
        "organisation_totals": {
            **totals,
            "teams": len(teams),
            **wait_stats(waiting, now),
            # Waiting cases no team's worker could take (no such specialism, all on leave).
            "waiting_without_team": sum(1 for e in waiting if counted_for.get(e.case_id) is None),
            "reviews_weighed": reviews_waiting,
            "waiting_demand_hours": round(demand, 2),
            "hours_short": round(shortfall, 2),
            # How many more caseworkers on the average contract would clear the waiting list.
            "caseworkers_short": math.ceil(shortfall / mean_contract) if mean_contract else None,
            "cases_per_caseworker": round(totals["open_cases"] / len(active), 2)
            if active
            else None,
        },
    }
