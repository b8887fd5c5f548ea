"""My caseload: a caseworker's open cases, overdue reviews first, escalations flagged.

Two support API calls (the caseload with each case's escalation, the reviews due) and one
referral call per hundred cases for the people's names; every one with the caseworker's own
token, so the APIs decide what is theirs to see and audit the look."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.web.backend import Backend
from services.web.context import ViewerDep
from services.web.rendering import refused, render
from shared.policy import Permission

router = APIRouter()

REVIEW_WINDOW_DAYS = 92  # the longest window the support API gives: every review due soon


@dataclass
class CaseRow:
    """One line of the caseload table."""

    case_id: str
    name: str
    stage: str
    next_review_on: date | None
    hours_per_week: float | None
    overdue_reviews: list[date] = field(default_factory=list)
    risk_level: str | None = None
    alerts: list[str] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return bool(self.overdue_reviews)

    @property
    def escalated(self) -> bool:
        return self.risk_level is not None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def person_name(referral: dict[str, Any] | None) -> str:
    """The person's name as the referral gives it; empty when it does not."""
    person = ((referral or {}).get("submission") or {}).get("person") or {}
    return " ".join(p for p in (person.get("given_name"), person.get("family_name")) if p)


def caseload_rows(
    cases: list[dict[str, Any]], reviews_due: list[dict[str, Any]], names: dict[str, str]
) -> list[CaseRow]:
    """The table's rows: cases with an overdue review first (the longest overdue at the top),
    then escalated ones, then by next review date; cases with no review date last."""
    overdue: dict[str, list[date]] = {}
    for review in reviews_due:
        due = _day(review.get("due_on"))
        if review.get("overdue") and due is not None:
            overdue.setdefault(str(review.get("case_id")), []).append(due)
    rows = [
        CaseRow(
            case_id=str(case["case_id"]),
            name=names.get(str(case["case_id"]), ""),
            stage=str(case.get("stage") or ""),
            next_review_on=_day(case.get("next_review_on")),
            hours_per_week=case.get("target_hours_per_week"),
            overdue_reviews=sorted(overdue.get(str(case["case_id"]), [])),
            risk_level=case.get("risk_level"),  # set while the safety net has it escalated
            alerts=list(case.get("alerts") or []),
        )
        for case in cases
    ]
    rows.sort(
        key=lambda r: (
            not r.overdue,
            r.overdue_reviews[0] if r.overdue else date.max,
            not r.escalated,
            r.next_review_on or date.max,
            r.case_id,
        )
    )
    return rows


NAMES_PER_CALL = 100  # referral ids per list call: the query string stays a few kilobytes


async def names_of(api: Backend, case_ids: list[str]) -> dict[str, str]:
    """Each case's person's name from its referral (case id = referral id), a hundred per
    call; a referral the caller may not read is absent, and its name left out."""
    chunks = [case_ids[i : i + NAMES_PER_CALL] for i in range(0, len(case_ids), NAMES_PER_CALL)]
    answers = await asyncio.gather(
        *(api.get("referral", "/referrals", id=chunk, limit=len(chunk)) for chunk in chunks)
    )
    return {
        str(r["id"]): str(r.get("person_name") or "")
        for answer in answers
        for r in answer.get("referrals", [])
    }


@router.get("/caseload", response_class=HTMLResponse)
async def caseload(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(Permission.CASEWORK):  # an income officer, an auditor: not their page
        return refused(request, viewer)
    worker_id = viewer.user.caseworker_id
    if not worker_id:
        return render(request, viewer, "caseload.html", rows=[], worker_id=None, totals={})
    api = viewer.api
    cases, due = await asyncio.gather(
        api.get("support", f"/caseworkers/{worker_id}/cases"),
        api.get("support", "/reviews/due", worker_id=worker_id, days=REVIEW_WINDOW_DAYS),
    )
    mine = cases.get("cases", [])
    names = await names_of(api, [str(c["case_id"]) for c in mine])
    rows = caseload_rows(mine, due.get("reviews", []), names)
    totals = {
        "cases": len(rows),
        "overdue": sum(r.overdue for r in rows),
        "escalated": sum(r.escalated for r in rows),
        "hours": round(sum(r.hours_per_week or 0 for r in rows), 1),
    }
    return render(request, viewer, "caseload.html", rows=rows, worker_id=worker_id, totals=totals)
