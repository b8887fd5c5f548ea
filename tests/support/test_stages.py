"""The stage machine, from the staged floating-support model and Derby's two-year maximum."""

from __future__ import annotations

from datetime import date

import pytest

from services.support.stages import (
    RULES,
    LimitOverride,
    ReviewOutcome,
    StageError,
    check_may_continue,
    hours_for_stage,
    next_stage,
    stage_alerts,
    support_limit,
    validate_override,
)
from shared.codes import Stage

S1, S2, S3 = Stage.STAGE_1, Stage.STAGE_2, Stage.STAGE_3
OPENED = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("stage", "low", "high"),
    [(S1, 1.0, 3.0), (S2, 1.0, 3.0), (S3, 0.5, 3.0)],
)
def test_hours_bands_follow_the_staged_model(stage: Stage, low: float, high: float) -> None:
    assert (RULES[stage].min_hours, RULES[stage].max_hours) == (low, high)


def test_stage_1_is_8_to_12_weeks_of_crisis_intervention() -> None:
    rules = RULES[S1]
    assert (rules.expected_min_weeks, rules.expected_max_weeks) == (8, 12)
    assert rules.label == "crisis intervention"
    assert "drop-in" in RULES[S3].activities and "peer support" in RULES[S3].activities


@pytest.mark.parametrize(
    ("current", "outcome", "target", "expected"),
    [
        (S1, ReviewOutcome.CONTINUE, None, S1),
        (S1, ReviewOutcome.STEP_DOWN, None, S2),  # from stage 1 to ongoing support
        (S2, ReviewOutcome.STEP_DOWN, None, S3),  # "floated off" to low-level support
        (S3, ReviewOutcome.STEP_UP, None, S2),
        (S2, ReviewOutcome.STEP_UP, None, S1),  # back into crisis intervention
        (S1, ReviewOutcome.CHANGE_STAGE, S3, S3),  # stage 3 "from stage 1"
        (S3, ReviewOutcome.CHANGE_STAGE, S1, S1),
        (S2, ReviewOutcome.CLOSE, None, None),
    ],
)
def test_review_outcomes_move_between_stages(
    current: Stage, outcome: ReviewOutcome, target: Stage | None, expected: Stage | None
) -> None:
    assert next_stage(current, outcome, target) == expected


@pytest.mark.parametrize(
    ("current", "outcome", "target", "field"),
    [
        (S1, ReviewOutcome.STEP_UP, None, "outcome"),
        (S3, ReviewOutcome.STEP_DOWN, None, "outcome"),
        (S2, ReviewOutcome.CHANGE_STAGE, None, "target_stage"),
        (S2, ReviewOutcome.CHANGE_STAGE, S2, "target_stage"),
    ],
)
def test_impossible_moves_name_the_field(
    current: Stage, outcome: ReviewOutcome, target: Stage | None, field: str
) -> None:
    with pytest.raises(StageError) as error:
        next_stage(current, outcome, target)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("stage", "requested", "current", "expected"),
    [
        (S3, 0.5, 2.0, 0.5),  # stage 3 can go down to half an hour
        (S2, None, 2.0, 2.0),  # keeps Derby's weekly 2 hours
        (S3, None, 2.0, 2.0),
        (S1, None, 0.5, 1.0),  # clamped into stage 1's band
        (S1, None, None, 2.0),
    ],
)
def test_hours_for_the_new_stage(
    stage: Stage, requested: float | None, current: float | None, expected: float
) -> None:
    assert hours_for_stage(stage, requested, current) == expected


def test_half_an_hour_is_too_little_for_stage_1() -> None:
    with pytest.raises(StageError) as error:
        hours_for_stage(S1, 0.5, 2.0)
    assert error.value.field == "target_hours_per_week"


def test_two_years_at_most_unless_overridden() -> None:
    assert support_limit(OPENED) == date(2028, 1, 5)
    override = LimitOverride(
        date(2028, 4, 5), "court case pending; moving now would fail", "tl", OPENED
    )
    assert support_limit(OPENED, [override]) == date(2028, 4, 5)


@pytest.mark.parametrize(
    ("until", "why", "by", "field"),
    [
        (date(2027, 12, 1), "a justification long enough here", "tl", "extend_until"),
        (date(2028, 3, 1), "short", "tl", "justification"),
        (date(2028, 3, 1), "a justification long enough here", " ", "approved_by"),
    ],
)
def test_override_must_extend_and_be_justified(until: date, why: str, by: str, field: str) -> None:
    with pytest.raises(StageError) as error:
        validate_override(date(2028, 1, 5), LimitOverride(until, why, by, OPENED))
    assert error.value.field == field


def test_only_closing_is_allowed_past_the_limit() -> None:
    limit = date(2028, 1, 5)
    check_may_continue(ReviewOutcome.CONTINUE, date(2028, 1, 4), limit)
    check_may_continue(ReviewOutcome.CLOSE, date(2028, 1, 5), limit)
    with pytest.raises(StageError):
        check_may_continue(ReviewOutcome.STEP_DOWN, date(2028, 1, 5), limit)


@pytest.mark.parametrize(
    ("stage", "stage_start", "today", "expected"),
    [
        (S1, OPENED, date(2026, 3, 30), []),  # exactly 12 weeks
        (S1, OPENED, date(2026, 3, 31), ["stage_1_over_12_weeks"]),
        (S2, date(2026, 3, 30), date(2027, 1, 4), []),
        (S2, date(2026, 3, 30), date(2027, 1, 5), ["move_on_overdue"]),  # 12 months
        (S3, date(2027, 1, 5), date(2027, 12, 10), ["support_limit_near"]),
        (S3, date(2027, 1, 5), date(2028, 1, 5), ["support_limit_passed"]),
    ],
)
def test_alerts_for_time_in_support(
    stage: Stage, stage_start: date, today: date, expected: list[str]
) -> None:
    assert stage_alerts(stage, stage_start, OPENED, date(2028, 1, 5), today) == expected
