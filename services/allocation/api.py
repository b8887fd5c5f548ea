"""HTTP API under /v1: teams, caseworkers, the waiting list, reallocation and capacity.
Every route sees only the caller's organisation.

`AllocationApi` is built once per app with the service's store, allocator and clock, and its
routes are its methods (`router()`), so each route reads them typed from `self`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from services.allocation.allocator import AllocationError, Allocator
from services.allocation.backfill import Decision, Held, Reserved
from services.allocation.capacity import capacity_view
from services.allocation.capacity_changes import (
    ADDED,
    capacity_after,
    capacity_changed,
    capacity_of,
)
from services.allocation.records import (
    Allocation,
    CaseEntry,
    Caseworker,
    Team,
    case_to_place,
    worker_view,
)
from services.allocation.schemas import (
    AvailabilityIn,
    CaseworkerIn,
    CaseworkerPatch,
    ReallocationIn,
    TeamIn,
    TeamPatch,
)
from services.allocation.store import AllocationStore
from services.allocation.waiting_list import Ranked, backfill_plan, combined_ranking, team_of
from shared.auth import CallerDep, audit_listed
from shared.clock import Clock
from shared.ids import new_id

PathId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
QueryId = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
]


# --- shapes out ---------------------------------------------------------------------------


def team_out(team: Team) -> dict[str, Any]:
    return {
        "id": team.team_id,
        "name": team.name,
        "team_leader": {
            "id": team.team_leader_id,
            "name": team.team_leader_name,
            "email": team.team_leader_email,
        },
        "created_at": team.created_at,
    }


def worker_out(worker: Caseworker, now: datetime) -> dict[str, Any]:
    return {
        "id": worker.worker_id,
        "team_id": worker.team_id,
        "name": worker.name,
        "email": worker.email,
        "specialisms": worker.specialisms,
        "contracted_hours": worker.contracted_hours,
        "hours_committed": round(worker.hours_committed, 2),
        "free_hours": worker.free_hours,
        "max_caseload": worker.max_caseload,
        "open_cases": worker.open_cases,
        "active": worker.active,
        "leave_from": worker.leave_from,
        "leave_to": worker.leave_to,
        "cover_worker_id": worker.cover_worker_id,
        "on_leave_today": worker_view(worker).on_leave(now.date()),
    }


def allocation_out(allocation: Allocation | None) -> dict[str, Any] | None:
    if allocation is None:
        return None
    return allocation.model_dump(
        include={
            "worker_id",
            "team_id",
            "team_leader_id",
            "hours",
            "stage",
            "allocated_at",
            "reason",
            "cover_until",
            "previous_worker_id",
        }
    )


def ranked_out(item: Ranked, decision: Decision | None, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rank": item.rank,
        "position": item.position,
        "kind": item.kind,
        "case_id": item.case_id,
        "score": item.priority.score,
        "reasons": item.priority.reasons,
        "parts": [
            {"code": p.code, "points": p.points, "reason": p.reason} for p in item.priority.parts
        ],
    }
    record = item.record
    if isinstance(record, CaseEntry):
        case = case_to_place(record)
        out.update(
            route=record.route,
            support_needs=record.support_needs,
            target_hours=case.hours,
            waiting_since=item.since,
            waiting_days=round((now - item.since).total_seconds() / 86400, 1),
            # Why it waits, in the backfill plan's words (backfill.py), and for whom.
            waiting_reason=decision.reason if decision else "",
            team_id=team_of(decision),
            reserved_worker_id=decision.worker_id if isinstance(decision, Reserved) else None,
            held_for=decision.head_id if isinstance(decision, Held) else None,
        )
    else:
        out.update(
            review_id=record.review_id,
            review_point=record.review_point,
            due_on=record.due_on,
            lead_worker_id=record.lead_worker_id,
            stage=record.stage,
        )
    return out


def case_out(case: CaseEntry) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "status": case.status,
        "route": case.route,
        "stage": case.stage,
        "support_needs": case.support_needs,
        "waiting_since": case.waiting_since,
        "allocation": allocation_out(case.allocation),
        "history": [allocation_out(a) for a in case.history],
        "closed_at": case.closed_at,
        "closure_reason": case.closure_reason,
    }


def _fail(error: AllocationError) -> HTTPException:
    return HTTPException(error.status, str(error))


def _capacity_refusal(worker: Caseworker, body: CaseworkerPatch) -> str:
    committed = worker.hours_committed
    if body.contracted_hours is not None and body.contracted_hours < committed:
        return f"contracted_hours: {committed:g} h are committed to open cases"
    return f"max_caseload: the caseworker holds {worker.open_cases} open cases"


class AllocationApi:
    def __init__(self, store: AllocationStore, allocator: Allocator, clock: Clock) -> None:
        self.store = store
        self.allocator = allocator
        self.clock = clock

    def router(self) -> APIRouter:
        router = APIRouter(tags=["allocation"])
        created = status.HTTP_201_CREATED
        router.post("/teams", status_code=created)(self.create_team)
        router.get("/teams")(self.list_teams)
        router.get("/teams/{team_id}")(self.get_team)
        router.patch("/teams/{team_id}")(self.update_team)
        router.post("/caseworkers", status_code=created)(self.create_caseworker)
        router.get("/caseworkers")(self.list_caseworkers)
        router.get("/caseworkers/{worker_id}")(self.get_caseworker)
        router.patch("/caseworkers/{worker_id}")(self.update_caseworker)
        router.put("/caseworkers/{worker_id}/availability")(self.set_availability)
        router.get("/waiting-list")(self.waiting_list)
        router.delete("/waiting-list/reviews/{case_id}", status_code=status.HTTP_204_NO_CONTENT)(
            self.dismiss_review
        )
        router.get("/cases/{case_id}")(self.get_case)
        router.post("/cases/{case_id}/reallocate")(self.reallocate)
        router.get("/capacity")(self.capacity)
        return router

    # --- teams ----------------------------------------------------------------------------

    async def create_team(self, body: TeamIn, caller: CallerDep) -> dict[str, Any]:
        team = Team(
            team_id=body.id or new_id("team"),
            organisation=caller.organisation,
            name=body.name,
            team_leader_id=body.team_leader.id or new_id("tl"),
            team_leader_name=body.team_leader.name,
            team_leader_email=body.team_leader.email,
            created_at=self.clock.now(),
        )
        if not await self.store.add_team(team):
            raise HTTPException(409, "id: a team with this id exists")
        return team_out(team)

    async def list_teams(self, caller: CallerDep) -> list[dict[str, Any]]:
        return [team_out(t) for t in await self.store.list_teams(caller.organisation)]

    async def get_team(self, team_id: PathId, caller: CallerDep) -> dict[str, Any]:
        team = await self.store.get_team(caller.organisation, team_id)
        if team is None:
            raise HTTPException(404, "team_id: no such team in your organisation")
        workers = await self.store.list_workers(caller.organisation, team_id)
        now = self.clock.now()
        return {**team_out(team), "caseworkers": [worker_out(w, now) for w in workers]}

    async def update_team(
        self, team_id: PathId, body: TeamPatch, caller: CallerDep
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if body.name is not None:
            changes["name"] = body.name
        if body.team_leader is not None:
            changes.update(
                team_leader_id=body.team_leader.id or new_id("tl"),
                team_leader_name=body.team_leader.name,
                team_leader_email=body.team_leader.email,
            )
        org = caller.organisation
        team = (
            await self.store.update_team(org, team_id, changes)
            if changes
            else await self.store.get_team(org, team_id)
        )
        if team is None:
            raise HTTPException(404, "team_id: no such team in your organisation")
        return team_out(team)

    # --- caseworkers ----------------------------------------------------------------------

    async def create_caseworker(self, body: CaseworkerIn, caller: CallerDep) -> dict[str, Any]:
        org = caller.organisation
        if await self.store.get_team(org, body.team_id) is None:
            raise HTTPException(422, "team_id: no such team in your organisation")
        worker = Caseworker(
            worker_id=body.id or new_id("cw"),
            organisation=org,
            team_id=body.team_id,
            name=body.name,
            email=body.email,
            specialisms=list(dict.fromkeys(body.specialisms)),
            contracted_hours=body.contracted_hours,
            max_caseload=body.max_caseload,
            free_hours=body.contracted_hours,
            free_slots=body.max_caseload,
            created_at=self.clock.now(),
        )
        await self.store.capacity_may_grow(org)  # new hours may take waiting cases
        added = capacity_changed(worker, None, capacity_of(worker), ADDED, self.clock.now())
        if not await self.store.add_worker(worker, added):
            raise HTTPException(409, "id: a caseworker with this id exists")
        await self.allocator.request(org)
        fresh = await self.store.get_worker(org, worker.worker_id)
        return worker_out(fresh or worker, self.clock.now())

    async def list_caseworkers(
        self,
        caller: CallerDep,
        team_id: QueryId = None,
        with_cases: Annotated[
            bool, Query(description="add each worker's case ids, as one worker's page has them")
        ] = False,
    ) -> list[dict[str, Any]]:
        now = self.clock.now()
        workers = await self.store.list_workers(caller.organisation, team_id)
        if with_cases:
            return [{**worker_out(w, now), "cases": w.cases} for w in workers]
        return [worker_out(w, now) for w in workers]

    async def get_caseworker(self, worker_id: PathId, caller: CallerDep) -> dict[str, Any]:
        worker = await self.store.get_worker(caller.organisation, worker_id)
        if worker is None:
            raise HTTPException(404, "worker_id: no such caseworker in your organisation")
        return {**worker_out(worker, self.clock.now()), "cases": worker.cases}

    async def update_caseworker(
        self, worker_id: PathId, body: CaseworkerPatch, caller: CallerDep
    ) -> dict[str, Any]:
        org = caller.organisation
        if body.team_id is not None and await self.store.get_team(org, body.team_id) is None:
            raise HTTPException(422, "team_id: no such team in your organisation")
        plain = body.model_dump(
            exclude_none=True, include={"team_id", "name", "email", "specialisms", "active"}
        )
        if "specialisms" in plain:
            plain["specialisms"] = list(dict.fromkeys(str(s) for s in plain["specialisms"]))
        worker = await self.store.get_worker(org, worker_id)
        if worker is None:
            raise HTTPException(404, "worker_id: no such caseworker in your organisation")
        if not plain and body.contracted_hours is None and body.max_caseload is None:
            return worker_out(worker, self.clock.now())
        await self.store.capacity_may_grow(org)
        updated = await self._change_worker(org, worker_id, plain, body)
        await self.allocator.request(org)  # more hours or a new skill may place cases
        fresh = await self.store.get_worker(org, worker_id)
        return worker_out(fresh or updated, self.clock.now())

    async def _change_worker(
        self, org: str, worker_id: str, plain: dict[str, Any], body: CaseworkerPatch
    ) -> Caseworker:
        """Change the worker, with CaseworkerCapacityChanged when their team, hours or activity
        change; decided again when another change of those landed first."""
        for _ in range(3):
            loaded = await self.store.load_worker(org, worker_id)
            if loaded is None:
                raise HTTPException(404, "worker_id: no such caseworker in your organisation")
            worker = loaded.model
            before = capacity_of(worker)
            after = capacity_after(worker, plain, body.contracted_hours)
            events = capacity_changed(worker, before, after, loaded.version, self.clock.now())
            updated = await self.store.change_worker(
                worker, plain, body.contracted_hours, body.max_caseload, events
            )
            if updated is not None:
                return updated
            now = await self.store.get_worker(org, worker_id)
            if not events or now is None or capacity_of(now) == before:
                raise HTTPException(409, _capacity_refusal(worker, body))
        raise HTTPException(409, "worker_id: the caseworker kept changing meanwhile; try again")

    async def set_availability(
        self, worker_id: PathId, body: AvailabilityIn, caller: CallerDep
    ) -> dict[str, Any]:
        org = caller.organisation
        if body.cover_worker_id is not None:
            if body.cover_worker_id == worker_id:
                raise HTTPException(422, "cover_worker_id: cannot cover for themselves")
            if await self.store.get_worker(org, body.cover_worker_id) is None:
                raise HTTPException(422, "cover_worker_id: no such caseworker in your organisation")
        changes = {
            "leave_from": body.leave_from,
            "leave_to": body.leave_to,
            "cover_worker_id": body.cover_worker_id,
        }
        await self.store.capacity_may_grow(org)
        updated = await self.store.set_worker_fields(org, worker_id, changes)
        if updated is None:
            raise HTTPException(404, "worker_id: no such caseworker in your organisation")
        await self.allocator.request(org)  # back from leave: takes cases again
        return worker_out(updated, self.clock.now())

    # --- waiting list and cases -----------------------------------------------------------

    async def _ranking(self, organisation: str) -> tuple[list[Ranked], dict[str, Decision]]:
        """The ranking, and each waiting case's place in the plan a pass would follow now."""
        now = self.clock.now()
        # Read side by side: each is a round trip, and none depends on another's answer.
        waiting, reviews, workers = await asyncio.gather(
            self.store.waiting(organisation),
            self.store.list_reviews(organisation),
            self.store.list_workers(organisation),
        )
        cases = await self.store.cases_among(organisation, (r.case_id for r in reviews))
        decisions = backfill_plan(waiting, workers, now).decisions
        return combined_ranking(waiting, reviews, cases, now), decisions

    async def waiting_list(self, caller: CallerDep, request: Request) -> dict[str, Any]:
        """Waiting cases in priority order, each with its score, reasons, position and why it
        waits; open cases at a review weighed against the list appear in the same ranking."""
        now = self.clock.now()
        (ranking, decisions), teams = await asyncio.gather(
            self._ranking(caller.organisation), self.store.list_teams(caller.organisation)
        )
        audit_listed(request, "case", (r.case_id for r in ranking))
        entries = [ranked_out(r, decisions.get(r.case_id), now) for r in ranking]
        waiting = [e for e in entries if e["kind"] == "waiting"]
        return {
            "organisation": caller.organisation,
            "generated_at": now,
            "waiting": len(waiting),
            "reviews": len(entries) - len(waiting),
            # Each waiting case counted for one team (as /capacity counts them): these add up
            # to `waiting`.
            "waiting_by_team": {
                t.team_id: sum(1 for e in waiting if e["team_id"] == t.team_id) for t in teams
            },
            "waiting_without_team": sum(1 for e in waiting if e["team_id"] is None),
            "entries": entries,
        }

    async def dismiss_review(self, case_id: PathId, caller: CallerDep) -> Response:
        """The team leader has weighed the review: take it off the ranking."""
        if not await self.store.drop_review(case_id, caller.organisation):
            raise HTTPException(404, "case_id: no review of this case on the waiting list")
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def get_case(self, case_id: PathId, caller: CallerDep) -> dict[str, Any]:
        case = await self.store.get_case(case_id, caller.organisation)
        if case is None:
            raise HTTPException(404, "case_id: no such case in your organisation")
        out = case_out(case)
        if case.status == "waiting":
            now = self.clock.now()
            ranking, decisions = await self._ranking(caller.organisation)
            for item in ranking:
                if item.kind == "waiting" and item.case_id == case_id:
                    out["waiting"] = ranked_out(item, decisions.get(case_id), now)
        return out

    async def reallocate(
        self, case_id: PathId, body: ReallocationIn, caller: CallerDep
    ) -> dict[str, Any]:
        """Change of worker, or cover during leave until a date: the hours move with the case."""
        try:
            case = await self.allocator.reallocate(
                caller.organisation, case_id, body.reason, body.to_worker_id, body.cover_until
            )
        except AllocationError as error:
            raise _fail(error) from error
        return {
            "case_id": case.case_id,
            "status": case.status,
            "allocation": allocation_out(case.allocation),
        }

    # --- capacity -------------------------------------------------------------------------

    async def capacity(self, caller: CallerDep) -> dict[str, Any]:
        """Demand against capacity per team and for the organisation, to size the service."""
        org = caller.organisation
        teams, workers, waiting, reviews = await asyncio.gather(
            self.store.list_teams(org),
            self.store.list_workers(org),
            self.store.waiting(org),
            self.store.list_reviews(org),
        )
        return capacity_view(org, teams, workers, waiting, len(reviews), self.clock.now())
