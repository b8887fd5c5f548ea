"""The case identifier the return carries: the same for a case in every quarter and after any
rebuild, and holding no personal data. Pure.

Hearth's case id is the referral id, which the referrer picks (up to 200 letters, digits and
`. _ : @ -`): it may hold a partner's own reference or even an email address, so it never
leaves in the return. The return carries HMAC-SHA256(key, council + case id) instead, cut to
20 hex characters (80 bits: no two of a council's cases collide in practice). It depends only
on the council, the case id and the key, so it is stable across quarters and rebuilds; the
department links a case's rows and its later quarters by it, and the council finds the case
again through the extract (each row keeps its case id beside it) — never through the hash.

The key (`HEARTH_HCLIC_CASE_REF_KEY`) is a secret of at least 32 characters that must never
change: a new key would give every case a new identifier and the department would count each
open case twice.
"""

from __future__ import annotations

import hashlib
import hmac

KEY_SETTING = "HEARTH_HCLIC_CASE_REF_KEY"
MIN_KEY_CHARS = 32
CASE_REF_CHARS = 20


class CaseRefKeyError(ValueError):
    """The case-reference key is missing or too short; the message names the setting."""


def check_key(key: str) -> bytes:
    if len(key) < MIN_KEY_CHARS:
        raise CaseRefKeyError(
            f"{KEY_SETTING}: required, a secret of at least {MIN_KEY_CHARS} characters that "
            "never changes (a new key gives every case a new identifier in the return)"
        )
    return key.encode()


def case_ref(council: str, case_id: str, *, key: str) -> str:
    return CaseRefs(council, key).of(case_id)


class CaseRefs:
    """Case references of one council under one key (the key is checked once)."""

    def __init__(self, council: str, key: str) -> None:
        self._mac = hmac.new(check_key(key), f"{council}\0".encode(), hashlib.sha256)

    def of(self, case_id: str) -> str:
        mac = self._mac.copy()
        mac.update(case_id.encode())
        return mac.hexdigest()[:CASE_REF_CHARS]
