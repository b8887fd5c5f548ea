"""Closure codes and the safety-net evaluation of failed tenancies."""

from __future__ import annotations

import pytest

from services.support.closure import (
    BreakdownPoint,
    ClosureError,
    Evaluation,
    involved_organisations,
    validate_closure,
)
from shared.codes import ClosureReason as R
from shared.codes import TenancyOutcome as T

EVALUATION = Evaluation(
    BreakdownPoint.ARREARS,
    "Benefit stopped after a missed review; arrears grew for 10 weeks",
    "An arrears alert at 4 weeks and a benefits check at the stage 1 review",
    reviewed_with_client=True,
)


@pytest.mark.parametrize(
    ("reason", "outcome", "evaluation", "has_tenancy"),
    [
        (R.TENANCY_SUSTAINED, T.SUSTAINED, None, True),
        (R.PLAN_ACHIEVED, T.SUSTAINED, None, True),
        (R.MOVED_ON, T.MOVED_ON_PLANNED, None, True),
        (R.DISENGAGED, T.UNKNOWN, None, True),
        (R.NO_PROGRESS, T.SUSTAINED, None, True),
        (R.TRANSFERRED, T.NOT_APPLICABLE, None, False),
        (R.DECEASED, T.NOT_APPLICABLE, None, False),
        (R.SUPPORT_LIMIT_REACHED, T.SUSTAINED, None, True),
        (R.EVICTED, T.EVICTED, EVALUATION, True),
        (R.ABANDONED, T.ABANDONED, EVALUATION, True),
        (R.DISENGAGED, T.ABANDONED, EVALUATION, True),
    ],
)
def test_valid_closures(
    reason: R, outcome: T, evaluation: Evaluation | None, has_tenancy: bool
) -> None:
    validate_closure(reason, outcome, evaluation, has_tenancy)


@pytest.mark.parametrize(
    ("reason", "outcome", "evaluation", "has_tenancy", "field"),
    [
        (R.EVICTED, T.EVICTED, None, True, "evaluation"),  # where did it break down?
        (R.DISENGAGED, T.ABANDONED, None, True, "evaluation"),
        (R.EVICTED, T.SUSTAINED, EVALUATION, True, "tenancy_outcome"),
        (R.TENANCY_SUSTAINED, T.EVICTED, EVALUATION, True, "tenancy_outcome"),
        (R.PLAN_ACHIEVED, T.NOT_APPLICABLE, None, True, "tenancy_outcome"),
        (R.RECONNECTED, T.NOT_APPLICABLE, None, False, "reason"),
        (
            R.EVICTED,
            T.EVICTED,
            Evaluation(BreakdownPoint.OTHER, "x", " ", False),
            True,
            "evaluation.what_could_have_prevented_it",
        ),
    ],
)
def test_invalid_closures_name_the_field(
    reason: R, outcome: T, evaluation: Evaluation | None, has_tenancy: bool, field: str
) -> None:
    with pytest.raises(ClosureError) as error:
        validate_closure(reason, outcome, evaluation, has_tenancy)
    assert error.value.field == field


def test_every_involved_agency_hears_of_the_closure() -> None:
    assert involved_organisations(
        "derby-council", "probation-east", "derby-homes:T-100", ["derby-homes"]
    ) == ["derby-council", "derby-homes", "probation-east"]
    assert involved_organisations("derby-council", None, None) == ["derby-council"]
