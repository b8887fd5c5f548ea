"""Shared pieces of the support service's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx

from services.support.app import create_app
from shared.clock import Clock
from shared.codes import Route, Stage
from shared.events.catalogue import CaseAllocated
from shared.events.envelope import Envelope, from_kafka, make_event
from shared.kafka import ensure_topics
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from tests.identity import bearer

ORG = "derby-homes"
DERBY = bearer("derby-homes")
LEEDS = bearer("leeds-council")


def allocated(
    case_id: str,
    at: datetime,
    *,
    route: Route = Route.SUPPORT,
    tenancy_id: str | None = None,
    stage: Stage = Stage.STAGE_1,
    organisation: str = ORG,
) -> Envelope:
    return make_event(
        CaseAllocated(
            case_id=case_id,
            person_id=f"p-{case_id}",
            route=route,
            lead_worker_id="worker-1",
            team_id="team-a",
            team_leader_id="leader-1",
            stage=stage,
            target_hours_per_week=2.0,
            allocated_at=at,
            tenancy_id=tenancy_id,
            referrer_organisation="probation-east",
        ),
        source="allocation",
        organisation=organisation,
    )


def events_of(records: list[Any], short_type: str) -> list[Envelope]:
    found = []
    for record in records:
        envelope = from_kafka(record.key, record.value, record.headers)
        if envelope.short_type == short_type:
            found.append(envelope)
    return found


def count_of(short_type: str, n: int) -> Callable[[list[Any]], bool]:
    return lambda records: len({e.id for e in events_of(records, short_type)}) >= n


@asynccontextmanager
async def running_support(
    settings: HearthSettings, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, ServiceRuntime]]:
    """The support service on the real broker and database, driven through its HTTP API:
    yields the client, the service's casework (its store, for waiting on effects) and its
    runtime (its database)."""
    await ensure_topics(settings)
    app = create_app(settings, clock, manage_runtime=False)
    runtime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http, app.state.casework, runtime
    finally:
        await runtime.stop()
