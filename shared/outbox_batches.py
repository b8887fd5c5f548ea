"""The events of a bulk insert, kept in one document beside it instead of in every new one.

Queued in each inserted document (`shared.outbox`), a batch's events cost a second write per
document to clear them, and FerretDB rewrites a whole document to do it: under an arrears
batch that clearing was about 70 % of the referral intake's time. For documents that are only
being inserted there is a cheaper order:

1. one `outbox_batches` document holds every event of the batch, keyed by the id of the
   document each belongs to (as one JSON string: the database never looks inside it);
2. the documents are inserted, each carrying the batch's id in `_outbox_batch`;
3. the events of the documents this batch inserted are published (acks=all);
4. the batch document is deleted.

A crash anywhere leaves the batch document behind. The relay's sweep finds it after its grace
and publishes the events of exactly the documents that carry its id — those this batch
inserted; a document that existed already, or was never inserted, carries another id or none
— then deletes it. At-least-once on the wire, as the in-document outbox, and consumers'
inboxes drop the repeat.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import BulkWriteError

from shared.bulk import duplicate_ids
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.mongo import Collection, Document

BATCH_FIELD = "_outbox_batch"


class OutboxBatches:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    async def insert(
        self, target: Collection, prepared: Sequence[tuple[Document, Sequence[Envelope]]]
    ) -> tuple[str, list[Document], list[Envelope]]:
        """Steps 1-2: returns the batch id, the documents inserted (an id that exists is
        skipped) and their events, still to be published and then `forget`-ten."""
        batch_id = new_id()
        events = {
            str(doc["_id"]): [e.model_dump(mode="json") for e in envelopes]
            for doc, envelopes in prepared
        }
        await self.collection.insert_one(
            {
                "_id": batch_id,
                "collection": target.name,
                "at": datetime.now(UTC),
                "events": json.dumps(events, separators=(",", ":")),
            }
        )
        documents = [{**doc, BATCH_FIELD: batch_id} for doc, _ in prepared]
        if not documents:
            return batch_id, [], []
        try:
            await target.insert_many(documents, ordered=False)
            inserted = documents
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)
            inserted = [d for d in documents if d["_id"] not in taken]
        inserted_ids = {d["_id"] for d in inserted}
        published = [
            e for doc, envelopes in prepared if doc["_id"] in inserted_ids for e in envelopes
        ]
        return batch_id, inserted, published

    async def forget(self, batch_id: str) -> None:
        """Step 4, once the events are published."""
        await self.collection.delete_one({"_id": batch_id})

    async def left_behind(self, older_than: timedelta) -> list[Document]:
        """Batch documents a crash (or a failed publish) left, past the writers' grace."""
        horizon = datetime.now(UTC) - older_than
        return await self.collection.find({"at": {"$lte": horizon}}).to_list(None)

    async def events_to_recover(self, batch: Document) -> list[Envelope]:
        """The events of the documents this batch did insert."""
        events: dict[str, list[dict[str, Any]]] = json.loads(batch["events"])
        target = self.collection.database[batch["collection"]]
        query = {"_id": {"$in": list(events)}, BATCH_FIELD: batch["_id"]}
        inserted = [str(d["_id"]) async for d in target.find(query, {"_id": 1})]
        return [Envelope.model_validate(e) for doc_id in inserted for e in events[doc_id]]
