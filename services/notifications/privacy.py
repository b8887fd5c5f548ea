"""The notifications service's answers to subject-access and erasure requests (issue 16), for
what it holds itself: the person's contact copies (from ContactDetailsShared), the copies of
their cases' consent (from ConsentChanged), what the events told it about their cases, the
delivery log of those cases and the letters rendered for them.

Erasure deletes the contact copies with the consent copies (together: a contact copy kept
without its consent would be asked of no consent, which allows), the stored letters, and keeps
the delivery log
de-identified: channel, template, recipient role and organisation, status, attempts and dates
stay; rendered subjects and bodies, addresses and personalisation go, and a delivery not yet
sent is suppressed. The records of `contacts.restricted` this service has consumed are deleted
from the broker (`shared/topic_purge.py`).

The mapping is pure (the functions below); `NotificationPrivacy` reads, stages and commits.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from services.notifications.routing_rules import Role
from services.notifications.store import DUE, SUPPRESSED, NotificationStore, PersonHoldings
from shared.events.privacy_events import (
    ErasureRequested,
    ErasureScope,
    HeldRecord,
    RecordType,
    SubjectAccessRequested,
)
from shared.logging import get_logger
from shared.mongo import Document
from shared.privacy_answers import answer_privacy_requests
from shared.redaction import scrub_text
from shared.runtime import ServiceRuntime
from shared.topics import Topic, topic_name
from shared.unit_of_work import UnitOfWork

SERVICE = "notifications"
BOOKKEEPING = frozenset({"_id", "_inbox", "_written_by", "version", "claim"})
# What a delivery shows only when it went to the person themselves (others' addresses are
# staff and partner mailboxes, not the person's data).
CLIENT_ONLY = ("address", "letter_address", "personalisation")
RENDERED = ("subject", "body", "personalisation", "letter_address")
ERASED_REASON = "suppressed: erased"

log = get_logger(__name__)


# --- the bundle (pure) ------------------------------------------------------------------------


def held_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in document.items() if k not in BOOKKEEPING and not k.startswith("_outbox")
    }


def delivery_shared_with(delivery: Mapping[str, Any]) -> list[str]:
    """Another organisation a delivery went to: whom, how, and which message."""
    partner = delivery.get("recipient_org")
    if not partner or partner == delivery.get("organisation"):
        return []
    how = delivery.get("channel") or "no channel"
    return [f"{partner}: {delivery.get('template')} by {how} ({delivery.get('status')})"]


def delivery_record(delivery: Mapping[str, Any]) -> HeldRecord:
    fields = held_fields(delivery)
    if delivery.get("recipient_role") != Role.CLIENT.value:
        for name in CLIENT_ONLY:
            fields.pop(name, None)
    return HeldRecord(
        kind="delivery",
        record_id=str(delivery["_id"]),
        held_in="notifications/deliveries",
        held_since=delivery.get("created_at"),
        last_changed=delivery.get("updated_at"),
        data=fields,
        shared_with=delivery_shared_with(delivery),
    )


def contact_record(contact: Mapping[str, Any]) -> HeldRecord:
    return HeldRecord(
        kind="contact details",
        record_id=str(contact["_id"]),
        held_in="notifications/contacts",
        data=held_fields(contact),
        shared_with=[
            f"{org}: case notices, under the person's consent to share"
            for org in contact.get("share_with") or []
        ],
    )


def consent_record(consent: Mapping[str, Any]) -> HeldRecord:
    """A copy of the case's consent, as the referral service last told it."""
    return HeldRecord(
        kind="consent",
        record_id=str(consent["_id"]),
        held_in="notifications/consents",
        held_since=consent.get("given_at"),
        last_changed=max(
            (consent[k] for k in ("given_at", "varied_at", "withdrawn_at") if consent.get(k)),
            default=None,
        ),
        data=held_fields(consent),
    )


def tenancy_reference_record(reference: Mapping[str, Any]) -> HeldRecord:
    """The landlord's own reference of the person's tenancy, shown in notices to people."""
    return HeldRecord(
        kind="tenancy reference",
        record_id=str(reference["_id"]),
        held_in="notifications/tenancy_references",
        data=held_fields(reference),
    )


def case_record(case: Mapping[str, Any]) -> HeldRecord:
    return HeldRecord(
        kind="case facts",
        record_id=str(case["_id"]),
        held_in="notifications/cases",
        data=held_fields(case),
    )


def letter_record(letter: Mapping[str, Any]) -> HeldRecord:
    pdf = bytes(letter.get("pdf") or b"")
    return HeldRecord(
        kind="letter",
        record_id=str(letter["_id"]),
        held_in="notifications/letters",
        held_since=letter.get("at"),
        last_changed=letter.get("at"),
        data={"media_type": "application/pdf", "pdf_base64": base64.b64encode(pdf).decode()},
    )


def person_case_ids(
    organisation: str, cases: Iterable[Mapping[str, Any]], contacts: Iterable[Mapping[str, Any]]
) -> list[str]:
    """The person's cases here: those the events placed in the organisation, and those only
    a contact copy has told of so far (no organisation known yet)."""
    known = {str(c["_id"]): c.get("organisation") for c in cases}
    ids = {case_id for case_id, org in known.items() if org in (organisation, None)}
    ids |= {str(c["case_id"]) for c in contacts if known.get(str(c["case_id"])) is None}
    return sorted(ids)


# --- de-identified forms (pure) ---------------------------------------------------------------


def delivery_deidentified(delivery: Mapping[str, Any], now: Any) -> dict[str, Any]:
    """Channel, template, recipient role and organisation, status and dates stay; what was
    rendered for the person and where it went do not. Not yet sent: never will be."""
    fields: dict[str, Any] = {"address": None, "deidentified_at": now}
    if delivery.get("reason"):
        fields["reason"] = scrub_text(str(delivery["reason"]))
    log_entries = []
    for entry in delivery.get("attempt_log") or []:
        kept = dict(entry)
        if kept.get("reason"):
            kept["reason"] = scrub_text(str(kept["reason"]))
        log_entries.append(kept)
    fields["attempt_log"] = log_entries
    if delivery.get("status") in DUE:
        fields.update(status=SUPPRESSED.value, reason=ERASED_REASON, due_at=None)
    update: dict[str, Any] = {"$set": fields}
    unset = {name: "" for name in RENDERED if name in delivery}
    if unset:
        update["$unset"] = unset
    return update


def case_deidentified(case: Mapping[str, Any]) -> dict[str, Any] | None:
    """The case's facts without the referrer's address and the tenancy reference; None when
    it holds neither."""
    unset = {name: "" for name in ("referrer_email", "tenancy_id") if case.get(name)}
    return {"$unset": unset} if unset else None


def _count(counts: dict[str, int], kind: str, n: int) -> None:
    if n:
        counts[kind] = counts.get(kind, 0) + n


# --- carrying it out --------------------------------------------------------------------------


class NotificationPrivacy:
    def __init__(self, runtime: ServiceRuntime, store: NotificationStore) -> None:
        self.runtime = runtime
        self.holdings = PersonHoldings(store)

    async def _held(
        self, organisation: str, person_id: str, case_ids: list[str] | None
    ) -> tuple[list[Document], list[Document], list[Document]]:
        cases = await self.holdings.cases(person_id)
        contacts = await self.holdings.contacts(person_id)
        ids = person_case_ids(organisation, cases, contacts)
        if case_ids is not None:
            ids = [i for i in ids if i in set(case_ids)]
        cases = [c for c in cases if c["_id"] in ids]
        contacts = [c for c in contacts if c["case_id"] in ids]
        return cases, contacts, await self.holdings.deliveries(organisation, ids)

    async def _consents(
        self, organisation: str, person_id: str, case_ids: list[str] | None
    ) -> list[Document]:
        """The consent copies of the person's cases in the organisation (by the person, so a
        case the other events have not told of yet is found too); `case_ids`: only those."""
        query: dict[str, Any] = {"person_id": person_id, "organisation": organisation}
        if case_ids is not None:
            query["_id"] = {"$in": sorted(set(case_ids))}
        return await self.holdings.store.consents.find(query).to_list(None)

    async def access(self, request: SubjectAccessRequested) -> list[HeldRecord]:
        cases, contacts, deliveries = await self._held(
            request.organisation, request.person_id, None
        )
        letters = await self.holdings.letters(d["_id"] for d in deliveries if d.get("letter"))
        consents = await self._consents(request.organisation, request.person_id, None)
        references = await self.holdings.tenancy_references(c.get("tenancy_id") for c in cases)
        return [
            *(contact_record(c) for c in contacts),
            *(consent_record(c) for c in consents),
            *(tenancy_reference_record(r) for r in references),
            *(case_record(c) for c in cases),
            *(delivery_record(d) for d in deliveries),
            *(letter_record(letter) for letter in letters),
        ]

    async def erase(self, request: ErasureRequested) -> tuple[dict[str, int], dict[str, int]]:
        erased: dict[str, int] = {}
        deidentified: dict[str, int] = {}
        scope = None if request.scope is ErasureScope.PERSON else list(request.case_ids)
        cases, contacts, deliveries = await self._held(
            request.organisation, request.person_id, scope
        )
        now = self.runtime.clock.now()
        uow = UnitOfWork(self.runtime.relay)
        if request.covers(RecordType.CONTACT_DETAILS):
            _count(erased, "contact details", await self.holdings.delete_contacts(
                c["_id"] for c in contacts))  # fmt: skip
            consents = await self._consents(request.organisation, request.person_id, scope)
            if consents:
                gone = await self.holdings.store.consents.delete_many(
                    {"_id": {"$in": [c["_id"] for c in consents]}}
                )
                _count(erased, "consent", gone.deleted_count)
            # Read from the cases before they lose their tenancy ids just below.
            _count(erased, "tenancy reference", await self.holdings.delete_tenancy_references(
                c.get("tenancy_id") for c in cases))  # fmt: skip
            for case in cases:
                update = case_deidentified(case)
                if update is not None:
                    self.holdings.deidentify_case(uow, case["_id"], update)
            _count(erased, "consumed topic partitions", await self._purge_contacts())
        if request.covers(RecordType.DELIVERIES):
            for delivery in deliveries:
                if delivery.get("deidentified_at") is None:
                    update = delivery_deidentified(delivery, now)
                    self.holdings.deidentify_delivery(uow, delivery["_id"], update)
            _count(erased, "letter", await self.holdings.delete_letters(
                d["_id"] for d in deliveries))  # fmt: skip
        committed = await uow.commit()
        _count(deidentified, "delivery", len(committed.written & {d["_id"] for d in deliveries}))
        _count(deidentified, "case facts", len(committed.written & {c["_id"] for c in cases}))
        await self._quarantine(request, [str(c["_id"]) for c in cases], erased)
        return erased, deidentified

    async def _purge_contacts(self) -> int:
        settings = self.runtime.settings
        contacts = topic_name(Topic.CONTACTS, settings.topic_prefix)
        moved = 0
        for consumer in self.runtime.consumers:
            if contacts in consumer.topics:
                moved += len(await consumer.purge_consumed([contacts]))
        return moved

    async def _quarantine(
        self, request: ErasureRequested, case_ids: list[str], erased: dict[str, int]
    ) -> None:
        quarantine = getattr(self.runtime, "quarantine", None)
        if quarantine is None or not request.covers(RecordType.QUARANTINE):
            return
        subjects = list(dict.fromkeys([request.person_id, *request.case_ids, *case_ids]))
        _count(erased, "quarantined record", await quarantine.erase_subjects(
            request.organisation, subjects))  # fmt: skip


def install(runtime: ServiceRuntime, store: NotificationStore) -> NotificationPrivacy:
    """Answer the privacy service's requests (a consumer group of their own)."""
    privacy = NotificationPrivacy(runtime, store)
    answer_privacy_requests(runtime, SERVICE, privacy.access, privacy.erase)
    return privacy
