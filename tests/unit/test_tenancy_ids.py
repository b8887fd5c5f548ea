"""Tenancy ids are keyed pseudonyms of the landlord's reference (issue 16). Pure."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.ids import TenancyKeyError, tenancy_id

KEY = "a-tenancy-id-key-of-at-least-32-characters"
OTHER_KEY = "another-tenancy-id-key-of-32-characters-or-more"


def test_the_id_keeps_the_landlord_and_hides_the_reference() -> None:
    tid = tenancy_id("derby-homes", "DH-100231", key=KEY)
    landlord, _, pseudonym = tid.partition(":")
    assert landlord == "derby-homes"  # other services route by it
    assert pseudonym.startswith("t-") and len(pseudonym) == 2 + 24
    assert "100231" not in tid and "DH" not in tid


def test_the_id_is_the_documented_hmac() -> None:
    digest = hmac.new(KEY.encode(), b"derby-homes\0DH-100231", hashlib.sha256).hexdigest()
    assert tenancy_id("derby-homes", "DH-100231", key=KEY) == f"derby-homes:t-{digest[:24]}"


def test_the_same_tenancy_always_gets_the_same_id() -> None:
    first = tenancy_id("derby-homes", "DH-100231", key=KEY)
    assert tenancy_id("derby-homes", "DH-100231", key=KEY) == first
    # Case and surrounding spaces of the reference do not make another tenancy.
    assert tenancy_id("derby-homes", "  dh-100231 ", key=KEY) == first


def test_another_reference_landlord_or_key_is_another_id() -> None:
    base = tenancy_id("derby-homes", "DH-100231", key=KEY)
    assert tenancy_id("derby-homes", "DH-100232", key=KEY) != base
    other_landlord = tenancy_id("leeds-homes", "DH-100231", key=KEY)
    assert other_landlord.split(":", 1)[1] != base.split(":", 1)[1]  # the landlord is keyed in
    assert tenancy_id("derby-homes", "DH-100231", key=OTHER_KEY) != base


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "HEARTH_TENANCY_ID_KEY: required"),
        ("short-secret", "HEARTH_TENANCY_ID_KEY: secret shorter than 32 characters"),
    ],
)
def test_no_id_is_made_without_a_real_key(key: str, message: str) -> None:
    with pytest.raises(TenancyKeyError, match=message) as refused:
        tenancy_id("derby-homes", "DH-100231", key=key)
    assert key == "" or key not in str(refused.value)  # the setting is named, never its value
