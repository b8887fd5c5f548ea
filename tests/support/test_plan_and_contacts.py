"""Support plan rules and planned against actual contact hours."""

from __future__ import annotations

from datetime import date

import pytest

from services.support.contacts import HoursPeriod, contact_hours, planned_hours
from services.support.plan import (
    ActionOwner,
    Goal,
    NeedDomain,
    PlanAction,
    PlanError,
    Progress,
    plan_review_on,
    progress_share,
    validate_plan,
)

TODAY = date(2026, 1, 19)


def goal(
    domain: NeedDomain, owner: ActionOwner = ActionOwner.CLIENT, partner: str | None = None
) -> Goal:
    return Goal(domain, "goal", (PlanAction("act", owner, date(2026, 2, 1), partner),))


def test_derby_three_month_plan_is_reviewed_at_12_weeks() -> None:
    assert plan_review_on(date(2026, 1, 5)) == date(2026, 3, 30)


def test_a_valid_plan() -> None:
    validate_plan(
        [
            goal(NeedDomain.INCOME_AND_BENEFITS),
            goal(NeedDomain.MENTAL_HEALTH, ActionOwner.PARTNER_AGENCY, "CMHT"),
        ],
        {NeedDomain.INCOME_AND_BENEFITS, NeedDomain.MENTAL_HEALTH},
        TODAY,
    )


@pytest.mark.parametrize(
    ("goals", "field"),
    [
        ([], "goals"),
        ([goal(NeedDomain.SAFETY)], "goals.0.domain"),
        (
            [goal(NeedDomain.INCOME_AND_BENEFITS, ActionOwner.PARTNER_AGENCY)],
            "goals.0.actions.0.partner_agency",
        ),
    ],
)
def test_plan_errors_name_the_field(goals: list[Goal], field: str) -> None:
    with pytest.raises(PlanError) as error:
        validate_plan(goals, {NeedDomain.INCOME_AND_BENEFITS}, TODAY)
    assert error.value.field == field


def test_progress_share_ignores_dropped_actions() -> None:
    assert progress_share([Progress.DONE, Progress.IN_PROGRESS, Progress.DROPPED]) == 0.5
    assert progress_share([]) == 0.0


def test_planned_hours_follow_stage_changes() -> None:
    periods = [HoursPeriod(date(2026, 1, 5), 2.0), HoursPeriod(date(2026, 1, 19), 1.0)]
    # two weeks at 2 h, then one week at 1 h
    assert planned_hours(periods, date(2026, 1, 5), date(2026, 1, 26)) == 5.0


def test_planned_against_actual_this_week() -> None:
    periods = [HoursPeriod(date(2026, 1, 5), 2.0)]
    contacts = [(date(2026, 1, 6), 90), (date(2026, 1, 19), 60), (date(2026, 1, 20), 30)]
    hours = contact_hours(periods, contacts, date(2026, 1, 5), date(2026, 1, 20), 3.0)
    assert hours.actual_hours == 3.0
    assert hours.planned_hours == 4.57  # 16 days at 2 h a week
    assert (hours.planned_hours_this_week, hours.actual_hours_this_week) == (2.0, 1.5)
    assert hours.contacts_this_week == 2 and hours.contacts_short_this_week
