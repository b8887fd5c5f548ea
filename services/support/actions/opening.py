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

    async def open_many(self, allocations: list[tuple[Envelope, CaseAllocated]]) -> None:
        """Open the support-route cases of CaseAllocated events: one insert (a redelivered
        case stands), one read, one bulk of review timers — an arrears batch allocates
        thousands of prevention cases."""
        documents = [
            new_case_document(envelope, data)
            for envelope, data in allocations
            if data.route is Route.SUPPORT
        ]
        if not documents:
            return
        await self.ctx.store.insert_cases(documents)
        await self.timers.sync_many(await self.ctx.store.get_many(d["_id"] for d in documents))

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
