"""Contacts (channel, duration, notes) and files received (metadata only) on a case."""

from __future__ import annotations

from typing import Any

from services.support.actions.context import SupportContext, changed
from services.support.store import OPEN
from shared.ids import new_id


class ContactLog:
    def __init__(self, ctx: SupportContext) -> None:
        self.ctx = ctx

    async def log_contact(self, organisation: str, case_id: str, contact: dict[str, Any]) -> str:
        await self.ctx.open_case(organisation, case_id)
        contact_id = new_id("contact")
        record = {**contact, "contact_id": contact_id, "logged_at": self.ctx.now()}
        updated = await self.ctx.store.update(
            case_id, {"status": OPEN}, {"$push": {"contacts": record}}
        )
        if updated is None:
            raise changed()
        return contact_id

    async def record_file(self, organisation: str, case_id: str, file: dict[str, Any]) -> str:
        await self.ctx.case(organisation, case_id)  # files may still arrive after closure
        file_id = new_id("file")
        record = {**file, "file_id": file_id, "recorded_at": self.ctx.now()}
        updated = await self.ctx.store.update(case_id, {}, {"$push": {"files": record}})
        if updated is None:
            raise changed()
        return file_id
