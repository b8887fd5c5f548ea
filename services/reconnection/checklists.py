"""Tool 2, the good-practice checklist of each phase, as data.

Items marked `required` must be done, or marked not applicable with a reason, before the phase is
completed; the rest are good-practice prompts. Items with `evidence` are ticked by the case itself
(an event, a recorded fact), never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.reconnection import pack
from services.reconnection.eligibility import Verdict
from services.reconnection.local_connection import area_key
from services.reconnection.model import ItemRecord, ItemStatus, PartVIIStatus, ReconnectionCase
from services.reconnection.phases import Phase, index


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    required: bool = True
    evidence: str | None = None  # a fact of the case that ticks it
    may_not_apply: bool = True  # False: the seed treats it as essential

    @property
    def manual(self) -> bool:
        return self.evidence is None


P = Phase
CHECKLISTS: dict[Phase, tuple[Item, ...]] = {
    P.IDENTIFY: (
        Item(
            "initial_assessment",
            "Thorough initial assessment by the referrer: public funds, "
            "ID, benefits claims, support needs, housing history, local connection to the area "
            "of contact",
            evidence="referral_assessed",
        ),
        Item(
            "recent_contacts_known",
            "Client contactable: recent street contacts, whereabouts known",
            required=False,
        ),
        Item("steady_referral_flow", "Steady flow of referrals rather than bulk", required=False),
    ),
    P.ALLOCATE: (
        Item(
            "lead_caseworker",
            "Allocated to a lead caseworker",
            evidence="lead_worker_assigned",
            may_not_apply=False,
        ),
        Item(
            "lead_worker_shared",
            "Lead worker communicated to the outreach team and recorded (CHAIN in London)",
            required=False,
        ),
        Item("caseload_overview", "Case discussed by the whole team for cover", required=False),
    ),
    P.ENGAGE: (
        Item("consent_recorded", "Consent to record information and liaise with other agencies"),
        Item(
            "service_explained",
            "Service explained as new, voluntary and personalised, with "
            "the focus on a safe reconnection",
        ),
        Item(
            "referral_information_confirmed",
            "Information from the outreach team confirmed, including housing history",
        ),
        Item(
            "eligibility_confirmed",
            "Eligibility checked again at engagement",
            evidence="eligibility_confirmed",
            may_not_apply=False,
        ),
        Item(
            "single_service_offer_discussed",
            "Single Service Offer used as the basis for conversations, open to other avenues",
            required=False,
        ),
        Item("no_engagement_time_limit", "No time limit set on engagement", required=False),
    ),
    P.RECONNECTION_PLANNING: (
        Item(
            "local_connection_assessed",
            "Local connection assessed and destination chosen",
            evidence="local_connection_assessed",
            may_not_apply=False,
        ),
        Item(
            "destination_authority_contacted",
            "Early contact with the destination authority, highlighting rough sleeping",
            evidence="destination_authority_contacted",
        ),
        Item(
            "known_to_authority_checked",
            "Checked whether the client is already known to the "
            "authority; told them a Part VII application is intended",
            evidence="known_to_authority_checked",
        ),
        Item(
            "presentation_pack_compiled",
            "Paperwork and evidence compiled before reconnection",
            evidence="presentation_pack_complete",
            may_not_apply=False,
        ),
        Item(
            "client_prepared_for_outcomes",
            "Client coached and told the possible outcomes of "
            "the presentation, positive or negative",
        ),
        Item(
            "other_options_considered",
            "If the client is unwilling or unable to take up the "
            "offer, concerns heard and other options assessed",
            required=False,
        ),
        Item(
            "emergency_accommodation_offered",
            "Emergency accommodation for a few nights to stabilise before reconnection",
            required=False,
        ),
        Item(
            "health_and_scripts_arranged",
            "Urgent medical and substance misuse issues addressed (e.g. scripts in both areas)",
            required=False,
        ),
    ),
    P.RECONNECTION: (
        Item(
            "risk_assessment",
            "Pre-move risk assessment (e.g. flight risk)",
            evidence="risk_assessed",
            may_not_apply=False,
        ),
        Item(
            "presentation_pack_sent",
            "Presentation pack emailed to Housing Options a day in advance",
            evidence="presentation_pack_sent",
            may_not_apply=False,
        ),
        Item("travel_plan", "Travel plan made close to the day", evidence="travel_planned"),
        Item(
            "reconnection_budget",
            "Reconnection budget for travel, food and expenses",
            evidence="budget_set",
        ),
        Item(
            "client_briefed", "Client told what to expect on the day and what is expected of them"
        ),
        Item(
            "worker_attends",
            "Caseworker attends Housing Options or the new accommodation with "
            "the client, available all day",
        ),
        Item(
            "part_vii_submitted",
            "Part VII application made",
            evidence="part_vii_submitted",
            may_not_apply=False,
        ),
        Item("settling_information", "Client given the information they need to settle in"),
        Item(
            "confidence_check",
            "Client's confidence assessed on the day; concerns addressed",
            evidence="confidence_checked",
            may_not_apply=False,
        ),
        Item(
            "safe_interim_accommodation",
            "If waiting for a decision: accommodation with access "
            "to the caseworker rather than unsupported temporary accommodation",
            required=False,
        ),
    ),
    P.INTENSIVE_SUPPORT: (
        Item(
            "healthcare_access",
            "Access to healthcare and drug and alcohol services (including scripting)",
        ),
        Item(
            "handover_to_local_services",
            "Transition to local support services such as floating support",
            evidence="local_services_handover",
        ),
        Item("emotional_support", "Emotional support and coaching", required=False),
        Item("move_in_kit", "Move-in kit (food, household items)", required=False),
        Item(
            "financial_check",
            "Financial situation checked; food banks, travel to appointments",
            required=False,
        ),
        Item(
            "long_term_accommodation",
            "Client in emergency accommodation motivated to seek long-term accommodation",
            required=False,
        ),
    ),
    P.STEP_DOWN: (
        Item("support_scaled_back", "Support scaled back and handed over to local agencies"),
        Item(
            "local_help_encouraged",
            "Client encouraged to attend floating support, health and treatment sessions",
        ),
        Item("written_agreement", "Written agreement with the caseworker", required=False),
    ),
    P.CASE_CLOSURE_AND_REVIEW: (
        Item(
            "client_informed",
            "Client informed of closure by letter: local support and what to do in a crisis",
            evidence="client_informed",
            may_not_apply=False,
        ),
        Item(
            "agencies_notified",
            "Every agency, including the referrers, advised of closure",
            evidence="agencies_notified",
            may_not_apply=False,
        ),
        Item(
            "records_closed",
            "Case closed in every system",
            evidence="records_closed",
            may_not_apply=False,
        ),
        Item(
            "case_reviewed",
            "Full case reviewed: highs, lows, learning",
            evidence="case_reviewed",
            may_not_apply=False,
        ),
        Item(
            "learning_logged",
            "Learning points entered into the central log",
            evidence="learning_logged",
            may_not_apply=False,
        ),
    ),
}


def find_item(phase: Phase, item_id: str) -> Item | None:
    return next((i for i in CHECKLISTS[phase] if i.id == item_id), None)


def evidence(case: ReconnectionCase) -> set[str]:
    """The facts of the case that tick evidence items."""
    facts: set[str] = set()
    destination = area_key(case.destination_area) if case.destination_area else None
    checks = {
        "referral_assessed": case.referral_assessed_at is not None or case.allocated_at is not None,
        "lead_worker_assigned": case.lead_worker_id is not None,
        "eligibility_confirmed": case.eligibility is not None
        and case.eligibility.result.verdict is Verdict.ELIGIBLE
        and index(case.eligibility.phase) >= index(Phase.ENGAGE),
        "local_connection_assessed": case.local_connection is not None
        and destination is not None
        and destination in case.local_connection.result.candidate_keys(),
        "destination_authority_contacted": any(
            area_key(c.area) == destination for c in case.authority_contacts
        ),
        "known_to_authority_checked": any(
            area_key(c.area) == destination and c.already_known is not None
            for c in case.authority_contacts
        ),
        "presentation_pack_complete": pack.is_complete(case.pack),
        "risk_assessed": case.risk_assessment is not None,
        "presentation_pack_sent": case.pack_sent_at is not None,
        "travel_planned": case.travel_plan is not None,
        "budget_set": case.budget.allocated_pence is not None,
        "part_vii_submitted": case.part_vii.status is not PartVIIStatus.NOT_SUBMITTED,
        "confidence_checked": case.confidence_check is not None,
        "local_services_handover": bool(case.handovers),
        "client_informed": case.closure.answers.client_informed,
        "agencies_notified": case.closure.answers.agencies_notified,
        "records_closed": case.closure.answers.records_closed,
        "case_reviewed": case.closure.answers.case_reviewed,
        "learning_logged": case.closure.answers.learning_points_logged,
    }
    facts.update(name for name, holds in checks.items() if holds)
    return facts


def status_of(item: Item, record: ItemRecord | None, facts: set[str]) -> ItemStatus:
    if item.evidence is not None and item.evidence in facts:
        return ItemStatus.DONE
    return record.status if record else ItemStatus.OPEN


def open_required(case: ReconnectionCase, phase: Phase) -> list[str]:
    facts = evidence(case)
    records = case.checklists.get(phase.value, {})
    return [
        item.id
        for item in CHECKLISTS[phase]
        if item.required and status_of(item, records.get(item.id), facts) is ItemStatus.OPEN
    ]
