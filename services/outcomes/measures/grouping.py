"""How every measure groups what it counts: the cases in reach (organisation, the caller's
teams, the route asked for) by the query's grouping, and by month of the measure's own date
(a closure, a follow-up, a review's due day). The organisation figure is always answered,
even with nothing in it; any other group exists only when something falls in it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TypeVar

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.base import Figure, GroupBy, MeasureQuery, group_key, in_reach
from services.outcomes.measures.dates import month_label

T = TypeVar("T")
GroupKey = tuple[tuple[str, str], ...]


def grouped(
    items: Iterable[T],
    query: MeasureQuery,
    case_of: Callable[[T], CaseHistory],
    day_of: Callable[[T], date | None],
) -> dict[GroupKey, list[T]]:
    """The items whose case is in reach, by group, in a stable order."""
    groups: dict[GroupKey, list[T]] = {}
    if query.group_by is GroupBy.ORGANISATION:
        groups[()] = []
    for item in items:
        case = case_of(item)
        if not in_reach(case, query):
            continue
        key = _key(item, case, query.group_by, day_of)
        if key is not None:
            groups.setdefault(key, []).append(item)
    return dict(sorted(groups.items()))


def _key(
    item: T, case: CaseHistory, group_by: GroupBy, day_of: Callable[[T], date | None]
) -> GroupKey | None:
    if group_by is GroupBy.MONTH:
        day = day_of(item)
        return None if day is None else (("month", month_label(day)),)
    found = group_key(case, group_by)
    return None if found is None else tuple(sorted(found.items()))


def grouped_cases(
    cases: Iterable[CaseHistory], query: MeasureQuery, day_of: Callable[[CaseHistory], date | None]
) -> dict[GroupKey, list[CaseHistory]]:
    return grouped(cases, query, lambda case: case, day_of)


def figures(
    groups: dict[GroupKey, list[T]], make: Callable[[dict[str, str], list[T]], Figure]
) -> list[Figure]:
    """One figure per group, made by the measure from the group's items."""
    return [make(dict(key), items) for key, items in groups.items()]
