"""The notifications service's own collections, read as typed records; the only module that
talks to MongoDB. Changes are staged here on a `UnitOfWork` (`store.unit()`) and committed by
the handlers, the worker and the API, which publishes their events through the one relay.

- deliveries: one document per (fact, recipient, channel), _id derived from the three, so a
  redelivered event, or another event telling the same fact (facts.py), inserts nothing; the
  attempt log lives in the document; outbox-watched.
- cases: projection of who holds a case (worker emails from CaseAllocated/CaseReallocated,
  the referrer from ReferralReceived/ReferralAssessed).
- contacts: ContactDetailsShared, keyed by case id and person id; dropped when the case's
  consent no longer covers contact (issue 16).
- consents: each case's consent as ConsentChanged told it (the highest version), asked when a
  delivery is planned and again before each send.
- tenancy_references: the landlord's own reference of each tenancy id, as
  TenancyReferenceShared told it, for notices that show it (tenancy ids are keyed pseudonyms).
- templates, organisation_settings: per-organisation overrides of the defaults.
- letters: rendered letter PDFs, keyed by delivery id.
- webhook_endpoints: partner systems an organisation registered, each with its own secrets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from services.notifications.consent import ClientContact
from services.notifications.routing import CaseFacts, OrgSettings
from services.notifications.templates import DEFAULT_TEMPLATES, Template
from shared.consent import Consent
from shared.consent_repository import STORED_VERSION, ConsentRepository
from shared.events.envelope import Envelope
from shared.ids import new_id
from shared.mongo import Collection, Document
from shared.repository import VERSION, Loaded, Repository, bson_safe
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    PARKED = "parked"
    SUPPRESSED = "suppressed"


PENDING, SENDING, SENT, PARKED, SUPPRESSED = (
    Status.PENDING,
    Status.SENDING,
    Status.SENT,
    Status.PARKED,
    Status.SUPPRESSED,
)
DUE = [PENDING.value, SENDING.value]  # a "sending" whose lease ran out was interrupted


# --- records ----------------------------------------------------------------------------------


class Attempt(BaseModel):
    """One line of a delivery's attempt log (stored without the fields it has no value for)."""

    at: datetime
    outcome: str
    reason: str | None = None
    reference: str | None = None
    retry_at: datetime | None = None

    def entry(self) -> Document:
        return self.model_dump(exclude_none=True)


class DeliveryRecord(BaseModel):
    """One notification to one recipient by one channel, with its attempts and its claim."""

    delivery_id: str
    # The fact it tells when several events tell it (services/notifications/facts.py): the
    # first of them to arrive is the trigger, the others add nothing.
    fact_id: str | None = None
    organisation: str
    case_id: str
    trigger_event_id: str
    trigger_event_type: str
    correlation_id: str | None = None
    recipient_role: str
    recipient_key: str
    recipient_org: str | None = None
    channel: str | None = None
    address: str | None = None
    template: str
    urgent: bool = False
    status: Status
    reason: str | None = None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    attempts: int = 0
    cycle_attempts: int = 0  # since the last resend: the retry budget
    resends: int | None = None  # counted from the first resend
    attempt_log: list[Attempt] = []
    # The message, rendered when planned (absent for a suppressed delivery).
    subject: str | None = None
    body: str | None = None
    letter: bool | None = None
    provider_template_id: str | None = None
    personalisation: dict[str, str] | None = None
    letter_address: list[str] | None = None
    claim: str | None = None  # the worker claim (lease) that last took it
    sent_at: datetime | None = None
    provider_reference: str | None = None
    parked_at: datetime | None = None


class CaseRecord(BaseModel):
    """What the events told this service about a case; each event adds what it knows."""

    case_id: str
    organisation: str | None = None
    person_id: str | None = None
    lead_worker_id: str | None = None
    lead_worker_email: str | None = None
    team_leader_id: str | None = None
    team_leader_email: str | None = None
    tenancy_id: str | None = None
    referrer_organisation: str | None = None
    referrer_email: str | None = None
    open: bool | None = None

    def facts(self) -> CaseFacts | None:
        if not self.organisation:
            return None  # only a contact or a closure heard of so far: not routable
        return CaseFacts(
            case_id=self.case_id,
            organisation=self.organisation,
            person_id=self.person_id,
            lead_worker_email=self.lead_worker_email,
            team_leader_email=self.team_leader_email,
            referrer_organisation=self.referrer_organisation,
            referrer_email=self.referrer_email,
            tenancy_id=self.tenancy_id,
        )


class ContactRecord(BaseModel):
    """A person's contact details and consent on one case, as ContactDetailsShared told them."""

    person_id: str
    case_id: str
    display_name: str = ""
    email: str | None = None
    mobile: str | None = None
    postal_address: list[str] = []
    preferred_channels: list[str] = []
    consented_channels: list[str] = []
    share_with: list[str] = []
    consent_version: int | None = None  # the case's consent they were shared under

    @property
    def contact_id(self) -> str:
        return contact_key(self.case_id, self.person_id)

    def client(self) -> ClientContact:
        return ClientContact(
            person_id=self.person_id,
            case_id=self.case_id,
            display_name=self.display_name,
            email=self.email,
            mobile=self.mobile,
            postal_address=tuple(self.postal_address),
            preferred_channels=tuple(self.preferred_channels),
            consented_channels=tuple(self.consented_channels),
            share_with=tuple(self.share_with),
        )


class TenancyReferenceRecord(BaseModel):
    """The landlord's own reference a tenancy id stands for (TenancyReferenceShared)."""

    tenancy_id: str
    landlord: str
    reference: str


class TemplateRecord(BaseModel):
    """An organisation's version of a template; what it leaves out comes from the default."""

    organisation: str
    key: str
    subject: str | None = None
    body: str | None = None
    notify_template_id: str | None = None

    @property
    def template_id(self) -> str:
        return template_key(self.organisation, self.key)

    def template(self) -> Template:
        default = DEFAULT_TEMPLATES[self.key]
        return Template(
            key=self.key,
            subject=self.subject or default.subject,
            body=self.body or default.body,
            letter=default.letter,
            notify_template_id=self.notify_template_id or default.notify_template_id,
        )


class SettingsRecord(BaseModel):
    """An organisation's notification settings as stored (unset texts fall back to defaults)."""

    organisation: str
    display_name: str | None = None
    notice_email: str | None = None
    webhook_url: str | None = None
    housing_officer_email: str | None = None
    local_support: str | None = None
    crisis_support: str | None = None

    def settings(self) -> OrgSettings:
        defaults = OrgSettings(organisation=self.organisation)
        return OrgSettings(
            organisation=self.organisation,
            display_name=self.display_name,
            notice_email=self.notice_email,
            webhook_url=self.webhook_url,
            housing_officer_email=self.housing_officer_email,
            local_support=self.local_support or defaults.local_support,
            crisis_support=self.crisis_support or defaults.crisis_support,
        )


WEBHOOK_ADDRESS_PREFIX = "endpoints:"


def webhook_address(organisation: str) -> str:
    """A webhook delivery's address: the organisation's registered endpoints, looked up when
    sent (so a delivery log never shows a partner's URL to another organisation)."""
    return WEBHOOK_ADDRESS_PREFIX + organisation


class WebhookSecret(BaseModel):
    secret: str = Field(repr=False)  # never in a log line or a repr
    created_at: datetime
    expires_at: datetime | None = None  # set when rotated out: signs until then


class WebhookEndpointRecord(BaseModel):
    """A partner system of one organisation: where, which events, and its signing secrets."""

    endpoint_id: str
    organisation: str
    url: str
    description: str | None = None
    event_types: list[str] = []  # empty: every event routed to the organisation's webhook
    enabled: bool = True
    created_at: datetime
    updated_at: datetime
    secrets: list[WebhookSecret] = Field(default=[], repr=False)  # newest first

    def live_secrets(self, now: datetime) -> list[str]:
        return [s.secret for s in self.secrets if s.expires_at is None or s.expires_at > now]

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)

    def rotated(self, secret: str, now: datetime, grace: timedelta) -> WebhookEndpointRecord:
        """`secret` signs from now on; the current one also signs until `now + grace`; any
        older one is dropped (at most two live secrets)."""
        kept = [
            WebhookSecret(secret=s.secret, created_at=s.created_at, expires_at=now + grace)
            for s in self.secrets[:1]
            if s.expires_at is None or s.expires_at > now
        ]
        fresh = WebhookSecret(secret=secret, created_at=now)
        return self.model_copy(update={"secrets": [fresh, *kept], "updated_at": now})


class LetterRecord(BaseModel):
    delivery_id: str
    organisation: str
    pdf: bytes
    at: datetime


# --- repositories -----------------------------------------------------------------------------


class KeyedRepository(Repository[M]):
    """This service's layout: the key is `_id` only (not repeated in a field) and, when
    `sparse`, a field without a value is not stored, so an update sets only what is known."""

    sparse: ClassVar[bool] = False

    def to_document(self, model: M) -> Document:
        fields: Document = bson_safe(
            model.model_dump(exclude={self.id_field}, exclude_none=self.sparse)
        )
        return fields

    def from_document(self, document: Document) -> M:
        return self.model.model_validate({**document, self.id_field: document["_id"]})


class DeliveryRepository(KeyedRepository[DeliveryRecord]):
    sparse = True
    # Always written, with or without a value (the log's shape since the first delivery).
    ALWAYS: ClassVar[tuple[str, ...]] = ("correlation_id", "recipient_org", "channel", "address")

    def to_document(self, model: DeliveryRecord) -> Document:
        fields = super().to_document(model)
        return {**fields, **{name: getattr(model, name) for name in self.ALWAYS}}


class CaseRepository(KeyedRepository[CaseRecord]):
    sparse = True  # facts are learned piecemeal: an event never erases another's


class TemplateRepository(KeyedRepository[TemplateRecord]):
    sparse = True  # a field left out keeps the stored one


class _TtlCache(Generic[V]):
    """Templates and organisation settings change rarely and are read on every event."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.values: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        hit = self.values.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, value: V) -> None:
        self.values[key] = (time.monotonic() + self.seconds, value)

    def drop(self, key: str) -> None:
        self.values.pop(key, None)


class NotificationStore:
    def __init__(self, runtime: ServiceRuntime, cache_seconds: float = 5.0) -> None:
        self.relay = runtime.relay
        self.deliveries: Collection = runtime.collection("deliveries", outbox=True)
        self.cases: Collection = runtime.collection("cases")
        self.contacts: Collection = runtime.collection("contacts")
        self.consents: Collection = runtime.collection("consents")
        self.templates: Collection = runtime.collection("templates")
        self.settings: Collection = runtime.collection("organisation_settings")
        self.letters: Collection = runtime.collection("letters")
        self.webhook_endpoints: Collection = runtime.collection("webhook_endpoints")
        self.tenancy_references: Collection = runtime.collection("tenancy_references")
        self.delivery_records = DeliveryRepository(self.deliveries, DeliveryRecord, "delivery_id")
        self.case_records = CaseRepository(self.cases, CaseRecord, "case_id")
        self.contact_records = KeyedRepository(self.contacts, ContactRecord, "contact_id")
        self.consent_records = ConsentRepository(self.consents)
        self.template_records = TemplateRepository(self.templates, TemplateRecord, "template_id")
        self.settings_records = KeyedRepository(self.settings, SettingsRecord, "organisation")
        self.letter_records = KeyedRepository(self.letters, LetterRecord, "delivery_id")
        self.endpoint_records = KeyedRepository(
            self.webhook_endpoints, WebhookEndpointRecord, "endpoint_id"
        )
        self.reference_records = KeyedRepository(
            self.tenancy_references, TenancyReferenceRecord, "tenancy_id"
        )
        self._settings_cache: _TtlCache[OrgSettings] = _TtlCache(cache_seconds)
        self._template_cache: _TtlCache[Template] = _TtlCache(cache_seconds)
        runtime.on_startup(self.ensure_indexes)

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index([("status", 1), ("due_at", 1)])
        await self.deliveries.create_index([("organisation", 1), ("case_id", 1), ("created_at", 1)])
        await self.deliveries.create_index([("organisation", 1), ("status", 1), ("created_at", 1)])
        await self.cases.create_index([("tenancy_id", 1)])
        await self.contacts.create_index([("case_id", 1)])
        await self.webhook_endpoints.create_index([("organisation", 1)])

    def unit(self) -> UnitOfWork:
        """A unit of work publishing through this service's one relay."""
        return UnitOfWork(self.relay)

    # --- projections ------------------------------------------------------------------------

    def learn_case(self, uow: UnitOfWork, record: CaseRecord, event_id: str) -> None:
        """Stage one event's facts about a case, applied once (a repeat changes nothing); a
        case not seen before is created with them, in bulk when a unit holds many."""
        fields = self.case_records.to_document(record)
        uow.upsert(self.case_records, record.case_id, {"$set": fields}, fields, event_id=event_id)

    def learn_contact(self, uow: UnitOfWork, record: ContactRecord, event_id: str) -> None:
        """Stage a person's details, replacing what an earlier ContactDetailsShared said."""
        fields = self.contact_records.to_document(record)
        uow.upsert(
            self.contact_records, record.contact_id, {"$set": fields}, fields, event_id=event_id
        )

    def learn_consent(self, uow: UnitOfWork, consent: Consent, event_id: str) -> None:
        """Stage a case's consent, kept only if newer than the one held (events of one case
        arrive in order, but a replay or a second copy must never step it back)."""
        fields = self.consent_records.to_document(consent)
        uow.upsert(
            self.consent_records,
            consent.case_id,
            {"$set": fields},
            fields,
            event_id=event_id,
            guard={STORED_VERSION: {"$lt": consent.version}},
        )

    def learn_tenancy_reference(
        self, uow: UnitOfWork, record: TenancyReferenceRecord, event_id: str
    ) -> None:
        """Stage the reference a tenancy id stands for (the same id, the same reference)."""
        fields = self.reference_records.to_document(record)
        uow.upsert(
            self.reference_records, record.tenancy_id, {"$set": fields}, fields, event_id=event_id
        )

    async def tenancy_references_of(self, tenancy_ids: Iterable[str]) -> dict[str, str]:
        """Tenancy id -> the landlord's reference, for those told; one read."""
        ids = {tid for tid in tenancy_ids if tid}
        if not ids:
            return {}
        found = await self.reference_records.get_many(ids)
        return {tid: loaded.model.reference for tid, loaded in found.items()}

    async def consent(self, case_id: str) -> Consent | None:
        loaded = await self.consent_records.get(case_id)
        return None if loaded is None else loaded.model

    async def consents_of(self, case_ids: Iterable[str]) -> dict[str, Consent]:
        found = await self.consent_records.get_many(set(case_ids))
        return {case_id: loaded.model for case_id, loaded in found.items()}

    async def drop_contacts(self, case_id: str, below_version: int) -> int:
        """Forget the person's contact details on a case, as shared under an older consent
        than `below_version` (a re-share under consent given anew stays). A deletion causes
        no event, so it is not a unit of work's change."""
        older = {"$or": [{"consent_version": None}, {"consent_version": {"$lt": below_version}}]}
        result = await self.contacts.delete_many({"case_id": case_id, **older})
        return result.deleted_count

    async def cases_facts(self, case_ids: Iterable[str]) -> dict[str, CaseFacts]:
        found = await self.case_records.get_many(set(case_ids))
        facts = (loaded.model.facts() for loaded in found.values())
        return {f.case_id: f for f in facts if f is not None}

    async def case_facts(self, case_id: str) -> CaseFacts | None:
        loaded = await self.case_records.get(case_id)
        return None if loaded is None else loaded.model.facts()

    async def open_cases_for_tenancies(self, tenancy_ids: Iterable[str]) -> dict[str, CaseFacts]:
        query = {"tenancy_id": {"$in": list(set(tenancy_ids))}, "open": True}
        facts = (loaded.model.facts() for loaded in await self.case_records.find(query))
        return {f.tenancy_id: f for f in facts if f is not None and f.tenancy_id}

    async def contacts_of(
        self, wanted: Iterable[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], ClientContact]:
        """The person's contact details on each (case id, person id) pair, in at most two
        reads: by key where the person is known, else the case's first contact."""
        pairs = set(wanted)
        keyed = {contact_key(c, person): (c, person) for c, person in pairs if person}
        found: dict[tuple[str, str | None], ClientContact] = {}
        for key, loaded in (await self.contact_records.get_many(keyed)).items():
            found[keyed[key]] = loaded.model.client()
        unnamed = sorted({case_id for case_id, person in pairs if person is None})
        if unnamed:
            for loaded in await self.contact_records.find({"case_id": {"$in": unnamed}}):
                found.setdefault((loaded.model.case_id, None), loaded.model.client())
        return found

    # --- organisation settings and templates ------------------------------------------------

    async def org_settings(self, organisation: str) -> OrgSettings:
        cached = self._settings_cache.get(organisation)
        if cached is not None:
            return cached
        loaded = await self.settings_records.get(organisation)
        record = loaded.model if loaded else SettingsRecord(organisation=organisation)
        # Webhooks go only to registered endpoints (their own secrets), never to a URL kept
        # in the settings from before: routing is given a reference to them, or nothing.
        endpoints = await self.endpoints(organisation)
        webhook = webhook_address(organisation) if any(e.enabled for e in endpoints) else None
        settings = replace(record.settings(), webhook_url=webhook)
        self._settings_cache.put(organisation, settings)
        return settings

    async def org_settings_for(self, organisations: list[str]) -> dict[str, OrgSettings]:
        unique = [org for org in dict.fromkeys(organisations) if org]
        found = await asyncio.gather(*(self.org_settings(org) for org in unique))
        return dict(zip(unique, found, strict=True))

    async def put_org_settings(self, record: SettingsRecord) -> OrgSettings:
        """Replace an organisation's settings (every field, unset ones cleared)."""
        fields = self.settings_records.to_document(record)
        uow = self.unit()
        uow.upsert(self.settings_records, record.organisation, {"$set": fields}, fields)
        await uow.commit()
        self._settings_cache.drop(record.organisation)
        return await self.org_settings(record.organisation)

    async def template(self, organisation: str, key: str) -> Template:
        cached = self._template_cache.get(template_key(organisation, key))
        if cached is not None:
            return cached
        loaded = await self.template_records.get(template_key(organisation, key))
        template = loaded.model.template() if loaded else DEFAULT_TEMPLATES[key]
        self._template_cache.put(template_key(organisation, key), template)
        return template

    async def customised_templates(self, organisation: str) -> set[str]:
        docs = await self.templates.find({"organisation": organisation}, {"key": 1}).to_list()
        return {doc["key"] for doc in docs}

    async def put_template(self, record: TemplateRecord) -> Template:
        """Store an organisation's version of a template (a field left out is kept)."""
        fields = self.template_records.to_document(record)
        uow = self.unit()
        uow.upsert(self.template_records, record.template_id, {"$set": fields}, fields)
        await uow.commit()
        self._template_cache.drop(record.template_id)
        return await self.template(record.organisation, record.key)

    # --- deliveries ---------------------------------------------------------------------------

    def add_deliveries(self, uow: UnitOfWork, records: Iterable[DeliveryRecord]) -> None:
        """Stage new deliveries, all inserted in one round trip; one planned before (the same
        event again: the same ids) is skipped."""
        uow.add_many(self.delivery_records, records)

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[DeliveryRecord]:
        """Deliveries due now, claimed for this worker until `now + lease`: three round trips
        per batch, and a delivery another replica claimed meanwhile is not taken twice. A
        query, not a change: the claim causes no event, and the outcome is recorded by a unit
        of work guarded on the status it leaves (`sending`)."""
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
            {
                "$set": {"status": SENDING.value, "due_at": now + lease, "claim": token},
                "$inc": {VERSION: 1},
            },
        )
        claimed = await self.delivery_records.find({"claim": token, "status": SENDING.value})
        return [loaded.model for loaded in claimed]

    def record_sent(
        self,
        uow: UnitOfWork,
        delivery: DeliveryRecord,
        reference: str,
        event: Envelope,
        now: datetime,
    ) -> None:
        """Stage a sent delivery with its NotificationSent, once (the event's id is its inbox
        mark), if still claimed; a wave's worth commit as one bulk write."""
        attempt = Attempt(at=now, outcome="sent", reference=reference)
        update = {
            "$set": {
                "status": SENT.value,
                "sent_at": now,
                "provider_reference": reference,
                "reason": None,
                "updated_at": now,
            },
            "$inc": {"attempts": 1, "cycle_attempts": 1},
            "$push": {"attempt_log": attempt.entry()},
        }
        self._claimed_change(uow, delivery, update, [event])

    def record_retry(
        self,
        uow: UnitOfWork,
        delivery: DeliveryRecord,
        now: datetime,
        reason: str,
        retry_at: datetime,
    ) -> None:
        """Stage a failed attempt: back in the queue at `retry_at`."""
        attempt = Attempt(at=now, outcome="failed", reason=reason, retry_at=retry_at)
        update = {
            "$set": {
                "status": PENDING.value,
                "due_at": retry_at,
                "reason": reason,
                "updated_at": now,
            },
            "$inc": {"attempts": 1, "cycle_attempts": 1},
            "$push": {"attempt_log": attempt.entry()},
        }
        self._claimed_change(uow, delivery, update, [])

    def record_withheld(
        self, uow: UnitOfWork, delivery: DeliveryRecord, now: datetime, reason: str
    ) -> None:
        """Stage a claimed delivery stopped before its send (consent withdrawn or expired
        meanwhile): suppressed with the reason, never sent, never retried."""
        attempt = Attempt(at=now, outcome="suppressed", reason=reason)
        update = {
            "$set": {"status": SUPPRESSED.value, "reason": reason, "updated_at": now},
            "$push": {"attempt_log": attempt.entry()},
        }
        self._claimed_change(uow, delivery, update, [])

    def record_parked(
        self,
        uow: UnitOfWork,
        delivery: DeliveryRecord,
        now: datetime,
        reason: str,
        event: Envelope,
    ) -> None:
        """Stage a delivery given up on, with its NotificationFailed, once."""
        attempt = Attempt(at=now, outcome="parked", reason=reason)
        update = {
            "$set": {"status": PARKED.value, "reason": reason, "parked_at": now, "updated_at": now},
            "$inc": {"attempts": 1, "cycle_attempts": 1},
            "$push": {"attempt_log": attempt.entry()},
        }
        self._claimed_change(uow, delivery, update, [event])

    def _claimed_change(
        self,
        uow: UnitOfWork,
        delivery: DeliveryRecord,
        update: dict[str, Any],
        events: list[Envelope],
    ) -> None:
        # Guarded on `sending`: a delivery whose lease ran out and was recorded by another
        # replica meanwhile is left as that one recorded it.
        uow.change(
            self.delivery_records,
            delivery.delivery_id,
            update,
            events,
            event_id=events[0].id if events else None,
            guard={"status": SENDING.value},
        )

    async def resend(
        self, organisation: str, delivery_id: str, now: datetime
    ) -> DeliveryRecord | None:
        """A parked delivery back in the queue with a fresh retry budget; None if not parked."""
        attempt = Attempt(at=now, outcome="resend requested")
        uow = self.unit()
        uow.change(
            self.delivery_records,
            delivery_id,
            {
                "$set": {
                    "status": PENDING.value,
                    "due_at": now,
                    "cycle_attempts": 0,
                    "updated_at": now,
                },
                "$inc": {"resends": 1},
                "$push": {"attempt_log": attempt.entry()},
            },
            guard={"organisation": organisation, "status": PARKED.value},
        )
        after = (await uow.commit()).documents.get(delivery_id)
        return None if after is None else self.delivery_records.from_document(after)

    async def delivery(self, organisation: str, delivery_id: str) -> DeliveryRecord | None:
        loaded = await self.delivery_records.get(delivery_id, organisation=organisation)
        return None if loaded is None else loaded.model

    async def list_deliveries(
        self, organisation: str, case_id: str | None, status: str | None, limit: int
    ) -> list[DeliveryRecord]:
        query: dict[str, Any] = {"organisation": organisation}
        if case_id is not None:
            query["case_id"] = case_id
        if status is not None:
            query["status"] = status
        found = await self.delivery_records.find(query, sort=[("created_at", 1)], limit=limit)
        return [loaded.model for loaded in found]

    # --- webhook endpoints ----------------------------------------------------------------

    async def endpoints(self, organisation: str) -> list[WebhookEndpointRecord]:
        found = await self.endpoint_records.find(
            {"organisation": organisation}, sort=[("created_at", 1)]
        )
        return [loaded.model for loaded in found]

    async def endpoint(
        self, organisation: str, endpoint_id: str
    ) -> Loaded[WebhookEndpointRecord] | None:
        """One endpoint of `organisation`; another organisation's is None, as a missing one."""
        return await self.endpoint_records.get(endpoint_id, organisation=organisation)

    async def add_endpoint(self, record: WebhookEndpointRecord) -> None:
        uow = self.unit()
        uow.add(self.endpoint_records, record)
        await uow.commit()
        self._settings_cache.drop(record.organisation)

    async def save_endpoint(
        self, loaded: Loaded[WebhookEndpointRecord], record: WebhookEndpointRecord
    ) -> bool:
        """Replace an endpoint as loaded; False if another writer changed it meanwhile."""
        uow = self.unit()
        uow.save(self.endpoint_records, loaded, record)
        committed = await uow.commit()
        self._settings_cache.drop(record.organisation)
        return committed.clean

    # --- letters ------------------------------------------------------------------------------

    async def letter(self, delivery_id: str) -> bytes | None:
        loaded = await self.letter_records.get(delivery_id)
        return None if loaded is None else loaded.model.pdf

    async def save_letter(self, record: LetterRecord) -> None:
        """Keep a letter as first rendered (a later rendering of the same one is dropped)."""
        uow = self.unit()
        uow.add(self.letter_records, record)
        await uow.commit()


def contact_key(case_id: str, person_id: str) -> str:
    return f"{case_id}|{person_id}"


def template_key(organisation: str, key: str) -> str:
    return f"{organisation}|{key}"


class PersonHoldings:
    """What notifications holds about one person, read and erased for the privacy service
    (issue 16): their cases' facts, their contact copies, the deliveries about their cases
    and the letters rendered for them. Deletions cause no events."""

    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    async def cases(self, person_id: str) -> list[Document]:
        return await self.store.cases.find({"person_id": person_id}).to_list(None)

    async def contacts(self, person_id: str) -> list[Document]:
        return await self.store.contacts.find({"person_id": person_id}).to_list(None)

    async def deliveries(self, organisation: str, case_ids: Iterable[str]) -> list[Document]:
        ids = sorted(set(case_ids))
        if not ids:
            return []
        query = {"organisation": organisation, "case_id": {"$in": ids}}
        return await self.store.deliveries.find(query).to_list(None)

    async def letters(self, delivery_ids: Iterable[str]) -> list[Document]:
        ids = sorted(set(delivery_ids))
        if not ids:
            return []
        return await self.store.letters.find({"_id": {"$in": ids}}).to_list(None)

    def deidentify_delivery(self, uow: UnitOfWork, delivery_id: str, update: Document) -> None:
        guard = {"deidentified_at": None}
        uow.change(self.store.delivery_records, delivery_id, update, guard=guard, idempotent=True)

    def deidentify_case(self, uow: UnitOfWork, case_id: str, update: Document) -> None:
        uow.change(self.store.case_records, case_id, update, idempotent=True)

    async def delete_contacts(self, contact_ids: Iterable[str]) -> int:
        ids = sorted(set(contact_ids))
        if not ids:
            return 0
        return (await self.store.contacts.delete_many({"_id": {"$in": ids}})).deleted_count

    async def tenancy_references(self, tenancy_ids: Iterable[str]) -> list[Document]:
        """The landlord's references of the person's tenancies (their cases' tenancy ids)."""
        ids = sorted({tid for tid in tenancy_ids if tid})
        if not ids:
            return []
        return await self.store.tenancy_references.find({"_id": {"$in": ids}}).to_list(None)

    async def delete_tenancy_references(self, tenancy_ids: Iterable[str]) -> int:
        ids = sorted({tid for tid in tenancy_ids if tid})
        if not ids:
            return 0
        result = await self.store.tenancy_references.delete_many({"_id": {"$in": ids}})
        return result.deleted_count

    async def delete_letters(self, delivery_ids: Iterable[str]) -> int:
        ids = sorted(set(delivery_ids))
        if not ids:
            return 0
        return (await self.store.letters.delete_many({"_id": {"$in": ids}})).deleted_count
