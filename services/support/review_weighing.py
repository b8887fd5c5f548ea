"""Weighing a review against the referrals waiting for service (pure).

From the staged model (Appendix 1):
- Stage 1: "Where Support needs assessment has identified a longer term support plan, then
  support plan will be reviewed at 12 weeks. At this point, any new support needs identified,
  will be assessed for priority against referrals waiting for service."
- Stage 2: "Support will end when support plan has been achieved/or when review at 6,12, 15,
  and 18 months is assessed for priority against referrals waiting for service."

The team leader ranks the case against the waiting list (allocation's `/waiting-list` shows
both) and says which comes first. Crisis intervention is "up to 12 weeks", so new needs that
rank after the referrals waiting do not keep the case in Stage 1: it steps down or closes. At
a Stage 2 review the whole case is weighed: if the referrals waiting come first, support ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.support.plan import NeedDomain
from services.support.stages import ReviewOutcome, StageError
from shared.codes import Stage


class WaitingListPriority(StrEnum):
    CASE_KEEPS_PRIORITY = "case_keeps_priority"
    WAITING_REFERRALS_FIRST = "waiting_referrals_first"


@dataclass(frozen=True)
class Weighing:
    """Whether the review was weighed against referrals waiting, and what that decided."""

    weighed: bool
    reason: str


def weigh_review(
    stage: Stage,
    weighed_point: bool,
    outcome: ReviewOutcome,
    new_needs: Sequence[NeedDomain],
    priority: WaitingListPriority | None,
) -> Weighing:
    """The review's weighing; a StageError names the field when the review cannot be
    completed as given (no priority where one is needed, an outcome the priority rules out).

    `weighed_point`: the review point is itself weighed (Stage 2's 6, 12, 15 and 18 months)."""
    needs = ", ".join(sorted(set(new_needs)))
    new_in_stage_1 = stage is Stage.STAGE_1 and bool(new_needs)
    if not (weighed_point or new_in_stage_1):
        if stage is Stage.STAGE_1:
            return Weighing(False, "no new support needs identified: nothing to weigh")
        return Weighing(False, "not a review weighed against referrals waiting")
    if priority is None:
        if new_in_stage_1:
            why = f"required: new support needs identified ({needs}) are assessed for "
            raise StageError("waiting_list_priority", why + "priority against referrals waiting")
        raise StageError(
            "waiting_list_priority", "required: this review is weighed against referrals waiting"
        )
    assessed = f"new support needs ({needs})" if new_in_stage_1 else "the case"
    if priority is WaitingListPriority.CASE_KEEPS_PRIORITY:
        return Weighing(
            True, f"{assessed} assessed for priority against referrals waiting: kept priority"
        )
    if new_in_stage_1:
        if outcome is ReviewOutcome.CONTINUE:
            raise StageError(
                "outcome",
                "referrals waiting come first: the new needs do not keep the case in stage 1; "
                "step down, change stage or close",
            )
        return Weighing(
            True,
            f"{assessed} assessed for priority against referrals waiting: referrals waiting "
            "come first, so the case leaves stage 1",
        )
    if outcome is not ReviewOutcome.CLOSE:
        raise StageError(
            "outcome", "referrals waiting come first: support ends at this review; close"
        )
    return Weighing(
        True,
        f"{assessed} assessed for priority against referrals waiting: referrals waiting come "
        "first, so support ends",
    )
