"""The audit service's own collections; the only module that talks to MongoDB.

- entries: one document per audit entry, append-only (nothing here updates or deletes one).
  `_id` = organisation:sequence, so two writers can never both take a place in a chain; the
  unique `event_id` makes a redelivered event a no-op.
- chain_heads: per organisation, the last entry appended (sequence and hash). It lets an append
  start without reading the chain, and lets verification notice entries cut off the end.
- case_people: case id -> person id (from ReferralReceived and CaseAllocated), so the store
  can answer "who has seen this person's record".

On FerretDB only top-level equalities narrow the query in SQL, so entries are looked up by
`_id` (appends and verification walk the chain by computed ids) or by indexed equality fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.audit.chain import (
    GENESIS,
    ChainHead,
    ChainVerifier,
    Finding,
    Problem,
    canonical,
    entry_fields,
    entry_id,
    seal,
)
from shared.bulk import DUPLICATE_KEY, Upsert, bulk_upsert
from shared.logging import get_logger
from shared.mongo import Collection, Database, Document

ENTRIES = "entries"
CHAIN_HEADS = "chain_heads"
CASE_PEOPLE = "case_people"

FOLLOW_WINDOW = 64  # entries read at a time when catching up with a chain past its head
VERIFY_WINDOW = 1000  # entries read at a time by verification (one `_id $in` query)
MAX_ATTEMPTS = 100  # appends racing another writer before giving up (the consumer retries)

log = get_logger(__name__)


@dataclass(frozen=True)
class NewEntry:
    """An entry to append: its event id and its fields (without the event id or chain)."""

    event_id: str
    fields: dict[str, Any]

    @property
    def body(self) -> bytes:
        return canonical(self.fields)

    def renamed(self) -> NewEntry:
        """The same entry under an id derived from its contents: for a second, different
        event that came with an id already in the chain (a request id a client chose twice
        must not hide the second request from the trail)."""
        digest = hashlib.sha256(self.body).hexdigest()[:16]
        return NewEntry(f"{self.event_id}~{digest}", self.fields)

    def document_fields(self) -> dict[str, Any]:
        return {**self.fields, "event_id": self.event_id}


@dataclass(frozen=True)
class Verification:
    organisation: str
    entries: int
    head: ChainHead | None
    finding: Finding | None

    @property
    def intact(self) -> bool:
        return self.finding is None


def _body_of(document: Document) -> bytes:
    fields = entry_fields(document)
    fields.pop("event_id", None)
    return canonical(fields)


class AuditStore:
    def __init__(self, db: Database, key: str) -> None:
        self.key = key
        self.entries: Collection = db[ENTRIES]
        self.heads: Collection = db[CHAIN_HEADS]
        self.case_people: Collection = db[CASE_PEOPLE]

    async def ensure_indexes(self) -> None:
        await self.entries.create_index("event_id", unique=True)
        await self.entries.create_index([("organisation", 1), ("sequence", -1)])
        await self.entries.create_index([("organisation", 1), ("record_id", 1), ("sequence", -1)])
        await self.entries.create_index(
            [("organisation", 1), ("actor_subject", 1), ("sequence", -1)]
        )
        await self.entries.create_index([("organisation", 1), ("outcome", 1), ("sequence", -1)])
        await self.entries.create_index([("organisation", 1), ("listed_ids", 1)])
        await self.case_people.create_index([("person_id", 1), ("organisation", 1)])

    # --- appending -------------------------------------------------------------------------

    async def head(self, organisation: str) -> ChainHead | None:
        document = await self.heads.find_one({"_id": organisation})
        if document is None:
            return None
        return ChainHead(int(document["sequence"]), str(document["hash"]))

    async def append(self, organisation: str, new: Sequence[NewEntry]) -> int:
        """Append entries to the organisation's chain in this order; returns how many were
        new. Safe to repeat (redelivery) and safe beside another writer of the same chain."""
        recorded = await self.head(organisation)
        start = recorded or ChainHead(0, GENESIS)
        head = start
        pending = list(new)
        appended = 0
        for _attempt in range(MAX_ATTEMPTS):
            pending, repeated = await self._unrecorded(pending)
            if repeated:
                # A redelivery: a crash may have come between its insert and the head's move.
                head = await self._follow(organisation, head)
            if not pending:
                break
            documents = []
            previous = head
            for number, entry in enumerate(pending, start=head.sequence + 1):
                document = seal(
                    self.key, organisation, number, previous.hash, entry.document_fields()
                )
                documents.append(document)
                previous = ChainHead(number, document["hash"])
            inserted = await self._insert(documents)
            if inserted:
                last = documents[inserted - 1]
                head = ChainHead(last["sequence"], last["hash"])
                appended += inserted
                pending = pending[inserted:]
            if pending:
                # The next place was taken: by an entry a crash left past the head, or by
                # another writer of this chain (a rebalance). Catch up, then go on after it.
                head = await self._follow(organisation, head)
        else:
            raise RuntimeError(
                f"organisation {organisation!r}: chain kept moving for {MAX_ATTEMPTS} attempts"
            )
        if head.sequence > start.sequence:
            await self._move_head(organisation, head, exists=recorded is not None)
        return appended

    async def _unrecorded(self, pending: list[NewEntry]) -> tuple[list[NewEntry], bool]:
        """The entries not in the chain yet (colliding ids renamed), and whether any was."""
        if not pending:
            return [], False
        candidates = {e.event_id for e in pending} | {e.renamed().event_id for e in pending}
        cursor = self.entries.find({"event_id": {"$in": sorted(candidates)}})
        bodies = {document["event_id"]: _body_of(document) async for document in cursor}
        fresh: list[NewEntry] = []
        repeated = False
        for entry in pending:
            body = entry.body
            renamed = entry.renamed()
            if bodies.get(entry.event_id) == body or renamed.event_id in bodies:
                repeated = True
                continue
            chosen = renamed if entry.event_id in bodies else entry
            bodies[chosen.event_id] = body
            fresh.append(chosen)
        return fresh, repeated

    async def _insert(self, documents: list[Document]) -> int:
        """Insert in order; how many went in before the first place (or event) found taken."""
        try:
            await self.entries.insert_many(documents, ordered=True)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return min(int(e["index"]) for e in errors)
        return len(documents)

    async def _follow(self, organisation: str, head: ChainHead) -> ChainHead:
        """The last entry of the unbroken run of entries stored after `head`."""
        while True:
            ids = [
                entry_id(organisation, number)
                for number in range(head.sequence + 1, head.sequence + FOLLOW_WINDOW + 1)
            ]
            cursor = self.entries.find({"_id": {"$in": ids}}, {"hash": 1, "previous_hash": 1})
            found = {document["_id"]: document async for document in cursor}
            for number, wanted in enumerate(ids, start=head.sequence + 1):
                document = found.get(wanted)
                if document is None:
                    return head
                if document.get("previous_hash") != head.hash:
                    log.warning("audit.chain_link_mismatch", organisation=organisation, at=number)
                head = ChainHead(number, str(document["hash"]))

    async def _move_head(self, organisation: str, head: ChainHead, exists: bool) -> None:
        values = {"sequence": head.sequence, "hash": head.hash}
        if not exists:
            try:
                await self.heads.insert_one({"_id": organisation, **values})
                return
            except DuplicateKeyError:
                pass  # another writer created it meanwhile
        # Guarded: only ever forward, so a slower writer never moves it back.
        await self.heads.update_one(
            {"_id": organisation, "sequence": {"$lt": head.sequence}}, {"$set": values}
        )

    # --- the case -> person projection -----------------------------------------------------

    async def learn_cases(self, cases: Sequence[tuple[str, str, str]]) -> None:
        """(case id, person id, organisation) of each case; repeats change nothing."""
        latest = {case_id: (person_id, organisation) for case_id, person_id, organisation in cases}
        upserts = []
        for case_id, (person_id, organisation) in latest.items():
            values = {"person_id": person_id, "organisation": organisation}
            upserts.append(Upsert(case_id, {"$set": values}, values))
        await bulk_upsert(self.case_people, upserts)

    async def cases_of(self, person_id: str, organisation: str) -> list[str]:
        """The person's cases in this organisation (never another's: an auditor learns
        nothing about cases elsewhere)."""
        query = {"person_id": person_id, "organisation": organisation}
        cursor = self.case_people.find(query, {"_id": 1})
        return sorted([document["_id"] async for document in cursor])

    # --- questions -------------------------------------------------------------------------

    async def find(
        self,
        organisation: str,
        *,
        limit: int,
        actor_subject: str | None = None,
        record_ids: Sequence[str] | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Document]:
        """The organisation's entries that match, newest first. `since` inclusive, `until`
        exclusive."""
        query: dict[str, Any] = {"organisation": organisation}
        if actor_subject is not None:
            query["actor_subject"] = actor_subject
        if record_ids is not None:
            if not record_ids:
                return []
            # About the record itself, or a list answer that showed it (a caseload).
            wanted = {"$in": list(record_ids)}
            query["$or"] = [{"record_id": wanted}, {"listed_ids": wanted}]
        if outcome is not None:
            query["outcome"] = outcome
        at: dict[str, datetime] = {}
        if since is not None:
            at["$gte"] = since
        if until is not None:
            at["$lt"] = until
        if at:
            query["at"] = at
        cursor = self.entries.find(query).sort("sequence", -1).limit(limit)
        return [document async for document in cursor]

    # --- verification ----------------------------------------------------------------------

    async def organisations(self) -> list[str]:
        """Every organisation with a chain: by its head, or by its entries (a chain whose
        head document was removed is still checked)."""
        names = {str(document["_id"]) async for document in self.heads.find({}, {"_id": 1})}
        names.update(str(name) for name in await self.entries.distinct("organisation"))
        return sorted(names)

    async def verify(self, organisation: str) -> Verification:
        """Walk the chain by `_id`, window by window, and stop at the first finding."""
        head = await self.head(organisation)
        verifier = ChainVerifier(self.key, organisation)

        def result(finding: Finding | None) -> Verification:
            return Verification(organisation, verifier.checked, head, finding)

        start = 0
        while True:
            ids = [entry_id(organisation, n) for n in range(start + 1, start + VERIFY_WINDOW + 1)]
            cursor = self.entries.find({"_id": {"$in": ids}})
            window = sorted([document async for document in cursor], key=lambda d: d["_id"])
            for document in window:
                finding = verifier.check(document, head)
                if finding is not None:
                    return result(finding)
            if len(window) < VERIFY_WINDOW:
                break
            start += VERIFY_WINDOW
        # Entries the walk cannot reach: past a gap of a whole window, or stored under an id
        # that is not a place in the chain.
        stray = await self._stray(organisation, verifier.last_sequence)
        if stray is not None:
            finding = verifier.check(stray, head)
            if finding is None or finding.problem is not Problem.REMOVED:
                finding = Finding(
                    int(stray.get("sequence") or 0),
                    str(stray["_id"]),
                    Problem.ALTERED,
                    "an entry was stored outside the chain",
                )
            return result(finding)
        return result(verifier.end(head))

    async def _stray(self, organisation: str, last: int) -> Document | None:
        """The entry after a gap (the lowest past `last`), else one stored under an id that
        is no place in the chain; None when every entry is where the walk found it."""
        after_gap: Document | None = None
        foreign: Document | None = None
        cursor = self.entries.find({"organisation": organisation}, {"_id": 1, "sequence": 1})
        async for document in cursor:
            sequence = document.get("sequence")
            if not (
                isinstance(sequence, int)
                and sequence >= 1
                and document["_id"] == entry_id(organisation, sequence)
            ):
                foreign = foreign or document
            elif sequence > last and (after_gap is None or sequence < after_gap["sequence"]):
                after_gap = document
        stray = after_gap or foreign
        return None if stray is None else await self.entries.find_one({"_id": stray["_id"]})
