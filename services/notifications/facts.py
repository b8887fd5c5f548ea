"""Which fact an event tells, so related events about one fact notify each recipient once.

A landlord's alert that a tenancy's risk rose (TenancyAtRisk) and the escalation of the case it
caused (CaseEscalated, a follow-on: its causation id is the alert's event id) are one fact for
the people told: the tenancy of this case is at risk. Both plan the same recipients (the
caseworker, the team leader, the landlord's housing officer), so a delivery is keyed by
(fact, recipient, channel), not by event: whichever event arrives first is sent, the other one
finds the delivery already recorded (the deliveries' unique `_id`) and adds nothing.

Every other event is a fact of its own: its key is its event id, as it always was. Pure.
"""

from __future__ import annotations

from shared.ids import stable_id

# An event type -> the event types that tell the same fact (itself included). A partner's
# webhook endpoint subscribed to any of them receives the fact's one delivery.
SAME_FACT: dict[str, frozenset[str]] = {
    "TenancyAtRisk": frozenset({"TenancyAtRisk", "CaseEscalated"}),
    "CaseEscalated": frozenset({"TenancyAtRisk", "CaseEscalated"}),
}


def fact_key(event_type: str, event_id: str, causation_id: str | None, case_id: str | None) -> str:
    """The fact an event tells, for one case.

    - TenancyAtRisk: the risk rise itself (its event id derives from tenancy, episode and
      level), for the case it is routed to;
    - CaseEscalated: what caused it (the TenancyAtRisk for a landlord's alert; a worker's own
      flag has no cause and is its own fact), for its case;
    - anything else: the event itself.

    The case is part of the key because one alert may escalate two open cases of a tenancy,
    and each case's caseworker must still hear once.
    """
    if event_type == "TenancyAtRisk":
        return stable_id("risk", event_id, case_id or "")
    if event_type == "CaseEscalated":
        return stable_id("risk", causation_id or event_id, case_id or "")
    return event_id


def same_fact_types(event_type: str) -> frozenset[str]:
    """The event types that tell the same fact as `event_type` (at least itself)."""
    return SAME_FACT.get(event_type, frozenset({event_type}))
