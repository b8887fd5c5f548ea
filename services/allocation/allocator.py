"""Allocation passes, reallocation and closure: the pure rules applied to the stored state.

One referral's path, top-down in this module:
1. ReferralAssessed (handlers.referrals_assessed) enters the case as a waiting `CaseEntry`
   (store.enter_many) and hands the batch to `place_in_background` -> `place_arrivals`.
2. While the organisation is settled only the arrivals (and the heads the last pass kept
   workers for) are offered; otherwise `request` runs a full pass (`run_pass`): the
   caseworkers and the waiting cases, offered best-ranked first (`_offer`,
   waiting_list.rank_waiting) through the backfill plan (backfill.py).
3. `_offer` each entry: complete a claim a crash left on a worker (`_complete`), or let the
   plan place it with a worker. A case that fits nobody may reserve a worker as the head of
   its pool: no case ranked below it takes that worker. The placed cases' hours are claimed
   together (`_claim_placed`): one guarded update per worker for all its cases, in one bulk
   request; a worker whose guard fails has its cases claimed one by one (`_claim`).
4. `_record` the allocations of the claimed entries with their CaseAllocated (`allocated`),
   up to RECORD_CHUNK together in one unit of work, or release a claim if another claimant
   or a closure got there first.
Reallocation, stage changes and closure follow, each reading the case, deciding and writing.

A pass offers waiting cases of one organisation, best-ranked first, to the best matching
caseworker that is not kept for a case ranked above them (backfill.py). An allocation is
two guarded single-document writes, with no lock around them:
1. claim the worker's hours with a guarded change (`free_hours >= h`, `$inc`), recording the
   case on the worker so a worker claims a case once (the cases a pass placed with one worker
   are claimed in one such change: `free_hours >= sum`, `cases $nin` all of them; claims.py);
2. record the allocation on the entry with CaseAllocated in its outbox (one unit of work,
   guarded on `status: waiting`), which publishes it.
Two claimants racing for one case (two replicas) may both claim; one records, the other finds
the case allocated to someone else (or closed) and releases its claim. A crash between 1 and 2
leaves a claim on a worker for a waiting case: the next pass that reads the case finds it
(`cases` on the worker) and completes the allocation with it. A second claim beside it is
released only once older than CLAIM_GRACE (a younger one may be another claimant's, between
its 1 and 2).

Which cases a pass reads:
- a full pass (`request`) reads the caseworkers; only when one of them has room does it read
  the waiting cases (all of them: a head that fits nowhere still keeps a worker from the
  cases below it), ranks them with the priority rules and offers them in order. It then
  records the organisation as settled (no waiting case fits a worker it may take), with the
  workers kept for heads.
- Newly arrived cases (`place_arrivals`, a batch of ReferralAssessed) are offered with just
  those heads while the organisation is settled: no capacity was freed since a full pass left
  every older waiting case unplaceable, so only a head can change what an arrival may take.
  An arrival that takes a head's worker (it ranks above the head) unsettles the organisation
  for a full pass. Otherwise a full pass.
Anything that frees capacity (a release, fewer hours, a caseworker created or changed) first
moves the organisation's state version on (store.capacity_may_grow), then asks for a pass. A
new day unsettles it too (leave ends). The sweep runs the passes that are due and, every
RECOVER_EVERY, a full pass that also completes claims a crash left.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.allocation.backfill import Backfill, Placed
from services.allocation.claims import CaseClaim, group_claims, with_claim
from services.allocation.matching import STAGE_HOURS, NoMatch, choose_worker, open_room
from services.allocation.records import (
    Allocation,
    CaseEntry,
    Caseworker,
    PassState,
    Team,
    case_to_place,
    worker_view,
)
from services.allocation.store import AllocationStore
from services.allocation.waiting_list import rank_waiting
from shared.codes import Stage
from shared.events.base import EventData
from shared.events.catalogue import CaseAllocated, CaseReallocated
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.lanes import Lane
from shared.logging import get_logger
from shared.redaction import safe_error
from shared.runtime import ServiceRuntime

SOURCE = "hearth.allocation"
SWEEP_EVERY = timedelta(minutes=1)
RECOVER_EVERY = timedelta(minutes=10)
CLAIM_ATTEMPTS = 8
CLAIM_GRACE = timedelta(seconds=60)
# Claims recorded together at most: bounds how long a batch's first claims wait for their
# record (and CaseAllocated) and how old a claim gets before it is recorded.
RECORD_CHUNK = 100

log = get_logger(__name__)

Workers = dict[str, Caseworker]  # a pass's view of the organisation's caseworkers, by id


def _wall_clock() -> datetime:
    # Claim ages are operational (crash recovery), so they use real time.
    return datetime.now(UTC)


def settled(state: PassState | None, today: date) -> bool:
    """Whether a full pass has left nothing placeable since capacity last grew, today."""
    if state is None:
        return False
    return state.settled == state.version and state.settled_on == today


@dataclass(frozen=True)
class Offered:
    """What offering cases did: how many were allocated, and the plan it followed."""

    allocated: int
    plan: Backfill


def claim_is_stale(worker: Caseworker, case_id: str, now: datetime) -> bool:
    claimed_at = worker.claimed_at_for(case_id)
    return claimed_at is None or claimed_at <= now - CLAIM_GRACE


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
        # Full passes of one organisation run one at a time in this process; requests that
        # arrive while one runs are served together by the next (coalescing).
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._requested: dict[str, int] = defaultdict(int)
        self._completed: dict[str, int] = defaultdict(int)
        self._recovered: dict[str, float] = {}  # organisation -> monotonic time of recovery
        self._swept_once = False
        self._arrivals: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._placing: set[asyncio.Task[None]] = set()
        self.allocated = 0  # by this process, for metrics and tests

    # --- 1. arrivals ------------------------------------------------------------------------

    def place_in_background(self, organisation: str, entries: Sequence[CaseEntry]) -> None:
        """Place arrivals beside the consumer rather than inside its poll: an arrears batch
        of one council's prevention referrals takes a minute to offer, and a referral in the
        next poll must not wait for it. The entries are already stored as waiting, so a crash
        before they are placed loses nothing: the sweep's recovery pass places them."""
        task = asyncio.create_task(self._place_serially(organisation, entries))
        self._placing.add(task)
        task.add_done_callback(self._placing.discard)

    async def _place_serially(self, organisation: str, entries: Sequence[CaseEntry]) -> None:
        async with self._arrivals[organisation]:  # arrivals of one council in their order
            try:
                await self.place_arrivals(organisation, entries)
            except Exception as exc:  # left waiting; the organisation gets a full pass
                log.warning("allocation.placement_deferred", error=safe_error(exc))
                await self.store.capacity_may_grow(organisation)

    async def place_arrivals(self, organisation: str, entries: Sequence[CaseEntry]) -> int:
        """Offer cases that just joined the waiting list. While the organisation is settled
        they are the only cases that can be placed, so the rest of the list is not read."""
        if not entries:
            return 0
        now = self.runtime.clock.now()
        # Read at once: unlike a full pass, arrivals never settle the organisation, so the
        # workers need not be read after the state (a release between the two leaves the
        # state unsettled or fails keep_reservations' guard). The teams are few and read
        # whole, for the CaseAllocated events.
        state, workers, teams = await asyncio.gather(
            self.store.get_state(organisation),
            self._workers(organisation),
            self._teams(organisation),
        )
        if state is None or not settled(state, now.date()):
            await self.request(organisation)
            return 0
        kept = state.kept
        arrived = {e.case_id for e in entries}
        heads = await self.store.waiting_among(organisation, kept.values())
        offered = await self._offer(
            [*entries, *(h for h in heads if h.case_id not in arrived)], workers, now, teams
        )
        now_kept = offered.plan.reservations
        if not set(kept) <= set(now_kept):
            # A worker kept for a head went to an arrival ranked above it: older cases may
            # head their pools now, which only a full pass can see.
            await self.store.capacity_may_grow(organisation)
            await self.request(organisation)
        elif now_kept != kept:  # an arrival heads its pool: later arrivals must see it
            await self.store.keep_reservations(organisation, state.version, now_kept)
        return offered.allocated

    # --- 2. full passes ---------------------------------------------------------------------

    async def request(
        self, organisation: str, recover: bool = False, only_if_unsettled: bool = False
    ) -> None:
        """Returns once a full pass that started after this call has finished. With
        `only_if_unsettled`, nothing is done while the organisation is settled."""
        if only_if_unsettled and not recover:
            state = await self.store.get_state(organisation)
            if settled(state, self.runtime.clock.now().date()):
                return
        self._requested[organisation] += 1
        mine = self._requested[organisation]
        async with self._locks[organisation]:
            if self._completed[organisation] >= mine and not recover:
                return
            started = self._requested[organisation]
            await self.run_pass(organisation, recover)
            self._completed[organisation] = started

    async def run_pass(self, organisation: str, recover: bool = False) -> int:
        now = self.runtime.clock.now()
        today = now.date()
        state = await self.store.get_state(organisation)
        version = state.version if state else 0
        workers = await self._workers(organisation)
        room = open_room([worker_view(w) for w in workers.values()], today)
        allocated = 0
        reserved: dict[str, str] = {}
        if room or recover:  # with no room anywhere nothing can be placed, nor kept from anyone
            waiting, teams = await asyncio.gather(
                self.store.waiting(organisation), self._teams(organisation)
            )
            offered = await self._offer(waiting, workers, now, teams)
            allocated, reserved = offered.allocated, offered.plan.reservations
        await self.store.settle(organisation, version, today, reserved)
        return allocated

    async def sweep(self) -> None:
        """Passes that are due: an unsettled organisation (a new day, a pass that failed) and,
        every RECOVER_EVERY, one that completes claims a crash left."""
        organisations = set(await self.store.known_organisations())
        if not self._swept_once:  # entries from before the state was kept
            organisations.update(await self.store.waiting_organisations())
            self._swept_once = True
        clock = time.monotonic()
        for organisation in sorted(organisations):
            last = self._recovered.get(organisation)
            recover = last is None or clock - last >= RECOVER_EVERY.total_seconds()
            if recover:
                self._recovered[organisation] = clock
            await self.request(organisation, recover=recover, only_if_unsettled=True)

    async def _workers(self, organisation: str) -> Workers:
        return {w.worker_id: w for w in await self.store.list_workers(organisation)}

    async def _teams(self, organisation: str) -> dict[str, Team | None]:
        """The organisation's teams by id, as a pass reads them (once, beside its other
        reads); a worker's team missing from it is looked up on its own."""
        return {t.team_id: t for t in await self.store.list_teams(organisation)}

    # --- 3. one entry: claim, then record -------------------------------------------------

    async def _offer(
        self,
        entries: Sequence[CaseEntry],
        workers: Workers,
        now: datetime,
        teams: dict[str, Team | None],
    ) -> Offered:
        """Plan the entries best-ranked first; claim the placed ones together, up to
        RECORD_CHUNK at a time (one guarded update per worker, claims.py), then record them."""
        plan = Backfill([worker_view(w) for w in workers.values()], now.date())
        allocated = 0
        placed: list[tuple[CaseEntry, Placed]] = []  # planned, not yet claimed
        claimed: list[tuple[CaseEntry, Caseworker]] = []
        for entry, _ in rank_waiting(entries, now):
            holders = [w for w in workers.values() if w.holds(entry.case_id)]
            if holders:
                # Claimed before the plan refreshes from `workers`, so both agree again.
                claimed += await self._claim_placed(placed, workers, plan)
                placed = []
                claimed.append((entry, await self._complete(entry, holders, workers, plan)))
            else:  # placed in the plan only: claimed with the rest of the chunk
                choice = plan.offer(case_to_place(entry))
                if isinstance(choice, Placed):
                    placed.append((entry, choice))
            if len(placed) + len(claimed) >= RECORD_CHUNK:
                claimed += await self._claim_placed(placed, workers, plan)
                placed = []
                allocated += await self._record(claimed, teams, now)
                claimed = []
        claimed += await self._claim_placed(placed, workers, plan)
        allocated += await self._record(claimed, teams, now)
        return Offered(allocated, plan)

    async def _complete(
        self, entry: CaseEntry, holders: list[Caseworker], workers: Workers, plan: Backfill
    ) -> Caseworker:
        """A claim an interrupted attempt (or a racing one) made: the worker completing it."""
        claimed = await self._first_claim(entry, holders, workers)
        for holder in holders:
            fresh = workers.get(holder.worker_id)
            plan.refresh(holder.worker_id, worker_view(fresh) if fresh else None)
        workers[claimed.worker_id] = claimed
        return claimed

    async def _claim_placed(
        self, placed: Sequence[tuple[CaseEntry, Placed]], workers: Workers, plan: Backfill
    ) -> list[tuple[CaseEntry, Caseworker]]:
        """Claim the planned placements, one guarded update per worker for all its cases.
        A worker whose guard failed (its room was taken meanwhile, or it holds one of the
        cases already) is read again and its cases are claimed one by one as before
        (`_claim`, best-ranked first), so nothing is over-committed and a case is claimed
        once. Returns the entries claimed with their worker, in rank order."""
        if not placed:
            return []
        organisation = placed[0][0].organisation
        claims = group_claims(
            CaseClaim(entry.case_id, choice.worker_id, choice.hours) for entry, choice in placed
        )
        wall = _wall_clock()
        landed = await self.store.claim_many(organisation, claims, wall, workers)
        holding: dict[str, Caseworker] = {}  # case id -> the worker holding its claim now
        for claim in claims:
            if claim.worker_id in landed:
                # The plan took these hours when it placed the cases: only `workers` moves on.
                worker = with_claim(workers[claim.worker_id], claim, wall)
                workers[claim.worker_id] = worker
                holding.update({case_id: worker for case_id in claim.case_ids})
        failed = {c.worker_id for c in claims} - landed
        if failed:
            holding.update(await self._claim_one_by_one(placed, failed, workers, plan))
        return [(entry, holding[entry.case_id]) for entry, _ in placed if entry.case_id in holding]

    async def _claim_one_by_one(
        self,
        placed: Sequence[tuple[CaseEntry, Placed]],
        failed: set[str],
        workers: Workers,
        plan: Backfill,
    ) -> dict[str, Caseworker]:
        """The fallback for workers whose claim for all their cases failed: each worker read
        again (one query), then its cases claimed one at a time, best-ranked first, offered
        again with the worker as it is now. Returns case id -> the worker holding it.
        The chunk's other placements stand as planned: when a worker was taken meanwhile, a
        case ranked below its cases may keep room one of them could have had, as when two
        replicas race; nothing is over-committed and what fits nowhere waits."""
        organisation = placed[0][0].organisation
        fresh = await self.store.workers_among(organisation, failed)
        for worker_id in failed:
            current = fresh.get(worker_id)
            if current is None:
                workers.pop(worker_id, None)
            else:
                workers[worker_id] = current
            plan.refresh(worker_id, worker_view(current) if current else None)
        holding: dict[str, Caseworker] = {}
        for entry, choice in placed:
            if choice.worker_id not in failed:
                continue
            planned = workers.get(choice.worker_id)
            if planned is not None and planned.holds(entry.case_id):
                # Claimed after all (a racing claimant's, or this very update counted as
                # failed when another write overwrote its mark): completed like any claim
                # found on a worker.
                holding[entry.case_id] = planned
                continue
            claimed = await self._claim(entry, workers, plan)
            if claimed is not None:
                workers[claimed.worker_id] = claimed
                holding[entry.case_id] = claimed
        return holding

    async def _first_claim(
        self, entry: CaseEntry, holders: list[Caseworker], workers: Workers
    ) -> Caseworker:
        """The first holder completes the allocation; the others' claims are released once
        stale (younger ones may be racing claimants')."""
        wall = _wall_clock()
        for extra in holders[1:]:
            if claim_is_stale(extra, entry.case_id, wall):
                released = await self.release(extra.worker_id, entry.case_id, entry.organisation)
                workers[extra.worker_id] = released or extra
        return holders[0]

    async def _claim(self, entry: CaseEntry, workers: Workers, plan: Backfill) -> Caseworker | None:
        case = case_to_place(entry)
        organisation = entry.organisation
        for _ in range(CLAIM_ATTEMPTS):
            choice = plan.offer(case)
            if not isinstance(choice, Placed):
                return None
            claimed = await self.claim(organisation, choice.worker_id, case.case_id, choice.hours)
            if claimed is not None:
                plan.refresh(claimed.worker_id, worker_view(claimed))
                return claimed
            # Another allocation took the hours first: look again with the worker as it is now.
            fresh = await self.store.get_worker(organisation, choice.worker_id)
            if fresh is None:
                workers.pop(choice.worker_id, None)
            else:
                workers[choice.worker_id] = fresh
            plan.refresh(choice.worker_id, worker_view(fresh) if fresh else None)
        # Still placeable after every attempt: let a full pass look at it again.
        await self.store.capacity_may_grow(entry.organisation)
        return None

    async def claim(
        self, organisation: str, worker_id: str, case_id: str, hours: float
    ) -> Caseworker | None:
        return await self.store.claim(organisation, worker_id, case_id, hours, _wall_clock())

    async def release(self, worker_id: str, case_id: str, organisation: str) -> Caseworker | None:
        """Give the hours back, once. The organisation is unsettled before and after: a pass
        that read the workers before the release cannot then settle it."""
        await self.store.capacity_may_grow(organisation)
        released = await self.store.release(organisation, worker_id, case_id)
        await self.store.capacity_may_grow(organisation)
        return released

    async def _record(
        self,
        claimed: Sequence[tuple[CaseEntry, Caseworker]],
        teams: dict[str, Team | None],
        now: datetime,
    ) -> int:
        """Record the claimed entries' allocations with their CaseAllocated, together (one
        bulk write and one publish for a pass's claims, not a write and a clear per case);
        returns how many landed. One that did not was allocated by another claimant (maybe
        with this very claim) or closed meanwhile: its claim is released unless it is the
        lead worker's."""
        records = []
        for entry, worker in claimed:
            if worker.team_id not in teams:
                team = await self.store.get_team(entry.organisation, worker.team_id)
                teams[worker.team_id] = team
            allocation, data = allocated(entry, worker, teams[worker.team_id], now)
            event_id = stable_id(entry.case_id, SOURCE, "CaseAllocated")
            event = self._event(entry, data, event_id, now, lane=entry.lane)
            records.append((entry.case_id, allocation, event))
        if not records:
            return 0
        written = await self.store.record_allocations(records)
        for (entry, worker), (_, allocation, _) in zip(claimed, records, strict=True):
            case_id = entry.case_id
            if case_id not in written:
                current = await self.store.get_case(case_id)
                if (
                    current is None
                    or current.status != "allocated"
                    or (current.lead_worker_id != worker.worker_id)
                ):
                    await self.release(worker.worker_id, case_id, entry.organisation)
                continue
            self.allocated += 1
            log.info(
                "allocation.allocated",
                case_id=case_id,
                worker_id=worker.worker_id,
                hours=allocation.hours,
            )
        return len(written & {entry.case_id for entry, _ in claimed})

    def _event(
        self,
        entry: CaseEntry,
        data: EventData,
        event_id: str,
        now: datetime,
        lane: Lane | None = None,
    ) -> Envelope:
        return make_event(
            data,
            source=SOURCE,
            organisation=entry.organisation,
            correlation_id=entry.correlation_id,
            causation_id=entry.assessed_event_id,
            event_id=event_id,
            time=now,
            lane=lane,
        )

    # --- reallocation ---------------------------------------------------------------------

    async def reallocate(
        self,
        organisation: str,
        case_id: str,
        reason: str,
        to_worker_id: str | None,
        cover_until: date | None,
    ) -> CaseEntry:
        recorded = await self._reallocate(organisation, case_id, reason, to_worker_id, cover_until)
        await self.request(organisation)  # the hours freed may take a waiting case
        return recorded

    async def _reallocate(
        self,
        organisation: str,
        case_id: str,
        reason: str,
        to_worker_id: str | None,
        cover_until: date | None,
    ) -> CaseEntry:
        now = self.runtime.clock.now()
        entry = await self.store.get_case(case_id, organisation)
        if entry is None:
            raise NotFound("case_id", "no such case in your organisation")
        if entry.status != "allocated" or entry.allocation is None:
            raise Conflict("status", f"the case is {entry.status}, not allocated")
        await self.reconcile(entry)
        current = entry.allocation
        target = await self._target(entry, current, to_worker_id, now.date())
        claimed = await self.claim(organisation, target, case_id, current.hours)
        if claimed is None:
            raise Conflict("to_worker_id", f"the caseworker does not have {current.hours:g} h free")
        team = await self.store.get_team(organisation, claimed.team_id)
        allocation, data = reallocated(entry, current, claimed, team, reason, cover_until, now)
        event_id = stable_id(case_id, SOURCE, "CaseReallocated", str(allocation.version))
        event = self._event(entry, data, event_id, now)
        recorded = await self.store.record_reallocation(case_id, current.version, allocation, event)
        if recorded is None:  # another reallocation (or a closure) moved it first
            await self.release(target, case_id, organisation)
            raise Conflict("case_id", "the case changed meanwhile; try again")
        await self.release(current.worker_id, case_id, organisation)
        return recorded

    async def _target(
        self, entry: CaseEntry, current: Allocation, to_worker_id: str | None, today: date
    ) -> str:
        """The worker chosen, or the best other one who can take the case's hours."""
        if to_worker_id is not None:
            return await self._explicit_target(
                entry.organisation, to_worker_id, current.worker_id, today
            )
        workers = await self.store.list_workers(entry.organisation)
        choice = choose_worker(
            case_to_place(entry),
            [worker_view(w) for w in workers],
            today,
            exclude=[current.worker_id],
            hours=current.hours,
        )
        if isinstance(choice, NoMatch):
            raise Conflict("to_worker_id", f"no other worker can take it: {choice.reason}")
        return choice.worker_id

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

    async def reconcile(self, entry: CaseEntry) -> None:
        """Release claims on the case by anyone but its lead worker left by a crash (older than
        CLAIM_GRACE: a younger one may belong to a reallocation in flight)."""
        wall = _wall_clock()
        for holder in await self.store.workers_holding(entry.case_id):
            if holder.worker_id != entry.lead_worker_id and claim_is_stale(
                holder, entry.case_id, wall
            ):
                await self.release(holder.worker_id, entry.case_id, entry.organisation)

    # --- stage changes ---------------------------------------------------------------------

    async def change_stage(
        self, case_id: str, event_id: str, stage: Stage, target_hours: float
    ) -> bool:
        """The worker's commitment follows the case's stage (Stage 3 needs fewer hours). More
        hours are taken only if the worker has them; otherwise the commitment stays. The hours
        change is one update guarded on the hours it replaces; the stage is recorded once
        (inbox), guarded on the lead worker, and looked at again if the case moved between."""
        low, high = STAGE_HOURS[stage]
        wanted = min(high, max(low, target_hours))
        for _ in range(CLAIM_ATTEMPTS):
            entry = await self.store.get_case(case_id)
            if entry is None or entry.status != "allocated" or entry.allocation is None:
                return False
            organisation = entry.organisation
            worker_id = entry.allocation.worker_id
            fewer = wanted < entry.allocation.hours
            if fewer:
                await self.store.capacity_may_grow(organisation)
            hours = await self.store.change_hours(organisation, worker_id, case_id, wanted)
            if hours is None:
                continue  # reallocated meanwhile: the new lead worker holds the hours
            if hours != wanted:
                log.warning("allocation.stage_hours_kept", case_id=case_id, hours=hours)
            recorded = await self.store.record_stage(
                case_id, worker_id, stage.value, hours, event_id
            )
            if recorded == "conflict" and await self._moved(case_id, worker_id):
                continue
            if fewer:
                # Not only_if_unsettled: a pass that read the workers before this change may
                # have settled the organisation after the bump above.
                await self.request(organisation)
            return True
        raise RuntimeError(f"stage change of {case_id} kept racing reallocations; retried")

    async def _moved(self, case_id: str, worker_id: str) -> bool:
        """Whether the case went to another lead worker (not closed, not a repeat)."""
        current = await self.store.get_case(case_id)
        if current is None or current.status != "allocated":
            return False
        return current.lead_worker_id != worker_id

    # --- closure --------------------------------------------------------------------------

    async def close(self, case_id: str, event_id: str, closed_at: datetime, reason: str) -> bool:
        """Take the case off the lists, then free the hours of whoever holds it. Closed first,
        so a pass racing the closure cannot record an allocation after the release; a
        redelivered CaseClosed finds nothing to release and changes nothing."""
        entry = await self.store.get_case(case_id)
        if entry is None:
            return False
        await self.store.record_closure(case_id, closed_at, reason, event_id)
        for holder in await self.store.workers_holding(case_id):
            await self.release(holder.worker_id, case_id, entry.organisation)
        await self.store.drop_review(case_id)
        await self.request(entry.organisation)  # unconditionally, as in change_stage
        return True


# --- the events an allocation records (pure) ------------------------------------------------


def allocated(
    entry: CaseEntry, worker: Caseworker, team: Team | None, now: datetime
) -> tuple[Allocation, CaseAllocated]:
    """The allocation of the entry to the worker holding its claim, and its CaseAllocated."""
    hours = worker.hours_for(entry.case_id)
    if hours is None:
        raise RuntimeError(f"{worker.worker_id} holds {entry.case_id} without its hours")
    leader_id = team.team_leader_id if team else ""
    allocation = Allocation(
        worker_id=worker.worker_id,
        team_id=worker.team_id,
        team_leader_id=leader_id,
        hours=hours,
        stage=entry.stage,
        allocated_at=now,
    )
    data = CaseAllocated(
        case_id=entry.case_id,
        person_id=entry.person_id,
        route=entry.route,
        lead_worker_id=worker.worker_id,
        team_id=worker.team_id,
        team_leader_id=leader_id,
        stage=entry.stage,
        target_hours_per_week=hours,
        allocated_at=now,
        support_needs=entry.support_needs,
        tenancy_id=entry.tenancy_id,
        referrer_organisation=entry.referrer_organisation,
        lead_worker_email=worker.email,
        team_leader_email=team.team_leader_email if team else None,
    )
    return allocation, data


def reallocated(
    entry: CaseEntry,
    current: Allocation,
    worker: Caseworker,
    team: Team | None,
    reason: str,
    cover_until: date | None,
    now: datetime,
) -> tuple[Allocation, CaseReallocated]:
    """The allocation moved on to `worker` (the hours stay), and its CaseReallocated."""
    leader_id = team.team_leader_id if team else ""
    allocation = current.model_copy(
        update={
            "worker_id": worker.worker_id,
            "team_id": worker.team_id,
            "team_leader_id": leader_id,
            "allocated_at": now,
            "version": current.version + 1,
            "reason": reason,
            "cover_until": cover_until,
            "previous_worker_id": current.worker_id,
        }
    )
    data = CaseReallocated(
        case_id=entry.case_id,
        previous_worker_id=current.worker_id,
        lead_worker_id=worker.worker_id,
        team_leader_id=leader_id,
        reason=reason,
        cover_until=cover_until,
        lead_worker_email=worker.email,
        team_leader_email=team.team_leader_email if team else None,
    )
    return allocation, data
