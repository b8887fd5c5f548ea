"""Allocation passes, reallocation and closure: the pure rules applied to the stored state.

A pass offers the waiting cases of one organisation, best-ranked first, to the best matching
caseworker. Each allocation, holding the case's lock (locks.py; always case before worker):
1. claim the worker's hours with a guarded `find_one_and_update` (`free_hours >= h`, `$inc`)
   holding the worker's lock, recording the case on the worker so the claim happens once;
2. record the allocation on the entry with CaseAllocated in its outbox (write_once), flush.
A crash between 1 and 2 leaves a claim on a worker for a waiting case: the next attempt finds
it (`cases` on the worker) and completes the allocation with it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from services.allocation.matching import STAGE_HOURS, CaseToPlace, Match, NoMatch, choose_worker
from services.allocation.records import case_to_place, iso_date, worker_view
from services.allocation.store import AllocationStore
from services.allocation.waiting_list import rank_waiting
from shared.codes import Route, Stage
from shared.events.catalogue import CaseAllocated, CaseReallocated
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.logging import get_logger
from shared.mongo import Document
from shared.runtime import ServiceRuntime

SOURCE = "hearth.allocation"
SWEEP_EVERY = timedelta(minutes=1)
CLAIM_ATTEMPTS = 8

log = get_logger(__name__)


class AllocationError(Exception):
    """A request that cannot be carried out; `field` names what to change."""

    status = 409

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(AllocationError):
    status = 404


class Invalid(AllocationError):
    status = 422


class Conflict(AllocationError):
    status = 409


class Allocator:
    def __init__(self, runtime: ServiceRuntime, store: AllocationStore) -> None:
        self.runtime = runtime
        self.store = store
        # Passes of one organisation run one at a time in this process; requests that arrive
        # while one runs are served together by the next (coalescing), so a burst of 200
        # referrals costs a few passes, not 200.
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._requested: dict[str, int] = defaultdict(int)
        self._completed: dict[str, int] = defaultdict(int)
        self.allocated = 0  # by this process, for metrics and tests

    # --- passes ---------------------------------------------------------------------------

    async def request(self, organisation: str) -> None:
        """Returns once a pass that started after this call has finished."""
        self._requested[organisation] += 1
        mine = self._requested[organisation]
        async with self._locks[organisation]:
            if self._completed[organisation] >= mine:
                return
            started = self._requested[organisation]
            await self.run_pass(organisation)
            self._completed[organisation] = started

    async def run_pass(self, organisation: str) -> int:
        now = self.runtime.clock.now()
        ranked = rank_waiting(await self.store.waiting(organisation), now)
        if not ranked:
            return 0
        workers = {w["_id"]: w for w in await self.store.list_workers(organisation)}
        teams = {t["_id"]: t for t in await self.store.list_teams(organisation)}
        allocated = 0
        for entry, _ in ranked:
            if await self._allocate(entry, workers, teams, now):
                allocated += 1
        return allocated

    async def sweep(self) -> None:
        """Every organisation with cases waiting gets a pass (leave ended, a crash left work)."""
        for organisation in await self.store.waiting_organisations():
            await self.request(organisation)

    async def _allocate(
        self,
        entry: Document,
        workers: dict[str, Document],
        teams: dict[str, Document],
        now: datetime,
    ) -> bool:
        case = case_to_place(entry)
        case_id = case.case_id
        claimed_before = any(case_id in w.get("cases", []) for w in workers.values())
        if not claimed_before and isinstance(self._choose(case, workers, now.date()), NoMatch):
            return False  # nobody has room: no write at all
        async with self.store.locks.hold(f"case:{case_id}"):
            current = await self.store.get_case(case_id)
            if current is None or current["status"] != "waiting":
                return False  # allocated or closed meanwhile
            claimed = await self._recover_claim(case_id)
            if claimed is None:
                claimed = await self._claim(case_to_place(current), workers, now.date())
            if claimed is None:
                return False
            workers[claimed["_id"]] = claimed
            return await self._record(current, claimed, teams, now)

    def _choose(self, case: CaseToPlace, workers: dict[str, Document], today: date) -> Any:
        return choose_worker(case, [worker_view(w) for w in workers.values()], today)

    async def _claim(
        self, case: CaseToPlace, workers: dict[str, Document], today: date
    ) -> Document | None:
        for _ in range(CLAIM_ATTEMPTS):
            choice = self._choose(case, workers, today)
            if not isinstance(choice, Match):
                return None
            claimed = await self.claim(choice.worker_id, case.case_id, choice.hours)
            if claimed is not None:
                return claimed
            # Another allocation took the hours first: look again with the worker as it is now.
            fresh = await self.store.workers.find_one({"_id": choice.worker_id})
            if fresh is None:
                workers.pop(choice.worker_id, None)
            else:
                workers[choice.worker_id] = fresh
        return None

    async def claim(self, worker_id: str, case_id: str, hours: float) -> Document | None:
        async with self.store.locks.hold(f"worker:{worker_id}"):
            return await self.store.claim(worker_id, case_id, hours)

    async def release(self, worker_id: str, case_id: str) -> Document | None:
        async with self.store.locks.hold(f"worker:{worker_id}"):
            worker = await self.store.workers.find_one({"_id": worker_id})
            if worker is None or case_id not in worker.get("cases", []):
                return None
            return await self.store.release(worker, case_id)

    async def _recover_claim(self, case_id: str) -> Document | None:
        """A claim an interrupted attempt made for this case, kept; any second one released."""
        holders = await self.store.workers_holding(case_id)
        for extra in holders[1:]:
            await self.release(extra["_id"], case_id)
        return holders[0] if holders else None

    async def _record(
        self,
        entry: Document,
        worker: Document,
        teams: dict[str, Document],
        now: datetime,
    ) -> bool:
        case_id = entry["_id"]
        team = teams.get(worker["team_id"]) or await self.store.get_team(
            entry["organisation"], worker["team_id"]
        )
        team = team or {}
        hours = float(worker["case_hours"][stable_id(case_id)])
        stage = Stage(entry.get("stage", Stage.STAGE_1))
        allocation = {
            "worker_id": worker["_id"],
            "team_id": worker["team_id"],
            "team_leader_id": team.get("team_leader_id", ""),
            "hours": hours,
            "stage": stage.value,
            "allocated_at": now,
            "version": 1,
            "reason": "allocated",
        }
        data = CaseAllocated(
            case_id=case_id,
            person_id=entry.get("person_id", ""),
            route=Route(entry.get("route", Route.SUPPORT)),
            lead_worker_id=worker["_id"],
            team_id=worker["team_id"],
            team_leader_id=team.get("team_leader_id", ""),
            stage=stage,
            target_hours_per_week=hours,
            allocated_at=now,
            support_needs=entry.get("support_needs", []),
            tenancy_id=entry.get("tenancy_id"),
            referrer_organisation=entry.get("referrer_organisation"),
            lead_worker_email=worker.get("email"),
            team_leader_email=team.get("team_leader_email"),
        )
        event = self._event(entry, data, stable_id(case_id, SOURCE, "CaseAllocated"), now)
        recorded = await self.store.record_allocation(case_id, allocation, event)
        if recorded is None:  # not waiting any more (we hold its lock, so this is defensive)
            await self.release(worker["_id"], case_id)
            return False
        self.allocated += 1
        await self.runtime.relay.flush(self.store.cases, recorded)
        log.info("allocation.allocated", case_id=case_id, worker_id=worker["_id"], hours=hours)
        return True

    def _event(self, entry: Document, data: Any, event_id: str, now: datetime) -> Envelope:
        return make_event(
            data,
            source=SOURCE,
            organisation=entry["organisation"],
            correlation_id=entry.get("correlation_id"),
            causation_id=entry.get("assessed_event_id"),
            event_id=event_id,
            time=now,
        )

    # --- reallocation ---------------------------------------------------------------------

    async def reallocate(
        self,
        organisation: str,
        case_id: str,
        reason: str,
        to_worker_id: str | None,
        cover_until: date | None,
    ) -> Document:
        async with self.store.locks.hold(f"case:{case_id}"):
            recorded = await self._reallocate(
                organisation, case_id, reason, to_worker_id, cover_until
            )
        await self.request(organisation)  # the hours freed may take a waiting case
        return recorded

    async def _reallocate(
        self,
        organisation: str,
        case_id: str,
        reason: str,
        to_worker_id: str | None,
        cover_until: date | None,
    ) -> Document:
        now = self.runtime.clock.now()
        today = now.date()
        entry = await self.store.get_case(case_id, organisation)
        if entry is None:
            raise NotFound("case_id", "no such case in your organisation")
        if entry["status"] != "allocated":
            raise Conflict("status", f"the case is {entry['status']}, not allocated")
        await self.reconcile(entry)
        current = entry["allocation"]
        previous = current["worker_id"]
        hours = float(current["hours"])
        if to_worker_id is not None:
            target = await self._explicit_target(organisation, to_worker_id, previous, today)
        else:
            workers = await self.store.list_workers(organisation)
            views = [worker_view(w) for w in workers]
            choice = choose_worker(
                case_to_place(entry), views, today, exclude=[previous], hours=hours
            )
            if isinstance(choice, NoMatch):
                raise Conflict("to_worker_id", f"no other worker can take it: {choice.reason}")
            target = choice.worker_id
        claimed = await self.claim(target, case_id, hours)
        if claimed is None:
            raise Conflict("to_worker_id", f"the caseworker does not have {hours:g} h free")
        team = await self.store.get_team(organisation, claimed["team_id"]) or {}
        version = int(current.get("version", 1))
        allocation = {
            **current,
            "worker_id": target,
            "team_id": claimed["team_id"],
            "team_leader_id": team.get("team_leader_id", ""),
            "allocated_at": now,
            "version": version + 1,
            "reason": reason,
            "cover_until": iso_date(cover_until),
            "previous_worker_id": previous,
        }
        data = CaseReallocated(
            case_id=case_id,
            previous_worker_id=previous,
            lead_worker_id=target,
            team_leader_id=team.get("team_leader_id", ""),
            reason=reason,
            cover_until=cover_until,
            lead_worker_email=claimed.get("email"),
            team_leader_email=team.get("team_leader_email"),
        )
        event_id = stable_id(case_id, SOURCE, "CaseReallocated", str(version + 1))
        event = self._event(entry, data, event_id, now)
        recorded = await self.store.record_reallocation(case_id, version, allocation, event)
        if recorded is None:
            await self.release(target, case_id)
            raise Conflict("case_id", "the case changed meanwhile; try again")
        await self.runtime.relay.flush(self.store.cases, recorded)
        await self.release(previous, case_id)
        return recorded

    async def _explicit_target(
        self, organisation: str, worker_id: str, previous: str, today: date
    ) -> str:
        if worker_id == previous:
            raise Conflict("to_worker_id", "already the lead worker of this case")
        target = await self.store.get_worker(organisation, worker_id)
        if target is None:
            raise Invalid("to_worker_id", "no such caseworker in your organisation")
        if not worker_view(target).available(today):
            raise Conflict("to_worker_id", "the caseworker is on leave or inactive")
        return worker_id

    async def reconcile(self, entry: Document) -> None:
        """Release claims on the case by anyone but its lead worker (left by a crash)."""
        lead = (entry.get("allocation") or {}).get("worker_id")
        for holder in await self.store.workers_holding(entry["_id"]):
            if holder["_id"] != lead or entry.get("status") != "allocated":
                await self.release(holder["_id"], entry["_id"])

    # --- stage changes ---------------------------------------------------------------------

    async def change_stage(
        self, case_id: str, event_id: str, stage: Stage, target_hours: float
    ) -> bool:
        """The worker's commitment follows the case's stage (Stage 3 needs fewer hours). More
        hours are taken only if the worker has them; otherwise the commitment stays."""
        low, high = STAGE_HOURS[stage]
        wanted = min(high, max(low, target_hours))
        async with self.store.locks.hold(f"case:{case_id}"):
            entry = await self.store.get_case(case_id)
            if entry is None or entry["status"] != "allocated":
                return False
            worker_id = entry["allocation"]["worker_id"]
            async with self.store.locks.hold(f"worker:{worker_id}"):
                hours = await self.store.change_hours(worker_id, case_id, wanted)
            if hours is None:
                return False
            if hours != wanted:
                log.warning("allocation.stage_hours_kept", case_id=case_id, hours=hours)
            await self.store.record_stage(case_id, stage.value, hours, event_id)
            organisation = entry["organisation"]
        await self.request(organisation)  # hours given back may take a waiting case
        return True

    # --- closure --------------------------------------------------------------------------

    async def close(self, case_id: str, event_id: str, fields: dict[str, Any]) -> bool:
        """Free the lead worker's hours (once) and take the case off the lists."""
        async with self.store.locks.hold(f"case:{case_id}"):
            entry = await self.store.get_case(case_id)
            if entry is None:
                return False
            # Release first: a redelivered CaseClosed finds nothing to release, changes nothing.
            for holder in await self.store.workers_holding(case_id):
                await self.release(holder["_id"], case_id)
            await self.store.record_closure(case_id, fields, event_id)
            await self.store.drop_review(case_id)
        await self.request(entry["organisation"])
        return True
