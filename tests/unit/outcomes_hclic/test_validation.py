"""The per-case errors a caseworker fixes before the council submits its H-CLIC return:
missing mandatory values, impossible dates, events out of order, a duty ended without a
reason (issue 18, "What to build" 3)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.outcomes.hclic.extract import extract
from services.outcomes.hclic.fields import Section, Source
from services.outcomes.hclic.validation import CaseError, validate
from services.outcomes.histories import fold_case
from shared.codes import ClosureReason as R
from shared.codes import TenancyOutcome as T
from tests.unit.outcomes_hclic.cases import COUNCIL_A, KEY, Q1, case, case_facts

CLEAN: dict[str, Any] = {
    "referred": date(2026, 4, 10),
    "allocated": date(2026, 4, 12),
    "first_contact": date(2026, 4, 14),
    "plan": date(2026, 4, 20),
    "reviews": (("6_weeks", date(2026, 6, 1)),),
    "closed": date(2026, 6, 15),
    "reason": R.TENANCY_SUSTAINED,
    "outcome": T.SUSTAINED,
    "tenancy_id": "t-1",
}


def errors(made_on: date | None = None, **changes: Any) -> list[CaseError]:
    history = case("c1", **{**CLEAN, **changes})
    return validate(extract([history], COUNCIL_A, Q1, key=KEY, made_on=made_on))


def only(found: list[CaseError]) -> CaseError:
    assert len(found) == 1, found
    return found[0]


def test_a_complete_case_has_no_errors() -> None:
    assert errors() == []


def test_a_case_with_no_referral_names_the_referral_date() -> None:
    """A case opened in Hearth at its stage, with no referral: its closure puts it in."""
    facts = case_facts(
        "c1",
        referred=None,
        allocated=date(2026, 4, 2),
        first_contact=date(2026, 4, 3),
        closed=date(2026, 5, 1),
        reason=R.DISENGAGED,
    )
    found = validate(extract([fold_case("c1", facts)], COUNCIL_A, Q1, key=KEY))
    assert [(e.section, e.field, e.fixable_in) for e in found] == [
        (Section.MAIN, "referral_date", Source.REFERRAL),
        (Section.MAIN, "ASSESS_DATE", Source.ASSESSMENT),
    ]
    assert found[0] == CaseError(
        "c1",
        Section.MAIN,
        "referral_date",
        "No referral date: record the day the household was referred or approached.",
        Source.REFERRAL,
    )


def test_a_referral_not_assessed_by_the_quarters_end() -> None:
    error = only(
        errors(route=None, allocated=None, first_contact=None, plan=None, reviews=(), closed=None)
    )
    assert (error.section, error.field, error.fixable_in) == (
        Section.MAIN,
        "ASSESS_DATE",
        Source.ASSESSMENT,
    )
    assert (
        error.message == "The referral was not assessed by the quarter's end (2026-06-30): "
        "assess it."
    )


def test_a_case_closed_without_an_allocation() -> None:
    error = only(errors(allocated=None, first_contact=None, plan=None, reviews=()))
    assert (error.section, error.field, error.fixable_in) == (
        Section.MAIN,
        "duty_start_date",
        Source.ALLOCATION,
    )
    assert error.message == (
        "Closed on 2026-06-15 but never allocated to a caseworker: record the allocation."
    )


@pytest.mark.parametrize(
    ("reason", "outcome", "why"),
    [
        (
            R.CUSTODY,
            None,
            "the closure reason custody has no H-CLIC counterpart, so the council enters its "
            "own reason in its return",
        ),
        (
            R.PLAN_ACHIEVED,
            T.NOT_APPLICABLE,
            "the closure reason plan_achieved needs a tenancy "
            "outcome of sustained, moved_on_planned, evicted or abandoned to say how the duty "
            "ended (it is not_applicable); record it",
        ),
        (None, None, "the closure records no reason; record one"),
    ],
)
def test_a_duty_ended_without_a_reason_code(reason: R | None, outcome: T | None, why: str) -> None:
    error = only(errors(reason=reason, outcome=outcome))
    assert (error.section, error.field, error.fixable_in) == (
        Section.PREVENTION,
        "reason_duty_ended",
        Source.CLOSURE,
    )
    assert error.message == f"The duty ended on 2026-06-15 without a reason H-CLIC accepts: {why}."


def test_a_relief_duty_ended_by_eviction_needs_the_councils_decision() -> None:
    error = only(errors(route="reconnection", reason=R.EVICTED, outcome=T.EVICTED))
    assert (error.section, error.field) == (Section.RELIEF, "reason_duty_ended")
    assert "a decision the council takes" in error.message


def test_support_closed_with_no_contact_logged() -> None:
    error = only(errors(first_contact=None))
    assert (error.section, error.field, error.fixable_in) == (
        Section.ASSISTANCE,
        "first_contact_date",
        Source.CONTACTS,
    )
    assert (
        error.message == "Support closed on 2026-06-15 with no contact logged: log the "
        "contacts made."
    )


def test_an_unknown_support_need_code() -> None:
    error = only(errors(needs=("mental_health", "gambling")))
    assert (error.section, error.field, error.fixable_in) == (
        Section.SUPPORT,
        "support_needs",
        Source.SUPPORT_NEEDS,
    )
    assert error.message == "Unknown support need code gambling: choose one from the list."


def test_hearths_own_needs_are_not_errors() -> None:
    assert errors(needs=("budgeting_debt", "benefits")) == []


def test_a_date_before_1990() -> None:
    found = errors(
        referred=date(1989, 12, 31),
        assessed=date(2026, 4, 10),
        closed=None,
        facing=date(1985, 1, 1),
    )
    assert [(e.field, e.message) for e in found] == [
        ("referral_date", "Referral date 1989-12-31 is before 1990: correct it."),
        (
            "date_facing_homelessness",
            "Date facing homelessness 1985-01-01 is before 1990: correct it.",
        ),
    ]


def test_a_date_in_the_future_of_the_quarters_end() -> None:
    """The contact typed as 2062 is left out of the return, and named as an error."""
    error = only(errors(closed=None, plan=date(2062, 4, 20), reviews=()))
    assert (error.section, error.field, error.fixable_in) == (
        Section.ASSISTANCE,
        "plan_agreed_date",
        Source.PLAN,
    )
    assert error.message == (
        "Plan agreed date 2062-04-20 is after the quarter's end (2026-06-30): a date in the "
        "future; correct it."
    )


def test_a_later_event_is_not_an_error_when_the_return_is_made_after_it() -> None:
    """Made on 25 July: a closure on 20 July is next quarter's, not a date in the future."""
    assert errors(closed=date(2026, 7, 20), made_on=date(2026, 7, 25)) == []
    error = only(errors(closed=date(2026, 7, 20)))
    assert error.message == (
        "Closure date 2026-07-20 is after the quarter's end (2026-06-30): a date in the "
        "future; correct it."
    )
    later = only(errors(closed=date(2026, 8, 2), made_on=date(2026, 7, 25)))
    assert later.message == (
        "Closure date 2026-08-02 is after the day this extract was made (2026-07-25): a date "
        "in the future; correct it."
    )


def test_a_closure_before_the_referral() -> None:
    found = errors(
        referred=date(2026, 5, 1),
        allocated=date(2026, 5, 2),
        first_contact=date(2026, 5, 3),
        plan=date(2026, 5, 4),
        reviews=(),
        closed=date(2026, 4, 30),
    )
    error = only(found)
    assert (error.section, error.field, error.fixable_in) == (
        Section.PREVENTION,
        "duty_end_date",
        Source.CLOSURE,
    )
    assert error.message == (
        "Closed on 2026-04-30, before the referral on 2026-05-01: correct one of them."
    )


def test_an_allocation_before_the_referral() -> None:
    error = only(errors(allocated=date(2026, 4, 9)))
    assert (error.section, error.field, error.fixable_in) == (
        Section.MAIN,
        "duty_start_date",
        Source.ALLOCATION,
    )
    assert error.message == (
        "Allocated on 2026-04-09, before the referral on 2026-04-10: correct one of them."
    )


def test_a_first_contact_before_the_referral() -> None:
    error = only(errors(first_contact=date(2026, 4, 8)))
    assert (error.field, error.fixable_in) == ("first_contact_date", Source.CONTACTS)


def test_a_plan_before_the_allocation() -> None:
    error = only(errors(plan=date(2026, 4, 11)))
    assert (error.section, error.field, error.fixable_in) == (
        Section.ASSISTANCE,
        "plan_agreed_date",
        Source.PLAN,
    )
    assert error.message == (
        "Support plan agreed on 2026-04-11, before the allocation on 2026-04-12: correct the "
        "plan's date."
    )


def test_a_review_completed_before_the_plan() -> None:
    error = only(errors(reviews=(("6_weeks", date(2026, 4, 19)),)))
    assert (error.section, error.field, error.fixable_in) == (
        Section.ASSISTANCE,
        "reviews_completed",
        Source.REVIEWS,
    )
    assert error.message == (
        "Review 6_weeks completed on 2026-04-19, before the support plan was agreed on "
        "2026-04-20: correct the review's date."
    )


def test_errors_follow_the_extracts_order_and_name_the_case() -> None:
    bad = [case(f"c{n}", **{**CLEAN, "first_contact": None}) for n in range(3)]
    out = extract(bad, COUNCIL_A, Q1, key=KEY)
    assert [e.case_id for e in validate(out)] == [c.case_id for c in out.cases]


def test_a_closure_typed_before_the_quarter_still_surfaces() -> None:
    """Referred in May, closed "last year": the case stays in its referral's quarter."""
    error = only(
        errors(
            referred=date(2026, 5, 1),
            allocated=date(2026, 5, 2),
            first_contact=date(2026, 5, 3),
            plan=date(2026, 5, 4),
            reviews=(),
            closed=date(2025, 5, 1),
        )
    )
    assert (error.field, error.fixable_in) == ("duty_end_date", Source.CLOSURE)
    assert error.message.startswith("Closed on 2025-05-01, before the referral on 2026-05-01")
