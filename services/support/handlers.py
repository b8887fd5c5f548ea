"""Thin event handlers: what the support service does with events from other services."""

from __future__ import annotations

from services.support.casework import Casework
from shared.consumer import PermanentError
from shared.events.catalogue import CaseAllocated, CaseReallocated, TenancyAtRisk
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.topics import Topic


def register_handlers(runtime: ServiceRuntime, casework: Casework) -> None:
    consumer = runtime.consumer([Topic.CASE_EVENTS, Topic.TENANCY_RISK])

    @consumer.on(CaseAllocated)
    async def case_allocated(envelope: Envelope, data: CaseAllocated) -> None:
        if data.target_hours_per_week <= 0:
            raise PermanentError("data.target_hours_per_week: must be more than 0")
        await casework.opening.open_from_allocation(envelope, data)

    @consumer.on(CaseReallocated)
    async def case_reallocated(envelope: Envelope, data: CaseReallocated) -> None:
        await casework.opening.reallocate(envelope, data)

    @consumer.on_batch(TenancyAtRisk)
    async def tenancies_at_risk(batch: list[tuple[Envelope, TenancyAtRisk]]) -> None:
        # An arrears batch is mostly tenancies with no case here: one query finds the others.
        with_cases = await casework.ctx.store.tenancies_with_open_cases(
            data.tenancy_id for _, data in batch
        )
        for envelope, data in batch:
            if data.case_id or data.tenancy_id in with_cases:
                await casework.escalations.tenancy_at_risk(envelope, data)
