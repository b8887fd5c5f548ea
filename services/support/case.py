"""The support case as a typed model, in the stored document's own layout (store.py reads and
writes it through `SupportCaseRepository`).

One document per case: the case, its assessment, plan, contacts, files, reviews (a map keyed
by review id, so one review is updated by path), escalation and closure. Dates are stored as
ISO strings ("2026-03-30", which sort and compare as dates) and read back as `date`s;
datetimes are BSON dates. A field marked `later()` is absent from the document until it has
a value (a review's completion, a plan's agreement), as the stored layout has always been.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.support.closure import BreakdownPoint
from services.support.contacts import ContactChannel, FileKind
from services.support.escalation import BASE_CONTACTS_PER_WEEK
from services.support.plan import ActionOwner, NeedDomain, NeedLevel, Progress
from services.support.stages import ReviewOutcome
from shared.codes import (
    ClosureReason,
    LegalStage,
    RiskLevel,
    Route,
    Stage,
    SupportNeed,
    TenancyOutcome,
)
from shared.mongo import Document
from shared.repository import bson_safe

OPEN: Final = "open"
CLOSED: Final = "closed"
PENDING: Final = "pending"

CaseStatus = Literal["open", "closed"]
ReviewStatus = Literal["pending", "completed", "superseded", "cancelled"]


def later() -> Any:
    """A field set later in the case's life: left out of the document while it is None."""
    return Field(None, exclude_if=lambda value: value is None)


def stored(part: BaseModel) -> Document:
    """A part of the case as it is stored (for an update of that part alone)."""
    document: Document = bson_safe(part.model_dump())
    return document


def stored_reviews(reviews: Mapping[str, Review]) -> Document:
    """The reviews map as stored (set whole when a review changes the case's calendar)."""
    return {review_id: stored(review) for review_id, review in reviews.items()}


class Part(BaseModel):
    # Bookkeeping beside the case (_inbox, _outbox, version) is not part of it.
    model_config = ConfigDict(extra="ignore")


# --- reviews -----------------------------------------------------------------------------


class Review(Part):
    """A review point of a stage; completing it adds what the caseworker gave."""

    review_id: str
    point: str
    stage: Stage
    due_on: date
    reminder_on: date
    weigh_against_waiting_list: bool = False
    status: ReviewStatus = PENDING
    notified: dict[str, date | None] | None = later()  # notice -> the day it went out
    outcome: ReviewOutcome | None = later()
    completed_by: str | None = later()
    notes: str | None = later()
    target_stage: Stage | None = later()
    target_hours_per_week: float | None = later()
    new_needs: list[NeedDomain] | None = later()
    waiting_list_priority: str | None = later()
    weighing: str | None = later()  # what weighing it against referrals waiting decided
    completed_on: date | None = later()

    @property
    def pending(self) -> bool:
        return self.status == PENDING


class StageEntry(Part):
    """What entering a stage sets on the case (a review that changes the stage)."""

    stage: Stage
    stage_seq: int
    stage_started_on: date
    target_hours_per_week: float


# --- hours, contacts and files ---------------------------------------------------------------


class HoursPeriodRecord(Part):
    """Planned weekly hours from a date on (each stage change starts a period)."""

    starts_on: date
    hours: float


class Contact(Part):
    contact_id: str
    worker_id: str
    channel: ContactChannel
    occurred_on: date
    duration_minutes: int
    attended: bool = True
    notes: str | None = None
    logged_at: datetime


class FileRecord(Part):
    """A file received (metadata only: the file itself is kept elsewhere)."""

    file_id: str
    kind: FileKind
    received_via: ContactChannel
    received_on: date
    filename: str
    content_type: str | None = None
    size_bytes: int | None = None
    description: str | None = None
    storage_ref: str | None = None
    recorded_at: datetime


# --- assessment and plan ---------------------------------------------------------------------


class Need(Part):
    domain: NeedDomain
    level: NeedLevel
    notes: str | None = None


class Assessment(Part):
    assessed_by: str
    needs: list[Need]
    risks: str | None = None
    referrals_to_specialists: list[str] = []
    recorded_on: date

    def levels(self) -> dict[NeedDomain, NeedLevel]:
        return {need.domain: need.level for need in self.needs}


class ProgressNote(Part):
    on: date
    progress: Progress
    note: str | None = None


class PlanActionRecord(Part):
    action_id: str
    description: str
    owner: ActionOwner
    partner_agency: str | None = None
    due_on: date
    progress: Progress = Progress.NOT_STARTED
    notes: list[ProgressNote] | None = later()


class PlanGoal(Part):
    goal_id: str
    domain: NeedDomain
    goal: str
    actions: list[PlanActionRecord]


class Plan(Part):
    plan_id: str
    version: int
    revision: int = 1
    status: Literal["draft", "agreed"] = "draft"
    drafted_by: str
    drafted_on: date
    review_on: date
    goals: list[PlanGoal]
    agreed_on: date | None = later()
    agreed_by: str | None = later()

    def progresses(self) -> list[Progress]:
        return [action.progress for goal in self.goals for action in goal.actions]


class PlanAgreed(Part):
    plan_id: str
    agreed_on: date


class LimitOverrideRecord(Part):
    extend_until: date
    justification: str
    approved_by: str
    recorded_on: date
    previous_limit: date


# --- escalation, reallocation, closure ---------------------------------------------------------


class EscalationAction(Part):
    action_id: str
    kind: str
    description: str
    owner: str
    due_on: date
    progress: Progress = Progress.NOT_STARTED


class EscalationRecord(Part):
    risk_level: RiskLevel
    reasons: list[str]
    source: str
    flagged_by: str | None = None
    legal_stage: LegalStage = LegalStage.NONE
    arrears_balance: float | None = None
    eviction_date: date | None = None
    crisis_worker_id: str
    crisis_worker_designated: bool
    contact_frequency_per_week: float
    tenancy_breaking_down: bool
    advocacy_actions: list[EscalationAction] = []
    plan_to_leave: list[EscalationAction] = []
    escalated_on: date
    event_id: str


class Reallocation(Part):
    # Stored as "from" (a Python keyword).
    model_config = ConfigDict(extra="ignore", serialize_by_alias=True)

    from_worker_id: str | None = Field(
        validation_alias=AliasChoices("from", "from_worker_id"), serialization_alias="from"
    )
    to: str
    reason: str
    cover_until: date | None = None
    at: datetime


class Evaluation(Part):
    """Where a failed tenancy broke down (closure.Evaluation, as stored)."""

    broke_down_at: BreakdownPoint
    what_happened: str
    what_could_have_prevented_it: str
    reviewed_with_client: bool


class ClosureRecord(Part):
    reason: ClosureReason
    tenancy_outcome: TenancyOutcome
    closed_by: str
    notes: str | None = None
    evaluation: Evaluation | None = None
    closed_on: date
    evaluation_required: bool


# --- the case ------------------------------------------------------------------------------


class SupportCase(Part):
    case_id: str  # the document's _id (= the referral id)
    organisation: str
    correlation_id: str | None = None
    person_id: str
    route: Route = Route.SUPPORT
    status: CaseStatus = OPEN
    lead_worker_id: str
    lead_worker_email: str | None = None
    team_id: str | None = None
    team_leader_id: str | None = None
    team_leader_email: str | None = None
    crisis_worker_id: str | None = None
    stage: Stage
    stage_seq: int = 1
    stage_started_on: date
    support_started_on: date
    opened_at: datetime | None = None
    target_hours_per_week: float
    hours_periods: list[HoursPeriodRecord] = []
    support_needs: list[SupportNeed] = []
    tenancy_id: str | None = None
    referrer_organisation: str | None = None
    landlords: list[str] = []
    assessment: Assessment | None = None
    plan: Plan | None = None
    plans_agreed: list[PlanAgreed] = []
    contacts: list[Contact] = []
    files: list[FileRecord] = []
    reviews: dict[str, Review] = {}
    next_review_on: date | None = None
    support_limit_on: date
    limit_overrides: list[LimitOverrideRecord] = []
    contact_frequency_per_week: float | None = BASE_CONTACTS_PER_WEEK
    escalation_rank: int = -1  # the escalation's risk rank, -1 while none (a query field)
    escalation: EscalationRecord | None = None
    escalations: list[EscalationRecord] = []
    reallocations: list[Reallocation] = []
    closure: ClosureRecord | None = None
    closed_at: datetime | None = later()

    @property
    def is_open(self) -> bool:
        return self.status == OPEN
