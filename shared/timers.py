"""Timers that fire exactly once across replicas and restarts (reviews, reminders, packs).

A timer is a document with a due time. When it is due, the scheduler asks the service what
events it causes, then claims the timer and queues those events in ONE update guarded by
`fired: false` (a unit of work, `shared.unit_of_work`): only one replica's claim can
succeed, and a restart finds unfired timers still there. No TTL indexes or change streams are
involved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.bulk import Upsert, bulk_upsert
from shared.clock import Clock
from shared.events.envelope import Envelope
from shared.logging import get_logger
from shared.mongo import Collection, Document
from shared.outbox import OutboxRelay
from shared.redaction import safe_error
from shared.repository import Repository
from shared.unit_of_work import UnitOfWork

FireHandler = Callable[[Document], Awaitable[Sequence[Envelope]]]

log = get_logger(__name__)


@dataclass(frozen=True)
class Timer:
    timer_id: str
    due_at: datetime
    kind: str
    subject: str
    payload: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {
            "due_at": self.due_at,
            "kind": self.kind,
            "subject": self.subject,
            "payload": self.payload,
        }


class TimerRepository(Repository[Timer]):
    def to_document(self, model: Timer) -> Document:
        return model.fields()

    def from_document(self, document: Document) -> Timer:
        return Timer(
            document["_id"],
            document["due_at"],
            document["kind"],
            document["subject"],
            document.get("payload") or {},
        )


class TimerStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("fired", 1), ("due_at", 1)])
        await self.collection.create_index([("subject", 1)])

    async def schedule(
        self, timer_id: str, due_at: datetime, kind: str, subject: str, **payload: Any
    ) -> None:
        """Create or move a timer; a timer that already fired is left alone."""
        try:
            await self.collection.update_one(
                {"_id": timer_id, "fired": {"$ne": True}},
                {
                    "$set": {
                        "due_at": due_at,
                        "kind": kind,
                        "subject": subject,
                        "payload": payload,
                    },
                    "$setOnInsert": {"fired": False},
                },
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # it fired already: scheduling is idempotent

    async def schedule_many(self, timers: Sequence[Timer]) -> None:
        """`schedule` for many timers in a few round trips (`shared.bulk`: FerretDB cannot
        take a bulk of guarded upserts)."""
        await bulk_upsert(
            self.collection,
            [
                Upsert(
                    timer.timer_id,
                    {"$set": timer.fields()},
                    {**timer.fields(), "fired": False},
                    guard={"fired": {"$ne": True}},
                )
                for timer in timers
            ],
        )

    async def cancel_for(self, subject: str) -> int:
        result = await self.collection.update_many(
            {"subject": subject, "fired": False}, {"$set": {"fired": True, "cancelled": True}}
        )
        return int(result.modified_count)


class Scheduler:
    def __init__(
        self,
        store: TimerStore,
        clock: Clock,
        relay: OutboxRelay,
        handlers: dict[str, FireHandler],
    ) -> None:
        self.store = store
        self.clock = clock
        self.relay = relay
        self.handlers = handlers
        self.timers = TimerRepository(store.collection, Timer, "timer_id")
        relay.watch(store.collection)

    async def fire_due(self, limit: int = 500) -> int:
        """Fire every timer due by the clock's now. Returns how many this replica fired."""
        now = self.clock.now()
        due = (
            self.store.collection.find({"fired": False, "due_at": {"$lte": now}})
            .sort("due_at", 1)
            .limit(limit)
        )
        fired = 0
        async for timer in due:
            handler = self.handlers.get(timer["kind"])
            if handler is None:
                log.error("timer.unknown_kind", timer_id=timer["_id"], kind=timer["kind"])
                continue
            events = await handler(timer)
            uow = UnitOfWork(self.relay)
            uow.change(
                self.timers,
                timer["_id"],
                {"$set": {"fired": True, "fired_at": now}},
                events,
                guard={"fired": False},
            )
            if timer["_id"] in (await uow.commit()).written:
                fired += 1
        return fired

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                await self.fire_due()
            except Exception as exc:
                log.warning("scheduler.failed", error=safe_error(exc))
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
