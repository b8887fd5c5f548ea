"""Standard Webhooks signatures (https://www.standardwebhooks.com/), what Hearth sends and what
a partner runs on receipt. Pure: no I/O, no clock (time is passed in); only `new_secret` draws
randomness.

- `webhook-id`: the message id, the same on every retry (a receiver's idempotency key);
- `webhook-timestamp`: unix seconds when signed;
- `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`,
  one per live secret (two while a rotated secret is in its grace period).

Secrets are `whsec_<base64 of 32 random bytes>`; the HMAC key is the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
TOLERANCE = timedelta(minutes=5)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("secret: expected whsec_<base64>")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("secret: not base64") from exc
    if len(key) < 24:
        raise ValueError("secret: shorter than 24 bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature over `{id}.{timestamp}.{body}`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers, signed with every live secret (newest first)."""
    signatures = " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)
    if not signatures:
        raise ValueError("secrets: none live")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signatures,
    }


def verify(
    secrets: str | Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | float,
    tolerance: timedelta = TOLERANCE,
) -> bool:
    """What a receiver runs: is the message signed by one of `secrets` (the current and, during
    a rotation, the previous one) and timestamped within `tolerance` of `now` (the replay
    window; a message from the future beyond it is refused alike)?"""
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id = lower.get(ID_HEADER)
    stamp = lower.get(TIMESTAMP_HEADER)
    offered = (lower.get(SIGNATURE_HEADER) or "").split()
    if not msg_id or not stamp or not offered:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    moment = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(moment - timestamp) > tolerance.total_seconds():
        return False
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    for secret in candidates:
        try:
            expected = sign(secret, msg_id, timestamp, body)
        except ValueError:
            continue  # a malformed secret verifies nothing
        # Compare against every offered signature (other versions are skipped, not errors).
        if any(hmac.compare_digest(expected, sig) for sig in offered if sig.startswith("v1,")):
            return True
    return False
