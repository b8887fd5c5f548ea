"""Settings for an organisation's admins: notification templates and channels (the
notifications service) and data-sharing agreements (the agreements service). Everyone with
settings.read sees them; changing them takes settings.manage (agreements.manage for
agreements), exactly as the APIs enforce."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import ApiError
from services.web.context import Viewer, ViewerDep
from services.web.rendering import done, refused, render, words
from shared.agreements import DataCategory, Purpose
from shared.policy import Permission

router = APIRouter()
P = Permission

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ORGANISATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TEMPLATE_KEY = re.compile(r"^[a-z_]{1,64}$")
AGREEMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

TEMPLATE_FIELDS = ("subject", "body", "notify_template_id")
CHANNEL_FIELDS = (
    "display_name",
    "notice_email",
    "housing_officer_email",
    "local_support",
    "crisis_support",
)
EMAIL_FIELDS = {
    "notice_email": "Enter the email address for notices in the correct format, like "
    "name@example.com",
    "housing_officer_email": "Enter the housing officer's email address in the correct "
    "format, like name@example.com",
}
LIMITS = {
    "subject": ("Subject", 300),
    "body": ("Message", 10000),
    "notify_template_id": ("GOV.UK Notify template ID", 100),
    "display_name": ("Name on messages", 200),
    "local_support": ("Local support text", 4000),
    "crisis_support": ("Crisis support text", 4000),
    "note": ("Note", 2000),
}
CHANGES = {
    "accept": "Agreement accepted",
    "decline": "Agreement declined",
    "end": "Agreement ended",
}


def _too_long(name: str, value: str) -> str | None:
    label, limit = LIMITS[name]
    return f"{label} must be {limit:,} characters or fewer" if len(value) > limit else None


def template_errors(values: dict[str, str]) -> dict[str, str]:
    """What is wrong with a template form, in the words of the GOV.UK error messages."""
    errors: dict[str, str] = {}
    if not values["subject"].strip():
        errors["subject"] = "Enter a subject"
    if not values["body"].strip():
        errors["body"] = "Enter the message"
    for name in TEMPLATE_FIELDS:
        problem = _too_long(name, values[name])
        if problem and name not in errors:
            errors[name] = problem
    return errors


def channel_errors(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, message in EMAIL_FIELDS.items():
        if values[name] and (len(values[name]) > 254 or not EMAIL.match(values[name])):
            errors[name] = message
    for name in ("display_name", "local_support", "crisis_support"):
        problem = _too_long(name, values[name])
        if problem:
            errors[name] = problem
    return errors


def parse_date(values: dict[str, str], name: str) -> date | None:
    """The three boxes of a GOV.UK date input as a date; None if blank; ValueError if wrong."""
    parts = [values.get(f"{name}-{part}", "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None
    if not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        raise ValueError(name)
    return date(int(parts[2]), int(parts[1]), int(parts[0]))


def agreement_errors(
    values: dict[str, Any], purposes: set[str], categories: set[str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["counterparty"]:
        errors["counterparty"] = "Enter the other organisation"
    elif not ORGANISATION.match(values["counterparty"]):
        errors["counterparty"] = (
            "Enter the other organisation as Hearth names it, like leeds-council"
        )
    if values["purpose"] not in purposes:
        errors["purpose"] = "Select what the agreement is for"
    if not values["categories"] or not set(values["categories"]) <= categories:
        errors["categories"] = "Select the data the agreement covers"
    starts = ends = None
    try:
        starts = parse_date(values, "starts")
        if starts is None:
            errors["starts"] = "Enter the date the agreement starts"
    except ValueError:
        errors["starts"] = "The start date must be a real date, like 1 12 2026"
    try:
        ends = parse_date(values, "ends")
    except ValueError:
        errors["ends"] = "The end date must be a real date, like 30 11 2027"
    if starts and ends and ends <= starts:
        errors["ends"] = "The end date must be after the start date"
    problem = _too_long("note", values["note"])
    if problem:
        errors["note"] = problem
    return errors


def api_errors(exc: ApiError, known: tuple[str, ...], friendly: dict[str, str]) -> dict[str, str]:
    """An API's refusal as the form's errors: each field named, in our words where we have
    them; a refusal naming no field of the form lands on the first field."""
    found = exc.field_errors()
    if isinstance(exc.detail, dict) and isinstance(exc.detail.get("field"), str):
        found.setdefault(exc.detail["field"], str(exc.detail.get("detail", "")))
    errors: dict[str, str] = {}
    for field, message in found.items():
        name = field.split(".")[0]
        if name in known:
            text = friendly.get(name) or message.split(": ", 1)[-1]
            errors.setdefault(name, text[:1].upper() + text[1:])
    if not errors:
        errors[known[0]] = exc.message.split(": ", 1)[-1]
    return errors


def _blank_to_none(values: dict[str, str]) -> dict[str, str | None]:
    return {k: (v if v.strip() else None) for k, v in values.items()}


# --- index -----------------------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
async def settings_index(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(P.SETTINGS_READ):
        return refused(request, viewer)
    return render(request, viewer, "settings/index.html")


# --- templates -------------------------------------------------------------------------------


@router.get("/settings/templates", response_class=HTMLResponse)
async def templates(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(P.SETTINGS_READ):
        return refused(request, viewer)
    found = await viewer.api.get("notifications", "/templates")
    return render(request, viewer, "settings/templates.html", templates=found)


def _template_page(
    request: Request,
    viewer: Viewer,
    template: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "settings/template.html",
        status=400 if errors else 200,
        message_template=template,
        values=values,
        errors=errors,
        may_change=viewer.may(P.SETTINGS_MANAGE),
    )


@router.get("/settings/templates/{key}", response_class=HTMLResponse)
async def template(request: Request, viewer: ViewerDep, key: str) -> HTMLResponse:
    if not viewer.may(P.SETTINGS_READ):
        return refused(request, viewer)
    if not TEMPLATE_KEY.match(key):
        raise ApiError("notifications", 404, "no such template")
    found = await viewer.api.get("notifications", f"/templates/{key}")
    values = {name: found.get(name) or "" for name in TEMPLATE_FIELDS}
    return _template_page(request, viewer, found, values, {})


@router.post("/settings/templates/{key}", response_class=HTMLResponse)
async def change_template(request: Request, viewer: ViewerDep, key: str) -> Response:
    if not viewer.may(P.SETTINGS_MANAGE):
        return refused(request, viewer)
    if not TEMPLATE_KEY.match(key):
        raise ApiError("notifications", 404, "no such template")
    values = {name: viewer.field(name) for name in TEMPLATE_FIELDS}
    errors = template_errors(values)
    if not errors:
        try:
            await viewer.api.put("notifications", f"/templates/{key}", _blank_to_none(values))
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = api_errors(exc, TEMPLATE_FIELDS, {})
    if errors:
        found = await viewer.api.get("notifications", f"/templates/{key}")
        return _template_page(request, viewer, found, values, errors)
    return await done(
        request, viewer, f"Template {words(key).lower()} saved", "/settings/templates"
    )


# --- channels --------------------------------------------------------------------------------


def _channels_page(
    request: Request, viewer: Viewer, values: dict[str, str], errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "settings/channels.html",
        status=400 if errors else 200,
        values=values,
        errors=errors,
        may_change=viewer.may(P.SETTINGS_MANAGE),
    )


@router.get("/settings/channels", response_class=HTMLResponse)
async def channels(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(P.SETTINGS_READ):
        return refused(request, viewer)
    found = await viewer.api.get("notifications", "/settings")
    values = {name: found.get(name) or "" for name in CHANNEL_FIELDS}
    return _channels_page(request, viewer, values, {})


@router.post("/settings/channels", response_class=HTMLResponse)
async def change_channels(request: Request, viewer: ViewerDep) -> Response:
    if not viewer.may(P.SETTINGS_MANAGE):
        return refused(request, viewer)
    values = {name: viewer.field(name).strip() for name in CHANNEL_FIELDS}
    errors = channel_errors(values)
    if not errors:
        try:
            await viewer.api.put("notifications", "/settings", _blank_to_none(values))
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors = api_errors(exc, CHANNEL_FIELDS, EMAIL_FIELDS)
    if errors:
        return _channels_page(request, viewer, values, errors)
    return await done(request, viewer, "Notification settings saved", "/settings/channels")


# --- data-sharing agreements -----------------------------------------------------------------


@router.get("/settings/agreements", response_class=HTMLResponse)
async def agreements(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(P.AGREEMENTS_READ):
        return refused(request, viewer)
    found = await viewer.api.get("agreements", "/agreements")
    listed = found.get("agreements", [])
    mine = viewer.user.organisation
    return render(
        request,
        viewer,
        "settings/agreements.html",
        awaiting_us=[a for a in listed if a.get("awaiting") == mine],
        agreements=listed,
        may_manage=viewer.may(P.AGREEMENTS_MANAGE),
    )


def _proposal_page(
    request: Request, viewer: Viewer, values: dict[str, Any], errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "settings/agreement_new.html",
        status=400 if errors else 200,
        values=values,
        errors=errors,
        purposes=[(p.value, words(p.value)) for p in Purpose],
        categories=[(c.value, words(c.value)) for c in DataCategory],
    )


@router.get("/settings/agreements/new", response_class=HTMLResponse)
async def new_agreement(request: Request, viewer: ViewerDep) -> HTMLResponse:
    if not viewer.may(P.AGREEMENTS_MANAGE):
        return refused(request, viewer)
    return _proposal_page(request, viewer, {}, {})


@router.post("/settings/agreements/new", response_class=HTMLResponse)
async def propose_agreement(request: Request, viewer: ViewerDep) -> Response:
    if not viewer.may(P.AGREEMENTS_MANAGE):
        return refused(request, viewer)
    values: dict[str, Any] = {
        "counterparty": viewer.field("counterparty").strip(),
        "purpose": viewer.field("purpose"),
        "categories": viewer.fields("categories"),
        "note": viewer.field("note").strip(),
        **{
            f"{name}-{part}": viewer.field(f"{name}-{part}").strip()
            for name in ("starts", "ends")
            for part in ("day", "month", "year")
        },
    }
    errors = agreement_errors(values, {p.value for p in Purpose}, {c.value for c in DataCategory})
    if not errors:
        starts = parse_date(values, "starts")
        ends = parse_date(values, "ends")
        body = {
            "counterparty": values["counterparty"],
            "purpose": values["purpose"],
            "categories": values["categories"],
            "starts": _midnight(starts),
            "ends": _midnight(ends) if ends else None,
            "note": values["note"] or None,
        }
        try:
            created = await viewer.api.post(
                "agreements", "/agreements", body, key=viewer.idempotency_key
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            known = ("counterparty", "purpose", "categories", "starts", "ends", "note")
            errors = api_errors(exc, known, {})
        else:
            return await done(
                request,
                viewer,
                "Agreement proposed",
                f"/settings/agreements/{created['agreement_id']}",
            )
    return _proposal_page(request, viewer, values, errors)


def _midnight(day: date | None) -> str | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat() if day else None


@router.get("/settings/agreements/{agreement_id}", response_class=HTMLResponse)
async def agreement(request: Request, viewer: ViewerDep, agreement_id: str) -> HTMLResponse:
    if not viewer.may(P.AGREEMENTS_READ):
        return refused(request, viewer)
    if not AGREEMENT_ID.match(agreement_id):
        raise ApiError("agreements", 404, "no such agreement")
    found = await viewer.api.get("agreements", f"/agreements/{agreement_id}")
    return _agreement_page(request, viewer, found, {}, {})


def _agreement_page(
    request: Request,
    viewer: Viewer,
    found: dict[str, Any],
    values: dict[str, str],
    errors: dict[str, str],
) -> HTMLResponse:
    return render(
        request,
        viewer,
        "settings/agreement.html",
        status=400 if errors else 200,
        agreement=found,
        other=other_party(found, viewer.user.organisation),
        options=change_options(found, viewer.user.organisation, viewer.may(P.AGREEMENTS_MANAGE)),
        values=values,
        errors=errors,
    )


def other_party(agreement: dict[str, Any], mine: str) -> str:
    proposer = str(agreement.get("proposed_by"))
    return str(agreement.get("counterparty")) if proposer == mine else proposer


def change_options(agreement: dict[str, Any], mine: str, manage: bool) -> list[tuple[str, str]]:
    """What this organisation's admin may do with the agreement now: answer a proposal made
    to it, withdraw its own proposal, or end an active agreement."""
    if not manage:
        return []
    status = agreement.get("status")
    if status == "proposed" and agreement.get("awaiting") == mine:
        return [("accept", "Accept the agreement"), ("decline", "Decline the agreement")]
    if status == "proposed":
        return [("end", "Withdraw the proposal")]
    if status == "active":
        return [("end", "End the agreement from now")]
    return []


@router.post("/settings/agreements/{agreement_id}", response_class=HTMLResponse)
async def change_agreement(request: Request, viewer: ViewerDep, agreement_id: str) -> Response:
    """Accept, decline or end (withdraw) an agreement, with an optional note for the other
    party's admin."""
    if not viewer.may(P.AGREEMENTS_MANAGE):
        return refused(request, viewer)
    if not AGREEMENT_ID.match(agreement_id):
        raise ApiError("agreements", 404, "no such agreement")
    values = {"change": viewer.field("change"), "note": viewer.field("note").strip()}
    errors: dict[str, str] = {}
    if values["change"] not in CHANGES:
        errors["change"] = "Select what to do with the agreement"
    if problem := _too_long("note", values["note"]):
        errors["note"] = problem
    if not errors:
        try:
            await viewer.api.post(
                "agreements",
                f"/agreements/{agreement_id}/{values['change']}",
                {"note": values["note"] or None},
                key=viewer.idempotency_key,
            )
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            errors = {"change": exc.message.split(": ", 1)[-1]}
        else:
            return await done(
                request, viewer, CHANGES[values["change"]], f"/settings/agreements/{agreement_id}"
            )
    found = await viewer.api.get("agreements", f"/agreements/{agreement_id}")
    return _agreement_page(request, viewer, found, values, errors)
