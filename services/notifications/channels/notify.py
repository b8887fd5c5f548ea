"""SMS and letters through a provider shaped like GOV.UK Notify's API v2.

Auth is Notify's: the API key ends with the service id and the secret (two UUIDs); each request
carries `Authorization: Bearer <JWT>` signed HS256 with the secret, claims iss=service id and
iat=now (real time: Notify rejects tokens more than 30 s old).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from services.notifications.channels import DeliveryFailed, OutboundMessage
from services.notifications.settings import NotificationSettings

UUID_LENGTH = 36


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def split_api_key(api_key: str) -> tuple[str, str]:
    """(service id, secret) from `name-<service uuid>-<secret uuid>`; a bare secret also works."""
    if len(api_key) >= 2 * UUID_LENGTH + 1:
        secret = api_key[-UUID_LENGTH:]
        service_id = api_key[-(2 * UUID_LENGTH + 1) : -(UUID_LENGTH + 1)]
        return service_id, secret
    return "hearth", api_key


def notify_token(api_key: str, issued_at: int | None = None) -> str:
    service_id, secret = split_api_key(api_key)
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    claims = {"iss": service_id, "iat": int(issued_at if issued_at is not None else time.time())}
    payload = _b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def sms_request(message: OutboundMessage) -> dict[str, Any]:
    return {
        "phone_number": message.address,
        "template_id": message.provider_template_id,
        "personalisation": {**message.personalisation, "body": message.body},
        "reference": message.delivery_id,
    }


def letter_request(message: OutboundMessage) -> dict[str, Any]:
    lines = [line for line in message.address.split("\n") if line.strip()]
    personalisation = {f"address_line_{i}": line for i, line in enumerate(lines[:7], start=1)}
    body: dict[str, Any] = {
        "template_id": message.provider_template_id,
        "personalisation": {
            **message.personalisation,
            **personalisation,
            "subject": message.subject,
            "body": message.body,
        },
        "reference": message.delivery_id,
    }
    if message.pdf is not None:
        # The letter as Hearth rendered it, so the printed copy matches the one on file.
        body["content"] = base64.b64encode(message.pdf).decode()
    return body


class NotifyChannel:
    """One adapter for both provider channels (`sms`, `letter`)."""

    def __init__(self, settings: NotificationSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, message: OutboundMessage) -> str:
        if message.channel == "sms":
            path, body = "/v2/notifications/sms", sms_request(message)
        else:
            path, body = "/v2/notifications/letter", letter_request(message)
        url = self.settings.notify_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {notify_token(self.settings.notify_api_key)}"}
        try:
            response = await self.client.post(
                url, json=body, headers=headers, timeout=self.settings.notify_timeout_seconds
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"notify: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            # Notify: 400/403 mean a bad request or key (retrying won't help); 429/5xx may pass.
            permanent = response.status_code < 500 and response.status_code != 429
            raise DeliveryFailed(
                f"notify: HTTP {response.status_code} {response.text[:300]}", permanent
            )
        try:
            return str(response.json().get("id", ""))
        except ValueError:
            return ""
