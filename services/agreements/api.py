"""HTTP API: an organisation's data-sharing agreements, on either side. Organisation admins
propose, accept, decline and end them; admins, service managers and auditors read them.
Another organisation's agreement answers 404, exactly as one that does not exist.

Every change is on the audit trail (a non-GET request always is); a refusal of the rules is
marked as a refusal there too, with its reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from services.agreements import lifecycle
from services.agreements.lifecycle import AgreementRefused, NotAParty
from services.agreements.schemas import AgreementId, ChangeNote, ProposeAgreement
from services.agreements.service import AgreementsService, Transition
from services.agreements.views import (
    AgreementList,
    AgreementView,
    agreement_list,
    agreement_view,
)
from shared.agreements import AgreementStatus, Purpose
from shared.auth import Caller, CallerDep, access_of, audit_listed, audit_record
from shared.problems import field_problem, problem
from shared.unit_of_work import ConcurrentUpdate


def get_service() -> AgreementsService:
    """The app's service, bound by `bind_service` (routes are declared once, at import)."""
    raise RuntimeError("agreements routes served without bind_service(app, service)")


def bind_service(app: FastAPI, service: AgreementsService) -> None:
    app.dependency_overrides[get_service] = lambda: service


ServiceDep = Annotated[AgreementsService, Depends(get_service)]

agreements = APIRouter(prefix="/agreements", tags=["data-sharing agreements"])


@agreements.post("", response_model=AgreementView, status_code=201)
async def propose(
    request: Request, body: ProposeAgreement, caller: CallerDep, service: ServiceDep
) -> AgreementView:
    """Propose an agreement with another organisation; its admin accepts or declines it."""
    record = await service.propose(caller.organisation, caller.principal.subject, body)
    audit_record(request, "agreement", record.agreement_id)
    return agreement_view(record, service.runtime.clock.now())


@agreements.get("", response_model=AgreementList)
async def list_agreements(
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    status: AgreementStatus | None = None,
    purpose: Purpose | None = None,
) -> AgreementList:
    """The agreements the caller's organisation is party to, on either side."""
    records = await service.list(
        caller.organisation, status.value if status else None, purpose.value if purpose else None
    )
    audit_listed(request, "agreement", (r.agreement_id for r in records))
    return agreement_list(records, service.runtime.clock.now())


@agreements.get("/{agreement_id}", response_model=AgreementView)
async def get_agreement(
    agreement_id: AgreementId, caller: CallerDep, service: ServiceDep
) -> AgreementView:
    record = await service.get(agreement_id, caller.organisation)
    return agreement_view(record, service.runtime.clock.now())


async def _change(
    service: AgreementsService,
    caller: Caller,
    agreement_id: str,
    transition: Transition,
    body: ChangeNote | None,
) -> AgreementView:
    record = await service.change(
        agreement_id,
        transition,
        organisation=caller.organisation,
        subject=caller.principal.subject,
        note=body.note if body else None,
    )
    return agreement_view(record, service.runtime.clock.now())


@agreements.post("/{agreement_id}/accept", response_model=AgreementView)
async def accept(
    agreement_id: AgreementId,
    caller: CallerDep,
    service: ServiceDep,
    body: ChangeNote | None = None,
) -> AgreementView:
    """The counterparty accepts a proposal: the agreement is active (live from `starts`)."""
    return await _change(service, caller, agreement_id, lifecycle.accept, body)


@agreements.post("/{agreement_id}/decline", response_model=AgreementView)
async def decline(
    agreement_id: AgreementId,
    caller: CallerDep,
    service: ServiceDep,
    body: ChangeNote | None = None,
) -> AgreementView:
    """The counterparty declines a proposal."""
    return await _change(service, caller, agreement_id, lifecycle.decline, body)


@agreements.post("/{agreement_id}/end", response_model=AgreementView)
async def end(
    agreement_id: AgreementId,
    caller: CallerDep,
    service: ServiceDep,
    body: ChangeNote | None = None,
) -> AgreementView:
    """Either party ends the agreement (or withdraws a proposal), from now."""
    return await _change(service, caller, agreement_id, lifecycle.end, body)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AgreementRefused)
    async def _refused(request: Request, exc: AgreementRefused) -> JSONResponse:
        access_of(request).refusal = str(exc)  # on the trail as a refusal, with its reason
        return field_problem(exc.field, exc.message, exc.status_code)

    @app.exception_handler(NotAParty)
    async def _missing(request: Request, exc: NotAParty) -> JSONResponse:
        access_of(request).refusal = str(exc)  # looking at another's agreement is on the trail
        return problem(404, str(exc))

    @app.exception_handler(ConcurrentUpdate)
    async def _busy(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return problem(409, str(exc), kind="concurrent-update")
