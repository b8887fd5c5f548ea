"""Rent arrears at referral, at closure and six months after closure, and the change (issue
18; Derby Homes: "the service quickly proved itself when one person's rent arrears fell by
£1500").

Each balance is the last one the landlord reported on or before the day (`balance_on`), read
only where the landlord's data reaches the organisation (`tenancy_reach`). A change is the
later balance minus the earlier one, so a fall in arrears is negative.
"""

from __future__ import annotations

from collections.abc import Callable

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.averages import mean, median
from services.outcomes.measures.base import (
    Figure,
    Measure,
    MeasureQuery,
    ReportingData,
    Unit,
)
from services.outcomes.measures.dates import months_after, within
from services.outcomes.measures.grouping import figures, grouped_cases
from services.outcomes.measures.tenancy_reach import tenancy_for

Balances = tuple[float, float, float | None]  # at referral, at closure, six months on


def _balances(
    case: CaseHistory, data: ReportingData, query: MeasureQuery, six_months: bool
) -> Balances | None:
    tenancy = tenancy_for(case, data, query)
    if tenancy is None or case.referred_on is None or case.closed_on is None:
        return None
    at_referral = tenancy.balance_on(case.referred_on)
    at_closure = tenancy.balance_on(case.closed_on)
    if at_referral is None or at_closure is None:
        return None
    if not six_months:
        return at_referral, at_closure, None
    later = months_after(case.closed_on, 6)
    at_six_months = tenancy.balance_on(later) if later <= query.as_of else None
    return None if at_six_months is None else (at_referral, at_closure, at_six_months)


def _arrears(six_months: bool) -> Callable[[ReportingData, MeasureQuery], list[Figure]]:
    def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
        measured: dict[str, Balances] = {}
        for case in data.cases:
            if within(case.closed_on, query.start, query.end):
                found = _balances(case, data, query, six_months)
                if found is not None:
                    measured[case.case_id] = found

        def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
            rows = [measured[case.case_id] for case in cases]
            referral = [row[0] for row in rows]
            closure = [row[1] for row in rows]
            last = [row[2] for row in rows if row[2] is not None] if six_months else closure
            change = [after - before for before, after in zip(referral, last, strict=True)]
            extra: dict[str, float | int | str | None] = {
                "median_at_referral": median(referral),
                "mean_at_referral": mean(referral),
                "median_at_closure": median(closure),
                "mean_at_closure": mean(closure),
            }
            if six_months:
                extra |= {"median_6_months_on": median(last), "mean_6_months_on": mean(last)}
            extra |= {
                "median_change": median(change),
                "mean_change": mean(change),
                "fell": sum(1 for c in change if c < 0),
            }
            return Figure(group, median(change), len(rows), extra=extra)

        cases = [case for case in data.cases if case.case_id in measured]
        return figures(grouped_cases(cases, query, lambda case: case.closed_on), make)

    return compute


_COMMON = (
    "Cases whose support closed in the period and whose tenancy's landlord reported a balance "
    "by the day of referral and by the day of closure (the last balance reported on or before "
    "each day; a landlord's figures are used only when the landlord is the organisation or "
    "shared them for the case). "
)

ARREARS_CHANGE_TO_CLOSURE = Measure(
    key="arrears_change_to_closure",
    title="Change in rent arrears from referral to closure",
    definition=_COMMON
    + "The figure is the median change in arrears from referral to closure, in pounds "
    "(negative: arrears fell); medians and means at referral, at closure and of the change, "
    "and how many cases' arrears fell, beside it. By month: the month support closed.",
    unit=Unit.POUNDS,
    compute=_arrears(six_months=False),
)

ARREARS_CHANGE_TO_6_MONTHS = Measure(
    key="arrears_change_to_6_months",
    title="Change in rent arrears from referral to 6 months after closure",
    definition=_COMMON
    + "Of those, cases six months past closure with a balance by that day. The figure is the "
    "median change in arrears from referral to six months after closure, in pounds "
    "(negative: arrears fell); medians and means at referral, at closure, six months on and "
    "of the change, and how many cases' arrears fell, beside it. By month: the month support "
    "closed.",
    unit=Unit.POUNDS,
    compute=_arrears(six_months=True),
)

MEASURES = (ARREARS_CHANGE_TO_CLOSURE, ARREARS_CHANGE_TO_6_MONTHS)
