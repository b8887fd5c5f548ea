"""Every channel sends an OutboundMessage through one interface and either returns the
provider's reference or raises DeliveryFailed saying whether a retry could help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class OutboundMessage:
    delivery_id: str
    channel: str
    address: str  # email address, mobile number, postal lines joined by newlines, or URL
    subject: str
    body: str
    template: str
    provider_template_id: str
    personalisation: dict[str, str] = field(default_factory=dict)
    pdf: bytes | None = None  # a rendered letter
    metadata: dict[str, Any] = field(default_factory=dict)  # case id, event type, organisation


class DeliveryFailed(Exception):
    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent  # e.g. an address the provider rejects: retrying won't help


class ChannelSender(Protocol):
    async def send(self, message: OutboundMessage) -> str: ...
