"""Proof Key for Code Exchange (RFC 7636, S256) and the other one-time values of a sign-in."""

from __future__ import annotations

import base64
import hashlib
import secrets


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    """43 characters from the unreserved set: 256 bits of randomness."""
    return _b64url(secrets.token_bytes(32))


def challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    return _b64url(secrets.token_bytes(24))
