"""Contacts (channel, duration, notes) and files received (metadata only) on a case.

A contact emits ContactLogged (no notes): outcomes measures time to first contact and hours
delivered from it. Its id is derived from the contact's own, so the same contact never yields
two events."""

from __future__ import annotations

from services.support.case import OPEN, Contact, FileRecord, SupportCase, stored
from services.support.case_records import recorded_fact
from services.support.errors import CaseworkError, found, still_open, written
from services.support.schemas import ContactIn, FileIn
from services.support.store import SupportStore
from shared.clock import Clock
from shared.events.catalogue import ContactLogged
from shared.ids import new_id
from shared.mongo import Document

# Pushing the first contact is guarded on the case having none, so that two contacts logged
# at once cannot both be `first`; the loser is decided again as a later contact.
NO_CONTACTS: Document = {"contacts.0": {"$exists": False}}


class ContactLog:
    def __init__(self, store: SupportStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def log_contact(self, organisation: str, case_id: str, contact: ContactIn) -> str:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        record = Contact(
            **contact.model_dump(), contact_id=new_id("contact"), logged_at=self.clock.now()
        )
        try:
            await self._push(case, record)
        except CaseworkError:
            if case.contacts:
                raise
            # Another contact landed first (or the case closed): decide again on what is there.
            case = still_open(await self.store.case(case_id, organisation), case_id)
            await self._push(case, record)
        return record.contact_id

    async def _push(self, case: SupportCase, record: Contact) -> None:
        first = not case.contacts
        logged = ContactLogged(
            case_id=case.case_id,
            contact_id=record.contact_id,
            contact_on=record.occurred_on,
            channel=record.channel.value,
            duration_minutes=record.duration_minutes,
            first=first,
            attended=record.attended,
        )
        event = recorded_fact(case, logged, record.logged_at, record.contact_id)
        # Pushed, not saved: contacts logged at once by two workers both land.
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case.case_id,
            {"$push": {"contacts": stored(record)}},
            [event],
            guard={"status": OPEN, **(NO_CONTACTS if first else {})},
        )
        written(await uow.commit(), self.store.repository, case.case_id)

    async def record_file(self, organisation: str, case_id: str, file: FileIn) -> str:
        found(await self.store.case(case_id, organisation), case_id)  # files may come after closure
        record = FileRecord(
            **file.model_dump(), file_id=new_id("file"), recorded_at=self.clock.now()
        )
        uow = self.store.unit()
        uow.change(self.store.repository, case_id, {"$push": {"files": stored(record)}})
        written(await uow.commit(), self.store.repository, case_id)
        return record.file_id
