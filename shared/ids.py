"""Identifiers: random ids for records and events, stable pseudonymous ids where needed."""

from __future__ import annotations

import hashlib
import hmac
import uuid

TENANCY_KEY_SETTING = "HEARTH_TENANCY_ID_KEY"
MIN_TENANCY_KEY_CHARS = 32
TENANCY_HASH_CHARS = 24  # 96 bits: no two tenancies of a landlord collide in practice


class TenancyKeyError(ValueError):
    """The tenancy-id key is missing or too short; the message names the setting."""


def new_id(prefix: str = "") -> str:
    value = uuid.uuid4().hex
    return f"{prefix}-{value}" if prefix else value


def stable_id(*parts: str) -> str:
    """Deterministic id from parts, e.g. a derived event id that must be the same on replay."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def tenancy_id(organisation: str, tenancy_reference: str, *, key: str) -> str:
    """One tenancy across the platform: "<landlord organisation>:t-<keyed hash>".

    The landlord's own reference identifies the tenant to the landlord, and tenancy ids travel
    on topics that are never purged, so the id carries a keyed pseudonym of it (HMAC-SHA256
    under `HEARTH_TENANCY_ID_KEY`), never the reference. The prefix stays: services route by
    the landlord. Case and surrounding spaces of the reference do not matter."""
    reference = tenancy_reference.strip().upper()
    message = f"{organisation}\0{reference}".encode()
    digest = hmac.new(tenancy_key(key).encode(), message, hashlib.sha256).hexdigest()
    return f"{organisation}:t-{digest[:TENANCY_HASH_CHARS]}"


def tenancy_key(key: str) -> str:
    """The tenancy-id key, refused (naming the setting, never the value) when missing or
    shorter than a secret: a tenancy id is never made unkeyed."""
    if not key:
        raise TenancyKeyError(f"{TENANCY_KEY_SETTING}: required (one secret, never rotated)")
    if len(key) < MIN_TENANCY_KEY_CHARS:
        raise TenancyKeyError(
            f"{TENANCY_KEY_SETTING}: secret shorter than {MIN_TENANCY_KEY_CHARS} characters"
        )
    return key
