"""Repeat presentations: people referred again within 12 months of their case closing (issue 18;
the staged model's aim "to prevent homelessness and reduce the cycle of homelessness").

People, not cases: a person whose cases closed more than once in the period is followed from
their first closure in it. A new referral counts when the same organisation received it
after that closure and within 12 months of it, whichever team it went to.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from services.outcomes.histories import CaseHistory
from services.outcomes.measures.averages import rate
from services.outcomes.measures.base import Figure, Measure, MeasureQuery, ReportingData, Unit
from services.outcomes.measures.dates import months_after, within
from services.outcomes.measures.grouping import figures, grouped_cases


def _referrals(data: ReportingData, query: MeasureQuery) -> dict[str, list[datetime]]:
    """When each person was referred to the organisation."""
    found: dict[str, list[datetime]] = defaultdict(list)
    for case in data.cases:
        referred = case.referred_at or case.allocated_at
        ours = query.organisation in (case.referral_organisation, case.organisation)
        if ours and case.person_id is not None and referred is not None:
            found[case.person_id].append(referred)
    return found


def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    referrals = _referrals(data, query)
    closed = [
        case
        for case in data.cases
        if case.person_id is not None and within(case.closed_on, query.start, query.end)
    ]

    def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
        first: dict[str, CaseHistory] = {}
        for case in sorted(cases, key=lambda c: (c.closed_at, c.case_id)):
            first.setdefault(str(case.person_id), case)
        returned = not_yet_due = 0
        for person, case in first.items():
            assert case.closed_at is not None and case.closed_on is not None
            until = months_after(case.closed_on, 12)
            if until > query.as_of:
                not_yet_due += 1
            elif any(case.closed_at < r and r.date() <= until for r in referrals[person]):
                returned += 1
        people = len(first) - not_yet_due
        extra: dict[str, float | int | str | None] = {"not_yet_due": not_yet_due}
        return Figure(group, rate(returned, people), people, returned, extra=extra)

    return figures(grouped_cases(closed, query, lambda case: case.closed_on), make)


REPEAT_PRESENTATIONS = Measure(
    key="repeat_presentations",
    title="People referred again within 12 months of closure",
    definition=(
        "Of the people whose case closed in the period, and whose 12 months since that closure "
        "have passed, the share referred to the organisation again within those 12 months. "
        "People are counted once, from their first closure in the period; the new referral may "
        "be to any of the organisation's teams. People still inside their 12 months are not "
        "counted yet. By month: the month of that first closure."
    ),
    unit=Unit.PERCENT,
    compute=compute,
)

MEASURES = (REPEAT_PRESENTATIONS,)
