"""Review points and reminders, with the seed's own numbers on concrete dates."""

from __future__ import annotations

from datetime import date

from services.support.review_calendar import (
    Notice,
    ReviewPoint,
    follow_up_point,
    notices,
    review_points,
)
from shared.codes import Stage
from shared.dates import add_months

OPENED = date(2026, 1, 5)  # a Monday
LIMIT = date(2028, 1, 5)


def test_stage_1_is_reviewed_at_12_weeks_with_a_reminder_7_days_ahead() -> None:
    [point] = review_points(Stage.STAGE_1, OPENED, OPENED, LIMIT)
    assert point.point == "stage_1_week_12"
    assert point.due_on == date(2026, 3, 30)
    assert point.reminder_on == date(2026, 3, 23)
    assert not point.weigh_against_waiting_list


def test_stage_2_reviews_at_6_12_15_18_months_weighed_against_waiting_list() -> None:
    points = review_points(Stage.STAGE_2, date(2026, 3, 30), OPENED, LIMIT)
    assert [(p.point, p.due_on) for p in points] == [
        ("stage_2_month_6", date(2026, 7, 5)),
        ("stage_2_month_12", date(2027, 1, 5)),
        ("stage_2_month_15", date(2027, 4, 5)),
        ("stage_2_month_18", date(2027, 7, 5)),
        ("support_limit", LIMIT),
    ]
    assert all(p.weigh_against_waiting_list for p in points[:4])


def test_stage_2_entered_late_skips_review_points_already_past() -> None:
    points = review_points(Stage.STAGE_2, date(2027, 2, 1), OPENED, LIMIT)
    assert [p.point for p in points] == ["stage_2_month_15", "stage_2_month_18", "support_limit"]


def test_stage_2_straight_from_the_supported_housing_panel() -> None:
    points = review_points(Stage.STAGE_2, OPENED, OPENED, LIMIT)
    assert points[0].due_on == date(2026, 7, 5)


def test_stage_3_every_6_months_until_the_two_year_limit() -> None:
    points = review_points(Stage.STAGE_3, date(2026, 7, 5), OPENED, LIMIT)
    assert [(p.point, p.due_on) for p in points] == [
        ("stage_3_month_6", date(2027, 1, 5)),
        ("stage_3_month_12", date(2027, 7, 5)),
        ("support_limit", LIMIT),
    ]


def test_stage_1_entered_just_before_the_limit_reviews_at_the_limit() -> None:
    points = review_points(Stage.STAGE_1, date(2027, 12, 1), OPENED, LIMIT)
    assert [(p.point, p.due_on) for p in points] == [("support_limit", LIMIT)]


def test_month_arithmetic_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 5), 24) == LIMIT


def test_notices_reminder_then_due() -> None:
    point = ReviewPoint("stage_1_week_12", Stage.STAGE_1, date(2026, 3, 30))
    assert notices(point, OPENED) == [
        (Notice.REMINDER, date(2026, 3, 23)),
        (Notice.DUE, date(2026, 3, 30)),
    ]
    # Inside the reminder window the reminder still goes (at once); on the day only the notice.
    assert [n for n, _ in notices(point, date(2026, 3, 27))] == [Notice.REMINDER, Notice.DUE]
    assert notices(point, date(2026, 3, 30)) == [(Notice.DUE, date(2026, 3, 30))]


def test_follow_up_after_continue() -> None:
    assert follow_up_point(Stage.STAGE_1, date(2026, 3, 30), LIMIT).due_on == date(2026, 4, 27)
    stage_2 = follow_up_point(Stage.STAGE_2, date(2027, 7, 5), LIMIT)
    assert (stage_2.due_on, stage_2.weigh_against_waiting_list) == (date(2027, 10, 5), True)
    assert follow_up_point(Stage.STAGE_3, date(2027, 9, 1), LIMIT).point == "support_limit"
