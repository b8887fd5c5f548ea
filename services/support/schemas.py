"""Request bodies of the support API; bounded so bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.support.closure import BreakdownPoint
from services.support.contacts import ContactChannel, FileKind
from services.support.plan import ActionOwner, NeedDomain, NeedLevel, Progress
from services.support.review_weighing import WaitingListPriority
from services.support.stages import ReviewOutcome
from shared.codes import ClosureReason, LegalStage, RiskLevel, Stage, SupportNeed, TenancyOutcome
from shared.events.referral_intake import REFERRAL_ID_PATTERN

NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f]+$")]
Line = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
Notes = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class NeedIn(BaseModel):
    domain: NeedDomain
    level: NeedLevel
    notes: Notes | None = None


class AssessmentIn(BaseModel):
    assessed_by: Name
    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    risks: Notes | None = Field(None, description="risk management notes")
    referrals_to_specialists: list[Name] = Field(default=[], max_length=20)


class PlanActionIn(BaseModel):
    description: Line
    owner: ActionOwner
    due_on: Day
    partner_agency: Name | None = Field(None, description="required when a partner owns it")
    progress: Progress = Progress.NOT_STARTED


class GoalIn(BaseModel):
    domain: NeedDomain
    goal: Line
    actions: list[PlanActionIn] = Field(min_length=1, max_length=30)


class PlanIn(BaseModel):
    drafted_by: Name
    goals: list[GoalIn] = Field(min_length=1, max_length=30)


class AgreeIn(BaseModel):
    agreed_by: Name
    client_agreed: bool = Field(description="the client agreed the plan")


class ProgressIn(BaseModel):
    progress: Progress
    note: Notes | None = None


class ContactIn(BaseModel):
    worker_id: Name
    channel: ContactChannel
    occurred_on: Day
    duration_minutes: int = Field(ge=0, le=720)
    attended: bool = Field(True, description="False: the client did not attend or answer")
    notes: Notes | None = None


class FileIn(BaseModel):
    kind: FileKind
    received_via: ContactChannel
    received_on: Day
    filename: Name
    content_type: Name | None = None
    size_bytes: int | None = Field(None, ge=0, le=10**10)
    description: Notes | None = None
    storage_ref: Line | None = Field(None, description="where the file itself is kept")


class EvaluationIn(BaseModel):
    broke_down_at: BreakdownPoint
    what_happened: Notes
    what_could_have_prevented_it: Notes
    reviewed_with_client: bool


class ClosureIn(BaseModel):
    reason: ClosureReason
    tenancy_outcome: TenancyOutcome | None = Field(
        None,
        description="what became of the tenancy. Left out: the one outcome the reason allows "
        "(tenancy_sustained: sustained; evicted; abandoned), else not_applicable for a case "
        "with no tenancy and unknown for one with a tenancy where the reason allows it; a 422 "
        "naming this field when the reason needs the caller to say (plan_achieved, moved_on)",
    )
    closed_by: Name
    notes: Notes | None = None
    evaluation: EvaluationIn | None = Field(
        None, description="where the tenancy broke down; required when evicted or abandoned"
    )


class ReviewCompletionIn(BaseModel):
    outcome: ReviewOutcome
    completed_by: Name
    notes: Notes | None = None
    target_stage: Stage | None = Field(None, description="for change_stage")
    target_hours_per_week: float | None = Field(None, ge=0.5, le=3.0)
    new_needs: list[NeedDomain] = Field(
        default=[],
        max_length=20,
        description="new support needs identified at this review; at a stage 1 review they are "
        "assessed for priority against referrals waiting for service",
    )
    waiting_list_priority: WaitingListPriority | None = Field(
        None,
        description="how the case ranks against referrals waiting: required on reviews weighed "
        "against them (stage 2) and on a stage 1 review that identifies new needs",
    )
    closure: ClosureIn | None = Field(None, description="required when the outcome is close")


class EscalateIn(BaseModel):
    risk_level: RiskLevel
    reasons: list[Line] = Field(min_length=1, max_length=20)
    flagged_by: Name
    legal_stage: LegalStage = LegalStage.NONE
    arrears_balance: float | None = Field(None, ge=0, le=1_000_000)
    eviction_date: Day | None = None


class OverrideIn(BaseModel):
    extend_until: Day
    justification: Notes
    approved_by: Name


class CrisisWorkerIn(BaseModel):
    worker_id: Name | None = Field(description="None: the lead worker stands in")


class OpenCaseIn(BaseModel):
    """A case opened at a stage from a start date: one that began before Hearth took it on."""

    case_id: str = Field(
        min_length=1, max_length=200, pattern=REFERRAL_ID_PATTERN, description="the case's id"
    )
    person_id: Name = Field(description="the person's Hearth id (their referral's, if any)")
    stage: Stage
    started_on: Day = Field(description="the day the case entered this stage; not in future")
    support_started_on: Day | None = Field(
        None,
        description="the day support began, from which the two-year limit runs; default: "
        "started_on",
    )
    lead_worker_id: Name
    team_id: Name
    team_leader_id: Name | None = None
    target_hours_per_week: float | None = Field(
        None, ge=0.5, le=3.0, description="within the stage's band; default: the stage's"
    )
    support_needs: list[SupportNeed] = Field(default=[], max_length=len(SupportNeed))
    referrer_organisation: Name | None = None
