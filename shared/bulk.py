"""Many single-document upserts in a few round trips.

`bulk_write` of `UpdateOne(..., upsert=True)` is the obvious tool, but FerretDB 1.24 answers a
bulk update in which an upsert meets a duplicate key (a guarded upsert whose guard refused)
without `nModified`, and PyMongo fails reading that reply. So: read which documents exist,
insert the missing ones whole, update the rest with their guard and no upsert. A document
another writer inserted meanwhile is updated instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from shared.inbox import INBOX_FIELD, mark_seen, unseen
from shared.mongo import Collection, Document

DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Upsert:
    id: str
    update: dict[str, Any]  # applied to the document when it exists and the guard holds
    document: Document  # inserted (with this _id) when it does not exist: the same state
    guard: dict[str, Any] = field(default_factory=dict)  # extra filter for the update

    def once(self, event_id: str) -> Upsert:
        """This change applied once per event (the event id joins the document's inbox)."""
        update = {**self.update}
        for operator, fields in mark_seen(event_id).items():
            update[operator] = {**update.get(operator, {}), **fields}
        return Upsert(
            self.id,
            update,
            {**self.document, INBOX_FIELD: [event_id]},
            {**self.guard, **unseen(event_id)},
        )


def duplicate_ids(error: BulkWriteError) -> set[Any]:
    """The ids an unordered insert found taken; any other failure is raised again."""
    failures = error.details.get("writeErrors", [])
    if any(f.get("code") != DUPLICATE_KEY for f in failures):
        raise error
    return {f["op"]["_id"] for f in failures}


async def bulk_upsert(collection: Collection, upserts: Sequence[Upsert]) -> None:
    if not upserts:
        return
    ids = list({u.id for u in upserts})
    existing = {d["_id"] async for d in collection.find({"_id": {"$in": ids}}, {"_id": 1})}
    first: dict[str, Upsert] = {}  # per missing document, the change that creates it
    updates: list[Upsert] = []
    for upsert in upserts:
        if upsert.id in existing or upsert.id in first:
            updates.append(upsert)  # a later change of a document this batch inserts: after
        else:
            first[upsert.id] = upsert
    if first:
        documents = [{**u.document, "_id": u.id} for u in first.values()]
        try:
            await collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)  # created meanwhile: update those instead, first
            updates = [u for u in first.values() if u.id in taken] + updates
    if updates:
        await collection.bulk_write(
            [UpdateOne({"_id": u.id, **u.guard}, u.update) for u in updates], ordered=True
        )
