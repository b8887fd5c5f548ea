"""Turnover of supported tenancies against Derby Homes' target (issue 18). Derby Homes'
"primary goal is to curb the annual tenancy turnover rate, which was running at 13% four years
ago ... and the ALMO is now working to bring it below 10% in two years."

Like Derby's, the rate is annual: the supported tenancies that ended in the 12 months up to the
period's end, over the supported tenancies of those 12 months. A transfer or a mutual exchange
is not turnover here: the household stays a tenant of the landlord, which is what support is
for. Moving on, a death and every failure (eviction, abandonment, surrender) are.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.outcomes.histories import CaseHistory, TenancyHistory
from services.outcomes.measures.averages import rate
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
from services.outcomes.measures.dates import last_day_of_month, month_label, months_after, within
from services.outcomes.measures.grouping import grouped
from services.outcomes.measures.sustainment import ended_in_failure
from services.outcomes.measures.tenancy_reach import tenancy_for
from shared.codes import TenancyEndReason

TARGET = 10.0  # per cent a year: "bring it below 10% in two years"
STAYS_WITH_LANDLORD = frozenset({TenancyEndReason.TRANSFER, TenancyEndReason.MUTUAL_EXCHANGE})

Supported = tuple[CaseHistory, TenancyHistory | None]


def window(end: date) -> tuple[date, date]:
    """The 12 months up to and including `end`."""
    return months_after(end, -12) + timedelta(days=1), end


def _supported(data: ReportingData, query: MeasureQuery, end: date) -> list[Supported]:
    """Cases in reach with a tenancy, whose support was open at some time in the window."""
    start, end = window(end)
    found: list[Supported] = []
    for case in data.cases:
        if case.tenancy_id is None or case.allocated_at is None or not in_reach(case, query):
            continue
        if case.allocated_at.date() <= end and (case.closed_on is None or case.closed_on >= start):
            found.append((case, tenancy_for(case, data, query)))
    return found


def _figure(group: dict[str, str], supported: list[Supported], end: date) -> Figure:
    start, end = window(end)
    tenancies: dict[str, TenancyHistory] = {}
    no_feed: set[str] = set()
    for case, tenancy in supported:
        if tenancy is None:
            no_feed.add(str(case.tenancy_id))
        elif tenancy.ended_on is None or tenancy.ended_on >= start:
            tenancies[tenancy.tenancy_id] = tenancy
    ended = [
        t
        for t in tenancies.values()
        if within(t.ended_on, start, end) and t.end_reason not in STAYS_WITH_LANDLORD
    ]
    failed = sum(1 for t in ended if ended_in_failure(t.end_reason))
    value = rate(len(ended), len(tenancies))
    extra: dict[str, float | int | str | None] = {
        "target": TARGET,
        "met": None if value is None else value < TARGET,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "ended_failed": failed,
        "ended_moved_on_or_died": len(ended) - failed,
        "no_tenancy_feed": len(no_feed),
    }
    return Figure(group, value, len(tenancies), len(ended), extra=extra)


def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)
    if query.group_by is GroupBy.MONTH:
        # A rolling annual rate at each month's end: the figure Derby tracks, month by month.
        out = []
        for first in months(query.start, last):
            end = min(last_day_of_month(first), last)
            figure = _figure({"month": month_label(first)}, _supported(data, query, end), end)
            if figure.count:
                out.append(figure)
        return out
    groups = grouped(_supported(data, query, last), query, lambda s: s[0], lambda s: None)
    out = []
    for key, supported in groups.items():
        figure = _figure(dict(key), supported, last)
        if figure.count or not key:
            out.append(figure)
    return out


TENANCY_TURNOVER = Measure(
    key="tenancy_turnover",
    title="Turnover of supported tenancies (Derby Homes' target: below 10 %)",
    definition=(
        "Annual turnover, as Derby Homes counts it: of the tenancies that had support open at "
        "some time in the 12 months up to the period's end, the share that ended in those 12 "
        "months. Every end counts (eviction, abandonment, surrender, moving on, a death) except "
        "a transfer or a mutual exchange, where the household stays a tenant of the landlord. "
        "Only tenancies whose landlord's feed reaches the organisation are counted. The target "
        "is below 10 % (met: the figure is under it). By month: the 12 months up to each "
        "month's end."
    ),
    unit=Unit.PERCENT,
    compute=compute,
)

MEASURES = (TENANCY_TURNOVER,)
