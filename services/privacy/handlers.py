"""What the privacy service consumes: the services' answers on `privacy.responses` and
`CaseClosed` on `case.events` (retention). Thin: decode, hand to the service."""

from __future__ import annotations

from services.privacy.service import PrivacyService
from shared.consumer import EventConsumer
from shared.events.case_events import CaseClosed
from shared.events.envelope import Envelope
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed


def register(consumer: EventConsumer, service: PrivacyService) -> None:
    @consumer.on(SubjectDataContributed)
    async def on_contributed(envelope: Envelope, data: SubjectDataContributed) -> None:
        await service.contributed(envelope, data)

    @consumer.on(ErasureCarriedOut)
    async def on_carried_out(envelope: Envelope, data: ErasureCarriedOut) -> None:
        await service.carried_out(envelope, data)

    @consumer.on(CaseClosed)
    async def on_case_closed(envelope: Envelope, data: CaseClosed) -> None:
        await service.case_closed(envelope, data)
