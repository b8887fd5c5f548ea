"""Thin event handlers: check the input, record it once, ask the allocator to place it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from services.allocation.allocator import Allocator
from services.allocation.records import CaseEntry, Review, StoredRiskSignal
from services.allocation.store import AllocationStore, RiskSignalWrite
from shared.codes import Route
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


def waiting_entry(envelope: Envelope, data: ReferralAssessed, now: datetime) -> CaseEntry:
    return CaseEntry(
        case_id=data.case_id,
        organisation=envelope.organisation,
        person_id=data.person_id,
        route=data.route,
        stage=data.entry_stage,  # the staged model's entry route (services/referral/entry_stage.py)
        support_needs=data.support_needs,
        date_facing_homelessness=data.date_facing_homelessness,
        legal_stage=data.legal_stage,
        risk_level=data.risk_level,
        repeat_cycle=data.repeat_cycle,
        tenancy_id=data.tenancy_id,
        referrer_organisation=data.referrer.organisation,
        received_at=data.received_at,
        waiting_since=now,
        correlation_id=envelope.correlationid,
        assessed_event_id=envelope.id,
        lane=envelope.lane,
    )


def register(
    consumer: EventConsumer,
    runtime: ServiceRuntime,
    store: AllocationStore,
    allocator: Allocator,
) -> None:
    @consumer.on_batch(ReferralAssessed)
    async def referrals_assessed(events: list[tuple[Envelope, ReferralAssessed]]) -> None:
        # One call per poll: the new entries go in with one bulk insert per organisation and
        # are offered to workers beside the consumer (allocator.place_in_background). A bad
        # event is raised after the good ones are entered; the consumer then handles the batch
        # one event at a time, where the good ones are repeats (still offered if waiting) and
        # the bad one is dead-lettered alone.
        now = runtime.clock.now()
        arrivals: dict[str, list[tuple[CaseEntry, str]]] = defaultdict(list)
        problems: list[PermanentError] = []
        for envelope, data in events:
            if data.route not in WAITING_ROUTES:
                continue  # redirected or declined: not ours
            if not data.case_id.strip():
                problems.append(PermanentError("data.case_id: must not be empty"))
                continue
            arrivals[envelope.organisation].append(
                (waiting_entry(envelope, data, now), envelope.id)
            )
        for organisation, items in arrivals.items():
            allocator.place_in_background(organisation, await store.enter_many(items))
        if problems:
            raise problems[0]

    @consumer.on_batch(TenancyAtRisk)
    async def tenancies_at_risk(events: list[tuple[Envelope, TenancyAtRisk]]) -> None:
        # An arrears batch brings thousands of alerts: one bulk write per poll, not a round
        # trip per alert. Each signal is recorded once per event id, so a redelivered batch
        # (or the per-event retry after a failure) adds nothing twice.
        now = runtime.clock.now()
        writes: list[RiskSignalWrite] = []
        for envelope, data in events:
            signal = StoredRiskSignal(
                level=data.risk_level,
                reasons=data.reasons,
                legal_stage=data.legal_stage,
                alert_id=data.alert_id,
                tenancy_id=data.tenancy_id,
                at=now,
            )
            if data.case_id:
                writes.append(RiskSignalWrite(data.case_id, signal, envelope.id, create=False))
            if data.prevention_case_id and data.prevention_case_id != data.case_id:
                # The referral this alert raised may reach us after the alert itself.
                writes.append(
                    RiskSignalWrite(data.prevention_case_id, signal, envelope.id, create=True)
                )
        await store.add_risk_signals(writes)

    @consumer.on(ReviewDue)
    async def review_due(envelope: Envelope, data: ReviewDue) -> None:
        if not data.weigh_against_waiting_list:
            return
        review = Review(
            case_id=data.case_id,
            organisation=envelope.organisation,
            review_id=data.review_id,
            review_point=data.review_point,
            due_on=data.due_on,
            notice=data.notice,
            lead_worker_id=data.lead_worker_id,
            stage=data.stage,
            route=data.route,
            recorded_at=runtime.clock.now(),
        )
        await store.record_review(review, envelope.id)

    @consumer.on(StageChanged)
    async def stage_changed(envelope: Envelope, data: StageChanged) -> None:
        if not data.target_hours_per_week > 0:
            raise PermanentError("data.target_hours_per_week: must be more than 0")
        await allocator.change_stage(
            data.case_id, envelope.id, data.stage, data.target_hours_per_week
        )

    @consumer.on(CaseClosed)
    async def case_closed(envelope: Envelope, data: CaseClosed) -> None:
        await allocator.close(data.case_id, envelope.id, data.closed_at, data.reason.value)
