"""HTTP API of an organisation's partner webhook endpoints: register (the secret is shown once,
in that answer), list and read (never a secret), rotate the secret, disable. Managed by the
organisation's admin (`settings.manage`); another organisation's endpoint is a 404."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AfterValidator, BaseModel, Field

from services.notifications.destinations import (
    DestinationRefused,
    Resolver,
    Unresolved,
    resolve_destination,
    url_refusal,
)
from services.notifications.routing_rules import RULES
from services.notifications.settings import NotificationSettings
from services.notifications.store import NotificationStore, WebhookEndpointRecord, WebhookSecret
from services.notifications.webhook_signing import new_secret
from shared.auth import CallerDep
from shared.clock import Clock
from shared.codes import Channel
from shared.ids import new_id
from shared.repository import Loaded

# The event types a partner system can be sent (those routed to a webhook at all).
WEBHOOK_EVENT_TYPES = sorted({r.event_type for r in RULES if Channel.WEBHOOK in r.channels})


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not valid UTF-8 text") from exc
    return value


def _event_type(value: str) -> str:
    if value not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"not one of {', '.join(WEBHOOK_EVENT_TYPES)}")
    return value


EndpointId = Annotated[str, Path(pattern=r"^ep_[0-9a-f]{32}$", description="endpoint id")]
EventType = Annotated[str, Field(max_length=100), AfterValidator(_event_type)]


# --- schemas ---------------------------------------------------------------------------------


class EndpointIn(BaseModel):
    url: Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_utf8)] = Field(
        description="https URL of the partner system; public addresses only"
    )
    description: Annotated[str, Field(max_length=500), AfterValidator(_utf8)] | None = None
    event_types: list[EventType] = Field(
        default=[], max_length=20, description="events wanted; empty: every one"
    )


# --- views -----------------------------------------------------------------------------------


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    secret_created_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="while set and in the future, the previous secret also signs"
    )


class EndpointWithSecret(EndpointOut):
    secret: str = Field(
        description="whsec_...: verifies this endpoint's webhooks; shown only in this answer"
    )


def endpoint_out(record: WebhookEndpointRecord, now: datetime) -> EndpointOut:
    current = record.secrets[0] if record.secrets else None
    previous = [s.expires_at for s in record.secrets[1:] if s.expires_at and s.expires_at > now]
    return EndpointOut(
        id=record.endpoint_id,
        url=record.url,
        description=record.description,
        event_types=record.event_types,
        enabled=record.enabled,
        created_at=record.created_at,
        updated_at=record.updated_at,
        secret_created_at=current.created_at if current else None,
        previous_secret_expires_at=previous[0] if previous else None,
    )


def with_secret(record: WebhookEndpointRecord, now: datetime) -> EndpointWithSecret:
    return EndpointWithSecret(
        **endpoint_out(record, now).model_dump(), secret=record.secrets[0].secret
    )


# --- routes ----------------------------------------------------------------------------------


def _url_refused(reason: str) -> HTTPException:
    return HTTPException(422, f"url: {reason}")


def build_webhook_router(
    store: NotificationStore, clock: Clock, settings: NotificationSettings, resolver: Resolver
) -> APIRouter:
    router = APIRouter(tags=["webhook endpoints"])
    grace = timedelta(hours=settings.webhook_rotation_grace_hours)

    async def loaded_endpoint(organisation: str, endpoint_id: str) -> Loaded[WebhookEndpointRecord]:
        loaded = await store.endpoint(organisation, endpoint_id)
        if loaded is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "endpoint_id: not found")
        return loaded

    @router.post(
        "/webhook-endpoints",
        response_model=EndpointWithSecret,
        status_code=status.HTTP_201_CREATED,
        responses={409: {"description": "too many endpoints"}, 422: {"description": "bad url"}},
    )
    async def register_endpoint(caller: CallerDep, body: EndpointIn) -> EndpointWithSecret:
        """Register a partner system. The answer holds its signing secret, shown this once."""
        allow_loopback = settings.webhook_allow_loopback
        reason = url_refusal(body.url, allow_loopback)
        if reason is not None:
            raise _url_refused(reason)
        try:
            await resolve_destination(body.url, allow_loopback, resolver)
        except DestinationRefused as exc:
            raise _url_refused("destination not allowed") from exc
        except Unresolved as exc:
            raise _url_refused("host name does not resolve") from exc
        existing = await store.endpoints(caller.organisation)
        if sum(e.enabled for e in existing) >= settings.webhook_max_endpoints:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"endpoints: at most {settings.webhook_max_endpoints} enabled",
            )
        now = clock.now()
        record = WebhookEndpointRecord(
            endpoint_id=f"ep_{new_id()}",
            organisation=caller.organisation,
            url=body.url,
            description=body.description,
            event_types=list(dict.fromkeys(body.event_types)),
            created_at=now,
            updated_at=now,
            secrets=[WebhookSecret(secret=new_secret(), created_at=now)],
        )
        await store.add_endpoint(record)
        return with_secret(record, now)

    @router.get("/webhook-endpoints", response_model=list[EndpointOut])
    async def list_endpoints(caller: CallerDep) -> list[EndpointOut]:
        """The organisation's endpoints, without their secrets."""
        now = clock.now()
        return [endpoint_out(e, now) for e in await store.endpoints(caller.organisation)]

    @router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut)
    async def get_endpoint(caller: CallerDep, endpoint_id: EndpointId) -> EndpointOut:
        loaded = await loaded_endpoint(caller.organisation, endpoint_id)
        return endpoint_out(loaded.model, clock.now())

    @router.post(
        "/webhook-endpoints/{endpoint_id}/rotate",
        response_model=EndpointWithSecret,
        responses={404: {"description": "not found"}, 409: {"description": "changed meanwhile"}},
    )
    async def rotate_secret(caller: CallerDep, endpoint_id: EndpointId) -> EndpointWithSecret:
        """A new secret, shown this once; the previous one also signs for the grace period
        (`HEARTH_WEBHOOK_ROTATION_GRACE_HOURS`), so the partner can switch without a gap."""
        loaded = await loaded_endpoint(caller.organisation, endpoint_id)
        now = clock.now()
        record = loaded.model.rotated(new_secret(), now, grace)
        if not await store.save_endpoint(loaded, record):
            raise HTTPException(status.HTTP_409_CONFLICT, "endpoint_id: changed meanwhile")
        return with_secret(record, now)

    @router.post(
        "/webhook-endpoints/{endpoint_id}/disable",
        response_model=EndpointOut,
        responses={404: {"description": "not found"}, 409: {"description": "changed meanwhile"}},
    )
    async def disable_endpoint(caller: CallerDep, endpoint_id: EndpointId) -> EndpointOut:
        """Stop sending to this endpoint (deliveries to it are no longer made)."""
        loaded = await loaded_endpoint(caller.organisation, endpoint_id)
        now = clock.now()
        record = loaded.model.model_copy(update={"enabled": False, "updated_at": now})
        if loaded.model.enabled and not await store.save_endpoint(loaded, record):
            raise HTTPException(status.HTTP_409_CONFLICT, "endpoint_id: changed meanwhile")
        return endpoint_out(record, now)

    return router
