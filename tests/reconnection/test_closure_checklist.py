"""Tool 4's eleven steps and their branches."""

from __future__ import annotations

from datetime import date

import pytest

from services.reconnection.closure_checklist import ClosureAnswers, assess_closure

RECONNECTED = date(2026, 3, 10)
THREE_MONTHS = date(2026, 6, 10)
READY = {"sufficient_local_support": True, "low_risk_of_return": True}
CLOSING = (
    "client_informed",
    "agencies_notified",
    "records_closed",
    "case_reviewed",
    "learning_points_logged",
)


def walk(today: date = THREE_MONTHS, reconnected: date | None = RECONNECTED, **answers):  # type: ignore[no-untyped-def]
    return assess_closure(ClosureAnswers(**answers), reconnected, today)


def path(assessment) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(s.step, s.answer) for s in assessment.path]


def test_step_1_before_three_months_continues_support_and_restarts() -> None:
    result = walk(today=date(2026, 6, 9), **READY)
    assert (result.current_step, result.restart) == (1, True)
    assert path(result) == [(1, "no")]
    assert "local agencies" in result.action
    assert walk(reconnected=None).current_step == 1


@pytest.mark.parametrize(
    ("answers", "step", "restart"),
    [
        ({}, 2, False),  # not yet answered
        ({"sufficient_local_support": True}, 2, False),
        ({"sufficient_local_support": False, "low_risk_of_return": True}, 1, True),
        ({"sufficient_local_support": True, "low_risk_of_return": False}, 1, True),
    ],
)
def test_step_2_supported_enough(answers, step, restart) -> None:
    result = walk(**answers)
    assert (result.current_step, result.restart) == (step, restart)


def test_not_in_temporary_accommodation_goes_straight_to_step_6() -> None:
    result = walk(**READY, in_temporary_accommodation=False)
    assert path(result) == [(1, "yes"), (2, "yes"), (3, "no"), (6, "done"), (7, "pending")]
    assert result.ready_for_closure and result.current_step == 7


def test_temporary_accommodation_with_positive_decision_skips_the_handover() -> None:
    result = walk(**READY, in_temporary_accommodation=True, positive_decision=True)
    assert path(result)[2:5] == [(3, "yes"), (4, "yes"), (6, "done")]


@pytest.mark.parametrize("decision", [False, None])  # negative, or none received yet
def test_no_positive_decision_needs_a_handover_to_local_agencies(decision) -> None:
    result = walk(**READY, in_temporary_accommodation=True, positive_decision=decision)
    assert path(result)[2:] == [(3, "yes"), (4, "no"), (5, "pending")]
    assert result.current_step == 5 and "negative decision" in result.action
    handed_over = walk(
        **READY,
        in_temporary_accommodation=True,
        positive_decision=decision,
        negative_decision_handover_done=True,
    )
    assert path(handed_over)[4:6] == [(5, "done"), (6, "done")]


def test_step_3_unanswered_waits() -> None:
    assert walk(**READY).current_step == 3


@pytest.mark.parametrize("done", range(len(CLOSING) + 1))
def test_closure_review_and_learning_in_order(done) -> None:
    flags = dict.fromkeys(CLOSING[:done], True)
    result = walk(**READY, in_temporary_accommodation=False, **flags)
    assert result.current_step == (7 + done if done < len(CLOSING) else 11)
    assert result.complete is (done == len(CLOSING))


def test_later_steps_do_not_count_before_earlier_ones() -> None:
    result = walk(**READY, in_temporary_accommodation=False, records_closed=True)
    assert result.current_step == 7
