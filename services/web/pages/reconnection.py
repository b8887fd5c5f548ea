"""Safe Connections for caseworkers: the reconnection cases, the eight phases as steps with each
phase's checklist (Tools 1 and 2), the local-connection test and the destination (Tool 3), the
presentation pack, and the Tool 4 closure checklist with its branches. Everything comes from
the reconnection API with the caseworker's own token; its refusals are shown as its reasons."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError
from services.web.context import Viewer, ViewerDep
from services.web.rendering import done, render, words
from shared.codes import LearningTheme

router = APIRouter()
SERVICE = "reconnection"

# Tool 1, the eight phases, in order (the API's phase codes).
PHASES: tuple[str, ...] = (
    "identify",
    "allocate",
    "engage",
    "reconnection_planning",
    "reconnection",
    "intensive_support",
    "step_down",
    "case_closure_and_review",
)

# Evidence items are ticked by the case itself; where the caseworker records that fact.
EVIDENCE_PAGES = {
    "local_connection_assessed": "local-connection",
    "presentation_pack_compiled": "presentation-pack",
    "client_informed": "closure",
    "agencies_notified": "closure",
    "records_closed": "closure",
    "case_reviewed": "closure",
    "learning_logged": "closure",
}

PACK_STATUSES = (("done", "Done"), ("not_applicable", "Not applicable"), ("open", "Not yet"))


@dataclass(frozen=True)
class PhaseStep:
    number: int
    phase: str
    status: str  # completed, current, closed or not_started


def phase_steps(current: str, closed: bool) -> list[PhaseStep]:
    """Tool 1's eight phases as steps: those before the case's phase completed."""
    position = PHASES.index(current)
    steps = []
    for number, phase in enumerate(PHASES, start=1):
        if number - 1 < position:
            status = "completed"
        elif number - 1 == position:
            status = "closed" if closed else "current"
        else:
            status = "not_started"
        steps.append(PhaseStep(number, phase, status))
    return steps


def refusal(exc: ApiError) -> tuple[str, str]:
    """A 409's field and message, from the API's problem details (`detail` is "field:
    message", `errors` names the field)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
    named = [e for e in detail.get("errors") or [] if isinstance(e, dict) and e.get("field")]
    field = str(detail.get("field") or (named[0]["field"] if named else ""))
    message = str(detail.get("detail") or exc.message)
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2 :]
    return field, message


def advance_reasons(message: str, item_texts: Mapping[str, str]) -> list[str]:
    """'engage cannot be completed: checklist item open: a; b' as sentences, items by name."""
    _, _, listed = message.partition("cannot be completed: ")
    reasons = []
    for reason in (listed or message).split("; "):
        prefix = "checklist item open: "
        if reason.startswith(prefix):
            item = reason[len(prefix) :]
            reason = f"Checklist item not done: {item_texts.get(item, item)}"
        reasons.append(reason[:1].upper() + reason[1:])
    return reasons


# --- the local-connection evidence form ------------------------------------------------------

# Each kind of evidence: its rows' fields, (name, label, kind) with kind text, date or number.
EVIDENCE_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "residence": (("area", "Area", "text"), ("start", "From", "date"), ("end", "To", "date")),
    "employment": (("area", "Area", "text"), ("employer", "Employer", "text")),
    "family": (
        ("area", "Area", "text"),
        ("relationship", "Relationship", "text"),
        ("years_in_area", "Years they have lived there", "number"),
    ),
    "special_circumstances": (("area", "Area", "text"), ("description", "Description", "text")),
}
MINIMUM_ROWS = {"residence": 3, "employment": 1, "family": 2, "special_circumstances": 1}
ROW_NAMES = {
    "residence": "Address",
    "employment": "Job",
    "family": "Family member",
    "special_circumstances": "Special circumstance",
}
REQUIRED = {
    ("residence", "start"): "Enter the date they started living in the area",
    ("family", "relationship"): "Enter how the family member is related to them",
    ("special_circumstances", "description"): "Describe the special circumstance",
}


def row_field(kind: str, row: int, name: str) -> str:
    return f"{kind}-{row}-{name}".replace("_", "-")


def row_count(kind: str, values: Mapping[str, str], saved: int = 0) -> int:
    """Rows to show: the saved ones plus one blank, and every row the form sent."""
    prefix = kind.replace("_", "-") + "-"
    sent = {
        int(row)
        for key in values
        if key.startswith(prefix) and (row := key[len(prefix) :].split("-")[0]).isdigit()
    }
    sent_count = max(sent, default=-1) + 1
    return max(MINIMUM_ROWS[kind], saved + 1, sent_count)


def _date(values: Mapping[str, str], name: str) -> tuple[date | None, bool]:
    """(the date, whether anything was typed); a typed but impossible date is (None, True)."""
    parts = [values.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None, False
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1900:
            return None, True
        return date(year, month, day), True
    except ValueError:
        return None, True


def evidence_from_form(values: Mapping[str, str]) -> tuple[dict[str, list[dict[str, Any]]], dict]:
    """The form's rows as the API's LocalConnectionEvidence, and errors by field. A row with
    nothing typed is left out; a row with anything typed needs its area (and its essentials)."""
    evidence: dict[str, list[dict[str, Any]]] = {kind: [] for kind in EVIDENCE_FIELDS}
    errors: dict[str, str] = {}
    for kind, fields in EVIDENCE_FIELDS.items():
        label = ROW_NAMES[kind].lower()
        for row in range(row_count(kind, values)):
            entry: dict[str, Any] = {}
            typed = False
            for name, _, field_kind in fields:
                key = row_field(kind, row, name)
                if field_kind == "date":
                    moment, given = _date(values, key)
                    typed |= given
                    if given and moment is None:
                        errors[key] = f"{_ordinal(row)} {label}: enter a real date"
                    entry[name] = moment.isoformat() if moment else None
                else:
                    text = values.get(key, "").strip()
                    typed |= bool(text)
                    entry[name] = text or None
            if not typed:
                continue
            if not entry["area"]:
                errors.setdefault(row_field(kind, row, "area"), f"Enter the area of the {label}")
            for (required_kind, name), message in REQUIRED.items():
                key = row_field(kind, row, name)
                if required_kind == kind and not entry.get(name) and key not in errors:
                    errors[key] = f"{_ordinal(row)} {label}: {message[:1].lower()}{message[1:]}"
            start, end = entry.get("start"), entry.get("end")
            if kind == "residence" and start and end and end < start:
                errors[row_field(kind, row, "end")] = (
                    f"{_ordinal(row)} {label}: the end date must be after the start date"
                )
            if kind == "family" and entry.get("years_in_area"):
                try:
                    years = float(entry["years_in_area"])
                    if not 0 <= years <= 150:
                        raise ValueError
                    entry["years_in_area"] = years
                except ValueError:
                    errors[row_field(kind, row, "years_in_area")] = (
                        f"{_ordinal(row)} {label}: years must be a number, like 12"
                    )
            evidence[kind].append({k: v for k, v in entry.items() if v is not None})
    return evidence, errors


def evidence_values(evidence: Mapping[str, Any] | None) -> dict[str, str]:
    """Saved evidence as the form's values, to show what was recorded."""
    values: dict[str, str] = {}
    for kind, fields in EVIDENCE_FIELDS.items():
        for row, entry in enumerate((evidence or {}).get(kind) or []):
            for name, _, field_kind in fields:
                value = entry.get(name)
                key = row_field(kind, row, name)
                if field_kind == "date" and value:
                    moment = date.fromisoformat(str(value)[:10])
                    values |= {
                        f"{key}-day": str(moment.day),
                        f"{key}-month": str(moment.month),
                        f"{key}-year": str(moment.year),
                    }
                elif value is not None:
                    number = value if not isinstance(value, float) or value % 1 else int(value)
                    values[key] = str(number)
    return values


def api_field_errors(exc: ApiError) -> dict[str, str]:
    """A 422's errors by the form's field names ('residence.0.start' is 'residence-0-start')."""
    mapped = {}
    for where, message in exc.field_errors().items():
        name = where.replace(".", "-").replace("_", "-")
        if name.endswith("-end") and "before start" in message:
            message = "The end date must be after the start date"
        mapped[name] = message
    return mapped


def _ordinal(row: int) -> str:
    return ("First", "Second", "Third", "Fourth", "Fifth")[row] if row < 5 else f"Row {row + 1}"


# --- Tool 4, the closure checklist -----------------------------------------------------------

# Each step of Tool 4 as the toolkit writes it, with its branches.
TOOL_4: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "Is the client at the 3 months post reconnection point?",
        "Yes: go to Step 2. No: continue support, ensuring local agencies are taking over; "
        "restart at Step 1 when done.",
    ),
    (
        2,
        "Is the client supported enough in the local community (sufficient support from local "
        "agencies, low risk of return to rough sleeping)?",
        "Yes: go to Step 3. No: continue referrals to support agencies and clear obstacles; "
        "restart at Step 1 when done.",
    ),
    (
        3,
        "Is the client in temporary accommodation (local authority)?",
        "Yes: go to Step 4. No: go to Step 6.",
    ),
    (
        4,
        "Has the client received a positive decision on their homelessness application?",
        "Yes: go to Step 6. No: go to Step 5.",
    ),
    (
        5,
        "Discuss with the team and hand over support for a possible negative decision to local "
        "agencies (floating support, local outreach).",
        "On completion: go to Step 6.",
    ),
    (6, "Case ready for closure, review and learning.", "Go to Step 7."),
    (
        7,
        "Has the client been informed of the closure by letter?",
        "Yes: go to Step 8. No: write confirming their local support and what to do in a "
        "crisis, then go to Step 8.",
    ),
    (8, "Contact every agency, including the referring outreach team.", "Go to Step 9."),
    (9, "Close the case in every database system.", "Go to Step 10."),
    (10, "Review the full case as a team: highs, lows and learning.", "Go to Step 11."),
    (11, "Enter the learning points into the central log.", "The case is closed and reviewed."),
)


@dataclass(frozen=True)
class ClosureStep:
    step: int
    question: str
    branches: str
    answer: str | None  # yes, no, done, pending; None: not on the path taken
    went_to: int | None
    status: str  # done, current, skipped, not_reached


def closure_steps(assessment: Mapping[str, Any] | None) -> list[ClosureStep]:
    """Tool 4's eleven steps with the path the API walked: the answer at each step it passed,
    where its branch led, the step it waits at, and the steps a branch went round."""
    path = {r["step"]: r for r in (assessment or {}).get("path", [])}
    current = (assessment or {}).get("current_step")
    complete = bool((assessment or {}).get("complete"))
    rows = []
    for step, question, branches in TOOL_4:
        walked = path.get(step)
        if complete or (walked and walked["answer"] != "pending" and step != current):
            status = "done"
        elif step == current:
            status = "current"
        elif current is not None and step < current:
            status = "skipped"
        else:
            status = "not_reached"
        rows.append(
            ClosureStep(
                step,
                question,
                branches,
                walked["answer"] if walked else None,
                walked["next_step"] if walked else None,
                status,
            )
        )
    return rows


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# Tool 4's yes/no answers (Steps 2 to 5 and the three-month follow-up), as the API names them.
ANSWER_FIELDS = (
    "sufficient_local_support",
    "low_risk_of_return",
    "still_in_accommodation",
    "engaged",
    "returned_to_rough_sleeping",
    "in_temporary_accommodation",
    "negative_decision_handover_done",
)

# Each closure form: the API call it makes and its body from the form's values.
CLOSURE_FORMS: dict[str, tuple[str, str, Callable[[Mapping[str, str]], dict[str, Any]]]] = {
    "answers": (
        "PUT",
        "/closure/answers",
        lambda v: {
            name: {"yes": True, "no": False}[v[name]]
            for name in ANSWER_FIELDS
            if v.get(name) in ("yes", "no")
        },
    ),
    "letter": (
        "POST",
        "/closure/letter",
        lambda v: {
            "local_support": v.get("local_support", ""),
            "crisis_plan": v.get("crisis_plan", ""),
        },
    ),
    "agencies": (
        "POST",
        "/closure/agencies-notified",
        lambda v: {"agencies": [{"name": n} for n in lines(v.get("agencies", ""))]},
    ),
    "close": ("POST", "/closure/close", lambda v: {"note": v.get("note") or None}),
    "review": (
        "POST",
        "/closure/review",
        lambda v: {
            "highs": lines(v.get("highs", "")),
            "lows": lines(v.get("lows", "")),
            "summary": v.get("summary") or None,
        },
    ),
    "learning": (
        "POST",
        "/closure/learning-points",
        lambda v: {"points": lines(v.get("points", ""))},  # with its themes: learning_themes
    ),
}
# The field a refusal of each form is shown against (its first field).
CLOSURE_FIRST_FIELD = {
    "answers": "sufficient_local_support",
    "letter": "local_support",
    "agencies": "agencies",
    "close": "note",
    "review": "highs",
    "learning": "points",
}
CLOSURE_DONE = {
    "answers": "Closure answers saved",
    "letter": "Closure letter recorded",
    "agencies": "Agencies recorded as advised",
    "close": "Case closed",
    "review": "Case review recorded",
    "learning": "Learning points logged",
}


# Step 11's themes (shared/codes.py LearningTheme), as the form offers them.
THEME_LABELS: dict[str, str] = {
    LearningTheme.DESTINATION_AUTHORITY: "The destination authority (early contact, Part VII, "
    "the decision)",
    LearningTheme.ACCOMMODATION: "Accommodation",
    LearningTheme.ENGAGEMENT: "Engagement with support",
    LearningTheme.HEALTH: "Health",
    LearningTheme.SUBSTANCE_USE: "Substance use",
    LearningTheme.DOCUMENTS_AND_BENEFITS: "Documents and benefits",
    LearningTheme.TRAVEL_AND_BUDGET: "Travel and budget",
    LearningTheme.FAMILY_AND_NETWORKS: "Family and networks",
    LearningTheme.PARTNERSHIP_WORKING: "Partnership working",
    LearningTheme.SAFETY: "Safety",
    LearningTheme.OTHER: "Something else",
}


def theme_options() -> list[tuple[str, str]]:
    """Every theme the API takes, in the codes' order; one without a label here reads as its
    code in words, so a new code is offered at once."""
    return [(t.value, THEME_LABELS.get(t.value, words(t.value))) for t in LearningTheme]


def learning_themes(chosen: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The themes ticked, checked against the codes (a form can be sent with any value): the
    themes in the codes' order, or the error against the field. At least one is asked for,
    so the log can be counted by theme ("Something else" when none fits)."""
    known = {t.value for t in LearningTheme}
    if not chosen:
        return [], {"themes": "Select what the learning points are about"}
    if any(value not in known for value in chosen):
        return [], {"themes": "Select themes from the list"}
    return [t.value for t in LearningTheme if t.value in chosen], {}


# --- pages -----------------------------------------------------------------------------------


def _case_path(case_id: str) -> str:
    return f"/reconnection-cases/{case_id}"


def _item_texts(view: Mapping[str, Any]) -> dict[str, str]:
    return {i["id"]: i["text"] for c in view["checklists"] for i in c["items"]}


@router.get("/reconnection", response_class=HTMLResponse)
async def cases(request: Request, viewer: ViewerDep) -> HTMLResponse:
    found = await viewer.api.get(SERVICE, "/reconnection-cases", limit=200)
    ordered = sorted(found, key=lambda c: (not c["open"], -c["days_without_progress"]))
    return render(
        request,
        viewer,
        "reconnection/cases.html",
        cases=ordered,
        phase_number={p: n for n, p in enumerate(PHASES, start=1)},
    )


async def _case_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    errors: dict[str, str] | None = None,
    reasons: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    case = view["case"]
    current = next(c for c in view["checklists"] if c["phase"] == case["phase"])
    following = PHASES.index(case["phase"]) + 1
    return render(
        request,
        viewer,
        "reconnection/case.html",
        status=status,
        view=view,
        case=case,
        steps=phase_steps(case["phase"], case["closed"] is not None),
        current=current,
        earlier=[c for c in view["checklists"] if c["phase"] != case["phase"]],
        next_phase=PHASES[following] if following < len(PHASES) else None,
        evidence_pages=EVIDENCE_PAGES,
        errors=errors or {},
        reasons=reasons or [],
    )


@router.get("/reconnection/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, viewer: ViewerDep, case_id: str) -> HTMLResponse:
    return await _case_page(request, viewer, case_id)


@router.post("/reconnection/{case_id}/advance", response_model=None)
async def advance(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    try:
        view = await viewer.api.post(
            SERVICE, f"{_case_path(case_id)}/advance", {}, key=viewer.idempotency_key
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        before = await viewer.api.get(SERVICE, _case_path(case_id))
        _, message = refusal(exc)
        reasons = advance_reasons(message, _item_texts(before))
        errors = {"checklist": "This phase cannot be completed yet"}
        return await _case_page(request, viewer, case_id, errors, reasons, status=409)
    phase = view["case"]["phase"].replace("_", " ")
    return await done(
        request, viewer, f"Phase completed: the case is now in {phase}", f"/reconnection/{case_id}"
    )


@router.post("/reconnection/{case_id}/checklist/{phase}/{item_id}/complete", response_model=None)
async def complete_item(
    request: Request, viewer: ViewerDep, case_id: str, phase: str, item_id: str
) -> Response:
    path = f"{_case_path(case_id)}/checklist/{phase}/{item_id}/complete"
    try:
        view = await viewer.api.post(SERVICE, path, {"note": None}, key=viewer.idempotency_key)
    except ApiError as exc:
        if exc.status != 409:
            raise
        _, message = refusal(exc)
        return await _case_page(request, viewer, case_id, {"checklist": message}, status=409)
    text = _item_texts(view).get(item_id, item_id)
    return await done(request, viewer, f"Done: {text}", f"/reconnection/{case_id}#checklist")


async def _not_applicable_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    phase: str,
    item_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    item = next(
        (
            i
            for c in view["checklists"]
            if c["phase"] == phase
            for i in c["items"]
            if i["id"] == item_id
        ),
        None,
    )
    if item is None:
        return render(
            request,
            viewer,
            "error.html",
            status=404,
            heading="Page not found",
            lines=["This case has no such checklist item."],
        )
    return render(
        request,
        viewer,
        "reconnection/not_applicable.html",
        status=422 if errors else 200,
        case=view["case"],
        phase=phase,
        item=item,
        values=values or {},
        errors=errors or {},
    )


@router.get(
    "/reconnection/{case_id}/checklist/{phase}/{item_id}/not-applicable",
    response_class=HTMLResponse,
)
async def not_applicable_form(
    request: Request, viewer: ViewerDep, case_id: str, phase: str, item_id: str
) -> HTMLResponse:
    return await _not_applicable_page(request, viewer, case_id, phase, item_id)


@router.post(
    "/reconnection/{case_id}/checklist/{phase}/{item_id}/not-applicable", response_model=None
)
async def not_applicable(
    request: Request, viewer: ViewerDep, case_id: str, phase: str, item_id: str
) -> Response:
    values = viewer.values()
    reason = values.get("reason", "").strip()
    if not reason:
        errors = {"reason": "Enter why this item does not apply to the client"}
        return await _not_applicable_page(request, viewer, case_id, phase, item_id, values, errors)
    path = f"{_case_path(case_id)}/checklist/{phase}/{item_id}/not-applicable"
    try:
        view = await viewer.api.post(SERVICE, path, {"reason": reason}, key=viewer.idempotency_key)
    except ApiError as exc:
        if exc.status == 422:
            errors = {"reason": next(iter(exc.field_errors().values()), "Check the reason")}
        elif exc.status == 409:
            errors = {"reason": refusal(exc)[1]}
        else:
            raise
        return await _not_applicable_page(request, viewer, case_id, phase, item_id, values, errors)
    text = _item_texts(view).get(item_id, item_id)
    return await done(
        request, viewer, f"Not applicable: {text}", f"/reconnection/{case_id}#checklist"
    )


# --- local connection and destination --------------------------------------------------------


async def _local_connection_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    case = view["case"]
    recorded = case["local_connection"]
    saved = (recorded or {}).get("evidence") or {}
    shown = values if values is not None else evidence_values(saved)
    rows = {kind: row_count(kind, shown, len(saved.get(kind) or [])) for kind in EVIDENCE_FIELDS}
    return render(
        request,
        viewer,
        "reconnection/local_connection.html",
        status=422 if errors else 200,
        case=case,
        result=(recorded or {}).get("result"),
        area_options=[
            (c["area"], c["area"])
            for c in ((recorded or {}).get("result") or {}).get("candidates", [])
        ],
        eligibility=(case.get("eligibility") or {}).get("result"),
        values=shown,
        errors=errors or {},
        rows=rows,
        fields=EVIDENCE_FIELDS,
        row_names=ROW_NAMES,
        row_field=row_field,
        may_record=case["reconnected_at"] is None and case["closed"] is None,
        may_choose=PHASES.index(case["phase"]) in (2, 3) and case["reconnection_date"] is None,
    )


@router.get("/reconnection/{case_id}/local-connection", response_class=HTMLResponse)
async def local_connection_form(request: Request, viewer: ViewerDep, case_id: str) -> HTMLResponse:
    return await _local_connection_page(request, viewer, case_id)


@router.post("/reconnection/{case_id}/local-connection", response_model=None)
async def local_connection(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    values = viewer.values()
    evidence, errors = evidence_from_form(values)
    if not errors and not any(evidence.values()):
        errors = {row_field("residence", 0, "area"): "Enter at least one piece of evidence"}
    if not errors:
        try:
            await viewer.api.put(SERVICE, f"{_case_path(case_id)}/local-connection", evidence)
        except ApiError as exc:
            if exc.status == 422:
                errors = api_field_errors(exc) or {"residence-0-area": "Check the evidence"}
            elif exc.status == 409:
                errors = {"residence-0-area": refusal(exc)[1]}
            else:
                raise
    if errors:
        return await _local_connection_page(request, viewer, case_id, values, errors)
    return await done(
        request,
        viewer,
        "Local-connection test recorded",
        f"/reconnection/{case_id}/local-connection#outcome",
    )


@router.post("/reconnection/{case_id}/destination", response_model=None)
async def destination(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    area = viewer.field("area").strip()
    errors: dict[str, str] = {}
    if not area:
        errors = {"area": "Select the destination area"}
    else:
        try:
            await viewer.api.put(SERVICE, f"{_case_path(case_id)}/destination", {"area": area})
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = {
                "area": refusal(exc)[1] if exc.status == 409 else "Select the destination area"
            }
    if errors:
        return await _local_connection_page(request, viewer, case_id, None, errors)
    return await done(request, viewer, f"Destination chosen: {area}", f"/reconnection/{case_id}")


# --- presentation pack -----------------------------------------------------------------------


def pack_updates(
    values: Mapping[str, str], items: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, str]]:
    """The items whose status or reason the form changed, as PUT bodies; and errors."""
    updates, errors = [], {}
    for item in items:
        name = item["item"]
        status = values.get(f"{name}-status", item["status"])
        reason = values.get(f"{name}-reason", "").strip() or None
        if status == "not_applicable" and not item["always_needed"] and not reason:
            errors[f"{name}-reason"] = (
                f"Enter why the {item['description'].split(':')[0]} does not apply"
            )
            continue
        if status == "not_applicable" and item["always_needed"]:
            errors[f"{name}-status"] = (
                f"The {item['description'].split(':')[0]} is always part of the pack"
            )
            continue
        if status != item["status"] or (status == "not_applicable" and reason != item["reason"]):
            updates.append((name, {"status": status, "reason": reason}))
    return updates, errors


async def _pack_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    shown = values
    if shown is None:
        shown = {}
        for item in view["presentation_pack"]:
            shown[f"{item['item']}-status"] = item["status"]
            shown[f"{item['item']}-reason"] = item["reason"] or ""
    return render(
        request,
        viewer,
        "reconnection/pack.html",
        status=422 if errors else 200,
        view=view,
        case=view["case"],
        values=shown,
        errors=errors or {},
        statuses=PACK_STATUSES,
    )


@router.get("/reconnection/{case_id}/presentation-pack", response_class=HTMLResponse)
async def pack_form(request: Request, viewer: ViewerDep, case_id: str) -> HTMLResponse:
    return await _pack_page(request, viewer, case_id)


@router.post("/reconnection/{case_id}/presentation-pack", response_model=None)
async def pack(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    values = viewer.values()
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    updates, errors = pack_updates(values, view["presentation_pack"])
    for item, body in updates:
        try:
            await viewer.api.put(SERVICE, f"{_case_path(case_id)}/presentation-pack/{item}", body)
        except ApiError as exc:
            if exc.status == 422:
                for field, message in exc.field_errors().items():
                    errors[f"{item}-{field}"] = message
            elif exc.status == 409:
                field, message = refusal(exc)
                errors[f"{item}-{field if field in ('status', 'reason') else 'status'}"] = message
            else:
                raise
    if errors:
        return await _pack_page(request, viewer, case_id, values, errors)
    return await done(
        request, viewer, "Presentation pack updated", f"/reconnection/{case_id}/presentation-pack"
    )


@router.post("/reconnection/{case_id}/reconnection-date", response_model=None)
async def reconnection_date(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    values = viewer.values()
    day, typed = _date(values, "reconnection-date")
    errors: dict[str, str] = {}
    if day is None:
        errors = {
            "reconnection-date": "Enter a real date" if typed else "Enter the reconnection date"
        }
    else:
        try:
            body = {"reconnection_date": day.isoformat()}
            await viewer.api.put(SERVICE, f"{_case_path(case_id)}/reconnection-date", body)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            message = refusal(exc)[1] if exc.status == 409 else "Enter a real date"
            errors = {
                "reconnection-date": f"The reconnection date {message}"
                if message.startswith("must")
                else message
            }
    if errors:
        return await _pack_page(request, viewer, case_id, values, errors)
    return await done(
        request, viewer, "Reconnection date set", f"/reconnection/{case_id}/presentation-pack"
    )


# --- closure (Tool 4) ------------------------------------------------------------------------


async def _closure_page(
    request: Request,
    viewer: Viewer,
    case_id: str,
    form: str = "",
    values: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    view = await viewer.api.get(SERVICE, _case_path(case_id))
    case = view["case"]
    answers = case["closure"]["answers"]
    shown = dict(values or {})
    if form != "answers":
        for name in ANSWER_FIELDS:
            if answers.get(name) is not None:
                shown[name] = "yes" if answers[name] else "no"
    assessment = view["closure_checklist"]
    return render(
        request,
        viewer,
        "reconnection/closure.html",
        status=422 if errors else 200,
        view=view,
        case=case,
        assessment=assessment,
        steps=closure_steps(assessment),
        values=shown,
        errors=errors or {},
        form=form,
        theme_options=theme_options(),
    )


@router.get("/reconnection/{case_id}/closure", response_class=HTMLResponse)
async def closure_form(request: Request, viewer: ViewerDep, case_id: str) -> HTMLResponse:
    return await _closure_page(request, viewer, case_id)


@router.post("/reconnection/{case_id}/closure", response_model=None)
async def closure(request: Request, viewer: ViewerDep, case_id: str) -> Response:
    values: dict[str, Any] = dict(viewer.values())
    form = values.get("form", "")
    if form not in CLOSURE_FORMS:
        return await _closure_page(request, viewer, case_id)
    method, path, body_of = CLOSURE_FORMS[form]
    body = body_of(values)
    errors: dict[str, str] = {}
    if form == "learning":
        values["themes"] = viewer.fields("themes")
        body["themes"], errors = learning_themes(values["themes"])
        if errors and not body["points"]:  # both errors at once, in the form's order
            errors = {"points": "Enter at least one learning point", **errors}
        if errors:
            return await _closure_page(request, viewer, case_id, form, values, errors)
    try:
        if method == "PUT":
            await viewer.api.put(SERVICE, _case_path(case_id) + path, body)
        else:
            await viewer.api.post(
                SERVICE, _case_path(case_id) + path, body, key=viewer.idempotency_key
            )
    except ApiError as exc:
        if exc.status == 422:
            errors = {
                _closure_field(form, where): message
                for where, message in exc.field_errors().items()
            }
        elif exc.status == 409:
            field, message = refusal(exc)
            errors = {_closure_field(form, field): message}
        else:
            raise
    if errors:
        return await _closure_page(request, viewer, case_id, form, values, errors)
    return await done(request, viewer, CLOSURE_DONE[form], f"/reconnection/{case_id}/closure")


def _closure_field(form: str, where: str) -> str:
    """An API error's location as the closure form's field ('agencies.0.name' is 'agencies')."""
    name = where.split(".")[0]
    return (
        name
        if name
        in {
            *ANSWER_FIELDS,
            "local_support",
            "crisis_plan",
            "agencies",
            "note",
            "highs",
            "lows",
            "summary",
            "points",
            "themes",
        }
        else CLOSURE_FIRST_FIELD[form]
    )
