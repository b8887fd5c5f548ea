"""The shape every measure shares: what it is asked (`MeasureQuery`), what it reads
(`ReportingData`) and what it answers (`MeasureResult` of `Figure`s). Pure.

A measure is a `Measure`: a key, a title, its definition in words (shown beside the figure
wherever it is published) and a function from the data and the query to figures, one per
group. Grouping is the same for all: by organisation (one figure), team, caseworker, route or
month of the period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from services.outcomes.histories import CaseHistory, CaseworkerCapacity, TenancyHistory


class GroupBy(StrEnum):
    ORGANISATION = "organisation"
    TEAM = "team"
    CASEWORKER = "caseworker"
    ROUTE = "route"
    MONTH = "month"
    # Reconnections by the area the person went to; a case with no destination is in no group.
    DESTINATION = "destination"


class Unit(StrEnum):
    PERCENT = "percent"
    DAYS = "days"
    POUNDS = "pounds"
    PEOPLE = "people"
    CASES = "cases"
    HOURS = "hours"


@dataclass(frozen=True)
class MeasureQuery:
    organisation: str
    start: date  # the period, inclusive
    end: date  # the period, inclusive
    as_of: date  # what is known by this day (a follow-up not yet due is not counted)
    group_by: GroupBy = GroupBy.ORGANISATION
    # The teams the caller reaches (None: the whole organisation); figures of other teams,
    # and of caseworkers outside them, are never computed.
    teams: frozenset[str] | None = None
    route: str | None = None  # only cases of this route


@dataclass
class ReportingData:
    """Everything a measure reads for one organisation."""

    cases: list[CaseHistory]
    tenancies: dict[str, TenancyHistory] = field(default_factory=dict)
    capacities: list[CaseworkerCapacity] = field(default_factory=list)


@dataclass(frozen=True)
class Figure:
    group: dict[str, str]  # {} for the organisation, else e.g. {"team_id": "t1"}
    value: float | None  # the rate, amount, days or count; None when nothing to measure
    count: int  # the people or cases the figure is about (the denominator)
    numerator: int | None = None  # for rates: how many of `count` met the measure
    suppressed: bool = False  # a small number withheld (services/outcomes/suppression.py)
    extra: dict[str, float | int | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureResult:
    key: str
    title: str
    definition: str
    unit: Unit
    query: MeasureQuery
    figures: list[Figure]


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    definition: str
    unit: Unit
    compute: Callable[[ReportingData, MeasureQuery], list[Figure]]

    def run(self, data: ReportingData, query: MeasureQuery) -> MeasureResult:
        return MeasureResult(
            self.key, self.title, self.definition, self.unit, query, self.compute(data, query)
        )


def group_key(case: CaseHistory, group_by: GroupBy) -> dict[str, str] | None:
    """The group a case falls in; None when the case has no such group (e.g. no team yet)."""
    if group_by is GroupBy.ORGANISATION:
        return {}
    if group_by is GroupBy.TEAM:
        return None if case.team_id is None else {"team_id": case.team_id}
    if group_by is GroupBy.CASEWORKER:
        return None if case.lead_worker_id is None else {"caseworker_id": case.lead_worker_id}
    if group_by is GroupBy.ROUTE:
        return None if case.route is None else {"route": case.route}
    if group_by is GroupBy.DESTINATION:
        area = case.destination_area
        return None if area is None else {"destination_area": area}
    raise ValueError("group_by month is decided by each measure's own date")


def in_reach(case: CaseHistory, query: MeasureQuery) -> bool:
    """The case is the organisation's, within the caller's teams and the route asked for."""
    if query.organisation not in (case.organisation, case.referral_organisation):
        return False
    if query.teams is not None and case.team_id not in query.teams:
        return False
    return query.route is None or case.route == query.route


def months(start: date, end: date) -> list[date]:
    """The first day of every month the period touches."""
    first = date(start.year, start.month, 1)
    out = []
    while first <= end:
        out.append(first)
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return out


def partition(
    cases: Iterable[CaseHistory], query: MeasureQuery
) -> dict[tuple[tuple[str, str], ...], list[CaseHistory]]:
    """Cases in reach, grouped by the query's grouping (not month)."""
    groups: dict[tuple[tuple[str, str], ...], list[CaseHistory]] = {}
    for case in cases:
        if not in_reach(case, query):
            continue
        key = group_key(case, query.group_by)
        if key is not None:
            groups.setdefault(tuple(sorted(key.items())), []).append(case)
    return groups
