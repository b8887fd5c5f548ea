"""What may be written about an error or a record where personal data must not go: logs,
dead-letter headers, metric labels.

Exceptions of libraries echo the values they were given: PyMongo's write errors carry the
whole document (`op`, `keyValue`), pydantic's carry `input_value=...`, Python's own quote the
bad input ("Invalid isoformat string: '1984-13-45'"). `safe_error` describes an exception
without them; `safe_trace` is a traceback whose exception lines are `safe_error`s;
`redact_fields` masks the values of known personal keys in any mapping, recursively.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pymongo.errors import BulkWriteError, OperationFailure

REDACTED = "[redacted]"
MAX_TEXT = 500  # a description, never a dump
MAX_ITEMS = 5  # validation errors or write errors named in one description

# Keys whose values are personal wherever they appear (log fields, nested documents).
PERSONAL_KEYS = frozenset(
    {
        "given_name",
        "family_name",
        "name",
        "full_name",
        "display_name",
        "person_name",
        "preferred_name",
        "date_of_birth",
        "dob",
        "ni_number",
        "national_insurance_number",
        "email",
        "phone",
        "mobile",
        "telephone",
        "address",
        "postal_address",
        "postcode",
        "notes",
        "note",
        "free_text",
        "household",
        "person",
        "contact",
        "worker_email",
        "lead_worker_email",
        "to",  # a delivery's recipient (address or number)
        "recipient",
    }
)

# Messages of these types are written by Hearth as "field: reason", naming and never quoting
# the value (`PermanentError`, `EnvelopeError`, ...); they are still scrubbed of patterns.
FIELD_MESSAGE_TYPES = frozenset(
    {
        "PermanentError",
        "EnvelopeError",
        "RuleViolation",
        "ConcurrentUpdate",
        "CaseworkError",
        "InfrastructureUnavailable",
        "CommitFailed",
    }
)

# Shapes of personal values that may sit inside any text (defence in depth, not the design).
_PATTERNS = (
    re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.MULTILINE),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # email
    # NI number: any two letters, as test data uses the never-issued "QQ" prefix
    re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE),
    re.compile(r"(?<![\w-])(?:\+44\s?|0)(?:\d[\s-]?){9,10}(?![\w-])"),  # UK phone
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b(?!T\d)"),  # a bare date (of birth), not a timestamp
    re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
)
_QUOTED = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'|\"([^\"\\]*(?:\\.[^\"\\]*)*)\"")
# A quoted token kept in a library's message: a field or option name (`'nModified'`,
# `'case_id'`), lower-case first, so a person's name (capitalised) or a value is masked.
_FIELD_NAME = re.compile(r"^[a-z_$][A-Za-z0-9_.$]{0,60}$")


def scrub_text(text: str) -> str:
    """Mask what looks like a personal value (email, NI number, phone, date) in free text."""
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def _mask_quoted(text: str) -> str:
    def keep_names(match: re.Match[str]) -> str:
        token = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if _FIELD_NAME.match(token) else f"'{REDACTED}'"

    return _QUOTED.sub(keep_names, text)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _validation_errors(exc: BaseException) -> list[dict[str, Any]] | None:
    """pydantic's and FastAPI's validation errors (request, response) all have errors()."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    try:
        found = errors()
    except Exception:
        return None
    return found if isinstance(found, list) else None


def describe_validation(errors: list[dict[str, Any]]) -> str:
    """`person.date_of_birth (date_from_datetime_parsing); ...`: where and what kind, no value."""
    parts = []
    for error in errors[:MAX_ITEMS]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where} ({error.get('type', 'invalid')})")
    more = f"; and {len(errors) - MAX_ITEMS} more" if len(errors) > MAX_ITEMS else ""
    return "; ".join(parts) + more


def _describe_bulk(exc: BulkWriteError) -> str:
    details = exc.details or {}
    failures = details.get("writeErrors") or []
    codes = sorted({str(f.get("code")) for f in failures})
    indexes = [str(f.get("index")) for f in failures[:MAX_ITEMS]]
    more = ", …" if len(failures) > MAX_ITEMS else ""
    concern = len(details.get("writeConcernErrors") or [])
    return (
        f"{len(failures)} write error(s), codes {', '.join(codes) or 'none'} "
        f"at indexes {', '.join(indexes)}{more}; {concern} write concern error(s)"
    )


def _describe_operation(exc: OperationFailure) -> str:
    details = exc.details or {}
    name = details.get("codeName")
    return f"code {exc.code}" + (f" ({name})" if isinstance(name, str) else "")


def describe_error(exc: BaseException) -> str:
    """What went wrong, without the values it was given ("" when the exception says nothing)."""
    if isinstance(exc, BulkWriteError):
        return _describe_bulk(exc)
    if isinstance(exc, OperationFailure):  # DuplicateKeyError, WriteError: details hold the doc
        return _describe_operation(exc)
    if isinstance(exc, ValidationError):
        return f"{exc.title}: {describe_validation(exc.errors())}"
    errors = _validation_errors(exc)
    if errors is not None and all(isinstance(e, dict) for e in errors):
        return describe_validation(errors)
    if isinstance(exc, BaseExceptionGroup):
        inner = "; ".join(safe_error(e) for e in exc.exceptions[:MAX_ITEMS])
        return f"{len(exc.exceptions)} sub-exception(s): {inner}"
    if isinstance(exc, KeyError) and exc.args:
        key = str(exc.args[0])
        return repr(key) if _FIELD_NAME.match(key) else f"'{REDACTED}'"
    text = str(exc)
    if type(exc).__name__ not in FIELD_MESSAGE_TYPES:
        text = _mask_quoted(text)
    return _short(scrub_text(text))


def safe_error(exc: BaseException) -> str:
    """`Type: description`, for a log line: the exception without the values it was given."""
    described = describe_error(exc)
    return f"{type(exc).__name__}: {described}" if described else type(exc).__name__


def safe_reason(exc: BaseException) -> str:
    """The description alone ("field: reason" for Hearth's own errors), else the type name."""
    return describe_error(exc) or type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost last (as Python prints them)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return list(reversed(chain))


def safe_trace(exc: BaseException, limit: int = 4000) -> str:
    """A traceback (files, lines, functions) whose exception lines are `safe_error`s; the tail is
    kept, where the error was raised."""
    blocks = []
    for link in _chain(exc):
        # Where, not what: file, line and function; no source lines (a literal could be data).
        frames = "".join(
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
            for frame in traceback.extract_tb(link.__traceback__, limit=None)
        )
        head = "Traceback (most recent call last):\n" if frames else ""
        blocks.append(f"{head}{frames}{safe_error(link)}\n")
    text = "\nThe above exception led to the following:\n\n".join(blocks)
    return text[-limit:]


def redact_fields(value: Any, key: str | None = None) -> Any:
    """`value` with every personal key's value masked, at any depth; exceptions described."""
    if key is not None and key.lower() in PERSONAL_KEYS and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact_fields(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_fields(v) for v in value]
    if isinstance(value, BaseException):
        return safe_error(value)
    return value
