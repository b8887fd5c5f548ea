"""Contacts (channel, duration, notes) and files received (metadata only) on a case."""

from __future__ import annotations

from services.support.case import OPEN, Contact, FileRecord, stored
from services.support.errors import found, still_open, written
from services.support.schemas import ContactIn, FileIn
from services.support.store import SupportStore
from shared.clock import Clock
from shared.ids import new_id


class ContactLog:
    def __init__(self, store: SupportStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def log_contact(self, organisation: str, case_id: str, contact: ContactIn) -> str:
        still_open(await self.store.case(case_id, organisation), case_id)
        record = Contact(
            **contact.model_dump(), contact_id=new_id("contact"), logged_at=self.clock.now()
        )
        # Pushed, not saved: contacts logged at once by two workers both land.
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            {"$push": {"contacts": stored(record)}},
            guard={"status": OPEN},
        )
        written(await uow.commit(), self.store.repository, case_id)
        return record.contact_id

    async def record_file(self, organisation: str, case_id: str, file: FileIn) -> str:
        found(await self.store.case(case_id, organisation), case_id)  # files may come after closure
        record = FileRecord(
            **file.model_dump(), file_id=new_id("file"), recorded_at=self.clock.now()
        )
        uow = self.store.unit()
        uow.change(self.store.repository, case_id, {"$push": {"files": stored(record)}})
        written(await uow.commit(), self.store.repository, case_id)
        return record.file_id
