"""Retry and park, templates, provider auth and webhook signatures: pure pieces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.channels import OutboundMessage
from services.notifications.channels.notify import letter_request, notify_token, split_api_key
from services.notifications.channels.webhook import webhook_body
from services.notifications.handlers import delivery_id
from services.notifications.retry import RetryPolicy, after_failure
from services.notifications.templates import (
    DEFAULT_TEMPLATES,
    EmptyPlaceholder,
    placeholders,
    render,
)
from services.notifications.webhook_signing import new_secret, signed_headers, verify

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"


@pytest.mark.parametrize(
    ("attempt", "permanent", "park", "delay"),
    [
        (1, False, False, 30),
        (2, False, False, 60),
        (3, False, False, 120),
        (4, False, True, None),  # budget spent
        (1, True, True, None),  # the provider refused for good
    ],
)
def test_retry_then_park(attempt, permanent, park, delay) -> None:
    decision = after_failure(RetryPolicy(4, 30, 3600), attempt, permanent, NOW)
    assert decision.park is park
    expected = None if delay is None else NOW + timedelta(seconds=delay)
    assert decision.retry_at == expected


def test_backoff_is_capped() -> None:
    assert RetryPolicy(20, 30, 600).delay(10) == timedelta(seconds=600)


def test_one_delivery_key_per_fact_recipient_channel() -> None:
    assert delivery_id("e1", "client", "sms") == delivery_id("e1", "client", "sms")
    keys = {
        delivery_id("e1", "client", "sms"),
        delivery_id("e1", "client", "email"),
        delivery_id("e1", "caseworker", "email"),
        delivery_id("e2", "client", "sms"),
    }
    assert len(keys) == 4


def test_render_fills_placeholders_and_refuses_unknown_ones() -> None:
    assert render("Hi ((name))!", {"name": "Sam"}) == "Hi Sam!"
    with pytest.raises(EmptyPlaceholder):  # never "Hi Sam, !" (issue 20)
        render("Hi ((name)), ((missing))!", {"name": "Sam"})
    assert placeholders("((a)) ((b)) ((a))") == ["a", "b"]
    letter = DEFAULT_TEMPLATES["closure_letter"]
    assert letter.letter and "crisis_support" in placeholders(letter.body)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_notify_token_is_a_jwt_signed_with_the_key_secret() -> None:
    key = f"hearth_test-{SERVICE_ID}-{SECRET}"
    assert split_api_key(key) == (SERVICE_ID, SECRET)
    token = notify_token(key, issued_at=1_700_000_000)
    header, claims, signature = token.split(".")
    assert json.loads(_b64decode(header)) == {"typ": "JWT", "alg": "HS256"}
    assert json.loads(_b64decode(claims)) == {"iss": SERVICE_ID, "iat": 1_700_000_000}
    expected = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected


def message(**overrides) -> OutboundMessage:
    values = dict(
        delivery_id="d1",
        channel="letter",
        address="Sam\n1 High Street\nDE1 1AA",
        subject="Your support has ended",
        body="Dear Sam",
        template="closure_letter",
        provider_template_id="hearth-closure-letter",
        personalisation={"case_id": "c1"},
        pdf=b"%PDF-1.3 test",
        metadata={"case_id": "c1"},
    )
    values.update(overrides)
    return OutboundMessage(**values)


def test_letter_request_is_notify_shaped() -> None:
    body = letter_request(message())
    assert body["template_id"] == "hearth-closure-letter"
    assert body["reference"] == "d1"
    assert body["personalisation"]["address_line_1"] == "Sam"
    assert body["personalisation"]["address_line_3"] == "DE1 1AA"
    assert base64.b64decode(body["content"]).startswith(b"%PDF")


def test_webhook_signature_verifies_and_detects_tampering() -> None:
    body = webhook_body(message(channel="webhook", address="https://x", pdf=None))
    secret, at = new_secret(), 1767603600
    headers = signed_headers([secret], "msg_d1", at, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert verify(secret, headers, body, at)
    assert not verify(secret, headers, body + b" ", at)
    assert not verify(new_secret(), headers, body, at)


async def test_a_busy_database_is_an_outage_not_a_dead_letter() -> None:
    from pymongo.errors import AutoReconnect, OperationFailure

    from services.notifications.handlers import busy_is_transient

    async def busy(envelope, data) -> None:
        raise OperationFailure("insert: database is locked (5) (SQLITE_BUSY)", 1)

    async def broken(envelope, data) -> None:
        raise OperationFailure("insert: something else", 2)

    with pytest.raises(AutoReconnect):
        await busy_is_transient(busy)(None, None)
    with pytest.raises(OperationFailure) as error:
        await busy_is_transient(broken)(None, None)
    assert not isinstance(error.value, AutoReconnect)
