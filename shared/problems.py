"""The one shape of every error a Hearth API answers: RFC 9457 problem details.

    HTTP/1.1 422 Unprocessable Content
    Content-Type: application/problem+json

    {"type": "https://hearth.example/problems/validation",
     "title": "A field is not valid",
     "status": 422,
     "detail": "residence.1.end: is before start",
     "instance": "urn:hearth:request:req-5f2c...",
     "errors": [{"field": "residence.1.end", "message": "is before start"}]}

`type` is a stable URI per kind of problem (`TYPE_BASE` + a slug from `KINDS`), the same for
every occurrence, so a client can branch on it; `title` is that kind's fixed summary; `detail`
says what happened this time, as a sentence naming the field ("field: message", the house
convention); `errors` lists each field at fault (empty when none is); `instance` names this
occurrence by its request id, the `X-Request-ID` header and the audit entry's `request_id`.

A route or handler raises `HTTPException(status, "field: message")` or answers
`field_problem(...)`; `shared/http.py` turns every refusal (401/403 of `shared/auth.py`, the
413 of the body cap, 422 of validation, idempotency answers, `ConcurrentUpdate`) into this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://hearth.example/problems/"
INSTANCE_PREFIX = "urn:hearth:request:"


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int  # the status this kind is answered with
    title: str

    @property
    def type(self) -> str:
        return f"{TYPE_BASE}{self.slug}"


_KINDS = (
    Kind("bad-request", 400, "The request cannot be read"),
    Kind("unauthenticated", 401, "No valid access token"),
    Kind("forbidden", 403, "Your roles do not allow this"),
    Kind("not-found", 404, "No such record in your organisation"),
    Kind("method-not-allowed", 405, "This method is not allowed here"),
    Kind("conflict", 409, "The record's state does not allow this"),
    Kind("concurrent-update", 409, "The record changed meanwhile; try again"),
    Kind("idempotency-key-reused", 409, "Idempotency-Key already used for another request"),
    Kind("request-in-progress", 409, "A request with this Idempotency-Key is still running"),
    Kind("gone", 410, "No longer available"),
    Kind("body-too-large", 413, "The body is over this route's limit"),
    Kind("unsupported-media-type", 415, "This content type is not accepted here"),
    Kind("validation", 422, "A field is not valid"),
    Kind("too-many-requests", 429, "Too many requests; see Retry-After"),
    Kind("internal", 500, "The service failed"),
    Kind("unavailable", 503, "The service cannot answer just now; try again shortly"),
)
KINDS: dict[str, Kind] = {kind.slug: kind for kind in _KINDS}
# The kind a bare status is answered with, where nothing more specific is known.
BY_STATUS: dict[int, Kind] = {}
for _kind in _KINDS:
    BY_STATUS.setdefault(_kind.status, _kind)


def kind_for(status: int, slug: str | None = None) -> Kind:
    """The named kind, else the status's own; a status with no kind of its own is answered as
    RFC 9457's `about:blank` (its title is the status phrase)."""
    if slug is not None:
        return KINDS[slug]
    found = BY_STATUS.get(status)
    if found is not None:
        return found
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Kind("", status, phrase)


# --- the schema (what the OpenAPI documents declare for every error status) ----------------


class ProblemFieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="what is at fault: a dotted path in the body (`person.date_of_birth`, "
        "`residence.1.end`), a query or path parameter (`query.limit`, `case_id`), a header "
        "(`Authorization`, `Idempotency-Key`), or `body` for the body as a whole"
    )
    message: str = Field(description="what is wrong with it, in words")


class Problem(BaseModel):
    """RFC 9457 problem details: every 4xx and 5xx of every Hearth API (the kinds of problem,
    by `type`, are listed in docs/INTEGRATION.md)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description=f"the kind of problem, a stable URI ({TYPE_BASE}<kind>); branch on this"
    )
    title: str = Field(description="the kind's short summary; the same for every occurrence")
    status: int = Field(ge=400, le=599, description="the HTTP status, repeated")
    detail: str = Field(description="what happened this time, naming the field: 'field: why'")
    instance: str | None = Field(
        None, description=f"this occurrence: {INSTANCE_PREFIX}<the X-Request-ID of the request>"
    )
    errors: list[ProblemFieldError] = Field(description="each field at fault; empty when none is")


# --- reading the house convention -----------------------------------------------------------

# "field: message": a dotted path, a header name or a list index, then ": ".
_FIELD_PREFIX = re.compile(
    r"^(?P<field>[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*): (?P<rest>.+)$", re.S
)
# What pydantic puts before a validator's own words.
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")


def split_field(text: str) -> tuple[str | None, str]:
    """("field", "message") of "field: message"; (None, text) when it names no field."""
    match = _FIELD_PREFIX.match(text.strip())
    if match is None:
        return None, text.strip()
    return match["field"], match["rest"].strip()


def errors_of(detail: str) -> list[ProblemFieldError]:
    """The field a "field: message" detail names, as its one error; none for a sentence that
    names no field ("your roles (referrer) do not allow ...")."""
    field, message = split_field(detail)
    return [] if field is None else [ProblemFieldError(field=field, message=message)]


def clean_message(message: str) -> str:
    """A validator's words without pydantic's wording around them."""
    for prefix in _VALIDATOR_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :].strip()
    return message.strip()


def validation_error(location: Sequence[str], message: str) -> ProblemFieldError:
    """One pydantic error as a field error: a validator of a whole object that names one of its
    fields ("Value error, end: is before start" at residence.1) is that field's error
    (`residence.1.end`, "is before start")."""
    text = clean_message(message)
    field = ".".join(location)
    named, rest = split_field(text)
    if named is not None and (named[0].isalpha() or named[0] == "_"):
        if not location or location[-1] != named.split(".")[0]:
            field = f"{field}.{named}" if field and field != "body" else named
        text = rest
    return ProblemFieldError(field=field or "body", message=text)


def summary(errors: Iterable[ProblemFieldError]) -> str:
    return "; ".join(f"{e.field}: {e.message}" for e in errors)


# --- answering -----------------------------------------------------------------------------


def current_request_id() -> str | None:
    """The request id `shared/http.py` bound to this request's log context, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def problem_body(
    status: int,
    detail: str,
    errors: Iterable[ProblemFieldError | Mapping[str, str]] | None = None,
    kind: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The body of a problem. `errors` default to the fields `detail` names."""
    found = kind_for(status, kind)
    listed = (
        errors_of(detail)
        if errors is None
        else [ProblemFieldError.model_validate(e) for e in errors]
    )
    request_id = request_id or current_request_id()
    body = Problem(
        type=found.type or "about:blank",
        title=found.title,
        status=status,
        detail=detail,
        instance=f"{INSTANCE_PREFIX}{request_id}" if request_id else None,
        errors=listed,
    )
    return body.model_dump(mode="json", exclude_none=True)


def problem(
    status: int,
    detail: str,
    errors: Iterable[ProblemFieldError | Mapping[str, str]] | None = None,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """A problem answer (`application/problem+json`)."""
    return JSONResponse(
        problem_body(status, detail, errors, kind, request_id),
        status_code=status,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_JSON,
    )


def field_problem(
    field: str,
    message: str,
    status: int = 422,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem about one field: detail "field: message", and the field in `errors`."""
    error = ProblemFieldError(field=field, message=message)
    return problem(status, f"{field}: {message}", [error], kind=kind, headers=headers)


def detail_text(detail: Any) -> str:
    """An HTTPException's detail as the sentence of a problem (a structured detail, which no
    Hearth route raises, is shown as its text rather than lost)."""
    if isinstance(detail, str):
        return detail
    if detail is None:
        return ""
    return str(detail)
