"""Escalations and what became of them (issue 18; safety-net crisis support: "If the tenancy is
breaking down there needs to be crisis intervention by a worker designated by the team").
Counted per case by its first escalation in the
period, and followed to the day the figures are drawn: closed with the tenancy sustained,
evicted, closed otherwise, or still open."""

from __future__ import annotations

from datetime import date

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.base import Figure, Measure, MeasureQuery, ReportingData, Unit
from services.outcomes.measures.grouping import figures, grouped_cases
from shared.codes import ClosureReason, TenancyOutcome


def result(case: CaseHistory, as_of: date) -> str:
    """What became of an escalated case by `as_of`."""
    if case.closed_on is None or case.closed_on > as_of:
        return "still_open"
    if (
        case.tenancy_outcome == TenancyOutcome.EVICTED
        or case.closure_reason == ClosureReason.EVICTED
    ):
        return "evicted"
    if (
        case.tenancy_outcome == TenancyOutcome.SUSTAINED
        or case.closure_reason == ClosureReason.TENANCY_SUSTAINED
    ):
        return "closed_sustained"
    return "closed_other"


RESULTS = ("closed_sustained", "evicted", "closed_other", "still_open")


def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    last = min(query.end, query.as_of)
    first: dict[str, date] = {}
    times: dict[str, int] = {}
    for case in data.cases:
        days = sorted(e.on for e in case.escalations if query.start <= e.on <= last)
        if days:
            first[case.case_id] = days[0]
            times[case.case_id] = len(days)
    escalated = [case for case in data.cases if case.case_id in first]

    def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
        results = [result(case, query.as_of) for case in cases]
        extra: dict[str, float | int | str | None] = {
            "escalations": sum(times[case.case_id] for case in cases),
            **{name: results.count(name) for name in RESULTS},
        }
        return Figure(group, float(len(cases)) if cases else None, len(cases), extra=extra)

    return figures(grouped_cases(escalated, query, lambda case: first[case.case_id]), make)


ESCALATIONS = Measure(
    key="escalations",
    title="Escalations and their results",
    definition=(
        "The cases escalated in the period (to crisis intervention), each "
        "counted once however often it was escalated; beside it how many escalations there "
        "were, and what became of the cases by the day the figures are drawn: closed with the "
        "tenancy sustained, evicted, closed otherwise, or still open. By month: the month of "
        "the case's first escalation in the period."
    ),
    unit=Unit.CASES,
    compute=compute,
)

MEASURES = (ESCALATIONS,)
