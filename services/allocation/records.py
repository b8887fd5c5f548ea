"""Allocation's aggregates as typed models, and the pure rules' inputs made from them.

The models keep the stored document layout (store.py's repositories read and write them):
each one's id is the document's `_id`, dates are ISO strings (BSON has no date-only type)
and datetimes BSON dates, which come back naive and are made aware here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field

from services.allocation.matching import CaseToPlace, WorkerView
from services.allocation.priority import PriorityFacts, RiskSignal
from services.allocation.specialisms import Specialism
from shared.codes import LegalStage, RiskLevel, Route, Stage, SupportNeed
from shared.ids import stable_id
from shared.lanes import Lane
from shared.mongo import Document


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(aware)]


def _id(name: str) -> Any:
    """The model's id, read from the document's `_id` (or from its own name)."""
    return Field(validation_alias=AliasChoices(name, "_id"))


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")  # bookkeeping (_inbox, _outbox, version) stays


# --- teams and caseworkers ------------------------------------------------------------------


class Team(Record):
    team_id: str = _id("team_id")
    organisation: str
    name: str = ""
    team_leader_id: str = ""
    team_leader_name: str | None = None
    team_leader_email: str | None = None
    created_at: Moment | None = None


class Caseworker(Record):
    """A worker and their capacity. `free_hours`, `free_slots` and `open_cases` change only by
    guarded `$inc` (store.py). `cases` are the cases the worker holds; `case_hours` and
    `claimed_at` are keyed by `stable_id(case_id)` (case ids are not safe as field names)."""

    worker_id: str = _id("worker_id")
    organisation: str
    team_id: str
    name: str = ""
    email: str | None = None
    specialisms: list[Specialism] = []
    contracted_hours: float = 0.0
    max_caseload: int = 0
    free_hours: float = 0.0
    free_slots: int = 0
    open_cases: int = 0
    cases: list[str] = []
    case_hours: dict[str, float] = {}
    claimed_at: dict[str, Moment] = {}
    active: bool = True
    leave_from: date | None = None
    leave_to: date | None = None
    cover_worker_id: str | None = None
    created_at: Moment | None = None

    def holds(self, case_id: str) -> bool:
        return case_id in self.cases

    def hours_for(self, case_id: str) -> float | None:
        return self.case_hours.get(stable_id(case_id))

    def claimed_at_for(self, case_id: str) -> datetime | None:
        return self.claimed_at.get(stable_id(case_id))

    @property
    def hours_committed(self) -> float:
        return self.contracted_hours - self.free_hours


# --- cases ----------------------------------------------------------------------------------


class StoredRiskSignal(Record):
    """A TenancyAtRisk naming the case, as recorded on it."""

    level: RiskLevel
    reasons: list[str] = []
    legal_stage: LegalStage = LegalStage.NONE
    alert_id: str | None = None
    tenancy_id: str | None = None
    at: Moment | None = None


class Allocation(Record):
    worker_id: str
    team_id: str
    team_leader_id: str = ""
    hours: float
    stage: Stage = Stage.STAGE_1
    allocated_at: Moment
    version: int = 1  # moves on with every reallocation (the guard of the next)
    reason: str = "allocated"
    cover_until: date | None = None
    previous_worker_id: str | None = None


CaseStatus = Literal["waiting", "allocated", "closed"]


class CaseEntry(Record):
    """One case as allocation knows it: waiting, allocated or closed. A stub a tenancy alert
    made before the case's ReferralAssessed has only its risk signals (no status)."""

    case_id: str = _id("case_id")
    organisation: str = ""
    status: CaseStatus | None = None
    person_id: str = ""
    route: Route = Route.SUPPORT
    stage: Stage = Stage.STAGE_1
    support_needs: list[SupportNeed] = []
    date_facing_homelessness: date | None = None
    legal_stage: LegalStage = LegalStage.NONE
    risk_level: RiskLevel | None = None
    repeat_cycle: bool = False
    tenancy_id: str | None = None
    referrer_organisation: str | None = None
    received_at: Moment | None = None
    waiting_since: Moment | None = None
    correlation_id: str | None = None
    assessed_event_id: str | None = None
    # The lane its referral came by (shared/lanes.py): its CaseAllocated goes the same way,
    # whatever pass places it, so a person's case never waits behind a feed's.
    lane: Lane = Lane.INTERACTIVE
    risk_signals: list[StoredRiskSignal] = []
    # Placement fields, what the allocator's query matches on (placement_fields); absent on
    # entries stored before they were kept.
    wanted: list[Specialism] | None = None
    hours: float | None = None
    allocation: Allocation | None = None
    history: list[Allocation] = []
    closed_at: Moment | None = None
    closure_reason: str | None = None
    closed_event_id: str | None = None

    @property
    def lead_worker_id(self) -> str | None:
        return self.allocation.worker_id if self.allocation else None


class Review(Record):
    """An open case at a review weighed against the waiting list."""

    case_id: str = _id("case_id")
    organisation: str
    review_id: str
    review_point: str
    due_on: date | None = None
    notice: str | None = None
    lead_worker_id: str | None = None
    stage: Stage | None = None
    route: Route | None = None
    recorded_at: Moment | None = None


class Kept(Record):
    """A worker kept for the head of a pool (backfill.py) by the pass that settled."""

    worker_id: str
    case_id: str


class PassState(Record):
    """An organisation's allocation state: `version` goes up before any change that can free
    capacity; `settled`/`settled_on` are the version and day a full pass last left no waiting
    case placeable (allocator.settled), and `reserved` the workers that pass kept for heads."""

    organisation: str = _id("organisation")
    version: int = 0
    settled: int | None = None
    settled_on: date | None = None
    reserved: list[Kept] = []  # a list: ids may hold dots, unsafe as field names

    @property
    def kept(self) -> dict[str, str]:
        """Worker id -> the head's case id."""
        return {k.worker_id: k.case_id for k in self.reserved}


# --- the pure rules' inputs -------------------------------------------------------------------


def worker_view(worker: Caseworker) -> WorkerView:
    return WorkerView(
        worker_id=worker.worker_id,
        team_id=worker.team_id,
        specialisms=frozenset(worker.specialisms),
        free_hours=worker.free_hours,
        free_slots=worker.free_slots,
        open_cases=worker.open_cases,
        active=worker.active,
        leave_from=worker.leave_from,
        leave_to=worker.leave_to,
        contracted_hours=worker.contracted_hours,
        max_caseload=worker.max_caseload,
    )


def risk_signals(entry: CaseEntry) -> tuple[RiskSignal, ...]:
    return tuple(
        RiskSignal(level=s.level, reasons=tuple(s.reasons), legal_stage=s.legal_stage)
        for s in entry.risk_signals
    )


def priority_facts(entry: CaseEntry) -> PriorityFacts:
    return PriorityFacts(
        support_needs=tuple(entry.support_needs),
        date_facing_homelessness=entry.date_facing_homelessness,
        legal_stage=entry.legal_stage,
        risk_level=entry.risk_level,
        risk_signals=risk_signals(entry),
        repeat_cycle=entry.repeat_cycle,
        waiting_since=entry.waiting_since,
    )


def effective_risk(entry: CaseEntry) -> RiskLevel | None:
    """The highest risk known: at assessment or from a later tenancy alert."""
    levels = [entry.risk_level] if entry.risk_level else []
    levels += [s.level for s in entry.risk_signals]
    return max(levels, key=lambda r: r.rank) if levels else None


def case_to_place(entry: CaseEntry) -> CaseToPlace:
    return CaseToPlace(
        case_id=entry.case_id,
        route=entry.route,
        support_needs=tuple(entry.support_needs),
        stage=entry.stage,
        risk_level=effective_risk(entry),
    )


def placement_fields(entry: CaseEntry) -> Document:
    """What the allocator's query matches on, stored on a waiting entry and computed again
    whenever its inputs change (route, needs, stage, a raised risk): the specialisms that may
    lead it and the weekly hours it needs."""
    case = case_to_place(entry)
    return {"wanted": sorted(s.value for s in case.wanted), "hours": case.hours}


def placed(entry: CaseEntry) -> CaseEntry:
    """The entry with its placement fields as they are now."""
    case = case_to_place(entry)
    return entry.model_copy(update={"wanted": sorted(case.wanted), "hours": case.hours})
