"""A notifications service in-process over the real broker and database, with real SMTP and
HTTP servers on the other side of its channels (the devstack sinks, as the demo uses)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from devstack.sinks import MailSink, ProviderSink
from services.notifications.app import NotificationRuntime, create_app
from services.notifications.settings import NotificationSettings
from shared.agreements import Agreement, Purpose
from shared.clock import ManualClock
from shared.events.envelope import Envelope
from shared.kafka import EventPublisher, ensure_topics, make_broker
from shared.mongo import Document
from tests.agreements_helper import end_agreement, grant_agreement
from tests.helpers import wait_for as eventually
from tests.identity import bearer

ORG = "derby-council"  # the organisation of the tests' cases (tests/notifications/events.py)
PARTNERS = ("leeds-council", "derby-homes", "probation-east", "hospital-trust")
PARTNER_PURPOSES = (Purpose.REFERRAL_STATUS, Purpose.PARTNER_NOTICES, Purpose.TENANCY_DATA)
NOTIFY_KEY = "hearth_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
# Who a test calls as: key -> organisation (each a real identity in the test's Keycloak).
CALLERS = {
    "key-derby": "derby-council",
    "key-leeds": "leeds-council",
    "key-homes": "derby-homes",
    "key-probation": "probation-east",
}


class Harness:
    def __init__(
        self, settings: NotificationSettings, smtp: MailSink, provider: ProviderSink
    ) -> None:
        self.settings = settings
        self.smtp = smtp
        self.provider = provider
        self.clock = ManualClock()
        self.app = create_app(settings, self.clock, manage_runtime=False)
        self.runtime: NotificationRuntime = self.app.state.runtime
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://notifications"
        )
        self.broker = make_broker(settings)
        self.publisher = EventPublisher(self.broker, settings)

    async def start(self) -> None:
        await ensure_topics(self.settings)
        await self.broker.connect()
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.broker.stop()
        await self.http.aclose()

    async def grant(self, *partners: str, purposes: tuple[Purpose, ...] = PARTNER_PURPOSES) -> None:
        """Live agreements between the tests' council and each partner (issue 15: notices to
        another organisation go only under one), once this service's book holds them."""
        granted = [
            await grant_agreement(self.settings, ORG, partner, purpose)
            for partner in partners
            for purpose in purposes
        ]
        books = self.runtime.db["agreements"]

        async def held() -> bool:
            ids = [a.agreement_id for a in granted]
            return await books.count_documents({"_id": {"$in": ids}, "version": 2}) == len(ids)

        await eventually(held)

    async def end(self, *partners: str) -> None:
        books = self.runtime.db["agreements"]
        for doc in await books.find({"counterparty": {"$in": list(partners)}}).to_list(None):
            agreement = Agreement.model_validate({k: v for k, v in doc.items() if k != "_id"})
            await end_agreement(self.settings, agreement, at=self.clock.now())

    async def publish(self, *envelopes: Envelope) -> None:
        await self.publisher.publish_many(envelopes)

    async def deliveries(self, **query: Any) -> list[Document]:
        return await self.runtime.store.deliveries.find(query).to_list()

    async def api(self, method: str, path: str, key: str = "key-derby", **kw: Any) -> Any:
        return await self.http.request(method, path, headers=bearer(CALLERS[key]), **kw)


@pytest.fixture
def smtp() -> Iterator[MailSink]:
    server = MailSink().start()
    yield server
    server.stop()


@pytest.fixture
def provider() -> Iterator[ProviderSink]:
    recorder = ProviderSink().start()
    yield recorder
    recorder.stop()


@pytest.fixture
def notification_settings(make_settings, provider: ProviderSink) -> Callable[..., Any]:
    def factory(smtp_port: int, **overrides: Any) -> NotificationSettings:
        base = make_settings("notifications").model_dump()
        values = {
            **base,
            "smtp_port": smtp_port,
            "smtp_timeout_seconds": 3.0,
            "notify_url": provider.url,
            "notify_api_key": NOTIFY_KEY,
            "webhook_allow_loopback": True,  # the partner systems are local HTTP servers
            "delivery_poll_seconds": 0.1,
            "delivery_backoff_seconds": 60.0,
            "cache_seconds": 0.0,
            **overrides,
        }
        return NotificationSettings(**values)

    return factory


@pytest.fixture
async def harness(notification_settings, smtp, provider) -> AsyncIterator[Harness]:
    """A running service whose council has live agreements with every partner the tests use."""
    running = Harness(notification_settings(smtp.port), smtp, provider)
    await running.start()
    await running.grant(*PARTNERS)
    yield running
    await running.stop()


@pytest.fixture
async def bare_harness(notification_settings, smtp, provider) -> AsyncIterator[Harness]:
    """The same with no data-sharing agreement at all."""
    running = Harness(notification_settings(smtp.port), smtp, provider)
    await running.start()
    yield running
    await running.stop()


__all__ = ["Harness", "eventually"]
