"""A review weighed against the referrals waiting for service (staged model, Appendix 1)."""

from __future__ import annotations

import pytest

from services.support.plan import NeedDomain
from services.support.review_weighing import WaitingListPriority, weigh_review
from services.support.stages import ReviewOutcome, StageError
from shared.codes import Stage

KEEPS = WaitingListPriority.CASE_KEEPS_PRIORITY
WAITING_FIRST = WaitingListPriority.WAITING_REFERRALS_FIRST
NEW_NEEDS = [NeedDomain.MENTAL_HEALTH, NeedDomain.BUDGETING_AND_ARREARS]


def test_stage_1_new_needs_must_be_assessed_for_priority() -> None:
    """Stage 1: "Where Support needs assessment has identified a longer term support plan, then
    support plan will be reviewed at 12 weeks.  At this point, any new support needs
    identified, will be assessed for priority against referrals waiting for service."
    Before, the 12-week review took new needs and never weighed them."""
    with pytest.raises(StageError) as error:
        weigh_review(Stage.STAGE_1, False, ReviewOutcome.CONTINUE, NEW_NEEDS, None)
    assert error.value.field == "waiting_list_priority"
    assert "referrals waiting" in str(error.value)


def test_stage_1_without_new_needs_has_nothing_to_weigh() -> None:
    """Only "new support needs identified" at 12 weeks are assessed against the waiting list."""
    weighing = weigh_review(Stage.STAGE_1, False, ReviewOutcome.CONTINUE, [], None)
    assert not weighing.weighed
    assert weighing.reason == "no new support needs identified: nothing to weigh"


def test_stage_1_new_needs_that_keep_priority_keep_the_case_in_stage_1() -> None:
    """Stage 1, 12 weeks: new needs "assessed for priority against referrals waiting"."""
    weighing = weigh_review(Stage.STAGE_1, False, ReviewOutcome.CONTINUE, NEW_NEEDS, KEEPS)
    assert weighing.weighed
    assert weighing.reason == (
        "new support needs (budgeting_and_arrears, mental_health) assessed for priority "
        "against referrals waiting: kept priority"
    )


def test_stage_1_new_needs_behind_the_waiting_referrals_do_not_keep_the_case_in_stage_1() -> None:
    """Stage 1 is "Intensive assessment and support" for "up to 12 weeks": at the 12-week
    review, new needs that rank after the referrals waiting for service do not keep the case in
    stage 1."""
    with pytest.raises(StageError) as error:
        weigh_review(Stage.STAGE_1, False, ReviewOutcome.CONTINUE, NEW_NEEDS, WAITING_FIRST)
    assert error.value.field == "outcome"
    for outcome in (ReviewOutcome.STEP_DOWN, ReviewOutcome.CHANGE_STAGE, ReviewOutcome.CLOSE):
        weighing = weigh_review(Stage.STAGE_1, False, outcome, NEW_NEEDS, WAITING_FIRST)
        assert weighing.reason.endswith("referrals waiting come first, so the case leaves stage 1")


@pytest.mark.parametrize("months", [6, 12, 15, 18])
def test_stage_2_support_ends_when_the_waiting_referrals_come_first(months: int) -> None:
    """Stage 2: "Support will end when support plan has been achieved/or when review at 6,12,
    15, and 18 months is assessed for priority against referrals waiting for service"."""
    with pytest.raises(StageError) as error:
        weigh_review(Stage.STAGE_2, True, ReviewOutcome.CONTINUE, [], None)
    assert error.value.field == "waiting_list_priority"
    with pytest.raises(StageError) as error:
        weigh_review(Stage.STAGE_2, True, ReviewOutcome.CONTINUE, [], WAITING_FIRST)
    assert error.value.field == "outcome"
    ended = weigh_review(Stage.STAGE_2, True, ReviewOutcome.CLOSE, [], WAITING_FIRST)
    assert ended.reason.endswith("referrals waiting come first, so support ends")
    kept = weigh_review(Stage.STAGE_2, True, ReviewOutcome.CONTINUE, [], KEEPS)
    assert kept.weighed and kept.reason.startswith("the case assessed for priority")


def test_stage_3_reviews_are_not_weighed() -> None:
    weighing = weigh_review(Stage.STAGE_3, False, ReviewOutcome.CONTINUE, NEW_NEEDS, None)
    assert not weighing.weighed
