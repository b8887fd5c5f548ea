"""What caseworkers do to a reconnection case, as pure functions: case and time in, Decision out.

Each function works on a copy, raises RuleViolation (naming the field) when the case's state does
not allow the action, and marks progress so stalled cases can be seen.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.reconnection import checklists, pack, pack_document
from services.reconnection.budget import check_spend
from services.reconnection.closure_checklist import (
    ClosureAnswers,
    ClosureAssessment,
    assess_closure,
)
from services.reconnection.dates import at_working_start
from services.reconnection.decisions import (
    Decision,
    Fact,
    NotFound,
    RuleViolation,
    TimerRequest,
    move_to,
)
from services.reconnection.eligibility import EligibilityInput, assess_eligibility
from services.reconnection.follow_up import (
    FollowUpAnswer,
    check_follow_up_answer,
    check_follow_up_due,
    next_follow_up,
)
from services.reconnection.local_connection import (
    AreaCountry,
    ExcludedArea,
    LocalConnectionEvidence,
    LocalConnectionResult,
    area_key,
    assess_local_connection,
)
from services.reconnection.model import (
    AgencyNotice,
    AuthorityContact,
    CaseReview,
    ClosedRecord,
    ClosureLetter,
    ConfidenceCheck,
    EligibilityRecord,
    Handover,
    ItemRecord,
    ItemStatus,
    LocalConnectionRecord,
    PackDelivery,
    PackDocument,
    PackItem,
    PackItemRecord,
    PartVIIStatus,
    ReconnectionCase,
    RiskAssessment,
    Spend,
    SpendCategory,
    TravelPlan,
)
from services.reconnection.phases import (
    INTENSIVE_SUPPORT_MAX_MONTHS,
    Phase,
    PhaseBlocked,
    PhaseFacts,
    complete,
    index,
)
from services.reconnection.service_area import ServiceArea, boroughs_of, qualifying_areas
from shared.codes import ClosureReason
from shared.dates import add_months
from shared.events.catalogue import ReconnectionFollowedUp

STEP_DOWN_AFTER = timedelta(weeks=3)  # "three to four weeks after reconnection"
EARLY_CLOSURE_REASONS = frozenset(
    {
        ClosureReason.NO_PROGRESS,
        ClosureReason.DISENGAGED,
        ClosureReason.DECLINED_SUPPORT,
        ClosureReason.CUSTODY,
        ClosureReason.HOSPITAL,
        ClosureReason.DECEASED,
        ClosureReason.TRANSFERRED,
    }
)


def _start(case: ReconnectionCase, now: datetime) -> Decision:
    if not case.is_open:
        raise RuleViolation("case", "the case is closed")
    copy = case.model_copy(deep=True)
    copy.last_progress_at = now
    return Decision(copy)


def _require_phase(case: ReconnectionCase, first: Phase, last: Phase, doing: str) -> None:
    if not index(first) <= index(case.phase) <= index(last):
        raise RuleViolation(
            "phase", f"{doing} belongs to {first}..{last}, the case is in {case.phase}"
        )


def _not_reconnected(case: ReconnectionCase, doing: str) -> None:
    if case.reconnected_at is not None:
        raise RuleViolation("phase", f"{doing} is done before the reconnection")


def phase_facts(case: ReconnectionCase, now: datetime) -> PhaseFacts:
    return PhaseFacts(
        now=now,
        lead_worker_assigned=case.lead_worker_id is not None,
        eligible="eligibility_confirmed" in checklists.evidence(case),
        destination_area=case.destination_area,
        reconnection_date=case.reconnection_date,
        part_vii_submitted=case.part_vii.status is not PartVIIStatus.NOT_SUBMITTED,
        reconnected_at=case.reconnected_at,
        closed=not case.is_open,
    )


# --- checklist and phases ------------------------------------------------------------------


def _item(case: ReconnectionCase, phase: Phase, item_id: str) -> checklists.Item:
    item = checklists.find_item(phase, item_id)
    if item is None:
        raise NotFound(f"item_id: {phase} has no checklist item {item_id!r}")
    if index(phase) > index(case.phase):
        raise RuleViolation("phase", f"the case has not reached {phase}")
    return item


def complete_item(
    case: ReconnectionCase, phase: Phase, item_id: str, note: str | None, now: datetime
) -> Decision:
    decision = _start(case, now)
    item = _item(case, phase, item_id)
    if not item.manual:
        raise RuleViolation("item_id", f"{item_id} is ticked by the case itself ({item.evidence})")
    decision.case.checklists.setdefault(phase.value, {})[item_id] = ItemRecord(
        status=ItemStatus.DONE, note=note, at=now
    )
    return decision


def mark_not_applicable(
    case: ReconnectionCase, phase: Phase, item_id: str, reason: str, now: datetime
) -> Decision:
    decision = _start(case, now)
    item = _item(case, phase, item_id)
    if not item.may_not_apply:
        raise RuleViolation(
            "item_id", f"{item_id} is essential and cannot be marked not applicable"
        )
    decision.case.checklists.setdefault(phase.value, {})[item_id] = ItemRecord(
        status=ItemStatus.NOT_APPLICABLE, reason=reason, at=now
    )
    return decision


def advance(case: ReconnectionCase, now: datetime) -> Decision:
    """Complete the current phase and enter the next one."""
    decision = _start(case, now)
    current = case.phase
    try:
        following = complete(
            current, checklists.open_required(case, current), phase_facts(case, now)
        )
    except PhaseBlocked as blocked:
        raise RuleViolation("phase", str(blocked)) from blocked
    if current is Phase.RECONNECTION:
        decision.case.reconnected_at = now
        decision.timers.extend(_after_reconnection_timers(case.case_id, now.date()))
    move_to(decision, following, now)
    return decision


def _after_reconnection_timers(case_id: str, reconnected_on: date) -> list[TimerRequest]:
    step_down_on = reconnected_on + STEP_DOWN_AFTER
    closure_on = add_months(reconnected_on, INTENSIVE_SUPPORT_MAX_MONTHS)
    return [
        TimerRequest(
            timer_id=f"{case_id}:step_down",
            due_at=at_working_start(step_down_on),
            kind="review",
            payload={
                "case_id": case_id,
                "review_point": "step_down",
                "due_on": step_down_on.isoformat(),
            },
        ),
        TimerRequest(
            timer_id=f"{case_id}:closure_3_months",
            due_at=at_working_start(closure_on),
            kind="review",
            payload={
                "case_id": case_id,
                "review_point": "closure_3_months",
                "due_on": closure_on.isoformat(),
            },
        ),
    ]


# --- eligibility and local connection --------------------------------------------------------


def _connection_areas(case: ReconnectionCase) -> list[str] | None:
    if case.local_connection is None:
        return None
    return [c.area for c in case.local_connection.result.candidates]


def _countries(case: ReconnectionCase) -> list[AreaCountry]:
    return case.local_connection.evidence.countries if case.local_connection else []


def record_eligibility(
    case: ReconnectionCase,
    given: EligibilityInput,
    now: datetime,
    service_area: ServiceArea | None = None,
    as_of: date | None = None,
) -> Decision:
    """`as_of`: the day the criteria are judged on (a scenario's; the record's own time is
    still `now`)."""
    decision = _start(case, now)
    _not_reconnected(case, "the eligibility check")
    result = assess_eligibility(
        given,
        today=as_of or now.date(),
        referral_needs=case.support_needs,
        referring_area=case.referring_area,
        connection_areas=_connection_areas(case),
        service_area=service_area,
        countries=_countries(case),
    )
    decision.case.eligibility = EligibilityRecord(given=given, result=result, phase=case.phase)
    return decision


def record_local_connection(
    case: ReconnectionCase,
    evidence: LocalConnectionEvidence,
    now: datetime,
    service_area: ServiceArea | None = None,
    as_of: date | None = None,
) -> Decision:
    """`as_of`: the day residence and family years are counted to (see record_eligibility)."""
    decision = _start(case, now)
    _not_reconnected(case, "the local-connection assessment")
    boroughs = boroughs_of(service_area, case.referring_area)
    day = as_of or now.date()
    result = assess_local_connection(evidence, day, [case.referring_area or ""])
    result = _within_criterion_1(result, boroughs, evidence.countries)
    updated = decision.case
    updated.local_connection = LocalConnectionRecord(evidence=evidence, result=result)
    if updated.eligibility is not None:  # its first criterion depends on this result
        eligibility = updated.eligibility
        eligibility.result = assess_eligibility(
            eligibility.given,
            today=day,
            referral_needs=updated.support_needs,
            referring_area=updated.referring_area,
            connection_areas=_connection_areas(updated),
            service_area=service_area,
            countries=evidence.countries,
        )
    return decision


def _within_criterion_1(
    result: LocalConnectionResult, boroughs: list[str], countries: list[AreaCountry]
) -> LocalConnectionResult:
    """Candidates inside the service area, or outside the UK, are no destination (Tool 3,
    criterion 1): moved to the excluded areas with the reason."""
    kept, excluded = [], list(result.excluded)
    for candidate in result.candidates:
        _, refused = qualifying_areas([candidate.area], boroughs, countries)
        if refused:
            excluded.append(
                ExcludedArea(area=candidate.area, reason=refused[0], grounds=candidate.grounds)
            )
        else:
            kept.append(candidate)
    return result.model_copy(update={"candidates": kept, "excluded": excluded})


def choose_destination(case: ReconnectionCase, area: str, now: datetime) -> Decision:
    decision = _start(case, now)
    _require_phase(case, Phase.ENGAGE, Phase.RECONNECTION_PLANNING, "choosing the destination")
    if case.reconnection_date is not None:
        raise RuleViolation("area", "clear the reconnection date before changing the destination")
    if case.local_connection is None:
        raise RuleViolation("area", "assess the local connection first")
    if case.referring_area and area_key(area) == area_key(case.referring_area):
        raise RuleViolation("area", "the referring area is never a reconnection destination")
    match = next(
        (c for c in case.local_connection.result.candidates if area_key(c.area) == area_key(area)),
        None,
    )
    if match is None:
        raise RuleViolation("area", "not one of the local-connection candidate areas")
    decision.case.destination_area = match.area
    return decision


# --- planning --------------------------------------------------------------------------------


def log_authority_contact(
    case: ReconnectionCase, contact: AuthorityContact, now: datetime
) -> Decision:
    decision = _start(case, now)
    _require_phase(case, Phase.ENGAGE, Phase.STEP_DOWN, "contact with the destination authority")
    if contact.contacted_on > now.date():
        raise RuleViolation("contacted_on", "is in the future")
    decision.case.authority_contacts.append(contact)
    return decision


def update_part_vii(
    case: ReconnectionCase,
    status: PartVIIStatus,
    on: date,
    reference: str | None,
    now: datetime,
) -> Decision:
    decision = _start(case, now)
    part = decision.case.part_vii
    if on > now.date():
        raise RuleViolation("on", "is in the future")
    if status is PartVIIStatus.NOT_SUBMITTED:
        raise RuleViolation("status", "use submitted, positive or negative")
    if status is PartVIIStatus.SUBMITTED:
        _require_phase(case, Phase.RECONNECTION_PLANNING, Phase.STEP_DOWN, "a Part VII application")
        if case.destination_area is None:
            raise RuleViolation("status", "choose the destination authority first")
        if part.status is not PartVIIStatus.NOT_SUBMITTED:
            raise RuleViolation("status", f"the application is already {part.status}")
        part.status, part.submitted_on, part.authority = status, on, case.destination_area
        part.reference = reference or part.reference
        return decision
    if part.status is PartVIIStatus.NOT_SUBMITTED:
        raise RuleViolation("status", "no Part VII application has been submitted")
    if part.submitted_on and on < part.submitted_on:
        raise RuleViolation("on", "the decision is dated before the application")
    part.status, part.decided_on = status, on  # a review may overturn an earlier decision
    part.reference = reference or part.reference
    decision.case.closure.answers.positive_decision = status is PartVIIStatus.POSITIVE
    return decision


def set_pack_item(
    case: ReconnectionCase,
    item: PackItem,
    status: ItemStatus,
    reason: str | None,
    note: str | None,
    now: datetime,
) -> Decision:
    decision = _start(case, now)
    _not_reconnected(case, "the presentation pack")
    if status is ItemStatus.NOT_APPLICABLE:
        if not pack.may_not_apply(item):
            raise RuleViolation("status", f"{item} is always part of the pack")
        if not reason:
            raise RuleViolation("reason", "say why the item does not apply")
    if case.pack_sent_at is not None and status is ItemStatus.OPEN:
        raise RuleViolation("status", "the pack has been sent")
    decision.case.pack[item.value] = PackItemRecord(status=status, reason=reason, note=note, at=now)
    return decision


def set_reconnection_date(case: ReconnectionCase, day: date, now: datetime) -> Decision:
    decision = _start(case, now)
    _require_phase(
        case, Phase.RECONNECTION_PLANNING, Phase.RECONNECTION, "setting the reconnection date"
    )
    _not_reconnected(case, "setting the reconnection date")
    if case.destination_area is None:
        raise RuleViolation("reconnection_date", "choose the destination first")
    missing = pack.missing_items(case.pack)
    if missing:
        raise RuleViolation(
            "reconnection_date",
            "the presentation pack is incomplete: " + ", ".join(m.value for m in missing),
        )
    if day <= now.date():
        raise RuleViolation(
            "reconnection_date", "must be after today, so the pack can go the day before"
        )
    if day > now.date() + timedelta(days=366):
        raise RuleViolation("reconnection_date", "must be within a year")
    if case.reconnection_date == day:
        return decision
    updated = decision.case
    updated.reconnection_date = day
    updated.pack_sent_at = None
    updated.pack_document = None
    updated.pack_delivery = None
    decision.timers.append(
        TimerRequest(
            timer_id=f"{case.case_id}:pack:{day.isoformat()}",
            due_at=pack.sent_at(day),
            kind="presentation_pack",
            payload={"case_id": case.case_id, "reconnection_date": day.isoformat()},
        )
    )
    return decision


def pack_is_due(case: ReconnectionCase, reconnection_date: date) -> bool:
    """The scheduled send goes only for the date still planned, on an open case, once."""
    return (
        case.is_open
        and case.reconnection_date == reconnection_date
        and case.pack_sent_at is None
        and case.destination_area is not None
    )


def mark_pack_sent(
    case: ReconnectionCase,
    reconnection_date: date,
    now: datetime,
    document: PackDocument | None = None,
) -> Decision | None:
    """The pack issued for delivery, as generated and kept (`document`)."""
    if not pack_is_due(case, reconnection_date):
        return None
    copy = case.model_copy(deep=True)
    copy.pack_sent_at = now
    copy.pack_document = document
    copy.pack_delivery = None
    return Decision(copy)


def record_pack_delivery(
    case: ReconnectionCase,
    notification_id: str,
    sent: bool,
    channel: str,
    at: datetime,
    reason: str | None,
) -> Decision | None:
    """What the notifications service reports for the pack's email, kept on the case: sent
    (and whether a day in advance), or failed with the reason. A sent pack stays sent."""
    document = case.pack_document
    if document is None or (case.pack_delivery and case.pack_delivery.status == "sent"):
        return None
    copy = case.model_copy(deep=True)
    copy.pack_delivery = PackDelivery(
        notification_id=notification_id,
        status="sent" if sent else "failed",
        channel=channel,
        at=at,
        in_time=sent and pack_document.delivered_in_time(at, document.reconnection_date),
        reason=reason,
    )
    return Decision(copy)


def record_risk_assessment(
    case: ReconnectionCase, assessment: RiskAssessment, now: datetime
) -> Decision:
    decision = _start(case, now)
    _require_phase(
        case, Phase.RECONNECTION_PLANNING, Phase.RECONNECTION, "the pre-move risk assessment"
    )
    _not_reconnected(case, "the pre-move risk assessment")
    decision.case.risk_assessment = assessment.model_copy(update={"assessed_on": now.date()})
    return decision


def record_travel_plan(case: ReconnectionCase, plan: TravelPlan, now: datetime) -> Decision:
    decision = _start(case, now)
    _require_phase(case, Phase.RECONNECTION_PLANNING, Phase.RECONNECTION, "the travel plan")
    _not_reconnected(case, "the travel plan")
    decision.case.travel_plan = plan
    return decision


def set_budget(case: ReconnectionCase, allocated_pence: int, now: datetime) -> Decision:
    decision = _start(case, now)
    _require_phase(case, Phase.RECONNECTION_PLANNING, Phase.STEP_DOWN, "the reconnection budget")
    if allocated_pence < case.budget.spent_pence:
        raise RuleViolation(
            "allocated_pence", f"below what is already spent ({case.budget.spent_pence})"
        )
    decision.case.budget.allocated_pence = allocated_pence
    return decision


def record_spend(
    case: ReconnectionCase,
    amount_pence: int,
    category: SpendCategory,
    note: str | None,
    approved_overspend_reason: str | None,
    now: datetime,
) -> Decision:
    decision = _start(case, now)
    check = check_spend(case.budget, amount_pence, approved_overspend_reason)
    if not check.allowed:
        raise RuleViolation("amount_pence", check.reason)
    decision.case.budget.spends.append(
        Spend(
            amount_pence=amount_pence,
            category=category,
            note=note,
            on=now.date(),
            overspend=check.overspend,
            overspend_reason=approved_overspend_reason if check.overspend else None,
        )
    )
    return decision


def record_confidence_check(
    case: ReconnectionCase, check: ConfidenceCheck, now: datetime
) -> Decision:
    decision = _start(case, now)
    _require_phase(case, Phase.RECONNECTION, Phase.RECONNECTION, "the confidence check")
    if case.reconnection_date is None or now.date() < case.reconnection_date:
        raise RuleViolation("on", "the confidence check is made on the day of reconnection")
    if check.level <= 2 and not check.actions:
        raise RuleViolation("actions", "low confidence: record how the concerns are addressed")
    decision.case.confidence_check = check.model_copy(update={"on": now.date()})
    return decision


def add_handover(case: ReconnectionCase, handover: Handover, now: datetime) -> Decision:
    decision = _start(case, now)
    _require_phase(
        case, Phase.INTENSIVE_SUPPORT, Phase.CASE_CLOSURE_AND_REVIEW, "a handover to local services"
    )
    decision.case.handovers.append(handover.model_copy(update={"on": handover.on or now.date()}))
    return decision


# --- closure (Tool 4) ------------------------------------------------------------------------


def closure_assessment(case: ReconnectionCase, now: datetime) -> ClosureAssessment:
    return assess_closure(case.closure.answers, case.reconnected_on, now.date())


def _at_closure_step(case: ReconnectionCase, step: int, now: datetime) -> None:
    _require_phase(
        case, Phase.CASE_CLOSURE_AND_REVIEW, Phase.CASE_CLOSURE_AND_REVIEW, "the closure checklist"
    )
    assessment = closure_assessment(case, now)
    if assessment.current_step != step:
        raise RuleViolation(
            "step", f"the checklist is at Step {assessment.current_step}: {assessment.action}"
        )


def answer_pre_closure(
    case: ReconnectionCase,
    sufficient_local_support: bool | None,
    low_risk_of_return: bool | None,
    in_temporary_accommodation: bool | None,
    negative_decision_handover_done: bool | None,
    now: datetime,
    *,
    still_in_accommodation: bool | None = None,
    engaged: bool | None = None,
    returned_to_rough_sleeping: bool | None = None,
) -> Decision:
    """Steps 2-5, and with Step 2 the three-month follow-up (follow_up.py): a new or corrected
    follow-up emits ReconnectionFollowedUp."""
    decision = _start(case, now)
    _require_phase(
        case, Phase.CASE_CLOSURE_AND_REVIEW, Phase.CASE_CLOSURE_AND_REVIEW, "the closure checklist"
    )
    given = FollowUpAnswer(still_in_accommodation, engaged, returned_to_rough_sleeping)
    field = next(
        (
            name
            for name, answer in (
                ("still_in_accommodation", still_in_accommodation),
                ("engaged", engaged),
                ("returned_to_rough_sleeping", returned_to_rough_sleeping),
            )
            if answer is not None
        ),
        "engaged",
    )
    check_follow_up_due(case.reconnected_on, now.date(), given, field)
    answers = decision.case.closure.answers
    before = _follow_up_answer(answers)
    if still_in_accommodation is not None:
        answers.still_in_accommodation = still_in_accommodation
    if engaged is not None:
        answers.engaged = engaged
    if returned_to_rough_sleeping is not None:
        answers.returned_to_rough_sleeping = returned_to_rough_sleeping
    check_follow_up_answer(_follow_up_answer(answers))
    _follow_up(decision, before, now.date())
    if sufficient_local_support is not None:
        answers.sufficient_local_support = sufficient_local_support
    if low_risk_of_return is not None:
        answers.low_risk_of_return = low_risk_of_return
    if in_temporary_accommodation is not None:
        answers.in_temporary_accommodation = in_temporary_accommodation
    if negative_decision_handover_done is not None:
        answers.negative_decision_handover_done = negative_decision_handover_done
    return decision


def _follow_up_answer(answers: ClosureAnswers) -> FollowUpAnswer:
    return FollowUpAnswer(
        answers.still_in_accommodation, answers.engaged, answers.returned_to_rough_sleeping
    )


def _follow_up(decision: Decision, before: FollowUpAnswer, today: date) -> None:
    case = decision.case
    after = _follow_up_answer(case.closure.answers)
    record = next_follow_up(before, after, case.closure.follow_up, today)
    if record is None or after.still_in_accommodation is None:
        return
    case.closure.follow_up = record
    data = ReconnectionFollowedUp(
        case_id=case.case_id,
        destination_area=case.destination_area,
        reconnected_on=case.reconnected_on,
        followed_up_on=today,
        still_in_accommodation=after.still_in_accommodation,
        engaged=after.engaged,
        returned_to_rough_sleeping=bool(after.returned_to_rough_sleeping),  # not said: no
    )
    decision.facts.append(Fact(data, f"followed_up:{record.number}"))


def send_closure_letter(case: ReconnectionCase, letter: ClosureLetter, now: datetime) -> Decision:
    _at_closure_step(case, 7, now)
    decision = _start(case, now)
    decision.case.closure.letter = letter.model_copy(update={"sent_on": now.date()})
    decision.case.closure.answers.client_informed = True
    return decision


def notify_agencies(
    case: ReconnectionCase, agencies: list[AgencyNotice], now: datetime
) -> Decision:
    _at_closure_step(case, 8, now)
    if not agencies:
        raise RuleViolation("agencies", "name every agency advised, including the referrers")
    decision = _start(case, now)
    decision.case.closure.agencies_notified = agencies
    decision.case.closure.answers.agencies_notified = True
    return decision


def close_reconnected(case: ReconnectionCase, note: str | None, now: datetime) -> Decision:
    """Step 9: close the case everywhere; CaseClosed tells the other services."""
    _at_closure_step(case, 9, now)
    decision = _start(case, now)
    decision.case.closure.answers.records_closed = True
    decision.case.closed = ClosedRecord(reason=ClosureReason.RECONNECTED, at=now, note=note)
    decision.closed = True
    return decision


def close_early(
    case: ReconnectionCase, reason: ClosureReason, note: str, now: datetime
) -> Decision:
    """Little or no progress for a sustained period (or the client gone): close, review, and
    leave re-referral open."""
    if reason not in EARLY_CLOSURE_REASONS:
        raise RuleViolation("reason", f"use one of {', '.join(sorted(EARLY_CLOSURE_REASONS))}")
    if case.phase is Phase.CASE_CLOSURE_AND_REVIEW:
        raise RuleViolation("phase", "the case is in closure: follow the closure checklist")
    decision = _start(case, now)
    decision.case.closed = ClosedRecord(reason=reason, at=now, note=note)
    decision.case.closure.answers.records_closed = True
    move_to(decision, Phase.CASE_CLOSURE_AND_REVIEW, now)
    decision.closed = True
    return decision


def _closed_for_review(case: ReconnectionCase) -> ReconnectionCase:
    if case.closed is None:
        raise RuleViolation("case", "the review follows the closure of the case (Step 9)")
    return case.model_copy(deep=True)


def record_review(case: ReconnectionCase, review: CaseReview, now: datetime) -> Decision:
    updated = _closed_for_review(case)
    updated.closure.review = review
    updated.closure.answers.case_reviewed = True
    return Decision(updated)


def record_learning(case: ReconnectionCase, entry_id: str, now: datetime) -> Decision:
    updated = _closed_for_review(case)
    if not updated.closure.answers.case_reviewed:
        raise RuleViolation("step", "review the case (Step 10) before the learning points")
    updated.closure.learning_entry_id = entry_id
    updated.closure.answers.learning_points_logged = True
    return Decision(updated)


def involved_organisations(case: ReconnectionCase) -> list[str]:
    names = [case.referrer_organisation]
    names += [c.organisation for c in case.authority_contacts]
    names += [h.organisation for h in case.handovers]
    names += [a.organisation for a in case.closure.agencies_notified]
    return sorted({n for n in names if n and n != case.organisation})
