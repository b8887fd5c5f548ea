"""Thin event handlers of the intake part: referrals pushed to referral.intake, and the case
events that move a referral's status on and feed the people history."""

from __future__ import annotations

from typing import Any

from services.referral.intake import IntakeRequest, ReferralIntake
from services.referral.repeat_cycle import Closure
from services.referral.status import ReferralStatus
from services.referral.store import ReferralStore
from shared.consumer import EventConsumer, PermanentError, stretches
from shared.events.case_events import CaseAllocated, CaseClosed
from shared.events.envelope import Envelope
from shared.events.referral_intake import ReferralSubmitted
from shared.outbox import OutboxRelay
from shared.unit_of_work import UnitOfWork


def register_handlers(
    consumer: EventConsumer, store: ReferralStore, intake: ReferralIntake, relay: OutboxRelay
) -> None:
    @consumer.on_batch(ReferralSubmitted)
    async def referrals_submitted(batch: list[tuple[Envelope, ReferralSubmitted]]) -> None:
        results = await intake.submit_many(
            [
                IntakeRequest(
                    referral_id=data.referral_id,
                    organisation=envelope.organisation,
                    submission=data.submission,
                    parent=envelope,
                    channel="kafka",
                )
                for envelope, data in batch
            ]
        )
        for envelope, data in batch:
            # The same referral again is one referral; another organisation's id is refused
            # (raised, the batch is retried event by event and only this one is dead-lettered).
            if results[data.referral_id].referral.organisation != envelope.organisation:
                raise PermanentError("referral_id: already used by another organisation")

    def allocated_fields(data: CaseAllocated) -> dict[str, Any]:
        return {
            "allocated_at": data.allocated_at,
            "allocated_route": data.route.value,
            "lead_worker_id": data.lead_worker_id,
            "team_id": data.team_id,
        }

    async def case_closed(envelope: Envelope, data: CaseClosed) -> None:
        fields = {
            "closed_at": data.closed_at,
            "closure_reason": data.reason.value,
            "tenancy_outcome": data.tenancy_outcome.value,
        }
        # Our own record of whose case it was wins; the event's person id is the fallback.
        referral = await store.get(data.case_id)
        person_id = referral.person_id if referral else data.person_id
        uow = UnitOfWork(relay)
        store.advance(uow, data.case_id, envelope.id, ReferralStatus.CLOSED, fields, data.closed_at)
        closure = Closure(data.case_id, data.closed_at, data.reason)
        store.record_closure(uow, person_id, envelope.id, closure)
        await uow.commit()

    @consumer.on_batch(CaseAllocated, CaseClosed)
    async def case_events(batch: list[tuple[Envelope, CaseAllocated | CaseClosed]]) -> None:
        # An arrears batch allocates thousands of prevention referrals: one bulk write per
        # stretch of CaseAllocated; closures (rare) one by one, in their place.
        for allocations, stretch in stretches(batch, lambda d: isinstance(d, CaseAllocated)):
            if allocations:
                uow = UnitOfWork(relay)
                for envelope, data in stretch:
                    store.advance(
                        uow, data.case_id, envelope.id, ReferralStatus.ALLOCATED,
                        allocated_fields(data), data.allocated_at,
                    )  # fmt: skip
                await uow.commit()
            else:
                for envelope, data in stretch:
                    await case_closed(envelope, data)
