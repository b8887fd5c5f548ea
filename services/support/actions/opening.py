"""Cases opened from CaseAllocated (route=support only) and CaseReallocated applied."""

from __future__ import annotations

from typing import Any

from services.support.actions.context import SupportContext
from services.support.actions.timers import ReviewTimers
from services.support.case_records import new_case_document
from services.support.dates import iso
from shared.codes import Route
from shared.events.catalogue import CaseAllocated, CaseReallocated
from shared.events.envelope import Envelope


class CaseOpening:
    def __init__(self, ctx: SupportContext, timers: ReviewTimers) -> None:
        self.ctx = ctx
        self.timers = timers

    async def open_from_allocation(self, envelope: Envelope, data: CaseAllocated) -> None:
        if data.route is not Route.SUPPORT:
            return  # reconnection opens its own cases
        document = new_case_document(envelope, data)
        await self.ctx.store.insert_case(document)  # False on redelivery: the case stands
        case = await self.ctx.store.get(data.case_id)
        if case is not None:
            await self.timers.sync(case)

    async def reallocate(self, envelope: Envelope, data: CaseReallocated) -> None:
        case = await self.ctx.store.get(data.case_id)
        if case is None:
            return  # a reconnection case, not ours
        update: dict[str, Any] = {
            "$set": {
                "lead_worker_id": data.lead_worker_id,
                "lead_worker_email": data.lead_worker_email,
                "team_leader_id": data.team_leader_id,
                "team_leader_email": data.team_leader_email,
            },
            "$push": {
                "reallocations": {
                    "from": data.previous_worker_id,
                    "to": data.lead_worker_id,
                    "reason": data.reason,
                    "cover_until": iso(data.cover_until),
                    "at": envelope.time,
                }
            },
        }
        escalation = case.get("escalation")
        if escalation and not escalation.get("crisis_worker_designated"):
            update["$set"]["crisis_worker_id"] = data.lead_worker_id  # lead stands in
        await self.ctx.store.update(data.case_id, {}, update, event_id=envelope.id)
