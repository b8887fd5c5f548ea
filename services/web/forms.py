"""The referral form as the referral API wants it. Pure: no I/O.

- GOV.UK date inputs (three boxes) joined into one ISO date, with the Design System's own
  error wording ("Date of birth must be a real date", "... must include a month").
- The flat form (one name per box) turned into `POST /v1/referrals`' nested body, with
  "Enter the person's given name" style errors for what is missing before the API is asked.
- The API's 422 field paths (`person.date_of_birth`, `consent.share_with.0`) mapped back to
  the form's field names, so every error is shown beside the box that caused it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

FormValues = Mapping[str, str | list[str]]
ORGANISATION_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DATE_PARTS = ("day", "month", "year")
GENERAL = "referral_form"  # where an error that names no field of ours is linked to


@dataclass(frozen=True)
class DateField:
    name: str  # the form's name; the boxes are name-day, name-month, name-year
    label: str  # "Date of birth", as the sentence starts
    missing: str | None = None  # the error when it is required and left empty
    past: bool = False  # must be before today
    future: bool = False  # must be after today


DATE_OF_BIRTH = DateField(
    "date_of_birth", "Date of birth", "Enter the person's date of birth", past=True
)
FACING_HOMELESSNESS = DateField("date_facing_homelessness", "The date they face homelessness")
CONSENT_EXPIRY = DateField("consent_expires_on", "The date consent ends", future=True)
DATES = (DATE_OF_BIRTH, FACING_HOMELESSNESS, CONSENT_EXPIRY)

# Form field -> what it is called in an error message.
LABELS: dict[str, str] = {
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "ni_number": "National Insurance number",
    "address_line_1": "Address",
    "address_line_2": "Address line 2",
    "address_town": "Town or city",
    "address_postcode": "Postcode",
    "phone": "Phone number",
    "mobile": "Mobile number",
    "email": "Email address",
    "preferred_channels": "Ways to contact them",
    "safe_to_leave_messages": "Whether it is safe to leave messages",
    "support_needs": "Support needs",
    "risk_level": "Risk level",
    "legal_stage": "Legal stage",
    "date_facing_homelessness": "The date they face homelessness",
    "urgency_notes": "Risk and urgency notes",
    "tenancy_landlord": "Landlord",
    "tenancy_reference": "Tenancy reference",
    "source": "Who is making the referral",
    "referrer_name": "Your name",
    "referrer_email": "Your email address",
    "referrer_reference": "Your reference",
    "referring_area": "Area referred in",
    "recourse_to_public_funds": "Recourse to public funds",
    "notes": "Anything else",
    "consent_to_record": "Consent to record",
    "consent_share_with": "Organisations",
    "consent_purposes": "What their information may be used for",
    "consent_channels": "How they agree to be contacted",
    "consent_expires_on": "The date consent ends",
}

# API field path (its first parts) -> form field. Longest prefixes first when matching.
API_FIELDS: dict[str, str] = {
    "person.given_name": "given_name",
    "person.family_name": "family_name",
    "person.date_of_birth": "date_of_birth",
    "person.ni_number": "ni_number",
    "person": "given_name",
    "contact.phone": "phone",
    "contact.mobile": "mobile",
    "contact.email": "email",
    "contact.postal_address": "address_line_1",
    "contact.preferred_channels": "preferred_channels",
    "contact.safe_to_leave_messages": "safe_to_leave_messages",
    "consent.to_record": "consent_to_record",
    "consent.share_with": "consent_share_with",
    "consent.purposes": "consent_purposes",
    "consent.channels_allowed": "consent_channels",
    "consent.expires_on": "consent_expires_on",
    "consent": "consent_to_record",
    "urgency.date_facing_homelessness": "date_facing_homelessness",
    "urgency.risk_level": "risk_level",
    "urgency.legal_stage": "legal_stage",
    "urgency.notes": "urgency_notes",
    "tenancy.landlord_organisation": "tenancy_landlord",
    "tenancy.tenancy_reference": "tenancy_reference",
    "tenancy": "tenancy_landlord",
    "referrer.name": "referrer_name",
    "referrer.email": "referrer_email",
    "referrer.reference": "referrer_reference",
    "referrer": "source",
    "source": "source",
    "support_needs": "support_needs",
    "referring_area": "referring_area",
    "recourse_to_public_funds": "recourse_to_public_funds",
    "notes": "notes",
}
EMAIL_FIELDS = frozenset({"email", "referrer_email"})
SHARING_PURPOSES_EXCLUDE = frozenset({"contact"})  # contact alone is not sharing


def text(values: FormValues, name: str) -> str:
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def many(values: FormValues, name: str) -> list[str]:
    value = values.get(name, [])
    chosen = [value] if isinstance(value, str) else list(value)
    return [v for v in chosen if v]


def _words_of(missing: Sequence[str]) -> str:
    return " and ".join(missing) if len(missing) < 3 else "a day, month and year"


def join_date(values: FormValues, field: DateField, today: date) -> tuple[str | None, str | None]:
    """(ISO date or None, error or None) from the three boxes of a GOV.UK date input."""
    parts = {part: text(values, f"{field.name}-{part}") for part in DATE_PARTS}
    given = [p for p in DATE_PARTS if parts[p]]
    if not given:
        return None, field.missing
    missing = [p for p in DATE_PARTS if not parts[p]]
    if missing:
        return None, f"{field.label} must include a {_words_of(missing)}"
    if not all(parts[p].isdigit() for p in DATE_PARTS) or len(parts["year"]) != 4:
        return None, f"{field.label} must be a real date"
    try:
        day = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, f"{field.label} must be a real date"
    if field.past and day >= today:
        return None, f"{field.label} must be in the past"
    if field.future and day <= today:
        return None, f"{field.label} must be in the future"
    return day.isoformat(), None


def _email_ok(value: str) -> bool:
    return bool(re.fullmatch(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+", value))


def organisation_codes(value: str) -> list[str]:
    return [c.strip().lower() for c in re.split(r"[,\s]+", value) if c.strip()]


def referral_body(values: FormValues, today: date) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The body for POST /v1/referrals, or None with the errors by form field (in the order
    the fields appear on the page, so the error summary reads top to bottom)."""
    errors: dict[str, str] = {}
    dates: dict[str, str | None] = {}
    for field in DATES:
        dates[field.name], problem = join_date(values, field, today)
        if problem:
            errors[field.name] = problem

    def need(name: str, message: str) -> str:
        value = text(values, name)
        if not value:
            errors[name] = message
        return value

    given = need("given_name", "Enter the person's given name")
    family = need("family_name", "Enter the person's family name")
    for name in ("email", "referrer_email"):
        if text(values, name) and not _email_ok(text(values, name)):
            errors[name] = "Enter an email address in the correct format, like name@example.com"
    landlord, tenancy_ref = text(values, "tenancy_landlord"), text(values, "tenancy_reference")
    if tenancy_ref and not landlord:
        errors["tenancy_landlord"] = "Enter the landlord of the tenancy"
    if landlord and not tenancy_ref:
        errors["tenancy_reference"] = "Enter the tenancy reference"
    source = need("source", "Select who is making the referral")
    share_with = organisation_codes(text(values, "consent_share_with"))
    if any(not ORGANISATION_CODE.match(code) for code in share_with):
        errors["consent_share_with"] = (
            "Enter organisation codes separated by commas, like derby-homes"
        )
    if "yes" not in many(values, "consent_to_record"):
        errors["consent_to_record"] = "Confirm the person agrees to Hearth recording their details"
    if errors:
        return None, _in_page_order(errors)

    purposes = many(values, "consent_purposes")
    address = [
        text(values, n)
        for n in ("address_line_1", "address_line_2", "address_town", "address_postcode")
    ]
    contact = {
        "phone": text(values, "phone") or None,
        "mobile": text(values, "mobile") or None,
        "email": text(values, "email") or None,
        "postal_address": [line for line in address if line],
        "preferred_channels": many(values, "preferred_channels"),
        "safe_to_leave_messages": text(values, "safe_to_leave_messages") != "no",
    }
    funds = {"yes": True, "no": False}.get(text(values, "recourse_to_public_funds"))
    body: dict[str, Any] = {
        "source": source,
        "referrer": _without_empty(
            {
                "source": source,
                "name": text(values, "referrer_name"),
                "email": text(values, "referrer_email"),
                "reference": text(values, "referrer_reference"),
            }
        ),
        "person": _without_empty(
            {
                "given_name": given,
                "family_name": family,
                "date_of_birth": dates["date_of_birth"],
                "ni_number": text(values, "ni_number"),
            }
        ),
        "contact": contact,
        "consent": {
            "to_record": True,
            "to_share": bool(share_with or set(purposes) - SHARING_PURPOSES_EXCLUDE),
            "share_with": share_with,
            "channels_allowed": many(values, "consent_channels"),
            "purposes": purposes,
            "expires_on": dates["consent_expires_on"],
        },
        "support_needs": many(values, "support_needs"),
        "urgency": _without_empty(
            {
                "date_facing_homelessness": dates["date_facing_homelessness"],
                "legal_stage": text(values, "legal_stage") or "none",
                "risk_level": text(values, "risk_level"),
                "notes": text(values, "urgency_notes"),
            }
        ),
        "referring_area": text(values, "referring_area") or None,
        "recourse_to_public_funds": funds,
        "notes": text(values, "notes") or None,
    }
    if landlord:
        body["tenancy"] = {"landlord_organisation": landlord, "tenancy_reference": tenancy_ref}
    return body, {}


def _without_empty(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, "")}


def _in_page_order(errors: dict[str, str]) -> dict[str, str]:
    order = {name: n for n, name in enumerate(LABELS)}
    return dict(sorted(errors.items(), key=lambda kv: order.get(kv[0], len(order))))


def form_field(api_field: str) -> str:
    """The form field an API error path belongs to (the longest known prefix)."""
    parts = api_field.split(".")
    for end in range(len(parts), 0, -1):
        found = API_FIELDS.get(".".join(parts[:end]))
        if found:
            return found
    return GENERAL


_AT_MOST = re.compile(r"at most (\d+) characters")
_DATE_BOUND = re.compile(r"must not be (before|after) (\d{4}-\d{2}-\d{2})")


def _govuk_day(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def error_message(field: str, api_message: str) -> str:
    """An API message in the GOV.UK way: what is wrong with which box, in a sentence."""
    message = api_message.removeprefix("Value error, ").strip()
    label = LABELS.get(field, "This referral")
    if field in EMAIL_FIELDS:
        return "Enter an email address in the correct format, like name@example.com"
    if match := _AT_MOST.search(message):
        return f"{label} must be {match.group(1)} characters or fewer"
    if match := _DATE_BOUND.search(message):
        side = "on or after" if match.group(1) == "before" else "on or before"
        return f"{label} must be {side} {_govuk_day(match.group(2))}"
    if "after today" in message:
        return f"{label} must be in the future"
    message = message[:1].upper() + message[1:]
    return message if field == GENERAL else f"{label}: {message}"


def api_errors(field_errors: Mapping[str, str]) -> dict[str, str]:
    """The API's 422 `{path: message}` as `{form field: GOV.UK message}` (first one wins)."""
    errors: dict[str, str] = {}
    for path, message in field_errors.items():
        field = form_field(path)
        errors.setdefault(field, error_message(field, message))
    return _in_page_order(errors)


def summary_links(
    errors: Mapping[str, str], values: FormValues, dates: Sequence[DateField] = DATES
) -> dict[str, str]:
    """The error summary's entries keyed by the box each link should focus: a date's first
    empty (or first) box, since the date's own id names a group that cannot take focus."""
    dated = {field.name for field in dates}
    links: dict[str, str] = {}
    for name, message in errors.items():
        if name in dated:
            empty = [p for p in DATE_PARTS if not text(values, f"{name}-{p}")]
            name = f"{name}-{(empty or list(DATE_PARTS))[0]}"
        links[name] = message
    return links


def form_values(pairs: Sequence[tuple[str, str]], multiple: frozenset[str]) -> dict[str, Any]:
    """A submitted form as the template's `values`: a list for checkbox groups, else text;
    everything typed comes back, so nothing is lost when the page shows errors."""
    values: dict[str, Any] = {name: [] for name in multiple}
    for name, value in pairs:
        if name in multiple:
            values[name].append(value)
        else:
            values[name] = value
    return values
