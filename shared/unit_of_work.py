"""The one way a service changes state: load, decide in pure code, stage, commit.

    uow = UnitOfWork(runtime.relay)
    loaded = await repository.get(case_id)              # typed models (shared.repository)
    decision = rules.decide(loaded.model, now)          # pure
    uow.save(repository, loaded, decision.case, decision.events, event_id=cause.id)
    committed = await uow.commit()

`commit` writes each changed document in ONE update together with the id of the event that
caused it (its inbox) and the events it causes (its outbox), so a change and its events are
never apart; then the one relay of the service publishes them all and clears the outboxes.
It is batch-first: a unit may hold one change or thousands (an arrears poll), and the writes
of many changes with event ids go to the database in one `bulk_write`.

What it hides from service code, so the code is written for MongoDB:
- no multi-document transactions (FerretDB has none): each document is its own atomic write,
  and what spans documents is made safe by idempotency (inbox) and retries;
- no upserts in bulk (FerretDB 1.24 answers them without `nModified`): new documents are
  inserted, in bulk through a leased outbox batch (`shared.outbox_batches`).

`Committed` says per document what happened: written, changed meanwhile by another writer
(a conflict: load and decide again, `attempt` does it), already applied (the event was in its
inbox), or, for a new document, already there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.bulk import duplicate_ids
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.inbox import INBOX_FIELD, mark_seen, unseen
from shared.mongo import Collection, Document
from shared.outbox import (
    OUTBOX,
    TOKEN,
    OutboxRelay,
    document_with_events,
    merge_updates,
    outbox_update,
    pending_envelopes,
)
from shared.repository import VERSION, Loaded, Repository

T = TypeVar("T")
_M = TypeVar("_M")
MAX_ATTEMPTS = 8
BULK_CHUNK = 1000  # statements per bulk request, bounding one request's size
# Which unit's write landed (read back when a bulk write matched fewer than it sent). Apart
# from the outbox's own token, which only writes that queue events may move on.
WRITER = "_written_by"


def _redecidable(change: _Change) -> bool:
    """Safe to write in bulk: if another writer overwrote it right after, so that the unit
    counts it as a conflict although it landed, deciding again changes nothing twice (its
    event is in the inbox; a versioned save is decided afresh on what it now finds)."""
    return change.event_id is not None or change.leftovers is not None or change.idempotent


class ConcurrentUpdate(Exception):
    """A document kept changing under every attempt; the caller may try again (HTTP 409)."""


@dataclass
class _Change:
    collection: Collection
    id: str
    events: list[Envelope]
    event_id: str | None
    document: Document | None = None  # a new document, inserted whole
    update: dict[str, Any] = field(default_factory=dict)  # else this update
    guard: dict[str, Any] = field(default_factory=dict)  # ... where this also holds
    upsert: bool = False  # with both: the document if its id is new, else the update
    # A save guarded on the version it read: the outbox then holds exactly these (left by a
    # failed publish) and this change's events. Unguarded changes read their outbox back.
    leftovers: tuple[Envelope, ...] | None = None
    idempotent: bool = False  # applying it twice changes nothing (its guard says so)
    plain: bool = False  # a new document with no events: inserted in one insert_many
    likely_new: bool = False  # an upsert inserted without reading first (a taken id: updated)


@dataclass
class Committed:
    written: set[str] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)  # changed meanwhile: decide again
    repeats: set[str] = field(default_factory=set)  # the event was applied already
    existing: set[str] = field(default_factory=set)  # a new document whose id was taken
    created: set[str] = field(default_factory=set)  # written as a new document (of `written`)
    documents: dict[str, Document] = field(default_factory=dict)  # after the write, if read

    @property
    def clean(self) -> bool:
        """Nothing to decide again: no conflict, and no new document that another writer
        created first (for a unit deciding on one case, that case now exists: decide on it)."""
        return not self.conflicts and not self.existing

    def model(self, repository: Repository[_M], doc_id: str) -> _M | None:
        """The model as this unit left it, where the write was read back (a single change, a
        single insert); None where it did not land."""
        document = self.documents.get(doc_id) if doc_id in self.written else None
        return None if document is None else repository.from_document(document)


class UnitOfWork:
    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self._changes: list[_Change] = []

    def __len__(self) -> int:
        return len(self._changes)

    # --- staging ----------------------------------------------------------------------------

    def add(
        self,
        repository: Repository[Any],
        model: Any,
        events: Sequence[Envelope] = (),
        *,
        event_id: str | None = None,
        extra: Document | None = None,
    ) -> None:
        """A new document (skipped, with its events, if its id exists already)."""
        doc_id = repository.id_of(model)
        document = {
            **repository.to_document(model),
            **(extra or {}),
            "_id": doc_id,
            VERSION: 1,
            INBOX_FIELD: [event_id] if event_id else [],
        }
        self._changes.append(
            _Change(repository.collection, doc_id, list(events), event_id, document=document)
        )

    def add_many(
        self,
        repository: Repository[Any],
        models: Iterable[Any],
        *,
        event_ids: Mapping[str, str] | None = None,
    ) -> None:
        """New documents that cause no events (a log's records), inserted together in one
        `insert_many`: with nothing to publish they need no outbox batch. An id that exists
        already (or comes twice) is skipped (`Committed.existing`). `event_ids`: the event
        that created a document, by its id, marked in its inbox as `add` does."""
        for model in models:
            doc_id = repository.id_of(model)
            event_id = (event_ids or {}).get(doc_id)
            inbox = [event_id] if event_id else []
            document = {**repository.to_document(model), "_id": doc_id, VERSION: 1}
            document[INBOX_FIELD] = inbox
            self._changes.append(
                _Change(repository.collection, doc_id, [], None, document=document, plain=True)
            )

    def save(
        self,
        repository: Repository[Any],
        loaded: Loaded[Any],
        model: Any,
        events: Sequence[Envelope] = (),
        *,
        event_id: str | None = None,
        extra: Document | None = None,
    ) -> None:
        """`model` replaces what was loaded, if nobody saved it since (its version)."""
        fields = {**repository.to_document(model), **(extra or {})}
        fields.pop("_id", None)
        self._changes.append(
            _Change(
                repository.collection,
                loaded.id,
                list(events),
                event_id,
                update={"$set": {**fields, VERSION: loaded.version + 1}},
                guard={VERSION: loaded.version},
                leftovers=loaded.pending,
            )
        )

    def change(
        self,
        repository: Repository[Any],
        doc_id: str,
        update: dict[str, Any],
        events: Sequence[Envelope] = (),
        *,
        event_id: str | None = None,
        guard: dict[str, Any] | None = None,
        idempotent: bool = False,
    ) -> None:
        """An atomic update operator (`$inc`, `$push`) for a document many writers touch at
        once, where loading and replacing would only make them conflict."""
        update = merge_updates(update, {"$inc": {VERSION: 1}})
        self._changes.append(
            _Change(
                repository.collection, doc_id, list(events), event_id, update=update,
                guard=dict(guard or {}), idempotent=idempotent,
            )
        )  # fmt: skip

    def upsert(
        self,
        repository: Repository[Any],
        doc_id: str,
        update: dict[str, Any],
        document: Document,
        events: Sequence[Envelope] = (),
        *,
        event_id: str | None = None,
        guard: dict[str, Any] | None = None,
        idempotent: bool = False,
        likely_new: bool = False,
    ) -> None:
        """`update` if the document exists (and `guard` holds), else `document` inserted as
        the same state: for streams that create or change records in bulk (FerretDB cannot
        upsert inside a bulk write). `likely_new`: the caller expects the id to be new, so
        the document is inserted without first reading which ids exist (one round trip less);
        an id that turns out to be taken is updated all the same."""
        self._changes.append(
            _Change(
                repository.collection,
                doc_id,
                list(events),
                event_id,
                document={**document, "_id": doc_id},
                update=merge_updates(update, {"$inc": {VERSION: 1}}),
                guard=dict(guard or {}),
                upsert=True,
                idempotent=idempotent,
                likely_new=likely_new,
            )
        )

    # --- committing -------------------------------------------------------------------------

    async def commit(self) -> Committed:
        committed = Committed()
        by_collection: dict[str, tuple[Collection, list[_Change]]] = {}
        for change in self._changes:
            entry = by_collection.setdefault(change.collection.full_name, (change.collection, []))
            entry[1].append(change)
        self._changes = []
        # The outbox clears of single inserts run beside the next collection's writes, and
        # are all done before the commit returns.
        clearing: list[asyncio.Task[None]] = []
        try:
            for collection, changes in by_collection.values():
                await self._insert_plain(collection, [c for c in changes if c.plain], committed)
                changes = [c for c in changes if not c.plain]
                new = [c for c in changes if c.document is not None and not c.upsert]
                await self._insert(collection, new, committed, clearing)
                rest = [c for c in changes if c.document is None or c.upsert]
                await self._update(collection, rest, committed)
        finally:
            await asyncio.gather(*clearing)
        return committed

    @staticmethod
    async def _insert_plain(
        collection: Collection, changes: list[_Change], committed: Committed
    ) -> None:
        if not changes:
            return
        first: dict[str, _Change] = {}
        for change in changes:
            if change.id in first:
                committed.existing.add(change.id)  # the same record twice: stored once
            else:
                first[change.id] = change
        try:
            await collection.insert_many([c.document or {} for c in first.values()], ordered=False)
            taken: set[Any] = set()
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)
        for doc_id in first:
            (committed.existing if doc_id in taken else committed.written).add(doc_id)
        committed.created |= {doc_id for doc_id in first if doc_id not in taken}

    async def _insert(
        self,
        collection: Collection,
        changes: list[_Change],
        committed: Committed,
        clearing: list[asyncio.Task[None]],
    ) -> None:
        if not changes:
            return
        if len(changes) > 1 and self.relay.batches is not None:
            prepared = [(c.document or {}, c.events) for c in changes]
            inserted = {str(d["_id"]) for d in await self.relay.insert_many(collection, prepared)}
            for change in changes:
                (committed.written if change.id in inserted else committed.existing).add(change.id)
            committed.created |= inserted
            return
        for change in changes:
            document = document_with_events(change.document or {}, change.events)
            try:
                await collection.insert_one(document)
            except DuplicateKeyError:
                committed.existing.add(change.id)
                continue
            committed.written.add(change.id)
            committed.created.add(change.id)
            committed.documents[change.id] = document
            clear = await self.relay.publish_first(collection, document)
            clearing.append(asyncio.ensure_future(clear()))

    async def _update(
        self, collection: Collection, changes: list[_Change], committed: Committed
    ) -> None:
        if not changes:
            return
        token = new_id()
        created = await self._create_missing(collection, changes, token)
        committed.written |= {c.id for c in created}
        committed.created |= {c.id for c in created}
        made = {id(c) for c in created}
        changes = [c for c in changes if id(c) not in made]
        writes = [
            (change, self._filter(change), self._full_update(change, token)) for change in changes
        ]
        written_here: set[str] = set()  # of this collection: ids may repeat across collections
        if not changes:
            pass
        elif len(changes) == 1 or not all(_redecidable(c) for c in changes):
            # One at a time, each told apart exactly: a change that could apply twice (a
            # person's request without an event id) must know whether it landed.
            for change, query, update in writes:
                after = await collection.find_one_and_update(
                    query, update, return_document=ReturnDocument.AFTER
                )
                if after is None:
                    await self._why_not(collection, [change], committed)
                    continue
                written_here.add(change.id)
                committed.documents[change.id] = after
        else:
            operations = [UpdateOne(query, update) for _, query, update in writes]
            matched = 0
            for start in range(0, len(operations), BULK_CHUNK):
                chunk = operations[start : start + BULK_CHUNK]
                matched += (await collection.bulk_write(chunk, ordered=True)).matched_count
            written_here = {c.id for c in changes}
            if matched < len(changes):
                ids = [c.id for c in changes]
                query = {"_id": {"$in": ids}, WRITER: token}
                written_here = {str(d["_id"]) async for d in collection.find(query, {"_id": 1})}
                missed = [c for c in changes if c.id not in written_here]
                await self._why_not(collection, missed, committed)
        committed.written |= written_here
        landed = [c for c in changes if c.id in written_here]
        await self._publish(collection, created, landed, committed, token)

    async def _publish(
        self,
        collection: Collection,
        created: list[_Change],
        landed: list[_Change],
        committed: Committed,
        token: str,
    ) -> None:
        """Everything queued in the outboxes this unit wrote, its own events and any a failed
        publish left there, then those outboxes emptied (where still this unit's token)."""
        # Only outboxes this unit queued events in are emptied, so only those are sent: a change
        # that queued none leaves what it found to that event's own writer or the sweeper.
        created = [c for c in created if c.events]
        landed = [c for c in landed if c.events]
        events = [e for change in created for e in change.events]  # new: nothing else queued
        unknown: list[str] = []  # outboxes this unit cannot know without reading them
        for change in landed:
            if change.id in committed.documents:
                events += [e for _, e in pending_envelopes(committed.documents[change.id])]
            elif change.leftovers is not None:
                events += [*change.leftovers, *change.events]
            else:
                unknown.append(change.id)
        if unknown:
            query = {"_id": {"$in": unknown}, TOKEN: token}
            async for document in collection.find(query, {OUTBOX: 1}):
                events += [e for _, e in pending_envelopes(document)]
        unique = list({e.id: e for e in events}.values())
        ids = list(dict.fromkeys([*(c.id for c in created), *(c.id for c in landed)]))
        await self.relay.publish_written(collection, ids, token, unique)

    @staticmethod
    async def _create_missing(
        collection: Collection, changes: list[_Change], token: str
    ) -> list[_Change]:
        """Insert the upserts whose document does not exist yet (the first change of each
        such id); the rest, and any id another writer created meanwhile, stay updates."""
        upserts = [c for c in changes if c.upsert]
        if not upserts:
            return []
        # Only the ids nobody expects to be new are looked up; the rest are simply inserted,
        # and any that is taken stays an update (as one created meanwhile does).
        ids = list({c.id for c in upserts if not c.likely_new})
        existing: set[Any] = set()
        if ids:
            query = {"_id": {"$in": ids}}
            existing = {d["_id"] async for d in collection.find(query, {"_id": 1})}
        first: dict[str, _Change] = {}
        for change in upserts:
            if change.id not in existing and change.id not in first:
                first[change.id] = change
        if not first:
            return []
        documents = []
        for change in first.values():
            body = {
                **(change.document or {}),
                VERSION: 1,
                INBOX_FIELD: [change.event_id] if change.event_id else [],
                WRITER: token,
            }
            documents.append(document_with_events(body, change.events, token))
        try:
            await collection.insert_many(documents, ordered=False)
            taken: set[Any] = set()
        except BulkWriteError as exc:
            taken = duplicate_ids(exc)
        return [c for c in first.values() if c.id not in taken]

    @staticmethod
    def _filter(change: _Change) -> dict[str, Any]:
        return {
            "_id": change.id,
            **change.guard,
            **(unseen(change.event_id) if change.event_id else {}),
        }

    @staticmethod
    def _full_update(change: _Change, token: str) -> dict[str, Any]:
        return merge_updates(
            change.update,
            mark_seen(change.event_id) if change.event_id else {},
            outbox_update(change.events, token),
            {"$set": {WRITER: token}},  # which unit's update landed, when a bulk half-misses
        )

    @staticmethod
    async def _why_not(collection: Collection, missed: list[_Change], committed: Committed) -> None:
        if not missed:
            return
        current = {
            str(d["_id"]): d
            async for d in collection.find(
                {"_id": {"$in": [c.id for c in missed]}}, {"_id": 1, INBOX_FIELD: 1}
            )
        }
        for change in missed:
            inbox = (current.get(change.id) or {}).get(INBOX_FIELD) or []
            if change.event_id is not None and change.event_id in inbox:
                committed.repeats.add(change.id)
            else:
                committed.conflicts.add(change.id)


async def attempt(
    relay: OutboxRelay,
    step: Callable[[UnitOfWork], Awaitable[T]],
    attempts: int = MAX_ATTEMPTS,
) -> tuple[T, Committed]:
    """Run `step` (load, decide, stage) and commit; while another writer changed a document
    first, load and decide again. `step` must stage with versions read in that same call."""
    for _ in range(attempts):
        uow = UnitOfWork(relay)
        result = await step(uow)
        committed = await uow.commit()
        if committed.clean:
            return result, committed
    raise ConcurrentUpdate("case_id: the record changed concurrently; try again")
