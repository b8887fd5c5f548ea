"""The phase state machine, the checklists and the caseworker actions, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.reconnection import actions, checklists
from services.reconnection.decisions import RuleViolation
from services.reconnection.model import ItemStatus, PackItem, ReconnectionCase, SpendCategory
from services.reconnection.opening import on_case_allocated, on_referral_assessed
from services.reconnection.phases import ORDER, Phase, PhaseBlocked, PhaseFacts, complete
from shared.codes import ClosureReason, Route
from shared.events.catalogue import CaseAllocated, ReferralAssessed, Referrer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ASSESSED = ReferralAssessed(
    case_id="c1",
    person_id="p1",
    route=Route.RECONNECTION,
    reasons=[],
    referrer=Referrer(organisation="outreach", source="outreach_team"),
    received_at=NOW,
    referring_area="Hackney",
)
ALLOCATED = CaseAllocated(
    case_id="c1",
    person_id="p1",
    route=Route.RECONNECTION,
    lead_worker_id="w1",
    team_id="t",
    team_leader_id="l",
    target_hours_per_week=2,
    allocated_at=NOW,
)


def test_the_eight_phases_in_order() -> None:
    assert [p.value for p in ORDER] == [
        "identify",
        "allocate",
        "engage",
        "reconnection_planning",
        "reconnection",
        "intensive_support",
        "step_down",
        "case_closure_and_review",
    ]


@pytest.mark.parametrize(
    ("phase", "facts", "blocked_by"),
    [
        (Phase.ALLOCATE, PhaseFacts(now=NOW), "lead caseworker"),
        (Phase.ENGAGE, PhaseFacts(now=NOW), "eligibility"),
        (Phase.RECONNECTION_PLANNING, PhaseFacts(now=NOW, destination_area="Leeds"), "date"),
        (
            Phase.RECONNECTION,
            PhaseFacts(now=NOW, reconnection_date=date(2026, 3, 3), part_vii_submitted=True),
            "date has not come",
        ),
        (Phase.RECONNECTION, PhaseFacts(now=NOW, reconnection_date=date(2026, 3, 2)), "Part VII"),
        (
            Phase.INTENSIVE_SUPPORT,
            PhaseFacts(now=NOW, reconnected_at=NOW - timedelta(hours=71)),
            "72 hours",
        ),
        (Phase.CASE_CLOSURE_AND_REVIEW, PhaseFacts(now=NOW), "closure checklist"),
        (Phase.IDENTIFY, PhaseFacts(now=NOW, closed=True), "closed"),
    ],
)
def test_guards(phase, facts, blocked_by) -> None:
    with pytest.raises(PhaseBlocked, match=blocked_by):
        complete(phase, [], facts)


def test_open_required_items_block_and_the_guard_passes() -> None:
    with pytest.raises(PhaseBlocked, match="consent_recorded"):
        complete(Phase.ENGAGE, ["consent_recorded"], PhaseFacts(now=NOW, eligible=True))
    assert (
        complete(Phase.ENGAGE, [], PhaseFacts(now=NOW, eligible=True))
        is Phase.RECONNECTION_PLANNING
    )
    facts = PhaseFacts(now=NOW, reconnected_at=NOW - timedelta(hours=72))
    assert complete(Phase.INTENSIVE_SUPPORT, [], facts) is Phase.STEP_DOWN


def test_every_phase_has_a_checklist_with_unique_items() -> None:
    for phase in Phase:
        ids = [i.id for i in checklists.CHECKLISTS[phase]]
        assert ids and len(ids) == len(set(ids))


def opened(first: str) -> ReconnectionCase:
    case = None
    steps = [
        ("assessed", on_referral_assessed, ASSESSED),
        ("allocated", on_case_allocated, ALLOCATED),
    ]
    if first == "allocated":
        steps.reverse()
    for _, handler, data in steps:
        decision = handler(case, data, "derby", "corr", NOW)
        assert decision is not None
        case = decision.case
    assert case is not None
    return case


@pytest.mark.parametrize("first", ["assessed", "allocated"])
def test_opening_in_either_order_ends_in_engage(first) -> None:
    case = opened(first)
    assert case.phase is Phase.ENGAGE and case.referring_area == "Hackney"
    assert case.lead_worker_id == "w1"
    # A repeat is a no-op.
    assert on_referral_assessed(case, ASSESSED, "derby", "corr", NOW) is None
    assert on_case_allocated(case, ALLOCATED, "derby", "corr", NOW) is None


def test_the_case_belongs_to_one_organisation() -> None:
    with pytest.raises(RuleViolation, match="organisation"):
        on_case_allocated(
            opened("assessed"),
            ALLOCATED.model_copy(update={"lead_worker_id": "x"}),
            "leeds",
            "corr",
            NOW,
        )


def test_items_ticked_by_the_case_cannot_be_ticked_by_hand() -> None:
    case = opened("assessed")
    with pytest.raises(RuleViolation, match="ticked by the case"):
        actions.complete_item(case, Phase.ENGAGE, "eligibility_confirmed", None, NOW)
    with pytest.raises(RuleViolation, match="essential"):
        actions.mark_not_applicable(case, Phase.ENGAGE, "eligibility_confirmed", "no", NOW)
    with pytest.raises(RuleViolation, match="not reached"):
        actions.complete_item(case, Phase.STEP_DOWN, "support_scaled_back", None, NOW)


def test_an_item_that_does_not_apply_stops_blocking() -> None:
    case = opened("assessed")
    assert "consent_recorded" in checklists.open_required(case, Phase.ENGAGE)
    case = actions.mark_not_applicable(
        case, Phase.ENGAGE, "consent_recorded", "recorded by referrer", NOW
    ).case
    assert "consent_recorded" not in checklists.open_required(case, Phase.ENGAGE)
    assert case.checklists["engage"]["consent_recorded"].status is ItemStatus.NOT_APPLICABLE


def planning_case() -> ReconnectionCase:
    case = opened("assessed").model_copy(
        update={"phase": Phase.RECONNECTION_PLANNING, "destination_area": "Leeds"}
    )
    return case


def test_reconnection_date_needs_a_complete_pack_and_a_future_day() -> None:
    case = planning_case()
    with pytest.raises(RuleViolation, match="presentation pack is incomplete"):
        actions.set_reconnection_date(case, date(2026, 3, 10), NOW)
    for item in PackItem:
        case = actions.set_pack_item(case, item, ItemStatus.DONE, None, None, NOW).case
    with pytest.raises(RuleViolation, match="after today"):
        actions.set_reconnection_date(case, NOW.date(), NOW)
    decision = actions.set_reconnection_date(case, date(2026, 3, 10), NOW)
    [timer] = decision.timers
    assert timer.kind == "presentation_pack"
    assert timer.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_pack_items_that_must_always_be_there() -> None:
    case = planning_case()
    for item in (PackItem.ID, PackItem.ADDRESS_HISTORY, PackItem.COVERING_LETTER):
        with pytest.raises(RuleViolation, match="always part"):
            actions.set_pack_item(case, item, ItemStatus.NOT_APPLICABLE, "none", None, NOW)
    with pytest.raises(RuleViolation, match="reason"):
        actions.set_pack_item(
            case, PackItem.MEDICAL_INFORMATION, ItemStatus.NOT_APPLICABLE, None, None, NOW
        )


def test_budget_overspend_is_refused_or_flagged() -> None:
    case = planning_case()
    with pytest.raises(RuleViolation, match="no reconnection budget"):
        actions.record_spend(case, 100, SpendCategory.FOOD, None, None, NOW)
    case = actions.set_budget(case, 5000, NOW).case
    case = actions.record_spend(case, 5000, SpendCategory.TRAVEL, None, None, NOW).case
    with pytest.raises(RuleViolation, match="exceeds the remaining budget by 1 pence"):
        actions.record_spend(case, 1, SpendCategory.FOOD, None, None, NOW)
    case = actions.record_spend(case, 1, SpendCategory.FOOD, None, "manager agreed", NOW).case
    assert case.budget.spends[-1].overspend and case.budget.spent_pence == 5001
    with pytest.raises(RuleViolation, match="below what is already spent"):
        actions.set_budget(case, 4000, NOW)


def test_confidence_check_on_the_day_with_low_confidence_addressed() -> None:
    case = planning_case().model_copy(
        update={"phase": Phase.RECONNECTION, "reconnection_date": date(2026, 3, 3)}
    )
    from services.reconnection.model import ConfidenceCheck

    with pytest.raises(RuleViolation, match="on the day"):
        actions.record_confidence_check(case, ConfidenceCheck(level=4), NOW)
    day = NOW + timedelta(days=1)
    with pytest.raises(RuleViolation, match="low confidence"):
        actions.record_confidence_check(case, ConfidenceCheck(level=2), day)
    decided = actions.record_confidence_check(case, ConfidenceCheck(level=2, actions="call"), day)
    assert decided.case.confidence_check is not None


def test_no_progress_closes_early_and_opens_the_review() -> None:
    decision = actions.close_early(opened("assessed"), ClosureReason.NO_PROGRESS, "no contact", NOW)
    assert decision.closed and decision.case.phase is Phase.CASE_CLOSURE_AND_REVIEW
    assert decision.phase_changes == [(Phase.ENGAGE, Phase.CASE_CLOSURE_AND_REVIEW)]
    with pytest.raises(RuleViolation, match="closed"):
        actions.advance(decision.case, NOW)
    with pytest.raises(RuleViolation, match="reason"):
        actions.close_early(opened("assessed"), ClosureReason.RECONNECTED, "x", NOW)


def test_leaving_reconnection_schedules_step_down_and_closure_reviews() -> None:
    timers = actions._after_reconnection_timers("c1", date(2026, 3, 10))
    assert [(t.payload["review_point"], t.payload["due_on"]) for t in timers] == [
        ("step_down", "2026-03-31"),
        ("closure_3_months", "2026-06-10"),
    ]
