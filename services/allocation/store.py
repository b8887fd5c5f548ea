"""The allocation service's collections; the only module that talks to MongoDB.

- `teams`: a team and its team leader, per organisation.
- `caseworkers`: a worker and their capacity. `free_hours`, `free_slots` (maximum caseload
  minus open cases) and `open_cases` live on the document and change only by `$inc` inside a
  guarded `find_one_and_update`, so two allocations racing for the last hours cannot
  over-commit them. `cases` lists the cases the worker holds: it makes claim and release
  idempotent (a case is claimed or released once per worker) and finds a claim a crash left.
- `cases`: one entry per case: waiting, allocated or closed, with its facts for the priority
  function and its allocation. Events leave through this collection's outbox.
- `reviews`: open cases whose review is weighed against the waiting list.
- `allocation_state`: one small document per organisation: `version` goes up before any
  change that can free capacity (a release, fewer hours, a new or changed caseworker) and
  `settled`/`settled_on` record the version and day a full pass last left no waiting case
  placeable. While they agree, only newly arrived cases can be placed (allocator.py).

There are no locks: every write that must not race is one guarded single-document update,
atomic on MongoDB and on the patched FerretDB (tests/shared/test_database_atomicity.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.allocation.records import placement_fields
from shared.bulk import Upsert, bulk_upsert, duplicate_ids
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.inbox import INBOX_FIELD, mark_seen, unseen
from shared.mongo import Collection, Document
from shared.outbox import write_once
from shared.runtime import ServiceRuntime


def hours_key(case_id: str) -> str:
    # Case ids are not safe as field names (dots); a hash of them is.
    return f"case_hours.{stable_id(case_id)}"


def claimed_key(case_id: str) -> str:
    return f"claimed_at.{stable_id(case_id)}"


# Bounds one request's size (bulk writes of any size work on the devstack FerretDB build).
BULK_CHUNK = 1000
# A waiting entry's bulky fields a pass does not need.
PASS_PROJECTION = {INBOX_FIELD: 0, "_outbox": 0, "history": 0}


@dataclass(frozen=True)
class RiskSignalWrite:
    """One TenancyAtRisk's signal for one case. `create`: keep it even if the case is not
    known yet (the prevention referral the alert raised, whose ReferralAssessed may come
    later); otherwise it applies only to a case that exists."""

    case_id: str
    signal: Document
    event_id: str
    create: bool


class AllocationStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.teams: Collection = runtime.collection("teams")
        self.workers: Collection = runtime.collection("caseworkers")
        self.cases: Collection = runtime.collection("cases", outbox=True)
        self.reviews: Collection = runtime.collection("reviews")
        self.state: Collection = runtime.collection("allocation_state")
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.teams.create_index([("organisation", 1)])
        await self.workers.create_index([("organisation", 1), ("team_id", 1)])
        await self.workers.create_index([("cases", 1)])
        await self.cases.create_index([("organisation", 1), ("status", 1)])
        await self.reviews.create_index([("organisation", 1)])

    # --- teams ----------------------------------------------------------------------------

    async def insert_team(self, document: Document) -> None:
        await self.teams.insert_one(document)

    async def list_teams(self, organisation: str) -> list[Document]:
        return await self.teams.find({"organisation": organisation}).sort("_id", 1).to_list()

    async def get_team(self, organisation: str, team_id: str) -> Document | None:
        return await self.teams.find_one({"_id": team_id, "organisation": organisation})

    async def update_team(
        self, organisation: str, team_id: str, changes: dict[str, Any]
    ) -> Document | None:
        return await self.teams.find_one_and_update(
            {"_id": team_id, "organisation": organisation},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )

    # --- caseworkers ----------------------------------------------------------------------

    async def insert_worker(self, document: Document) -> None:
        await self.workers.insert_one(document)

    async def list_workers(self, organisation: str, team_id: str | None = None) -> list[Document]:
        query: dict[str, Any] = {"organisation": organisation}
        if team_id is not None:
            query["team_id"] = team_id
        return await self.workers.find(query).sort("_id", 1).to_list()

    async def get_worker(self, organisation: str, worker_id: str) -> Document | None:
        return await self.workers.find_one({"_id": worker_id, "organisation": organisation})

    async def update_worker(
        self,
        organisation: str,
        worker_id: str,
        guard: dict[str, Any],
        update: dict[str, Any],
    ) -> Document | None:
        """A guarded change (e.g. contracted hours only if no more are committed than left)."""
        return await self.workers.find_one_and_update(
            {"_id": worker_id, "organisation": organisation, **guard},
            update,
            return_document=ReturnDocument.AFTER,
        )

    async def claim(
        self, worker_id: str, case_id: str, hours: float, now: datetime
    ) -> Document | None:
        """Take `hours` of the worker's free hours and one caseload slot for the case, only if
        they are there and the worker does not hold the case already: one atomic update."""
        return await self.workers.find_one_and_update(
            {
                "_id": worker_id,
                "active": True,
                "free_hours": {"$gte": hours},
                "free_slots": {"$gte": 1},
                "cases": {"$ne": case_id},
            },
            {
                "$inc": {"free_hours": -hours, "open_cases": 1, "free_slots": -1},
                "$addToSet": {"cases": case_id},
                "$set": {hours_key(case_id): hours, claimed_key(case_id): now},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def release(self, worker_id: str, case_id: str) -> Document | None:
        """Give back the hours the worker holds for the case; once only. The update is guarded
        on the hours it gives back, so a concurrent change of those hours is never lost."""
        for _ in range(8):
            worker = await self.workers.find_one({"_id": worker_id, "cases": case_id})
            if worker is None:
                return None
            held = (worker.get("case_hours") or {}).get(stable_id(case_id))
            guard: dict[str, Any] = {"_id": worker_id, "cases": case_id, hours_key(case_id): held}
            if held is None:
                guard[hours_key(case_id)] = {"$exists": False}
            released = await self.workers.find_one_and_update(
                guard,
                {
                    "$inc": {"free_hours": float(held or 0.0), "open_cases": -1, "free_slots": 1},
                    "$pull": {"cases": case_id},
                    "$unset": {hours_key(case_id): "", claimed_key(case_id): ""},
                },
                return_document=ReturnDocument.AFTER,
            )
            if released is not None:
                return released
        raise RuntimeError(f"release of {case_id} from {worker_id} kept racing; retried")

    async def change_hours(self, worker_id: str, case_id: str, hours: float) -> float | None:
        """Set the worker's hours for the case to `hours` if the difference is free; returns
        the hours now committed (unchanged if not), None if the worker does not hold it.
        Idempotent: a repeat finds the hours already set; guarded on the hours it read."""
        worker = await self.workers.find_one({"_id": worker_id, "cases": case_id})
        if worker is None:
            return None
        current = float(worker.get("case_hours", {}).get(stable_id(case_id), 0.0))
        delta = hours - current
        if not delta:
            return current
        guard: dict[str, Any] = {"_id": worker_id, "cases": case_id, hours_key(case_id): current}
        if delta > 0:
            guard["free_hours"] = {"$gte": delta}
        changed = await self.workers.find_one_and_update(
            guard, {"$inc": {"free_hours": -delta}, "$set": {hours_key(case_id): hours}}
        )
        return hours if changed is not None else current

    async def workers_holding(self, case_id: str) -> list[Document]:
        return await self.workers.find({"cases": case_id}).to_list()

    # --- cases ----------------------------------------------------------------------------

    async def enter_many(self, arrivals: Sequence[tuple[str, Document, str]]) -> list[Document]:
        """New waiting entries `(case_id, fields, event_id)`: one `insert_many` for the cases not
        seen before; those that exist (a repeat, a re-assessment, a risk signal that came
        first) join the list in one bulk write only if no ReferralAssessed placed them yet, so a
        repeat never queues or allocates a case twice. Returns every arrival that is waiting
        now, new or not, so a batch handled again after a crash still places what it entered."""
        documents: dict[str, Document] = {}
        for case_id, fields, event_id in arrivals:
            if case_id in documents:
                continue  # the same case twice in one batch: the first entry stands
            doc = {"_id": case_id, **fields, "status": "waiting", INBOX_FIELD: [event_id]}
            documents[case_id] = {**doc, **placement_fields(doc)}
        existing: set[str] = set()
        items = list(documents.values())
        for start in range(0, len(items), BULK_CHUNK):
            try:
                await self.cases.insert_many(items[start : start + BULK_CHUNK], ordered=False)
            except BulkWriteError as exc:
                existing.update(duplicate_ids(exc))
        waiting = [doc for case_id, doc in documents.items() if case_id not in existing]
        if existing:
            # Mostly stubs a TenancyAtRisk made first (the alert is handled before the
            # referral it raised).
            first_event: dict[str, tuple[Document, str]] = {}
            for case_id, fields, event_id in arrivals:
                first_event.setdefault(case_id, (fields, event_id))
            await self.cases.bulk_write(
                [
                    UpdateOne(
                        {"_id": case_id, "status": {"$exists": False}, **unseen(event_id)},
                        {"$set": {**fields, "status": "waiting"}, **mark_seen(event_id)},
                    )
                    for case_id, (fields, event_id) in first_event.items()
                    if case_id in existing
                ],
                ordered=False,
            )
            query = {"_id": {"$in": list(existing)}, "status": "waiting"}
            waiting += await self._store_placements(
                await self.cases.find(query, PASS_PROJECTION).to_list(None)
            )
        return waiting

    async def add_risk_signals(self, signals: Sequence[RiskSignalWrite]) -> None:
        """Record a poll's TenancyAtRisk signals in their order, each once per case and event
        id (`_inbox`), in a few round trips: a read of which no-create targets exist,
        `bulk_upsert` (a read, one insert of new stubs, one ordered bulk update), then
        `refresh_placements`."""
        if not signals:
            return
        # A no-create signal applies only to a case that exists by then: in the database (cases
        # are never deleted) or created by an earlier signal of this batch. Filtering here
        # keeps bulk_upsert from ever inserting for one, and keeps the batch's order.
        no_create_ids = list({s.case_id for s in signals if not s.create})
        present: set[str] = set()
        if no_create_ids:
            query = {"_id": {"$in": no_create_ids}}
            present = {d["_id"] async for d in self.cases.find(query, {"_id": 1})}
        upserts: list[Upsert] = []
        for s in signals:
            if s.create:
                present.add(s.case_id)
            elif s.case_id not in present:
                continue
            # A missing case gets a stub, the signal and the inbox, until its ReferralAssessed.
            push = Upsert(
                s.case_id, {"$push": {"risk_signals": s.signal}}, {"risk_signals": [s.signal]}
            )
            upserts.append(push.once(s.event_id))
        await bulk_upsert(self.cases, upserts)
        await self.refresh_placements({u.id for u in upserts})

    async def refresh_placements(self, case_ids: Iterable[str]) -> None:
        """Store the placement fields of waiting cases again where their inputs changed (a
        raised risk): one read, one bulk update of those that changed."""
        ids = sorted(set(case_ids))
        if not ids:
            return
        query = {"_id": {"$in": ids}, "status": "waiting"}
        await self._store_placements(await self.cases.find(query, PASS_PROJECTION).to_list(None))

    async def _store_placements(self, waiting: list[Document]) -> list[Document]:
        """Waiting cases with their placement fields stored again where their inputs changed
        (one bulk write); returns them as stored."""
        refreshed, changes = [], []
        for doc in waiting:
            fields = placement_fields(doc)
            if any(doc.get(k) != v for k, v in fields.items()):
                changes.append(
                    UpdateOne({"_id": doc["_id"], "status": "waiting"}, {"$set": fields})
                )
            refreshed.append({**doc, **fields})
        if changes:
            await self.cases.bulk_write(changes, ordered=False)
        return refreshed

    async def get_case(self, case_id: str, organisation: str | None = None) -> Document | None:
        query: dict[str, Any] = {"_id": case_id, "status": {"$exists": True}}
        if organisation is not None:
            query["organisation"] = organisation
        return await self.cases.find_one(query)

    async def waiting(self, organisation: str) -> list[Document]:
        return await self.cases.find({"organisation": organisation, "status": "waiting"}).to_list()

    async def placeable(
        self, organisation: str, room: Mapping[str, float], held: Iterable[str]
    ) -> list[Document]:
        """The waiting cases a pass could place: one of their wanted specialisms has a worker
        with their hours free (`room`, from matching.open_room), or a worker already holds a
        claim for them (`held`: a crash between claim and record), or they were entered
        before placement fields were stored."""
        either: list[Document] = [
            {"wanted": specialism, "hours": {"$lte": hours}} for specialism, hours in room.items()
        ]
        either.append({"wanted": {"$exists": False}})
        held_ids = sorted(set(held))
        if held_ids:
            either.append({"_id": {"$in": held_ids}})
        query = {"organisation": organisation, "status": "waiting", "$or": either}
        return await self.cases.find(query, PASS_PROJECTION).to_list()

    async def waiting_organisations(self) -> list[str]:
        return [str(o) for o in await self.cases.distinct("organisation", {"status": "waiting"})]

    # --- per-organisation allocation state --------------------------------------------------

    async def known_organisations(self) -> list[str]:
        return [str(d["_id"]) async for d in self.state.find({}, {"_id": 1})]

    async def get_state(self, organisation: str) -> Document | None:
        return await self.state.find_one({"_id": organisation})

    async def capacity_may_grow(self, organisation: str) -> None:
        """Before capacity is freed: passes that place only new arrivals stop trusting that
        no waiting case fits until a full pass settles the organisation again."""
        await self.state.update_one({"_id": organisation}, {"$inc": {"version": 1}}, upsert=True)

    async def settle(self, organisation: str, version: int, today: date) -> None:
        """A full pass that started at `version` left nothing placeable: recorded only if no
        capacity was freed meanwhile."""
        change = {"$set": {"settled": version, "settled_on": today.isoformat()}}
        try:  # the first pass of an organisation creates its state
            await self.state.update_one(
                {"_id": organisation, "version": version}, change, upsert=not version
            )
        except DuplicateKeyError:
            pass  # the state exists at another version: capacity was freed meanwhile

    async def count_open(self, organisation: str) -> int:
        return await self.cases.count_documents(
            {"organisation": organisation, "status": "allocated"}
        )

    async def record_allocation(
        self, case_id: str, allocation: Document, event: Envelope
    ) -> Document | None:
        """Waiting -> allocated, with CaseAllocated in the outbox; once, by one claimant."""
        return await write_once(
            self.cases,
            {"_id": case_id, "status": "waiting"},
            {
                "$set": {"status": "allocated", "allocation": allocation},
                "$push": {"history": allocation},
            },
            events=[event],
        )

    async def record_reallocation(
        self, case_id: str, previous_version: int, allocation: Document, event: Envelope
    ) -> Document | None:
        """Move the allocation on, only if nobody else moved it since it was read."""
        return await write_once(
            self.cases,
            {"_id": case_id, "status": "allocated", "allocation.version": previous_version},
            {"$set": {"allocation": allocation}, "$push": {"history": allocation}},
            events=[event],
        )

    async def record_stage(
        self, case_id: str, worker_id: str, stage: str, hours: float, event_id: str
    ) -> Document | None:
        return await write_once(
            self.cases,
            {"_id": case_id, "status": "allocated", "allocation.worker_id": worker_id},
            {"$set": {"stage": stage, "allocation.stage": stage, "allocation.hours": hours}},
            event_id=event_id,
        )

    async def record_closure(
        self, case_id: str, fields: Document, event_id: str
    ) -> Document | None:
        return await write_once(
            self.cases,
            {"_id": case_id, "status": {"$in": ["waiting", "allocated"]}},
            {"$set": {**fields, "status": "closed"}},
            event_id=event_id,
        )

    # --- reviews --------------------------------------------------------------------------

    async def record_review(self, case_id: str, fields: Document, event_id: str) -> None:
        await write_once(
            self.reviews, {"_id": case_id}, {"$set": fields}, event_id=event_id, upsert=True
        )

    async def list_reviews(self, organisation: str) -> list[Document]:
        return await self.reviews.find({"organisation": organisation}).to_list()

    async def drop_review(self, case_id: str, organisation: str | None = None) -> bool:
        query: dict[str, Any] = {"_id": case_id}
        if organisation is not None:
            query["organisation"] = organisation
        result = await self.reviews.delete_one(query)
        return bool(result.deleted_count)
