"""A case's, a tenancy's and a caseworker's history, folded from their facts in time order.
Pure: the rollups the store keeps are these folds, and the measures read only them.

Folding is a function of the set of facts, not of the order they arrived in: facts are sorted
by (time, id) first, so a redelivery or a rebuild from the topics gives the same history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from services.outcomes.facts import Fact


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def fold_key(fact: Fact) -> tuple[datetime, str]:
    """Where a fact sorts in a fold: by time, then id for facts of the same moment."""
    return (fact.time, fact.id)


def ordered(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=fold_key)


@dataclass
class StagePeriod:
    stage: str
    started_on: date


@dataclass
class ReviewRecord:
    review_id: str
    review_point: str
    due_on: date | None = None
    completed_on: date | None = None
    decision: str | None = None


@dataclass
class PhaseEntry:
    phase: str
    on: date


@dataclass
class Escalation:
    on: date
    risk_level: str


@dataclass
class LearningEntry:
    """One learning-log entry (Safe Connections Step 11): when, how many points, their themes."""

    entry_id: str
    recorded_on: date
    points: int = 0
    themes: list[str] = field(default_factory=list)


@dataclass
class CaseHistory:
    """What reporting knows about one case (ids, codes, dates, amounts only)."""

    case_id: str
    organisation: str | None = None  # the case's owner: who allocated it
    referral_organisation: str | None = None  # who received the referral
    person_id: str | None = None  # pseudonymous
    referred_at: datetime | None = None
    referral_source: str | None = None  # the referrer's source code (H-CLIC extract), no contact
    automatic: bool = False
    support_needs: list[str] = field(default_factory=list)
    tenancy_id: str | None = None
    route: str | None = None
    assessed_at: datetime | None = None
    legal_stage: str | None = None
    risk_level: str | None = None
    repeat_cycle: bool = False
    entry_stage: str | None = None
    date_facing_homelessness: date | None = None
    referring_area: str | None = None
    allocated_at: datetime | None = None
    team_id: str | None = None
    lead_worker_id: str | None = None
    target_hours_per_week: float | None = None
    reallocations: int = 0
    first_contact_on: date | None = None
    contacts: int = 0
    contact_minutes: int = 0
    plan_agreed_on: date | None = None
    stages: list[StagePeriod] = field(default_factory=list)
    reviews: list[ReviewRecord] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    closed_at: datetime | None = None
    closure_reason: str | None = None
    tenancy_outcome: str | None = None
    destination_area: str | None = None
    reconnected_on: date | None = None
    phases: list[PhaseEntry] = field(default_factory=list)
    followed_up_on: date | None = None
    reconnection_held: bool | None = None
    returned_to_rough_sleeping: bool = False
    learning_themes: list[str] = field(default_factory=list)
    learning: list[LearningEntry] = field(default_factory=list)  # each entry, dated

    @property
    def referred_on(self) -> date | None:
        return None if self.referred_at is None else self.referred_at.date()

    @property
    def closed_on(self) -> date | None:
        return None if self.closed_at is None else self.closed_at.date()

    def open_on(self, day: date) -> bool:
        """Allocated by the end of `day` and not closed before it."""
        allocated = self.allocated_at is not None and self.allocated_at.date() <= day
        return allocated and (self.closed_on is None or self.closed_on >= day)

    def stage_on(self, day: date) -> str | None:
        current = None
        for period in self.stages:
            if period.started_on <= day:
                current = period.stage
        return current

    def document(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CaseHistory:
        values = {k: v for k, v in document.items() if not k.startswith("_")}
        history = cls(**{k: v for k, v in values.items() if k in _CASE_FIELDS})
        for name in ("referred_at", "assessed_at", "allocated_at", "closed_at"):
            setattr(history, name, _moment(getattr(history, name)))
        for name in (
            "first_contact_on",
            "plan_agreed_on",
            "date_facing_homelessness",
            "reconnected_on",
            "followed_up_on",
        ):
            setattr(history, name, _date(getattr(history, name)))
        history.stages = [StagePeriod(s["stage"], _date(s["started_on"])) for s in history.stages]  # type: ignore[arg-type,index]
        history.reviews = [
            ReviewRecord(
                r["review_id"],  # type: ignore[index]
                r["review_point"],  # type: ignore[index]
                _date(r.get("due_on")),  # type: ignore[attr-defined]
                _date(r.get("completed_on")),  # type: ignore[attr-defined]
                r.get("decision"),  # type: ignore[attr-defined]
            )
            for r in history.reviews
        ]
        history.escalations = [
            Escalation(_date(e["on"]), e["risk_level"])  # type: ignore[arg-type,index]
            for e in history.escalations
        ]
        history.phases = [PhaseEntry(p["phase"], _date(p["on"])) for p in history.phases]  # type: ignore[arg-type,index]
        history.learning = [
            LearningEntry(
                e["entry_id"],  # type: ignore[index]
                _date(e["recorded_on"]),  # type: ignore[arg-type,index]
                int(e.get("points") or 0),  # type: ignore[attr-defined]
                list(e.get("themes") or ()),  # type: ignore[attr-defined]
            )
            for e in history.learning
        ]
        return history


_CASE_FIELDS = frozenset(CaseHistory.__dataclass_fields__)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def fold_case(case_id: str, facts: Iterable[Fact]) -> CaseHistory:
    return extend_case(CaseHistory(case_id), facts)


def extend_case(history: CaseHistory, facts: Iterable[Fact]) -> CaseHistory:
    """Apply facts onto a history (in place); onto one folded from facts that all sort before
    them, this gives the history of the whole fold."""
    for fact in ordered(facts):
        _apply(history, fact)
    return history


def _apply(h: CaseHistory, fact: Fact) -> None:
    d = fact.data
    kind = fact.type
    if kind == "ReferralReceived":
        h.referral_organisation = fact.organisation
        h.person_id = d.get("person_id", h.person_id)
        h.referred_at = _moment(d.get("received_at")) or fact.time
        h.automatic = bool(d.get("automatic", False))
        h.referral_source = d.get("referral_source") or h.referral_source
        h.support_needs = list(d.get("support_needs") or h.support_needs)
        h.tenancy_id = d.get("tenancy_id") or h.tenancy_id
    elif kind == "ReferralAssessed":
        h.referral_organisation = h.referral_organisation or fact.organisation
        h.person_id = h.person_id or d.get("person_id")
        h.referred_at = h.referred_at or _moment(d.get("received_at"))
        h.referral_source = h.referral_source or d.get("referral_source")
        h.route = d.get("route", h.route)
        h.assessed_at = fact.time
        h.legal_stage = d.get("legal_stage")
        h.risk_level = d.get("risk_level")
        h.repeat_cycle = bool(d.get("repeat_cycle", False))
        h.entry_stage = d.get("entry_stage")
        h.date_facing_homelessness = _date(d.get("date_facing_homelessness"))
        h.referring_area = d.get("referring_area")
        h.support_needs = list(d.get("support_needs") or h.support_needs)
        h.tenancy_id = d.get("tenancy_id") or h.tenancy_id
    elif kind == "CaseAllocated":
        h.organisation = fact.organisation
        h.person_id = h.person_id or d.get("person_id")
        h.route = d.get("route", h.route)
        h.allocated_at = h.allocated_at or _moment(d.get("allocated_at")) or fact.time
        h.team_id = d.get("team_id")
        h.lead_worker_id = d.get("lead_worker_id")
        h.target_hours_per_week = d.get("target_hours_per_week")
        h.tenancy_id = d.get("tenancy_id") or h.tenancy_id
        h.support_needs = list(d.get("support_needs") or h.support_needs)
        stage = d.get("stage")
        if stage and not h.stages and h.route == "support":
            h.stages.append(StagePeriod(stage, h.allocated_at.date()))
    elif kind == "CaseReallocated":
        h.reallocations += 1
        h.lead_worker_id = d.get("lead_worker_id", h.lead_worker_id)
    elif kind == "ContactLogged":
        if d.get("attended") is False:
            return  # a visit the client missed is no contact made (nor the first)
        on = _date(d.get("contact_on"))
        h.contacts += 1
        h.contact_minutes += int(d.get("duration_minutes") or 0)
        if on is not None and (h.first_contact_on is None or on < h.first_contact_on):
            h.first_contact_on = on
    elif kind == "SupportPlanAgreed":
        on = _date(d.get("agreed_on"))
        if on is not None and (h.plan_agreed_on is None or on < h.plan_agreed_on):
            h.plan_agreed_on = on
    elif kind == "StageChanged":
        on = _date(d.get("changed_on")) or fact.time.date()
        h.stages.append(StagePeriod(str(d.get("stage")), on))
        h.target_hours_per_week = d.get("target_hours_per_week", h.target_hours_per_week)
    elif kind in ("ReviewDue", "ReviewCompleted"):
        _review(h, kind, d)
    elif kind == "CaseEscalated":
        h.escalations.append(Escalation(fact.time.date(), str(d.get("risk_level"))))
    elif kind == "CaseClosed":
        h.organisation = h.organisation or fact.organisation
        h.person_id = h.person_id or d.get("person_id")
        h.closed_at = _moment(d.get("closed_at")) or fact.time
        h.closure_reason = d.get("reason")
        h.tenancy_outcome = d.get("tenancy_outcome")
        h.route = h.route or d.get("route")
        h.tenancy_id = h.tenancy_id or d.get("tenancy_id")
    elif kind == "ReconnectionPhaseChanged":
        on = _date(d.get("changed_on")) or fact.time.date()
        h.phases.append(PhaseEntry(str(d.get("phase")), on))
        h.destination_area = d.get("destination_area") or h.destination_area
        if d.get("phase") == "reconnection" and h.reconnected_on is None:
            h.reconnected_on = on
    elif kind == "PresentationPackDue":
        h.destination_area = d.get("destination_area") or h.destination_area
    elif kind == "ReconnectionFollowedUp":
        h.destination_area = d.get("destination_area") or h.destination_area
        h.reconnected_on = _date(d.get("reconnected_on")) or h.reconnected_on
        h.followed_up_on = _date(d.get("followed_up_on"))
        engaged = d.get("engaged")
        returned = bool(d.get("returned_to_rough_sleeping", False))
        # A return to the street means it did not hold, whatever an older event also said.
        held = bool(d.get("still_in_accommodation")) and engaged is not False
        h.reconnection_held = held and not returned
        h.returned_to_rough_sleeping = returned
    elif kind == "LearningPointsRecorded":
        h.learning_themes = sorted({*h.learning_themes, *(d.get("themes") or ())})
        # An entry with no case is a history of its own: it belongs to whoever logged it.
        h.organisation = h.organisation or fact.organisation
        entry_id = str(d.get("entry_id") or fact.id)
        if all(e.entry_id != entry_id for e in h.learning):
            on = _date(d.get("recorded_on")) or fact.time.date()
            themes = list(d.get("themes") or ())
            h.learning.append(LearningEntry(entry_id, on, int(d.get("points") or 0), themes))


def _review(h: CaseHistory, kind: str, d: dict[str, Any]) -> None:
    review_id = str(d.get("review_id"))
    record = next((r for r in h.reviews if r.review_id == review_id), None)
    if record is None:
        record = ReviewRecord(review_id, str(d.get("review_point")))
        h.reviews.append(record)
    record.due_on = _date(d.get("due_on")) or record.due_on
    if kind == "ReviewCompleted":
        record.completed_on = _date(d.get("completed_on"))
        record.decision = d.get("decision")


# --- tenancies ------------------------------------------------------------------------------


@dataclass
class ArrearsReading:
    on: date
    balance: float
    legal_stage: str | None = None
    risk_level: str | None = None  # set when the reading raised a signal


@dataclass
class TenancyHistory:
    tenancy_id: str
    landlord: str | None = None
    readings: list[ArrearsReading] = field(default_factory=list)
    ended_on: date | None = None
    end_reason: str | None = None
    case_ids: list[str] = field(default_factory=list)

    def balance_on(self, day: date) -> float | None:
        """The last balance reported on or before `day`."""
        found = None
        for reading in self.readings:
            if reading.on <= day:
                found = reading.balance
        return found

    def signals_between(self, start: date, end: date) -> list[ArrearsReading]:
        return [r for r in self.readings if r.risk_level and start < r.on <= end]


def fold_tenancy(tenancy_id: str, facts: Iterable[Fact]) -> TenancyHistory:
    history = TenancyHistory(tenancy_id)
    for fact in ordered(facts):
        d = fact.data
        history.landlord = d.get("landlord", history.landlord)
        history.case_ids = list(dict.fromkeys([*history.case_ids, *fact.case_ids]))
        if fact.type == "TenancyAtRisk":
            history.readings.append(
                ArrearsReading(
                    fact.time.date(),
                    float(d.get("arrears_balance") or 0.0),
                    d.get("legal_stage"),
                    d.get("risk_level"),
                )
            )
        elif fact.type == "TenancyArrearsReported":
            on = _date(d.get("reported_on")) or fact.time.date()
            reading = ArrearsReading(
                on, float(d.get("arrears_balance") or 0.0), d.get("legal_stage")
            )
            history.readings.append(reading)
        elif fact.type == "TenancyEnded" and history.ended_on is None:
            history.ended_on = _date(d.get("ended_on"))
            history.end_reason = d.get("reason")
    history.readings.sort(key=lambda r: r.on)
    return history


# --- capacity -------------------------------------------------------------------------------


@dataclass
class CapacityChange:
    at: datetime
    team_id: str
    hours_per_week: float
    active: bool


@dataclass
class CaseworkerCapacity:
    caseworker_id: str
    organisation: str | None = None
    changes: list[CapacityChange] = field(default_factory=list)

    def hours_on(self, day: date, team_id: str | None = None) -> float:
        current = 0.0
        for change in self.changes:
            if change.at.date() <= day:
                in_team = team_id is None or change.team_id == team_id
                current = change.hours_per_week if change.active and in_team else 0.0
        return current

    def document(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> CaseworkerCapacity:
        return cls(
            caseworker_id=document["caseworker_id"],
            organisation=document.get("organisation"),
            changes=[
                CapacityChange(_moment(c["at"]), c["team_id"], c["hours_per_week"], c["active"])  # type: ignore[arg-type]
                for c in document.get("changes") or ()
            ],
        )


def fold_capacity(caseworker_id: str, facts: Iterable[Fact]) -> CaseworkerCapacity:
    return extend_capacity(CaseworkerCapacity(caseworker_id), facts)


def extend_capacity(capacity: CaseworkerCapacity, facts: Iterable[Fact]) -> CaseworkerCapacity:
    for fact in ordered(facts):
        d = fact.data
        capacity.organisation = fact.organisation
        capacity.changes.append(
            CapacityChange(
                _moment(d.get("changed_at")) or fact.time,
                str(d.get("team_id")),
                float(d.get("hours_per_week") or 0.0),
                bool(d.get("active", True)),
            )
        )
    return capacity
