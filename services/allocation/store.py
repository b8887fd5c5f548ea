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
- `locks`: see locks.py; capacity and case-entry writes are made holding them.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument

from services.allocation.locks import Locks
from shared.events.envelope import Envelope
from shared.ids import stable_id
from shared.mongo import Collection, Document
from shared.outbox import write_once
from shared.runtime import ServiceRuntime


def hours_key(case_id: str) -> str:
    # Case ids are not safe as field names (dots); a hash of them is.
    return f"case_hours.{stable_id(case_id)}"


class AllocationStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.teams: Collection = runtime.collection("teams")
        self.workers: Collection = runtime.collection("caseworkers")
        self.cases: Collection = runtime.collection("cases", outbox=True)
        self.reviews: Collection = runtime.collection("reviews")
        self.locks = Locks(runtime.collection("locks"))
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

    async def claim(self, worker_id: str, case_id: str, hours: float) -> Document | None:
        """Take `hours` of the worker's free hours and one caseload slot for the case, only if
        they are there and the worker does not hold the case already. Atomic on MongoDB; on
        FerretDB only while holding the worker's lock (see locks.py)."""
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
                "$set": {hours_key(case_id): hours},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def release(self, worker: Document, case_id: str) -> Document | None:
        """Give back the hours the worker holds for the case; once only. Hold the lock."""
        hours = float((worker.get("case_hours") or {}).get(stable_id(case_id), 0.0))
        return await self.workers.find_one_and_update(
            {"_id": worker["_id"], "cases": case_id},
            {
                "$inc": {"free_hours": hours, "open_cases": -1, "free_slots": 1},
                "$pull": {"cases": case_id},
                "$unset": {hours_key(case_id): ""},
            },
            return_document=ReturnDocument.AFTER,
        )

    async def change_hours(self, worker_id: str, case_id: str, hours: float) -> float | None:
        """Set the worker's hours for the case to `hours` if the difference is free; returns
        the hours now committed (unchanged if not), None if the worker does not hold it.
        Idempotent: a repeat finds the hours already set. Hold the worker's lock."""
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

    async def enter_waiting_list(
        self, case_id: str, fields: Document, event_id: str
    ) -> Document | None:
        """A new waiting entry; a case already known (by any earlier ReferralAssessed) is
        left as it is, so a repeat never queues or allocates it twice."""
        return await write_once(
            self.cases,
            {"_id": case_id, "status": {"$exists": False}},
            {"$set": {**fields, "status": "waiting"}},
            event_id=event_id,
            upsert=True,
        )

    async def add_risk_signal(
        self, case_id: str, signal: Document, event_id: str, create: bool
    ) -> Document | None:
        """Record a TenancyAtRisk on the case; `create` keeps it for a case whose
        ReferralAssessed has not arrived yet (the prevention referral the alert raised)."""
        return await write_once(
            self.cases,
            {"_id": case_id},
            {"$push": {"risk_signals": signal}},
            event_id=event_id,
            upsert=create,
        )

    async def get_case(self, case_id: str, organisation: str | None = None) -> Document | None:
        query: dict[str, Any] = {"_id": case_id, "status": {"$exists": True}}
        if organisation is not None:
            query["organisation"] = organisation
        return await self.cases.find_one(query)

    async def waiting(self, organisation: str) -> list[Document]:
        return await self.cases.find({"organisation": organisation, "status": "waiting"}).to_list()

    async def waiting_organisations(self) -> list[str]:
        return [str(o) for o in await self.cases.distinct("organisation", {"status": "waiting"})]

    async def count_open(self, organisation: str) -> int:
        return await self.cases.count_documents(
            {"organisation": organisation, "status": "allocated"}
        )

    async def record_allocation(
        self, case_id: str, allocation: Document, event: Envelope
    ) -> Document | None:
        """Waiting -> allocated, with CaseAllocated in the outbox. Call holding the case lock."""
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
        self, case_id: str, stage: str, hours: float, event_id: str
    ) -> Document | None:
        return await write_once(
            self.cases,
            {"_id": case_id, "status": "allocated"},
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
