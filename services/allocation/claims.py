"""A pass's placements as claims on their workers. Pure: no I/O, no clock.

The plan (backfill.py) places a chunk of cases; their hours are then taken with one guarded
update per worker rather than one per case (store.claim_many), so a poll placing N cases on
K workers writes K updates in one bulk request, not N. A worker's claim takes the sum of its
cases' hours and one slot per case, only if all of them are free and the worker holds none
of the cases yet: all of a worker's cases or none. Where that guard fails (another replica or
a reallocation took the room meanwhile) the allocator claims that worker's cases one by one
(allocator._claim), as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.allocation.records import Caseworker
from shared.ids import stable_id


@dataclass(frozen=True)
class CaseClaim:
    """One placed case: the worker the plan placed it with and the hours it takes."""

    case_id: str
    worker_id: str
    hours: float


@dataclass(frozen=True)
class WorkerClaim:
    """The cases placed with one worker, in the order they were placed (best-ranked first)."""

    worker_id: str
    cases: tuple[CaseClaim, ...]

    @property
    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.cases]

    @property
    def hours(self) -> float:
        """The hours the claim takes (its guard asks for all of them free at once)."""
        return sum(c.hours for c in self.cases)

    @property
    def slots(self) -> int:
        return len(self.cases)


def group_claims(placed: Iterable[CaseClaim]) -> list[WorkerClaim]:
    """The placements grouped by worker: workers in the order of their first placement, each
    worker's cases in placement order. A case placed twice keeps its first placement (a case
    is claimed on one worker only)."""
    seen: set[str] = set()
    by_worker: dict[str, list[CaseClaim]] = {}
    for claim in placed:
        if claim.case_id in seen:
            continue
        seen.add(claim.case_id)
        by_worker.setdefault(claim.worker_id, []).append(claim)
    return [WorkerClaim(worker_id, tuple(cases)) for worker_id, cases in by_worker.items()]


def with_claim(worker: Caseworker, claim: WorkerClaim, at: datetime) -> Caseworker:
    """The worker as a landed claim leaves it, from the worker as the pass read it: what the
    update wrote, without reading the worker back."""
    keys = {c.case_id: stable_id(c.case_id) for c in claim.cases}
    return worker.model_copy(
        update={
            "free_hours": worker.free_hours - claim.hours,
            "free_slots": worker.free_slots - claim.slots,
            "open_cases": worker.open_cases + claim.slots,
            "cases": [*worker.cases, *(c for c in claim.case_ids if c not in worker.cases)],
            "case_hours": {**worker.case_hours, **{keys[c.case_id]: c.hours for c in claim.cases}},
            "claimed_at": {**worker.claimed_at, **{key: at for key in keys.values()}},
        }
    )
