"""What the reporting store keeps of each event: ids, codes, dates and amounts, never a name,
contact detail, address or free text (issue 18). Pure.

Each event type has the list of fields kept (`KEPT`); anything else in the event is dropped
before it is stored, so a field added to an event later stays out until someone decides here
that it may come in. A type not listed is kept as its id, type, subject and time only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.events.base import EventData
from shared.events.envelope import Envelope

# The fields each event type keeps. Free text (reasons, letters, notes, learning points) and
# referrer contacts are never listed.
KEPT: dict[str, tuple[str, ...]] = {
    "ReferralReceived": ("person_id", "received_at", "support_needs", "tenancy_id", "automatic"),
    "ReferralAssessed": (
        "person_id",
        "route",
        "received_at",
        "support_needs",
        "date_facing_homelessness",
        "legal_stage",
        "risk_level",
        "repeat_cycle",
        "tenancy_id",
        "referring_area",
        "entry_stage",
    ),
    "CaseAllocated": (
        "person_id",
        "route",
        "lead_worker_id",
        "team_id",
        "stage",
        "target_hours_per_week",
        "allocated_at",
        "support_needs",
        "tenancy_id",
        "referrer_organisation",
    ),
    "CaseReallocated": ("previous_worker_id", "lead_worker_id", "reason", "cover_until"),
    "SupportPlanAgreed": ("plan_id", "stage", "goal_domains", "agreed_on", "next_review_on"),
    "StageChanged": ("previous_stage", "stage", "target_hours_per_week", "changed_on"),
    "ReviewDue": ("review_id", "review_point", "due_on", "notice", "stage", "route"),
    "ReviewCompleted": (
        "review_id",
        "review_point",
        "due_on",
        "completed_on",
        "decision",
        "stage",
    ),
    "ContactLogged": (
        "contact_id",
        "contact_on",
        "channel",
        "duration_minutes",
        "first",
        "attended",
    ),
    "CaseEscalated": ("risk_level", "crisis_worker_id", "tenancy_id", "plan_to_leave"),
    "CaseClosed": (
        "person_id",
        "route",
        "reason",
        "tenancy_outcome",
        "closed_at",
        "lead_worker_id",
        "tenancy_id",
    ),
    "ReconnectionPhaseChanged": ("previous_phase", "phase", "changed_on", "destination_area"),
    "ReconnectionFollowedUp": (
        "destination_area",
        "reconnected_on",
        "followed_up_on",
        "still_in_accommodation",
        "engaged",
        "returned_to_rough_sleeping",
    ),
    "PresentationPackDue": ("destination_area", "reconnection_date", "deliver_by"),
    "LearningPointsRecorded": ("entry_id", "recorded_on", "points", "themes"),
    "TenancyAtRisk": (
        "landlord",
        "alert_id",
        "risk_level",
        "arrears_balance",
        "weekly_rent",
        "weeks_in_arrears",
        "legal_stage",
        "eviction_date",
        "prevention_case_id",
    ),
    "TenancyArrearsReported": (
        "landlord",
        "alert_id",
        "reported_on",
        "arrears_balance",
        "weekly_rent",
        "legal_stage",
    ),
    "TenancyEnded": ("landlord", "alert_id", "ended_on", "reason"),
    "CaseworkerCapacityChanged": ("team_id", "hours_per_week", "active", "changed_at"),
    "NotificationSent": ("notification_id", "recipient_role", "channel", "template"),
    "NotificationFailed": ("notification_id", "recipient_role", "channel", "template", "parked"),
}

# Fields that are never kept, whatever an event type's list says: checked by a test, so a
# careless addition to `KEPT` fails before it stores a name.
NEVER_KEPT = frozenset(
    {
        "referrer",
        "display_name",
        "name",
        "email",
        "mobile",
        "postal_address",
        "reasons",
        "notes",
        "local_support",
        "crisis_support",
        "covering_letter",
        "recipient_name",
        "recipient_email",
        "pdf_base64",
        "tenancy_reference",
        "highs",
        "lows",
    }
)

# Facts about a tenancy (keyed by tenancy id) rather than a case.
TENANCY_TYPES = frozenset({"TenancyAtRisk", "TenancyArrearsReported", "TenancyEnded"})
CAPACITY_TYPES = frozenset({"CaseworkerCapacityChanged"})


@dataclass(frozen=True)
class Fact:
    """One event as the reporting store keeps it."""

    id: str  # the event id: a redelivered event is the same fact
    type: str  # short type, e.g. CaseClosed
    organisation: str  # whose event it is (the writer's, from the envelope)
    subject: str  # the case, tenancy or caseworker it is about
    time: datetime  # when the event happened (the envelope's time)
    data: dict[str, Any] = field(default_factory=dict)
    case_ids: tuple[str, ...] = ()  # the cases a tenancy fact names

    @property
    def kind(self) -> str:
        if self.type in TENANCY_TYPES:
            return "tenancy"
        if self.type in CAPACITY_TYPES:
            return "capacity"
        return "case"

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "type": self.type,
            "organisation": self.organisation,
            "subject": self.subject,
            "kind": self.kind,
            "time": self.time,
            "data": self.data,
            "case_ids": list(self.case_ids),
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Fact:
        time = document["time"]
        if isinstance(time, datetime) and time.tzinfo is None:
            time = time.replace(tzinfo=UTC)  # the database keeps UTC without a zone
        return cls(
            id=str(document["_id"]),
            type=str(document["type"]),
            organisation=str(document["organisation"]),
            subject=str(document["subject"]),
            time=time,
            data=dict(document.get("data") or {}),
            case_ids=tuple(document.get("case_ids") or ()),
        )


def fact_from(envelope: Envelope, data: EventData) -> Fact:
    """The fact kept of an event: only the fields `KEPT` lists, as JSON values (dates as
    ISO strings, so the store and a rebuild hold exactly the same)."""
    short = envelope.short_type
    dumped = data.model_dump(mode="json")
    kept = {name: dumped[name] for name in KEPT.get(short, ()) if dumped.get(name) is not None}
    referrer = getattr(data, "referrer", None)
    if referrer is not None and getattr(referrer, "source", None):
        kept["referral_source"] = referrer.source  # a code (H-CLIC's referral source), no contact
    case_ids: list[str] = []
    for name in ("case_id", "prevention_case_id"):
        value = getattr(data, name, None)
        if isinstance(value, str) and value:
            case_ids.append(value)
    case_ids += [c for c in getattr(data, "case_ids", None) or () if isinstance(c, str)]
    return Fact(
        id=envelope.id,
        type=short,
        organisation=envelope.organisation,
        subject=data.subject(),
        time=envelope.time.astimezone(UTC),
        data=kept,
        case_ids=tuple(dict.fromkeys(case_ids)),
    )
