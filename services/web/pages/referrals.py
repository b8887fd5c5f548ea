"""The referrer's pages (a housing options officer's): make a referral with the person's consent
and its scope, follow the status of the organisation's referrals, find a person by name, date
of birth or reference (a POST: names never in a URL), and resolve a possible match.

Everything comes from the referral API with the user's own token: it decides what they may
see (their organisation, within their reach) and audits every look."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web import forms
from services.web.backend import ApiError
from services.web.context import Viewer, ViewerDep
from services.web.rendering import done, govuk_date, render, words
from shared.codes import Channel, LegalStage, RiskLevel, SupportNeed
from shared.consent import ConsentPurpose
from shared.events.referral_intake import ReferralSource

router = APIRouter()

STATUS_COLOURS = {"received": "blue", "assessed": "light-blue", "allocated": "green"}
CONSENT_COLOURS = {"given": "green", "varied": "green", "withdrawn": "red", "expired": "grey"}
PURPOSE_TEXT = {
    ConsentPurpose.CONTACT: "Contacting the person about their support",
    ConsentPurpose.ARREARS_PREVENTION: "Preventing rent arrears",
    ConsentPurpose.TENANCY_DATA: "Sharing tenancy information",
    ConsentPurpose.REFERRAL_STATUS: "Telling the referrer how the referral is going",
    ConsentPurpose.RECONNECTION_HANDOVER: "Handing over to another area (reconnection)",
    ConsentPurpose.PERSON_MATCHING: "Checking whether partners already know the person",
    ConsentPurpose.PARTNER_NOTICES: "Notices to partner organisations",
}
CONTACT_CHANNELS = [c for c in Channel if c is not Channel.WEBHOOK]
CHANNEL_TEXT = {Channel.SMS: "Text message", Channel.WHATSAPP: "WhatsApp"}
# Checkbox groups: the form sends each ticked box, so a group is a list.
MULTIPLE = frozenset(
    {
        "preferred_channels",
        "support_needs",
        "consent_to_record",
        "consent_purposes",
        "consent_channels",
    }
)
SEARCH_DOB = forms.DateField("search_dob", "Date of birth", past=True)


def _options(codes: Any, names: dict[Any, str] | None = None) -> list[tuple[str, str]]:
    return [(str(c), (names or {}).get(c) or words(c)) for c in codes]


def form_options() -> dict[str, list[tuple[str, str]]]:
    sources = [s for s in ReferralSource if s is not ReferralSource.ARREARS_ALERT]
    return {
        "sources": _options(sources),
        "channels": _options(CONTACT_CHANNELS, dict(CHANNEL_TEXT)),
        "needs": _options(SupportNeed),
        "risks": [*_options(RiskLevel), ("", "Not assessed yet")],
        "legal_stages": _options(LegalStage, {LegalStage.NONE: "No legal action yet"}),
        "purposes": _options(ConsentPurpose, dict(PURPOSE_TEXT)),
        "yes_no": [("yes", "Yes"), ("no", "No")],
        "funds": [("yes", "Yes"), ("no", "No"), ("", "Not known")],
    }


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "grey")


def _today() -> Any:
    return datetime.now(UTC).date()


def _new_form(request: Request, viewer: Viewer, **context: Any) -> HTMLResponse:
    errors: dict[str, str] = context.pop("errors", {})
    values = context.pop("values")
    return render(
        request,
        viewer,
        "referrals/new.html",
        status=422 if errors else 200,
        values=values,
        errors=errors,
        summary=forms.summary_links(errors, values),
        options=form_options(),
        **context,
    )


# --- the organisation's referrals ------------------------------------------------------------


@router.get("/referrals", response_class=HTMLResponse)
async def referral_list(request: Request, viewer: ViewerDep) -> HTMLResponse:
    answer = await viewer.api.get("referral", "/referrals", limit=200)
    return render(
        request,
        viewer,
        "referrals/list.html",
        referrals=answer["referrals"],  # newest first, as the API lists them
        status_colour=status_colour,
    )


# --- making a referral -----------------------------------------------------------------------


@router.get("/referrals/new", response_class=HTMLResponse)
async def new_referral(request: Request, viewer: ViewerDep) -> HTMLResponse:
    values = {
        "source": ReferralSource.HOUSING_OFFICER.value,
        "referrer_name": viewer.user.name,
        "legal_stage": LegalStage.NONE.value,
        "safe_to_leave_messages": "yes",
    }
    return _new_form(request, viewer, values=values)


@router.post("/referrals/new", response_model=None)
async def submit_referral(request: Request, viewer: ViewerDep) -> Response:
    assert viewer.form is not None
    pairs = [(k, v) for k, v in viewer.form.multi_items() if isinstance(v, str)]
    values = forms.form_values(pairs, MULTIPLE)
    body, errors = forms.referral_body(values, _today())
    if body is None:
        return _new_form(request, viewer, values=values, errors=errors)
    try:
        answer = await viewer.api.post("referral", "/referrals", body, key=viewer.idempotency_key)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = forms.api_errors(exc.field_errors() or {"body": exc.message})
        return _new_form(request, viewer, values=values, errors=errors)
    return await done(request, viewer, "Referral sent", f"/referrals/{answer['id']}")


# --- finding a person ------------------------------------------------------------------------


@router.get("/referrals/search", response_class=HTMLResponse)
async def search_form(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(
        request, viewer, "referrals/search.html", values={}, errors={}, summary={}, people=None
    )


@router.post("/referrals/search", response_class=HTMLResponse)
async def search(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Results are shown in answer to the POST (not redirected to a URL holding the name)."""
    values = {k: viewer.field(k) for k in ("search_name", "search_reference")}
    values |= {f"search_dob-{p}": viewer.field(f"search_dob-{p}") for p in forms.DATE_PARTS}
    dob, problem = forms.join_date(values, SEARCH_DOB, _today())
    errors: dict[str, str] = {"search_dob": problem} if problem else {}
    query = {
        "name": values["search_name"].strip() or None,
        "date_of_birth": dob,
        "reference": values["search_reference"].strip() or None,
    }
    if not errors and not any(query.values()):
        errors["search_name"] = "Enter a name, date of birth or reference"
    people = None
    if not errors:
        try:
            answer = await viewer.api.post(
                "referral", "/people/search", query, key=viewer.idempotency_key
            )
            people = answer["people"]
        except ApiError as exc:
            if exc.status != 422:
                raise
            errors["search_name"] = "Enter a shorter name or reference"
    return render(
        request,
        viewer,
        "referrals/search.html",
        status=422 if errors else 200,
        values=values,
        errors=errors,
        summary=forms.summary_links(errors, values, [SEARCH_DOB]),
        people=people,
        status_colour=status_colour,
    )


# --- one referral ----------------------------------------------------------------------------


async def _consent(viewer: Viewer, referral_id: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await viewer.api.get(
            "referral", f"/referrals/{referral_id}/consent"
        )
    except ApiError as exc:
        if exc.status == 404:
            return None  # none recorded (an automatic referral)
        raise
    return found


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
async def referral_status(request: Request, viewer: ViewerDep, referral_id: str) -> HTMLResponse:
    referral, consent = await asyncio.gather(
        viewer.api.get("referral", f"/referrals/{referral_id}"), _consent(viewer, referral_id)
    )
    return render(
        request,
        viewer,
        "referrals/status.html",
        referral=referral,
        person=(referral.get("submission") or {}).get("person") or {},
        consent=consent,
        status_colour=status_colour,
        consent_colour=CONSENT_COLOURS.get((consent or {}).get("state", ""), "grey"),
        purpose_text=PURPOSE_TEXT,
        channel_text=lambda code: CHANNEL_TEXT.get(code) or words(code),
    )


# --- resolving a possible match --------------------------------------------------------------


async def _people_of(viewer: Viewer, person_id: str) -> list[dict[str, Any]]:
    """The other person's referrals within reach, with what was submitted about them."""
    listed = await viewer.api.get("referral", "/referrals", person_id=person_id, limit=5)
    return list(
        await asyncio.gather(
            *(viewer.api.get("referral", f"/referrals/{r['id']}") for r in listed["referrals"])
        )
    )


def person_rows(referral: dict[str, Any]) -> list[tuple[str, str]]:
    """What tells two people apart, from one referral's submission."""
    submission = referral.get("submission") or {}
    person = submission.get("person") or {}
    contact = submission.get("contact") or {}
    name = f"{person.get('given_name', '')} {person.get('family_name', '')}".strip()
    return [
        ("Name", name),
        ("Date of birth", govuk_date(person.get("date_of_birth"))),
        ("National Insurance number", person.get("ni_number") or ""),
        ("Address", ", ".join(contact.get("postal_address") or [])),
        ("Referral", referral["id"]),
    ]


def comparison(referrals: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """One row per detail, one column per referral (this one first)."""
    columns = [person_rows(r) for r in referrals]
    return [(key, [column[n][1] for column in columns]) for n, (key, _) in enumerate(columns[0])]


async def _match_page(
    request: Request, viewer: Viewer, referral_id: str, person_id: str, errors: dict[str, str]
) -> HTMLResponse:
    referral = await viewer.api.get("referral", f"/referrals/{referral_id}")
    if person_id not in referral.get("possible_matches", []):
        raise ApiError("referral", 404, "person_id: not a possible match of this referral")
    others = await _people_of(viewer, person_id)
    return render(
        request,
        viewer,
        "referrals/match.html",
        status=422 if errors else 200,
        referral=referral,
        person_id=person_id,
        others=others,
        comparison=comparison([referral, *others]),
        errors=errors,
        values={},
    )


@router.get("/referrals/{referral_id}/matches/{person_id}", response_class=HTMLResponse)
async def possible_match(
    request: Request, viewer: ViewerDep, referral_id: str, person_id: str
) -> HTMLResponse:
    return await _match_page(request, viewer, referral_id, person_id, {})


@router.post("/referrals/{referral_id}/matches/{person_id}", response_model=None)
async def resolve_match(
    request: Request, viewer: ViewerDep, referral_id: str, person_id: str
) -> Response:
    answer = viewer.field("same_person")
    if answer not in ("yes", "no"):
        errors = {"same_person": "Select yes if they are the same person"}
        return await _match_page(request, viewer, referral_id, person_id, errors)
    await viewer.api.post(
        "referral",
        f"/referrals/{referral_id}/possible-matches/{person_id}",
        {"same_person": answer == "yes"},
        key=viewer.idempotency_key,
    )
    message = "Confirmed as the same person" if answer == "yes" else "Possible match unlinked"
    return await done(request, viewer, message, f"/referrals/{referral_id}")
