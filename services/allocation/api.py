"""HTTP API under /v1: teams, caseworkers, the waiting list, reallocation and capacity.
Every route sees only the caller's organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pymongo.errors import DuplicateKeyError

from services.allocation.allocator import AllocationError, Allocator
from services.allocation.capacity import capacity_view
from services.allocation.matching import Match, choose_worker
from services.allocation.records import case_to_place, iso_date, worker_view
from services.allocation.schemas import (
    AvailabilityIn,
    CaseworkerIn,
    CaseworkerPatch,
    ReallocationIn,
    TeamIn,
    TeamPatch,
)
from services.allocation.store import AllocationStore
from services.allocation.waiting_list import Ranked, combined_ranking
from shared.auth import CallerDep, audit_listed
from shared.ids import new_id
from shared.mongo import Document

PathId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
QueryId = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
]

router = APIRouter(tags=["allocation"])


def _store(request: Request) -> AllocationStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _allocator(request: Request) -> Allocator:
    return request.app.state.allocator  # type: ignore[no-any-return]


def _now(request: Request) -> datetime:
    return request.app.state.runtime.clock.now()  # type: ignore[no-any-return]


# --- shapes out ---------------------------------------------------------------------------


def team_out(doc: Document) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "name": doc.get("name"),
        "team_leader": {
            "id": doc.get("team_leader_id"),
            "name": doc.get("team_leader_name"),
            "email": doc.get("team_leader_email"),
        },
        "created_at": doc.get("created_at"),
    }


def worker_out(doc: Document, now: datetime) -> dict[str, Any]:
    contracted = float(doc.get("contracted_hours", 0))
    free = float(doc.get("free_hours", 0))
    return {
        "id": doc["_id"],
        "team_id": doc.get("team_id"),
        "name": doc.get("name"),
        "email": doc.get("email"),
        "specialisms": doc.get("specialisms", []),
        "contracted_hours": contracted,
        "hours_committed": round(contracted - free, 2),
        "free_hours": free,
        "max_caseload": doc.get("max_caseload"),
        "open_cases": doc.get("open_cases", 0),
        "active": doc.get("active", True),
        "leave_from": doc.get("leave_from"),
        "leave_to": doc.get("leave_to"),
        "cover_worker_id": doc.get("cover_worker_id"),
        "on_leave_today": worker_view(doc).on_leave(now.date()),
    }


def allocation_out(allocation: Document | None) -> dict[str, Any] | None:
    if not allocation:
        return None
    keys = ("worker_id", "team_id", "team_leader_id", "hours", "stage", "allocated_at")
    out = {k: allocation.get(k) for k in keys}
    out.update(
        reason=allocation.get("reason"),
        cover_until=allocation.get("cover_until"),
        previous_worker_id=allocation.get("previous_worker_id"),
    )
    return out


def ranked_out(item: Ranked, workers: list[Document], now: datetime) -> dict[str, Any]:
    doc = item.document
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
    if item.kind == "waiting":
        case = case_to_place(doc)
        choice = choose_worker(case, [worker_view(w) for w in workers], now.date())
        out.update(
            route=doc.get("route"),
            support_needs=doc.get("support_needs", []),
            target_hours=case.hours,
            waiting_since=item.since,
            waiting_days=round((now - item.since).total_seconds() / 86400, 1),
            waiting_reason=(
                "a caseworker has room: allocation pending"
                if isinstance(choice, Match)
                else choice.reason
            ),
        )
    else:
        out.update(
            review_id=doc.get("review_id"),
            review_point=doc.get("review_point"),
            due_on=doc.get("due_on"),
            lead_worker_id=doc.get("lead_worker_id"),
            stage=doc.get("stage"),
        )
    return out


def _fail(error: AllocationError) -> HTTPException:
    return HTTPException(error.status, str(error))


# --- teams --------------------------------------------------------------------------------


@router.post("/teams", status_code=status.HTTP_201_CREATED)
async def create_team(body: TeamIn, caller: CallerDep, request: Request) -> dict[str, Any]:
    doc = {
        "_id": body.id or new_id("team"),
        "organisation": caller.organisation,
        "name": body.name,
        "team_leader_id": body.team_leader.id or new_id("tl"),
        "team_leader_name": body.team_leader.name,
        "team_leader_email": body.team_leader.email,
        "created_at": _now(request),
    }
    try:
        await _store(request).insert_team(doc)
    except DuplicateKeyError as exc:
        raise HTTPException(409, "id: a team with this id exists") from exc
    return team_out(doc)


@router.get("/teams")
async def list_teams(caller: CallerDep, request: Request) -> list[dict[str, Any]]:
    return [team_out(t) for t in await _store(request).list_teams(caller.organisation)]


@router.get("/teams/{team_id}")
async def get_team(team_id: PathId, caller: CallerDep, request: Request) -> dict[str, Any]:
    store = _store(request)
    team = await store.get_team(caller.organisation, team_id)
    if team is None:
        raise HTTPException(404, "team_id: no such team in your organisation")
    workers = await store.list_workers(caller.organisation, team_id)
    now = _now(request)
    return {**team_out(team), "caseworkers": [worker_out(w, now) for w in workers]}


@router.patch("/teams/{team_id}")
async def update_team(
    team_id: PathId, body: TeamPatch, caller: CallerDep, request: Request
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
    store = _store(request)
    team = (
        await store.update_team(caller.organisation, team_id, changes)
        if changes
        else await store.get_team(caller.organisation, team_id)
    )
    if team is None:
        raise HTTPException(404, "team_id: no such team in your organisation")
    return team_out(team)


# --- caseworkers --------------------------------------------------------------------------


@router.post("/caseworkers", status_code=status.HTTP_201_CREATED)
async def create_caseworker(
    body: CaseworkerIn, caller: CallerDep, request: Request
) -> dict[str, Any]:
    store = _store(request)
    if await store.get_team(caller.organisation, body.team_id) is None:
        raise HTTPException(422, "team_id: no such team in your organisation")
    worker_id = body.id or new_id("cw")
    doc: Document = {
        "_id": worker_id,
        "organisation": caller.organisation,
        "team_id": body.team_id,
        "name": body.name,
        "email": body.email,
        "specialisms": [s.value for s in dict.fromkeys(body.specialisms)],
        "contracted_hours": body.contracted_hours,
        "max_caseload": body.max_caseload,
        "free_hours": body.contracted_hours,
        "free_slots": body.max_caseload,
        "open_cases": 0,
        "cases": [],
        "case_hours": {},
        "active": True,
        "leave_from": None,
        "leave_to": None,
        "cover_worker_id": None,
        "created_at": _now(request),
    }
    await store.capacity_may_grow(caller.organisation)  # new hours may take waiting cases
    try:
        await store.insert_worker(doc)
    except DuplicateKeyError as exc:
        raise HTTPException(409, "id: a caseworker with this id exists") from exc
    await _allocator(request).request(caller.organisation)
    fresh = await store.get_worker(caller.organisation, worker_id)
    return worker_out(fresh or doc, _now(request))


@router.get("/caseworkers")
async def list_caseworkers(
    caller: CallerDep, request: Request, team_id: QueryId = None
) -> list[dict[str, Any]]:
    now = _now(request)
    workers = await _store(request).list_workers(caller.organisation, team_id)
    return [worker_out(w, now) for w in workers]


@router.get("/caseworkers/{worker_id}")
async def get_caseworker(worker_id: PathId, caller: CallerDep, request: Request) -> dict[str, Any]:
    worker = await _store(request).get_worker(caller.organisation, worker_id)
    if worker is None:
        raise HTTPException(404, "worker_id: no such caseworker in your organisation")
    return {**worker_out(worker, _now(request)), "cases": worker.get("cases", [])}


@router.patch("/caseworkers/{worker_id}")
async def update_caseworker(
    worker_id: PathId, body: CaseworkerPatch, caller: CallerDep, request: Request
) -> dict[str, Any]:
    store = _store(request)
    org = caller.organisation
    if body.team_id is not None and await store.get_team(org, body.team_id) is None:
        raise HTTPException(422, "team_id: no such team in your organisation")
    plain = body.model_dump(
        exclude_none=True, include={"team_id", "name", "email", "specialisms", "active"}
    )
    if "specialisms" in plain:
        plain["specialisms"] = list(dict.fromkeys(str(s) for s in plain["specialisms"]))
    worker = await store.get_worker(org, worker_id)
    if worker is None:
        raise HTTPException(404, "worker_id: no such caseworker in your organisation")
    # Guarded on the contract it read and on the hours and slots free at the moment of the
    # update (one atomic write), so a claim racing it can never be over-committed.
    guard, update = _capacity_change(worker, body)
    if plain:
        update.setdefault("$set", {}).update(plain)
    if not update:
        return worker_out(worker, _now(request))
    await store.capacity_may_grow(org)
    updated = await store.update_worker(org, worker_id, guard, update)
    if updated is None:
        raise HTTPException(409, _capacity_refusal(worker, body))
    await _allocator(request).request(org)  # more hours or a new skill may place cases
    return worker_out(await store.get_worker(org, worker_id) or updated, _now(request))


def _capacity_change(worker: Document, body: CaseworkerPatch) -> tuple[dict[str, Any], Document]:
    """Contracted hours and maximum caseload move the free hours and slots by the difference,
    guarded so they never drop below what is already committed."""
    guard: dict[str, Any] = {}
    inc: dict[str, float] = {}
    sets: dict[str, Any] = {}
    if body.contracted_hours is not None:
        delta = body.contracted_hours - float(worker["contracted_hours"])
        guard["contracted_hours"] = worker["contracted_hours"]
        if delta < 0:
            guard["free_hours"] = {"$gte": -delta}
        inc["free_hours"] = delta
        sets["contracted_hours"] = body.contracted_hours
    if body.max_caseload is not None:
        slots = body.max_caseload - int(worker["max_caseload"])
        guard["max_caseload"] = worker["max_caseload"]
        if slots < 0:
            guard["free_slots"] = {"$gte": -slots}
        inc["free_slots"] = slots
        sets["max_caseload"] = body.max_caseload
    update: Document = {}
    if inc:
        update["$inc"] = inc
    if sets:
        update["$set"] = sets
    return guard, update


def _capacity_refusal(worker: Document, body: CaseworkerPatch) -> str:
    committed = float(worker["contracted_hours"]) - float(worker["free_hours"])
    if body.contracted_hours is not None and body.contracted_hours < committed:
        return f"contracted_hours: {committed:g} h are committed to open cases"
    return f"max_caseload: the caseworker holds {worker.get('open_cases', 0)} open cases"


@router.put("/caseworkers/{worker_id}/availability")
async def set_availability(
    worker_id: PathId, body: AvailabilityIn, caller: CallerDep, request: Request
) -> dict[str, Any]:
    store = _store(request)
    org = caller.organisation
    if body.cover_worker_id is not None:
        if body.cover_worker_id == worker_id:
            raise HTTPException(422, "cover_worker_id: cannot cover for themselves")
        if await store.get_worker(org, body.cover_worker_id) is None:
            raise HTTPException(422, "cover_worker_id: no such caseworker in your organisation")
    changes = {
        "leave_from": iso_date(body.leave_from),
        "leave_to": iso_date(body.leave_to),
        "cover_worker_id": body.cover_worker_id,
    }
    await store.capacity_may_grow(org)
    updated = await store.update_worker(org, worker_id, {}, {"$set": changes})
    if updated is None:
        raise HTTPException(404, "worker_id: no such caseworker in your organisation")
    await _allocator(request).request(org)  # back from leave: takes cases again
    return worker_out(updated, _now(request))


# --- waiting list and cases ---------------------------------------------------------------


async def _ranking(request: Request, organisation: str) -> tuple[list[Ranked], list[Document]]:
    store = _store(request)
    waiting = await store.waiting(organisation)
    reviews = await store.list_reviews(organisation)
    cases = {}
    for review in reviews:
        case = await store.get_case(review["_id"], organisation)
        if case is not None:
            cases[review["_id"]] = case
    workers = await store.list_workers(organisation)
    return combined_ranking(waiting, reviews, cases, _now(request)), workers


@router.get("/waiting-list")
async def waiting_list(caller: CallerDep, request: Request) -> dict[str, Any]:
    """Waiting cases in priority order, each with its score, reasons, position and why it
    waits; open cases at a review weighed against the list appear in the same ranking."""
    now = _now(request)
    ranking, workers = await _ranking(request, caller.organisation)
    audit_listed(request, "case", (r.case_id for r in ranking))
    return {
        "organisation": caller.organisation,
        "generated_at": now,
        "waiting": sum(1 for r in ranking if r.kind == "waiting"),
        "reviews": sum(1 for r in ranking if r.kind == "review"),
        "entries": [ranked_out(r, workers, now) for r in ranking],
    }


@router.delete("/waiting-list/reviews/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
async def dismiss_review(case_id: PathId, caller: CallerDep, request: Request) -> Response:
    """The team leader has weighed the review: take it off the ranking."""
    if not await _store(request).drop_review(case_id, caller.organisation):
        raise HTTPException(404, "case_id: no review of this case on the waiting list")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cases/{case_id}")
async def get_case(case_id: PathId, caller: CallerDep, request: Request) -> dict[str, Any]:
    store = _store(request)
    case = await store.get_case(case_id, caller.organisation)
    if case is None:
        raise HTTPException(404, "case_id: no such case in your organisation")
    out: dict[str, Any] = {
        "case_id": case["_id"],
        "status": case["status"],
        "route": case.get("route"),
        "stage": case.get("stage"),
        "support_needs": case.get("support_needs", []),
        "waiting_since": case.get("waiting_since"),
        "allocation": allocation_out(case.get("allocation")),
        "history": [allocation_out(a) for a in case.get("history", [])],
        "closed_at": case.get("closed_at"),
        "closure_reason": case.get("closure_reason"),
    }
    if case["status"] == "waiting":
        now = _now(request)
        ranking, workers = await _ranking(request, caller.organisation)
        for item in ranking:
            if item.kind == "waiting" and item.case_id == case_id:
                out["waiting"] = ranked_out(item, workers, now)
    return out


@router.post("/cases/{case_id}/reallocate")
async def reallocate(
    case_id: PathId, body: ReallocationIn, caller: CallerDep, request: Request
) -> dict[str, Any]:
    """Change of worker, or cover during leave until a date: the hours move with the case."""
    try:
        case = await _allocator(request).reallocate(
            caller.organisation, case_id, body.reason, body.to_worker_id, body.cover_until
        )
    except AllocationError as error:
        raise _fail(error) from error
    return {
        "case_id": case["_id"],
        "status": case["status"],
        "allocation": allocation_out(case.get("allocation")),
    }


# --- capacity -----------------------------------------------------------------------------


@router.get("/capacity")
async def capacity(caller: CallerDep, request: Request) -> dict[str, Any]:
    """Demand against capacity per team and for the organisation, to size the service."""
    store = _store(request)
    org = caller.organisation
    return capacity_view(
        org,
        await store.list_teams(org),
        await store.list_workers(org),
        await store.waiting(org),
        len(await store.list_reviews(org)),
        _now(request),
    )
