"""Needs assessment and support plan: drafted, agreed with the client (SupportPlanAgreed),
progress recorded per action."""

from __future__ import annotations

from services.support.case import (
    OPEN,
    Assessment,
    Plan,
    PlanAgreed,
    ProgressNote,
    SupportCase,
    stored,
)
from services.support.case_records import fact, goal_record
from services.support.errors import CaseworkError, still_open, why, written
from services.support.plan import (
    Goal,
    PlanError,
    Progress,
    assessed_domains,
    plan_review_on,
    validate_plan,
)
from services.support.schemas import AssessmentIn
from services.support.store import SupportStore
from shared.clock import Clock
from shared.events.catalogue import SupportPlanAgreed


class Planning:
    def __init__(self, store: SupportStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def record_assessment(
        self, organisation: str, case_id: str, assessment: AssessmentIn
    ) -> SupportCase:
        still_open(await self.store.case(case_id, organisation), case_id)
        record = Assessment(**assessment.model_dump(), recorded_on=self.clock.now().date())
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            {"$set": {"assessment": stored(record)}},
            guard={"status": OPEN},
        )
        return written(await uow.commit(), self.store.repository, case_id)

    async def save_plan(
        self, organisation: str, case_id: str, goals: list[Goal], drafted_by: str
    ) -> SupportCase:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        if case.assessment is None:
            raise CaseworkError(409, "assessment", "record the needs assessment first")
        today = self.clock.now().date()
        try:
            validate_plan(goals, assessed_domains(case.assessment.levels()), today)
        except PlanError as exc:
            raise CaseworkError(422, exc.field, why(exc)) from exc
        previous = case.plan.version if case.plan else None
        version = (previous or 0) + 1
        plan = Plan(
            plan_id=f"{case_id}-plan-{version}",
            version=version,
            drafted_by=drafted_by,
            drafted_on=today,
            review_on=plan_review_on(today),
            goals=[goal_record(g, i) for i, g in enumerate(goals, start=1)],
        )
        # Guarded on the plan it replaces: two drafts at once, one wins.
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            {"$set": {"plan": stored(plan)}},
            guard={"status": OPEN, "plan.version": previous},
        )
        return written(await uow.commit(), self.store.repository, case_id)

    async def agree_plan(
        self, organisation: str, case_id: str, agreed_by: str, client_agreed: bool
    ) -> SupportCase:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        plan = case.plan
        if plan is None:
            raise CaseworkError(409, "plan", "draft a support plan first")
        if plan.status != "draft":
            raise CaseworkError(409, "plan", f"plan {plan.plan_id} is already agreed")
        if not client_agreed:
            raise CaseworkError(422, "client_agreed", "the client must agree the plan")
        now = self.clock.now()
        today = now.date()
        data = SupportPlanAgreed(
            case_id=case_id,
            plan_id=plan.plan_id,
            stage=case.stage,
            goal_domains=sorted({g.domain.value for g in plan.goals}),
            agreed_on=today,
            next_review_on=case.next_review_on,
        )
        agreed = PlanAgreed(plan_id=plan.plan_id, agreed_on=today)
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            {
                "$set": {
                    "plan.status": "agreed",
                    "plan.agreed_on": today.isoformat(),
                    "plan.agreed_by": agreed_by,
                },
                "$push": {"plans_agreed": stored(agreed)},
            },
            [fact(case, data, now)],
            guard={"status": OPEN, "plan.plan_id": plan.plan_id, "plan.status": "draft"},
        )
        return written(await uow.commit(), self.store.repository, case_id)

    async def record_progress(
        self,
        organisation: str,
        case_id: str,
        action_id: str,
        progress: Progress,
        note: str | None,
    ) -> SupportCase:
        case = still_open(await self.store.case(case_id, organisation), case_id)
        plan = case.plan
        if plan is None:
            raise CaseworkError(404, "action_id", "the case has no plan")
        entry = ProgressNote(on=self.clock.now().date(), progress=progress, note=note)
        actions = [a for g in plan.goals for a in g.actions if a.action_id == action_id]
        if not actions:
            raise CaseworkError(404, "action_id", f"no action {action_id!r} in the plan")
        for action in actions:
            action.progress = progress
            action.notes = [*(action.notes or []), entry]
        # Guarded on the plan's revision it read: progress recorded meanwhile is never lost.
        uow = self.store.unit()
        uow.change(
            self.store.repository,
            case_id,
            {
                "$set": {
                    "plan.goals": [stored(g) for g in plan.goals],
                    "plan.revision": plan.revision + 1,
                }
            },
            guard={"plan.plan_id": plan.plan_id, "plan.revision": plan.revision},
        )
        return written(await uow.commit(), self.store.repository, case_id)
