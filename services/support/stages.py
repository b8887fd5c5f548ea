"""The staged support model as a pure state machine.

From the staged floating-support model (Appendix 1) and Derby Homes' variant:
- Stage 1, crisis intervention: 8-12 weeks at 1-3 h/week; needs assessment and support plan;
  review at 12 weeks.
- Stage 2: 3 months to 2 years at 1-3 h/week; reviews at 6, 12, 15 and 18 months, each weighed
  against referrals waiting; move-on expected within 12 months.
- Stage 3: low-level support up to 2 years at 1/2-3 h/week (drop-in, peer support).
- Two years at most ("runs for a maximum of two years"); the service may override, recorded
  and justified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from shared.codes import Stage
from shared.dates import add_months

SUPPORT_LIMIT_MONTHS = 24
MOVE_ON_EXPECTED_MONTHS = 12
MIN_JUSTIFICATION_CHARS = 20
LIMIT_WARNING_DAYS = 28


@dataclass(frozen=True)
class StageRules:
    stage: Stage
    label: str
    min_hours: float
    max_hours: float
    default_hours: float
    expected_min_weeks: int | None  # None: no minimum stated
    expected_max_weeks: int  # after this the stage is overrunning
    activities: tuple[str, ...]


RULES: dict[Stage, StageRules] = {
    Stage.STAGE_1: StageRules(
        Stage.STAGE_1,
        "crisis intervention",
        1.0,
        3.0,
        2.0,
        8,
        12,
        ("needs assessment", "support plan", "risk management plan"),
    ),
    Stage.STAGE_2: StageRules(
        Stage.STAGE_2,
        "ongoing support",
        1.0,
        3.0,
        2.0,
        13,  # three months
        104,  # two years
        ("support plan", "specialist support", "move-on planning"),
    ),
    Stage.STAGE_3: StageRules(
        Stage.STAGE_3,
        "low-level support",
        0.5,
        3.0,
        1.0,
        None,
        104,
        ("drop-in", "peer support", "community involvement", "training and employment"),
    ),
}

# Stage 1 is the most intensive: "stepping up" moves towards it.
INTENSITY_ORDER: tuple[Stage, ...] = (Stage.STAGE_1, Stage.STAGE_2, Stage.STAGE_3)


class ReviewOutcome(StrEnum):
    CONTINUE = "continue"
    STEP_UP = "step_up"  # more intensive support (towards stage 1)
    STEP_DOWN = "step_down"  # less intensive: "floated off" (towards stage 3)
    CHANGE_STAGE = "change_stage"  # to a named stage
    CLOSE = "close"


class StageError(ValueError):
    """A rule of the stage model was broken; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class LimitOverride:
    """The service keeps supporting past two years: why, until when, who agreed."""

    extend_until: date
    justification: str
    approved_by: str
    recorded_on: date


def next_stage(current: Stage, outcome: ReviewOutcome, target: Stage | None = None) -> Stage | None:
    """The stage after a review outcome; None means the case closes."""
    position = INTENSITY_ORDER.index(current)
    if outcome is ReviewOutcome.CLOSE:
        return None
    if outcome is ReviewOutcome.CONTINUE:
        return current
    if outcome is ReviewOutcome.STEP_UP:
        if position == 0:
            raise StageError("outcome", "stage_1 is already the most intensive stage")
        return INTENSITY_ORDER[position - 1]
    if outcome is ReviewOutcome.STEP_DOWN:
        if position == len(INTENSITY_ORDER) - 1:
            raise StageError("outcome", "stage_3 is already the lowest stage; close instead")
        return INTENSITY_ORDER[position + 1]
    if target is None:
        raise StageError("target_stage", "required when the outcome is change_stage")
    if target == current:
        raise StageError("target_stage", f"the case is already in {current}")
    return target


def hours_for_stage(stage: Stage, requested: float | None, current: float | None) -> float:
    """Planned hours per week in the new stage: as requested (within the stage's band), else
    the current hours clamped into the band, else the stage's default."""
    rules = RULES[stage]
    if requested is not None:
        if not rules.min_hours <= requested <= rules.max_hours:
            raise StageError(
                "target_hours_per_week",
                f"{stage} is {rules.min_hours:g}-{rules.max_hours:g} hours per week",
            )
        return requested
    if current is None:
        return rules.default_hours
    return min(max(current, rules.min_hours), rules.max_hours)


def support_limit(support_started_on: date, overrides: Sequence[LimitOverride] = ()) -> date:
    """The day support must end: two years from the start, or the latest override."""
    limit = add_months(support_started_on, SUPPORT_LIMIT_MONTHS)
    return max([limit, *(o.extend_until for o in overrides)])


def validate_override(current_limit: date, override: LimitOverride) -> None:
    if override.extend_until <= current_limit:
        raise StageError("extend_until", f"must be after the current limit {current_limit}")
    if len(override.justification.strip()) < MIN_JUSTIFICATION_CHARS:
        raise StageError(
            "justification", f"at least {MIN_JUSTIFICATION_CHARS} characters saying why"
        )
    if not override.approved_by.strip():
        raise StageError("approved_by", "required")


def check_taken_over(started_on: date, support_started_on: date, today: date) -> None:
    """A case that began before Hearth: the stage began by today, support no later than it."""
    if started_on > today:
        raise StageError("started_on", f"must not be after today ({today})")
    if support_started_on > started_on:
        raise StageError("support_started_on", f"must not be after started_on ({started_on})")


def check_may_continue(outcome: ReviewOutcome, on: date, limit: date) -> None:
    """Past the limit, only closing is allowed until an override is recorded."""
    if outcome is not ReviewOutcome.CLOSE and on >= limit:
        raise StageError(
            "outcome", f"the support limit was reached on {limit}; record an override or close"
        )


def stage_alerts(
    stage: Stage, stage_started_on: date, support_started_on: date, limit: date, today: date
) -> list[str]:
    """What a team leader should see about the case's time in support."""
    alerts: list[str] = []
    rules = RULES[stage]
    if stage is Stage.STAGE_1 and today > stage_started_on + timedelta(
        weeks=rules.expected_max_weeks
    ):
        alerts.append("stage_1_over_12_weeks")
    if stage is Stage.STAGE_2 and today >= add_months(support_started_on, MOVE_ON_EXPECTED_MONTHS):
        alerts.append("move_on_overdue")
    if today >= limit:
        alerts.append("support_limit_passed")
    elif today >= limit - timedelta(days=LIMIT_WARNING_DAYS):
        alerts.append("support_limit_near")
    return alerts
