"""The team leader's pages: the ranked waiting list with the reasons for each score, capacity
per caseworker and team, reviews due across the team, and reallocating a case with a reason.

Allocation itself is automatic (the allocation service offers each waiting case to the best
caseworker with room as soon as there is room), so the waiting list says why each case still
waits; what a team leader decides by hand is moving an allocated case to another caseworker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError
from services.web.context import Viewer, ViewerDep
from services.web.rendering import done, refused, render, words
from shared.policy import Permission, Reach, reach

router = APIRouter()

REASONS: dict[str, tuple[str, str]] = {
    "change_of_worker": (
        "Change of caseworker",
        "The case moves to the new caseworker for good, with its hours.",
    ),
    "cover": (
        "Cover while the caseworker is away",
        "The new caseworker covers until a date you give.",
    ),
}
REVIEWS_WINDOW_DAYS = 28
FULL_BELOW_HOURS = 1.0  # fewer free hours than the lightest case needs


# --- pure: API answers into page rows --------------------------------------------------------


def points(value: float) -> str:
    """'+40', '+2.5': a part of a score as the team leader reads it beside its reason (a
    part worth nothing, such as the note that a case is at review, shows no figure)."""
    if value == 0:
        return ""
    return f"{value:g}" if value < 0 else f"+{value:g}"


def sentence(text: str) -> str:
    """The API's lower-case reason as a sentence start ('risk high at assessment')."""
    return text[:1].upper() + text[1:]


def waited(days: float | None) -> str:
    if days is None:
        return ""
    whole = int(days)
    if whole < 1:
        return "Less than a day"
    return f"{whole} day" if whole == 1 else f"{whole} days"


@dataclass(frozen=True)
class Part:
    reason: str
    points: str


@dataclass(frozen=True)
class WaitingRow:
    case_id: str
    kind: str  # "waiting" or "review"
    rank: int
    position: int | None
    score: str
    parts: list[Part]
    needs: list[str]
    hours: str
    waited: str
    since: Any
    why_waiting: str
    review_point: str = ""
    due_on: str = ""
    lead_worker: str = ""


def waiting_rows(entries: list[dict[str, Any]], names: dict[str, str]) -> list[WaitingRow]:
    """The ranking as the API gives it (highest score first, longest wait on a tie), each row
    with the parts that make its score. `names` maps caseworker ids to names."""
    rows = []
    for entry in sorted(entries, key=lambda e: int(e.get("rank") or 0)):
        parts = [
            Part(sentence(str(p.get("reason", ""))), points(float(p.get("points") or 0)))
            for p in entry.get("parts") or []
        ]
        if not parts:  # an older answer: the reasons as text only
            parts = [Part(sentence(str(r)), "") for r in entry.get("reasons") or []]
        hours = entry.get("target_hours")
        lead = str(entry.get("lead_worker_id") or "")
        rows.append(
            WaitingRow(
                case_id=str(entry["case_id"]),
                kind=str(entry.get("kind") or "waiting"),
                rank=int(entry.get("rank") or 0),
                position=entry.get("position"),
                score=f"{float(entry.get('score') or 0):g}",
                parts=parts,
                needs=[words(n) for n in entry.get("support_needs") or []],
                hours=f"{float(hours):g} hours a week" if hours is not None else "",
                waited=waited(entry.get("waiting_days")),
                since=entry.get("waiting_since"),
                why_waiting=sentence(str(entry.get("waiting_reason") or "")),
                review_point=words(entry.get("review_point") or ""),
                due_on=str(entry.get("due_on") or ""),
                lead_worker=names.get(lead, lead),
            )
        )
    return rows


@dataclass
class WorkerRow:
    worker_id: str
    name: str
    specialisms: list[str]
    contracted: float
    committed: float
    free: float
    open_cases: int
    max_caseload: int
    cases: list[str]
    state: tuple[str, str] | None  # (tag text, colour)

    @property
    def percent(self) -> int:
        return round(100 * self.committed / self.contracted) if self.contracted else 0


@dataclass
class TeamGroup:
    team_id: str
    name: str
    leader: str
    mine: bool
    workers: list[WorkerRow] = field(default_factory=list)
    waiting: int | None = None  # waiting cases counted for this team (placed, reserved, held)
    longest_wait_days: float | None = None

    @property
    def contracted(self) -> float:
        return round(sum(w.contracted for w in self.workers), 2)

    @property
    def committed(self) -> float:
        return round(sum(w.committed for w in self.workers), 2)

    @property
    def free(self) -> float:
        return round(sum(w.free for w in self.workers), 2)

    @property
    def open_cases(self) -> int:
        return sum(w.open_cases for w in self.workers)

    @property
    def percent(self) -> int:
        return round(100 * self.committed / self.contracted) if self.contracted else 0

    @property
    def summary(self) -> list[tuple[str, str]]:
        rows = [
            ("Team leader", self.leader),
            (
                "Hours committed",
                f"{self.committed:g} of {self.contracted:g} contracted hours a week "
                f"({self.percent}%)",
            ),
            ("Hours free", f"{self.free:g}"),
            ("Open cases", str(self.open_cases)),
        ]
        if self.waiting is not None:
            longest = (
                f", the longest for {waited(self.longest_wait_days).lower()}"
                if self.waiting
                else ""
            )
            rows.append(("Waiting cases it could lead", f"{self.waiting}{longest}"))
        return rows


def worker_state(worker: dict[str, Any]) -> tuple[str, str] | None:
    if not worker.get("active", True):
        return ("Inactive", "grey")
    if worker.get("on_leave_today"):
        return ("On leave", "yellow")
    free = float(worker.get("free_hours") or 0)
    if free < FULL_BELOW_HOURS or int(worker.get("open_cases") or 0) >= int(
        worker.get("max_caseload") or 0
    ):
        return ("Full", "red")
    return None


def worker_row(worker: dict[str, Any], cases: list[str]) -> WorkerRow:
    contracted = float(worker.get("contracted_hours") or 0)
    free = float(worker.get("free_hours") or 0)
    committed = worker.get("hours_committed")
    return WorkerRow(
        worker_id=str(worker["id"]),
        name=str(worker.get("name") or worker["id"]),
        specialisms=[words(s) for s in worker.get("specialisms") or []],
        contracted=contracted,
        committed=round(float(committed) if committed is not None else contracted - free, 2),
        free=free,
        open_cases=int(worker.get("open_cases") or 0),
        max_caseload=int(worker.get("max_caseload") or 0),
        cases=sorted(cases),
        state=worker_state(worker),
    )


def team_groups(
    teams: list[dict[str, Any]],
    workers: list[dict[str, Any]],
    cases: dict[str, list[str]],
    capacity: dict[str, Any] | None,
    my_teams: frozenset[str],
) -> list[TeamGroup]:
    """Each team with its caseworkers (by name) and their hours: the viewer's own teams first,
    then the others by name. Waiting figures come from the capacity answer when there is one."""
    by_team = {row["team_id"]: row for row in (capacity or {}).get("teams", []) if "team_id" in row}
    groups = []
    for team in teams:
        team_id = str(team["id"])
        leader = team.get("team_leader") or {}
        group = TeamGroup(
            team_id=team_id,
            name=str(team.get("name") or team_id),
            leader=str(leader.get("name") or ""),
            mine=team_id in my_teams,
        )
        members = [w for w in workers if w.get("team_id") == team_id]
        members.sort(key=lambda w: (str(w.get("name") or ""), str(w["id"])))
        group.workers = [worker_row(w, cases.get(str(w["id"]), [])) for w in members]
        row = by_team.get(team_id)
        if row is not None:
            group.waiting = int(row.get("waiting") or 0)
            group.longest_wait_days = float(row.get("longest_wait_days") or 0)
        groups.append(group)
    groups.sort(key=lambda g: (not g.mine, g.name.lower(), g.team_id))
    return groups


@dataclass(frozen=True)
class Option:
    value: str
    text: str
    hint: str


def worker_options(
    workers: list[dict[str, Any]],
    team_names: dict[str, str],
    case_team_id: str,
    current_worker_id: str,
) -> list[Option]:
    """Who may take the case: active caseworkers other than its lead, its own team first."""
    chosen = [w for w in workers if w.get("active", True) and w["id"] != current_worker_id]
    chosen.sort(
        key=lambda w: (w.get("team_id") != case_team_id, str(w.get("name") or ""), str(w["id"]))
    )
    options = []
    for w in chosen:
        team = team_names.get(str(w.get("team_id")), str(w.get("team_id") or ""))
        free = float(w.get("free_hours") or 0)
        hint = (
            f"{team}. {free:g} of {float(w.get('contracted_hours') or 0):g} hours free, "
            f"{int(w.get('open_cases') or 0)} of {int(w.get('max_caseload') or 0)} cases"
        )
        if w.get("on_leave_today"):
            hint += ". On leave today"
        options.append(Option(str(w["id"]), str(w.get("name") or w["id"]), hint))
    return options


def date_from_parts(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def reallocation_errors(
    values: dict[str, str], allowed_workers: set[str], today: date
) -> tuple[dict[str, str], dict[str, Any]]:
    """The form checked as the GOV.UK pattern asks (every error named, in the page's order),
    and the API body when there is none."""
    errors: dict[str, str] = {}
    reason = values.get("reason", "")
    if reason not in REASONS:
        errors["reason"] = "Select why the case is being reallocated"
    worker = values.get("to_worker_id", "")
    body: dict[str, Any] = {"reason": reason, "to_worker_id": worker}
    if reason == "cover":  # the date's question comes between the two on the page
        parts = [values.get(f"cover_until-{p}", "").strip() for p in ("day", "month", "year")]
        until = date_from_parts(*parts) if all(parts) else None
        if not any(parts):
            errors["cover_until"] = "Enter the date the cover ends"
        elif until is None:
            errors["cover_until"] = "The date the cover ends must be a real date"
        elif until < today:
            errors["cover_until"] = "The date the cover ends must be today or in the future"
        else:
            body["cover_until"] = until.isoformat()
    if not worker:
        errors["to_worker_id"] = "Select the caseworker who will take the case"
    elif worker not in allowed_workers:
        errors["to_worker_id"] = "Select a caseworker from the list"
    return errors, body


def api_field_errors(exc: ApiError) -> dict[str, str]:
    """A refusal of the reallocation as errors on the form's fields: allocation answers
    'to_worker_id: the caseworker does not have 2 h free' (409) or a 422 by field."""
    known = {"reason", "to_worker_id", "cover_until"}
    found = {k: v for k, v in exc.field_errors().items() if k in known}
    message = exc.message
    name, _, text = message.partition(": ")
    if not found:
        # A refusal about the case as a whole (it changed meanwhile) sits on the choice made.
        field = name if name in known and text else "to_worker_id"
        found[field] = sentence(text if text and " " not in name else message) or "Try again"
    return found


# --- pages ---------------------------------------------------------------------------------


def _refused(request: Request, viewer: Viewer, what: str) -> HTMLResponse:
    return refused(
        request,
        viewer,
        heading="You do not have access to this",
        line=f"{what} is for team leaders and service managers.",
    )


async def _names(viewer: Viewer) -> dict[str, str]:
    if not viewer.may(Permission.TEAMS_READ):
        return {}
    workers = await viewer.api.get("allocation", "/caseworkers")
    return {str(w["id"]): str(w.get("name") or w["id"]) for w in workers}


@router.get("/waiting-list", response_class=HTMLResponse)
async def waiting_list(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(Permission.WAITING_LIST):
        return _refused(request, viewer, "The waiting list")
    answer, names = await asyncio.gather(
        viewer.api.get("allocation", "/waiting-list"), _names(viewer)
    )
    rows = waiting_rows(answer.get("entries") or [], names)
    return render(
        request,
        viewer,
        "team/waiting_list.html",
        rows=rows,
        waiting=answer.get("waiting", 0),
        reviews=answer.get("reviews", 0),
        generated_at=answer.get("generated_at"),
        may_decide=viewer.may(Permission.CASE_DECISIONS),
    )


@router.get("/team", response_class=HTMLResponse)
async def team(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(Permission.TEAMS_READ):
        return _refused(request, viewer, "Team capacity")
    api = viewer.api
    # Each worker's case ids come with the list (ids only: no person's record is read).
    teams, workers = await asyncio.gather(
        api.get("allocation", "/teams"), api.get("allocation", "/caseworkers", with_cases="true")
    )
    capacity = await api.get("allocation", "/capacity") if viewer.may(Permission.REPORTS) else None
    cases = {str(w["id"]): [str(c) for c in w.get("cases") or []] for w in workers}
    reviews: list[dict[str, Any]] | None = None
    if viewer.may(Permission.CASES_READ):
        # A team leader's own teams only: the organisation's whole list is a manager's.
        whole = reach(viewer.user.roles, Permission.CASES_READ) == Reach.ORGANISATION
        teams_only = [] if whole else sorted(viewer.user.teams)
        due = await api.get(
            "support", "/reviews/due", days=REVIEWS_WINDOW_DAYS, team_id=teams_only or None
        )
        reviews = due.get("reviews") or []
    groups = team_groups(teams, workers, cases, capacity, frozenset(viewer.user.teams))
    names = {str(w["id"]): str(w.get("name") or w["id"]) for w in workers}
    return render(
        request,
        viewer,
        "team/team.html",
        groups=groups,
        totals=(capacity or {}).get("organisation_totals"),
        reviews=reviews,
        reviews_days=REVIEWS_WINDOW_DAYS,
        names=names,
        may_decide=viewer.may(Permission.CASE_DECISIONS),
    )


async def _reallocation_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    api = viewer.api
    case, teams, workers = await asyncio.gather(
        api.get("allocation", f"/cases/{case_id}"),
        api.get("allocation", "/teams"),
        api.get("allocation", "/caseworkers"),
    )
    allocation = case.get("allocation") or {}
    team_names = {str(t["id"]): str(t.get("name") or t["id"]) for t in teams}
    names = {str(w["id"]): str(w.get("name") or w["id"]) for w in workers}
    options = worker_options(
        workers,
        team_names,
        str(allocation.get("team_id") or ""),
        str(allocation.get("worker_id") or ""),
    )
    return render(
        request,
        viewer,
        "team/reallocate.html",
        case=case,
        allocation=allocation,
        lead=names.get(str(allocation.get("worker_id")), allocation.get("worker_id") or ""),
        team_name=team_names.get(str(allocation.get("team_id")), ""),
        options=options,
        reasons=REASONS,
        values=values,
        errors=errors,
        waiting=case.get("waiting") or {},
    )


@router.get("/cases/{case_id}/reallocate", response_class=HTMLResponse)
async def reallocate_form(request: Request, viewer: ViewerDep, case_id: str) -> HTMLResponse:
    if not viewer.may(Permission.CASE_DECISIONS):
        return _refused(request, viewer, "Reallocating a case")
    return await _reallocation_page(request, viewer, case_id, {}, {})


@router.post("/cases/{case_id}/reallocate", response_model=None)
async def reallocate(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    if not viewer.may(Permission.CASE_DECISIONS):
        return _refused(request, viewer, "Reallocating a case")
    names = ("reason", "to_worker_id", "cover_until-day", "cover_until-month", "cover_until-year")
    values = {name: viewer.field(name).strip() for name in names}
    workers = await viewer.api.get("allocation", "/caseworkers")
    allowed = {str(w["id"]) for w in workers if w.get("active", True)}
    errors, body = reallocation_errors(values, allowed, date.today())
    if not errors:
        try:
            moved = await viewer.api.post(
                "allocation", f"/cases/{case_id}/reallocate", body, key=viewer.idempotency_key
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = api_field_errors(exc)
        else:
            worker_id = str(
                (moved.get("allocation") or {}).get("worker_id") or body["to_worker_id"]
            )
            name = next((w.get("name") for w in workers if w["id"] == worker_id), worker_id)
            return await done(request, viewer, f"Case {case_id} reallocated to {name}", "/team")
    return await _reallocation_page(request, viewer, case_id, values, errors)
