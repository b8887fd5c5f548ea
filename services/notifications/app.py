"""The notifications service: who hears what on every platform event, by which channel, once."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from fastapi import FastAPI

from services.notifications import privacy
from services.notifications.api import build_router
from services.notifications.channels import ChannelSender
from services.notifications.channels.notify import NotifyChannel
from services.notifications.channels.smtp import SmtpEmailChannel
from services.notifications.channels.webhook import WebhookChannel, webhook_client
from services.notifications.destinations import Resolver
from services.notifications.handlers import NotificationHandlers
from services.notifications.settings import NotificationSettings, notification_settings
from services.notifications.store import NotificationStore
from services.notifications.webhook_api import build_webhook_router
from services.notifications.worker import DeliveryWorker
from shared.agreement_book import AgreementBook
from shared.clock import Clock
from shared.events.catalogue import NotificationFailed, NotificationSent
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic

EMITS = (NotificationSent, NotificationFailed, SubjectDataContributed, ErasureCarriedOut)
SUBSCRIBES = (
    Topic.REFERRAL_EVENTS,
    Topic.CASE_EVENTS,
    Topic.TENANCY_RISK,
    Topic.RECONNECTION_EVENTS,
    Topic.CONTACTS,
)


class NotificationRuntime(ServiceRuntime):
    """The shared runtime plus the delivery worker and the providers' HTTP client."""

    settings: NotificationSettings

    def __init__(self, settings: NotificationSettings, clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.http = httpx.AsyncClient()
        self.store = NotificationStore(self, settings.cache_seconds)
        # Webhooks: their own client (no proxy, no redirects) and one resolver for the checks
        # at registration and at send.
        self.webhook_http = webhook_client()
        self.resolver = Resolver()
        notify = NotifyChannel(settings, self.http)
        senders: dict[str, ChannelSender] = {
            "email": SmtpEmailChannel(settings),
            "sms": notify,
            "letter": notify,
            "webhook": WebhookChannel(
                settings, self.webhook_http, self.store, self.clock, self.resolver
            ),
        }
        self.worker = DeliveryWorker(self.store, senders, self.clock, settings)
        self._worker_stop = asyncio.Event()
        self._worker_task: asyncio.Task[None] | None = None

    async def start(self, background_loops: bool = True) -> None:
        await super().start(background_loops)
        if background_loops and self._worker_task is None:
            self._worker_stop = asyncio.Event()
            self._worker_task = asyncio.create_task(self.worker.run(self._worker_stop))

    async def stop(self) -> None:
        if self._worker_task is not None:
            self._worker_stop.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._worker_task, 10)
            self._worker_task = None
        await self.http.aclose()
        await self.webhook_http.aclose()
        await super().stop()


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> NotificationRuntime:
    runtime = NotificationRuntime(notification_settings(settings), clock)
    # Its own copy of the data-sharing agreements (issue 15), kept from Topic.AGREEMENTS.
    book = AgreementBook(runtime.collection("agreements"))
    handlers = NotificationHandlers(runtime.store, runtime.clock, runtime.worker.wake, book)
    consumer = runtime.consumer([*SUBSCRIBES, Topic.AGREEMENTS])
    handlers.register(consumer)
    book.follow(consumer)
    privacy.install(runtime, runtime.store)  # subject access and erasure (issue 16)
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(
        runtime,
        title="Hearth notifications",
        description=(
            "The right message to the right people on every event, never twice, never lost: "
            "delivery log, parked failures and resend, templates and organisation settings."
        ),
        routers=[
            build_router(runtime.store, runtime.clock, runtime.worker.wake),
            build_webhook_router(runtime.store, runtime.clock, runtime.settings, runtime.resolver),
        ],
        manage_runtime=manage_runtime,
    )
    return app
