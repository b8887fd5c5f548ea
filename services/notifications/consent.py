"""Respecting the person: consent decides whether a message may go at all, preferences decide
by which channel, and sharing rules decide whether personal details go to a professional."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.codes import Channel

NO_CONSENT = "suppressed: no consent"
NO_ADDRESS = "suppressed: no contact address"
NO_RECIPIENT = "suppressed: recipient unknown"


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
