"""Demand against capacity over time (issue 18): the weekly hours the open cases are meant to
get (each case's target hours for its stage) against the weekly hours the caseworkers have for
casework (`CaseworkerCapacity.hours_on`), with the referrals waiting for a caseworker beside
them. The staged model sets the hours: "1-3 hours per week" in Stages 1 and 2, "Up to ½ hr -3
hours per week" in Stage 3.

The figure is taken on one day: the period's last day, or each month's last day by month.
Capacity belongs to teams and caseworkers, not routes or destinations: grouped by those, the
measure answers nothing.
"""

from __future__ import annotations

from datetime import date

from services.outcomes.histories import CaseHistory, CaseworkerCapacity
from services.outcomes.measures.base import (
    Figure,
    GroupBy,
    Measure,
    MeasureQuery,
    ReportingData,
    Unit,
    in_reach,
    months,
)
from services.outcomes.measures.dates import last_day_of_month, month_label
from shared.codes import Route

ALLOCATED_ROUTES = frozenset({Route.SUPPORT, Route.RECONNECTION})


def waiting_on(case: CaseHistory, day: date) -> bool:
    """Assessed for support or reconnection by `day`, not yet allocated nor closed."""
    return (
        case.assessed_at is not None
        and case.assessed_at.date() <= day
        and case.route in ALLOCATED_ROUTES
        and (case.allocated_at is None or case.allocated_at.date() > day)
        and (case.closed_on is None or case.closed_on > day)
    )


def _figure(
    group: dict[str, str],
    open_cases: list[CaseHistory],
    hours: float,
    waiting: int | None,
    day: date,
) -> Figure:
    demand = round(sum(case.target_hours_per_week or 0.0 for case in open_cases), 2)
    value = round(100.0 * demand / hours, 1) if hours else None
    extra: dict[str, float | int | str | None] = {
        "day": day.isoformat(),
        "demand_hours": demand,
        "capacity_hours": round(hours, 2),
        "waiting": waiting,
    }
    return Figure(group, value, len(open_cases), extra=extra)


def _capacity(capacity: CaseworkerCapacity, day: date, query: MeasureQuery) -> float:
    if capacity.organisation not in (None, query.organisation):
        return 0.0
    if query.teams is None:
        return capacity.hours_on(day)
    return sum(capacity.hours_on(day, team) for team in query.teams)


def _organisation(
    data: ReportingData, query: MeasureQuery, day: date, group: dict[str, str]
) -> tuple[Figure, int]:
    """The whole organisation (the caller's teams of it) on `day`, and the referrals waiting."""
    cases = [case for case in data.cases if in_reach(case, query)]
    open_cases = [case for case in cases if case.open_on(day)]
    waiting = sum(1 for case in cases if waiting_on(case, day))
    hours = sum(_capacity(capacity, day, query) for capacity in data.capacities)
    return _figure(group, open_cases, hours, waiting, day), waiting


def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)
    if query.group_by is GroupBy.ORGANISATION:
        figure, _ = _organisation(data, query, last, {})
        return [figure]
    if query.group_by is GroupBy.MONTH:
        out = []
        for first in months(query.start, last):
            group = {"month": month_label(first)}
            figure, waiting = _organisation(data, query, min(last_day_of_month(first), last), group)
            if figure.count or waiting:
                out.append(figure)
        return out
    if query.group_by is GroupBy.TEAM:
        return _by_team(data, query, last)
    if query.group_by is GroupBy.CASEWORKER:
        return _by_caseworker(data, query, last)
    return []


def _by_team(data: ReportingData, query: MeasureQuery, day: date) -> list[Figure]:
    open_by_team: dict[str, list[CaseHistory]] = {}
    for case in data.cases:
        if in_reach(case, query) and case.team_id is not None and case.open_on(day):
            open_by_team.setdefault(case.team_id, []).append(case)
    out = []
    for team, cases in sorted(open_by_team.items()):
        hours = sum(
            c.hours_on(day, team)
            for c in data.capacities
            if c.organisation in (None, query.organisation)
        )
        out.append(_figure({"team_id": team}, cases, hours, None, day))
    return out


def _by_caseworker(data: ReportingData, query: MeasureQuery, day: date) -> list[Figure]:
    open_by_worker: dict[str, list[CaseHistory]] = {}
    for case in data.cases:
        if in_reach(case, query) and case.lead_worker_id is not None and case.open_on(day):
            open_by_worker.setdefault(case.lead_worker_id, []).append(case)
    hours = {c.caseworker_id: _capacity(c, day, query) for c in data.capacities}
    return [
        _figure({"caseworker_id": worker}, cases, hours.get(worker, 0.0), None, day)
        for worker, cases in sorted(open_by_worker.items())
    ]


DEMAND_AGAINST_CAPACITY = Measure(
    key="demand_against_capacity",
    title="Demand against capacity",
    definition=(
        "On the period's last day (by month: each month's last day), the weekly support hours "
        "the open cases are meant to get (each case's target hours for its stage) as a "
        "percentage of the weekly hours the caseworkers have for casework; over 100 % means "
        "more is asked than the caseworkers can give. Beside it: both totals, and the "
        "referrals assessed for support or reconnection and still waiting for a caseworker "
        "(for the organisation and by month only: a referral has no team until it is "
        "allocated). The count is of open cases."
    ),
    unit=Unit.PERCENT,
    compute=compute,
)

MEASURES = (DEMAND_AGAINST_CAPACITY,)
