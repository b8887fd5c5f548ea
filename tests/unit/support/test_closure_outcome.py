"""A closure that names no tenancy outcome: the schema's default is one the API accepts."""

from __future__ import annotations

import pytest

from services.support.closure import ClosureError, tenancy_outcome, validate_closure
from services.support.schemas import ClosureIn
from shared.codes import ClosureReason as R
from shared.codes import TenancyOutcome as T


@pytest.mark.parametrize(
    ("reason", "has_tenancy", "expected"),
    [
        (R.TENANCY_SUSTAINED, True, T.SUSTAINED),
        (R.TENANCY_SUSTAINED, False, T.SUSTAINED),
        (R.EVICTED, True, T.EVICTED),
        (R.ABANDONED, True, T.ABANDONED),
        (R.PLAN_ACHIEVED, False, T.NOT_APPLICABLE),
        (R.DISENGAGED, False, T.NOT_APPLICABLE),
        (R.DISENGAGED, True, T.UNKNOWN),
        (R.SUPPORT_LIMIT_REACHED, True, T.UNKNOWN),
    ],
)
def test_the_outcome_left_out_is_the_one_the_reason_and_case_imply(
    reason: R, has_tenancy: bool, expected: T
) -> None:
    assert tenancy_outcome(reason, None, has_tenancy) is expected


@pytest.mark.parametrize("reason", [r for r in R if r is not R.RECONNECTED])
@pytest.mark.parametrize("has_tenancy", [True, False])
def test_the_schema_default_is_never_refused_by_the_closure_rules(
    reason: R, has_tenancy: bool
) -> None:
    """Before: ClosureIn defaulted to not_applicable, which validate_closure refused for a case
    with a tenancy and for tenancy_sustained, moved_on, evicted and abandoned."""
    default = ClosureIn(reason=reason, closed_by="leader-1").tenancy_outcome
    try:
        outcome = tenancy_outcome(reason, default, has_tenancy)
    except ClosureError as exc:  # the caller must say: the field is named, never a bad default
        assert exc.field == "tenancy_outcome" and str(exc).startswith("tenancy_outcome: required")
        return
    if outcome in (T.EVICTED, T.ABANDONED):
        return  # needs the evaluation, asked for by name
    validate_closure(reason, outcome, None, has_tenancy)


def test_a_reason_with_a_choice_asks_for_the_outcome() -> None:
    with pytest.raises(ClosureError) as error:
        tenancy_outcome(R.PLAN_ACHIEVED, None, True)
    assert str(error.value) == (
        "tenancy_outcome: required: plan_achieved needs one of: moved_on_planned, sustained"
    )
