"""Between the routes and the measures: load what an organisation's figures are made from,
run a measure for an audience, run them all for a period's summary, and put a month's report
together.

`audience` decides who the figures are for: `organisation` (the exact figures, for the
organisation's own staff) or `public` (small numbers withheld by `suppress`, for anything
that leaves the organisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Literal

from services.outcomes.measures.base import (
    GroupBy,
    Measure,
    MeasureQuery,
    MeasureResult,
    ReportingData,
)
from services.outcomes.periods import Period, twelve_months_to
from services.outcomes.report_pdf import MonthlyReport, ReportLine
from services.outcomes.store import OutcomesStore
from services.outcomes.suppression import suppress

Audience = Literal["organisation", "public"]

# The charts a monthly report shows, in this order, where the registry has them; the first
# measures of the registry fill any gap.
REPORT_CHARTS = ("tenancy_sustained_6m", "tenancy_turnover", "repeat_presentations")
CHARTS_PER_REPORT = 3


async def load(store: OutcomesStore, organisation: str) -> ReportingData:
    """Everything the organisation's measures read: its cases, their tenancies, its
    caseworkers' capacity."""
    cases = await store.cases(organisation)
    tenancies = await store.tenancies(c.tenancy_id for c in cases if c.tenancy_id)
    capacities = await store.capacities(organisation)
    return ReportingData(cases=cases, tenancies=tenancies, capacities=capacities)


def run(
    measure: Measure, data: ReportingData, query: MeasureQuery, audience: Audience
) -> MeasureResult:
    """The measure's figures, with small numbers withheld when they are for the public."""
    result = measure.run(data, query)
    return suppress(result) if audience == "public" else result


def summary(
    measures: Mapping[str, Measure], data: ReportingData, query: MeasureQuery, audience: Audience
) -> list[tuple[MeasureResult, MeasureResult]]:
    """Every measure over the query's period, whole and by month, each exactly as `run` makes
    it for the per-measure route (the same data, reach and suppression)."""
    whole = replace(query, group_by=GroupBy.ORGANISATION)
    by_month = replace(query, group_by=GroupBy.MONTH)
    return [
        (run(measure, data, whole, audience), run(measure, data, by_month, audience))
        for measure in measures.values()
    ]


def monthly_report(
    measures: Mapping[str, Measure],
    data: ReportingData,
    organisation: str,
    month: Period,
    as_of: date,
    teams: frozenset[str] | None,
) -> MonthlyReport:
    """Every measure for the month and the twelve months to it, and a few of them by month
    over those twelve months; all suppressed (a report is passed on)."""
    year = twelve_months_to(month)

    def query(period: Period, group_by: GroupBy = GroupBy.ORGANISATION) -> MeasureQuery:
        return MeasureQuery(organisation, period.start, period.end, as_of, group_by, teams)

    lines = [
        ReportLine(
            run(measure, data, query(month), "public"),
            run(measure, data, query(year), "public"),
        )
        for measure in measures.values()
    ]
    charts = [
        run(measures[key], data, query(year, GroupBy.MONTH), "public")
        for key in chart_keys(measures)
    ]
    return MonthlyReport(
        organisation=organisation,
        month=month,
        as_of=as_of,
        lines=lines,
        charts=charts,
        teams=None if teams is None else sorted(teams),
    )


def chart_keys(measures: Mapping[str, Measure], count: int = CHARTS_PER_REPORT) -> Sequence[str]:
    chosen = [key for key in REPORT_CHARTS if key in measures]
    chosen += [key for key in measures if key not in chosen]
    return chosen[:count]
