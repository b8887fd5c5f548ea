"""The privacy service's collections: requests (with their outboxes), the subject-access
answers that make up bundles, retention schedules, and the retention timers (`shared.timers`).

Lists are top-level equality reads (`organisation`, `person_id`, each indexed), which FerretDB
narrows in SQL."""

from __future__ import annotations

from typing import Any

from services.privacy.model import AccessRequest, Contribution, ErasureRecord, ScheduleRecord
from shared.mongo import Collection
from shared.repository import Loaded, Repository
from shared.runtime import ServiceRuntime

ACCESS_REQUESTS = "access_requests"
ANSWERS = "access_answers"
ERASURE_REQUESTS = "erasure_requests"
SCHEDULES = "retention_schedules"
TIMERS = "retention_timers"
LIST_LIMIT = 500


class PrivacyStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.access: Collection = runtime.collection(ACCESS_REQUESTS, outbox=True)
        self.answers: Collection = runtime.collection(ANSWERS)
        self.erasures: Collection = runtime.collection(ERASURE_REQUESTS, outbox=True)
        self.schedules_collection: Collection = runtime.collection(SCHEDULES)
        self.access_requests = Repository(self.access, AccessRequest, "request_id")
        self.contributions = Repository(self.answers, Contribution, "contribution_id")
        self.erasure_requests = Repository(self.erasures, ErasureRecord, "request_id")
        self.schedules = Repository(self.schedules_collection, ScheduleRecord, "organisation")
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        for collection in (self.access, self.erasures, self.answers):
            await collection.create_index([("organisation", 1)])
            await collection.create_index([("person_id", 1)])
        await self.answers.create_index([("request_id", 1)])

    async def access_request(
        self, request_id: str, organisation: str
    ) -> Loaded[AccessRequest] | None:
        return await self.access_requests.get(request_id, organisation=organisation)

    async def access_requests_of(
        self, organisation: str, person_id: str | None = None
    ) -> list[AccessRequest]:
        query: dict[str, Any] = {"organisation": organisation}
        if person_id:
            query["person_id"] = person_id
        found = await self.access_requests.find(
            query, sort=[("requested_at", -1)], limit=LIST_LIMIT
        )
        return [loaded.model for loaded in found]

    async def contributions_of(self, request_id: str) -> list[Contribution]:
        found = await self.contributions.find({"request_id": request_id})
        return sorted((c.model for c in found), key=lambda c: c.service)

    async def erasure_request(
        self, request_id: str, organisation: str
    ) -> Loaded[ErasureRecord] | None:
        return await self.erasure_requests.get(request_id, organisation=organisation)

    async def erasure_requests_of(
        self, organisation: str, person_id: str | None = None
    ) -> list[ErasureRecord]:
        query: dict[str, Any] = {"organisation": organisation}
        if person_id:
            query["person_id"] = person_id
        found = await self.erasure_requests.find(
            query, sort=[("requested_at", -1)], limit=LIST_LIMIT
        )
        return [loaded.model for loaded in found]

    async def schedule(self, organisation: str) -> Loaded[ScheduleRecord] | None:
        return await self.schedules.get(organisation)

    async def forget_bundles(self, organisation: str, person_id: str) -> int:
        """Delete the stored answers (the bundles) about a person; the requests stay."""
        result = await self.answers.delete_many(
            {"organisation": organisation, "person_id": person_id}
        )
        return int(result.deleted_count)
