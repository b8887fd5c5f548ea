"""Days from referral to allocation, to first contact and to an agreed plan; reviews on time
(issue 18). The staged model: "support plan will be reviewed at 12 weeks"."""

from __future__ import annotations

from services.outcomes.measures.base import GroupBy, ReportingData
from services.outcomes.measures.timeliness import (
    DAYS_TO_ALLOCATION,
    DAYS_TO_FIRST_CONTACT,
    DAYS_TO_PLAN,
    REVIEWS_ON_TIME,
)
from tests.unit.outcomes.history_builder import case, data, query

PERIOD = ("2026-01-01", "2026-03-31", "2026-04-30")


def waits() -> ReportingData:
    return data(
        case(
            "t1",
            referred="2026-01-05",
            allocated="2026-01-08",
            contact="2026-01-10",
            plan="2026-01-20",
        ),
        case(
            "t2",
            referred="2026-01-10",
            allocated="2026-01-20",
            contact="2026-02-01",
            plan="2026-02-15",
        ),
        case("t3", referred="2026-02-01", allocated="2026-02-03", contact="2026-02-04"),
        case(
            "t4", referred="2025-12-20", allocated="2026-01-02", contact="2026-01-05", team="team-b"
        ),
        # Allocated after the period: its wait belongs to April.
        case("t5", referred="2026-03-20", allocated="2026-04-02"),
    )


def test_days_to_allocation() -> None:
    """3, 10, 2 and 13 days: median 6.5; the 90th percentile is the longest of four."""
    [figure] = DAYS_TO_ALLOCATION.compute(waits(), query(*PERIOD))
    assert (figure.count, figure.value, figure.extra) == (4, 6.5, {"p90": 13.0})


def test_days_to_first_contact() -> None:
    [figure] = DAYS_TO_FIRST_CONTACT.compute(waits(), query(*PERIOD))
    assert (figure.count, figure.value, figure.extra) == (4, 10.5, {"p90": 22.0})


def test_days_to_an_agreed_plan() -> None:
    [figure] = DAYS_TO_PLAN.compute(waits(), query(*PERIOD))
    assert (figure.count, figure.value, figure.extra) == (2, 25.5, {"p90": 36.0})


def test_by_month_of_allocation_and_within_reach() -> None:
    by_month = DAYS_TO_ALLOCATION.compute(waits(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.count, f.value) for f in by_month] == [
        ({"month": "2026-01"}, 3, 10.0),
        ({"month": "2026-02"}, 1, 2.0),
    ]
    [team_a] = DAYS_TO_ALLOCATION.compute(waits(), query(*PERIOD, teams=["team-a"]))
    assert (team_a.count, team_a.value) == (3, 3.0)


def reviews() -> ReportingData:
    return data(
        case(
            "rv1",
            allocated="2025-12-01",
            reviews=[
                ("2026-01-10", "2026-01-09"),  # early: on time
                ("2026-02-10", "2026-02-12"),  # two days late
                ("2026-03-10", None),  # past due, never done: late
                ("2026-04-10", "2026-04-10"),  # due after the period
            ],
        ),
        case(
            "rv2",
            allocated="2025-12-01",
            closed="2026-03-28",
            reviews=[
                ("2026-03-25", "2026-03-25"),  # on the day: on time
                ("2026-03-30", None),  # the case closed before it fell due: not counted
            ],
        ),
        case("rv3", allocated="2025-12-01", team="team-b", reviews=[("2026-02-01", "2026-02-01")]),
    )


def test_reviews_on_time() -> None:
    """On time: done "on or before" the due day. Three of five."""
    [figure] = REVIEWS_ON_TIME.compute(reviews(), query(*PERIOD))
    assert (figure.numerator, figure.count, figure.value) == (3, 5, 60.0)


def test_a_review_not_done_is_late_only_once_its_due_day_has_passed() -> None:
    """On 10 March the review due that day is not late yet; on 20 March it is. rv2's review
    due 25 March is not due by 20 March."""
    on_the_day = REVIEWS_ON_TIME.compute(reviews(), query("2026-01-01", "2026-03-31", "2026-03-10"))
    assert (on_the_day[0].numerator, on_the_day[0].count) == (2, 3)
    later = REVIEWS_ON_TIME.compute(reviews(), query("2026-01-01", "2026-03-31", "2026-03-20"))
    assert (later[0].numerator, later[0].count) == (2, 4)


def test_reviews_by_month_due() -> None:
    figures = REVIEWS_ON_TIME.compute(reviews(), query(*PERIOD, group_by=GroupBy.MONTH))
    assert [(f.group, f.numerator, f.count) for f in figures] == [
        ({"month": "2026-01"}, 1, 1),
        ({"month": "2026-02"}, 1, 2),
        ({"month": "2026-03"}, 1, 2),
    ]


def test_a_date_before_the_referral_is_left_out_not_counted_as_a_negative_wait() -> None:
    """A plan recorded as agreed before the referral came is a typing slip the H-CLIC checks
    report; it must not pull the median below zero."""
    from datetime import UTC, date, datetime

    from services.outcomes.histories import CaseHistory
    from services.outcomes.measures.base import MeasureQuery, ReportingData
    from services.outcomes.measures.timeliness import DAYS_TO_PLAN

    slip = CaseHistory(
        "l2",
        organisation="leeds",
        referral_organisation="leeds",
        referred_at=datetime(2026, 5, 1, 9, tzinfo=UTC),
        plan_agreed_on=date(2026, 4, 28),
    )
    query = MeasureQuery("leeds", date(2026, 4, 1), date(2026, 6, 30), date(2026, 6, 30))
    [figure] = DAYS_TO_PLAN.compute(ReportingData([slip]), query)
    assert (figure.value, figure.count) == (None, 0)
