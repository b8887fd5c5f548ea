"""Tenancies sustained 3, 6 and 12 months after support closed (issue 18; Derby Homes: tenancy
support to "curb the annual tenancy turnover rate").

A case is followed up N months after its closure. Its tenancy failed if, by then, the
landlord's feed shows a possession (a reading at possession order or eviction date set) or a
new at-risk signal at the highest level after the closure, or the tenancy ended for a reason
that is a failure (`TenancyEndReason.failed`). A tenancy that ended by a planned move or a death
is neither sustained nor failed: it is left out of the count, as are follow-ups not yet due and
tenancies whose landlord's feed does not reach the organisation (nothing is known of them).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from services.outcomes.histories import CaseHistory, TenancyHistory
from services.outcomes.measures.averages import rate
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
from shared.codes import LegalStage, RiskLevel, TenancyEndReason

POSSESSION = frozenset({LegalStage.POSSESSION_ORDER, LegalStage.EVICTION_DATE_SET})


class FollowUp(StrEnum):
    SUSTAINED = "sustained"
    FAILED = "failed"
    PLANNED_END = "planned_end"  # a planned move or a death: not counted
    NOT_YET_DUE = "not_yet_due"
    NO_TENANCY_FEED = "no_tenancy_feed"


def follow_up(
    case: CaseHistory, tenancy: TenancyHistory | None, months: int, as_of: date
) -> FollowUp:
    """What the follow-up `months` after the case's closure finds."""
    assert case.closed_on is not None
    due = months_after(case.closed_on, months)
    if due > as_of:
        return FollowUp.NOT_YET_DUE
    if tenancy is None:
        return FollowUp.NO_TENANCY_FEED
    ended = tenancy.ended_on if tenancy.ended_on is not None and tenancy.ended_on <= due else None
    watched_to = min(due, ended) if ended is not None else due
    for reading in tenancy.readings:
        if case.closed_on < reading.on <= watched_to and (
            reading.legal_stage in POSSESSION or reading.risk_level == RiskLevel.CRITICAL
        ):
            return FollowUp.FAILED
    if ended is None:
        return FollowUp.SUSTAINED
    return FollowUp.FAILED if ended_in_failure(tenancy.end_reason) else FollowUp.PLANNED_END


def ended_in_failure(reason: str | None) -> bool:
    """The tenancy ended by a failure (`TenancyEndReason.failed`), not a planned move or death."""
    try:
        return TenancyEndReason(reason or "").failed
    except ValueError:  # no reason, or one this code does not know: not a planned move
        return True


def _sustained(months: int) -> Measure:
    def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
        closed = [
            case
            for case in data.cases
            if case.tenancy_id is not None and within(case.closed_on, query.start, query.end)
        ]

        def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
            found = [
                follow_up(case, tenancy_for(case, data, query), months, query.as_of)
                for case in cases
            ]
            sustained = found.count(FollowUp.SUSTAINED)
            counted = sustained + found.count(FollowUp.FAILED)
            extra: dict[str, float | int | str | None] = {
                outcome.value: found.count(outcome)
                for outcome in FollowUp
                if outcome is not FollowUp.SUSTAINED
            }
            return Figure(group, rate(sustained, counted), counted, sustained, extra=extra)

        return figures(grouped_cases(closed, query, lambda case: case.closed_on), make)

    return Measure(
        key=f"tenancy_sustained_{months}m",
        title=f"Tenancies sustained {months} months after support closed",
        definition=(
            f"Of the cases with a tenancy whose support closed in the period and whose "
            f"{months}-month follow-up (the closure day plus {months} months) has been reached, "
            f"the share whose tenancy was sustained: in those {months} months the landlord's "
            "feed showed no possession (a possession order or an eviction date set) and no new "
            "at-risk signal at the highest level (critical), and by the follow-up day the "
            "tenancy had not ended by eviction, abandonment, surrender or another failure. "
            "A tenancy that ended by a "
            "planned move (transfer, mutual exchange, moving on) or a death counts as neither "
            "sustained nor failed and is left out of the count, as are follow-ups not yet due "
            "and tenancies whose landlord's feed does not reach the organisation. By month: "
            "the month support closed."
        ),
        unit=Unit.PERCENT,
        compute=compute,
    )


TENANCY_SUSTAINED_3M = _sustained(3)
TENANCY_SUSTAINED_6M = _sustained(6)
TENANCY_SUSTAINED_12M = _sustained(12)
MEASURES = (TENANCY_SUSTAINED_3M, TENANCY_SUSTAINED_6M, TENANCY_SUSTAINED_12M)
