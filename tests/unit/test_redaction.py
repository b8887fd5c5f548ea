"""Errors, log lines and dead-letter headers say what went wrong, never whose data it was."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import date

import pytest
import structlog
from pydantic import BaseModel, ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.consumer import PermanentError
from shared.dlq import dead_letter_headers
from shared.events.envelope import EnvelopeError
from shared.logging import SafeFormatter, drop_personal_data
from shared.redaction import REDACTED, redact_fields, safe_error, safe_reason, safe_trace

NAME = "Zoë"
FAMILY = "Ó Súilleabháin"
NI = "QQ 12 34 56 C"
BORN = "1984-03-02"
PHONE = "07700 900123"
EMAIL = "zoe.osullivan@example.org"
PERSON = {
    "given_name": NAME,
    "family_name": FAMILY,
    "ni_number": NI,
    "date_of_birth": BORN,
    "contact": {"mobile": PHONE, "email": EMAIL},
}
VALUES = (NAME, FAMILY, NI, BORN, PHONE, EMAIL, "900123", "QQ123456C")


def assert_clean(text: str) -> None:
    for value in VALUES:
        assert value not in text, f"{value!r} in {text!r}"


def bulk_error() -> BulkWriteError:
    failure = {
        "index": 3,
        "code": 11000,
        "errmsg": f"E11000 duplicate key error dup key: {{ _id: {NAME!r} }}",
        "keyValue": {"_id": NAME},
        "op": {"_id": "ref-1", "person": PERSON},
    }
    return BulkWriteError({"writeErrors": [failure], "writeConcernErrors": [], "nInserted": 2})


class Person(BaseModel):
    given_name: str
    date_of_birth: date


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Person.model_validate({"given_name": NAME, "date_of_birth": "1984-13-45", "x": EMAIL})
    return caught.value


def test_a_bulk_write_error_is_its_codes_and_indexes() -> None:
    error = bulk_error()
    assert NAME in str(error)  # what PyMongo itself would have logged
    text = safe_error(error)
    assert text.startswith("BulkWriteError: 1 write error(s), codes 11000 at indexes 3")
    assert_clean(text)


def test_a_duplicate_key_error_is_its_code() -> None:
    error = DuplicateKeyError(
        f"E11000 dup key: {{ email: {EMAIL!r} }}", 11000, {"codeName": "DuplicateKey"}
    )
    assert safe_error(error) == "DuplicateKeyError: code 11000 (DuplicateKey)"


def test_a_validation_error_is_its_locations_and_types() -> None:
    error = validation_error()
    assert "input_value" in str(error)
    text = safe_error(error)
    assert "date_of_birth (date_from_datetime_parsing)" in text
    assert "1984-13-45" not in text
    assert_clean(text)


def test_hearths_own_errors_keep_their_field_and_reason() -> None:
    assert safe_reason(PermanentError("referral_id: already used")) == "referral_id: already used"
    reason = safe_reason(EnvelopeError("data.person.date_of_birth: Input should be a valid date"))
    assert reason == "data.person.date_of_birth: Input should be a valid date"
    assert safe_reason(RuntimeError()) == "RuntimeError"


def test_a_library_message_loses_its_quoted_values_but_keeps_field_names() -> None:
    with pytest.raises(ValueError) as caught:
        date.fromisoformat(f"{NAME}-13-45")
    assert_clean(safe_error(caught.value))
    assert safe_error(KeyError("nModified")) == "KeyError: 'nModified'"
    assert safe_error(KeyError(NAME)) == f"KeyError: '{REDACTED}'"
    text = safe_error(RuntimeError(f"call {PHONE} or {EMAIL}, born {BORN}, NI {NI}"))
    assert_clean(text)


def test_a_trace_names_every_link_of_the_chain_without_values() -> None:
    try:
        try:
            raise validation_error()
        except ValidationError as exc:
            raise EnvelopeError("data.date_of_birth: Input should be a valid date") from exc
    except EnvelopeError as exc:
        trace = safe_trace(exc)
    assert "ValidationError" in trace and "EnvelopeError: data.date_of_birth" in trace
    assert "test_redaction.py" in trace  # where it happened is kept
    assert "1984-13-45" not in trace
    assert_clean(trace)


def test_personal_keys_are_masked_at_any_depth() -> None:
    masked = redact_fields({"case_id": "c-1", "referral": {"person": PERSON}, "rows": [PERSON]})
    assert masked["case_id"] == "c-1"
    assert masked["referral"]["person"] == REDACTED
    assert masked["rows"][0]["given_name"] == REDACTED
    assert masked["rows"][0]["contact"] == REDACTED
    assert_clean(json.dumps(masked))


def test_the_log_processor_masks_fields_and_renders_exceptions_safely() -> None:
    try:
        raise bulk_error()
    except BulkWriteError:
        event = drop_personal_data(
            None,
            "error",
            {
                "event": "intake.failed",
                "email": EMAIL,
                "error": f"failed for {EMAIL}",
                "exc_info": True,
            },
        )
    rendered = structlog.processors.JSONRenderer()(None, "error", event)
    assert "BulkWriteError: 1 write error(s)" in rendered
    assert "intake.failed" in rendered and "exc_info" not in event
    assert_clean(rendered)


def test_library_log_records_render_exceptions_safely() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise validation_error()
        except ValidationError:
            logger.exception("Exception in ASGI application, caller %s", EMAIL)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "Exception in ASGI application" in written and "ValidationError" in written
    assert_clean(written)


@dataclass
class Record:
    value: bytes = json.dumps({"person": PERSON}).encode()
    key: bytes = b"ref-1"
    topic: str = "referral.intake"
    partition: int = 0
    offset: int = 7
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: [("ce_id", b"evt-1")])


def test_dead_letter_headers_name_the_problem_without_the_values() -> None:
    try:
        raise bulk_error()
    except BulkWriteError as exc:
        headers = dead_letter_headers(Record(), "hearth-referral", exc, attempts=3)
    assert headers["hearth_dlq_error_type"] == "BulkWriteError"
    assert headers["hearth_dlq_reason"].startswith("1 write error(s), codes 11000")
    assert headers["ce_id"] == "evt-1"  # the original headers travel on
    assert_clean(json.dumps(headers))
