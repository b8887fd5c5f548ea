"""What the reconnection timers cause when they come due: the presentation pack the day before
the presentation, the step-down prompt 3 weeks after reconnection, the 3-month closure review."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.reconnection.actions import mark_pack_sent
from services.reconnection.decisions import NotFound
from services.reconnection.phases import Phase, index
from services.reconnection.service import SOURCE, ReconnectionService
from shared.codes import Route
from shared.events.catalogue import PresentationPackDue, ReviewDue
from shared.events.envelope import Envelope, make_event
from shared.ids import stable_id
from shared.mongo import Document
from shared.timers import FireHandler


def fire_handlers(service: ReconnectionService) -> dict[str, FireHandler]:
    async def presentation_pack(timer: Document) -> list[Envelope]:
        payload: dict[str, Any] = timer["payload"]
        day = date.fromisoformat(payload["reconnection_date"])
        try:
            case = await service.apply(
                payload["case_id"], lambda c, now: mark_pack_sent(c, day, now) if c else None
            )
        except NotFound:
            return []
        if case is None or not case.is_open or case.reconnection_date != day:
            return []
        if case.destination_area is None or case.pack_sent_at is None:
            return []
        data = PresentationPackDue(
            case_id=case.case_id, destination_area=case.destination_area, reconnection_date=day
        )
        return [_event(case.organisation, case.correlation_id, timer, data, service)]

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


def _event(
    organisation: str,
    correlation_id: str,
    timer: Document,
    data: PresentationPackDue | ReviewDue,
    service: ReconnectionService,
) -> Envelope:
    # The id is derived from the timer, so two replicas firing it queue the same event.
    return make_event(
        data,
        source=SOURCE,
        organisation=organisation,
        correlation_id=correlation_id,
        event_id=stable_id(str(timer["_id"]), "fired"),
        time=service.runtime.clock.now(),
    )
