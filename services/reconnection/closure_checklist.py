"""Tool 4, the case closure and review checklist: eleven steps and their branches, walked from
Step 1 with what is known today. The walk stops at the first step that needs work and says
what to do; a "restart at Step 1" branch is reported as such."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from pydantic import BaseModel

from shared.dates import add_months

CLOSURE_AFTER_MONTHS = 3
READY_STEP = 6  # "case ready for closure, review and learning"
CLOSE_STEP = 9  # closing the case in every system: where CaseClosed is emitted


class ClosureAnswers(BaseModel):
    """What the caseworker has recorded for Steps 2-11 (Step 1 comes from the dates)."""

    sufficient_local_support: bool | None = None
    low_risk_of_return: bool | None = None
    # The three-month follow-up (follow_up.py), recorded with Step 2; the walk does not read it.
    still_in_accommodation: bool | None = None
    engaged: bool | None = None
    returned_to_rough_sleeping: bool | None = None
    in_temporary_accommodation: bool | None = None
    positive_decision: bool | None = None  # from the Part VII decision; None: none received
    negative_decision_handover_done: bool = False
    client_informed: bool = False
    agencies_notified: bool = False
    records_closed: bool = False
    case_reviewed: bool = False
    learning_points_logged: bool = False


class StepResult(BaseModel):
    step: int
    question: str
    answer: str  # yes / no / done / pending
    next_step: int | None


class ClosureAssessment(BaseModel):
    path: list[StepResult]
    current_step: int
    action: str
    restart: bool = False  # a branch sent the case back to Step 1
    ready_for_closure: bool = False  # Step 6 reached
    complete: bool = False  # all eleven steps done

    @property
    def steps_done(self) -> set[int]:
        return {r.step for r in self.path if r.answer in ("yes", "no", "done")}


class Stop(NamedTuple):
    """Where the walk waits, what to do there, and whether a branch sent it back to Step 1."""

    step: int
    action: str
    restart: bool = False


# The steps one stretch of the walk answered, and where it stopped (None: walk on).
Stretch = tuple[list[StepResult], Stop | None]

SUPPORTED_LOCALLY = (
    "Supported enough in the local community (sufficient local support, low risk of return)?"
)
IN_TEMPORARY_ACCOMMODATION = "In temporary accommodation (local authority)?"
NEGATIVE_DECISION_HANDOVER = (
    "Handover of support for a possible negative decision to local agencies"
)
# Steps 7-11 (closure, review, learning points): done in order, each waiting on the one before.
CLOSING_STEPS = (
    (
        7,
        "client_informed",
        "Client informed of closure by letter?",
        "Write to the client confirming their local support and what to do in the "
        "event of issues or a crisis",
    ),
    (
        8,
        "agencies_notified",
        "All agencies (including the referring outreach team) advised?",
        "Contact every agency, including the originating outreach referrers, "
        "to advise of the closure",
    ),
    (
        9,
        "records_closed",
        "Case closed in every database system?",
        "Close the case in every system (CHAIN, shared folders)",
    ),
    (
        10,
        "case_reviewed",
        "Team reviewed the full case (highs, lows, learning)?",
        "Review the full case as a team: highs, lows and learning points",
    ),
    (
        11,
        "learning_points_logged",
        "Learning points entered into the central log?",
        "Enter the learning points into the shared learning log for the next team meeting",
    ),
)


def assess_closure(
    answers: ClosureAnswers, reconnected_on: date | None, today: date
) -> ClosureAssessment:
    path: list[StepResult] = []
    # Each stretch is pure, so all are worked out; the walk keeps those up to the first stop.
    for steps, stop in (
        step_1_three_months_on(reconnected_on, today),
        step_2_supported_locally(answers),
        steps_3_to_5_housing(answers),
        step_6_ready_for_closure(),
        steps_7_to_11_closing(answers),
    ):
        path.extend(steps)
        if stop is not None:
            return ClosureAssessment(
                path=path,
                current_step=stop.step,
                action=stop.action,
                restart=stop.restart,
                ready_for_closure=stop.step > READY_STEP,
                complete=False,
            )
    return ClosureAssessment(
        path=path,
        current_step=11,
        action="Closed and reviewed",
        ready_for_closure=True,
        complete=True,
    )


def three_months_on(reconnected_on: date | None, today: date) -> bool:
    return reconnected_on is not None and today >= add_months(reconnected_on, CLOSURE_AFTER_MONTHS)


def step_1_three_months_on(reconnected_on: date | None, today: date) -> Stretch:
    """Closure is only considered from 3 months after the reconnection; until then, support."""
    reached = three_months_on(reconnected_on, today)
    step = StepResult(
        step=1,
        question="At the 3 months post reconnection point?",
        answer="yes" if reached else "no",
        next_step=2 if reached else 1,
    )
    if reached:
        return [step], None
    return [step], Stop(
        1,
        "Continue support, ensuring local agencies are taking over; restart at Step 1 when done",
        restart=True,
    )


def step_2_supported_locally(answers: ClosureAnswers) -> Stretch:
    """Both sufficient local support and a low risk of return, or back to Step 1."""
    support, risk_low = answers.sufficient_local_support, answers.low_risk_of_return
    if support is None or risk_low is None:
        return [_pending(2, SUPPORTED_LOCALLY)], Stop(
            2, "Record whether local support is sufficient and the risk of return is low"
        )
    if not (support and risk_low):
        return [StepResult(step=2, question=SUPPORTED_LOCALLY, answer="no", next_step=1)], Stop(
            1,
            "Continue referrals to support agencies and clear obstacles to local support; "
            "restart at Step 1 when done",
            restart=True,
        )
    return [StepResult(step=2, question=SUPPORTED_LOCALLY, answer="yes", next_step=3)], None


def steps_3_to_5_housing(answers: ClosureAnswers) -> Stretch:
    """Someone in temporary accommodation waits on the homelessness decision (Steps 4-5)."""
    placed = answers.in_temporary_accommodation
    if placed is None:
        return [_pending(3, IN_TEMPORARY_ACCOMMODATION)], Stop(
            3, "Record whether the client is in temporary accommodation"
        )
    if not placed:
        return [
            StepResult(step=3, question=IN_TEMPORARY_ACCOMMODATION, answer="no", next_step=6)
        ], None
    steps, stop = steps_4_5_homelessness_decision(answers)
    placed_step = StepResult(step=3, question=IN_TEMPORARY_ACCOMMODATION, answer="yes", next_step=4)
    return [placed_step, *steps], stop


def steps_4_5_homelessness_decision(answers: ClosureAnswers) -> Stretch:
    """Without a positive decision (negative, or none yet), support for a negative one is
    handed over to local agencies before closure."""
    positive = answers.positive_decision is True
    decision = StepResult(
        step=4,
        question="Positive decision on the homelessness application?",
        answer="yes" if positive else "no",
        next_step=6 if positive else 5,
    )
    if positive:
        return [decision], None
    if not answers.negative_decision_handover_done:
        return [decision, _pending(5, NEGATIVE_DECISION_HANDOVER)], Stop(
            5,
            "Discuss with the team and hand over support for a possible negative "
            "decision to local agencies (floating support, local outreach)",
        )
    handed_over = StepResult(
        step=5, question=NEGATIVE_DECISION_HANDOVER, answer="done", next_step=6
    )
    return [decision, handed_over], None


def step_6_ready_for_closure() -> Stretch:
    step = StepResult(
        step=6, question="Case ready for closure, review and learning", answer="done", next_step=7
    )
    return [step], None


def steps_7_to_11_closing(answers: ClosureAnswers) -> Stretch:
    """Done in order: a later step recorded before an earlier one does not count yet."""
    steps: list[StepResult] = []
    for step, flag, question, action in CLOSING_STEPS:
        if not getattr(answers, flag):
            return [*steps, _pending(step, question)], Stop(step, action)
        next_step = step + 1 if step < 11 else None
        steps.append(StepResult(step=step, question=question, answer="done", next_step=next_step))
    return steps, None


def _pending(step: int, question: str) -> StepResult:
    return StepResult(step=step, question=question, answer="pending", next_step=None)
