"""The support service's own collections; the only module that talks to MongoDB.

`cases` holds one document per case in the layout of `case.SupportCase` (its id is the
document's `_id`), read as typed models through `SupportCaseRepository` (`store.repository`).
Every change is staged on a `UnitOfWork` (`store.unit()`, publishing through the service's one
relay) by the actions, mostly as atomic operator updates guarded on what the action relies on, so a
contact pushed by one caseworker never races a review completed by another.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.support.case import CLOSED, OPEN, SupportCase
from shared.mongo import Collection, Document
from shared.repository import Loaded, Repository, bson_safe
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

__all__ = ["CLOSED", "OPEN", "SupportCaseRepository", "SupportStore"]

CASES = "cases"
ORGANISATIONS = "organisation_settings"
TIMERS = "review_timers"
LIST_LIMIT = 500


class SupportCaseRepository(Repository[SupportCase]):
    """The case id is the document's `_id`, not stored twice."""

    def to_document(self, model: SupportCase) -> Document:
        document: Document = bson_safe(model.model_dump(exclude={"case_id"}))
        return document

    def from_document(self, document: Document) -> SupportCase:
        return SupportCase.model_validate({**document, "case_id": document["_id"]})


class SupportStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.relay = runtime.relay
        self.cases: Collection = runtime.collection(CASES, outbox=True)
        self.repository = SupportCaseRepository(self.cases, SupportCase, "case_id")
        self.organisations: Collection = runtime.collection(ORGANISATIONS)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        # A worker's cases by the worker alone: FerretDB narrows by one field's index, and
        # (organisation, worker) would narrow by organisation only (2,000 cases: 86 -> 19 ms).
        await self.cases.create_index([("lead_worker_id", 1)])
        await self.cases.create_index([("crisis_worker_id", 1)])
        await self.cases.create_index([("team_id", 1)])
        await self.cases.create_index([("tenancy_id", 1), ("status", 1)])
        await self.cases.create_index([("organisation", 1), ("status", 1), ("next_review_on", 1)])
        await self.cases.create_index([("organisation", 1), ("status", 1), ("escalation_rank", 1)])

    def unit(self) -> UnitOfWork:
        """A unit of work publishing through this service's one relay."""
        return UnitOfWork(self.relay)

    # --- cases ----------------------------------------------------------------------------

    async def get(self, case_id: str) -> Document | None:
        """The stored document as it is (what tests and operators look at); the service
        itself reads cases as models (`case`, `load`)."""
        return await self.cases.find_one({"_id": case_id})

    async def load(self, case_id: str) -> Loaded[SupportCase] | None:
        return await self.repository.get(case_id)

    async def case(self, case_id: str, organisation: str | None = None) -> SupportCase | None:
        """The case, if it is the organisation's (when one is named)."""
        where = {} if organisation is None else {"organisation": organisation}
        loaded = await self.repository.get(case_id, **where)
        return None if loaded is None else loaded.model

    async def cases_by_id(self, case_ids: Iterable[str]) -> list[SupportCase]:
        return [loaded.model for loaded in (await self.repository.get_many(case_ids)).values()]

    async def open_cases_for_tenancies(
        self, tenancy_ids: Iterable[str]
    ) -> dict[str, list[SupportCase]]:
        """The open cases of each tenancy, of any organisation, in one read."""
        ids = sorted(set(tenancy_ids))
        found: dict[str, list[SupportCase]] = {}
        if ids:
            for case in await self._models({"tenancy_id": {"$in": ids}, "status": OPEN}):
                found.setdefault(case.tenancy_id or "", []).append(case)
        return found

    async def caseload(
        self, organisation: str, worker_id: str, status: str | None
    ) -> list[SupportCase]:
        """Cases led by the worker, then those they hold as crisis worker: two equality queries
        rather than one `$or`, which FerretDB would answer by reading the whole organisation."""
        found: dict[str, SupportCase] = {}
        for role in ("lead_worker_id", "crisis_worker_id"):
            query: dict[str, Any] = {"organisation": organisation, role: worker_id}
            if status:
                query["status"] = status
            for case in await self._models(query, sort=[("_id", 1)], limit=LIST_LIMIT):
                found.setdefault(case.case_id, case)
        return sorted(found.values(), key=lambda case: case.case_id)[:LIST_LIMIT]

    async def with_reviews_due_by(
        self,
        organisation: str,
        last_day: str,
        worker_id: str | None,
        team_ids: list[str] | None = None,
    ) -> list[SupportCase]:
        query: dict[str, Any] = {
            "organisation": organisation,
            "status": OPEN,
            "next_review_on": {"$lte": last_day},
        }
        if worker_id:
            query["lead_worker_id"] = worker_id
        if team_ids:
            query["team_id"] = {"$in": team_ids}
        return await self._models(query, sort=[("next_review_on", 1)], limit=LIST_LIMIT)

    async def escalated(self, organisation: str) -> list[SupportCase]:
        query = {"organisation": organisation, "status": OPEN, "escalation_rank": {"$gte": 0}}
        return await self._models(query, sort=[("escalation_rank", -1)], limit=LIST_LIMIT)

    async def open_cases(self) -> list[SupportCase]:
        return await self._models({"status": OPEN})

    async def cases_of_person(
        self,
        organisation: str,
        person_id: str,
        case_ids: Iterable[str] = (),
        only_cases: Iterable[str] | None = None,
    ) -> list[SupportCase]:
        """The organisation's cases of the person (by person id or one of `case_ids`), or,
        with `only_cases`, exactly those of them (a privacy request, privacy.py)."""
        if only_cases is not None:
            query: Document = {"organisation": organisation, "_id": {"$in": list(only_cases)}}
        else:
            by_id: Document = {"_id": {"$in": list(case_ids)}}
            query = {"organisation": organisation, "$or": [{"person_id": person_id}, by_id]}
        return await self._models(query, sort=[("_id", 1)])

    async def _models(
        self, query: Document, *, sort: list[tuple[str, int]] | None = None, limit: int = 0
    ) -> list[SupportCase]:
        return [
            loaded.model for loaded in await self.repository.find(query, sort=sort, limit=limit)
        ]

    # --- organisation settings -------------------------------------------------------------

    async def crisis_worker(self, organisation: str) -> str | None:
        settings = await self.organisations.find_one({"_id": organisation})
        return settings.get("crisis_worker_id") if settings else None

    async def crisis_workers(self, organisations: Iterable[str]) -> dict[str, str | None]:
        """`crisis_worker` for many organisations in one read."""
        ids = sorted(set(organisations))
        if not ids:
            return {}
        cursor = self.organisations.find({"_id": {"$in": ids}})
        return {str(doc["_id"]): doc.get("crisis_worker_id") async for doc in cursor}

    async def designate_crisis_worker(self, organisation: str, worker_id: str | None) -> None:
        await self.organisations.update_one(
            {"_id": organisation}, {"$set": {"crisis_worker_id": worker_id}}, upsert=True
        )
