"""The referral service's own collections (intake part); the only module that talks to MongoDB.

- `referrals`: one document per referral (_id = referral id = case id), with the submission
  (personal data stays here), screening outcome, status and its history. Outbox-enabled.
- `people`: the people index, one document per pseudonymous person id: which referrals and
  organisations, possible matches (linked, not merged), closed cases (for the repeat cycle).
- `person_keys`: hashed match keys (_id) -> person id; the unique _id makes claiming atomic.

A referral for a person who already has an open referral in the same organisation is kept and
linked to it (`possible_duplicate_of`, `linked_referrals` on both), never merged here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from services.referral.repeat_cycle import Closure
from services.referral.status import ReferralStatus, statuses_before
from shared.bulk import Upsert, bulk_upsert
from shared.codes import ClosureReason, Route
from shared.inbox import mark_seen, unseen
from shared.mongo import Collection, Document
from shared.outbox import write_once
from shared.runtime import ServiceRuntime

# A referral someone is (or will be) working: not closed, and routed to a service of ours.
OPEN_STATUSES = [s.value for s in ReferralStatus if s is not ReferralStatus.CLOSED]
OPEN_ROUTES = [Route.SUPPORT.value, Route.RECONNECTION.value]
MAX_LINKED = 20


class ReferralStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.referrals: Collection = runtime.collection("referrals", outbox=True)
        runtime.use_outbox_batches()  # the intake inserts a poll's referrals in bulk
        self.people: Collection = runtime.collection("people")
        self.person_keys: Collection = runtime.collection("person_keys")
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.referrals.create_index([("organisation", ASCENDING), ("status", ASCENDING)])
        await self.referrals.create_index([("organisation", ASCENDING), ("person_id", ASCENDING)])
        await self.referrals.create_index([("person_id", ASCENDING)])
        await self.person_keys.create_index([("person_id", ASCENDING)])

    # --- referrals ------------------------------------------------------------------------

    async def get(self, referral_id: str) -> Document | None:
        return await self.referrals.find_one({"_id": referral_id})

    async def get_for(self, organisation: str, referral_id: str) -> Document | None:
        return await self.referrals.find_one({"_id": referral_id, "organisation": organisation})

    async def list_for(
        self,
        organisation: str,
        status: ReferralStatus | None,
        person_id: str | None,
        limit: int,
        reach: dict[str, Any] | None = None,
    ) -> list[Document]:
        query: dict[str, Any] = {"organisation": organisation, **(reach or {})}
        if status is not None:
            query["status"] = status.value
        if person_id is not None:
            query["person_id"] = person_id
        cursor = self.referrals.find(query).sort("received_at", DESCENDING).limit(limit)
        return await cursor.to_list()

    async def get_many(self, referral_ids: Iterable[str]) -> dict[str, Document]:
        ids = list(referral_ids)
        return {d["_id"]: d async for d in self.referrals.find({"_id": {"$in": ids}})}

    async def open_referrals_of(
        self, people: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[str]]:
        """(organisation, person id) -> the ids of that person's open referrals there, oldest
        first; one query for a whole intake batch (string `$in`s only, so FerretDB filters
        in SQL with the person_id index)."""
        wanted = set(people)
        if not wanted:
            return {}
        query = {
            "person_id": {"$in": sorted({p for _, p in wanted})},
            "organisation": {"$in": sorted({o for o, _ in wanted})},
            "status": {"$in": OPEN_STATUSES},
            "route": {"$in": OPEN_ROUTES},
        }
        fields = {"_id": 1, "organisation": 1, "person_id": 1, "received_at": 1}
        found: dict[tuple[str, str], list[Document]] = {}
        async for doc in self.referrals.find(query, fields):
            pair = (doc["organisation"], doc["person_id"])
            if pair in wanted:
                found.setdefault(pair, []).append(doc)
        return {
            pair: [d["_id"] for d in sorted(docs, key=lambda d: (d["received_at"], d["_id"]))][
                :MAX_LINKED
            ]
            for pair, docs in found.items()
        }

    async def link_referrals(self, links: Sequence[tuple[str, str]]) -> None:
        """(open referral id, newer referral id): the open one names the newer one too, so
        whoever looks at either sees both. Idempotent (a set), so a retry adds nothing."""
        if links:
            await self.referrals.bulk_write(
                [
                    UpdateOne({"_id": open_id}, {"$addToSet": {"linked_referrals": newer_id}})
                    for open_id, newer_id in links
                ],
                ordered=False,
            )

    async def mark_allocated(
        self, case_id: str, event_id: str, fields: dict[str, Any], at: datetime
    ) -> Document | None:
        return await self._advance(case_id, event_id, ReferralStatus.ALLOCATED, fields, at)

    async def mark_closed(
        self, case_id: str, event_id: str, fields: dict[str, Any], at: datetime
    ) -> Document | None:
        return await self._advance(case_id, event_id, ReferralStatus.CLOSED, fields, at)

    async def mark_allocated_many(
        self, allocations: Sequence[tuple[str, str, dict[str, Any], datetime]]
    ) -> None:
        """`mark_allocated` for a stretch of CaseAllocated (case id, event id, fields, at), in
        one round trip; each guarded exactly as alone."""
        if allocations:
            await self.referrals.bulk_write(
                [
                    UpdateOne(
                        *self._advance_change(
                            case_id, event_id, ReferralStatus.ALLOCATED, fields, at
                        )
                    )
                    for case_id, event_id, fields, at in allocations
                ],
                ordered=True,
            )

    async def _advance(
        self,
        case_id: str,
        event_id: str,
        status: ReferralStatus,
        fields: dict[str, Any],
        at: datetime,
    ) -> Document | None:
        return await self.referrals.find_one_and_update(
            *self._advance_change(case_id, event_id, status, fields, at),
            return_document=ReturnDocument.AFTER,
        )

    @staticmethod
    def _advance_change(
        case_id: str,
        event_id: str,
        status: ReferralStatus,
        fields: dict[str, Any],
        at: datetime,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # Guarded on the earlier statuses, so a late event never moves a referral backwards;
        # one atomic update, so no lock is needed; the inbox makes a redelivery a no-op.
        return (
            {
                "_id": case_id,
                "status": {"$in": statuses_before(status)},
                **unseen(event_id),
            },
            {
                "$set": {"status": status.value, **fields},
                "$push": {"history": {"status": status.value, "at": at, "event_id": event_id}},
                **mark_seen(event_id),
            },
        )

    # --- people index ---------------------------------------------------------------------

    async def key_owners(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(keys)
        if not wanted:
            return {}
        docs = await self.person_keys.find({"_id": {"$in": wanted}}).to_list()
        return {d["_id"]: d["person_id"] for d in docs}

    async def keys_of(self, person_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(set(person_ids))
        if not ids:
            return {}
        result: dict[str, list[str]] = {p: [] for p in ids}
        async for doc in self.person_keys.find({"person_id": {"$in": ids}}):
            result[doc["person_id"]].append(doc["_id"])
        return result

    async def claim_key(self, key: str, person_id: str, at: datetime) -> str:
        """Give `key` to `person_id` unless someone holds it already; returns the holder."""
        try:
            await self.person_keys.insert_one({"_id": key, "person_id": person_id, "at": at})
        except DuplicateKeyError:
            existing = await self.person_keys.find_one({"_id": key})
            return str(existing["person_id"]) if existing else person_id
        return person_id

    async def record_referrals_of(
        self, entries: Sequence[tuple[str, str, str, Sequence[str]]], at: datetime
    ) -> None:
        """(person id, referral id, organisation, possible matches) into the people index, in
        one bulk write. Idempotent: the sets only grow, so a retry adds nothing twice."""
        people: list[Upsert] = []
        links: list[UpdateOne] = []
        for person_id, referral_id, organisation, possible_matches in entries:
            grow: dict[str, Any] = {"referral_ids": referral_id, "organisations": organisation}
            if possible_matches:
                grow["possible_matches"] = {"$each": list(possible_matches)}
            first = {
                "referral_ids": [referral_id],
                "organisations": [organisation],
                "possible_matches": list(possible_matches),
                "created_at": at,
            }
            people.append(Upsert(person_id, {"$addToSet": grow}, first))
            links.extend(
                UpdateOne({"_id": other}, {"$addToSet": {"possible_matches": person_id}})
                for other in possible_matches
            )
        await bulk_upsert(self.people, people)
        if links:
            await self.people.bulk_write(links, ordered=False)

    async def get_person(self, person_id: str) -> Document | None:
        return await self.people.find_one({"_id": person_id})

    async def closures_of_many(self, person_ids: Iterable[str]) -> dict[str, list[Closure]]:
        ids = list(set(person_ids))
        return {
            person["_id"]: [
                Closure(c["case_id"], c["closed_at"], ClosureReason(c["reason"]))
                for c in person.get("closures", [])
            ]
            async for person in self.people.find({"_id": {"$in": ids}, "closures": {"$ne": []}})
        }

    async def record_closure(self, person_id: str, event_id: str, closure: Closure) -> None:
        entry = {
            "case_id": closure.case_id,
            "closed_at": closure.closed_at,
            "reason": closure.reason.value,
        }
        await write_once(
            self.people,
            {"_id": person_id},
            {"$push": {"closures": entry}, "$setOnInsert": {"created_at": closure.closed_at}},
            event_id=event_id,
            upsert=True,
        )
