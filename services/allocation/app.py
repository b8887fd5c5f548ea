"""The allocation service: a need-ranked waiting list and capacity-aware assignment of cases
to caseworkers (flow 3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi import FastAPI

from services.allocation import api, handlers, privacy
from services.allocation.allocator import SWEEP_EVERY, Allocator
from services.allocation.store import AllocationStore
from shared.clock import Clock
from shared.events.catalogue import CaseAllocated, CaseReallocated, CaseworkerCapacityChanged
from shared.events.envelope import Envelope
from shared.http import create_http_app
from shared.mongo import Document
from shared.record_scopes import scope_lookup
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic

EMITS = (CaseAllocated, CaseReallocated, CaseworkerCapacityChanged)
SWEEP = "sweep"


class AllocationRuntime(ServiceRuntime):
    """The runtime with the service's store and allocator, typed for the API and tests."""

    def __init__(self, settings: HearthSettings, clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.allocation_store = AllocationStore(self)
        self.allocator = Allocator(self, self.allocation_store)


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> AllocationRuntime:
    runtime = AllocationRuntime(settings, clock)
    store = runtime.allocation_store
    allocator = runtime.allocator
    runtime.record_scopes["case"] = scope_lookup(
        store.cases.collection, "allocation.team_id", ["allocation.worker_id"]
    )
    consumer = runtime.consumer([Topic.REFERRAL_EVENTS, Topic.TENANCY_RISK, Topic.CASE_EVENTS])
    handlers.register(consumer, runtime, store, allocator)
    privacy.register(runtime, store)

    # A periodic pass over every organisation with cases waiting: leave that ended, hours a
    # crash left claimed. Each pass schedules the next, so there is always one timer.
    # Timer ids are the start of a sweep period, so replicas schedule the same timer.
    async def schedule_sweep(due: datetime) -> None:
        await scheduler.store.schedule(f"{SWEEP}:{due.isoformat()}", due, SWEEP, SWEEP)

    async def sweep(timer: Document) -> Sequence[Envelope]:
        await allocator.sweep()
        await schedule_sweep(_period_start(runtime.clock.now()) + SWEEP_EVERY)
        return []

    scheduler = runtime.scheduler("timers", {SWEEP: sweep})

    async def first_sweep() -> None:
        await schedule_sweep(_period_start(runtime.clock.now()))

    runtime.on_startup(first_sweep)
    return runtime


def _period_start(moment: datetime) -> datetime:
    period = SWEEP_EVERY.total_seconds()
    return datetime.fromtimestamp(moment.timestamp() // period * period, tz=UTC)


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(
        runtime,
        title="Hearth allocation",
        description=(
            "Teams and caseworkers, the need-ranked waiting list, allocation and reallocation "
            "of cases, and demand against capacity."
        ),
        routers=[
            api.AllocationApi(runtime.allocation_store, runtime.allocator, runtime.clock).router()
        ],
        manage_runtime=manage_runtime,
    )
    return app
