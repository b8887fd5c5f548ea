"""Transactional outbox without multi-document transactions.

A state change and the events it causes are written in ONE document update: the events go into
the document's `_outbox` map. The relay publishes them (acks=all) and only then removes them.
A crash between publish and removal republishes with the same event ids, and consumers'
inboxes drop the repeat: at-least-once on the wire, exactly-once in effect.

Every write stamps the document with a fresh `_outbox_token`; after publishing, one update
guarded on that token empties the outbox. If another write queued events meanwhile the token
differs, and only the published events are removed: the other write's flush sends its own.

Services never call this module: they stage changes on a unit of work
(`shared/unit_of_work.py`), which writes them with these fields and hands the events to the
one relay. A batch of documents that are only inserted can skip the clearing write
altogether: `OutboxRelay.insert_many` keeps their events in one outbox batch
(`shared/outbox_batches.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from shared.events.envelope import Envelope
from shared.ids import new_id, stable_id
from shared.kafka import EventPublisher
from shared.logging import get_logger
from shared.mongo import Collection, Document
from shared.outbox_batches import OutboxBatches
from shared.redaction import safe_error

OUTBOX = "_outbox"
PENDING = "_outbox_pending"
WRITTEN_AT = "_outbox_at"
LEASE = "_outbox_lease"
TOKEN = "_outbox_token"

log = get_logger(__name__)


def _wall_clock() -> datetime:
    # Relay timing is operational, so it uses real time even when the domain clock is injected.
    return datetime.now(UTC)


def outbox_update(envelopes: Sequence[Envelope], token: str | None = None) -> dict[str, Any]:
    """The `$set` that queues `envelopes`; writes of one batch may share a `token` so one
    `update_many` clears them all (`OutboxRelay.publish_written`)."""
    if not envelopes:
        return {}
    now = _wall_clock()
    base = time.time_ns()
    entries = {
        f"{OUTBOX}.{stable_id(e.id)}": {"seq": base + i, "envelope": e.model_dump(mode="json")}
        for i, e in enumerate(envelopes)
    }
    return {"$set": {**entries, PENDING: True, WRITTEN_AT: now, TOKEN: token or new_id()}}


def document_with_events(
    document: Document, events: Sequence[Envelope], token: str | None = None
) -> Document:
    """`document` to insert whole, with `events` queued in its outbox."""
    body = dict(document)
    for path, value in outbox_update(events, token).get("$set", {}).items():
        if path.startswith(f"{OUTBOX}."):
            body.setdefault(OUTBOX, {})[path.split(".", 1)[1]] = value
        else:
            body[path] = value
    return body


def merge_updates(*updates: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for update in updates:
        for operator, fields in update.items():
            merged.setdefault(operator, {}).update(fields)
    return merged


def pending_envelopes(document: Document) -> list[tuple[str, Envelope]]:
    entries = sorted((document.get(OUTBOX) or {}).items(), key=lambda kv: kv[1]["seq"])
    return [(key, Envelope.model_validate(value["envelope"])) for key, value in entries]


class RecentLongest:
    """The longest of the values noted in the last `window` seconds."""

    def __init__(self, window: float = 60.0, now: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._now = now
        self._values: deque[tuple[float, float]] = deque()

    def note(self, value: float) -> None:
        now = self._now()
        while self._values and self._values[-1][1] <= value:
            self._values.pop()  # a smaller value noted earlier can never be the longest again
        self._values.append((now, value))

    def longest(self) -> float:
        horizon = self._now() - self.window
        while self._values and self._values[0][0] < horizon:
            self._values.popleft()
        return self._values[0][1] if self._values else 0.0


class OutboxRelay:
    """Publishes pending events of the collections it watches.

    `flush` runs right after a write for low latency; `run` sweeps for anything a crash left
    behind, claiming each document with a lease so replicas do not all publish it at once.
    The sweep leaves alone what is younger than its grace, stretched to twice the longest
    write-to-clear time of this relay's own recent flushes: under load one intake batch of 500
    took 1.5 s to insert and 2.2 s to clear (timed), past a fixed 2 s grace, so the sweep would
    claim, one by one, documents their writer was still flushing.
    """

    def __init__(
        self,
        publisher: EventPublisher,
        collections: Iterable[Collection] = (),
        grace: timedelta = timedelta(seconds=2),
        lease: timedelta = timedelta(seconds=30),
        batches: OutboxBatches | None = None,
    ) -> None:
        self.publisher = publisher
        self.batches = batches
        self.collections: list[Collection] = list(collections)
        self.grace = grace
        self.lease = lease
        self.published = 0
        self.flush_times = RecentLongest()

    def sweep_grace(self) -> timedelta:
        return max(self.grace, timedelta(seconds=2 * self.flush_times.longest()))

    def _flushed(self, documents: Iterable[Document]) -> None:
        written = [
            doc[WRITTEN_AT]
            for doc in documents
            if doc.get(OUTBOX) and isinstance(doc.get(WRITTEN_AT), datetime)
        ]
        if written:
            self.flush_times.note((_wall_clock() - min(written)).total_seconds())

    def watch(self, collection: Collection) -> None:
        if all(c.full_name != collection.full_name for c in self.collections):
            self.collections.append(collection)

    async def flush_document(self, collection: Collection, document: Document) -> None:
        pending = await self._publish_pending(document)
        if pending is not None:
            await self._clear(collection, document, pending)

    async def _publish_pending(self, document: Document) -> list[tuple[str, Envelope]] | None:
        """Publish the document's outbox; None when there is nothing to publish or clear."""
        pending = pending_envelopes(document)
        if not pending and not document.get(PENDING):
            return None
        if pending:
            await self.publisher.publish_many(envelope for _, envelope in pending)
            self.published += len(pending)
        return pending

    async def _clear(
        self, collection: Collection, document: Document, pending: list[tuple[str, Envelope]]
    ) -> None:
        cleared = await collection.update_one(
            {"_id": document["_id"], TOKEN: document.get(TOKEN)}, _CLEAR
        )
        if pending and not cleared.matched_count:  # written again since: remove what was sent
            await collection.update_one(
                {"_id": document["_id"]},
                {"$unset": {f"{OUTBOX}.{key}": "" for key, _ in pending}},
            )

    async def publish_written(
        self, collection: Collection, ids: Sequence[Any], token: str, events: Sequence[Envelope]
    ) -> None:
        """Publish what a unit of work's updates queued (`token` marks its writes), then clear
        those outboxes in one update; failures are left for the sweeper."""
        if not events:
            return
        started = time.monotonic()
        try:
            await self._publish(list(events))
            await collection.update_many({"_id": {"$in": list(ids)}, TOKEN: token}, _CLEAR)
            self.flush_times.note(time.monotonic() - started)
        except Exception as exc:
            log.warning("outbox.flush_deferred", error=safe_error(exc), documents=len(ids))

    async def insert_many(
        self, collection: Collection, prepared: Sequence[tuple[Document, Sequence[Envelope]]]
    ) -> list[Document]:
        """Insert new documents and publish their events, the events kept meanwhile in one
        leased outbox batch (`shared.outbox_batches`) rather than in each document. Returns
        the documents inserted; an id that exists already is skipped with its events."""
        if self.batches is None:
            raise RuntimeError("this relay has no outbox batches collection")
        started = time.monotonic()
        written = await self.batches.insert(collection, prepared, self._publish)
        try:
            await self._publish(written.events)
            await self.batches.forget(written.batch_ids)
            self.flush_times.note(time.monotonic() - started)
        except Exception as exc:  # the inserts are safe; the sweeper publishes later
            log.warning(
                "outbox.flush_deferred", error=safe_error(exc), documents=len(written.inserted)
            )
            with contextlib.suppress(Exception):  # else the lease runs out on its own
                await self.batches.release(written)
        return written.inserted

    async def _publish(self, events: list[Envelope]) -> None:
        if events:
            await self.publisher.publish_many(events)
            self.published += len(events)

    async def flush(self, collection: Collection, document: Document | None) -> None:
        """Publish what one write queued; failures are left for the sweeper."""
        await (await self.publish_first(collection, document))()

    async def publish_first(
        self, collection: Collection, document: Document | None
    ) -> Callable[[], Awaitable[None]]:
        """Publish what one write queued now, and return the clearing of its outbox for the
        caller to run beside its next write (a unit of work's next collection) rather than
        before it: the events are out either way, and a clear that never runs only leaves
        them to the sweeper. Failures are left for the sweeper."""
        if document is None:
            return _nothing
        doc_id = str(document["_id"])
        try:
            pending = await self._publish_pending(document)
        except Exception as exc:  # the sweeper retries; the state change is already safe
            log.warning("outbox.flush_deferred", error=safe_error(exc), doc_id=doc_id)
            return _nothing
        if pending is None:
            return _nothing

        async def clear() -> None:
            try:
                await self._clear(collection, document, pending)
                self._flushed([document])
            except Exception as exc:  # published; the sweeper clears (and republishes)
                log.warning("outbox.flush_deferred", error=safe_error(exc), doc_id=doc_id)

        return clear

    async def sweep_once(self, limit: int = 200) -> int:
        """Publish events left pending past the grace period. Returns how many documents.

        Candidates are found with a plain read first, and only those are claimed (by `_id`):
        a claim is an update, and an update whose filter the database cannot narrow holds the
        collection's write lock while it reads (FerretDB), which would stall every writer each
        time a fresh batch sits in its grace period."""
        now = _wall_clock()
        grace = self.sweep_grace()
        handled = 0
        for collection in self.collections:
            if handled >= limit:
                break
            candidates = [
                doc["_id"]
                async for doc in collection.find(
                    {PENDING: True}, {"_id": 1, WRITTEN_AT: 1, LEASE: 1}
                )
                if _sweepable(doc, now, grace)
            ]
            for doc_id in candidates[: limit - handled]:
                document = await collection.find_one_and_update(
                    {
                        "_id": doc_id,
                        PENDING: True,
                        "$or": [{LEASE: {"$exists": False}}, {LEASE: {"$lte": now}}],
                    },
                    {"$set": {LEASE: now + self.lease}},
                    return_document=ReturnDocument.AFTER,
                )
                if document is None:
                    continue  # flushed, or claimed by another replica, meanwhile
                await self.flush_document(collection, document)
                handled += 1
        if self.batches is not None and handled < limit:
            for batch, owner in await self.batches.take_over_expired(limit - handled):
                await self._publish(await self.batches.events_to_recover(batch))
                await self.batches.forget([batch["_id"]], owner)
                handled += 1
        return handled

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception as exc:
                log.warning("outbox.sweep_failed", error=safe_error(exc))
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass


async def _nothing() -> None:
    return None


def _sweepable(doc: Document, now: datetime, grace: timedelta) -> bool:
    written, lease = doc.get(WRITTEN_AT), doc.get(LEASE)
    if written is None or written > now - grace:
        return False  # its writer is probably flushing it right now
    return lease is None or lease <= now


_CLEAR = {"$set": {OUTBOX: {}, PENDING: False}, "$unset": {LEASE: "", TOKEN: ""}}


async def ensure_outbox_index(collection: Collection) -> None:
    await collection.create_index([(PENDING, 1), (WRITTEN_AT, 1)])
