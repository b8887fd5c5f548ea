"""The reporting store: an append-only fact store and the rollups folded from it. The only
module of the outcomes service that talks to MongoDB.

- facts: one document per event consumed (`_id` = the event id, so a redelivery is a no-op),
  never updated or deleted. Everything else is derived from it.
- case_histories, capacities: per subject, the fold of all its facts
  (services/outcomes/histories.py), with `facts` = how many facts it was folded from and
  `last` = the last of them. A poll's facts that come after `last` are folded onto the stored
  history (replacing it only if it still holds `facts`); anything else is folded whole from
  the facts, replacing only a history folded from fewer, so two writers cannot go back.
- A tenancy's history is folded when it is read, never stored: tenancy facts come at the
  arrears feed's rate (a landlord's whole book in a night), and a report reads only the few
  tenancies its cases name. So a batch of alerts costs outcomes one insert.

Each batch costs a constant number of commands: one insert of its facts, then per kind folded
on arrival one read of the subjects' histories and one bulk write of their folds (plus, for a
fact out of order or redelivered, one read of those subjects' facts and their bulk upsert).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from services.outcomes.facts import Fact
from services.outcomes.folding import FOLDED_FROM, Folded, extend, whole
from services.outcomes.histories import (
    CaseHistory,
    CaseworkerCapacity,
    TenancyHistory,
    fold_tenancy,
)
from shared.bulk import Upsert, bulk_upsert, duplicate_ids
from shared.mongo import Collection, Database

FACTS = "facts"
CASE_HISTORIES = "case_histories"
CAPACITIES = "capacities"
ROLLUPS = (CASE_HISTORIES, CAPACITIES)
FOLDED_ON_ARRIVAL = frozenset({"case", "capacity"})


class OutcomesStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.facts: Collection = db[FACTS]
        self.rollups: dict[str, Collection] = {
            "case": db[CASE_HISTORIES],
            "capacity": db[CAPACITIES],
        }

    async def ensure_indexes(self) -> None:
        await self.facts.create_index("subject")
        await self.facts.create_index("organisation")
        await self.rollups["case"].create_index("person_id")
        for rollup in self.rollups.values():
            await rollup.create_index("organisation")
        await self.rollups["case"].create_index("referral_organisation")

    # --- recording ------------------------------------------------------------------------

    async def record(self, facts: Sequence[Fact]) -> int:
        """Append the facts (repeats ignored) and fold them into every history they touch;
        returns how many facts were new."""
        new_ids = await self.append(facts)
        await self.fold(facts, new_ids)
        return len(new_ids)

    async def append(self, facts: Sequence[Fact]) -> set[str]:
        """Append the facts, repeats ignored; the ids of those that were new."""
        unique = list({fact.id: fact for fact in facts}.values())
        if not unique:
            return set()
        new = {fact.id for fact in unique}
        try:
            await self.facts.insert_many([f.document() for f in unique], ordered=False)
        except BulkWriteError as exc:
            new -= duplicate_ids(exc)
        return new

    async def fold(self, facts: Iterable[Fact], new_ids: set[str]) -> None:
        """Fold a poll's facts onto the stored histories they touch (services/outcomes/
        folding.py says when that equals the whole fold); the rest are folded whole."""
        by_kind: dict[str, dict[str, list[Fact]]] = defaultdict(lambda: defaultdict(list))
        for fact in facts:
            if fact.kind in FOLDED_ON_ARRIVAL:
                by_kind[fact.kind][fact.subject].append(fact)
        for kind, subjects in by_kind.items():
            await self._fold_kind(kind, subjects, new_ids)

    async def _fold_kind(
        self, kind: str, subjects: dict[str, list[Fact]], new_ids: set[str]
    ) -> None:
        rollup = self.rollups[kind]
        query = {"_id": {"$in": sorted(subjects)}}
        stored = {document["_id"]: document async for document in rollup.find(query)}
        inserts: dict[str, dict[str, Any]] = {}
        replaces: dict[str, Folded] = {}
        refold: set[str] = set()
        for subject, facts in subjects.items():
            folded = extend(kind, subject, stored.get(subject), facts, new_ids)
            if folded is None:
                refold.add(subject)
            elif folded.replaces is None:
                inserts[subject] = folded.document
            else:
                replaces[subject] = folded
        if inserts:
            documents = [{**document, "_id": s} for s, document in inserts.items()]
            try:
                await rollup.insert_many(documents, ordered=False)
            except BulkWriteError as exc:
                refold |= duplicate_ids(exc)  # another writer created it first
        if replaces:
            writes = [
                ReplaceOne({"_id": s, FOLDED_FROM: f.replaces}, {**f.document, "_id": s})
                for s, f in replaces.items()
            ]
            result = await rollup.bulk_write(writes, ordered=False)
            if result.matched_count < len(writes):
                # Another writer folded one of them meanwhile; which one the reply does not
                # say, so fold them all whole (rare: two instances on one subject).
                refold |= set(replaces)
        if refold:
            await self._refold_kind(kind, sorted(refold))

    async def refold(self, facts: Iterable[Fact]) -> None:
        """Fold every subject the facts touch whole, from all its stored facts."""
        subjects: dict[str, set[str]] = defaultdict(set)
        for fact in facts:
            if fact.kind in FOLDED_ON_ARRIVAL:
                subjects[fact.kind].add(fact.subject)
        for kind, names in subjects.items():
            await self._refold_kind(kind, sorted(names))

    async def _refold_kind(self, kind: str, subjects: list[str]) -> None:
        by_subject: dict[str, list[Fact]] = defaultdict(list)
        query = {"subject": {"$in": subjects}, "kind": kind}
        async for document in self.facts.find(query):
            by_subject[document["subject"]].append(Fact.from_document(document))
        upserts = []
        for subject, facts in by_subject.items():
            folded = whole(kind, subject, facts)
            guard = {FOLDED_FROM: {"$lt": folded[FOLDED_FROM]}}
            upserts.append(Upsert(subject, {"$set": folded}, folded, guard=guard))
        await bulk_upsert(self.rollups[kind], upserts)

    async def rebuild_rollups(self, window: int = 2000) -> None:
        """Fold every subject again from the facts alone."""
        for rollup in self.rollups.values():
            await rollup.delete_many({})
        batch: list[Fact] = []
        async for document in self.facts.find({}).sort("_id", 1):
            batch.append(Fact.from_document(document))
            if len(batch) >= window:
                await self.refold(batch)
                batch = []
        await self.refold(batch)

    async def clear(self) -> None:
        """Everything, before a rebuild from the topics."""
        await self.facts.delete_many({})
        for rollup in self.rollups.values():
            await rollup.delete_many({})

    # --- reading --------------------------------------------------------------------------

    async def cases(self, organisation: str) -> list[CaseHistory]:
        """Every case history the organisation owns or received the referral of."""
        # Two equality queries, not an `$or`: FerretDB narrows only a top-level equality by its
        # index; an `$or` decodes every history in the store.
        found: dict[str, CaseHistory] = {}
        for field in ("organisation", "referral_organisation"):
            cursor = self.rollups["case"].find({field: organisation}, {"facts": 0})
            async for document in cursor:
                if document["_id"] not in found:
                    found[document["_id"]] = CaseHistory.from_document(document)
        return list(found.values())

    async def cases_of_person(self, person_id: str, organisation: str) -> list[CaseHistory]:
        query = {"person_id": person_id, "organisation": organisation}
        cursor = self.rollups["case"].find(query, {"_id": 0, "facts": 0})
        return [CaseHistory.from_document(d) async for d in cursor]

    async def tenancies(self, tenancy_ids: Iterable[str]) -> dict[str, TenancyHistory]:
        ids = sorted(set(tenancy_ids))
        if not ids:
            return {}
        by_tenancy: dict[str, list[Fact]] = defaultdict(list)
        query = {"subject": {"$in": ids}, "kind": "tenancy"}
        async for document in self.facts.find(query):
            by_tenancy[document["subject"]].append(Fact.from_document(document))
        return {
            tenancy_id: fold_tenancy(tenancy_id, facts) for tenancy_id, facts in by_tenancy.items()
        }

    async def capacities(self, organisation: str) -> list[CaseworkerCapacity]:
        cursor = self.rollups["capacity"].find({"organisation": organisation}, {"facts": 0})
        return [CaseworkerCapacity.from_document(d) async for d in cursor]

    async def fact_count(self) -> int:
        return await self.facts.count_documents({})

    async def caught_up(self, facts: int) -> bool:
        """Whether `facts` facts are stored and every history folded on arrival has caught up
        with them (a fact is stored before its history is folded again)."""
        if await self.fact_count() < facts:
            return False
        folded = 0
        for rollup in self.rollups.values():
            async for document in rollup.find({}, {"facts": 1}):
                folded += int(document.get("facts") or 0)
        query = {"kind": {"$in": sorted(FOLDED_ON_ARRIVAL)}}
        return folded == await self.facts.count_documents(query)
