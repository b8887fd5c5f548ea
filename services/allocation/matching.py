"""Who leads a case: pure matching of a case to a caseworker with the right specialism and
room for the stage's weekly hours. The atomic claim of those hours lives in store.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from services.allocation.specialisms import Specialism, describe, wanted_specialisms
from shared.codes import RiskLevel, Route, Stage, SupportNeed

# Weekly hours per stage of the staged floating-support model.
STAGE_HOURS: dict[Stage, tuple[float, float]] = {
    Stage.STAGE_1: (1.0, 3.0),  # crisis intervention, 8-12 weeks
    Stage.STAGE_2: (1.0, 3.0),  # 3 months to 2 years
    Stage.STAGE_3: (0.5, 3.0),  # low-level support
}


def target_hours(stage: Stage, risk: RiskLevel | None) -> float:
    """The hours a worker commits for a case: the middle of the stage's range, the top of it
    when the risk is critical (Derby meets weekly for one or two hours)."""
    low, high = STAGE_HOURS[stage]
    if risk == RiskLevel.CRITICAL:
        return high
    return 1.0 if stage == Stage.STAGE_3 else max(low, 2.0)


@dataclass(frozen=True)
class WorkerView:
    worker_id: str
    team_id: str
    specialisms: frozenset[Specialism]
    free_hours: float
    free_slots: int  # maximum caseload minus open cases
    open_cases: int = 0
    active: bool = True
    leave_from: date | None = None
    leave_to: date | None = None
    # The most the worker could ever hold (backfill.could_ever_hold); None: not known.
    contracted_hours: float | None = None
    max_caseload: int | None = None

    def on_leave(self, today: date) -> bool:
        if self.leave_from is None or today < self.leave_from:
            return False
        return self.leave_to is None or today <= self.leave_to

    def available(self, today: date) -> bool:
        return self.active and not self.on_leave(today)

    def has_room(self, hours: float) -> bool:
        return self.free_hours >= hours and self.free_slots >= 1


@dataclass(frozen=True)
class CaseToPlace:
    case_id: str
    route: Route
    support_needs: tuple[SupportNeed, ...] = ()
    stage: Stage = Stage.STAGE_1
    risk_level: RiskLevel | None = None

    @property
    def hours(self) -> float:
        return target_hours(self.stage, self.risk_level)

    @property
    def wanted(self) -> frozenset[Specialism]:
        return wanted_specialisms(self.route, self.support_needs)


@dataclass(frozen=True)
class Match:
    worker_id: str
    team_id: str
    hours: float
    specialisms: frozenset[Specialism]


@dataclass(frozen=True)
class NoMatch:
    reason: str
    hours: float


def choose_worker(
    case: CaseToPlace,
    workers: Iterable[WorkerView],
    today: date,
    exclude: Iterable[str] = (),
    hours: float | None = None,
) -> Match | NoMatch:
    """The best lead worker for the case, or why there is none.

    Eligible: active, not on leave, holds one of the wanted specialisms, has the hours and a
    caseload slot. Best: covers most of the case's specialisms, then has most hours free (to
    spread the load), then the lowest id (stable). `hours` overrides the stage's target (a
    reallocated case keeps the hours it has).
    """
    hours = case.hours if hours is None else hours
    wanted = case.wanted
    excluded = set(exclude)
    skilled = [w for w in workers if w.specialisms & wanted and w.worker_id not in excluded]
    label = describe(wanted)
    if not skilled:
        return NoMatch(f"no {label} caseworker in the organisation", hours)
    present = [w for w in skilled if w.available(today)]
    if not present:
        return NoMatch(f"every {label} caseworker is on leave or inactive", hours)
    with_hours = [w for w in present if w.free_hours >= hours]
    if not with_hours:
        return NoMatch(f"no {label} caseworker with {hours:g} h free", hours)
    with_slot = [w for w in with_hours if w.free_slots >= 1]
    if not with_slot:
        reason = f"every {label} caseworker with {hours:g} h free is at maximum caseload"
        return NoMatch(reason, hours)
    best = min(
        with_slot,
        key=lambda w: (-len(w.specialisms & wanted), -w.free_hours, w.open_cases, w.worker_id),
    )
    return Match(best.worker_id, best.team_id, hours, best.specialisms & wanted)


def open_room(workers: Iterable[WorkerView], today: date) -> dict[Specialism, float]:
    """For each specialism, the most hours one caseworker holding it has free today (present,
    with a caseload slot). A waiting case can be placed only if one of its wanted specialisms
    is here with at least its hours; empty means no pass can place anything."""
    room: dict[Specialism, float] = {}
    for worker in workers:
        if not worker.available(today) or worker.free_slots < 1 or worker.free_hours <= 0:
            continue
        for specialism in worker.specialisms:
            room[specialism] = max(room.get(specialism, 0.0), worker.free_hours)
    return room


def may_place(wanted: Iterable[Specialism], hours: float, room: Mapping[Specialism, float]) -> bool:
    """Whether `open_room` leaves a chance for a case (ignoring what backfill.py keeps for the
    heads of pools)."""
    return any(room.get(s, -1.0) >= hours for s in wanted)
