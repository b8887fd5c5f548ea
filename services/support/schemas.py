"""Request bodies of the support API; bounded so bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.support.closure import BreakdownPoint
from services.support.contacts import ContactChannel, FileKind
from services.support.plan import ActionOwner, NeedDomain, NeedLevel, Progress
from services.support.stages import ReviewOutcome
from shared.codes import ClosureReason, LegalStage, RiskLevel, Stage, TenancyOutcome

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
    tenancy_outcome: TenancyOutcome = TenancyOutcome.NOT_APPLICABLE
    closed_by: Name
    notes: Notes | None = None
    evaluation: EvaluationIn | None = Field(
        None, description="where the tenancy broke down; required when evicted or abandoned"
    )


class WaitingListPriority(StrEnum):
    CASE_KEEPS_PRIORITY = "case_keeps_priority"
    WAITING_REFERRALS_FIRST = "waiting_referrals_first"


class ReviewCompletionIn(BaseModel):
    outcome: ReviewOutcome
    completed_by: Name
    notes: Notes | None = None
    target_stage: Stage | None = Field(None, description="for change_stage")
    target_hours_per_week: float | None = Field(None, ge=0.5, le=3.0)
    new_needs: list[NeedDomain] = Field(default=[], max_length=20)
    waiting_list_priority: WaitingListPriority | None = Field(
        None, description="required on reviews weighed against referrals waiting"
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
