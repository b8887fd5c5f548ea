"""Consumers: the referral's assessment and the allocation open the case; a reallocation
changes its lead caseworker; the notifications service's report on the presentation pack's
email is kept on the case. Other routes are not ours and are ignored."""

from __future__ import annotations

from datetime import datetime

from services.reconnection.actions import record_pack_delivery
from services.reconnection.decisions import Decision, RuleViolation
from services.reconnection.model import ReconnectionCase
from services.reconnection.opening import on_case_allocated, on_referral_assessed
from services.reconnection.service import Decide, ReconnectionService
from shared.codes import Route
from shared.consumer import PermanentError
from shared.events.catalogue import (
    CaseAllocated,
    CaseReallocated,
    NotificationFailed,
    NotificationSent,
    ReferralAssessed,
)
from shared.events.envelope import Envelope
from shared.events.reconnection_events import PRESENTATION_PACK_TEMPLATE
from shared.runtime import ServiceRuntime
from shared.topics import Topic


def register(runtime: ServiceRuntime, service: ReconnectionService) -> None:
    consumer = runtime.consumer(
        [Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS, Topic.NOTIFICATION_EVENTS]
    )

    async def apply(envelope: Envelope, case_id: str, decide: Decide) -> None:
        try:
            await service.apply(case_id, decide, cause=envelope)
        except RuleViolation as exc:
            raise PermanentError(str(exc)) from exc

    @consumer.on(ReferralAssessed)
    async def referral_assessed(envelope: Envelope, data: ReferralAssessed) -> None:
        if data.route is not Route.RECONNECTION:
            return
        await apply(
            envelope,
            data.case_id,
            lambda case, now: on_referral_assessed(
                case, data, envelope.organisation, envelope.correlationid, now
            ),
        )

    @consumer.on(CaseAllocated)
    async def case_allocated(envelope: Envelope, data: CaseAllocated) -> None:
        if data.route is not Route.RECONNECTION:
            return
        await apply(
            envelope,
            data.case_id,
            lambda case, now: on_case_allocated(
                case, data, envelope.organisation, envelope.correlationid, now
            ),
        )

    @consumer.on(CaseReallocated)
    async def case_reallocated(envelope: Envelope, data: CaseReallocated) -> None:
        if await service.store.get(data.case_id) is None:
            return  # a support case, or one this service never opened

        def decide(case: ReconnectionCase | None, now: datetime) -> Decision | None:
            if case is None or not case.is_open or case.organisation != envelope.organisation:
                return None
            updated = case.model_copy(deep=True)
            updated.lead_worker_id = data.lead_worker_id
            updated.team_leader_id = data.team_leader_id
            return Decision(updated)

        await apply(envelope, data.case_id, decide)

    @consumer.on(NotificationSent)
    async def pack_sent(envelope: Envelope, data: NotificationSent) -> None:
        await pack_delivery(envelope, data, sent=True, reason=None)

    @consumer.on(NotificationFailed)
    async def pack_failed(envelope: Envelope, data: NotificationFailed) -> None:
        await pack_delivery(envelope, data, sent=False, reason=data.reason)

    async def pack_delivery(
        envelope: Envelope, data: NotificationSent, sent: bool, reason: str | None
    ) -> None:
        if data.template != PRESENTATION_PACK_TEMPLATE:
            return  # every other notification is not ours
        if await service.store.get(data.case_id) is None:
            return
        at = envelope.time or service.runtime.clock.now()

        def decide(case: ReconnectionCase | None, now: datetime) -> Decision | None:
            if case is None or case.organisation != envelope.organisation:
                return None
            return record_pack_delivery(case, data.notification_id, sent, data.channel, at, reason)

        await apply(envelope, data.case_id, decide)
