"""The events of a bulk insert, kept in one document beside it instead of in every new one.

Queued in each inserted document (`shared.outbox`), a batch's events cost a second write per
document to clear them, and FerretDB rewrites a whole document to do it: under an arrears
batch that clearing was about 70 % of the referral intake's time. For documents that are only
being inserted there is a cheaper order:

1. one `outbox_batches` document holds every event of the batch, keyed by the id of the
   document each belongs to (as one JSON string: the database never looks inside it), and a
   lease: the writer's id and a time until which the batch is the writer's alone;
2. the documents are inserted in chunks, each carrying the batch's id in `_outbox_batch`; the
   writer renews its lease before every chunk;
3. the events of the documents this batch inserted are published (acks=all);
4. the batch document is deleted.

The sweeper touches a batch only when its lease has run out (the writer crashed, or stalled a
whole lease between two chunks): it takes the lease over, publishes the events of exactly the
documents that carry the batch's id, and deletes it. So a batch is never recovered while its
writer is still inserting it. A writer that finds its lease taken publishes what it inserted so
far itself and goes on under a new batch: both may publish a document's events, none is lost.
At-least-once on the wire, as the in-document outbox, and consumers' inboxes drop the repeat.

A chunk must land within the lease it was started under (a chunk of 500 takes ~1.5 s here
under load; the lease is 30 s), which is why chunks are bounded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from shared.bulk import duplicate_ids
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.mongo import Collection, Document

BATCH_FIELD = "_outbox_batch"
LEASE_UNTIL = "lease_until"
OWNER = "owner"

Prepared = Sequence[tuple[Document, Sequence[Envelope]]]
Publish = Callable[[list[Envelope]], Awaitable[None]]


def _now() -> datetime:
    # Leases are operational, so they use real time even when the domain clock is injected.
    return datetime.now(UTC)


@dataclass
class BatchWrite:
    """What one `insert` did: the documents it inserted and their events, still to publish,
    and the batch ids to forget once they are published."""

    owner: str
    inserted: list[Document] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)
    batch_ids: list[str] = field(default_factory=list)


class OutboxBatches:
    def __init__(
        self,
        collection: Collection,
        lease: timedelta = timedelta(seconds=30),
        chunk_size: int = 500,
    ) -> None:
        self.collection = collection
        self.lease = lease
        self.chunk_size = chunk_size

    async def insert(self, target: Collection, prepared: Prepared, publish: Publish) -> BatchWrite:
        """Steps 1-2: the documents not there yet are inserted (an id that exists is skipped
        with its events). `publish` is used only if the sweeper took the lease meanwhile."""
        owner = new_id()
        written = BatchWrite(owner)
        if not prepared:
            return written
        batch_id = await self._open(target, prepared, owner)
        written.batch_ids.append(batch_id)
        under_batch: list[Envelope] = []  # the events of what this batch id inserted
        for start in range(0, len(prepared), self.chunk_size):
            chunk = prepared[start : start + self.chunk_size]
            if not await self._renew(batch_id, owner):
                # The sweeper judged us gone and may have missed our last chunk: send what
                # this batch inserted ourselves, and carry on under a batch of our own again.
                await publish(under_batch)
                under_batch = []
                batch_id = await self._open(target, prepared[start:], owner)
                written.batch_ids.append(batch_id)
            inserted, events = await self._insert_chunk(target, chunk, batch_id)
            written.inserted.extend(inserted)
            written.events.extend(events)
            under_batch.extend(events)
        return written

    async def _open(self, target: Collection, prepared: Prepared, owner: str) -> str:
        batch_id = new_id()
        events = {
            str(doc["_id"]): [e.model_dump(mode="json") for e in envelopes]
            for doc, envelopes in prepared
        }
        now = _now()
        await self.collection.insert_one(
            {
                "_id": batch_id,
                "collection": target.name,
                "at": now,
                OWNER: owner,
                LEASE_UNTIL: now + self.lease,
                "events": json.dumps(events, separators=(",", ":")),
            }
        )
        return batch_id

    async def _renew(self, batch_id: str, owner: str) -> bool:
        renewed = await self.collection.update_one(
            {"_id": batch_id, OWNER: owner}, {"$set": {LEASE_UNTIL: _now() + self.lease}}
        )
        return renewed.matched_count == 1

    @staticmethod
    async def _insert_chunk(
        target: Collection, chunk: Prepared, batch_id: str
    ) -> tuple[list[Document], list[Envelope]]:
        documents = [{**doc, BATCH_FIELD: batch_id} for doc, _ in chunk]
        try:
            await target.insert_many(documents, ordered=False)
            inserted = documents
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)
            inserted = [d for d in documents if d["_id"] not in taken]
        inserted_ids = {d["_id"] for d in inserted}
        events = [e for doc, envelopes in chunk if doc["_id"] in inserted_ids for e in envelopes]
        return inserted, events

    async def forget(self, batch_ids: Sequence[str], owner: str | None = None) -> None:
        """Step 4, once the events are published (by the writer, or by the sweeper that took
        the lease: `owner`)."""
        query: dict[str, Any] = {"_id": {"$in": list(batch_ids)}}
        if owner is not None:
            query[OWNER] = owner
        await self.collection.delete_many(query)

    async def release(self, written: BatchWrite) -> None:
        """The writer gives its batches up (it could not publish): the sweeper may take them
        at once rather than when the lease runs out."""
        await self.collection.update_many(
            {"_id": {"$in": written.batch_ids}, OWNER: written.owner},
            {"$set": {LEASE_UNTIL: _now()}},
        )

    async def take_over_expired(self, limit: int = 50) -> list[tuple[Document, str]]:
        """Batches whose lease ran out, each now leased to the caller (with its owner id)."""
        now = _now()
        expired = [
            doc["_id"]
            async for doc in self.collection.find({LEASE_UNTIL: {"$lte": now}}, {"_id": 1})
        ]
        taken: list[tuple[Document, str]] = []
        for batch_id in expired[:limit]:
            owner = new_id()
            batch = await self.collection.find_one_and_update(
                {"_id": batch_id, LEASE_UNTIL: {"$lte": now}},
                {"$set": {OWNER: owner, LEASE_UNTIL: now + self.lease}},
                return_document=ReturnDocument.AFTER,
            )
            if batch is not None:  # else renewed by its writer, or taken by another replica
                taken.append((batch, owner))
        return taken

    async def events_to_recover(self, batch: Document) -> list[Envelope]:
        """The events of the documents this batch did insert."""
        events: dict[str, list[dict[str, Any]]] = json.loads(batch["events"])
        target = self.collection.database[batch["collection"]]
        query = {"_id": {"$in": list(events)}, BATCH_FIELD: batch["_id"]}
        inserted = [str(d["_id"]) async for d in target.find(query, {"_id": 1})]
        return [Envelope.model_validate(e) for doc_id in inserted for e in events[doc_id]]
