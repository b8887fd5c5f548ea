"""HTTP for caseworkers and team leaders, under /v1, scoped to the caller's organisation.

The routes are built around the service's casework (`build_router`), so each reads it typed
and nothing is looked up on the app."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import StringConstraints

from services.support import views
from services.support.case import SupportCase
from services.support.casework import Casework
from services.support.consent import CONSENTS, ConsentCopies, consent_view
from services.support.errors import CaseworkError
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
    OpenCaseIn,
    OverrideIn,
    PlanIn,
    ProgressIn,
    ReviewCompletionIn,
)
from shared.auth import Caller, CallerDep, audit_listed

Id = r"^[^\x00-\x1f/]{1,200}$"
CaseId = Annotated[str, Path(pattern=Id, description="the case id (= the referral id)")]
WorkerId = Annotated[str, Path(pattern=Id)]
ReviewId = Annotated[str, Path(pattern=Id)]
ActionId = Annotated[str, Path(pattern=Id)]
StatusFilter = Annotated[str, Query(alias="status", pattern="^(open|closed|all)$")]
WorkerFilter = Annotated[str | None, Query(pattern=Id)]
Days = Annotated[int, Query(ge=1, le=92, description="window from today")]
TeamFilter = Annotated[
    list[Annotated[str, StringConstraints(pattern=Id)]] | None, Query(max_length=50)
]
Json = dict[str, Any]
T = TypeVar("T")


async def _run(action: Awaitable[T]) -> T:
    try:
        return await action
    except CaseworkError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


def _visible(request: Request, caller: Caller, cases: list[SupportCase]) -> list[SupportCase]:
    """The cases within the caller's reach (their teams', or their own as lead or crisis
    worker; the whole organisation's for managers), named in the request's audit entry."""
    visible = [c for c in cases if caller.sees(c.team_id, c.lead_worker_id, c.crisis_worker_id)]
    audit_listed(request, "case", (c.case_id for c in visible))
    return visible


def _goals(body: PlanIn) -> list[Goal]:
    return [
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


def build_router(casework: Casework) -> APIRouter:
    router = APIRouter(tags=["support"])
    store = casework.store
    consents = ConsentCopies(store.cases.database[CONSENTS])  # kept by the consent handler

    def detail(case: SupportCase) -> Json:
        return views.detail(case, casework.today())

    # --- views ---------------------------------------------------------------------------

    @router.get("/caseworkers/{worker_id}/cases", summary="A caseworker's caseload")
    async def caseload(
        request: Request,
        worker_id: WorkerId,
        caller: CallerDep,
        status_filter: StatusFilter = "open",
    ) -> Json:
        cases = await store.caseload(
            caller.organisation, worker_id, None if status_filter == "all" else status_filter
        )
        today = casework.today()
        cases = _visible(request, caller, cases)
        return {"worker_id": worker_id, "cases": [views.summary(c, today) for c in cases]}

    @router.get("/cases/{case_id}", summary="A case with its plan, contacts and reviews")
    async def get_case(case_id: CaseId, caller: CallerDep) -> Json:
        body = detail(await _run(casework.case(caller.organisation, case_id)))
        # The person's consent as it stands now (issue 16): given, withdrawn or expired.
        consent = await consents.of(case_id, caller.organisation)
        body["consent"] = consent_view(consent, casework.clock.now())
        return body

    @router.get("/reviews/due", summary="Reviews due this week (the next 7 days) and overdue ones")
    async def reviews_due(
        request: Request,
        caller: CallerDep,
        worker_id: WorkerFilter = None,
        days: Days = 7,
        team_id: TeamFilter = None,
    ) -> Json:
        """`team_id` (repeatable): only those teams' cases, as a team leader's page wants."""
        today = casework.today()
        until = views.last_day(today, days)
        cases = await store.with_reviews_due_by(
            caller.organisation, until.isoformat(), worker_id, team_id
        )
        return {
            "from": today.isoformat(),
            "to": until.isoformat(),
            "reviews": views.reviews_due(_visible(request, caller, cases), today, days),
        }

    @router.get("/escalated-cases", summary="Open cases escalated by the safety net")
    async def escalated_cases(request: Request, caller: CallerDep) -> Json:
        today = casework.today()
        cases = _visible(request, caller, await store.escalated(caller.organisation))
        return {"cases": [views.escalated(c, today) for c in cases]}

    # --- actions -------------------------------------------------------------------------

    @router.post(
        "/cases",
        status_code=status.HTTP_201_CREATED,
        summary="Open a case at a stage from a start date (a case that began before Hearth)",
    )
    async def open_case(body: OpenCaseIn, caller: CallerDep) -> Json:
        if not caller.sees(body.team_id):
            raise HTTPException(403, "team_id: not one of your teams")
        return detail(await _run(casework.opening.take_over(caller.organisation, body)))

    @router.post("/cases/{case_id}/assessment", summary="Record the needs assessment")
    async def record_assessment(case_id: CaseId, body: AssessmentIn, caller: CallerDep) -> Json:
        action = casework.planning.record_assessment(caller.organisation, case_id, body)
        return detail(await _run(action))

    @router.put("/cases/{case_id}/plan", summary="Draft (or redraft) the support plan")
    async def save_plan(case_id: CaseId, body: PlanIn, caller: CallerDep) -> Json:
        action = casework.planning.save_plan(
            caller.organisation, case_id, _goals(body), body.drafted_by
        )
        return detail(await _run(action))

    @router.post("/cases/{case_id}/plan/agree", summary="Agree the plan with the client")
    async def agree_plan(case_id: CaseId, body: AgreeIn, caller: CallerDep) -> Json:
        action = casework.planning.agree_plan(
            caller.organisation, case_id, body.agreed_by, body.client_agreed
        )
        return detail(await _run(action))

    @router.post(
        "/cases/{case_id}/plan/actions/{action_id}/progress",
        summary="Record progress on an action",
    )
    async def record_progress(
        case_id: CaseId, action_id: ActionId, body: ProgressIn, caller: CallerDep
    ) -> Json:
        action = casework.planning.record_progress(
            caller.organisation, case_id, action_id, body.progress, body.note
        )
        return detail(await _run(action))

    @router.post(
        "/cases/{case_id}/contacts", status_code=status.HTTP_201_CREATED, summary="Log a contact"
    )
    async def log_contact(case_id: CaseId, body: ContactIn, caller: CallerDep) -> Json:
        contact_id = await _run(casework.contacts.log_contact(caller.organisation, case_id, body))
        return {"contact_id": contact_id}

    @router.post(
        "/cases/{case_id}/files",
        status_code=status.HTTP_201_CREATED,
        summary="Record a file received (photo, letter): metadata only",
    )
    async def record_file(case_id: CaseId, body: FileIn, caller: CallerDep) -> Json:
        file_id = await _run(casework.contacts.record_file(caller.organisation, case_id, body))
        return {"file_id": file_id}

    @router.post("/cases/{case_id}/reviews/{review_id}/complete", summary="Complete a review")
    async def complete_review(
        case_id: CaseId, review_id: ReviewId, body: ReviewCompletionIn, caller: CallerDep
    ) -> Json:
        action = casework.reviews.complete_review(caller.organisation, case_id, review_id, body)
        return detail(await _run(action))

    @router.post("/cases/{case_id}/escalate", summary="A worker's own crisis flag")
    async def escalate(case_id: CaseId, body: EscalateIn, caller: CallerDep) -> Json:
        signal = RiskSignal(
            risk_level=body.risk_level,
            reasons=tuple(body.reasons),
            source="worker_flag",
            legal_stage=body.legal_stage,
            arrears_balance=body.arrears_balance,
            eviction_date=body.eviction_date,
        )
        case, escalated = await _run(
            casework.escalations.flag_risk(caller.organisation, case_id, signal, body.flagged_by)
        )
        return {"escalated": escalated, "case": detail(case)}

    @router.post("/cases/{case_id}/limit-overrides", summary="Support past the two-year limit")
    async def record_override(case_id: CaseId, body: OverrideIn, caller: CallerDep) -> Json:
        action = casework.reviews.record_override(
            caller.organisation, case_id, body.extend_until, body.justification, body.approved_by
        )
        return detail(await _run(action))

    @router.post("/cases/{case_id}/close", summary="Close with a reason and tenancy outcome")
    async def close_case(case_id: CaseId, body: ClosureIn, caller: CallerDep) -> Json:
        return detail(await _run(casework.closing.close(caller.organisation, case_id, body)))

    @router.put("/crisis-worker", summary="Designate the organisation's crisis worker")
    async def designate_crisis_worker(body: CrisisWorkerIn, caller: CallerDep) -> Json:
        await store.designate_crisis_worker(caller.organisation, body.worker_id)
        return {"organisation": caller.organisation, "crisis_worker_id": body.worker_id}

    return router
