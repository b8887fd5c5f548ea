"""When reviews fall due and when their reminders go out (pure: dates are passed in).

- Stage 1: the support plan is reviewed at 12 weeks from the stage's start.
- Stage 2: reviews at 6, 12, 15 and 18 months from the start of support (stage 2 begins at
  about 3 months), each weighed against referrals waiting; only those after the stage began.
- Stage 3: a review every 6 months in the stage.
- Stages 2 and 3 end with a review at the two-year support limit (or the override date).
  So does stage 1 when its 12-week review would fall past the limit.
- A follow-up review when a review decides to continue and nothing else is pending.
- A case taken over at a stage that began before Hearth keeps the reviews from today on.
Every review has a reminder 7 days ahead and a notice on the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from shared.codes import Stage
from shared.dates import add_months

REMINDER_DAYS = 7
STAGE_1_REVIEW_WEEKS = 12
STAGE_2_REVIEW_MONTHS = (6, 12, 15, 18)
STAGE_3_REVIEW_EVERY_MONTHS = 6
SUPPORT_LIMIT_POINT = "support_limit"
FOLLOW_UP = {Stage.STAGE_1: timedelta(weeks=4)}  # stages 2 and 3 follow up in months
FOLLOW_UP_MONTHS = {Stage.STAGE_2: 3, Stage.STAGE_3: 6}


class Notice:
    REMINDER = "reminder"
    DUE = "due"


@dataclass(frozen=True)
class ReviewPoint:
    point: str  # e.g. stage_1_week_12, stage_2_month_6, stage_3_month_6, support_limit
    stage: Stage
    due_on: date
    weigh_against_waiting_list: bool = False

    @property
    def reminder_on(self) -> date:
        return self.due_on - timedelta(days=REMINDER_DAYS)


def review_points(
    stage: Stage, stage_started_on: date, support_started_on: date, limit: date
) -> list[ReviewPoint]:
    """Every review of a stage entered on `stage_started_on`, in date order, before `limit`."""
    points: list[ReviewPoint] = []
    if stage is Stage.STAGE_1:
        due = stage_started_on + timedelta(weeks=STAGE_1_REVIEW_WEEKS)
        points.append(ReviewPoint(f"stage_1_week_{STAGE_1_REVIEW_WEEKS}", stage, due))
    elif stage is Stage.STAGE_2:
        for months in STAGE_2_REVIEW_MONTHS:
            due = add_months(support_started_on, months)
            if due > stage_started_on:
                points.append(ReviewPoint(f"stage_2_month_{months}", stage, due, True))
    else:
        months = STAGE_3_REVIEW_EVERY_MONTHS
        while (due := add_months(stage_started_on, months)) < limit:
            points.append(ReviewPoint(f"stage_3_month_{months}", stage, due))
            months += STAGE_3_REVIEW_EVERY_MONTHS
    points = [p for p in points if p.due_on < limit]
    if stage is not Stage.STAGE_1 or not points:  # stage 1 entered just before the limit
        points.append(ReviewPoint(SUPPORT_LIMIT_POINT, stage, limit))
    return points


def points_taken_over(points: list[ReviewPoint], today: date) -> list[ReviewPoint]:
    """The reviews of a stage that began before Hearth took the case on: those before today
    were held outside Hearth, except stage 1's 12-week review and the support limit, which
    are due (overdue) until someone completes them."""
    return [
        p
        for p in points
        if p.due_on >= today or p.stage is Stage.STAGE_1 or p.point == SUPPORT_LIMIT_POINT
    ]


def follow_up_point(stage: Stage, completed_on: date, limit: date) -> ReviewPoint:
    """The next review after one that decided to continue, never past the limit."""
    if stage in FOLLOW_UP:
        due = completed_on + FOLLOW_UP[stage]
    else:
        due = add_months(completed_on, FOLLOW_UP_MONTHS[stage])
    if due >= limit:
        return ReviewPoint(SUPPORT_LIMIT_POINT, stage, limit)
    return ReviewPoint(f"{stage}_follow_up", stage, due, stage is Stage.STAGE_2)


def notices(point: ReviewPoint, today: date) -> list[tuple[str, date]]:
    """(notice, date) pairs to schedule. The reminder is dropped once the review itself is due
    (it would say nothing the due notice does not); dates already past fire at once."""
    planned = [(Notice.DUE, point.due_on)]
    if point.due_on > today:
        planned.insert(0, (Notice.REMINDER, point.reminder_on))
    return planned
