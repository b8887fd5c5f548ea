"""Thin event handlers: what the support service does with events from other services."""

from __future__ import annotations

from services.support.casework import Casework
from services.support.consent import CONSENTS, ConsentCopies
from shared.consumer import PermanentError, stretches
from shared.events.catalogue import CaseAllocated, CaseReallocated, ConsentChanged, TenancyAtRisk
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime
from shared.topics import Topic


def register_handlers(runtime: ServiceRuntime, casework: Casework) -> None:
    consumer = runtime.consumer([Topic.CASE_EVENTS, Topic.TENANCY_RISK, Topic.REFERRAL_EVENTS])
    consents = ConsentCopies(runtime.collection(CONSENTS), runtime.relay)

    @consumer.on(ConsentChanged)
    async def consent_changed(envelope: Envelope, data: ConsentChanged) -> None:
        await consents.learn(envelope, data)  # shown on the case (issue 16)

    @consumer.on_batch(CaseAllocated, CaseReallocated)
    async def case_events(batch: list[tuple[Envelope, CaseAllocated | CaseReallocated]]) -> None:
        # Stretches of CaseAllocated open their cases in bulk; a reallocation keeps its place.
        problems = []
        for allocations, stretch in stretches(batch, lambda d: isinstance(d, CaseAllocated)):
            if not allocations:
                for envelope, data in stretch:
                    await casework.opening.reallocate(envelope, data)
                continue
            valid = [(e, d) for e, d in stretch if d.target_hours_per_week > 0]
            if len(valid) < len(stretch):
                problems.append(PermanentError("data.target_hours_per_week: must be more than 0"))
            await casework.opening.open_many(valid)
        if problems:
            raise problems[0]  # handled again one by one: only the bad event is dead-lettered

    @consumer.on_batch(TenancyAtRisk)
    async def tenancies_at_risk(batch: list[tuple[Envelope, TenancyAtRisk]]) -> None:
        # An arrears batch is mostly tenancies with no case here: a few reads for the poll
        # find the others, and their escalations go in one unit of work.
        await casework.escalations.tenancies_at_risk(batch)
