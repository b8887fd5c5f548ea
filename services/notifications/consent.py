"""Respecting the person: consent decides whether a message may go at all, preferences decide
by which channel, and sharing rules decide whether personal details go to a professional.

The case's consent (issue 16, `shared/consent.py`, kept from ConsentChanged) is asked twice for
each delivery to the person or about them to another organisation: when it is planned, and
again just before every send or retry, so a withdrawal or an expiry stops what is queued too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.codes import Channel
from shared.consent import Consent, ConsentPurpose, ConsentState, decide

NO_CONSENT = "suppressed: no consent"
NO_ADDRESS = "suppressed: no contact address"
NO_RECIPIENT = "suppressed: recipient unknown"
HELD = "held: "  # a delivery's reason when a rule of sharing (agreement, consent) stops it
CLIENT_ROLE = "client"
REFERRER_ROLE = "referrer"


@dataclass(frozen=True)
class ClientContact:
    """What ContactDetailsShared told us, for one person on one case."""

    person_id: str
    case_id: str
    display_name: str
    email: str | None = None
    mobile: str | None = None
    postal_address: tuple[str, ...] = ()
    preferred_channels: tuple[str, ...] = ()
    consented_channels: tuple[str, ...] = ()
    share_with: tuple[str, ...] = ()

    def address_for(self, channel: Channel) -> str | None:
        if channel is Channel.EMAIL:
            return self.email or None
        if channel is Channel.SMS:
            return self.mobile or None
        if channel is Channel.LETTER:
            # A letter needs a name line plus at least a street and a postcode.
            if len(self.postal_address) < 2:
                return None
            return "\n".join((self.display_name, *self.postal_address))
        return None  # phone and WhatsApp are the caseworker's own conversations


@dataclass(frozen=True)
class ChannelDecision:
    channel: Channel | None
    address: str | None = None
    reason: str | None = None  # why nothing may be sent

    @property
    def suppressed(self) -> bool:
        return self.channel is None


def choose_client_channel(
    contact: ClientContact | None, allowed: Sequence[Channel]
) -> ChannelDecision:
    """The person's most preferred consented channel this message can use and reach them on."""
    if contact is None:
        return ChannelDecision(None, reason=NO_CONSENT)
    consented = [channel for channel in allowed if channel in contact.consented_channels]
    if not consented:
        return ChannelDecision(None, reason=NO_CONSENT)
    preferred = [Channel(c) for c in contact.preferred_channels if c in consented]
    ordered = list(dict.fromkeys([*preferred, *consented]))
    for channel in ordered:
        address = contact.address_for(channel)
        if address:
            return ChannelDecision(channel, address)
    return ChannelDecision(None, reason=NO_ADDRESS)


def personal_details_allowed(
    recipient_org: str | None, case_org: str, share_with: Iterable[str]
) -> bool:
    """The case's own organisation may see them; others only where the person consented."""
    if recipient_org is None:
        return False
    return recipient_org == case_org or recipient_org in set(share_with)


def consent_refusal(
    consent: Consent | None,
    *,
    recipient_role: str,
    recipient_org: str | None,
    case_org: str,
    receipt: bool,
    at: datetime,
) -> str | None:
    """Why the case's consent stops this delivery now (None: it may go). Messages to the person
    need consent to contact; a notice about them to another organisation needs that
    organisation and the purpose (referral status for the referrer, partner notices for any
    other) in scope. A referrer's receipt stops only when consent is withdrawn or expired.
    Inside the case's organisation staff hear of their own case whatever the consent says."""
    if consent is None:
        return None  # none recorded (an automatic referral): the other rules decide
    if recipient_role == CLIENT_ROLE:
        decision = decide(consent, case_org, ConsentPurpose.CONTACT, at)
    elif recipient_org is None or recipient_org == case_org:
        return None
    elif receipt:
        if consent.state_at(at) not in (ConsentState.WITHDRAWN, ConsentState.EXPIRED):
            return None  # a receipt needs no scope, only a consent still standing
        decision = decide(consent, case_org, ConsentPurpose.CONTACT, at)  # names which
    else:
        purpose = (
            ConsentPurpose.REFERRAL_STATUS
            if recipient_role == REFERRER_ROLE
            else ConsentPurpose.PARTNER_NOTICES
        )
        decision = decide(consent, recipient_org, purpose, at)
    return None if decision.allowed else f"{HELD}{decision.reason}"


def contact_allowed(consent: Consent, shared_under: int) -> bool:
    """May contact details shared under consent version `shared_under` be kept? Not when the
    case's consent, as it stands, no longer covers contact and is not older than them."""
    if consent.version < shared_under:
        return True  # shared under a newer consent than this one
    return consent.withdrawn_at is None and ConsentPurpose.CONTACT in consent.scope.purposes
