"""The reporting store: an append-only fact store and the rollups folded from it. The only
module of the outcomes service that talks to MongoDB.

- facts: one document per event consumed (`_id` = the event id, so a redelivery is a no-op),
  never updated or deleted. Everything else is derived from it.
- case_histories, capacities: per subject, the fold of all its facts
  (services/outcomes/histories.py), with `facts` = how many facts it was folded from. A fold
  only replaces one folded from fewer facts, so two writers of one subject cannot go back.
- A tenancy's history is folded when it is read, never stored: tenancy facts come at the
  arrears feed's rate (a landlord's whole book in a night), and a report reads only the few
  tenancies its cases name. So a batch of alerts costs outcomes one insert.

Each batch costs a constant number of commands: one insert of its facts, then per kind folded
on arrival one read of the subjects' facts and one bulk write of their folds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.errors import BulkWriteError

from services.outcomes.facts import Fact
from services.outcomes.histories import (
    CaseHistory,
    CaseworkerCapacity,
    TenancyHistory,
    fold_capacity,
    fold_case,
    fold_tenancy,
)
from shared.bulk import Upsert, bulk_upsert, duplicate_ids
from shared.mongo import Collection, Database

FACTS = "facts"
CASE_HISTORIES = "case_histories"
CAPACITIES = "capacities"
ROLLUPS = (CASE_HISTORIES, CAPACITIES)
FOLDED_ON_ARRIVAL = frozenset({"case", "capacity"})


def _fold(kind: str, subject: str, facts: list[Fact]) -> dict[str, Any]:
    if kind == "capacity":
        capacity = fold_capacity(subject, facts)
        return capacity.document()
    case = fold_case(subject, facts)
    return case.document()


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
        """Append the facts (repeats ignored) and refold every subject they touch; returns
        how many facts were new."""
        new = await self.append(facts)
        await self.refold(facts)
        return new

    async def append(self, facts: Sequence[Fact]) -> int:
        """Append the facts, repeats ignored; how many were new."""
        unique = list({fact.id: fact for fact in facts}.values())
        if not unique:
            return 0
        new = len(unique)
        try:
            await self.facts.insert_many([f.document() for f in unique], ordered=False)
        except BulkWriteError as exc:
            new -= len(duplicate_ids(exc))
        return new

    async def refold(self, facts: Iterable[Fact]) -> None:
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
            folded = {**_fold(kind, subject, facts), "facts": len(facts)}
            folded.setdefault("organisation", facts[-1].organisation)
            upserts.append(
                Upsert(subject, {"$set": folded}, folded, guard={"facts": {"$lt": len(facts)}})
            )
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
