"""The three-month follow-up of a reconnection (Tool 4, "Client still in accommodation and
engaged after 3 months"): the outcome Safe Connections is judged by.

It is recorded with the Step 2 answers, from the day Step 1 ("Is client at 3 months post
reconnection point?") says yes, with whether the client returned to rough sleeping (the
outcome a reconnection exists to prevent: one who did is not still in accommodation). Each new
or corrected answer is a new follow-up, numbered so its event id can be derived from the case
and the number; the same answers again are no new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.reconnection.closure_checklist import CLOSURE_AFTER_MONTHS, three_months_on
from services.reconnection.decisions import RuleViolation
from services.reconnection.model import FollowUpRecord
from shared.dates import add_months

HEADING = "Client still in accommodation and engaged after 3 months"


@dataclass(frozen=True)
class FollowUpAnswer:
    still_in_accommodation: bool | None
    engaged: bool | None
    returned_to_rough_sleeping: bool | None = None

    @property
    def given(self) -> bool:
        answers = (self.still_in_accommodation, self.engaged, self.returned_to_rough_sleeping)
        return any(answer is not None for answer in answers)


def check_follow_up_due(
    reconnected_on: date | None, today: date, given: FollowUpAnswer, field: str
) -> None:
    """Only a reconnected client is followed up, and not before the 3-month point (Step 1)."""
    if not given.given:
        return
    if reconnected_on is None:
        raise RuleViolation(field, "the client was never reconnected: there is no follow-up")
    if not three_months_on(reconnected_on, today):
        due = add_months(reconnected_on, CLOSURE_AFTER_MONTHS)
        raise RuleViolation(
            field, f"the follow-up is at 3 months post reconnection point: from {due}"
        )


def next_follow_up(
    before: FollowUpAnswer, after: FollowUpAnswer, last: FollowUpRecord | None, today: date
) -> FollowUpRecord | None:
    """A new follow-up when the answer is known and differs from what was recorded (the first
    answer, or a correction); None when nothing new was said."""
    if after.still_in_accommodation is None or after == before:
        return None
    return FollowUpRecord(number=(last.number if last else 0) + 1, on=today)


def check_follow_up_answer(answer: FollowUpAnswer) -> None:
    """A client who returned to rough sleeping is not still in accommodation: the follow-up
    may not say both (a reconnection that failed would be counted as holding)."""
    if answer.returned_to_rough_sleeping and answer.still_in_accommodation:
        raise RuleViolation(
            "returned_to_rough_sleeping",
            "a client who returned to rough sleeping is not still in accommodation: change "
            "one of the two answers",
        )
