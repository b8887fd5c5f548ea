"""Who hears what, kept as data: event type -> recipient role x channels x template.

`channels` is an order of preference. For the client it is narrowed by the person's own
preferences and consent (see consent.py) and one channel is used; for professionals,
`deliver="first"` uses the first channel they have an address for and `deliver="all"` every
one (an agency with both a notice mailbox and a partner webhook gets both).
`when` holds field values the event must carry for the rule to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from shared.codes import Channel


class Role(StrEnum):
    CLIENT = "client"
    CASEWORKER = "caseworker"
    TEAM_LEADER = "team_leader"
    REFERRER = "referrer"
    HOUSING_OFFICER = "housing_officer"
    AGENCY = "agency"  # every involved organisation's notice mailbox or partner system


@dataclass(frozen=True)
class Rule:
    event_type: str
    recipient: Role
    channels: tuple[Channel, ...]
    template: str
    deliver: Literal["first", "all"] = "first"
    urgent: bool = False
    when: dict[str, Any] = field(default_factory=dict)

    def applies(self, event_type: str, fields: dict[str, Any]) -> bool:
        return self.event_type == event_type and all(
            fields.get(name) == value for name, value in self.when.items()
        )


E, S, L, W = Channel.EMAIL, Channel.SMS, Channel.LETTER, Channel.WEBHOOK

RULES: tuple[Rule, ...] = (
    # Flow 6: the referrer gets an acknowledgement, then the screening outcome.
    Rule("ReferralReceived", Role.REFERRER, (E,), "referral_acknowledgement"),
    Rule("ReferralAssessed", Role.REFERRER, (E,), "referral_status"),
    # Allocation: the client is introduced (their channel), the workers told.
    Rule("CaseAllocated", Role.CLIENT, (E, S, L), "client_introduction"),
    Rule("CaseAllocated", Role.CASEWORKER, (E,), "caseworker_allocation"),
    Rule("CaseAllocated", Role.TEAM_LEADER, (E,), "team_leader_allocation"),
    Rule("CaseReallocated", Role.CASEWORKER, (E,), "caseworker_reallocation"),
    # Safety net: urgent alerts, and the housing officer where the sharing agreement allows.
    Rule("TenancyAtRisk", Role.CASEWORKER, (E,), "urgent_tenancy_alert", urgent=True),
    Rule("TenancyAtRisk", Role.TEAM_LEADER, (E,), "urgent_tenancy_alert", urgent=True),
    Rule("TenancyAtRisk", Role.HOUSING_OFFICER, (E, W), "housing_officer_alert", "all", True),
    Rule("CaseEscalated", Role.CASEWORKER, (E,), "urgent_escalation_alert", urgent=True),
    Rule("CaseEscalated", Role.TEAM_LEADER, (E,), "urgent_escalation_alert", urgent=True),
    Rule("CaseEscalated", Role.HOUSING_OFFICER, (E, W), "housing_officer_alert", "all", True),
    # Reviews: a reminder ahead and a notice on the day.
    Rule("ReviewDue", Role.CASEWORKER, (E,), "review_reminder", when={"notice": "reminder"}),
    Rule("ReviewDue", Role.CASEWORKER, (E,), "review_due", when={"notice": "due"}),
    # Closure (Safe Connections Tool 4, steps 7-8): a letter to the client, every agency told.
    Rule("CaseClosed", Role.CLIENT, (L, E), "closure_letter"),
    Rule("CaseClosed", Role.REFERRER, (E, W), "agency_closure_notice"),
    Rule("CaseClosed", Role.AGENCY, (E, W), "agency_closure_notice", "all"),
)

ROUTED_EVENT_TYPES: frozenset[str] = frozenset(rule.event_type for rule in RULES)


def rules_for(
    event_type: str, fields: dict[str, Any], rules: tuple[Rule, ...] = RULES
) -> list[Rule]:
    return [rule for rule in rules if rule.applies(event_type, fields)]
