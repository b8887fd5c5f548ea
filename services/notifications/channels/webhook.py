"""Partner webhooks in the Standard Webhooks shape: to each enabled endpoint of the recipient
organisation that wants the event, signed with that endpoint's own live secrets, after its
destination is resolved and checked (see destinations.py), connecting to the checked address.

The delivery log gets only generic reasons ("refused: destination not allowed", "connection
failed", "timed out", "HTTP 500"): a socket error's text can describe internal topology."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from services.notifications.channels import DeliveryFailed, OutboundMessage
from services.notifications.destinations import (
    REFUSED,
    DestinationRefused,
    Resolver,
    Unresolved,
    resolve_destination,
)
from services.notifications.facts import same_fact_types
from services.notifications.settings import NotificationSettings
from services.notifications.store import (
    WEBHOOK_ADDRESS_PREFIX,
    NotificationStore,
    WebhookEndpointRecord,
)
from services.notifications.webhook_signing import signed_headers
from shared.clock import Clock
from shared.logging import get_logger

log = get_logger(__name__)


def webhook_body(message: OutboundMessage) -> bytes:
    payload = {
        "notification_id": message.delivery_id,
        "template": message.template,
        "subject": message.subject,
        "body": message.body,
        **message.metadata,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_client() -> httpx.AsyncClient:
    """The client webhooks are sent with: no proxy from the environment (it would connect
    elsewhere than the checked address), no redirects (a 3xx could point anywhere), and no
    kept-alive connections (one is keyed by address, and must not carry another host's request
    over a TLS session verified for the first)."""
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


@dataclass(frozen=True)
class _Outcome:
    reason: str | None = None
    permanent: bool = False


class WebhookChannel:
    def __init__(
        self,
        settings: NotificationSettings,
        client: httpx.AsyncClient,
        store: NotificationStore,
        clock: Clock,
        resolver: Resolver,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.clock = clock
        self.resolver = resolver

    async def send(self, message: OutboundMessage) -> str:
        if not message.address.startswith(WEBHOOK_ADDRESS_PREFIX):
            # A URL planned before endpoints were registered: it has no secret of its own.
            raise DeliveryFailed("refused: endpoint not registered", True)
        organisation = message.address.removeprefix(WEBHOOK_ADDRESS_PREFIX)
        # One delivery per fact: an endpoint subscribed to any event telling it receives it
        # (a TenancyAtRisk's delivery reaches an endpoint that asked for CaseEscalated).
        told = same_fact_types(str(message.metadata.get("event_type") or ""))
        endpoints = [e for e in await self.store.endpoints(organisation) if any(map(e.wants, told))]
        if not endpoints:
            raise DeliveryFailed("webhook: no enabled endpoint for this event", True)
        body = webhook_body(message)
        # One message id for every endpoint and every retry: receivers drop repeats by it
        # (a retry after one endpoint failed sends to the others again).
        msg_id = f"msg_{message.delivery_id}"
        outcomes = [await self._post(endpoint, msg_id, body) for endpoint in endpoints]
        failed = [o for o in outcomes if o.reason is not None]
        if failed:
            refused = [o for o in failed if o.reason == REFUSED]
            first = (refused or failed)[0]
            raise DeliveryFailed(first.reason or "", all(o.permanent for o in failed))
        return msg_id

    async def _post(self, endpoint: WebhookEndpointRecord, msg_id: str, body: bytes) -> _Outcome:
        allow_loopback = self.settings.webhook_allow_loopback
        try:
            destination = await resolve_destination(endpoint.url, allow_loopback, self.resolver)
        except DestinationRefused:
            log.warning("notifications.webhook_refused", endpoint_id=endpoint.endpoint_id)
            return _Outcome(REFUSED, permanent=True)
        except Unresolved:
            return _Outcome("name not resolved")
        now = self.clock.now()
        secrets = endpoint.live_secrets(now)
        if not secrets:
            return _Outcome("webhook: no live secret", permanent=True)
        headers = {
            "Content-Type": "application/json",
            "Host": destination.host_header,
            **signed_headers(secrets, msg_id, int(now.timestamp()), body),
        }
        request = self.client.build_request(
            "POST",
            destination.connect_url,
            content=body,
            headers=headers,
            timeout=self.settings.webhook_timeout_seconds,
            # TLS names (and verifies the certificate for) the host, not the address.
            extensions={"sni_hostname": destination.host},
        )
        try:
            response = await self.client.send(request, stream=True)
            await response.aclose()  # the partner's answer body is not needed, nor trusted
        except httpx.TimeoutException:
            return _Outcome("timed out")
        except (httpx.HTTPError, OSError):
            return _Outcome("connection failed")
        if response.status_code >= 300:
            code = response.status_code
            # 3xx is not followed; a 4xx other than 408/429 will not change on retry.
            permanent = 300 <= code < 400 or (400 <= code < 500 and code not in (408, 429))
            return _Outcome(f"HTTP {code}", permanent)
        return _Outcome()
