"""The referral service's own collections (intake part); the only module that talks to MongoDB.

- `referrals`: one document per referral (_id = referral id = case id), with the submission
  (personal data stays here), screening outcome, status and its history. Outbox-enabled.
- `people`: the people index, one document per pseudonymous person id (a person id belongs to
  one organisation): which referrals, possible matches (linked, not merged), closed cases (for
  the repeat cycle).
- `person_keys`: keyed match keys (HMAC, `person_matching.py`) per organisation: `_id` is
  `<organisation>|<key>`, so each organisation's index is its own and claiming is atomic.
- `agreements`: this service's copy of the data-sharing agreements (`shared/agreement_book.py`).

A referral for a person who already has an open referral in the same organisation is kept and
linked to it (`possible_duplicate_of`, `linked_referrals` on both), never merged here.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.referral.referral import Referral
from services.referral.repeat_cycle import Closure
from services.referral.status import ReferralStatus, statuses_before
from shared.codes import ClosureReason, Route
from shared.events.envelope import Envelope
from shared.mongo import Collection, Document
from shared.repository import RawDocuments, Repository, bson_safe
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

# A referral someone is (or will be) working: not closed, and routed to a service of ours.
OPEN_STATUSES = [s.value for s in ReferralStatus if s is not ReferralStatus.CLOSED]
OPEN_ROUTES = [Route.SUPPORT.value, Route.RECONNECTION.value]
MAX_LINKED = 20


class ReferralRepository(Repository[Referral]):
    """`_id` is the referral id."""

    def to_document(self, model: Referral) -> Document:
        fields = bson_safe(model.model_dump(mode="python", exclude={"referral_id"}))
        return dict(fields)

    def from_document(self, document: Document) -> Referral:
        return Referral.model_validate({**document, "referral_id": document["_id"]})


class ReferralStore:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.referrals: Collection = runtime.collection("referrals", outbox=True)
        runtime.use_outbox_batches()  # the intake inserts a poll's referrals in bulk
        self.repository = ReferralRepository(self.referrals, Referral, "referral_id")
        self.people: Collection = runtime.collection("people")
        self.person_records = RawDocuments(self.people)  # sets that grow, closures appended
        self.person_keys: Collection = runtime.collection("person_keys")
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.referrals.create_index([("organisation", ASCENDING), ("status", ASCENDING)])
        await self.referrals.create_index([("organisation", ASCENDING), ("person_id", ASCENDING)])
        await self.referrals.create_index([("person_id", ASCENDING)])
        await self.person_keys.create_index([("person_id", ASCENDING)])

    # --- referrals ------------------------------------------------------------------------

    async def get(self, referral_id: str) -> Referral | None:
        loaded = await self.repository.get(referral_id)
        return loaded.model if loaded else None

    async def get_for(self, organisation: str, referral_id: str) -> Referral | None:
        loaded = await self.repository.get(referral_id, organisation=organisation)
        return loaded.model if loaded else None

    async def list_for(
        self,
        organisation: str,
        status: ReferralStatus | None,
        person_id: str | None,
        limit: int,
        reach: dict[str, Any] | None = None,
        ids: list[str] | None = None,
    ) -> list[Referral]:
        query: dict[str, Any] = {"organisation": organisation, **(reach or {})}
        if ids:
            query["_id"] = {"$in": ids}
            limit = max(limit, len(ids))
        if status is not None:
            query["status"] = status.value
        if person_id is not None:
            query["person_id"] = person_id
        found = await self.repository.find(query, sort=[("received_at", DESCENDING)], limit=limit)
        return [loaded.model for loaded in found]

    async def get_many(self, referral_ids: Iterable[str]) -> dict[str, Referral]:
        found = await self.repository.get_many(referral_ids)
        return {rid: loaded.model for rid, loaded in found.items()}

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

    def add(self, uow: UnitOfWork, referral: Referral, events: Sequence[Envelope]) -> None:
        """A new referral with its events (skipped with them if its id exists)."""
        uow.add(self.repository, referral, events)

    def link(self, uow: UnitOfWork, open_id: str, newer_id: str) -> None:
        """The open referral names the newer one too, so whoever looks at either sees both.
        Idempotent (a set), so a retry adds nothing."""
        update = {"$addToSet": {"linked_referrals": newer_id}}
        uow.change(self.repository, open_id, update, idempotent=True)

    def advance(
        self,
        uow: UnitOfWork,
        case_id: str,
        event_id: str,
        status: ReferralStatus,
        fields: dict[str, Any],
        at: datetime,
    ) -> None:
        """Move the referral on to `status` once per event. Guarded on the earlier statuses,
        so a late event never moves a referral backwards; one atomic update, no lock."""
        uow.change(
            self.repository,
            case_id,
            {
                "$set": {"status": status.value, **fields},
                "$push": {"history": {"status": status.value, "at": at, "event_id": event_id}},
            },
            event_id=event_id,
            guard={"status": {"$in": statuses_before(status)}},
        )

    # --- people index ---------------------------------------------------------------------

    async def key_owners(
        self, organisations: Iterable[str], keys: Iterable[str]
    ) -> dict[str, dict[str, str]]:
        """organisation -> (key -> person id) in those organisations' indexes; one `_id $in`."""
        orgs, wanted = sorted(set(organisations)), list(dict.fromkeys(keys))
        result: dict[str, dict[str, str]] = {o: {} for o in orgs}
        if not orgs or not wanted:
            return result
        ids = [_key_id(o, k) for o in orgs for k in wanted]
        async for doc in self.person_keys.find({"_id": {"$in": ids}}):
            result[doc["organisation"]][doc["key"]] = doc["person_id"]
        return result

    async def keys_of(self, person_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(set(person_ids))
        if not ids:
            return {}
        result: dict[str, list[str]] = {p: [] for p in ids}
        async for doc in self.person_keys.find({"person_id": {"$in": ids}}):
            if "key" in doc:  # entries of the unkeyed index before HMAC keys are ignored
                result[doc["person_id"]].append(doc["key"])
        return result

    async def claim_key(
        self, organisation: str, key: str, person_id: str, at: datetime
    ) -> tuple[str, bool]:
        """Give `key` to `person_id` in `organisation`'s index unless someone there holds it
        already; returns the holder, and whether this call gave it."""
        _id = _key_id(organisation, key)
        entry = {"_id": _id, "organisation": organisation, "key": key, "person_id": person_id}
        try:
            await self.person_keys.insert_one({**entry, "at": at})
        except DuplicateKeyError:
            existing = await self.person_keys.find_one({"_id": _id})
            return (str(existing["person_id"]) if existing else person_id), False
        return person_id, True

    def record_referrals_of(
        self,
        uow: UnitOfWork,
        entries: Sequence[tuple[str, str, str, Sequence[str]]],
        at: datetime,
        known: Container[str] | None = None,
    ) -> None:
        """(person id, referral id, organisation, possible matches) into the people index.
        Idempotent: the sets only grow, so a retry adds nothing twice. `known`: the people
        whose entry was just read (`people_of_many`); the others' entries are inserted without
        reading again whether they exist (one that does is updated all the same)."""
        for person_id, referral_id, organisation, possible_matches in entries:
            grow: dict[str, Any] = {"referral_ids": referral_id, "organisations": organisation}
            if possible_matches:
                grow["possible_matches"] = {"$each": list(possible_matches)}
            first = {
                "referral_ids": [referral_id],
                "organisations": [organisation],
                "possible_matches": list(possible_matches),
                "closures": [],
                "created_at": at,
            }
            likely_new = known is not None and person_id not in known
            uow.upsert(
                self.person_records,
                person_id,
                {"$addToSet": grow},
                first,
                idempotent=True,
                likely_new=likely_new,
            )
            for other in possible_matches:
                link = {"$addToSet": {"possible_matches": person_id}}
                uow.change(self.person_records, other, link, idempotent=True)

    async def decide_match(
        self, referral_id: str, person_id: str, same_person: bool, by: str, at: datetime
    ) -> bool:
        """A possible match resolved by a person: off the referral's and both people's lists
        of possible matches; kept as `confirmed_matches` when the same person (linked, still
        not merged). False when it was no (longer a) possible match of the referral."""
        decision = {"person_id": person_id, "same_person": same_person, "by": by, "at": at}
        changed = await self.referrals.update_one(
            {"_id": referral_id, "possible_matches": person_id},
            {
                "$pull": {"possible_matches": person_id},
                "$push": {"match_decisions": decision},
                "$inc": {"version": 1},
            },
        )
        if not changed.modified_count:
            return False
        referral = await self.referrals.find_one({"_id": referral_id}, {"person_id": 1})
        mine = str(referral["person_id"]) if referral else ""
        for one, other in ((mine, person_id), (person_id, mine)):
            update: dict[str, Any] = {"$pull": {"possible_matches": other}}
            if same_person:
                update["$addToSet"] = {"confirmed_matches": other}
            await self.people.update_one({"_id": one}, update)
        return True

    async def get_person(self, person_id: str) -> Document | None:
        return await self.people.find_one({"_id": person_id})

    async def people_of_many(self, person_ids: Iterable[str]) -> dict[str, list[Closure]]:
        """The people of these ids that have an index entry, with their closed cases (for
        the repeat cycle): one read, which also tells the intake whose entry is new."""
        ids = list(set(person_ids))
        if not ids:
            return {}
        return {
            person["_id"]: [
                Closure(c["case_id"], c["closed_at"], ClosureReason(c["reason"]))
                for c in person.get("closures") or []
            ]
            async for person in self.people.find({"_id": {"$in": ids}}, {"closures": 1})
        }

    def record_closure(
        self, uow: UnitOfWork, person_id: str, event_id: str, closure: Closure
    ) -> None:
        entry = {
            "case_id": closure.case_id,
            "closed_at": closure.closed_at,
            "reason": closure.reason.value,
        }
        uow.upsert(
            self.person_records,
            person_id,
            {"$push": {"closures": entry}},
            {"closures": [entry], "created_at": closure.closed_at},
            event_id=event_id,
        )


def _key_id(organisation: str, key: str) -> str:
    """Unambiguous: a key never holds `|`, so the last `|` splits the two."""
    return f"{organisation}|{key}"


class PersonRecords:
    """What the referral service holds about one person, read and erased for the privacy
    service (issue 16): the person's referrals, their people-index entry and match keys."""

    def __init__(self, store: ReferralStore) -> None:
        self.store = store

    async def referrals(
        self, organisation: str, person_id: str, case_ids: Sequence[str] | None = None
    ) -> list[Document]:
        """The person's referrals in the organisation (only `case_ids`, when given), raw:
        the bundle shows what is stored, bookkeeping aside."""
        query: dict[str, Any] = {"organisation": organisation, "person_id": person_id}
        if case_ids is not None:
            query["_id"] = {"$in": list(case_ids)}
        return await self.store.referrals.find(query).to_list(None)

    async def match_keys(self, organisation: str, person_id: str) -> list[Document]:
        query = {"person_id": person_id, "organisation": organisation}
        return await self.store.person_keys.find(query).to_list(None)

    def deidentify_referral(self, uow: UnitOfWork, referral_id: str, update: Document) -> None:
        """Once: a referral de-identified already is left as it is."""
        guard = {"deidentified_at": None}
        uow.change(self.store.repository, referral_id, update, guard=guard, idempotent=True)

    def keep_cases(
        self, uow: UnitOfWork, person_id: str, referral_ids: list[str], closures: list[Document]
    ) -> None:
        """The people-index entry with only these referrals and closures left."""
        update = {"$set": {"referral_ids": referral_ids, "closures": closures}}
        uow.change(self.store.person_records, person_id, update, idempotent=True)

    async def forget(
        self, organisation: str, person_id: str, entry_too: bool = True
    ) -> tuple[int, int]:
        """The person out of the organisation's match keys and (`entry_too`) the people index
        and others' possible matches; returns (index entries, keys) deleted. Deletions cause
        no events."""
        people = await self.store.people.delete_one({"_id": person_id}) if entry_too else None
        keys = await self.store.person_keys.delete_many(
            {"person_id": person_id, "organisation": organisation}
        )
        if entry_too:
            await self.store.people.update_many(
                {"possible_matches": person_id}, {"$pull": {"possible_matches": person_id}}
            )
        return (people.deleted_count if people else 0), keys.deleted_count
