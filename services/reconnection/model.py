"""The reconnection case as stored: one document per case, validated on the way in and out."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from services.reconnection.closure_checklist import ClosureAnswers
from services.reconnection.dates import BoundedDate
from services.reconnection.eligibility import EligibilityInput, EligibilityResult
from services.reconnection.local_connection import LocalConnectionEvidence, LocalConnectionResult
from services.reconnection.phases import Phase
from shared.codes import ClosureReason, SupportNeed
from shared.validation import Email

Text = str


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class ItemRecord(BaseModel):
    status: ItemStatus
    note: str | None = None
    reason: str | None = None  # why it does not apply
    at: datetime


class EligibilityRecord(BaseModel):
    given: EligibilityInput
    result: EligibilityResult
    phase: Phase  # eligibility is checked again at engagement


class LocalConnectionRecord(BaseModel):
    evidence: LocalConnectionEvidence
    result: LocalConnectionResult


class AuthorityContact(BaseModel):
    area: str = Field(min_length=1, max_length=100)
    contacted_on: BoundedDate
    channel: str = Field("phone", max_length=50)
    contact_name: str | None = Field(None, max_length=200)
    email: Email | None = Field(
        None, description="the Housing Options officer's: the presentation pack goes there"
    )
    organisation: str | None = Field(None, max_length=100, description="the authority's Hearth id")
    rough_sleeping_highlighted: bool = True
    already_known: bool | None = Field(None, description="is the client known to the authority?")
    notes: str | None = Field(None, max_length=2000)


class PartVIIStatus(StrEnum):
    NOT_SUBMITTED = "not_submitted"
    SUBMITTED = "submitted"
    POSITIVE = "positive"
    NEGATIVE = "negative"


class PartVII(BaseModel):
    status: PartVIIStatus = PartVIIStatus.NOT_SUBMITTED
    authority: str | None = None
    reference: str | None = None
    submitted_on: date | None = None
    decided_on: date | None = None


class PackItem(StrEnum):
    ID = "id"
    PROOF_OF_BENEFITS = "proof_of_benefits"
    MEDICAL_INFORMATION = "medical_information"
    ADDRESS_HISTORY = "address_history"
    PRIORITY_NEED_EVIDENCE = "priority_need_evidence"
    COVERING_LETTER = "covering_letter"


class PackItemRecord(BaseModel):
    status: ItemStatus
    reason: str | None = None
    note: str | None = None
    at: datetime


class PackRecipient(BaseModel):
    """Who the pack goes to: the destination authority's Housing Options officer or manager."""

    area: str
    name: str | None = None
    email: str | None = None
    organisation: str | None = None


class PackDocumentItem(BaseModel):
    item: PackItem
    description: str
    status: ItemStatus
    reason: str | None = None
    note: str | None = None


class PackDocument(BaseModel):
    """The presentation pack as generated and kept (the PDF in `presentation_packs`)."""

    document_id: str
    generated_at: datetime
    reconnection_date: date
    destination_area: str
    recipient: PackRecipient | None
    items: list[PackDocumentItem]
    subject: str
    letter: str  # the covering letter, signed by the caseworker (also the email's text)
    filename: str
    size_bytes: int
    sha256: str


class PackDelivery(BaseModel):
    """What the notifications service reported for the pack's email (NotificationSent/Failed)."""

    notification_id: str
    status: str  # sent | failed
    channel: str
    at: datetime
    in_time: bool  # before the day of the presentation
    reason: str | None = None


class RiskLevelText(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RiskAssessment(BaseModel):
    level: RiskLevelText
    risks: list[str] = Field(default_factory=list, max_length=50, description="e.g. flight_risk")
    mitigations: str | None = Field(None, max_length=4000)
    assessed_on: date | None = None


class TravelPlan(BaseModel):
    mode: str = Field(min_length=1, max_length=50, description="train, coach, car...")
    travel_date: BoundedDate
    route: str | None = Field(None, max_length=2000)
    worker_accompanying: bool = True
    notes: str | None = Field(None, max_length=4000)


class SpendCategory(StrEnum):
    TRAVEL = "travel"
    FOOD = "food"
    ACCOMMODATION = "accommodation"
    MOVE_IN_KIT = "move_in_kit"
    OTHER = "other"


class Spend(BaseModel):
    amount_pence: int
    category: SpendCategory
    note: str | None = None
    on: date
    overspend: bool = False
    overspend_reason: str | None = None


class Budget(BaseModel):
    allocated_pence: int | None = None
    spends: list[Spend] = []

    @property
    def spent_pence(self) -> int:
        return sum(s.amount_pence for s in self.spends)


class ConfidenceCheck(BaseModel):
    level: int = Field(ge=1, le=5, description="1 very low to 5 very confident")
    concerns: str | None = Field(None, max_length=4000)
    actions: str | None = Field(None, max_length=4000)
    on: date | None = None


class Handover(BaseModel):
    agency: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=100, description="floating support, GP, ...")
    organisation: str | None = Field(None, max_length=100, description="the agency's Hearth id")
    on: date | None = None
    notes: str | None = Field(None, max_length=2000)


class ClosureLetter(BaseModel):
    local_support: str = Field(min_length=1, max_length=4000)
    crisis_plan: str = Field(min_length=1, max_length=4000)
    sent_on: date | None = None


class CaseReview(BaseModel):
    highs: list[str] = Field(default_factory=list, max_length=50)
    lows: list[str] = Field(default_factory=list, max_length=50)
    summary: str | None = Field(None, max_length=4000)


class AgencyNotice(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    organisation: str | None = Field(None, max_length=100, description="the agency's Hearth id")


class FollowUpRecord(BaseModel):
    """The last three-month follow-up recorded (follow_up.py): its number and its day."""

    number: int
    on: date


class ClosureRecord(BaseModel):
    answers: ClosureAnswers = ClosureAnswers()
    letter: ClosureLetter | None = None
    agencies_notified: list[AgencyNotice] = []
    review: CaseReview | None = None
    learning_entry_id: str | None = None
    follow_up: FollowUpRecord | None = None


class ClosedRecord(BaseModel):
    reason: ClosureReason
    at: datetime
    note: str | None = None


class PhaseHistoryEntry(BaseModel):
    previous: Phase | None
    phase: Phase
    at: datetime


class ReconnectionCase(BaseModel):
    case_id: str
    organisation: str
    correlation_id: str
    person_id: str | None = None
    phase: Phase = Phase.IDENTIFY
    opened_at: datetime
    last_progress_at: datetime
    referral_assessed_at: datetime | None = None
    referring_area: str | None = None
    referrer_organisation: str | None = None
    support_needs: list[SupportNeed] = []
    lead_worker_id: str | None = None
    team_id: str | None = None
    team_leader_id: str | None = None
    allocated_at: datetime | None = None
    checklists: dict[str, dict[str, ItemRecord]] = {}
    eligibility: EligibilityRecord | None = None
    local_connection: LocalConnectionRecord | None = None
    destination_area: str | None = None
    authority_contacts: list[AuthorityContact] = []
    part_vii: PartVII = PartVII()
    pack: dict[str, PackItemRecord] = {}
    pack_sent_at: datetime | None = None  # the pack issued for delivery (the day before)
    pack_document: PackDocument | None = None
    pack_delivery: PackDelivery | None = None
    reconnection_date: date | None = None
    risk_assessment: RiskAssessment | None = None
    travel_plan: TravelPlan | None = None
    budget: Budget = Budget()
    confidence_check: ConfidenceCheck | None = None
    reconnected_at: datetime | None = None
    handovers: list[Handover] = []
    closure: ClosureRecord = ClosureRecord()
    closed: ClosedRecord | None = None
    history: list[PhaseHistoryEntry] = []

    @property
    def is_open(self) -> bool:
        return self.closed is None

    @property
    def reconnected_on(self) -> date | None:
        return self.reconnected_at.date() if self.reconnected_at else None
