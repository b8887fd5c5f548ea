"""The support service's own collections; the only module that talks to MongoDB.

`cases` holds one document per case: the case, its assessment, plan, contacts, files,
reviews (a map keyed by review id, so one review is updated by path), escalation and closure.
Dates are ISO strings ("2026-03-30"), which sort and compare as dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.errors import BulkWriteError

from shared.bulk import duplicate_ids
from shared.events.envelope import Envelope
from shared.mongo import Collection, Document
from shared.outbox import insert_with_events, write_once
from shared.runtime import ServiceRuntime

OPEN = "open"
CLOSED = "closed"
CASES = "cases"
ORGANISATIONS = "organisation_settings"
TIMERS = "review_timers"
LIST_LIMIT = 500


class SupportStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.cases: Collection = runtime.collection(CASES, outbox=True)
        self.organisations: Collection = runtime.collection(ORGANISATIONS)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.cases.create_index([("organisation", 1), ("lead_worker_id", 1)])
        await self.cases.create_index([("organisation", 1), ("crisis_worker_id", 1)])
        await self.cases.create_index([("tenancy_id", 1), ("status", 1)])
        await self.cases.create_index([("organisation", 1), ("status", 1), ("next_review_on", 1)])
        await self.cases.create_index([("organisation", 1), ("status", 1), ("escalation_rank", 1)])

    # --- cases ----------------------------------------------------------------------------

    async def insert_case(self, document: Document, events: Sequence[Envelope] = ()) -> bool:
        return await insert_with_events(self.cases, document, events)

    async def insert_cases(self, documents: Sequence[Document]) -> None:
        """New cases without events, in one round trip; an id that exists is skipped (a
        redelivery: the case stands)."""
        if not documents:
            return
        try:
            await self.cases.insert_many(list(documents), ordered=False)
        except BulkWriteError as exc:
            duplicate_ids(exc)  # raises anything but a taken id

    async def get_many(self, case_ids: Iterable[str]) -> list[Document]:
        return await self.cases.find({"_id": {"$in": list(case_ids)}}).to_list(None)

    async def get(self, case_id: str, organisation: str | None = None) -> Document | None:
        query: dict[str, Any] = {"_id": case_id}
        if organisation is not None:
            query["organisation"] = organisation
        return await self.cases.find_one(query)

    async def update(
        self,
        case_id: str,
        guard: dict[str, Any],
        update: dict[str, Any],
        *,
        event_id: str | None = None,
        events: Sequence[Envelope] = (),
    ) -> Document | None:
        """One atomic change of a case (with its events); None if the guard did not match."""
        return await write_once(
            self.cases, {"_id": case_id, **guard}, update, event_id=event_id, events=events
        )

    async def mark_notified(
        self, case_id: str, review_id: str, notice: str, on: str | None
    ) -> None:
        """Shows on the case that a review's reminder or due notice went out."""
        await self.cases.update_one(
            {"_id": case_id}, {"$set": {f"reviews.{review_id}.notified.{notice}": on}}
        )

    async def tenancies_with_open_cases(self, tenancy_ids: Iterable[str]) -> set[str]:
        ids = list(set(tenancy_ids))
        cursor = self.cases.find(
            {"tenancy_id": {"$in": ids}, "status": OPEN}, {"tenancy_id": 1, "_id": 0}
        )
        return {doc["tenancy_id"] async for doc in cursor}

    async def open_cases_for_tenancy(self, tenancy_id: str) -> list[Document]:
        return await self.cases.find({"tenancy_id": tenancy_id, "status": OPEN}).to_list(LIST_LIMIT)

    async def caseload(
        self, organisation: str, worker_id: str, status: str | None
    ) -> list[Document]:
        query: dict[str, Any] = {
            "organisation": organisation,
            "$or": [{"lead_worker_id": worker_id}, {"crisis_worker_id": worker_id}],
        }
        if status:
            query["status"] = status
        return await self.cases.find(query).sort("_id", 1).to_list(LIST_LIMIT)

    async def with_reviews_due_by(
        self, organisation: str, last_day: str, worker_id: str | None
    ) -> list[Document]:
        query: dict[str, Any] = {
            "organisation": organisation,
            "status": OPEN,
            "next_review_on": {"$lte": last_day},
        }
        if worker_id:
            query["lead_worker_id"] = worker_id
        return await self.cases.find(query).sort("next_review_on", 1).to_list(LIST_LIMIT)

    async def escalated(self, organisation: str) -> list[Document]:
        query = {"organisation": organisation, "status": OPEN, "escalation_rank": {"$gte": 0}}
        return await self.cases.find(query).sort("escalation_rank", -1).to_list(LIST_LIMIT)

    async def open_cases(self) -> list[Document]:
        return await self.cases.find({"status": OPEN}).to_list(None)

    # --- organisation settings -------------------------------------------------------------

    async def crisis_worker(self, organisation: str) -> str | None:
        settings = await self.organisations.find_one({"_id": organisation})
        return settings.get("crisis_worker_id") if settings else None

    async def designate_crisis_worker(self, organisation: str, worker_id: str | None) -> None:
        await self.organisations.update_one(
            {"_id": organisation}, {"$set": {"crisis_worker_id": worker_id}}, upsert=True
        )
