"""What the reconnection timers cause when they come due: the presentation pack the day before
the presentation (generated, kept, and handed to the notifications service to email to the
destination authority), the step-down prompt 3 weeks after reconnection, the 3-month closure
review."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time
from typing import Any

from services.reconnection import pack_document
from services.reconnection.actions import mark_pack_sent, pack_is_due
from services.reconnection.decisions import NotFound
from services.reconnection.model import PackDocument, ReconnectionCase
from services.reconnection.phases import Phase, index
from services.reconnection.service import SOURCE, ReconnectionService
from shared.codes import Route
from shared.events.catalogue import PresentationPackDue, ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.events.reconnection_events import PresentationPackForDelivery
from shared.ids import stable_id
from shared.mongo import Document
from shared.timers import FireHandler


def fire_handlers(service: ReconnectionService) -> dict[str, FireHandler]:
    async def presentation_pack(timer: Document) -> list[Envelope]:
        payload: dict[str, Any] = timer["payload"]
        day = date.fromisoformat(payload["reconnection_date"])
        loaded = await service.store.get(payload["case_id"])
        if loaded is None:
            return []
        if pack_is_due(loaded.model, day):
            # Generated now, when the phase needs it, and kept before the case says so.
            document, pdf = pack_document.generate(loaded.model, day, service.runtime.clock.now())
            document, pdf = await service.store.keep_pack(
                loaded.model.organisation, loaded.model.case_id, document, pdf
            )
            try:
                await service.apply(
                    payload["case_id"],
                    lambda c, now: mark_pack_sent(c, day, now, document) if c else None,
                )
            except NotFound:
                return []
        case = (await service.store.get(payload["case_id"])) or loaded
        issued = case.model.pack_document
        if not case.model.is_open or case.model.reconnection_date != day or issued is None:
            return []
        return await _pack_events(service, case.model, issued, timer)

    async def review(timer: Document) -> list[Envelope]:
        payload: dict[str, Any] = timer["payload"]
        loaded = await service.store.get(payload["case_id"])
        if loaded is None:
            return []
        case = loaded.model
        point = payload["review_point"]
        if not case.is_open:
            return []
        if point == "step_down" and index(case.phase) > index(Phase.STEP_DOWN):
            return []
        data = ReviewDue(
            case_id=case.case_id,
            review_id=timer["_id"],
            review_point=point,
            due_on=date.fromisoformat(payload["due_on"]),
            notice="due",
            lead_worker_id=case.lead_worker_id,
            route=Route.RECONNECTION,
        )
        return [_event(case.organisation, case.correlation_id, timer, data, service)]

    return {"presentation_pack": presentation_pack, "review": review}


async def _pack_events(
    service: ReconnectionService, case: ReconnectionCase, issued: PackDocument, timer: Document
) -> list[Envelope]:
    """That the pack is due, on the spine (ids and dates only); and the pack as kept (the same
    bytes on every firing) with the letter that covers it, on the restricted topic for the
    notifications service alone."""
    kept = await service.store.pack(issued.document_id)
    pdf = kept[1] if kept else b""
    to = issued.recipient
    deliver_by = datetime.combine(issued.reconnection_date, time(0), tzinfo=UTC)
    due = PresentationPackDue(
        case_id=case.case_id,
        destination_area=issued.destination_area,
        reconnection_date=issued.reconnection_date,
        document_id=issued.document_id,
        deliver_by=deliver_by,
    )
    delivery = PresentationPackForDelivery(
        case_id=case.case_id,
        destination_area=issued.destination_area,
        reconnection_date=issued.reconnection_date,
        document_id=issued.document_id,
        recipient_name=to.name if to else None,
        recipient_email=to.email if to else None,
        recipient_organisation=to.organisation if to else None,
        email_subject=issued.subject,
        covering_letter=issued.letter,
        filename=issued.filename,
        pdf_base64=base64.b64encode(pdf).decode("ascii") if pdf else None,
        deliver_by=deliver_by,
    )
    return [
        _event(case.organisation, case.correlation_id, timer, due, service),
        _event(case.organisation, case.correlation_id, timer, delivery, service, "delivery"),
    ]


def _event(
    organisation: str,
    correlation_id: str,
    timer: Document,
    data: PresentationPackDue | PresentationPackForDelivery | ReviewDue,
    service: ReconnectionService,
    part: str = "",
) -> Envelope:
    # The id is derived from the timer, so two replicas firing it queue the same event.
    return make_event(
        data,
        source=SOURCE,
        organisation=organisation,
        correlation_id=correlation_id,
        event_id=stable_id(str(timer["_id"]), "fired", *([part] if part else [])),
        time=service.runtime.clock.now(),
    )
