"""A case that began before Hearth, opened at its stage from its start date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.support.case_records import TakenOver, case_taken_over
from services.support.stages import StageError, check_taken_over
from shared.codes import Stage

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def taken(
    stage: Stage, started_on: date, support_started_on: date, hours: float = 2.0
) -> TakenOver:
    return TakenOver(
        case_id="c-old",
        organisation="derby-council",
        person_id="p-old",
        stage=stage,
        started_on=started_on,
        support_started_on=support_started_on,
        target_hours_per_week=hours,
        lead_worker_id="worker-1",
        team_id="team-a",
    )


def test_stage_2_via_the_panel_keeps_the_reviews_still_to_come() -> None:
    """Stage 2 "via Supported Housing Panel": "review at 6,12, 15, and 18 months". Support began
    on 2025-07-01; Hearth takes the case on 2026-03-02, so the 6-month review (2026-01-01) was
    held before and the 12, 15 and 18-month reviews and the two-year limit are booked."""
    case = case_taken_over(taken(Stage.STAGE_2, date(2025, 7, 1), date(2025, 7, 1)), NOW)
    points = sorted((r.due_on, r.point) for r in case.reviews.values())
    assert points == [
        (date(2026, 7, 1), "stage_2_month_12"),
        (date(2026, 10, 1), "stage_2_month_15"),
        (date(2027, 1, 1), "stage_2_month_18"),
        (date(2027, 7, 1), "support_limit"),
    ]
    assert (case.stage, case.stage_started_on, case.support_limit_on) == (
        Stage.STAGE_2,
        date(2025, 7, 1),
        date(2027, 7, 1),
    )
    assert case.next_review_on == date(2026, 7, 1)
    assert [(p.starts_on, p.hours) for p in case.hours_periods] == [(NOW.date(), 2.0)]


def test_stage_1_past_12_weeks_is_due_its_review() -> None:
    """Stage 1: "support plan will be reviewed at 12 weeks": begun 2025-11-24, 14 weeks before
    Hearth takes it on, its 12-week review (2026-02-16) is overdue, not dropped."""
    case = case_taken_over(taken(Stage.STAGE_1, date(2025, 11, 24), date(2025, 11, 24)), NOW)
    [review] = case.reviews.values()
    assert (review.point, review.due_on) == ("stage_1_week_12", date(2026, 2, 16))


def test_stage_3_from_self_referral_reviews_every_6_months_in_the_stage() -> None:
    """Stage 3 "Up to 2 years", "Up to ½ hr -3 hours per week"."""
    case = case_taken_over(
        taken(Stage.STAGE_3, date(2025, 12, 1), date(2025, 6, 1), hours=0.5), NOW
    )
    points = sorted((r.due_on, r.point) for r in case.reviews.values())
    assert points[0] == (date(2026, 6, 1), "stage_3_month_6")
    assert points[-1] == (date(2027, 6, 1), "support_limit")


@pytest.mark.parametrize(
    ("started_on", "support_started_on", "field"),
    [
        (date(2026, 3, 3), date(2026, 3, 1), "started_on"),
        (date(2026, 1, 5), date(2026, 1, 6), "support_started_on"),
    ],
)
def test_dates_a_taken_over_case_cannot_have(
    started_on: date, support_started_on: date, field: str
) -> None:
    with pytest.raises(StageError) as error:
        check_taken_over(started_on, support_started_on, NOW.date())
    assert error.value.field == field
