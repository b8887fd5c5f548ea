"""Opening a reconnection case from the referral's assessment and the allocation, in either order.

ReferralAssessed(route=reconnection) opens the case in *identify* with the referring area.
CaseAllocated(route=reconnection) names the lead caseworker: the case passes through *allocate*
into *engage*. Whichever comes first creates the case; the other fills in what it carries.

A caseworker may also open it directly (`POST /v1/reconnection-cases`, Phase 1: "A client is
identified as suitable for referral to the project"): the case starts in *identify* under the
referral's id, and the spine's two events fill in the rest when they come.
"""

from __future__ import annotations

from datetime import datetime

from services.reconnection.decisions import Decision, RuleViolation, move_to
from services.reconnection.model import ReconnectionCase
from services.reconnection.phases import Phase, index
from shared.codes import SupportNeed
from shared.events.catalogue import CaseAllocated, ReferralAssessed


def _new_case(
    case_id: str, organisation: str, correlation_id: str, now: datetime
) -> ReconnectionCase:
    return ReconnectionCase(
        case_id=case_id,
        organisation=organisation,
        correlation_id=correlation_id,
        opened_at=now,
        last_progress_at=now,
    )


def _check_owner(case: ReconnectionCase, organisation: str) -> None:
    if case.organisation != organisation:
        raise RuleViolation("organisation", f"case {case.case_id} belongs to another organisation")


def on_referral_assessed(
    existing: ReconnectionCase | None,
    data: ReferralAssessed,
    organisation: str,
    correlation_id: str,
    now: datetime,
) -> Decision | None:
    case = existing or _new_case(data.case_id, organisation, correlation_id, now)
    _check_owner(case, organisation)
    if case.referral_assessed_at is not None or not case.is_open:
        return None
    case = case.model_copy(deep=True)
    case.person_id = case.person_id or data.person_id
    case.referral_assessed_at = data.received_at
    case.referring_area = data.referring_area
    case.referrer_organisation = case.referrer_organisation or data.referrer.organisation
    case.support_needs = sorted(set(case.support_needs) | set(data.support_needs))
    decision = Decision(case)
    if existing is None:
        move_to(decision, Phase.IDENTIFY, now)
    return decision


def on_case_allocated(
    existing: ReconnectionCase | None,
    data: CaseAllocated,
    organisation: str,
    correlation_id: str,
    now: datetime,
) -> Decision | None:
    case = existing or _new_case(data.case_id, organisation, correlation_id, now)
    _check_owner(case, organisation)
    if case.allocated_at is not None or not case.is_open:
        return None
    case = case.model_copy(deep=True)
    case.person_id = case.person_id or data.person_id
    case.lead_worker_id = data.lead_worker_id
    case.team_id = data.team_id
    case.team_leader_id = data.team_leader_id
    case.allocated_at = data.allocated_at
    case.referrer_organisation = case.referrer_organisation or data.referrer_organisation
    case.support_needs = sorted(set(case.support_needs) | set(data.support_needs))
    decision = Decision(case)
    if index(case.phase) < index(Phase.ENGAGE):
        move_to(decision, Phase.ALLOCATE, now)
        move_to(decision, Phase.ENGAGE, now)
    return decision


def on_identified(
    existing: ReconnectionCase | None,
    case_id: str,
    organisation: str,
    correlation_id: str,
    now: datetime,
    *,
    person_id: str | None = None,
    referring_area: str | None = None,
    referrer_organisation: str | None = None,
    support_needs: list[SupportNeed] | None = None,
) -> Decision | None:
    """Open the case in *identify* for a client identified by a caseworker; one already open
    changes nothing. Another organisation's id is refused without saying whose it is."""
    if existing is not None:
        if existing.organisation != organisation:
            raise RuleViolation("case_id", "a reconnection case cannot be opened with this id")
        return None
    case = _new_case(case_id, organisation, correlation_id, now)
    case.person_id = person_id
    case.referring_area = referring_area
    case.referrer_organisation = referrer_organisation
    case.support_needs = sorted(set(support_needs or []))
    decision = Decision(case)
    move_to(decision, Phase.IDENTIFY, now)
    return decision
