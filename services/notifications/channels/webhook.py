"""Signed webhooks to partner systems: HMAC-SHA256 of the exact body in X-Hearth-Signature."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from services.notifications.channels import DeliveryFailed, OutboundMessage
from services.notifications.settings import NotificationSettings

SIGNATURE_HEADER = "X-Hearth-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a partner runs on receipt."""
    return hmac.compare_digest(sign(secret, body), signature)


def webhook_body(message: OutboundMessage) -> bytes:
    payload = {
        "notification_id": message.delivery_id,
        "template": message.template,
        "subject": message.subject,
        "body": message.body,
        **message.metadata,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel:
    def __init__(self, settings: NotificationSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, message: OutboundMessage) -> str:
        body = webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.settings.webhook_secret, body),
            "X-Hearth-Delivery": message.delivery_id,
        }
        try:
            response = await self.client.post(
                message.address,
                content=body,
                headers=headers,
                timeout=self.settings.webhook_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (
                408,
                429,
            )
            raise DeliveryFailed(f"webhook: HTTP {response.status_code}", permanent)
        return message.delivery_id
