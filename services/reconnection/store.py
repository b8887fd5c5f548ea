"""The service's own collections: reconnection cases (with their outbox) and the learning log.

A case is one document: the validated state under `state`, a `version` for optimistic
concurrency (HTTP actions and consumed events may race on one case), and the query fields
(organisation, phase, open) beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.reconnection.model import ReconnectionCase
from shared.events.envelope import Envelope
from shared.inbox import INBOX_FIELD
from shared.mongo import Collection, Document
from shared.outbox import insert_with_events, write_once
from shared.runtime import ServiceRuntime

CASES = "reconnection_cases"
LEARNING_LOG = "learning_log"
TIMERS = "reconnection_timers"


def _fields(case: ReconnectionCase) -> dict[str, Any]:
    return {
        "organisation": case.organisation,
        "phase": case.phase.value,
        "open": case.is_open,
        "last_progress_at": case.last_progress_at,
        "state": case.model_dump(mode="json"),
    }


class CaseStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.cases: Collection = runtime.collection(CASES, outbox=True)
        self.learning: Collection = runtime.collection(LEARNING_LOG)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.cases.create_index([("organisation", 1), ("phase", 1)])
        await self.learning.create_index([("organisation", 1), ("recorded_at", -1)])

    async def get(self, case_id: str) -> Document | None:
        return await self.cases.find_one({"_id": case_id})

    @staticmethod
    def load(document: Document) -> ReconnectionCase:
        return ReconnectionCase.model_validate(document["state"])

    @staticmethod
    def has_seen(document: Document, event_id: str) -> bool:
        return event_id in (document.get(INBOX_FIELD) or [])

    async def create(
        self, case: ReconnectionCase, events: Sequence[Envelope], event_id: str | None
    ) -> Document | None:
        document = {
            "_id": case.case_id,
            "version": 1,
            INBOX_FIELD: [event_id] if event_id else [],
            **_fields(case),
        }
        if not await insert_with_events(self.cases, document, events):
            return None
        return document

    async def save(
        self,
        case: ReconnectionCase,
        version: int,
        events: Sequence[Envelope],
        event_id: str | None,
    ) -> Document | None:
        """None when another writer got there first (or the event was already applied)."""
        return await write_once(
            self.cases,
            {"_id": case.case_id, "version": version},
            {"$set": {**_fields(case), "version": version + 1}},
            event_id=event_id,
            events=events,
        )

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
        cursor = self.cases.find(query).sort("_id", 1).skip(offset).limit(limit)
        return [self.load(doc) async for doc in cursor]

    # --- learning log ------------------------------------------------------------------

    async def add_learning(self, entry: dict[str, Any]) -> None:
        await self.learning.insert_one(entry)

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
