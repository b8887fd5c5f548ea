"""Backfilling: the head of a pool keeps the next room that fits it. Pure: no I/O, no clock.

Waiting cases are offered best-ranked first (waiting_list.rank_waiting), each to the
caseworkers who may lead it (its pool: present, with one of its wanted specialisms).
- A case that fits an unreserved worker of its pool now is placed there (matching.choose_worker).
- A case that fits nobody, and finds no worker of its pool reserved for a case above it, is
  the head of its pool: it reserves the worker nearest to having room for it (fewest hours
  missing, then a caseload slot; a worker whose contract or caseload could never hold it is
  never reserved, as that capacity is no use to it). Nobody ranked below it may take hours or
  a slot on that worker, so it is placed no later than the worker frees enough hours,
  whatever arrives after it.
- A case that fits nobody while a worker of its pool is reserved for a case above it waits
  behind that head: later cases may still fill room on the other workers, room the head
  cannot use for as long as it keeps its reservation (EASY backfilling: one reservation per
  queue head, later jobs backfill only where they cannot delay it).

The plan is made afresh from the stored state at every pass, so a reservation follows the
workers as they are (a closure elsewhere may make another worker nearer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from services.allocation.matching import CaseToPlace, Match, WorkerView, choose_worker


@dataclass(frozen=True)
class Placed:
    """Room now: the case goes to this worker."""

    worker_id: str
    team_id: str
    hours: float

    @property
    def reason(self) -> str:
        return "a caseworker has room: allocation pending"


@dataclass(frozen=True)
class Reserved:
    """The head of its pool: the worker's next free hours are kept for this case."""

    case_id: str
    worker_id: str
    team_id: str
    hours: float
    free_hours: float  # the worker's free hours now (fewer than the case needs, or no slot)
    why: str  # why it fits nobody now

    @property
    def reason(self) -> str:
        return (
            f"{self.why}; reserved: the next {self.hours:g} h free on {self.worker_id} go to "
            f"this case ({self.free_hours:g} h free now)"
        )


@dataclass(frozen=True)
class Held:
    """Behind the head of its pool, whose reserved worker is in this case's pool too."""

    head_id: str
    head_hours: float
    worker_id: str  # the worker reserved for the head
    team_id: str
    free_hours: float
    hours: float
    blocked: bool  # it would fit the reserved worker: the reservation is what holds it
    why: str  # why it fits no worker at all (when the reservation is not what holds it)

    @property
    def reason(self) -> str:
        if not self.blocked:
            return self.why
        return (
            f"held for the head of the list: {self.head_id} needs {self.head_hours:g} h; "
            f"{self.worker_id} has {self.free_hours:g} h free and is kept for it"
        )


@dataclass(frozen=True)
class Unplaced:
    """No worker of its pool is present, or none could ever hold it."""

    hours: float
    why: str
    team_id: str | None = None

    @property
    def reason(self) -> str:
        return self.why


Decision = Placed | Reserved | Held | Unplaced


def could_ever_hold(worker: WorkerView, hours: float) -> bool:
    """Whether the worker's contract and caseload could hold the case once free."""
    contract_ok = worker.contracted_hours is None or worker.contracted_hours >= hours
    caseload_ok = worker.max_caseload is None or worker.max_caseload >= 1
    return contract_ok and caseload_ok


def nearest(case: CaseToPlace, workers: Iterable[WorkerView], hours: float) -> WorkerView | None:
    """The worker nearest to having room for the case: fewest hours missing, then one with a
    caseload slot, then most of its specialisms, fewest open cases, lowest id (stable)."""
    wanted = case.wanted
    candidates = [w for w in workers if could_ever_hold(w, hours)]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda w: (
            max(0.0, hours - w.free_hours),
            0 if w.free_slots >= 1 else 1,
            -len(w.specialisms & wanted),
            w.open_cases,
            w.worker_id,
        ),
    )


class Backfill:
    """One pass's plan: offer cases best-ranked first; each offer updates the plan."""

    def __init__(self, workers: Iterable[WorkerView], today: date) -> None:
        self.today = today
        self.workers: dict[str, WorkerView] = {w.worker_id: w for w in workers}
        # Worker id -> the head it is kept for, best-ranked head first.
        self.reserved: dict[str, Reserved] = {}
        self.decisions: dict[str, Decision] = {}

    @property
    def reservations(self) -> dict[str, str]:
        """Worker id -> the case id it is reserved for."""
        return {worker_id: r.case_id for worker_id, r in self.reserved.items()}

    def offer(self, case: CaseToPlace) -> Decision:
        """Decide the case's place in the plan. A placement takes its hours and slot from
        the worker in the plan (the caller claims them in the database, and `refresh`es the
        worker if that fails)."""
        hours = case.hours
        pool = [
            w
            for w in self.workers.values()
            if w.specialisms & case.wanted and w.available(self.today)
        ]
        open_ = [w for w in pool if w.worker_id not in self.reserved]
        choice = choose_worker(case, open_, self.today)
        if isinstance(choice, Match):
            worker = self.workers[choice.worker_id]
            self.workers[worker.worker_id] = replace(
                worker,
                free_hours=worker.free_hours - hours,
                free_slots=worker.free_slots - 1,
                open_cases=worker.open_cases + 1,
            )
            return self._decided(case, Placed(worker.worker_id, worker.team_id, hours))
        why = choose_worker(case, self.workers.values(), self.today)
        reason = why.reason if not isinstance(why, Match) else choice.reason
        in_pool = {w.worker_id for w in pool}
        blocking = [self.workers[w] for w in self.reserved if w in in_pool]
        if blocking:
            # Name the head whose worker it would fit, else the best-ranked head it is behind.
            fitting = [w for w in blocking if w.has_room(hours)]
            worker = fitting[0] if fitting else blocking[0]
            head = self.reserved[worker.worker_id]
            held = Held(
                head_id=head.case_id,
                head_hours=head.hours,
                worker_id=worker.worker_id,
                team_id=worker.team_id,
                free_hours=worker.free_hours,
                hours=hours,
                blocked=bool(fitting),
                why=reason,
            )
            return self._decided(case, held)
        kept = nearest(case, open_, hours)
        if kept is None:
            return self._decided(case, Unplaced(hours, reason))
        reserved = Reserved(
            case.case_id, kept.worker_id, kept.team_id, hours, kept.free_hours, reason
        )
        self.reserved[kept.worker_id] = reserved
        return self._decided(case, reserved)

    def refresh(self, worker_id: str, worker: WorkerView | None) -> None:
        """The worker as the database has it now (a claim found it changed), or gone."""
        if worker is None:
            self.workers.pop(worker_id, None)
            self.reserved.pop(worker_id, None)
        else:
            self.workers[worker_id] = worker

    def _decided(self, case: CaseToPlace, decision: Decision) -> Decision:
        self.decisions[case.case_id] = decision
        return decision


def plan(cases: Sequence[CaseToPlace], workers: Iterable[WorkerView], today: date) -> Backfill:
    """The whole plan for cases in rank order (best first)."""
    backfill = Backfill(workers, today)
    for case in cases:
        backfill.offer(case)
    return backfill
