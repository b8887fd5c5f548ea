"""Case lifecycle events, all on one topic keyed by case id so a case's history stays ordered."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from shared.codes import ClosureReason, RiskLevel, Route, Stage, SupportNeed, TenancyOutcome
from shared.events.base import EventData
from shared.topics import Topic


class CaseAllocated(EventData):
    TYPE: ClassVar[str] = "CaseAllocated"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    person_id: str
    route: Route = Field(description="support or reconnection: exactly one service opens it")
    lead_worker_id: str
    team_id: str
    team_leader_id: str
    stage: Stage = Stage.STAGE_1
    target_hours_per_week: float
    allocated_at: datetime
    support_needs: list[SupportNeed] = []
    tenancy_id: str | None = None
    referrer_organisation: str | None = None
    # Professional contacts, so notifications can reach the workers without reading allocation.
    lead_worker_email: str | None = None
    team_leader_email: str | None = None


class CaseReallocated(EventData):
    TYPE: ClassVar[str] = "CaseReallocated"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    previous_worker_id: str
    lead_worker_id: str
    team_leader_id: str
    reason: str = Field(description="change_of_worker or cover")
    cover_until: date | None = None
    lead_worker_email: str | None = None
    team_leader_email: str | None = None


class SupportPlanAgreed(EventData):
    TYPE: ClassVar[str] = "SupportPlanAgreed"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    plan_id: str
    stage: Stage
    goal_domains: list[str]
    agreed_on: date
    next_review_on: date | None = None


class StageChanged(EventData):
    TYPE: ClassVar[str] = "StageChanged"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    previous_stage: Stage
    stage: Stage
    target_hours_per_week: float
    changed_on: date


class ReviewDue(EventData):
    TYPE: ClassVar[str] = "ReviewDue"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    review_id: str
    review_point: str = Field(description="e.g. stage_1_week_12, stage_2_month_6, step_down")
    due_on: date
    notice: str = Field(description="reminder (ahead) or due (on the day)")
    lead_worker_id: str | None = None
    stage: Stage | None = None
    route: Route = Route.SUPPORT
    weigh_against_waiting_list: bool = False


class CaseEscalated(EventData):
    TYPE: ClassVar[str] = "CaseEscalated"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    risk_level: RiskLevel
    reasons: list[str]
    crisis_worker_id: str | None = None
    lead_worker_id: str | None = None
    contact_frequency_per_week: float | None = None
    tenancy_id: str | None = None
    plan_to_leave: bool = False


class CaseClosed(EventData):
    TYPE: ClassVar[str] = "CaseClosed"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    person_id: str
    route: Route
    reason: ClosureReason
    tenancy_outcome: TenancyOutcome = TenancyOutcome.NOT_APPLICABLE
    closed_at: datetime
    lead_worker_id: str | None = None
    tenancy_id: str | None = None
    involved_organisations: list[str] = []
    # The case's own closure letter (Safe Connections Tool 4, step 7): who the client's
    # support is in the local area and what to do in a crisis (shared/closure_letter.py).
    local_support: str | None = Field(None, max_length=4000)
    crisis_support: str | None = Field(None, max_length=4000)


class ContactLogged(EventData):
    """A contact with the client logged on a case: when, how and how long. No notes: outcomes
    measures time to first contact and hours delivered from it (issue 18)."""

    TYPE: ClassVar[str] = "ContactLogged"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    contact_id: str
    contact_on: date
    channel: str = Field(description="face_to_face, phone, ... (support's ContactChannel)")
    duration_minutes: int | None = Field(None, ge=0)
    first: bool = Field(False, description="the case's first logged contact")
    attended: bool = Field(True, description="False: the client did not attend or answer")


class ReviewCompleted(EventData):
    """A review done: which one, when it was due and when it was done, and the decision."""

    TYPE: ClassVar[str] = "ReviewCompleted"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    case_id: str
    review_id: str
    review_point: str = Field(description="e.g. stage_1_week_12, stage_2_month_6, step_down")
    due_on: date | None = None
    completed_on: date
    decision: str = Field(description="continue, change_stage, step_down, close, ...")
    stage: Stage | None = None


class CaseworkerCapacityChanged(EventData):
    """A caseworker's hours for casework changed, or they joined or left a team: capacity over
    time, set against demand (issue 18). Keyed by caseworker."""

    TYPE: ClassVar[str] = "CaseworkerCapacityChanged"
    TOPIC: ClassVar[str] = Topic.CASE_EVENTS

    caseworker_id: str
    team_id: str
    hours_per_week: float = Field(ge=0)
    active: bool = True
    changed_at: datetime

    def subject(self) -> str:
        return self.caseworker_id
