"""The audit service in-process on the real broker and database, and audit events to feed it.

`chain_settings` needs only the broker and the database (not the identity provider), so the
store and chain tests run wherever those do; the API tests use `make_settings` for tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import httpx
import pytest

from devstack.provision import Infrastructure
from services.audit.app import AuditRuntime, create_app
from services.audit.handlers import new_entry
from services.audit.store import AuditStore, NewEntry
from shared.codes import Route
from shared.events.audit_events import AuditRecorded
from shared.events.catalogue import CaseAllocated, ReferralReceived, Referrer
from shared.events.envelope import Envelope, make_event
from shared.ids import new_id
from shared.mongo import Document
from shared.settings import HearthSettings
from tests.helpers import wait_for

CHAIN_KEY = "test-audit-chain-key"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def chain_settings(infra: Infrastructure, namespace: str) -> Callable[..., HearthSettings]:
    def factory(**overrides: Any) -> HearthSettings:
        values: dict[str, Any] = {
            "service_name": "audit",
            "kafka": infra.kafka,
            "kafka_username": infra.kafka_username,
            "kafka_password": infra.kafka_password,
            "mongo_url": infra.mongo_url,
            "mongo_db": f"{namespace.rstrip('.')}_audit",
            "topic_prefix": namespace,
            "topic_partitions": 3,
            "log_json": False,
            "retry_backoff_seconds": 0.01,
            "outbox_sweep_seconds": 0.2,
            "audit_chain_key": CHAIN_KEY,
            "quarantine_keys": ["test-1:hearth-test-quarantine-key-0123456789abcdef"],
        }
        values.update(overrides)
        return HearthSettings(**values)

    return factory


class AuditService:
    """One in-process audit service: its runtime (consumers running) and an HTTP client."""

    def __init__(self, settings: HearthSettings) -> None:
        self.settings = settings
        self.app = create_app(settings, manage_runtime=False)
        self.runtime: AuditRuntime = self.app.state.runtime
        self.store: AuditStore = self.runtime.store
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://audit"
        )

    async def start(self) -> AuditService:
        await self.runtime.start()
        return self

    async def stop(self, drop: bool = True) -> None:
        await self.http.aclose()
        await self.app.state.verifier.close()
        if drop:
            # Each test's database is its own; dropping it keeps the shared FerretDB small.
            await self.runtime.mongo.drop_database(self.settings.database_name)
        await self.runtime.stop()

    async def chain(self, organisation: str) -> list[Document]:
        cursor = self.store.entries.find({"organisation": organisation}).sort("sequence", 1)
        return [document async for document in cursor]

    async def wait_for_entries(self, organisation: str, count: int) -> list[Document]:
        """The chain once it holds `count` entries and its head has moved past them."""

        async def enough() -> list[Document] | None:
            head = await self.store.head(organisation)
            if head is None or head.sequence < count:
                return None
            return await self.chain(organisation)

        entries: list[Document] = await wait_for(enough)
        return entries


@pytest.fixture
async def audit_service(
    chain_settings: Callable[..., HearthSettings],
) -> AsyncIterator[AuditService]:
    service = await AuditService(chain_settings()).start()
    try:
        yield service
    finally:
        await service.stop()


def audit_event(
    organisation: str,
    n: int,
    *,
    actor: str = "worker-1",
    record_id: str | None = None,
    listed_ids: tuple[str, ...] = (),
    outcome: Literal["allowed", "refused", "failed"] = "allowed",
    event_id: str | None = None,
    at: datetime | None = None,
) -> Envelope:
    """The audit entry of one request (as shared/audit.py makes them)."""
    request_id = new_id("req")
    data = AuditRecorded(
        organisation=organisation,
        at=at or START + timedelta(seconds=n, microseconds=123456),
        service="support",
        outcome=outcome,
        status=200 if outcome == "allowed" else 403,
        action="cases.read",
        method="GET",
        path="/cases/{case_id}",
        reason=None if outcome == "allowed" else "your roles (auditor) do not allow cases.read",
        actor_subject=actor,
        actor_name=f"{actor}@example.test",
        actor_roles=["caseworker"],
        client_address="127.0.0.1",
        record_kind="case" if record_id or listed_ids else None,
        record_id=record_id,
        listed_ids=list(listed_ids),
        purpose=None,
        request_id=request_id,
        correlation_id=request_id,
    )
    return make_event(
        data,
        source="support",
        organisation=organisation,
        event_id=event_id or f"audit-{request_id}",
        time=data.at,
    )


def referral_received(organisation: str, case_id: str, person_id: str) -> Envelope:
    data = ReferralReceived(
        case_id=case_id,
        person_id=person_id,
        referrer=Referrer(organisation="derby-outreach", source="outreach_team"),
        received_at=START,
        automatic=False,
    )
    return make_event(data, source="referral", organisation=organisation)


def case_allocated(organisation: str, case_id: str, person_id: str) -> Envelope:
    data = CaseAllocated(
        case_id=case_id,
        person_id=person_id,
        route=Route.SUPPORT,
        lead_worker_id="worker-1",
        team_id="team-a",
        team_leader_id="leader-1",
        target_hours_per_week=3,
        allocated_at=START,
    )
    return make_event(data, source="allocation", organisation=organisation)


def new_entries(events: list[Envelope]) -> list[NewEntry]:
    """Entries as the consumer makes them, for tests that append through the store."""
    return [new_entry(e, cast(AuditRecorded, e.payload())) for e in events]
