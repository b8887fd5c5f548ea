"""The housing association income officer's pages: upload an arrears CSV and watch it being
decided, each row's result, the tenancies at risk and what each alert caused, and the risk
rules. Everything comes from the referral service's arrears API with the officer's own token;
tenancy references (personal data) only ever appear in a page's body, never in its address."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.web.backend import ApiError
from services.web.context import Viewer, ViewerDep
from services.web.rendering import done, render
from shared.codes import RiskLevel
from shared.http import body_limit

router = APIRouter()
SERVICE = "referral"
MAX_CSV_BYTES = 50 * 1024 * 1024  # the arrears API's own limit for one file
MAX_UPLOAD_BYTES = MAX_CSV_BYTES + 64 * 1024  # the file, its multipart framing, the form
TENANCIES_PAGE = 50
JOB_ID = r"^[A-Za-z0-9._:-]{1,100}$"
DONE = ("completed", "failed")
STATUS_FILTERS = ("all", "rejected", "accepted", "unchanged", "duplicate")
STATUS_COLOURS = {
    "accepted": "green",
    "unchanged": "grey",
    "duplicate": "grey",
    "rejected": "red",
    "queued": "grey",
    "processing": "blue",
    "completed": "green",
    "failed": "red",
}
LEVEL_COLOURS = {"low": "grey", "medium": "yellow", "high": "orange", "critical": "red"}
FILE_ERRORS = {
    "not UTF-8": "The selected file must be a CSV file saved as UTF-8 text",
    "no rows after the header": "The selected file has no rows after its header",
    "too many uploads": "Too many files are being processed now: try again in a minute",
    "larger than": "The selected file must be smaller than 50MB",
}


# --- what the API's answers mean to an income officer (pure) ------------------------------


def split_reason(reason: str | None) -> tuple[str, str]:
    """'balance: Input should be a valid number' -> ('balance', 'Input should be …')."""
    if not reason:
        return "", ""
    field, sep, message = reason.partition(": ")
    if not sep or " " in field:
        return "", reason
    return field, message[:1].upper() + message[1:]


def row_outcome(row: dict[str, Any]) -> str:
    """What a row caused, in words."""
    status = row.get("status")
    if status == "rejected":
        return "Not recorded"
    if status == "duplicate":
        return "Already received: nothing changed"
    if row.get("prevention_case_id"):
        return "Prevention referral raised"
    if row.get("case_id"):
        return "Open case told of the risk (escalated)"
    if row.get("signalled"):
        return "Risk signalled"
    if status == "accepted":
        return "Arrears cleared: risk ended"
    return "Recorded: no new risk"


@dataclass(frozen=True)
class RowView:
    line: int | None
    status: str
    reference: str
    level: str
    field: str
    message: str
    outcome: str


def row_view(row: dict[str, Any]) -> RowView:
    field, message = split_reason(row.get("reason"))
    return RowView(
        line=row.get("line"),
        status=str(row.get("status", "")),
        reference=str(row.get("tenancy_reference") or ""),
        level=str(row.get("risk_level") or ""),
        field=str(row.get("field") or field),
        message=message,
        outcome=row_outcome(row),
    )


def rows_for(rows: list[dict[str, Any]], show: str) -> list[RowView]:
    """The page's rows, rejected first (then in line order), or only those of one status."""
    views = [row_view(r) for r in rows]
    if show in STATUS_FILTERS and show != "all":
        views = [v for v in views if v.status == show]
    return sorted(views, key=lambda v: (v.status != "rejected", v.line or 0))


def percent_read(job: dict[str, Any]) -> int:
    total = int(job.get("total_rows") or 0)
    if job.get("status") == "completed" or total <= 0:
        return 100 if job.get("status") == "completed" else 0
    return min(100, math.floor(100 * int(job.get("rows_read") or 0) / total))


def tenancy_outcomes(tenancy: dict[str, Any]) -> list[str]:
    """What a tenancy's alerts caused: its cases, in the order they happened, as words. A
    signal while a case was open told that case (escalation: the decision names it)."""
    lines: list[str] = []
    signalled = bool(tenancy.get("signalled_level"))
    for case in tenancy.get("cases") or []:
        status = case.get("status")
        if case.get("prevention_referral"):
            lines.append(
                {
                    "pending": "Prevention referral raised",
                    "open": "Prevention referral raised: case allocated",
                    "closed": "Prevention referral raised: case closed",
                }.get(status, "Prevention referral raised")
            )
        elif status == "open":
            lines.append("Open case escalated" if signalled else "Case open")
        elif status == "closed":
            lines.append("Case closed")
        else:
            lines.append("Referral waiting for allocation")
    if not lines:
        if signalled:
            lines.append("Risk signalled")
        elif (tenancy.get("last_alert") or {}).get("risk_level") is None:
            lines.append("Arrears cleared")
        else:
            lines.append("Recorded: below the level that raises a signal")
    return lines


LEVELS = [(level.value, level.value.capitalize()) for level in RiskLevel]
LEVEL_FIELDS = (
    "signal_from",
    "refer_from",
    "trend_cap",
    "notice_served_level",
    "court_date_level",
    "possession_order_level",
    "eviction_date_level",
    "asb_level",
    "neighbour_level",
)
NUMBER_FIELDS = {  # field: (words for messages, required)
    "weeks_medium": ("Weeks in arrears for medium risk", True),
    "weeks_high": ("Weeks in arrears for high risk", True),
    "weeks_critical": ("Weeks in arrears for critical risk", False),
    "balance_medium": ("Balance for medium risk", False),
    "balance_high": ("Balance for high risk", False),
    "no_payment_weeks": ("Weeks without a payment", False),
}
FIELD_WORDS = {
    **{name: label.lower() for name, (label, _) in NUMBER_FIELDS.items()},
    "signal_from": "the level that signals",
    "refer_from": "the level that refers",
}
NUMBER = re.compile(r"^\d+(\.\d+)?$")


def rules_form_values(rules: dict[str, Any]) -> dict[str, str]:
    """The API's rules as the form's text values."""
    values: dict[str, str] = {}
    for name, value in rules.items():
        if isinstance(value, bool):
            values[name] = "yes" if value else "no"
        elif isinstance(value, float) and value.is_integer():
            values[name] = str(int(value))
        else:
            values[name] = "" if value is None else str(value)
    return values


def rules_from_form(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The PUT body from the form, or the errors to show, by field, in the form's order."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    allowed = {v for v, _ in LEVELS}
    for name in LEVEL_FIELDS[:2]:
        _level(name, values, allowed, body, errors)
    for name, (label, required) in NUMBER_FIELDS.items():
        text = values.get(name, "").strip().replace(",", "").lstrip("£")
        if not text:
            if required:
                errors[name] = f"Enter {label.lower()}"
            else:
                body[name] = None
        elif not NUMBER.match(text) or float(text) <= 0:
            errors[name] = f"{label} must be a number greater than 0"
        else:
            body[name] = float(text)
    trend = values.get("worsening_trend_raises", "")
    if trend not in ("yes", "no"):
        errors["worsening_trend_raises"] = "Select whether a worsening trend raises the level"
    else:
        body["worsening_trend_raises"] = trend == "yes"
    for name in LEVEL_FIELDS[2:]:
        _level(name, values, allowed, body, errors)
    organisation = values.get("prevention_organisation", "").strip()
    body["prevention_organisation"] = organisation or None
    return body, errors


def _level(
    name: str,
    values: dict[str, str],
    allowed: set[str],
    body: dict[str, Any],
    errors: dict[str, str],
) -> None:
    if values.get(name) in allowed:
        body[name] = values[name]
    else:
        errors[name] = "Select a risk level"


def api_rule_errors(exc: ApiError) -> dict[str, str]:
    """A 422 from PUT /risk-rules by form field ('Value error, weeks_high: must not …' names
    its field inside the message when a rule between fields refused it)."""
    errors: dict[str, str] = {}
    for where, message in exc.field_errors().items():
        text = message.removeprefix("Value error, ")
        field, said = split_reason(text)
        if where in ("", "body") and field:
            where, text = field, said
        for name, words in FIELD_WORDS.items():
            text = text.replace(name, words)
        errors[where or "body"] = text[:1].upper() + text[1:]
    return errors or {"body": exc.message}


# --- pages --------------------------------------------------------------------------------


@router.get("/arrears", response_class=HTMLResponse)
async def start(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, viewer, "arrears/start.html", errors={}, max_mb=MAX_CSV_BYTES >> 20)


@router.post("/arrears", response_model=None, openapi_extra=body_limit(MAX_UPLOAD_BYTES))
async def upload(request: Request, viewer: ViewerDep) -> Response:
    upload = viewer.form.get("file") if viewer.form is not None else None
    problem = _file_problem(upload)
    if problem is None and isinstance(upload, UploadFile):
        content_type = upload.content_type or "text/csv"
        try:
            job = await viewer.api.call(
                "POST",
                SERVICE,
                "/arrears-alerts/csv",
                files={"file": (upload.filename or "arrears.csv", upload.file, content_type)},
                idempotency_key=viewer.idempotency_key,
            )
        except ApiError as exc:
            if exc.status not in (413, 422, 503):
                raise
            problem = _api_file_problem(exc)
        else:
            return RedirectResponse(f"/arrears/uploads/{job['job_id']}", 303)
    return render(
        request,
        viewer,
        "arrears/start.html",
        status=400,
        errors={"file": problem},
        max_mb=MAX_CSV_BYTES >> 20,
    )


def _file_problem(upload: object) -> str | None:
    if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
        return "Select a CSV file"
    if not upload.filename.lower().endswith((".csv", ".txt")):
        return "The selected file must be a CSV"
    if upload.size > MAX_CSV_BYTES:
        return f"The selected file must be smaller than {MAX_CSV_BYTES >> 20}MB"
    return None


def _api_file_problem(exc: ApiError) -> str:
    message = exc.message
    for marker, text in FILE_ERRORS.items():
        if marker in message:
            return text
    # A missing column or an unreadable header: the API names it.
    return "The selected file cannot be read: " + message.removeprefix("file: ")


async def _job(viewer: Viewer, job_id: str, page: int) -> dict[str, Any]:
    if not re.match(JOB_ID, job_id):
        raise ApiError(SERVICE, 404, "job_id: no such upload")
    job: dict[str, Any] = await viewer.api.get(
        SERVICE, f"/arrears-alerts/uploads/{job_id}", page=page or None
    )
    return job


def _job_context(job: dict[str, Any], show: str) -> dict[str, Any]:
    show = show if show in STATUS_FILTERS else "all"
    counts = job.get("counts") or {}
    return {
        "job": job,
        "done": job.get("status") in DONE,
        "percent": percent_read(job),
        "counts": counts,
        "show": show,
        "filters": [(f, counts.get(f) if f != "all" else None) for f in STATUS_FILTERS],
        "rows": rows_for(job.get("rows") or [], show),
        "rejected": [row_view(r) for r in job.get("rejected_rows") or []],
        "status_colours": STATUS_COLOURS,
        "level_colours": LEVEL_COLOURS,
    }


@router.get("/arrears/uploads/{job_id}", response_class=HTMLResponse)
async def upload_job(
    request: Request, viewer: ViewerDep, job_id: str, page: int = 0, show: str = "all"
) -> HTMLResponse:
    job = await _job(viewer, job_id, max(page, 0))
    return render(request, viewer, "arrears/upload.html", **_job_context(job, show))


@router.get("/arrears/uploads/{job_id}/progress", response_class=HTMLResponse)
async def upload_progress(request: Request, viewer: ViewerDep, job_id: str) -> HTMLResponse:
    """The part of the upload page that changes, for htmx to swap in every second."""
    job = await _job(viewer, job_id, 0)
    return render(request, viewer, "arrears/_progress.html", **_job_context(job, "all"))


@router.get("/arrears/tenancies", response_class=HTMLResponse)
async def tenancies(request: Request, viewer: ViewerDep, page: int = 1) -> HTMLResponse:
    page = max(page, 1)
    answer = await viewer.api.get(
        SERVICE,
        "/arrears-alerts/tenancies",
        limit=TENANCIES_PAGE,
        offset=(page - 1) * TENANCIES_PAGE,
    )
    listed = [
        {**t, "outcomes": tenancy_outcomes(t), "alert": t.get("last_alert") or {}}
        for t in answer["tenancies"]
    ]
    return render(
        request,
        viewer,
        "arrears/tenancies.html",
        tenancies=listed,
        total=answer["total"],
        page=page,
        pages=max(1, math.ceil(answer["total"] / TENANCIES_PAGE)),
        level_colours=LEVEL_COLOURS,
    )


@router.get("/arrears/risk-rules", response_class=HTMLResponse)
async def risk_rules(request: Request, viewer: ViewerDep) -> HTMLResponse:
    rules = await viewer.api.get(SERVICE, "/risk-rules")
    return _rules_page(request, viewer, rules_form_values(rules), {})


@router.post("/arrears/risk-rules", response_model=None)
async def change_risk_rules(request: Request, viewer: ViewerDep) -> Response:
    names = [*LEVEL_FIELDS, *NUMBER_FIELDS, "worsening_trend_raises", "prevention_organisation"]
    values = {name: viewer.field(name) for name in names}
    body, errors = rules_from_form(values)
    if not errors:
        try:
            await viewer.api.put(SERVICE, "/risk-rules", body)
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = api_rule_errors(exc)
        else:
            return await done(request, viewer, "Risk rules saved", "/arrears/risk-rules")
    return _rules_page(request, viewer, values, errors, status=400)


def _rules_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "arrears/risk_rules.html",
        status=status,
        values=values,
        errors=errors,
        levels=LEVELS,
        level_colours=LEVEL_COLOURS,
    )
