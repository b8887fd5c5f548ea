"""How quickly people are seen: days from referral to allocation, to first contact and to an
agreed support plan, and reviews done on time (issue 18; the staged model reviews "at 12
weeks" in Stage 1 and "at 6, 12, 15, and 18 months" in Stage 2).

A wait is counted in the period it ended in (the allocation, the contact, the plan), so a
period's figure does not change once the period is over. Days are calendar days from the day
the referral was received. A wait that would end before the referral (a date typed wrong) is
left out: it is on the H-CLIC per-case error list to be put right.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from services.outcomes.histories import CaseHistory, ReviewRecord
from services.outcomes.measures.averages import median, p90, rate
from services.outcomes.measures.base import Figure, Measure, MeasureQuery, ReportingData, Unit
from services.outcomes.measures.dates import within
from services.outcomes.measures.grouping import figures, grouped, grouped_cases


def _wait(key: str, title: str, what: str, end_of: Callable[[CaseHistory], date | None]) -> Measure:
    def days(case: CaseHistory) -> int:
        assert case.referred_on is not None
        ended = end_of(case)
        assert ended is not None
        return (ended - case.referred_on).days

    def compute(data: ReportingData, query: MeasureQuery) -> list[Figure]:
        last = min(query.end, query.as_of)
        ended = [
            case
            for case in data.cases
            if case.referred_on is not None
            and within(end_of(case), query.start, last)
            and days(case) >= 0  # a date before the referral is a slip: the H-CLIC checks
        ]

        def make(group: dict[str, str], cases: list[CaseHistory]) -> Figure:
            waits = [float(days(case)) for case in cases]
            extra: dict[str, float | int | str | None] = {"p90": p90(waits)}
            return Figure(group, median(waits), len(waits), extra=extra)

        return figures(grouped_cases(ended, query, end_of), make)

    return Measure(
        key=key,
        title=title,
        definition=(
            f"Median calendar days from the day the referral was received to {what}, for cases "
            f"whose {what} fell in the period; the 90th percentile beside it (nine in ten "
            f"waited no longer). By month: the month of the {what}."
        ),
        unit=Unit.DAYS,
        compute=compute,
    )


DAYS_TO_ALLOCATION = _wait(
    "days_to_allocation",
    "Days from referral to allocation",
    "allocation to a caseworker",
    lambda case: None if case.allocated_at is None else case.allocated_at.date(),
)
DAYS_TO_FIRST_CONTACT = _wait(
    "days_to_first_contact",
    "Days from referral to first contact",
    "first logged contact",
    lambda case: case.first_contact_on,
)
DAYS_TO_PLAN = _wait(
    "days_to_plan",
    "Days from referral to an agreed support plan",
    "first agreed support plan",
    lambda case: case.plan_agreed_on,
)


Review = tuple[CaseHistory, ReviewRecord]


def review_on_time(case: CaseHistory, review: ReviewRecord, as_of: date) -> bool | None:
    """True: done on or before its due day; False: done later, or past due and not done by
    `as_of`; None: not counted (not yet due, or the case closed before it fell due)."""
    due = review.due_on
    if due is None:
        return None
    if review.completed_on is not None and review.completed_on <= as_of:
        return review.completed_on <= due
    if case.closed_on is not None and case.closed_on < due:
        return None  # the case ended before the review fell due
    return False if as_of > due else None


def _reviews_on_time(data: ReportingData, query: MeasureQuery) -> list[Figure]:
    counted: list[tuple[CaseHistory, ReviewRecord, bool]] = []
    for case in data.cases:
        for review in case.reviews:
            if within(review.due_on, query.start, query.end):
                found = review_on_time(case, review, query.as_of)
                if found is not None:
                    counted.append((case, review, found))

    def make(group: dict[str, str], rows: list[tuple[CaseHistory, ReviewRecord, bool]]) -> Figure:
        on_time = sum(1 for _, _, found in rows if found)
        return Figure(group, rate(on_time, len(rows)), len(rows), on_time)

    return figures(grouped(counted, query, lambda r: r[0], lambda r: r[1].due_on), make)


REVIEWS_ON_TIME = Measure(
    key="reviews_on_time",
    title="Reviews done on time",
    definition=(
        "Of the reviews due in the period, the share done on or before the day they were due. "
        "A review done later is late, and so is one past its due day and not done by the day "
        "the figures are drawn; a review not yet due, or whose case closed before it fell due, "
        "is not counted. The count is of reviews. By month: the month the review was due."
    ),
    unit=Unit.PERCENT,
    compute=_reviews_on_time,
)

MEASURES = (DAYS_TO_ALLOCATION, DAYS_TO_FIRST_CONTACT, DAYS_TO_PLAN, REVIEWS_ON_TIME)
