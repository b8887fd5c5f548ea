"""HTTP for caseworkers and team leaders, under /v1, scoped to the caller's organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from services.support import views
from services.support.actions.context import CaseworkError
from services.support.casework import Casework
from services.support.escalation import RiskSignal
from services.support.plan import Goal, PlanAction
from services.support.schemas import (
    AgreeIn,
    AssessmentIn,
    ClosureIn,
    ContactIn,
    CrisisWorkerIn,
    EscalateIn,
    FileIn,
    OverrideIn,
    PlanIn,
    ProgressIn,
    ReviewCompletionIn,
)
from shared.auth import Caller, CallerDep, audit_listed

router = APIRouter(tags=["support"])

Id = r"^[^\x00-\x1f/]{1,200}$"
CaseId = Annotated[str, Path(pattern=Id, description="the case id (= the referral id)")]
WorkerId = Annotated[str, Path(pattern=Id)]
ReviewId = Annotated[str, Path(pattern=Id)]
ActionId = Annotated[str, Path(pattern=Id)]
Json = dict[str, Any]


def _casework(request: Request) -> Casework:
    casework: Casework = request.app.state.casework
    return casework


async def _run(coro: Any) -> Any:
    try:
        return await coro
    except CaseworkError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


def _visible(request: Request, caller: Caller, cases: list[Json]) -> list[Json]:
    """The cases within the caller's reach (their teams', or their own as lead or crisis
    worker; the whole organisation's for managers), named in the request's audit entry."""
    visible = [
        c
        for c in cases
        if caller.sees(c.get("team_id"), c.get("lead_worker_id"), c.get("crisis_worker_id"))
    ]
    audit_listed(request, "case", (c["_id"] for c in visible))
    return visible


def _detail(request: Request, case: Json) -> Json:
    return views.detail(case, _casework(request).today())


# --- views -------------------------------------------------------------------------------


@router.get("/caseworkers/{worker_id}/cases", summary="A caseworker's caseload")
async def caseload(
    request: Request,
    worker_id: WorkerId,
    caller: CallerDep,
    status_filter: Annotated[str, Query(alias="status", pattern="^(open|closed|all)$")] = "open",
) -> Json:
    casework = _casework(request)
    cases = await casework.store.caseload(
        caller.organisation, worker_id, None if status_filter == "all" else status_filter
    )
    today = casework.today()
    cases = _visible(request, caller, cases)
    return {"worker_id": worker_id, "cases": [views.summary(c, today) for c in cases]}


@router.get("/cases/{case_id}", summary="A case with its plan, contacts and reviews")
async def get_case(request: Request, case_id: CaseId, caller: CallerDep) -> Json:
    case = await _run(_casework(request).ctx.case(caller.organisation, case_id))
    return _detail(request, case)


@router.get("/reviews/due", summary="Reviews due this week (the next 7 days) and overdue ones")
async def reviews_due(
    request: Request,
    caller: CallerDep,
    worker_id: Annotated[str | None, Query(pattern=Id)] = None,
    days: Annotated[int, Query(ge=1, le=92, description="window from today")] = 7,
) -> Json:
    casework = _casework(request)
    today = casework.today()
    until = views.last_day(today, days)
    cases = await casework.store.with_reviews_due_by(
        caller.organisation, until.isoformat(), worker_id
    )
    return {
        "from": today.isoformat(),
        "to": until.isoformat(),
        "reviews": views.reviews_due(_visible(request, caller, cases), today, days),
    }


@router.get("/escalated-cases", summary="Open cases escalated by the safety net")
async def escalated_cases(request: Request, caller: CallerDep) -> Json:
    casework = _casework(request)
    today = casework.today()
    cases = _visible(request, caller, await casework.store.escalated(caller.organisation))
    return {
        "cases": [{**views.summary(c, today), "escalation": c.get("escalation")} for c in cases]
    }


# --- actions -----------------------------------------------------------------------------


@router.post("/cases/{case_id}/assessment", summary="Record the needs assessment")
async def record_assessment(
    request: Request, case_id: CaseId, body: AssessmentIn, caller: CallerDep
) -> Json:
    case = await _run(
        _casework(request).planning.record_assessment(
            caller.organisation, case_id, body.model_dump(mode="json")
        )
    )
    return _detail(request, case)


@router.put("/cases/{case_id}/plan", summary="Draft (or redraft) the support plan")
async def save_plan(request: Request, case_id: CaseId, body: PlanIn, caller: CallerDep) -> Json:
    goals = [
        Goal(
            g.domain,
            g.goal,
            tuple(
                PlanAction(a.description, a.owner, a.due_on, a.partner_agency, a.progress)
                for a in g.actions
            ),
        )
        for g in body.goals
    ]
    case = await _run(
        _casework(request).planning.save_plan(caller.organisation, case_id, goals, body.drafted_by)
    )
    return _detail(request, case)


@router.post("/cases/{case_id}/plan/agree", summary="Agree the plan with the client")
async def agree_plan(request: Request, case_id: CaseId, body: AgreeIn, caller: CallerDep) -> Json:
    case = await _run(
        _casework(request).planning.agree_plan(
            caller.organisation, case_id, body.agreed_by, body.client_agreed
        )
    )
    return _detail(request, case)


@router.post(
    "/cases/{case_id}/plan/actions/{action_id}/progress", summary="Record progress on an action"
)
async def record_progress(
    request: Request, case_id: CaseId, action_id: ActionId, body: ProgressIn, caller: CallerDep
) -> Json:
    case = await _run(
        _casework(request).planning.record_progress(
            caller.organisation, case_id, action_id, body.progress, body.note
        )
    )
    return _detail(request, case)


@router.post(
    "/cases/{case_id}/contacts", status_code=status.HTTP_201_CREATED, summary="Log a contact"
)
async def log_contact(
    request: Request, case_id: CaseId, body: ContactIn, caller: CallerDep
) -> Json:
    contact_id = await _run(
        _casework(request).contacts.log_contact(
            caller.organisation, case_id, body.model_dump(mode="json")
        )
    )
    return {"contact_id": contact_id}


@router.post(
    "/cases/{case_id}/files",
    status_code=status.HTTP_201_CREATED,
    summary="Record a file received (photo, letter): metadata only",
)
async def record_file(request: Request, case_id: CaseId, body: FileIn, caller: CallerDep) -> Json:
    file_id = await _run(
        _casework(request).contacts.record_file(
            caller.organisation, case_id, body.model_dump(mode="json")
        )
    )
    return {"file_id": file_id}


@router.post("/cases/{case_id}/reviews/{review_id}/complete", summary="Complete a review")
async def complete_review(
    request: Request,
    case_id: CaseId,
    review_id: ReviewId,
    body: ReviewCompletionIn,
    caller: CallerDep,
) -> Json:
    completion = body.model_dump(mode="json", exclude={"closure"})
    closure = body.closure.model_dump(mode="json") if body.closure else None
    case = await _run(
        _casework(request).reviews.complete_review(
            caller.organisation, case_id, review_id, completion, closure
        )
    )
    return _detail(request, case)


@router.post("/cases/{case_id}/escalate", summary="A worker's own crisis flag")
async def escalate(request: Request, case_id: CaseId, body: EscalateIn, caller: CallerDep) -> Json:
    signal = RiskSignal(
        risk_level=body.risk_level,
        reasons=tuple(body.reasons),
        source="worker_flag",
        legal_stage=body.legal_stage,
        arrears_balance=body.arrears_balance,
        eviction_date=body.eviction_date,
    )
    case, escalated = await _run(
        _casework(request).escalations.flag_risk(
            caller.organisation, case_id, signal, body.flagged_by
        )
    )
    return {"escalated": escalated, "case": _detail(request, case)}


@router.post("/cases/{case_id}/limit-overrides", summary="Support past the two-year limit")
async def record_override(
    request: Request, case_id: CaseId, body: OverrideIn, caller: CallerDep
) -> Json:
    case = await _run(
        _casework(request).reviews.record_override(
            caller.organisation, case_id, body.extend_until, body.justification, body.approved_by
        )
    )
    return _detail(request, case)


@router.post("/cases/{case_id}/close", summary="Close with a reason and tenancy outcome")
async def close_case(request: Request, case_id: CaseId, body: ClosureIn, caller: CallerDep) -> Json:
    case = await _run(
        _casework(request).closing.close(caller.organisation, case_id, body.model_dump(mode="json"))
    )
    return _detail(request, case)


@router.put("/crisis-worker", summary="Designate the organisation's crisis worker")
async def designate_crisis_worker(
    request: Request, body: CrisisWorkerIn, caller: CallerDep
) -> Json:
    await _casework(request).store.designate_crisis_worker(caller.organisation, body.worker_id)
    return {"organisation": caller.organisation, "crisis_worker_id": body.worker_id}
