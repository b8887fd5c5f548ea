"""Thin event handlers: check the input, record it once, ask the allocator for a pass."""

from __future__ import annotations

from services.allocation.allocator import Allocator
from services.allocation.records import iso_date
from services.allocation.store import AllocationStore
from shared.codes import Route, Stage
from shared.consumer import EventConsumer, PermanentError
from shared.events.catalogue import (
    CaseClosed,
    ReferralAssessed,
    ReviewDue,
    StageChanged,
    TenancyAtRisk,
)
from shared.events.envelope import Envelope
from shared.runtime import ServiceRuntime

WAITING_ROUTES = (Route.SUPPORT, Route.RECONNECTION)


def register(
    consumer: EventConsumer,
    runtime: ServiceRuntime,
    store: AllocationStore,
    allocator: Allocator,
) -> None:
    @consumer.on(ReferralAssessed)
    async def referral_assessed(envelope: Envelope, data: ReferralAssessed) -> None:
        if data.route not in WAITING_ROUTES:
            return  # redirected or declined: not ours
        if not data.case_id.strip():
            raise PermanentError("data.case_id: must not be empty")
        fields = {
            "organisation": envelope.organisation,
            "person_id": data.person_id,
            "route": data.route.value,
            "stage": Stage.STAGE_1.value,
            "support_needs": [n.value for n in data.support_needs],
            "date_facing_homelessness": iso_date(data.date_facing_homelessness),
            "legal_stage": data.legal_stage.value,
            "risk_level": data.risk_level.value if data.risk_level else None,
            "repeat_cycle": data.repeat_cycle,
            "tenancy_id": data.tenancy_id,
            "referrer_organisation": data.referrer.organisation,
            "received_at": data.received_at,
            "waiting_since": runtime.clock.now(),
            "correlation_id": envelope.correlationid,
            "assessed_event_id": envelope.id,
        }
        async with store.locks.hold(f"case:{data.case_id}"):
            await store.enter_waiting_list(data.case_id, fields, envelope.id)
        await allocator.request(envelope.organisation)

    @consumer.on(TenancyAtRisk)
    async def tenancy_at_risk(envelope: Envelope, data: TenancyAtRisk) -> None:
        signal = {
            "level": data.risk_level.value,
            "reasons": data.reasons,
            "legal_stage": data.legal_stage.value,
            "alert_id": data.alert_id,
            "tenancy_id": data.tenancy_id,
            "at": runtime.clock.now(),
        }
        if data.case_id:
            await store.add_risk_signal(data.case_id, signal, envelope.id, create=False)
        if data.prevention_case_id and data.prevention_case_id != data.case_id:
            # The referral this alert raised may reach us after the alert itself.
            await store.add_risk_signal(data.prevention_case_id, signal, envelope.id, create=True)

    @consumer.on(ReviewDue)
    async def review_due(envelope: Envelope, data: ReviewDue) -> None:
        if not data.weigh_against_waiting_list:
            return
        fields = {
            "organisation": envelope.organisation,
            "review_id": data.review_id,
            "review_point": data.review_point,
            "due_on": iso_date(data.due_on),
            "notice": data.notice,
            "lead_worker_id": data.lead_worker_id,
            "stage": data.stage.value if data.stage else None,
            "route": data.route.value,
            "recorded_at": runtime.clock.now(),
        }
        await store.record_review(data.case_id, fields, envelope.id)

    @consumer.on(StageChanged)
    async def stage_changed(envelope: Envelope, data: StageChanged) -> None:
        if not data.target_hours_per_week > 0:
            raise PermanentError("data.target_hours_per_week: must be more than 0")
        await allocator.change_stage(
            data.case_id, envelope.id, data.stage, data.target_hours_per_week
        )

    @consumer.on(CaseClosed)
    async def case_closed(envelope: Envelope, data: CaseClosed) -> None:
        fields = {
            "closed_at": data.closed_at,
            "closure_reason": data.reason.value,
            "closed_event_id": envelope.id,
        }
        await allocator.close(data.case_id, envelope.id, fields)
