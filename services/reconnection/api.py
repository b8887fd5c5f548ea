"""HTTP API: reconnection cases and the learning log, only ever the caller's organisation's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from services.reconnection import actions
from services.reconnection.api_models import (
    AgenciesNotified,
    BudgetAllocation,
    CaseId,
    CloseNote,
    Destination,
    EarlyClosure,
    ItemId,
    ItemNote,
    LearningEntry,
    LearningEntryIn,
    LearningPoints,
    NotApplicable,
    PackItemUpdate,
    PartVIIUpdate,
    PreClosureAnswers,
    ReconnectionDate,
    SpendIn,
)
from services.reconnection.decisions import Decision, NotFound, RuleViolation
from services.reconnection.eligibility import EligibilityInput
from services.reconnection.local_connection import LocalConnectionEvidence
from services.reconnection.model import (
    AuthorityContact,
    CaseReview,
    ClosureLetter,
    ConfidenceCheck,
    Handover,
    PackItem,
    ReconnectionCase,
    RiskAssessment,
    TravelPlan,
)
from services.reconnection.phases import Phase
from services.reconnection.service import ConcurrentUpdate, ReconnectionService
from services.reconnection.views import CaseSummary, CaseView, case_view, summary
from shared.auth import CallerDep, audit_listed
from shared.ids import new_id

Action = Callable[[ReconnectionCase, datetime], Decision]


def get_service(request: Request) -> ReconnectionService:
    service: ReconnectionService = request.app.state.reconnection
    return service


ServiceDep = Annotated[ReconnectionService, Depends(get_service)]

cases = APIRouter(prefix="/reconnection-cases", tags=["reconnection cases"])
learning = APIRouter(prefix="/learning-log", tags=["learning log"])


async def act(service: ServiceDep, organisation: str, case_id: str, action: Action) -> CaseView:
    def decide(case: ReconnectionCase | None, now: datetime) -> Decision:
        assert case is not None  # apply() raises NotFound without a cause
        return action(case, now)

    case = await service.apply(case_id, decide, organisation=organisation)
    assert case is not None
    return case_view(case, service.runtime.clock.now())


@cases.get("", response_model=list[CaseSummary])
async def list_cases(
    request: Request,
    caller: CallerDep,
    service: ServiceDep,
    phase: Phase | None = None,
    open: bool | None = None,
    stalled_days: Annotated[
        int | None, Query(ge=0, le=3650, description="no progress for at least this many days")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[CaseSummary]:
    """The organisation's cases; `stalled_days` finds those to close for no progress."""
    now = service.runtime.clock.now()
    since = now - timedelta(days=stalled_days) if stalled_days is not None else None
    found = await service.store.list_cases(
        caller.organisation,
        phase.value if phase else None,
        open,
        since,
        limit,
        offset,
        caller.reach_filter("state.team_id", ("state.lead_worker_id",)),
    )
    visible = [c for c in found if caller.sees(c.team_id, c.lead_worker_id)]
    audit_listed(request, "case", (c.case_id for c in visible))
    return [summary(c, now) for c in visible]


@cases.get("/{case_id}", response_model=CaseView)
async def get_case(case_id: CaseId, caller: CallerDep, service: ServiceDep) -> CaseView:
    case = await service.get(case_id, caller.organisation)
    return case_view(case, service.runtime.clock.now())


@cases.post("/{case_id}/checklist/{phase}/{item_id}/complete", response_model=CaseView)
async def complete_item(
    case_id: CaseId,
    phase: Phase,
    item_id: ItemId,
    body: ItemNote,
    caller: CallerDep,
    service: ServiceDep,
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.complete_item(c, phase, item_id, body.note, now),
    )


@cases.post("/{case_id}/checklist/{phase}/{item_id}/not-applicable", response_model=CaseView)
async def item_not_applicable(
    case_id: CaseId,
    phase: Phase,
    item_id: ItemId,
    body: NotApplicable,
    caller: CallerDep,
    service: ServiceDep,
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.mark_not_applicable(c, phase, item_id, body.reason, now),
    )


@cases.post("/{case_id}/advance", response_model=CaseView)
async def advance(case_id: CaseId, caller: CallerDep, service: ServiceDep) -> CaseView:
    """Complete the current phase (its required items and rules) and enter the next."""
    return await act(service, caller.organisation, case_id, actions.advance)


@cases.put("/{case_id}/eligibility", response_model=CaseView)
async def eligibility(
    case_id: CaseId, body: EligibilityInput, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_eligibility(c, body, now),
    )


@cases.put("/{case_id}/local-connection", response_model=CaseView)
async def local_connection(
    case_id: CaseId, body: LocalConnectionEvidence, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_local_connection(c, body, now),
    )


@cases.put("/{case_id}/destination", response_model=CaseView)
async def destination(
    case_id: CaseId, body: Destination, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.choose_destination(c, body.area, now),
    )


@cases.post("/{case_id}/authority-contacts", response_model=CaseView)
async def authority_contact(
    case_id: CaseId, body: AuthorityContact, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.log_authority_contact(c, body, now),
    )


@cases.put("/{case_id}/part-vii", response_model=CaseView)
async def part_vii(
    case_id: CaseId, body: PartVIIUpdate, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.update_part_vii(c, body.status, body.on, body.reference, now),
    )


@cases.put("/{case_id}/presentation-pack/{item}", response_model=CaseView)
async def pack_item(
    case_id: CaseId, item: PackItem, body: PackItemUpdate, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.set_pack_item(c, item, body.status, body.reason, body.note, now),
    )


@cases.put("/{case_id}/reconnection-date", response_model=CaseView)
async def reconnection_date(
    case_id: CaseId, body: ReconnectionDate, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Needs a complete presentation pack; the pack is sent at 09:00 UTC the day before."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.set_reconnection_date(c, body.reconnection_date, now),
    )


@cases.put("/{case_id}/risk-assessment", response_model=CaseView)
async def risk_assessment(
    case_id: CaseId, body: RiskAssessment, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_risk_assessment(c, body, now),
    )


@cases.put("/{case_id}/travel-plan", response_model=CaseView)
async def travel_plan(
    case_id: CaseId, body: TravelPlan, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_travel_plan(c, body, now),
    )


@cases.put("/{case_id}/budget", response_model=CaseView)
async def budget(
    case_id: CaseId, body: BudgetAllocation, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.set_budget(c, body.allocated_pence, now),
    )


@cases.post("/{case_id}/budget/spend", response_model=CaseView)
async def spend(case_id: CaseId, body: SpendIn, caller: CallerDep, service: ServiceDep) -> CaseView:
    """A spend beyond the budget is refused unless approved_overspend_reason is given (flagged)."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_spend(
            c, body.amount_pence, body.category, body.note, body.approved_overspend_reason, now
        ),
    )


@cases.put("/{case_id}/confidence-check", response_model=CaseView)
async def confidence_check(
    case_id: CaseId, body: ConfidenceCheck, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.record_confidence_check(c, body, now),
    )


@cases.post("/{case_id}/handovers", response_model=CaseView)
async def handover(
    case_id: CaseId, body: Handover, caller: CallerDep, service: ServiceDep
) -> CaseView:
    return await act(
        service, caller.organisation, case_id, lambda c, now: actions.add_handover(c, body, now)
    )


@cases.put("/{case_id}/closure/answers", response_model=CaseView)
async def closure_answers(
    case_id: CaseId, body: PreClosureAnswers, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Tool 4, Steps 2-5: local support, risk of return, temporary accommodation, handover."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.answer_pre_closure(
            c,
            body.sufficient_local_support,
            body.low_risk_of_return,
            body.in_temporary_accommodation,
            body.negative_decision_handover_done,
            now,
        ),
    )


@cases.post("/{case_id}/closure/letter", response_model=CaseView)
async def closure_letter(
    case_id: CaseId, body: ClosureLetter, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 7: the client is told by letter who supports them locally and what to do in a crisis."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.send_closure_letter(c, body, now),
    )


@cases.post("/{case_id}/closure/agencies-notified", response_model=CaseView)
async def agencies_notified(
    case_id: CaseId, body: AgenciesNotified, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 8: every agency, including the referring outreach team, advised."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.notify_agencies(c, body.agencies, now),
    )


@cases.post("/{case_id}/closure/close", response_model=CaseView)
async def close(
    case_id: CaseId, body: CloseNote, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 9: close the case everywhere; emits CaseClosed(reason=reconnected)."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.close_reconnected(c, body.note, now),
    )


@cases.post("/{case_id}/closure/review", response_model=CaseView)
async def review(
    case_id: CaseId, body: CaseReview, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 10: the team's review of the full case."""
    return await act(
        service, caller.organisation, case_id, lambda c, now: actions.record_review(c, body, now)
    )


@cases.post("/{case_id}/closure/learning-points", response_model=CaseView)
async def learning_points(
    case_id: CaseId, body: LearningPoints, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 11: learning points into the organisation's log."""
    entry = LearningEntryIn(case_id=case_id, points=body.points, recorded_by=body.recorded_by)
    _, view = await _log_learning(service, caller.organisation, entry, strict=True)
    return view


@cases.post("/{case_id}/close-early", response_model=CaseView)
async def close_early(
    case_id: CaseId, body: EarlyClosure, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """No progress for a sustained period (or the client gone): closed, open to re-referral."""
    return await act(
        service,
        caller.organisation,
        case_id,
        lambda c, now: actions.close_early(c, body.reason, body.note, now),
    )


async def _log_learning(
    service: ServiceDep, organisation: str, entry: LearningEntryIn, strict: bool
) -> tuple[LearningEntry, CaseView]:
    """Write the entry, then tick Step 11 on its case. Strict (the case's own route): the case
    must be ready for it; otherwise the entry is kept and Step 11 ticked only when ready."""
    case = await service.get(entry.case_id or "", organisation)
    now = service.runtime.clock.now()
    try:
        actions.record_learning(case, "check", now)
        ready = not case.closure.answers.learning_points_logged
    except RuleViolation:
        if strict:
            raise
        ready = False
    stored = await _store_learning(service, organisation, entry, now)
    if ready or strict:
        view = await act(
            service,
            organisation,
            case.case_id,
            lambda c, at: actions.record_learning(c, stored.id, at),
        )
        return stored, view
    return stored, case_view(case, now)


async def _store_learning(
    service: ServiceDep, organisation: str, entry: LearningEntryIn, now: datetime
) -> LearningEntry:
    stored = LearningEntry(
        id=new_id("learning"), organisation=organisation, recorded_at=now, **entry.model_dump()
    )
    document = stored.model_dump(mode="json", exclude={"id", "recorded_at"})
    await service.store.add_learning({"_id": stored.id, "recorded_at": now, **document})
    return stored


def _entry(document: dict[str, Any]) -> LearningEntry:
    return LearningEntry(id=document["_id"], **{k: v for k, v in document.items() if k != "_id"})


@learning.get("", response_model=list[LearningEntry])
async def list_learning(
    caller: CallerDep,
    service: ServiceDep,
    case_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")] = None,
    since: Annotated[
        datetime | None, Query(description="entries recorded since, e.g. the last meeting")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LearningEntry]:
    """The organisation's shared learning log, newest first, for the next team meeting."""
    documents = await service.store.learning_entries(caller.organisation, case_id, since, limit)
    return [_entry(d) for d in documents]


@learning.post("", response_model=LearningEntry, status_code=201)
async def add_learning(
    body: LearningEntryIn, caller: CallerDep, service: ServiceDep
) -> LearningEntry:
    """A learning point, about one case (its Step 11) or the team's practice in general."""
    if body.case_id:
        stored, _ = await _log_learning(service, caller.organisation, body, strict=False)
        return stored
    return await _store_learning(service, caller.organisation, body, service.runtime.clock.now())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RuleViolation)
    async def _refused(_: Request, exc: RuleViolation) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=409)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ConcurrentUpdate)
    async def _busy(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)
