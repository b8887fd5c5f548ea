"""Standard Webhooks signatures: what a partner's receiver checks. Pure, no stack."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.store import WebhookEndpointRecord, WebhookSecret
from services.notifications.webhook_signing import (
    SIGNATURE_HEADER,
    new_secret,
    secret_key,
    sign,
    signed_headers,
    verify,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BODY = b'{"case_id":"case-c","template":"agency_closure_notice"}'


def headers(secrets: list[str], at: datetime = NOW, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(secrets, "msg_1", int(at.timestamp()), body)


def test_a_tampered_body_does_not_verify() -> None:
    secret = new_secret()
    assert not verify(secret, headers([secret]), BODY.replace(b"case-c", b"case-x"), NOW)


def test_an_old_delivery_replayed_does_not_verify() -> None:
    secret = new_secret()
    signed = headers([secret], at=NOW - timedelta(minutes=6))
    assert not verify(secret, signed, BODY, NOW)
    # Nor one stamped in the future beyond the window.
    assert not verify(secret, headers([secret], at=NOW + timedelta(minutes=6)), BODY, NOW)
    # Inside the window it does.
    assert verify(secret, headers([secret], at=NOW - timedelta(minutes=4)), BODY, NOW)


def test_another_secret_does_not_verify() -> None:
    ours, theirs = new_secret(), new_secret()
    assert ours != theirs
    assert not verify(theirs, headers([ours]), BODY, NOW)


def test_a_changed_id_or_timestamp_does_not_verify() -> None:
    secret = new_secret()
    signed = headers([secret])
    assert not verify(secret, {**signed, "webhook-id": "msg_2"}, BODY, NOW)
    later = str(int(NOW.timestamp()) + 1)
    assert not verify(secret, {**signed, "webhook-timestamp": later}, BODY, NOW)


@pytest.mark.parametrize(
    "bad",
    [{}, {"webhook-id": "m"}, {"webhook-signature": "v1,xx"}],
)
def test_missing_headers_do_not_verify(bad: dict[str, str]) -> None:
    assert not verify(new_secret(), bad, BODY, NOW)


def test_the_signature_is_the_standard_one() -> None:
    # Computed independently of `sign`: HMAC-SHA256 over "{id}.{timestamp}.{body}".
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    stamp = int(NOW.timestamp())
    expected = hmac.new(key, f"msg_1.{stamp}.".encode() + BODY, hashlib.sha256).digest()
    assert sign(secret, "msg_1", stamp, BODY) == "v1," + base64.b64encode(expected).decode()
    signed = headers([secret])
    assert signed == {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1," + base64.b64encode(expected).decode(),
    }
    # Header names are case-insensitive for the receiver.
    assert verify(secret, {k.upper(): v for k, v in signed.items()}, BODY, NOW)


def test_secrets_are_whsec_with_at_least_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(secret_key(secret)) >= 24
    with pytest.raises(ValueError):
        secret_key("whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        secret_key("partner-shared-secret")


def test_a_rotated_secret_is_accepted_during_the_grace_period_only() -> None:
    old = new_secret()
    endpoint = WebhookEndpointRecord(
        endpoint_id="ep_1",
        organisation="probation-east",
        url="https://partner.example/hook",
        created_at=NOW,
        updated_at=NOW,
        secrets=[WebhookSecret(secret=old, created_at=NOW)],
    )
    new = new_secret()
    rotated = endpoint.rotated(new, NOW, timedelta(hours=24))
    during = NOW + timedelta(hours=23)
    live = rotated.live_secrets(during)
    assert live == [new, old]
    signed = headers(live, at=during)
    assert len(signed[SIGNATURE_HEADER].split(" ")) == 2  # two signatures while both live
    assert verify(old, signed, BODY, during)  # a partner not yet switched
    assert verify(new, signed, BODY, during)
    after = NOW + timedelta(hours=25)
    assert rotated.live_secrets(after) == [new]
    assert not verify(old, headers(rotated.live_secrets(after), at=after), BODY, after)
    # A second rotation keeps only the one before it: never more than two live secrets.
    again = rotated.rotated(new_secret(), during, timedelta(hours=24))
    assert len(again.live_secrets(during)) == 2 and old not in again.live_secrets(during)


def test_secrets_stay_out_of_reprs() -> None:
    secret = new_secret()
    record = WebhookSecret(secret=secret, created_at=NOW)
    assert secret not in repr(record) and secret not in str(record)
