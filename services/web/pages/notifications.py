"""The notifications sent about cases: the delivery log (status, channel, template, when),
filtered by case id (an id, never a name, so a GET query is fine), a delivery's attempts, the
letter as sent, and resending a parked delivery."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError
from services.web.context import ViewerDep
from services.web.rendering import done, refused, render
from shared.policy import Permission

router = APIRouter()

STATUSES = ("pending", "sending", "sent", "parked", "suppressed")
STATUS_COLOURS = {
    "pending": "grey",
    "sending": "blue",
    "sent": "green",
    "parked": "red",
    "suppressed": "yellow",
}
CASE_ID = re.compile(r"^[^\x00-\x1f/?#]{1,200}$")
DELIVERY_ID = re.compile(r"^[0-9a-f]{32}$")
LISTED = 200


def filter_errors(case_id: str, status: str) -> dict[str, str]:
    errors = {}
    if case_id and not CASE_ID.match(case_id):
        errors["case_id"] = "Enter a case ID, like ref-0a1b2c3d"
    if status and status not in STATUSES:
        errors["status"] = "Select a status from the list"
    return errors


@router.get("/notifications", response_class=HTMLResponse)
async def deliveries(
    request: Request, viewer: ViewerDep, case_id: str = "", status: str = ""
) -> HTMLResponse:
    if not viewer.may(Permission.DELIVERIES):
        return refused(request, viewer)
    case_id = case_id.strip()
    errors = filter_errors(case_id, status)
    found: dict[str, object] = {"items": [], "count": 0}
    if not errors:
        found = await viewer.api.get(
            "notifications", "/deliveries", case_id=case_id, status=status, limit=LISTED
        )
    return render(
        request,
        viewer,
        "notifications/index.html",
        status=400 if errors else 200,
        deliveries=found["items"],
        values={"case_id": case_id, "status": status},
        errors=errors,
        statuses=[("", "Any status")] + [(s, s.capitalize()) for s in STATUSES],
        colours=STATUS_COLOURS,
        listed=LISTED,
    )


@router.get("/notifications/{delivery_id}", response_class=HTMLResponse)
async def delivery(request: Request, viewer: ViewerDep, delivery_id: str) -> HTMLResponse:
    if not viewer.may(Permission.DELIVERIES):
        return refused(request, viewer)
    if not DELIVERY_ID.match(delivery_id):
        raise ApiError("notifications", 404, "no such delivery")
    found = await viewer.api.get("notifications", f"/deliveries/{delivery_id}")
    return render(
        request, viewer, "notifications/delivery.html", delivery=found, colours=STATUS_COLOURS
    )


@router.get("/notifications/{delivery_id}/letter")
async def letter(request: Request, viewer: ViewerDep, delivery_id: str) -> Response:
    """The letter as rendered and sent, from the notifications service (a PDF)."""
    if not viewer.may(Permission.DELIVERIES):
        return refused(request, viewer)
    if not DELIVERY_ID.match(delivery_id):
        raise ApiError("notifications", 404, "no such delivery")
    pdf = await viewer.api.get("notifications", f"/deliveries/{delivery_id}/letter")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="letter-{delivery_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/notifications/{delivery_id}/resend", response_class=HTMLResponse)
async def resend(request: Request, viewer: ViewerDep, delivery_id: str) -> Response:
    if not viewer.may(Permission.DELIVERIES):
        return refused(request, viewer)
    if not DELIVERY_ID.match(delivery_id):
        raise ApiError("notifications", 404, "no such delivery")
    try:
        await viewer.api.post(
            "notifications", f"/deliveries/{delivery_id}/resend", key=viewer.idempotency_key
        )
        message = "The notification will be sent again"
    except ApiError as exc:
        if exc.status != 409:
            raise
        message = "The notification was not parked, so it was not sent again"
    return await done(request, viewer, message, f"/notifications/{delivery_id}")
