"""Consent decides whether a message may go; preferences decide the channel."""

from __future__ import annotations

import pytest

from services.notifications.consent import (
    NO_ADDRESS,
    NO_CONSENT,
    ClientContact,
    choose_client_channel,
    personal_details_allowed,
)
from shared.codes import Channel

E, S, L = Channel.EMAIL, Channel.SMS, Channel.LETTER
ADDRESS = ("1 High Street", "DE1 1AA")


def contact(preferred=(), consented=(), email="a@b.org", mobile="07700900123", address=ADDRESS):
    return ClientContact(
        "p", "c", "Sam", email, mobile, address, tuple(preferred), tuple(consented)
    )


@pytest.mark.parametrize(
    ("person", "allowed", "channel", "reason"),
    [
        (None, (E, S, L), None, NO_CONSENT),  # nothing shared: no consent on record
        (contact(consented=()), (E, S, L), None, NO_CONSENT),
        (contact(["sms"], ["sms", "email"]), (E, S, L), S, None),  # preference first
        (contact(["sms"], ["email"]), (E, S, L), E, None),  # SMS consent withdrawn
        (contact(["sms"], []), (E, S, L), None, NO_CONSENT),  # all consent withdrawn
        (contact(["phone"], ["phone", "letter"]), (E, S, L), L, None),  # phone is a call
        (contact(["whatsapp"], ["whatsapp"]), (E, S, L), None, NO_CONSENT),
        (contact([], ["email"], email=None), (E, S, L), None, NO_ADDRESS),
        (contact(["letter"], ["letter"], address=("Derby",)), (L, E), None, NO_ADDRESS),
        (contact(["email"], ["email", "letter"]), (L, E), E, None),
        (contact([], ["sms", "letter"]), (L, E), L, None),  # rule order when no preference
    ],
)
def test_client_channel(person, allowed, channel, reason) -> None:
    decision = choose_client_channel(person, allowed)
    assert decision.channel == channel
    assert decision.reason == reason
    assert decision.suppressed is (channel is None)


def test_letter_address_starts_with_the_name() -> None:
    decision = choose_client_channel(contact(["letter"], ["letter"]), (L,))
    assert decision.address == "Sam\n1 High Street\nDE1 1AA"


@pytest.mark.parametrize(
    ("recipient", "case_org", "share_with", "allowed"),
    [
        ("derby", "derby", (), True),
        ("probation", "derby", (), False),
        ("probation", "derby", ("probation",), True),
        (None, "derby", ("probation",), False),
    ],
)
def test_personal_details_allowed(recipient, case_org, share_with, allowed) -> None:
    assert personal_details_allowed(recipient, case_org, share_with) is allowed
