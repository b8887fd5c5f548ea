"""What notifications may learn about a person: only with consent, only allowed channels."""

from __future__ import annotations

from typing import Any

import pytest

from services.referral.intake import contact_details
from tests.referral.factories import submission

ADDRESS = ["1 High Street", "Derby"]
CONTACT = {
    "mobile": "07700900123",
    "email": "alex@example.org",
    "postal_address": ["1 High Street", "Derby"],
    "preferred_channels": ["email", "sms"],
}


def consent(**fields: Any) -> dict[str, Any]:
    return {"to_record": True, "to_share": True, **fields}


@pytest.mark.parametrize(
    ("consent_json", "email", "mobile", "address", "preferred"),
    [
        (consent(), "alex@example.org", "07700900123", ADDRESS, ["email", "sms"]),
        (consent(channels_allowed=["sms"]), None, "07700900123", [], ["sms"]),
        (consent(channels_allowed=["whatsapp"]), None, "07700900123", [], []),
        (consent(channels_allowed=["email", "letter"]), "alex@example.org", None,
         ADDRESS, ["email"]),
    ],
)  # fmt: skip
def test_only_allowed_channels_are_shared(consent_json, email, mobile, address, preferred) -> None:
    shared = contact_details("ref-1", "p-1", submission(contact=CONTACT, consent=consent_json))
    assert shared is not None
    assert (shared.email, shared.mobile, shared.postal_address) == (email, mobile, address)
    assert shared.preferred_channels == preferred
    assert shared.display_name == "Alex Morgan" and shared.subject() == "p-1"


def test_nothing_is_shared_without_consent_to_share_or_without_contact_details() -> None:
    no_share = submission(contact=CONTACT, consent={"to_record": True, "to_share": False})
    assert contact_details("ref-1", "p-1", no_share) is None
    assert contact_details("ref-1", "p-1", submission(contact=None)) is None
