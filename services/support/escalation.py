"""Crisis escalation, the safety net (pure).

From the safety-net seed: if the tenancy begins to break down there is crisis intervention by
a worker designated by the team, who brings in specialist back-up; the team may increase the
frequency of contact; get in early on arrears with the housing officer and advocate on
neighbour or behaviour issues; and if the tenancy is lost, plan to leave (the furniture, the
housing officer quickly, a referral back to supported accommodation, a shared house or at the
very least a hostel) so the client does not go back to the streets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.codes import LegalStage, RiskLevel

BASE_CONTACTS_PER_WEEK = 1.0  # Derby: worker and client meet every week
CONTACTS_PER_WEEK: dict[RiskLevel, float] = {
    RiskLevel.LOW: 1.0,
    RiskLevel.MEDIUM: 2.0,
    RiskLevel.HIGH: 3.0,
    RiskLevel.CRITICAL: 7.0,  # daily
}
# Legal stages at which the tenancy is breaking down: plan to leave as well as fight it.
BREAKING_DOWN = frozenset({LegalStage.POSSESSION_ORDER, LegalStage.EVICTION_DATE_SET})
ARREARS_WORDS = ("arrears", "rent")
NEIGHBOUR_WORDS = ("asb", "anti_social", "antisocial", "neighbour", "behaviour")


@dataclass(frozen=True)
class RiskSignal:
    """Why a case is being escalated: a landlord's TenancyAtRisk or a worker's own flag."""

    risk_level: RiskLevel
    reasons: tuple[str, ...]
    source: str  # tenancy_alert or worker_flag
    legal_stage: LegalStage = LegalStage.NONE
    arrears_balance: float | None = None
    eviction_date: date | None = None


@dataclass(frozen=True)
class Action:
    action_id: str
    kind: str
    description: str
    owner: str  # worker, crisis_worker, client, partner_agency
    due_on: date


@dataclass(frozen=True)
class Escalation:
    risk_level: RiskLevel
    reasons: tuple[str, ...]
    crisis_worker_id: str
    crisis_worker_designated: bool  # False: the lead worker stands in until one is designated
    contact_frequency_per_week: float
    tenancy_breaking_down: bool
    advocacy_actions: tuple[Action, ...] = field(default=())
    plan_to_leave: tuple[Action, ...] = field(default=())


def should_escalate(current: RiskLevel | None, new: RiskLevel) -> bool:
    """A higher level escalates again; the same or a lower one does not."""
    return current is None or new.rank > current.rank


def contact_frequency(level: RiskLevel, current: float | None) -> float:
    """Contacts per week: raised to the level's frequency, never lowered by an escalation."""
    return max(current or BASE_CONTACTS_PER_WEEK, CONTACTS_PER_WEEK[level])


def tenancy_breaking_down(signal: RiskSignal) -> bool:
    return signal.legal_stage in BREAKING_DOWN or signal.eviction_date is not None


def _mentions(reasons: tuple[str, ...], words: tuple[str, ...]) -> bool:
    return any(word in reason.lower() for reason in reasons for word in words)


def advocacy_actions(signal: RiskSignal, today: date) -> list[Action]:
    """Get in early with the housing officer; bring in specialist back-up."""
    urgent = signal.risk_level is RiskLevel.CRITICAL
    soon = today + timedelta(days=1 if urgent else 3)
    level = signal.risk_level.value
    actions = [
        Action(
            f"specialist_backup-{level}",
            "specialist_backup",
            "Facilitate back-up support from the appropriate specialist workers",
            "crisis_worker",
            soon,
        )
    ]
    if (signal.arrears_balance or 0) > 0 or _mentions(signal.reasons, ARREARS_WORDS):
        actions.append(
            Action(
                f"arrears_advocacy-{level}",
                "arrears_advocacy",
                "Contact the housing officer about the arrears: repayment plan, benefits "
                "check, hold on further action",
                "crisis_worker",
                today if urgent else soon,
            )
        )
    if _mentions(signal.reasons, NEIGHBOUR_WORDS):
        actions.append(
            Action(
                f"neighbour_advocacy-{level}",
                "neighbour_advocacy",
                "Advocate for the client with the housing officer on neighbour or behaviour issues",
                "crisis_worker",
                soon,
            )
        )
    if signal.legal_stage in (LegalStage.NOTICE_SERVED, LegalStage.COURT_DATE_SET):
        actions.append(
            Action(
                f"legal_advice-{level}",
                "legal_advice",
                "Refer for housing legal advice before the court stage",
                "crisis_worker",
                soon,
            )
        )
    return actions


def plan_to_leave(signal: RiskSignal, today: date) -> list[Action]:
    """The checklist for a tenancy that is being lost; done before the eviction date."""
    deadline = signal.eviction_date or today + timedelta(days=14)
    first = min(today + timedelta(days=1), deadline)
    level = signal.risk_level.value
    items = [
        ("housing_officer", "Contact the housing officer quickly: plan to leave", first),
        ("furniture", "Plan what happens to the furniture and belongings", deadline),
        (
            "accommodation_referral",
            "Offer a referral back to supported accommodation, a shared house or at the very "
            "least a hostel place, where the client can be re-assessed",
            first,
        ),
        (
            "crisis_contacts",
            "Tell the client how to reach support if the tenancy ends",
            deadline,
        ),
    ]
    return [
        Action(f"plan_to_leave_{kind}-{level}", f"plan_to_leave_{kind}", text, "crisis_worker", on)
        for kind, text, on in items
    ]


def decide_escalation(
    current_level: RiskLevel | None,
    signal: RiskSignal,
    *,
    lead_worker_id: str,
    designated_crisis_worker: str | None,
    current_frequency: float | None,
    today: date,
) -> Escalation | None:
    """The escalation a signal causes, or None when the case is already at that level."""
    if not should_escalate(current_level, signal.risk_level):
        return None
    breaking_down = tenancy_breaking_down(signal)
    return Escalation(
        risk_level=signal.risk_level,
        reasons=signal.reasons,
        crisis_worker_id=designated_crisis_worker or lead_worker_id,
        crisis_worker_designated=designated_crisis_worker is not None,
        contact_frequency_per_week=contact_frequency(signal.risk_level, current_frequency),
        tenancy_breaking_down=breaking_down,
        advocacy_actions=tuple(advocacy_actions(signal, today)),
        plan_to_leave=tuple(plan_to_leave(signal, today)) if breaking_down else (),
    )
