"""Needs assessment and support plan: drafted, agreed with the client (SupportPlanAgreed),
progress recorded per action."""

from __future__ import annotations

from typing import Any

from services.support.actions.context import CaseworkError, SupportContext, changed
from services.support.case_records import goal_record
from services.support.dates import iso, parse
from services.support.plan import (
    Goal,
    NeedDomain,
    NeedLevel,
    PlanError,
    Progress,
    assessed_domains,
    plan_review_on,
    validate_plan,
)
from services.support.store import OPEN
from shared.codes import Stage
from shared.events.catalogue import SupportPlanAgreed
from shared.mongo import Document


class Planning:
    def __init__(self, ctx: SupportContext) -> None:
        self.ctx = ctx

    async def record_assessment(
        self, organisation: str, case_id: str, assessment: dict[str, Any]
    ) -> Document:
        await self.ctx.open_case(organisation, case_id)
        assessment = {**assessment, "recorded_on": iso(self.ctx.today())}
        updated = await self.ctx.store.update(
            case_id, {"status": OPEN}, {"$set": {"assessment": assessment}}
        )
        if updated is None:
            raise changed()
        return updated

    async def save_plan(
        self, organisation: str, case_id: str, goals: list[Goal], drafted_by: str
    ) -> Document:
        case = await self.ctx.open_case(organisation, case_id)
        assessment = case.get("assessment")
        if assessment is None:
            raise CaseworkError(409, "assessment", "record the needs assessment first")
        levels = {NeedDomain(n["domain"]): NeedLevel(n["level"]) for n in assessment["needs"]}
        today = self.ctx.today()
        try:
            validate_plan(goals, assessed_domains(levels), today)
        except PlanError as exc:
            raise CaseworkError(422, exc.field, str(exc).split(": ", 1)[1]) from exc
        previous = case.get("plan") or {}
        version = int(previous.get("version", 0)) + 1
        plan = {
            "plan_id": f"{case_id}-plan-{version}",
            "version": version,
            "revision": 1,
            "status": "draft",
            "drafted_by": drafted_by,
            "drafted_on": iso(today),
            "review_on": iso(plan_review_on(today)),
            "goals": [goal_record(g, i) for i, g in enumerate(goals, start=1)],
        }
        guard = {"status": OPEN, "plan.version": previous.get("version")}
        updated = await self.ctx.store.update(case_id, guard, {"$set": {"plan": plan}})
        if updated is None:
            raise changed()
        return updated

    async def agree_plan(
        self, organisation: str, case_id: str, agreed_by: str, client_agreed: bool
    ) -> Document:
        case = await self.ctx.open_case(organisation, case_id)
        plan = case.get("plan")
        if plan is None:
            raise CaseworkError(409, "plan", "draft a support plan first")
        if plan["status"] != "draft":
            raise CaseworkError(409, "plan", f"plan {plan['plan_id']} is already agreed")
        if not client_agreed:
            raise CaseworkError(422, "client_agreed", "the client must agree the plan")
        today = self.ctx.today()
        data = SupportPlanAgreed(
            case_id=case_id,
            plan_id=plan["plan_id"],
            stage=Stage(case["stage"]),
            goal_domains=sorted({g["domain"] for g in plan["goals"]}),
            agreed_on=today,
            next_review_on=parse(case.get("next_review_on")),
        )
        update = {
            "$set": {
                "plan.status": "agreed",
                "plan.agreed_on": iso(today),
                "plan.agreed_by": agreed_by,
            },
            "$push": {"plans_agreed": {"plan_id": plan["plan_id"], "agreed_on": iso(today)}},
        }
        guard = {"status": OPEN, "plan.plan_id": plan["plan_id"], "plan.status": "draft"}
        updated = await self.ctx.store.update(
            case_id, guard, update, events=[self.ctx.event(case, data)]
        )
        if updated is None:
            raise changed()
        await self.ctx.flush(updated)
        return updated

    async def record_progress(
        self,
        organisation: str,
        case_id: str,
        action_id: str,
        progress: Progress,
        note: str | None,
    ) -> Document:
        case = await self.ctx.open_case(organisation, case_id)
        plan = case.get("plan")
        if plan is None:
            raise CaseworkError(404, "action_id", "the case has no plan")
        goals = plan["goals"]
        found = False
        for goal in goals:
            for action in goal["actions"]:
                if action["action_id"] == action_id:
                    action["progress"] = progress.value
                    action.setdefault("notes", []).append(
                        {"on": iso(self.ctx.today()), "progress": progress.value, "note": note}
                    )
                    found = True
        if not found:
            raise CaseworkError(404, "action_id", f"no action {action_id!r} in the plan")
        guard = {"plan.plan_id": plan["plan_id"], "plan.revision": plan["revision"]}
        update = {"$set": {"plan.goals": goals, "plan.revision": plan["revision"] + 1}}
        updated = await self.ctx.store.update(case_id, guard, update)
        if updated is None:
            raise changed()
        return updated
