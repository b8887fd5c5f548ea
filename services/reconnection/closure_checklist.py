"""Tool 4, the case closure and review checklist: eleven steps and their branches, walked from
Step 1 with what is known today. The walk stops at the first step that needs work and says
what to do; a "restart at Step 1" branch is reported as such."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from services.reconnection.dates import add_months

CLOSURE_AFTER_MONTHS = 3
READY_STEP = 6  # "case ready for closure, review and learning"
CLOSE_STEP = 9  # closing the case in every system: where CaseClosed is emitted


class ClosureAnswers(BaseModel):
    """What the caseworker has recorded for Steps 2-11 (Step 1 comes from the dates)."""

    sufficient_local_support: bool | None = None
    low_risk_of_return: bool | None = None
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


def assess_closure(
    answers: ClosureAnswers, reconnected_on: date | None, today: date
) -> ClosureAssessment:
    path: list[StepResult] = []

    def stop(step: int, action: str, restart: bool = False) -> ClosureAssessment:
        return ClosureAssessment(
            path=path,
            current_step=step,
            action=action,
            restart=restart,
            ready_for_closure=step > READY_STEP,
            complete=False,
        )

    # Pre-closure.
    three_months = reconnected_on is not None and today >= add_months(
        reconnected_on, CLOSURE_AFTER_MONTHS
    )
    path.append(
        StepResult(
            step=1,
            question="At the 3 months post reconnection point?",
            answer="yes" if three_months else "no",
            next_step=2 if three_months else 1,
        )
    )
    if not three_months:
        return stop(
            1,
            "Continue support, ensuring local agencies are taking over; "
            "restart at Step 1 when done",
            restart=True,
        )

    support, risk_low = answers.sufficient_local_support, answers.low_risk_of_return
    question = (
        "Supported enough in the local community (sufficient local support, low risk of return)?"
    )
    if support is None or risk_low is None:
        path.append(StepResult(step=2, question=question, answer="pending", next_step=None))
        return stop(2, "Record whether local support is sufficient and the risk of return is low")
    if not (support and risk_low):
        path.append(StepResult(step=2, question=question, answer="no", next_step=1))
        return stop(
            1,
            "Continue referrals to support agencies and clear obstacles to local support; "
            "restart at Step 1 when done",
            restart=True,
        )
    path.append(StepResult(step=2, question=question, answer="yes", next_step=3))

    question = "In temporary accommodation (local authority)?"
    if answers.in_temporary_accommodation is None:
        path.append(StepResult(step=3, question=question, answer="pending", next_step=None))
        return stop(3, "Record whether the client is in temporary accommodation")
    if answers.in_temporary_accommodation:
        path.append(StepResult(step=3, question=question, answer="yes", next_step=4))
        positive = answers.positive_decision is True
        path.append(
            StepResult(
                step=4,
                question="Positive decision on the homelessness application?",
                answer="yes" if positive else "no",
                next_step=6 if positive else 5,
            )
        )
        if not positive:
            question = "Handover of support for a possible negative decision to local agencies"
            if not answers.negative_decision_handover_done:
                path.append(StepResult(step=5, question=question, answer="pending", next_step=None))
                return stop(
                    5,
                    "Discuss with the team and hand over support for a possible negative "
                    "decision to local agencies (floating support, local outreach)",
                )
            path.append(StepResult(step=5, question=question, answer="done", next_step=6))
    else:
        path.append(StepResult(step=3, question=question, answer="no", next_step=6))
    path.append(
        StepResult(
            step=6,
            question="Case ready for closure, review and learning",
            answer="done",
            next_step=7,
        )
    )

    # Closure, review, learning points.
    for step, done, question, action in (
        (
            7,
            answers.client_informed,
            "Client informed of closure by letter?",
            "Write to the client confirming their local support and what to do in the "
            "event of issues or a crisis",
        ),
        (
            8,
            answers.agencies_notified,
            "All agencies (including the referring outreach team) advised?",
            "Contact every agency, including the originating outreach referrers, "
            "to advise of the closure",
        ),
        (
            9,
            answers.records_closed,
            "Case closed in every database system?",
            "Close the case in every system (CHAIN, shared folders)",
        ),
        (
            10,
            answers.case_reviewed,
            "Team reviewed the full case (highs, lows, learning)?",
            "Review the full case as a team: highs, lows and learning points",
        ),
        (
            11,
            answers.learning_points_logged,
            "Learning points entered into the central log?",
            "Enter the learning points into the shared learning log for the next team meeting",
        ),
    ):
        if not done:
            path.append(StepResult(step=step, question=question, answer="pending", next_step=None))
            return stop(step, action)
        path.append(
            StepResult(
                step=step,
                question=question,
                answer="done",
                next_step=step + 1 if step < 11 else None,
            )
        )
    return ClosureAssessment(
        path=path,
        current_step=11,
        action="Closed and reviewed",
        ready_for_closure=True,
        complete=True,
    )
