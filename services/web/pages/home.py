"""Today: what is waiting for the signed-in person, whatever their role. Each block is there
only if their roles may see what it shows, and a service that does not answer costs only its
own block, never the page."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.context import Viewer, ViewerDep
from services.web.pages.dashboard import fetch, skipped
from services.web.rendering import render
from shared.policy import Permission, Reach, reach

router = APIRouter()
P = Permission
SHOWN = 10  # rows of a block's list; the rest are a link away
REVIEW_DAYS = 7
PARKED_LISTED = 500


def roles_view(viewer: Viewer) -> dict[str, Any]:
    """Which blocks this person's roles include (from the same policy the APIs enforce)."""
    roles = viewer.user.roles
    my_id = viewer.user.caseworker_id if viewer.may(P.CASEWORK) else None
    return {
        "my_id": my_id,
        "team_lead": viewer.may(P.WAITING_LIST) and reach(roles, P.CASES_READ) is Reach.TEAM,
        "manager": reach(roles, P.REPORTS) is Reach.ORGANISATION,
        "waiting_list": viewer.may(P.WAITING_LIST),
        "arrears": viewer.may(P.ARREARS_READ),
        "deliveries": viewer.may(P.DELIVERIES),
        "held_flows": viewer.may(P.SETTINGS_READ),
        "agreements": viewer.may(P.AGREEMENTS_READ),
        "reports": viewer.may(P.REPORTS),
    }


def mine(cases: list[dict[str, Any]], worker_id: str) -> list[dict[str, Any]]:
    """The cases a caseworker leads or holds as crisis worker."""
    return [c for c in cases if worker_id in (c.get("lead_worker_id"), c.get("crisis_worker_id"))]


def awaiting(agreements: list[dict[str, Any]], organisation: str) -> list[dict[str, Any]]:
    return [a for a in agreements if a.get("awaiting") == organisation]


@router.get("/", response_class=HTMLResponse)
async def today(request: Request, viewer: ViewerDep) -> HTMLResponse:
    can = roles_view(viewer)
    api = viewer.api
    my_id = can["my_id"]
    wide = can["team_lead"] or can["manager"]
    (
        my_reviews,
        all_reviews,
        escalated,
        capacity,
        waiting_list,
        parked,
        held,
        agreements,
    ) = await asyncio.gather(
        fetch(api.get("support", "/reviews/due", worker_id=my_id, days=REVIEW_DAYS))
        if my_id
        else skipped(),
        fetch(api.get("support", "/reviews/due", days=REVIEW_DAYS)) if wide else skipped(),
        fetch(api.get("support", "/escalated-cases")) if my_id or wide else skipped(),
        fetch(api.get("allocation", "/capacity")) if can["reports"] else skipped(),
        # Without reports.read the waiting list's own answer gives its size.
        fetch(api.get("allocation", "/waiting-list"))
        if can["waiting_list"] and not can["reports"]
        else skipped(),
        fetch(api.get("notifications", "/deliveries", status="parked", limit=PARKED_LISTED))
        if can["deliveries"]
        else skipped(),
        fetch(api.get("referral", "/held-flows")) if can["held_flows"] else skipped(),
        fetch(api.get("agreements", "/agreements", status="proposed"))
        if can["agreements"]
        else skipped(),
    )
    escalated_cases = (escalated.data or {}).get("cases", [])
    totals = (capacity.data or {}).get("organisation_totals", {})
    if waiting_list.data:
        totals = {
            "waiting": waiting_list.data.get("waiting", 0),
            "reviews_weighed": waiting_list.data.get("reviews", 0),
        }
    team_reviews = (all_reviews.data or {}).get("reviews", [])
    return render(
        request,
        viewer,
        "home.html",
        can=can,
        shown=SHOWN,
        review_days=REVIEW_DAYS,
        my_reviews=my_reviews,
        my_review_list=(my_reviews.data or {}).get("reviews", []),
        all_reviews=all_reviews,
        team_reviews=team_reviews,
        team_overdue=sum(1 for r in team_reviews if r.get("overdue")),
        escalated=escalated,
        escalated_cases=escalated_cases if can["team_lead"] else mine(escalated_cases, my_id or ""),
        all_escalated=len(escalated_cases),
        waiting=capacity if can["reports"] else waiting_list,
        totals=totals,
        parked=parked,
        parked_count=len((parked.data or {}).get("items", [])),
        held=held,
        held_flows=(held.data or {}).get("held_flows", []),
        agreements=agreements,
        awaiting_us=awaiting(
            (agreements.data or {}).get("agreements", []), viewer.user.organisation
        ),
    )
