"""The service's own collections: reconnection cases and the learning log (each with its
outbox), the presentation packs generated (their PDFs) and each organisation's service area.

A case is one document: the validated state under `state`, a `version` for optimistic
concurrency (HTTP actions and consumed events may race on one case), and the query fields
(organisation, phase, open) beside it. Cases are read as typed models through
`CaseRepository` and saved through the shared unit of work (`ReconnectionService.apply`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.reconnection.model import PackDocument, ReconnectionCase
from services.reconnection.service_area import ServiceArea
from services.reconnection.views import LearningEntry, learning_entry
from shared.mongo import Collection, Document
from shared.repository import Loaded, Repository
from shared.runtime import ServiceRuntime

CASES = "reconnection_cases"
LEARNING_LOG = "learning_log"
TIMERS = "reconnection_timers"
SERVICE_AREAS = "service_areas"
PRESENTATION_PACKS = "presentation_packs"


class CaseRepository(Repository[ReconnectionCase]):
    """The validated case under `state`, its query fields beside it."""

    def to_document(self, model: ReconnectionCase) -> Document:
        return {
            "organisation": model.organisation,
            "phase": model.phase.value,
            "open": model.is_open,
            "last_progress_at": model.last_progress_at,
            "state": model.model_dump(mode="json"),
        }

    def from_document(self, document: Document) -> ReconnectionCase:
        return ReconnectionCase.model_validate(document["state"])


class LearningRepository(Repository[LearningEntry]):
    """A learning-log entry: its id is the document's `_id`, `recorded_at` a BSON date (the
    log is listed by it), the rest as JSON; stored with the event it causes (its outbox)."""

    def to_document(self, model: LearningEntry) -> Document:
        fields = model.model_dump(mode="json", exclude={"id", "recorded_at"})
        return {**fields, "recorded_at": model.recorded_at}

    def from_document(self, document: Document) -> LearningEntry:
        return learning_entry(document)


class CaseStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.cases: Collection = runtime.collection(CASES, outbox=True)
        self.repository = CaseRepository(self.cases, ReconnectionCase, "case_id")
        self.learning: Collection = runtime.collection(LEARNING_LOG, outbox=True)
        self.learning_log = LearningRepository(self.learning, LearningEntry, "id")
        self.service_areas: Collection = runtime.collection(SERVICE_AREAS)
        self.packs: Collection = runtime.collection(PRESENTATION_PACKS)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.cases.create_index([("organisation", 1), ("phase", 1)])
        await self.learning.create_index([("organisation", 1), ("recorded_at", -1)])
        await self.packs.create_index([("case_id", 1)])

    async def get(self, case_id: str) -> Loaded[ReconnectionCase] | None:
        return await self.repository.get(case_id)

    async def list_cases(
        self,
        organisation: str,
        phase: str | None,
        open_only: bool | None,
        no_progress_since: datetime | None,
        limit: int,
        offset: int,
        reach: dict[str, Any] | None = None,
    ) -> list[ReconnectionCase]:
        query: dict[str, Any] = {"organisation": organisation, **(reach or {})}
        if phase:
            query["phase"] = phase
        if open_only is not None:
            query["open"] = open_only
        if no_progress_since is not None:
            query["last_progress_at"] = {"$lte": no_progress_since}
        found = await self.repository.find(query, sort=[("_id", 1)], skip=offset, limit=limit)
        return [loaded.model for loaded in found]

    async def cases_of_person(
        self,
        organisation: str,
        person_id: str,
        case_ids: list[str] | tuple[str, ...] = (),
        only_cases: list[str] | None = None,
    ) -> list[ReconnectionCase]:
        """The organisation's cases of the person (by person id or one of `case_ids`), or,
        with `only_cases`, exactly those (a privacy request, privacy.py)."""
        if only_cases is not None:
            query: dict[str, Any] = {"organisation": organisation, "_id": {"$in": only_cases}}
        else:
            either = [{"state.person_id": person_id}, {"_id": {"$in": list(case_ids)}}]
            query = {"organisation": organisation, "$or": either}
        return [loaded.model for loaded in await self.repository.find(query, sort=[("_id", 1)])]

    # --- presentation packs (Phase 5): each generated pack kept, its PDF with it -----------

    async def keep_pack(
        self, organisation: str, case_id: str, document: PackDocument, pdf: bytes
    ) -> tuple[PackDocument, bytes]:
        """Keep the pack as first generated; a second generation of the same one (a timer
        fired again after a crash) gets the kept one back, so what was sent is what is kept."""
        kept = await self.pack(document.document_id)
        if kept is not None:
            return kept
        record = {
            "_id": document.document_id,
            "organisation": organisation,
            "case_id": case_id,
            "document": document.model_dump(mode="json"),
            "pdf": pdf,
        }
        try:
            await self.packs.insert_one(record)
        except DuplicateKeyError:
            kept = await self.pack(document.document_id)
            assert kept is not None
            return kept
        return document, pdf

    async def pack(self, document_id: str) -> tuple[PackDocument, bytes] | None:
        found = await self.packs.find_one({"_id": document_id})
        if found is None:
            return None
        return PackDocument.model_validate(found["document"]), bytes(found["pdf"])

    async def packs_of_cases(self, organisation: str, case_ids: list[str]) -> list[Document]:
        """Every kept pack of the cases (a privacy request)."""
        query = {"organisation": organisation, "case_id": {"$in": case_ids}}
        return [doc async for doc in self.packs.find(query).sort("_id", 1)]

    async def delete_packs(self, organisation: str, case_ids: list[str]) -> int:
        query = {"organisation": organisation, "case_id": {"$in": case_ids}}
        return (await self.packs.delete_many(query)).deleted_count

    # --- the organisation's service area (Tool 3, criterion 1) ---------------------------

    async def service_area(self, organisation: str) -> ServiceArea | None:
        document = await self.service_areas.find_one({"_id": organisation})
        return None if document is None else ServiceArea.model_validate(document["area"])

    async def put_service_area(self, organisation: str, area: ServiceArea) -> None:
        await self.service_areas.update_one(
            {"_id": organisation}, {"$set": {"area": area.model_dump(mode="json")}}, upsert=True
        )

    # --- learning log ------------------------------------------------------------------

    async def learning_entries(
        self, organisation: str, case_id: str | None, since: datetime | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"organisation": organisation}
        if case_id:
            query["case_id"] = case_id
        if since:
            query["recorded_at"] = {"$gte": since}
        cursor = self.learning.find(query).sort("recorded_at", -1).limit(limit)
        return [doc async for doc in cursor]

    async def learning_of_cases(self, organisation: str, case_ids: list[str]) -> list[Document]:
        """The learning-log entries that name one of the cases (a privacy request)."""
        query = {"organisation": organisation, "case_id": {"$in": case_ids}}
        return [doc async for doc in self.learning.find(query).sort("_id", 1)]

    async def rewrite_learning(self, fields_by_id: dict[str, Document]) -> None:
        """Set `fields` on each learning-log entry (erasure); setting them again is harmless."""
        for entry_id, fields in fields_by_id.items():
            await self.learning.update_one({"_id": entry_id}, {"$set": fields})
