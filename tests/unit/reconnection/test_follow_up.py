"""Tool 4's three-month follow-up, "Client still in accommodation and engaged after 3 months",
recorded from "Step 1 - Is client at 3 months post reconnection point?" on (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from services.reconnection.decisions import RuleViolation
from services.reconnection.follow_up import (
    FollowUpAnswer,
    check_follow_up_answer,
    check_follow_up_due,
    next_follow_up,
)
from services.reconnection.model import FollowUpRecord

RECONNECTED = date(2026, 3, 10)
HOUSED_AND_ENGAGED = FollowUpAnswer(still_in_accommodation=True, engaged=True)
UNKNOWN = FollowUpAnswer(None, None)


def test_the_follow_up_is_recorded_from_the_3_months_post_reconnection_point() -> None:
    check_follow_up_due(RECONNECTED, date(2026, 6, 10), HOUSED_AND_ENGAGED, "engaged")
    with pytest.raises(RuleViolation) as early:
        check_follow_up_due(RECONNECTED, date(2026, 6, 9), HOUSED_AND_ENGAGED, "engaged")
    assert early.value.field == "engaged" and "2026-06-10" in early.value.message
    with pytest.raises(RuleViolation):
        check_follow_up_due(None, date(2026, 6, 10), HOUSED_AND_ENGAGED, "engaged")
    check_follow_up_due(None, date(2026, 1, 1), UNKNOWN, "engaged")  # nothing said: no rule


def test_each_new_or_corrected_answer_is_a_new_follow_up_and_a_repeat_is_none() -> None:
    on = date(2026, 6, 10)
    first = next_follow_up(UNKNOWN, HOUSED_AND_ENGAGED, None, on)
    assert first == FollowUpRecord(number=1, on=on)
    assert next_follow_up(HOUSED_AND_ENGAGED, HOUSED_AND_ENGAGED, first, on) is None
    moved_out = FollowUpAnswer(still_in_accommodation=False, engaged=True)
    assert next_follow_up(HOUSED_AND_ENGAGED, moved_out, first, date(2026, 6, 12)) == (
        FollowUpRecord(number=2, on=date(2026, 6, 12))
    )
    # Engagement alone is no follow-up until accommodation is known.
    assert next_follow_up(UNKNOWN, FollowUpAnswer(None, True), None, on) is None


def test_a_return_to_rough_sleeping_is_part_of_the_follow_up_and_due_with_it() -> None:
    returned = FollowUpAnswer(False, False, returned_to_rough_sleeping=True)
    with pytest.raises(RuleViolation) as early:
        check_follow_up_due(RECONNECTED, date(2026, 6, 9), FollowUpAnswer(None, None, True), "x")
    assert early.value.field == "x"
    on = date(2026, 6, 10)
    check_follow_up_due(RECONNECTED, on, returned, "returned_to_rough_sleeping")
    moved_out = FollowUpAnswer(False, False)
    first = next_follow_up(UNKNOWN, moved_out, None, on)
    assert first == FollowUpRecord(number=1, on=on)
    # Learning later that the client went back to the streets is a correction: a new one.
    assert next_follow_up(moved_out, returned, first, on) == FollowUpRecord(number=2, on=on)
    assert next_follow_up(returned, returned, first, on) is None


def test_a_client_who_returned_to_rough_sleeping_is_not_still_in_accommodation() -> None:
    """A return to rough sleeping means the reconnection did not hold: the answers may not
    say both."""
    check_follow_up_answer(FollowUpAnswer(False, None, True))
    check_follow_up_answer(FollowUpAnswer(True, True, False))
    check_follow_up_answer(FollowUpAnswer(None, None, None))
    with pytest.raises(RuleViolation) as both:
        check_follow_up_answer(FollowUpAnswer(True, True, True))
    assert both.value.field == "returned_to_rough_sleeping"
    assert "not still in accommodation" in both.value.message
