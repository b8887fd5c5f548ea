"""HTTP API: the delivery log, parked failures and resend, templates and organisation
settings. Every route sees only the caller's organisation. The routes are built around the
service's store, clock and worker (`build_router`), so nothing is looked up on the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.notifications.routing import OrgSettings
from services.notifications.store import (
    DeliveryRecord,
    NotificationStore,
    SettingsRecord,
    TemplateRecord,
)
from services.notifications.templates import DEFAULT_TEMPLATES, Template, placeholders
from shared.auth import CallerDep, audit_listed
from shared.clock import Clock


def _utf8(value: str) -> str:
    # JSON may carry lone surrogates, which the database cannot store.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not valid UTF-8 text") from exc
    return value


Text = Annotated[str, AfterValidator(_utf8)]
Email = Annotated[Text, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Url = Annotated[Text, Field(max_length=2000, pattern=r"^https?://[^\s]+$")]
DeliveryId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="delivery id")]
TemplateKey = Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", description="template key")]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    PARKED = "parked"
    SUPPRESSED = "suppressed"


class Attempt(BaseModel):
    at: datetime
    outcome: str
    reason: str | None = None
    reference: str | None = None
    retry_at: datetime | None = None


class Delivery(BaseModel):
    id: str
    case_id: str
    trigger_event_id: str
    trigger_event_type: str
    recipient_role: str
    recipient_org: str | None = None
    channel: str | None = None
    address: str | None = None
    template: str
    subject: str | None = None
    urgent: bool = False
    status: DeliveryStatus
    reason: str | None = None
    attempts: int = 0
    resends: int = 0
    created_at: datetime
    sent_at: datetime | None = None
    due_at: datetime | None = None
    attempt_log: list[Attempt] = []


class DeliveryPage(BaseModel):
    items: list[Delivery]
    count: int


class TemplateIn(BaseModel):
    subject: Annotated[Text, Field(min_length=1, max_length=300)]
    body: Annotated[Text, Field(min_length=1, max_length=10000)]
    notify_template_id: Annotated[Text, Field(min_length=1, max_length=100)] | None = None


class TemplateOut(BaseModel):
    key: str
    subject: str
    body: str
    letter: bool
    notify_template_id: str
    placeholders: list[str]
    customised: bool


class SettingsIn(BaseModel):
    # A field this API no longer takes (sharing_agreements: now data-sharing agreements) is
    # a 422 naming it, never silently dropped.
    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    notice_email: Email | None = Field(None, description="where agency notices go")
    webhook_url: Url | None = Field(
        None,
        description="no longer accepted: register partner systems at /v1/webhook-endpoints",
    )
    housing_officer_email: Email | None = Field(
        None, description="as a landlord: where urgent tenancy alerts go"
    )
    local_support: Annotated[Text, Field(min_length=1, max_length=4000)] | None = None
    crisis_support: Annotated[Text, Field(min_length=1, max_length=4000)] | None = None


class SettingsOut(BaseModel):
    organisation: str
    display_name: str | None
    notice_email: str | None
    webhook_url: str | None = Field(description="always null: see /v1/webhook-endpoints")
    housing_officer_email: str | None
    local_support: str
    crisis_support: str


def _delivery(record: DeliveryRecord) -> Delivery:
    # Only the log's fields: the message body and personal details stay in the store.
    return Delivery.model_validate(
        {**record.model_dump(exclude_none=True), "id": record.delivery_id}
    )


def _template_out(template: Template, customised: bool) -> TemplateOut:
    return TemplateOut(
        key=template.key,
        subject=template.subject,
        body=template.body,
        letter=template.letter,
        notify_template_id=template.provider_template_id,
        placeholders=placeholders(template.subject + " " + template.body),
        customised=customised,
    )


def _settings_out(settings: OrgSettings) -> SettingsOut:
    return SettingsOut(
        organisation=settings.organisation,
        display_name=settings.display_name,
        notice_email=settings.notice_email,
        webhook_url=None,  # endpoints (each with its own secret) replaced the shared URL
        housing_officer_email=settings.housing_officer_email,
        local_support=settings.local_support,
        crisis_support=settings.crisis_support,
    )


def build_router(store: NotificationStore, clock: Clock, wake: Callable[[], None]) -> APIRouter:
    """The service's routes; `wake` tells the delivery worker a resent delivery is due."""
    router = APIRouter(tags=["notifications"])

    @router.get("/deliveries", response_model=DeliveryPage)
    async def list_deliveries(
        request: Request,
        caller: CallerDep,
        case_id: Annotated[Text | None, Query(min_length=1, max_length=200)] = None,
        delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DeliveryPage:
        """The delivery log (every attempt), by case and/or status; `status=parked` for operators."""  # noqa: E501
        records = await store.list_deliveries(
            caller.organisation, case_id, delivery_status.value if delivery_status else None, limit
        )
        items = [_delivery(record) for record in records]
        audit_listed(request, "case", dict.fromkeys(r.case_id for r in records if r.case_id))
        return DeliveryPage(items=items, count=len(items))

    @router.get("/deliveries/{delivery_id}", response_model=Delivery)
    async def get_delivery(caller: CallerDep, delivery_id: DeliveryId) -> Delivery:
        record = await store.delivery(caller.organisation, delivery_id)
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "delivery_id: not found")
        return _delivery(record)

    @router.post(
        "/deliveries/{delivery_id}/resend",
        response_model=Delivery,
        status_code=status.HTTP_202_ACCEPTED,
        responses={404: {"description": "not found"}, 409: {"description": "not parked"}},
    )
    async def resend(caller: CallerDep, delivery_id: DeliveryId) -> Delivery:
        """Put a parked delivery back in the queue with a fresh retry budget."""
        record = await store.resend(caller.organisation, delivery_id, clock.now())
        if record is None:
            existing = await store.delivery(caller.organisation, delivery_id)
            if existing is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "delivery_id: not found")
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"delivery_id: status is {existing.status.value}, not parked",
            )
        wake()
        return _delivery(record)

    @router.get(
        "/deliveries/{delivery_id}/letter",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}}, 404: {"description": "no letter"}},
    )
    async def get_letter(caller: CallerDep, delivery_id: DeliveryId) -> Response:
        """The letter as rendered and sent (PDF)."""
        if await store.delivery(caller.organisation, delivery_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "delivery_id: not found")
        pdf = await store.letter(delivery_id)
        if pdf is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "delivery_id: no letter rendered")
        return Response(pdf, media_type="application/pdf")

    @router.get("/templates", response_model=list[TemplateOut])
    async def list_templates(caller: CallerDep) -> list[TemplateOut]:
        """The organisation's templates: its own versions where it has them, else the defaults."""
        customised = await store.customised_templates(caller.organisation)
        return [
            _template_out(await store.template(caller.organisation, key), key in customised)
            for key in DEFAULT_TEMPLATES
        ]

    @router.get("/templates/{key}", response_model=TemplateOut)
    async def get_template(caller: CallerDep, key: TemplateKey) -> TemplateOut:
        if key not in DEFAULT_TEMPLATES:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "key: unknown template")
        customised = key in await store.customised_templates(caller.organisation)
        return _template_out(await store.template(caller.organisation, key), customised)

    @router.put("/templates/{key}", response_model=TemplateOut)
    async def put_template(caller: CallerDep, key: TemplateKey, body: TemplateIn) -> TemplateOut:
        """Replace the organisation's version of a template; placeholders are ((name))."""
        if key not in DEFAULT_TEMPLATES:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "key: unknown template")
        record = TemplateRecord(organisation=caller.organisation, key=key, **body.model_dump())
        return _template_out(await store.put_template(record), True)

    @router.get("/settings", response_model=SettingsOut)
    async def get_settings(caller: CallerDep) -> SettingsOut:
        return _settings_out(await store.org_settings(caller.organisation))

    @router.put("/settings", response_model=SettingsOut)
    async def put_settings(caller: CallerDep, body: SettingsIn) -> SettingsOut:
        """Mailboxes and the closure letter's support texts. Who may hear of a case across
        organisations is a data-sharing agreement's to say (`/v1/agreements`)."""
        if body.webhook_url is not None:
            # A URL here would be signed with no secret of its own: register it instead.
            raise HTTPException(
                422, "webhook_url: register partner systems with POST /v1/webhook-endpoints"
            )
        values = body.model_dump()
        record = SettingsRecord(organisation=caller.organisation, **values)
        return _settings_out(await store.put_org_settings(record))

    return router
