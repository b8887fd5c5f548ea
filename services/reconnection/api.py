"""HTTP API: reconnection cases and the learning log, only ever the caller's organisation's."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from services.reconnection import actions
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
from services.reconnection.opening import on_identified
from services.reconnection.phases import Phase
from services.reconnection.schemas import (
    AgenciesNotified,
    BudgetAllocation,
    CaseId,
    CloseNote,
    Destination,
    EarlyClosure,
    ItemId,
    ItemNote,
    LearningEntryIn,
    LearningPoints,
    NotApplicable,
    OpenCase,
    PackItemUpdate,
    PartVIIUpdate,
    PreClosureAnswers,
    ReconnectionDate,
    SpendIn,
)
from services.reconnection.service import ConcurrentUpdate, ReconnectionService
from services.reconnection.service_area import ServiceArea
from services.reconnection.views import (
    CaseSummary,
    CaseView,
    LearningEntry,
    case_view,
    learning_entry,
    summary,
)
from shared.as_of import AsOf
from shared.auth import Caller, CallerDep, audit_listed
from shared.ids import new_id
from shared.problems import field_problem, problem

Action = Callable[[ReconnectionCase, datetime], Decision]
# A case action: (case, what the route reads, now=...) -> the decision; see case_action.
Decide = Callable[..., Decision]


def get_service() -> ReconnectionService:
    """The app's service, bound by `bind_service`: the routes are declared once, at import
    (the case actions are a table), and each app binds its own typed service to them."""
    raise RuntimeError("reconnection routes served without bind_service(app, service)")


def bind_service(app: FastAPI, service: ReconnectionService) -> None:
    app.dependency_overrides[get_service] = lambda: service


ServiceDep = Annotated[ReconnectionService, Depends(get_service)]

cases = APIRouter(prefix="/reconnection-cases", tags=["reconnection cases"])
areas = APIRouter(prefix="/service-area", tags=["service area"])
# A case action that reads the organisation's service area names a parameter so.
SERVICE_AREA = "service_area"
learning = APIRouter(prefix="/learning-log", tags=["learning log"])


async def act(service: ServiceDep, organisation: str, case_id: str, action: Action) -> CaseView:
    def decide(case: ReconnectionCase | None, now: datetime) -> Decision:
        assert case is not None  # apply() raises NotFound without a cause
        return action(case, now)

    case = await service.apply(case_id, decide, organisation=organisation)
    assert case is not None
    return case_view(case, service.runtime.clock.now())


def case_action(method: str, path: str) -> Callable[[Decide], Decide]:
    """Declare `decide` as the route `method /reconnection-cases/{case_id}<path>`: the route
    loads the case, applies `decide` and answers with the case. `decide` takes the case, then
    what the route reads (the path's other parameters, the body), then the time; its name and
    docstring are the route's name (OpenAPI operation id and summary) and description."""

    def register(decide: Decide) -> Decide:
        needs_area = SERVICE_AREA in inspect.signature(decide).parameters

        async def endpoint(
            case_id: str, caller: Caller, service: ReconnectionService, **given: Any
        ) -> CaseView:
            if needs_area:  # Tool 3, criterion 1: the organisation's own boroughs
                given[SERVICE_AREA] = await service.store.service_area(caller.organisation)
            return await act(
                service,
                caller.organisation,
                case_id,
                lambda case, now: decide(case, **given, now=now),
            )

        endpoint.__signature__ = _route_signature(decide)  # type: ignore[attr-defined]
        cases.add_api_route(
            f"/{{case_id}}{path}",
            endpoint,
            methods=[method],
            response_model=CaseView,
            name=decide.__name__,
            description=inspect.getdoc(decide),
        )
        return decide

    return register


def _route_signature(decide: Decide) -> inspect.Signature:
    """The inputs FastAPI reads for a case action: the case id, what `decide` reads between the
    case and the time, then the caller and the service (as each route used to spell them)."""
    reads = [
        p
        for p in list(inspect.signature(decide, eval_str=True).parameters.values())[1:-1]
        if p.name != SERVICE_AREA
    ]
    return inspect.Signature(
        [
            _keyword("case_id", CaseId),
            *(_keyword(p.name, p.annotation) for p in reads),
            _keyword("caller", CallerDep),
            _keyword("service", ServiceDep),
        ],
        return_annotation=CaseView,
    )


def _keyword(name: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)


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


@cases.post("", response_model=CaseView, status_code=201)
async def open_case(
    body: OpenCase, response: Response, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Open a reconnection case (Phase 1, identify) under its referral's id: 201 when opened,
    200 with the case when it is already open. It is also opened, without this call, by the
    referral's assessment (route reconnection) and the allocation, in either order."""
    existing = await service.store.get(body.case_id)
    case = await service.apply(
        body.case_id,
        lambda case, now: on_identified(
            case,
            body.case_id,
            caller.organisation,
            new_id("corr"),
            now,
            person_id=body.person_id,
            referring_area=body.referring_area,
            referrer_organisation=body.referrer_organisation,
            support_needs=body.support_needs,
        ),
        create=True,
    )
    assert case is not None
    if existing is not None:
        response.status_code = 200
    response.headers["Location"] = f"/v1/reconnection-cases/{case.case_id}"
    return case_view(case, service.runtime.clock.now())


@cases.get("/{case_id}", response_model=CaseView)
async def get_case(case_id: CaseId, caller: CallerDep, service: ServiceDep) -> CaseView:
    case = await service.get(case_id, caller.organisation)
    return case_view(case, service.runtime.clock.now())


@cases.get(
    "/{case_id}/presentation-pack/document",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the pack as sent"}},
)
async def pack_document(case_id: CaseId, caller: CallerDep, service: ServiceDep) -> Response:
    """Phase 5: the presentation pack as generated the day before the presentation and kept
    (the covering letter and the list of documents), the PDF emailed to Housing Options."""
    case = await service.get(case_id, caller.organisation)
    kept = await service.store.pack(case.pack_document.document_id) if case.pack_document else None
    if kept is None:
        raise NotFound(f"case_id: no presentation pack generated for case {case_id} yet")
    document, pdf = kept
    disposition = f'attachment; filename="{document.filename}"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


# The case actions, in the order of the OpenAPI document.


@case_action("POST", "/checklist/{phase}/{item_id}/complete")
def complete_item(
    case: ReconnectionCase, phase: Phase, item_id: ItemId, body: ItemNote, now: datetime
) -> Decision:
    return actions.complete_item(case, phase, item_id, body.note, now)


@case_action("POST", "/checklist/{phase}/{item_id}/not-applicable")
def item_not_applicable(
    case: ReconnectionCase, phase: Phase, item_id: ItemId, body: NotApplicable, now: datetime
) -> Decision:
    return actions.mark_not_applicable(case, phase, item_id, body.reason, now)


@case_action("POST", "/advance")
def advance(case: ReconnectionCase, now: datetime) -> Decision:
    """Complete the current phase (its required items and rules) and enter the next."""
    return actions.advance(case, now)


@case_action("PUT", "/eligibility")
def eligibility(
    case: ReconnectionCase,
    body: EligibilityInput,
    as_of: AsOf,
    service_area: ServiceArea | None,
    now: datetime,
) -> Decision:
    """Tool 3's three criteria; the first against the organisation's service area. Outside
    production, `as_of` judges them on another day (a scenario's)."""
    return actions.record_eligibility(case, body, now, service_area, as_of)


@case_action("PUT", "/local-connection")
def local_connection(
    case: ReconnectionCase,
    body: LocalConnectionEvidence,
    as_of: AsOf,
    service_area: ServiceArea | None,
    now: datetime,
) -> Decision:
    """Candidate areas: outside the service area's boroughs, within the UK (Tool 3, 1).
    Outside production, `as_of` counts residence and family years to another day."""
    return actions.record_local_connection(case, body, now, service_area, as_of)


@case_action("PUT", "/destination")
def destination(case: ReconnectionCase, body: Destination, now: datetime) -> Decision:
    return actions.choose_destination(case, body.area, now)


@case_action("POST", "/authority-contacts")
def authority_contact(case: ReconnectionCase, body: AuthorityContact, now: datetime) -> Decision:
    return actions.log_authority_contact(case, body, now)


@case_action("PUT", "/part-vii")
def part_vii(case: ReconnectionCase, body: PartVIIUpdate, now: datetime) -> Decision:
    return actions.update_part_vii(case, body.status, body.on, body.reference, now)


@case_action("PUT", "/presentation-pack/{item}")
def pack_item(
    case: ReconnectionCase, item: PackItem, body: PackItemUpdate, now: datetime
) -> Decision:
    return actions.set_pack_item(case, item, body.status, body.reason, body.note, now)


@case_action("PUT", "/reconnection-date")
def reconnection_date(case: ReconnectionCase, body: ReconnectionDate, now: datetime) -> Decision:
    """Needs a complete presentation pack; the pack is sent at 09:00 UTC the day before."""
    return actions.set_reconnection_date(case, body.reconnection_date, now)


@case_action("PUT", "/risk-assessment")
def risk_assessment(case: ReconnectionCase, body: RiskAssessment, now: datetime) -> Decision:
    return actions.record_risk_assessment(case, body, now)


@case_action("PUT", "/travel-plan")
def travel_plan(case: ReconnectionCase, body: TravelPlan, now: datetime) -> Decision:
    return actions.record_travel_plan(case, body, now)


@case_action("PUT", "/budget")
def budget(case: ReconnectionCase, body: BudgetAllocation, now: datetime) -> Decision:
    return actions.set_budget(case, body.allocated_pence, now)


@case_action("POST", "/budget/spend")
def spend(case: ReconnectionCase, body: SpendIn, now: datetime) -> Decision:
    """A spend beyond the budget is refused unless approved_overspend_reason is given (flagged)."""
    overspend = body.approved_overspend_reason
    return actions.record_spend(case, body.amount_pence, body.category, body.note, overspend, now)


@case_action("PUT", "/confidence-check")
def confidence_check(case: ReconnectionCase, body: ConfidenceCheck, now: datetime) -> Decision:
    return actions.record_confidence_check(case, body, now)


@case_action("POST", "/handovers")
def handover(case: ReconnectionCase, body: Handover, now: datetime) -> Decision:
    return actions.add_handover(case, body, now)


@case_action("PUT", "/closure/answers")
def closure_answers(case: ReconnectionCase, body: PreClosureAnswers, now: datetime) -> Decision:
    """Tool 4, Steps 2-5: local support, risk of return, temporary accommodation, handover;
    with Step 2, from the 3 months post reconnection point, the follow-up ("Client still in
    accommodation and engaged after 3 months", and whether the client returned to rough
    sleeping), which emits ReconnectionFollowedUp when it is first given or corrected."""
    return actions.answer_pre_closure(
        case,
        body.sufficient_local_support,
        body.low_risk_of_return,
        body.in_temporary_accommodation,
        body.negative_decision_handover_done,
        now,
        still_in_accommodation=body.still_in_accommodation,
        engaged=body.engaged,
        returned_to_rough_sleeping=body.returned_to_rough_sleeping,
    )


@case_action("POST", "/closure/letter")
def closure_letter(case: ReconnectionCase, body: ClosureLetter, now: datetime) -> Decision:
    """Step 7: the client is told by letter who supports them locally and what to do in a crisis."""
    return actions.send_closure_letter(case, body, now)


@case_action("POST", "/closure/agencies-notified")
def agencies_notified(case: ReconnectionCase, body: AgenciesNotified, now: datetime) -> Decision:
    """Step 8: every agency, including the referring outreach team, advised."""
    return actions.notify_agencies(case, body.agencies, now)


@case_action("POST", "/closure/close")
def close(case: ReconnectionCase, body: CloseNote, now: datetime) -> Decision:
    """Step 9: close the case everywhere; emits CaseClosed(reason=reconnected)."""
    return actions.close_reconnected(case, body.note, now)


@case_action("POST", "/closure/review")
def review(case: ReconnectionCase, body: CaseReview, now: datetime) -> Decision:
    """Step 10: the team's review of the full case."""
    return actions.record_review(case, body, now)


@cases.post("/{case_id}/closure/learning-points", response_model=CaseView)
async def learning_points(
    case_id: CaseId, body: LearningPoints, caller: CallerDep, service: ServiceDep
) -> CaseView:
    """Step 11: learning points into the organisation's log, with their themes; emits
    LearningPointsRecorded (the themes and how many points, not their words)."""
    entry = LearningEntryIn(case_id=case_id, **body.model_dump())
    _, view = await _log_learning(service, caller.organisation, entry, strict=True)
    return view


@case_action("POST", "/close-early")
def close_early(case: ReconnectionCase, body: EarlyClosure, now: datetime) -> Decision:
    """No progress for a sustained period (or the client gone): closed, open to re-referral."""
    return actions.close_early(case, body.reason, body.note, now)


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
    stored = await service.log_learning(organisation, entry, now, case)
    if ready or strict:
        view = await act(
            service,
            organisation,
            case.case_id,
            lambda c, at: actions.record_learning(c, stored.id, at),
        )
        return stored, view
    return stored, case_view(case, now)


@areas.get("", response_model=ServiceArea | None)
async def get_service_area(caller: CallerDep, service: ServiceDep) -> ServiceArea | None:
    """The boroughs the organisation's service works in (null: each case's referring area)."""
    return await service.store.service_area(caller.organisation)


@areas.put("", response_model=ServiceArea)
async def put_service_area(
    body: ServiceArea, caller: CallerDep, service: ServiceDep
) -> ServiceArea:
    """Tool 3, criterion 1: a connection must be "outside of" these boroughs "but within the
    UK"; e.g. Safe Connections' tri-borough area: LB of Hackney, LB of Tower Hamlets and the
    City of London. Applies to assessments made from now on."""
    await service.store.put_service_area(caller.organisation, body)
    return body


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
    return [learning_entry(d) for d in documents]


@learning.post("", response_model=LearningEntry, status_code=201)
async def add_learning(
    body: LearningEntryIn, caller: CallerDep, service: ServiceDep
) -> LearningEntry:
    """A learning point, about one case (its Step 11) or the team's practice in general, with
    its themes; emits LearningPointsRecorded (the themes and how many points, not their words)."""
    if body.case_id:
        stored, _ = await _log_learning(service, caller.organisation, body, strict=False)
        return stored
    return await service.log_learning(caller.organisation, body, service.runtime.clock.now())


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RuleViolation)
    async def _refused(_: Request, exc: RuleViolation) -> JSONResponse:
        return field_problem(exc.field, exc.message, 409)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return problem(404, str(exc))

    @app.exception_handler(ConcurrentUpdate)
    async def _busy(_: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return problem(409, str(exc), kind="concurrent-update")
