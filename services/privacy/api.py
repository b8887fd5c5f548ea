"""HTTP API: subject-access requests and their bundles, erasure requests, the retention
schedule. A data protection officer makes requests and reads bundles; auditors and
organisation admins see the requests' status (no personal data); the schedule is the
officer's and the admin's to set. Another organisation's request answers 404.

Making a request is on the audit trail (a POST always is), so is every reading of a bundle
(a personal route); the fulfilment is entered by the service itself (`audit_entries.py`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.privacy.bundle import Bundle
from services.privacy.bundle_pdf import render_bundle_pdf
from services.privacy.schemas import RequestAccess, RequestErasure, RequestId, RetentionPeriods
from services.privacy.service import (
    ACCESS_KIND,
    ERASURE_KIND,
    NotFound,
    NotReady,
    PrivacyService,
    Refused,
)
from services.privacy.views import (
    AccessAccepted,
    AccessRequestList,
    AccessRequestView,
    ErasureAccepted,
    ErasureList,
    ErasureView,
    ScheduleView,
    access_list,
    access_view,
    erasure_list,
    erasure_view,
    schedule_view,
)
from shared.auth import CallerDep, access_of, audit_record
from shared.problems import field_problem, problem
from shared.unit_of_work import ConcurrentUpdate


def get_service() -> PrivacyService:
    """The app's service, bound by `bind_service` (routes are declared once, at import)."""
    raise RuntimeError("privacy routes served without bind_service(app, service)")


def bind_service(app: FastAPI, service: PrivacyService) -> None:
    app.dependency_overrides[get_service] = lambda: service


ServiceDep = Annotated[PrivacyService, Depends(get_service)]

access = APIRouter(prefix="/subject-access-requests", tags=["subject access"])
erasure = APIRouter(prefix="/erasure-requests", tags=["erasure"])
retention = APIRouter(prefix="/retention-schedule", tags=["retention"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such request in the caller's organisation"}
}
BUNDLE_STATES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "not fulfilled yet: some services have not answered"},
    410: {"description": "the person was erased since: the bundle with them"},
}


@access.post("", response_model=AccessAccepted, status_code=202)
async def request_access(
    request: Request, body: RequestAccess, caller: CallerDep, service: ServiceDep
) -> AccessAccepted:
    """Ask every service for everything held about the person; due in one calendar month."""
    record = await service.request_access(caller.organisation, caller.principal.subject, body)
    audit_record(request, ACCESS_KIND, record.request_id)
    return AccessAccepted(request_id=record.request_id, due_on=record.due_on, status=record.status)


@access.get("", response_model=AccessRequestList)
async def list_access_requests(
    caller: CallerDep, service: ServiceDep, person_id: str | None = None
) -> AccessRequestList:
    """The organisation's requests, newest first: status, deadline, who has answered."""
    requests = await service.access_requests(caller.organisation, person_id)
    return access_list(requests, service.now.date())


@access.get("/{request_id}", response_model=AccessRequestView, responses=NOT_FOUND)
async def get_access_request(
    request_id: RequestId, caller: CallerDep, service: ServiceDep
) -> AccessRequestView:
    record = await service.access_request(request_id, caller.organisation)
    return access_view(record, service.now.date())


@access.get("/{request_id}/bundle", response_model=Bundle, responses=BUNDLE_STATES)
async def get_bundle(request_id: RequestId, caller: CallerDep, service: ServiceDep) -> Bundle:
    """Everything held about the person, by service: what, where, since when, last changed,
    who it was shared with."""
    return await service.bundle(request_id, caller.organisation)


@access.get(
    "/{request_id}/bundle.pdf",
    response_class=Response,
    responses={**BUNDLE_STATES, 200: {"content": {"application/pdf": {}}}},
)
async def get_bundle_pdf(request_id: RequestId, caller: CallerDep, service: ServiceDep) -> Response:
    """The bundle as a readable PDF, for the person."""
    bundle = await service.bundle(request_id, caller.organisation)
    return Response(
        render_bundle_pdf(bundle),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{request_id}.pdf"'},
    )


@erasure.post("", response_model=ErasureAccepted, status_code=202)
async def request_erasure(
    request: Request, body: RequestErasure, caller: CallerDep, service: ServiceDep
) -> ErasureAccepted:
    """Erase the person (or some of their cases) in every service, on a lawful basis."""
    record = await service.request_erasure(caller.organisation, caller.principal.subject, body)
    audit_record(request, ERASURE_KIND, record.request_id)
    return ErasureAccepted(request_id=record.request_id, scope=record.scope)


@erasure.get("", response_model=ErasureList)
async def list_erasure_requests(
    caller: CallerDep, service: ServiceDep, person_id: str | None = None
) -> ErasureList:
    return erasure_list(await service.erasure_requests(caller.organisation, person_id))


@erasure.get("/{request_id}", response_model=ErasureView, responses=NOT_FOUND)
async def get_erasure_request(
    request_id: RequestId, caller: CallerDep, service: ServiceDep
) -> ErasureView:
    """Which services carried it out, what each deleted and kept de-identified."""
    return erasure_view(await service.erasure_request(request_id, caller.organisation))


@retention.get("", response_model=ScheduleView)
async def get_schedule(caller: CallerDep, service: ServiceDep) -> ScheduleView:
    """Every record type's period after a case closes (the default: 6 years)."""
    return schedule_view(await service.schedule(caller.organisation))


@retention.put(
    "",
    response_model=ScheduleView,
    responses={409: {"description": "the schedule changed meanwhile; try again"}},
)
async def put_schedule(
    body: RetentionPeriods, caller: CallerDep, service: ServiceDep
) -> ScheduleView:
    """Set the periods; a type left out keeps the default. Open timers move to the new
    periods."""
    record = await service.set_schedule(caller.organisation, caller.principal.subject, body.periods)
    return schedule_view(record)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound) -> JSONResponse:
        access_of(request).refusal = "no such request in the organisation"
        return problem(404, "request_id: no such request")

    @app.exception_handler(NotReady)
    async def _not_ready(_: Request, exc: NotReady) -> JSONResponse:
        return problem(exc.status_code, str(exc))

    @app.exception_handler(Refused)
    async def _refused(_: Request, exc: Refused) -> JSONResponse:
        return field_problem(exc.field, str(exc).split(": ", 1)[1], 422)

    @app.exception_handler(ConcurrentUpdate)
    async def _busy(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return problem(409, str(exc), kind="concurrent-update")
