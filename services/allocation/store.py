"""The allocation service's collections; the only module that talks to MongoDB.

Aggregates are read as typed models (records.py) through one repository per collection and
changed through the shared unit of work, which writes each change with its inbox mark and its
events in one update and publishes them through the one relay:
- `teams`: a team and its team leader, per organisation.
- `caseworkers`: a worker and their capacity. `free_hours`, `free_slots` (maximum caseload
  minus open cases) and `open_cases` live on the document and change only by `$inc` inside a
  guarded single-document update, so two allocations racing for the last hours cannot
  over-commit them. `cases` lists the cases the worker holds: it makes claim and release
  idempotent (a case is claimed or released once per worker) and finds a claim a crash left.
  A pass claims the cases it placed with one such update per worker, all in one bulk request
  (`claim_many`).
- `cases`: one entry per case: waiting, allocated or closed, with its facts for the priority
  function and its allocation. Events leave through this collection's outbox.
- `reviews`: open cases whose review is weighed against the waiting list.
- `allocation_state`: one small document per organisation: `version` goes up before any
  change that can free capacity (a release, fewer hours, a new or changed caseworker) and
  `settled`/`settled_on` record the version and day a full pass last left no waiting case
  placeable. While they agree, only newly arrived cases can be placed (allocator.py).

Team and caseworker ids are each organisation's own (`scoped_id`): the same id in two
organisations is two documents, so creating one never tells a caller another organisation
has that id. The API's ids are unchanged; documents stored before were keyed by the id alone
and are re-keyed once at startup (`adopt_unscoped_ids`).

There are no locks: every write that must not race is one guarded single-document update,
atomic on MongoDB and on the patched FerretDB (tests/shared/test_database_atomicity.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from services.allocation.claims import WorkerClaim
from services.allocation.records import (
    Allocation,
    CaseEntry,
    Caseworker,
    PassState,
    Review,
    StoredRiskSignal,
    Team,
    placed,
    placement_fields,
)
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.inbox import INBOX_FIELD
from shared.mongo import Document
from shared.repository import Loaded, Repository, bson_safe
from shared.runtime import ServiceRuntime
from shared.unit_of_work import Committed, UnitOfWork

M = TypeVar("M", bound=BaseModel)


def hours_key(case_id: str) -> str:
    # Case ids are not safe as field names (dots); a hash of them is.
    return f"case_hours.{stable_id(case_id)}"


def claimed_key(case_id: str) -> str:
    return f"claimed_at.{stable_id(case_id)}"


# A waiting entry's bulky fields a pass does not need.
PASS_PROJECTION = {INBOX_FIELD: 0, "_outbox": 0, "history": 0}
# Kept by `$push` alone: an arrival's fields never overwrite them.
APPENDED = ("risk_signals", "history")

# How a guarded change on one document ended (a repeat: its event was applied already).
Outcome = Literal["written", "repeat", "conflict"]


def outcome(committed: Committed, doc_id: str) -> Outcome:
    if doc_id in committed.written:
        return "written"
    return "repeat" if doc_id in committed.repeats else "conflict"


class KeyedRepository(Repository[M]):
    """The model's id is the document's `_id` and is not stored twice."""

    def to_document(self, model: M) -> Document:
        document = super().to_document(model)
        document.pop(self.id_field, None)
        return document

    async def models(
        self, query: Document, projection: Document | None = None, by_id: bool = False
    ) -> list[M]:
        """Models only (no version or inbox), optionally without bulky fields."""
        cursor = self.collection.find(query, projection)
        if by_id:
            cursor = cursor.sort("_id", 1)
        return [self.from_document(document) async for document in cursor]


def kept_list(reserved: Mapping[str, str]) -> list[Document]:
    """Worker id -> case id as stored (records.Kept): a list, as ids may hold dots."""
    return [{"worker_id": w, "case_id": c} for w, c in sorted(reserved.items())]


def scoped_id(organisation: str, id_: str) -> str:
    """The `_id` of an organisation's team or caseworker. Ids never hold `|` (schemas.Id), so
    the last `|` splits the two."""
    return f"{organisation}|{id_}"


class ScopedRepository(KeyedRepository[M]):
    """Keyed by `scoped_id(model.organisation, model id)`; the model's own id is stored
    beside it, so queries and the API read it as it was given."""

    def id_of(self, model: M) -> str:
        organisation = getattr(model, "organisation")  # noqa: B009 (M is any model with one)
        return scoped_id(str(organisation), str(getattr(model, self.id_field)))

    def to_document(self, model: M) -> Document:
        return Repository.to_document(self, model)


class CaseRepository(KeyedRepository[CaseEntry]):
    """Fields without a value are left out, so a stub stays without `status` and an old
    entry without placement fields (queries tell them apart with `$exists`)."""

    def to_document(self, model: CaseEntry) -> Document:
        return {k: v for k, v in super().to_document(model).items() if v is not None}


@dataclass(frozen=True)
class RiskSignalWrite:
    """One TenancyAtRisk's signal for one case. `create`: keep it even if the case is not
    known yet (the prevention referral the alert raised, whose ReferralAssessed may come
    later); otherwise it applies only to a case that exists."""

    case_id: str
    signal: StoredRiskSignal
    event_id: str
    create: bool


class AllocationStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.relay = runtime.relay
        self.teams = ScopedRepository(runtime.collection("teams"), Team, "team_id")
        # Caseworkers carry their own CaseworkerCapacityChanged events (capacity_changes.py).
        workers = runtime.collection("caseworkers", outbox=True)
        self.workers = ScopedRepository(workers, Caseworker, "worker_id")
        self.cases = CaseRepository(runtime.collection("cases", outbox=True), CaseEntry, "case_id")
        self.reviews = KeyedRepository(runtime.collection("reviews"), Review, "case_id")
        self.passes = KeyedRepository(
            runtime.collection("allocation_state"), PassState, "organisation"
        )
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.adopt_unscoped_ids()
        await self.teams.collection.create_index([("organisation", 1)])
        await self.workers.collection.create_index([("organisation", 1), ("team_id", 1)])
        await self.workers.collection.create_index([("cases", 1)])
        await self.cases.collection.create_index([("organisation", 1), ("status", 1)])
        # FerretDB narrows by one field's index: (organisation, status) narrows by organisation
        # only, and the waiting cases are a few among thousands (100 of 2,100: 142 -> 44 ms).
        await self.cases.collection.create_index([("status", 1)])
        await self.reviews.collection.create_index([("organisation", 1)])

    async def adopt_unscoped_ids(self) -> None:
        """Re-key teams and caseworkers stored by their id alone (before ids were scoped by
        organisation): a copy under the scoped id, then the old one removed. Idempotent; run
        at startup, so replicas of the older version must be stopped first."""
        keyed = ((self.teams.collection, "team_id"), (self.workers.collection, "worker_id"))
        for collection, field in keyed:
            async for document in collection.find({field: {"$exists": False}}):
                old_id = str(document["_id"])
                organisation = str(document.get("organisation") or "")
                if not organisation or "|" in old_id:
                    continue
                copy = {**document, "_id": scoped_id(organisation, old_id), field: old_id}
                try:
                    await collection.insert_one(copy)
                except DuplicateKeyError:
                    pass  # copied by another replica, or before a crash
                await collection.delete_one({"_id": old_id})

    def _unit(self) -> UnitOfWork:
        return UnitOfWork(self.relay)

    async def _change_one(
        self,
        repository: Repository[M],
        doc_id: str,
        update: Document,
        events: Sequence[Envelope] = (),
        **kw: Any,
    ) -> tuple[M | None, Committed]:
        """One guarded change on its own: the model after it, if it landed."""
        uow = self._unit()
        uow.change(repository, doc_id, update, events, **kw)
        committed = await uow.commit()
        return committed.model(repository, doc_id), committed

    # --- teams ----------------------------------------------------------------------------

    async def add_team(self, team: Team) -> bool:
        """False if a team with its id exists."""
        uow = self._unit()
        uow.add(self.teams, team)
        return self.teams.id_of(team) in (await uow.commit()).written

    async def list_teams(self, organisation: str) -> list[Team]:
        return await self.teams.models({"organisation": organisation}, by_id=True)

    async def get_team(self, organisation: str, team_id: str) -> Team | None:
        loaded = await self.teams.get(scoped_id(organisation, team_id))
        return loaded.model if loaded else None

    async def update_team(
        self, organisation: str, team_id: str, changes: dict[str, Any]
    ) -> Team | None:
        team, _ = await self._change_one(
            self.teams, scoped_id(organisation, team_id), {"$set": bson_safe(changes)}
        )
        return team

    # --- caseworkers ----------------------------------------------------------------------

    async def add_worker(self, worker: Caseworker, events: Sequence[Envelope] = ()) -> bool:
        """False if a caseworker with its id exists (and then `events` are not emitted)."""
        uow = self._unit()
        uow.add(self.workers, worker, events)
        return self.workers.id_of(worker) in (await uow.commit()).written

    async def list_workers(self, organisation: str, team_id: str | None = None) -> list[Caseworker]:
        query: dict[str, Any] = {"organisation": organisation}
        if team_id is not None:
            query["team_id"] = team_id
        return await self.workers.models(query, by_id=True)

    async def get_worker(self, organisation: str, worker_id: str) -> Caseworker | None:
        loaded = await self.load_worker(organisation, worker_id)
        return loaded.model if loaded else None

    async def load_worker(self, organisation: str, worker_id: str) -> Loaded[Caseworker] | None:
        """The worker with the version a change is decided on."""
        return await self.workers.get(scoped_id(organisation, worker_id))

    async def set_worker_fields(
        self, organisation: str, worker_id: str, fields: dict[str, Any]
    ) -> Caseworker | None:
        worker, _ = await self._change_one(
            self.workers, scoped_id(organisation, worker_id), {"$set": bson_safe(fields)}
        )
        return worker

    async def change_worker(
        self,
        worker: Caseworker,
        fields: dict[str, Any],
        contracted_hours: float | None = None,
        max_caseload: int | None = None,
        events: Sequence[Envelope] = (),
    ) -> Caseworker | None:
        """Contracted hours and maximum caseload move the free hours and slots by the
        difference. Guarded on the contract it read and on the hours and slots free at the
        moment of the update (one atomic write), so a claim racing it can never be
        over-committed: None if they are no longer there. With `events` (the capacity it
        changes) also guarded on the team, hours and activity it read, so the event states
        exactly what the change left."""
        guard: dict[str, Any] = {"organisation": worker.organisation}
        if events:
            guard.update(
                team_id=worker.team_id,
                active=worker.active,
                contracted_hours=worker.contracted_hours,
            )
        inc: dict[str, float] = {}
        sets = dict(fields)
        if contracted_hours is not None:
            delta = contracted_hours - worker.contracted_hours
            guard["contracted_hours"] = worker.contracted_hours
            if delta < 0:
                guard["free_hours"] = {"$gte": -delta}
            inc["free_hours"] = delta
            sets["contracted_hours"] = contracted_hours
        if max_caseload is not None:
            slots = max_caseload - worker.max_caseload
            guard["max_caseload"] = worker.max_caseload
            if slots < 0:
                guard["free_slots"] = {"$gte": -slots}
            inc["free_slots"] = slots
            sets["max_caseload"] = max_caseload
        update: Document = {"$set": bson_safe(sets)} if sets else {}
        if inc:
            update["$inc"] = inc
        doc_id = self.workers.id_of(worker)
        changed, _ = await self._change_one(self.workers, doc_id, update, events, guard=guard)
        return changed

    async def claim(
        self, organisation: str, worker_id: str, case_id: str, hours: float, now: datetime
    ) -> Caseworker | None:
        """Take `hours` of the worker's free hours and one caseload slot for the case, only if
        they are there and the worker does not hold the case already: one atomic update."""
        claimed, _ = await self._change_one(
            self.workers,
            scoped_id(organisation, worker_id),
            {
                "$inc": {"free_hours": -hours, "open_cases": 1, "free_slots": -1},
                "$addToSet": {"cases": case_id},
                "$set": {hours_key(case_id): hours, claimed_key(case_id): now},
            },
            guard={
                "active": True,
                "free_hours": {"$gte": hours},
                "free_slots": {"$gte": 1},
                "cases": {"$ne": case_id},
            },
        )
        return claimed

    async def claim_many(
        self,
        organisation: str,
        claims: Sequence[WorkerClaim],
        now: datetime,
        as_read: Mapping[str, Caseworker],
    ) -> set[str]:
        """Each worker's placed cases claimed in one guarded update, all of them or none: the
        sum of their hours and a slot each, only if all are free and the worker holds none of
        the cases yet (so a repeat claims nothing twice). Also guarded on the team and email
        `as_read` (the workers as the pass read them), so a CaseAllocated made from that read,
        without reading the worker back, names them as they are. One unit of work: one bulk
        request for all the workers, and one read more only if a guard failed. Returns the
        workers whose claim landed. One counted as failed may still hold the cases, when another
        write overwrote the mark its update left (the unit of work's `_written_by`) before
        the read: the caller reads those workers again."""
        if not claims:
            return set()
        uow = self._unit()
        for claim in claims:
            ids = claim.case_ids
            fields: dict[str, Any] = {}
            for case in claim.cases:
                fields[hours_key(case.case_id)] = case.hours
                fields[claimed_key(case.case_id)] = now
            uow.change(
                self.workers,
                scoped_id(organisation, claim.worker_id),
                {
                    "$inc": {
                        "free_hours": -claim.hours,
                        "open_cases": claim.slots,
                        "free_slots": -claim.slots,
                    },
                    "$addToSet": {"cases": {"$each": ids}},
                    "$set": fields,
                },
                guard={
                    "active": True,
                    "team_id": as_read[claim.worker_id].team_id,
                    "email": as_read[claim.worker_id].email,
                    "free_hours": {"$gte": claim.hours},
                    "free_slots": {"$gte": claim.slots},
                    "cases": {"$nin": ids},
                },
                # Applying it twice changes nothing: the second finds the cases held.
                idempotent=True,
            )
        written = (await uow.commit()).written
        return {c.worker_id for c in claims if scoped_id(organisation, c.worker_id) in written}

    async def workers_among(
        self, organisation: str, worker_ids: Iterable[str]
    ) -> dict[str, Caseworker]:
        """The organisation's caseworkers of these ids as they are now, in one query."""
        ids = sorted({scoped_id(organisation, w) for w in worker_ids})
        if not ids:
            return {}
        query = {"_id": {"$in": ids}, "organisation": organisation}
        return {w.worker_id: w for w in await self.workers.models(query)}

    async def release(self, organisation: str, worker_id: str, case_id: str) -> Caseworker | None:
        """Give back the hours the worker holds for the case; once only. The update is guarded
        on the hours it gives back, so a concurrent change of those hours is never lost."""
        doc_id = scoped_id(organisation, worker_id)
        for _ in range(8):
            loaded = await self.workers.get(doc_id, cases=case_id)
            if loaded is None:
                return None
            held = loaded.model.hours_for(case_id)
            guard: dict[str, Any] = {"cases": case_id, hours_key(case_id): held}
            if held is None:
                guard[hours_key(case_id)] = {"$exists": False}
            released, _ = await self._change_one(
                self.workers,
                doc_id,
                {
                    "$inc": {"free_hours": float(held or 0.0), "open_cases": -1, "free_slots": 1},
                    "$pull": {"cases": case_id},
                    "$unset": {hours_key(case_id): "", claimed_key(case_id): ""},
                },
                guard=guard,
            )
            if released is not None:
                return released
        raise RuntimeError(f"release of {case_id} from {worker_id} kept racing; retried")

    async def change_hours(
        self, organisation: str, worker_id: str, case_id: str, hours: float
    ) -> float | None:
        """Set the worker's hours for the case to `hours` if the difference is free; returns
        the hours now committed (unchanged if not), None if the worker does not hold it.
        Idempotent: a repeat finds the hours already set; guarded on the hours it read."""
        doc_id = scoped_id(organisation, worker_id)
        loaded = await self.workers.get(doc_id, cases=case_id)
        if loaded is None:
            return None
        current = loaded.model.hours_for(case_id) or 0.0
        delta = hours - current
        if not delta:
            return current
        guard: dict[str, Any] = {"cases": case_id, hours_key(case_id): current}
        if delta > 0:
            guard["free_hours"] = {"$gte": delta}
        changed, _ = await self._change_one(
            self.workers,
            doc_id,
            {"$inc": {"free_hours": -delta}, "$set": {hours_key(case_id): hours}},
            guard=guard,
        )
        return hours if changed is not None else current

    async def workers_holding(self, case_id: str) -> list[Caseworker]:
        return await self.workers.models({"cases": case_id})

    # --- cases ----------------------------------------------------------------------------

    async def enter_many(self, arrivals: Sequence[tuple[CaseEntry, str]]) -> list[CaseEntry]:
        """New waiting entries `(entry, event_id)`, in one unit of work: inserted whole where
        the case is not known; where it is (a repeat, a re-assessment, a risk signal that came
        first) it joins the list only if no ReferralAssessed placed it yet, so a repeat never
        queues or allocates a case twice. Returns every arrival that is waiting now, new or
        not, so a batch handled again after a crash still places what it entered."""
        first: dict[str, tuple[CaseEntry, str]] = {}
        for entry, event_id in arrivals:
            # The same case twice in one batch: the first entry stands.
            first.setdefault(entry.case_id, (entry, event_id))
        uow = self._unit()
        entered: dict[str, CaseEntry] = {}
        for case_id, (entry, event_id) in first.items():
            waiting = placed(entry.model_copy(update={"status": "waiting"}))
            entered[case_id] = waiting
            document = self.cases.to_document(waiting)
            # Mostly stubs a TenancyAtRisk made first (the alert is handled before the
            # referral it raised): their signals stay, their placement is computed again.
            # A case is usually new, so it is inserted without a read first: an id that is
            # taken (a stub, a repeat) is updated under the guard all the same.
            fields = {k: v for k, v in document.items() if k not in APPENDED}
            uow.upsert(
                self.cases,
                case_id,
                {"$set": fields},
                document,
                event_id=event_id,
                guard={"status": {"$exists": False}},
                likely_new=True,
            )
        committed = await uow.commit()
        # What this unit inserted is waiting exactly as entered; the rest (stubs with their
        # signals, repeats) are read back to see whether, and how, they wait.
        others = [case_id for case_id in first if case_id not in committed.created]
        read: dict[str, CaseEntry] = {}
        if others:
            query = {"_id": {"$in": others}, "status": "waiting"}
            stored = await self._store_placements(await self.cases.models(query, PASS_PROJECTION))
            read = {entry.case_id: entry for entry in stored}
        return [
            entered[case_id] if case_id in committed.created else read[case_id]
            for case_id in first
            if case_id in committed.created or case_id in read
        ]

    async def add_risk_signals(self, signals: Sequence[RiskSignalWrite]) -> None:
        """Record a poll's TenancyAtRisk signals in their order, each once per case and event
        id (`_inbox`), in a few round trips: a read of which no-create targets exist, one
        unit of work (a read, one insert of new stubs, one ordered bulk update), then
        `refresh_placements`."""
        if not signals:
            return
        # A no-create signal applies only to a case that exists by then: in the database (cases
        # are never deleted) or created by an earlier signal of this batch. Filtering here
        # keeps the upsert from ever inserting for one, and keeps the batch's order.
        no_create_ids = list({s.case_id for s in signals if not s.create})
        present: set[str] = set()
        if no_create_ids:
            query = {"_id": {"$in": no_create_ids}}
            present = {d["_id"] async for d in self.cases.collection.find(query, {"_id": 1})}
        uow = self._unit()
        touched: set[str] = set()
        for s in signals:
            if s.create:
                present.add(s.case_id)
            elif s.case_id not in present:
                continue
            # A missing case gets a stub, the signal and the inbox, until its ReferralAssessed.
            signal = bson_safe(s.signal.model_dump())
            uow.upsert(
                self.cases,
                s.case_id,
                {"$push": {"risk_signals": signal}},
                {"risk_signals": [signal]},
                event_id=s.event_id,
            )
            touched.add(s.case_id)
        await uow.commit()
        await self.refresh_placements(touched)

    async def refresh_placements(self, case_ids: Iterable[str]) -> None:
        """Store the placement fields of waiting cases again where their inputs changed (a
        raised risk): one read, one bulk update of those that changed. A raised risk moves a
        case up the ranking, so it may head its pool now: the organisation is unsettled, for
        a full pass to see that (allocator.place_arrivals trusts the last pass's heads)."""
        ids = sorted(set(case_ids))
        if not ids:
            return
        query = {"_id": {"$in": ids}, "status": "waiting"}
        waiting = await self._store_placements(await self.cases.models(query, PASS_PROJECTION))
        for organisation in sorted({e.organisation for e in waiting if e.organisation}):
            await self.capacity_may_grow(organisation)

    async def _store_placements(self, waiting: list[CaseEntry]) -> list[CaseEntry]:
        """Waiting cases with their placement fields stored again where their inputs changed
        (one bulk write); returns them as stored."""
        uow = self._unit()
        refreshed = []
        for entry in waiting:
            fresh = placed(entry)
            if (fresh.wanted, fresh.hours) != (entry.wanted, entry.hours):
                # Derived from the entry alone: writing it twice changes nothing.
                uow.change(
                    self.cases,
                    entry.case_id,
                    {"$set": placement_fields(entry)},
                    guard={"status": "waiting"},
                    idempotent=True,
                )
            refreshed.append(fresh)
        await uow.commit()
        return refreshed

    async def get_case(self, case_id: str, organisation: str | None = None) -> CaseEntry | None:
        where: dict[str, Any] = {"status": {"$exists": True}}
        if organisation is not None:
            where["organisation"] = organisation
        loaded = await self.cases.get(case_id, **where)
        return loaded.model if loaded else None

    async def cases_among(self, organisation: str, case_ids: Iterable[str]) -> dict[str, CaseEntry]:
        """The organisation's cases of these ids, in one query."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        query = {"_id": {"$in": ids}, "organisation": organisation, "status": {"$exists": True}}
        return {case.case_id: case for case in await self.cases.models(query)}

    async def waiting_among(self, organisation: str, case_ids: Iterable[str]) -> list[CaseEntry]:
        """Those of the cases that are still waiting."""
        ids = sorted(set(case_ids))
        if not ids:
            return []
        query = {"_id": {"$in": ids}, "organisation": organisation, "status": "waiting"}
        return await self.cases.models(query, PASS_PROJECTION)

    async def waiting(self, organisation: str) -> list[CaseEntry]:
        return await self.cases.models(
            {"organisation": organisation, "status": "waiting"}, PASS_PROJECTION
        )

    async def waiting_organisations(self) -> list[str]:
        found = await self.cases.collection.distinct("organisation", {"status": "waiting"})
        return [str(o) for o in found]

    async def record_allocations(
        self, records: Sequence[tuple[str, Allocation, Envelope]]
    ) -> set[str]:
        """Waiting -> allocated, each case with its CaseAllocated in its outbox; once, by one
        claimant: guarded on `waiting`, so writing one twice changes nothing (which lets a
        pass's records go in one bulk write). Returns the cases recorded."""
        uow = self._unit()
        for case_id, allocation, event in records:
            stored = bson_safe(allocation.model_dump())
            uow.change(
                self.cases,
                case_id,
                {
                    "$set": {"status": "allocated", "allocation": stored},
                    "$push": {"history": stored},
                },
                [event],
                guard={"status": "waiting"},
                idempotent=True,
            )
        return (await uow.commit()).written

    async def record_reallocation(
        self, case_id: str, previous_version: int, allocation: Allocation, event: Envelope
    ) -> CaseEntry | None:
        """Move the allocation on, only if nobody else moved it since it was read."""
        stored = bson_safe(allocation.model_dump())
        moved, _ = await self._change_one(
            self.cases,
            case_id,
            {"$set": {"allocation": stored}, "$push": {"history": stored}},
            [event],
            guard={"status": "allocated", "allocation.version": previous_version},
        )
        return moved

    async def record_stage(
        self, case_id: str, worker_id: str, stage: str, hours: float, event_id: str
    ) -> Outcome:
        _, committed = await self._change_one(
            self.cases,
            case_id,
            {"$set": {"stage": stage, "allocation.stage": stage, "allocation.hours": hours}},
            event_id=event_id,
            guard={"status": "allocated", "allocation.worker_id": worker_id},
        )
        return outcome(committed, case_id)

    async def record_closure(
        self, case_id: str, closed_at: datetime, reason: str, event_id: str
    ) -> Outcome:
        fields = {"closed_at": closed_at, "closure_reason": reason, "closed_event_id": event_id}
        _, committed = await self._change_one(
            self.cases,
            case_id,
            {"$set": {**fields, "status": "closed"}},
            event_id=event_id,
            guard={"status": {"$in": ["waiting", "allocated"]}},
        )
        return outcome(committed, case_id)

    # --- per-organisation allocation state --------------------------------------------------

    async def known_organisations(self) -> list[str]:
        return [str(d["_id"]) async for d in self.passes.collection.find({}, {"_id": 1})]

    async def get_state(self, organisation: str) -> PassState | None:
        loaded = await self.passes.get(organisation)
        return loaded.model if loaded else None

    async def capacity_may_grow(self, organisation: str) -> None:
        """Before capacity is freed: passes that place only new arrivals stop trusting that
        no waiting case fits until a full pass settles the organisation again. Every write of
        the unit of work moves `version` on; this one does nothing else."""
        uow = self._unit()
        uow.upsert(self.passes, organisation, {}, {})
        await uow.commit()

    async def settle(
        self,
        organisation: str,
        version: int,
        today: date,
        reserved: Mapping[str, str] | None = None,
    ) -> None:
        """A full pass that started at `version` left nothing placeable: recorded only if no
        capacity was freed meanwhile, with the workers it reserved for the heads of their
        pools (backfill.py) so arrivals can be offered without them. The write itself moves
        `version` on by one, so it records that next version as settled."""
        uow = self._unit()
        fields = {"settled_on": today.isoformat(), "reserved": kept_list(reserved or {})}
        change = {"$set": {"settled": version + 1, **fields}}
        if version:
            uow.change(self.passes, organisation, change, guard={"version": version})
        else:  # the first pass of an organisation creates its state
            document = {"settled": 1, **fields}
            uow.upsert(self.passes, organisation, change, document, guard={"version": version})
        await uow.commit()  # a conflict: the state is at another version, capacity was freed

    async def keep_reservations(
        self, organisation: str, version: int, reserved: Mapping[str, str]
    ) -> None:
        """Arrivals offered while settled moved the reservations on (a new head): kept only if
        the organisation is still settled at `version`, and still settled after."""
        uow = self._unit()
        change = {"$set": {"settled": version + 1, "reserved": kept_list(reserved)}}
        guard = {"version": version, "settled": version}
        uow.change(self.passes, organisation, change, guard=guard)
        await uow.commit()

    # --- reviews --------------------------------------------------------------------------

    async def record_review(self, review: Review, event_id: str) -> None:
        fields = self.reviews.to_document(review)
        uow = self._unit()
        uow.upsert(self.reviews, review.case_id, {"$set": fields}, fields, event_id=event_id)
        await uow.commit()

    # --- a person's cases (privacy requests, privacy.py) -------------------------------------

    async def cases_of_person(
        self,
        organisation: str,
        person_id: str,
        case_ids: Iterable[str] = (),
        only_cases: Iterable[str] | None = None,
    ) -> list[CaseEntry]:
        """The organisation's entries of the person (by person id or one of `case_ids`), or,
        with `only_cases`, exactly those. A stub a tenancy alert made (no organisation yet)
        is found by its case id."""
        ids = list(only_cases if only_cases is not None else case_ids)
        either: list[Document] = [
            {"organisation": organisation, "_id": {"$in": ids}},
            {"organisation": {"$exists": False}, "_id": {"$in": ids}},
        ]
        if only_cases is None:
            either.append({"organisation": organisation, "person_id": person_id})
        return await self.cases.models({"$or": either}, by_id=True)

    async def reviews_of_cases(self, organisation: str, case_ids: list[str]) -> dict[str, Review]:
        query = {"_id": {"$in": case_ids}, "organisation": organisation}
        return {r.case_id: r for r in await self.reviews.models(query)}

    async def list_reviews(self, organisation: str) -> list[Review]:
        return await self.reviews.models({"organisation": organisation})

    async def drop_review(self, case_id: str, organisation: str | None = None) -> bool:
        query: dict[str, Any] = {"_id": case_id}
        if organisation is not None:
            query["organisation"] = organisation
        result = await self.reviews.collection.delete_one(query)
        return bool(result.deleted_count)
