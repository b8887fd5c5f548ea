"""Identifiers: random ids for records and events, stable pseudonymous ids where needed."""

from __future__ import annotations

import hashlib
import uuid


def new_id(prefix: str = "") -> str:
    value = uuid.uuid4().hex
    return f"{prefix}-{value}" if prefix else value


def stable_id(*parts: str) -> str:
    """Deterministic id from parts, e.g. a derived event id that must be the same on replay."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def tenancy_id(organisation: str, tenancy_reference: str) -> str:
    """One tenancy across the platform: the landlord organisation plus its own reference."""
    return f"{organisation}:{tenancy_reference.strip().upper()}"
