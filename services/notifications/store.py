"""The notifications service's own collections; the only module that talks to MongoDB.

- deliveries: one document per (event, recipient, channel), _id derived from the three, so a
  redelivered event inserts nothing; the attempt log lives in the document; outbox-watched.
- cases: projection of who holds a case (worker emails from CaseAllocated/CaseReallocated,
  the referrer from ReferralReceived/ReferralAssessed).
- contacts: ContactDetailsShared, keyed by case id and person id.
- templates, organisation_settings: per-organisation overrides of the defaults.
- letters: rendered letter PDFs, keyed by delivery id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import Binary
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError

from services.notifications.consent import ClientContact
from services.notifications.routing import CaseFacts, OrgSettings
from services.notifications.templates import DEFAULT_TEMPLATES, Template
from shared.bulk import Upsert, bulk_upsert, duplicate_ids
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.mongo import Collection, Document
from shared.outbox import document_with_events, outbox_update, write_once
from shared.runtime import ServiceRuntime

PENDING, SENDING, SENT, PARKED, SUPPRESSED = "pending", "sending", "sent", "parked", "suppressed"
DUE = [PENDING, SENDING]  # a "sending" whose lease ran out was interrupted: try it again


class _TtlCache:
    """Templates and organisation settings change rarely and are read on every event."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        hit = self.values.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        self.values[key] = (time.monotonic() + self.seconds, value)

    def drop(self, key: str) -> None:
        self.values.pop(key, None)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class NotificationStore:
    def __init__(self, runtime: ServiceRuntime, cache_seconds: float = 5.0) -> None:
        self.deliveries: Collection = runtime.collection("deliveries", outbox=True)
        self.cases: Collection = runtime.collection("cases")
        self.contacts: Collection = runtime.collection("contacts")
        self.templates: Collection = runtime.collection("templates")
        self.settings: Collection = runtime.collection("organisation_settings")
        self.letters: Collection = runtime.collection("letters")
        self._cache = _TtlCache(cache_seconds)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index([("status", 1), ("due_at", 1)])
        await self.deliveries.create_index([("organisation", 1), ("case_id", 1), ("created_at", 1)])
        await self.deliveries.create_index([("organisation", 1), ("status", 1), ("created_at", 1)])
        await self.cases.create_index([("tenancy_id", 1)])
        await self.contacts.create_index([("case_id", 1)])

    # --- projections ------------------------------------------------------------------------

    async def record_case(self, event_id: str, case_id: str, values: dict[str, Any]) -> None:
        """Apply one event's facts about a case, once (older facts are not re-applied)."""
        await write_once(
            self.cases,
            {"_id": case_id},
            {"$set": _without_none(values)},
            event_id=event_id,
            upsert=True,
        )

    async def record_cases(self, facts: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """`record_case` for (event id, case id, values) of a whole poll, in a few round trips."""
        await bulk_upsert(
            self.cases,
            [
                Upsert(case_id, {"$set": _without_none(values)}, _without_none(values)).once(
                    event_id
                )
                for event_id, case_id, values in facts
            ],
        )

    async def cases_facts(self, case_ids: Iterable[str]) -> dict[str, CaseFacts]:
        ids = list(set(case_ids))
        found = [
            _case_from(doc) async for doc in self.cases.find({"_id": {"$in": ids}}, {"_inbox": 0})
        ]
        return {facts.case_id: facts for facts in found if facts is not None}

    async def case_facts(self, case_id: str) -> CaseFacts | None:
        doc = await self.cases.find_one({"_id": case_id}, {"_inbox": 0})
        return _case_from(doc)

    async def open_cases_for_tenancies(self, tenancy_ids: Iterable[str]) -> dict[str, CaseFacts]:
        ids = list(set(tenancy_ids))
        found = [
            _case_from(doc)
            async for doc in self.cases.find(
                {"tenancy_id": {"$in": ids}, "open": True}, {"_inbox": 0}
            )
        ]
        return {facts.tenancy_id: facts for facts in found if facts and facts.tenancy_id}

    async def record_contact(self, event_id: str, values: dict[str, Any]) -> None:
        key = contact_key(values["case_id"], values["person_id"])
        await write_once(
            self.contacts, {"_id": key}, {"$set": values}, event_id=event_id, upsert=True
        )

    async def contact(self, case_id: str, person_id: str | None) -> ClientContact | None:
        if person_id is None:
            doc = await self.contacts.find_one({"case_id": case_id}, {"_inbox": 0})
        else:
            doc = await self.contacts.find_one({"_id": contact_key(case_id, person_id)})
        if doc is None:
            return None
        return ClientContact(
            person_id=doc["person_id"],
            case_id=doc["case_id"],
            display_name=doc.get("display_name", ""),
            email=doc.get("email"),
            mobile=doc.get("mobile"),
            postal_address=tuple(doc.get("postal_address") or ()),
            preferred_channels=tuple(doc.get("preferred_channels") or ()),
            consented_channels=tuple(doc.get("consented_channels") or ()),
            share_with=tuple(doc.get("share_with") or ()),
        )

    # --- organisation settings and templates ------------------------------------------------

    async def org_settings(self, organisation: str) -> OrgSettings:
        cached, value = self._cache.get(f"settings|{organisation}")
        if cached:
            return value
        doc = await self.settings.find_one({"_id": organisation})
        settings = _settings_from(organisation, doc)
        self._cache.put(f"settings|{organisation}", settings)
        return settings

    async def org_settings_for(self, organisations: list[str]) -> dict[str, OrgSettings]:
        unique = [org for org in dict.fromkeys(organisations) if org]
        found = await asyncio.gather(*(self.org_settings(org) for org in unique))
        return dict(zip(unique, found, strict=True))

    async def put_org_settings(self, organisation: str, values: dict[str, Any]) -> OrgSettings:
        await self.settings.update_one({"_id": organisation}, {"$set": values}, upsert=True)
        self._cache.drop(f"settings|{organisation}")
        return await self.org_settings(organisation)

    async def template(self, organisation: str, key: str) -> Template:
        cached, value = self._cache.get(f"template|{organisation}|{key}")
        if cached:
            return value
        doc = await self.templates.find_one({"_id": template_key(organisation, key)})
        template = _template_from(key, doc)
        self._cache.put(f"template|{organisation}|{key}", template)
        return template

    async def customised_templates(self, organisation: str) -> set[str]:
        docs = await self.templates.find({"organisation": organisation}, {"key": 1}).to_list()
        return {doc["key"] for doc in docs}

    async def put_template(self, organisation: str, key: str, values: dict[str, Any]) -> Template:
        await self.templates.update_one(
            {"_id": template_key(organisation, key)},
            {"$set": {**values, "organisation": organisation, "key": key}},
            upsert=True,
        )
        self._cache.drop(f"template|{organisation}|{key}")
        return await self.template(organisation, key)

    # --- deliveries ---------------------------------------------------------------------------

    async def insert_deliveries(self, documents: list[Document]) -> int:
        """One round trip for all of an event's deliveries; repeats are silently skipped."""
        if not documents:
            return 0
        try:
            result = await self.deliveries.insert_many(documents, ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            return len(documents) - len(duplicate_ids(exc))  # repeats: skipped

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Document]:
        """Deliveries due now, claimed for this worker until `now + lease`: three round trips
        per batch, and a delivery another replica claimed meanwhile is not taken twice."""
        candidates = (
            await self.deliveries.find(
                {"status": {"$in": DUE}, "due_at": {"$lte": now}}, {"_id": 1}
            )
            .sort("due_at", 1)
            .limit(limit)
            .to_list()
        )
        if not candidates:
            return []
        token = new_id()
        await self.deliveries.update_many(
            {
                "_id": {"$in": [doc["_id"] for doc in candidates]},
                "status": {"$in": DUE},
                "due_at": {"$lte": now},
            },
            {"$set": {"status": SENDING, "due_at": now + lease, "claim": token}},
        )
        return await self.deliveries.find({"claim": token, "status": SENDING}).to_list()

    async def mark_sent_many(
        self, sent: Sequence[tuple[Document, str, Envelope]], now: datetime
    ) -> list[Document]:
        """Record deliveries sent (doc, provider reference, NotificationSent) in one round
        trip, each guarded on its claim; returns what the relay flushes: each document's
        queued event and the batch's outbox token."""
        if not sent:
            return []
        token = new_id()  # one token for the batch: the relay clears every outbox in one update
        await self.deliveries.bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"], "status": SENDING},
                    {
                        "$set": {
                            "status": SENT,
                            "sent_at": now,
                            "provider_reference": reference,
                            "reason": None,
                            "updated_at": now,
                            **outbox_update([event], token)["$set"],
                        },
                        "$inc": {"attempts": 1, "cycle_attempts": 1},
                        "$push": {
                            "attempt_log": {"at": now, "outcome": "sent", "reference": reference}
                        },
                    },
                )
                for doc, reference, event in sent
            ],
            ordered=False,
        )
        return [document_with_events({"_id": doc["_id"]}, [event], token) for doc, _, event in sent]

    async def mark_retry(
        self, doc: Document, now: datetime, reason: str, retry_at: datetime
    ) -> None:
        await self.deliveries.update_one(
            {"_id": doc["_id"], "status": SENDING},
            {
                "$set": {
                    "status": PENDING,
                    "due_at": retry_at,
                    "reason": reason,
                    "updated_at": now,
                },
                "$inc": {"attempts": 1, "cycle_attempts": 1},
                "$push": {
                    "attempt_log": {
                        "at": now,
                        "outcome": "failed",
                        "reason": reason,
                        "retry_at": retry_at,
                    }
                },
            },
        )

    async def mark_parked(
        self, doc: Document, now: datetime, reason: str, events: list[Envelope]
    ) -> Document | None:
        return await write_once(
            self.deliveries,
            {"_id": doc["_id"], "status": SENDING},
            {
                "$set": {"status": PARKED, "reason": reason, "parked_at": now, "updated_at": now},
                "$inc": {"attempts": 1, "cycle_attempts": 1},
                "$push": {"attempt_log": {"at": now, "outcome": "parked", "reason": reason}},
            },
            events=events,
        )

    async def resend(self, organisation: str, delivery_id: str, now: datetime) -> Document | None:
        """A parked delivery back in the queue with a fresh retry budget; None if not parked."""
        doc = await self.deliveries.find_one_and_update(
            {"_id": delivery_id, "organisation": organisation, "status": PARKED},
            {
                "$set": {"status": PENDING, "due_at": now, "cycle_attempts": 0, "updated_at": now},
                "$inc": {"resends": 1},
                "$push": {"attempt_log": {"at": now, "outcome": "resend requested"}},
            },
            return_document=ReturnDocument.AFTER,
        )
        # FerretDB has no projection on findAndModify: hide the private fields here.
        return None if doc is None else {k: v for k, v in doc.items() if k not in PUBLIC_PROJECTION}

    async def delivery(self, organisation: str, delivery_id: str) -> Document | None:
        return await self.deliveries.find_one(
            {"_id": delivery_id, "organisation": organisation}, PUBLIC_PROJECTION
        )

    async def list_deliveries(
        self, organisation: str, case_id: str | None, status: str | None, limit: int
    ) -> list[Document]:
        query: dict[str, Any] = {"organisation": organisation}
        if case_id is not None:
            query["case_id"] = case_id
        if status is not None:
            query["status"] = status
        cursor = self.deliveries.find(query, PUBLIC_PROJECTION).sort("created_at", 1).limit(limit)
        return await cursor.to_list()

    # --- letters ------------------------------------------------------------------------------

    async def letter(self, delivery_id: str) -> bytes | None:
        doc = await self.letters.find_one({"_id": delivery_id})
        return bytes(doc["pdf"]) if doc else None

    async def save_letter(
        self, delivery_id: str, organisation: str, pdf: bytes, now: datetime
    ) -> None:
        await self.letters.update_one(
            {"_id": delivery_id},
            {"$setOnInsert": {"pdf": Binary(pdf), "organisation": organisation, "at": now}},
            upsert=True,
        )


# Operators see the log, not the message bodies (they may hold personal details).
PUBLIC_PROJECTION = {
    "body": 0,
    "personalisation": 0,
    "letter_address": 0,
    "_outbox": 0,
    "_outbox_pending": 0,
    "_outbox_at": 0,
    "_outbox_lease": 0,
}


def contact_key(case_id: str, person_id: str) -> str:
    return f"{case_id}|{person_id}"


def template_key(organisation: str, key: str) -> str:
    return f"{organisation}|{key}"


def _case_from(doc: Document | None) -> CaseFacts | None:
    if doc is None or not doc.get("organisation"):
        return None
    return CaseFacts(
        case_id=doc["_id"],
        organisation=doc["organisation"],
        person_id=doc.get("person_id"),
        lead_worker_email=doc.get("lead_worker_email"),
        team_leader_email=doc.get("team_leader_email"),
        referrer_organisation=doc.get("referrer_organisation"),
        referrer_email=doc.get("referrer_email"),
        tenancy_id=doc.get("tenancy_id"),
    )


def _settings_from(organisation: str, doc: Document | None) -> OrgSettings:
    if doc is None:
        return OrgSettings(organisation=organisation)
    defaults = OrgSettings(organisation=organisation)
    return OrgSettings(
        organisation=organisation,
        display_name=doc.get("display_name"),
        notice_email=doc.get("notice_email"),
        webhook_url=doc.get("webhook_url"),
        housing_officer_email=doc.get("housing_officer_email"),
        sharing_agreements=tuple(doc.get("sharing_agreements") or ()),
        local_support=doc.get("local_support") or defaults.local_support,
        crisis_support=doc.get("crisis_support") or defaults.crisis_support,
    )


def _template_from(key: str, doc: Document | None) -> Template:
    default = DEFAULT_TEMPLATES[key]
    if doc is None:
        return default
    return Template(
        key=key,
        subject=doc.get("subject") or default.subject,
        body=doc.get("body") or default.body,
        letter=default.letter,
        notify_template_id=doc.get("notify_template_id") or default.notify_template_id,
    )
