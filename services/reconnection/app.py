"""The reconnection service (Safe Connections): wiring of store, consumers, timers and API."""

from __future__ import annotations

from fastapi import FastAPI

from services.reconnection import api, handlers, privacy
from services.reconnection.scheduled import fire_handlers
from services.reconnection.service import ReconnectionService
from services.reconnection.store import TIMERS, CaseStore
from shared.clock import Clock
from shared.events.catalogue import (
    CaseClosed,
    LearningPointsRecorded,
    PresentationPackDue,
    ReconnectionFollowedUp,
    ReconnectionPhaseChanged,
    ReviewDue,
)
from shared.events.reconnection_events import PresentationPackForDelivery
from shared.http import create_http_app
from shared.record_scopes import scope_lookup
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.timers import FireHandler

EMITS = (
    ReconnectionPhaseChanged,
    PresentationPackDue,
    PresentationPackForDelivery,
    ReviewDue,
    CaseClosed,
    ReconnectionFollowedUp,
    LearningPointsRecorded,
)

DESCRIPTION = (
    "Safe Connections reconnection: the eight phases with their good-practice checklists, "
    "eligibility and the local-connection test, planning (destination authority, Part VII, "
    "presentation pack, budget), reconnection, intensive support, step down, and the Tool 4 "
    "closure and review checklist with a learning log per organisation."
)


class ReconnectionRuntime(ServiceRuntime):
    reconnection: ReconnectionService


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> ReconnectionRuntime:
    runtime = ReconnectionRuntime(settings, clock)
    store = CaseStore(runtime)
    runtime.record_scopes["case"] = scope_lookup(
        store.cases, "state.team_id", ["state.lead_worker_id"]
    )
    scheduler_handlers: dict[str, FireHandler] = {}
    scheduler = runtime.scheduler(TIMERS, scheduler_handlers)
    service = ReconnectionService(runtime, store, scheduler.store)
    scheduler_handlers.update(fire_handlers(service))
    handlers.register(runtime, service)
    privacy.register(runtime, service)
    runtime.reconnection = service
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(
        runtime,
        "Hearth reconnection",
        DESCRIPTION,
        [api.cases, api.areas, api.learning],
        manage_runtime,
    )
    api.bind_service(app, runtime.reconnection)
    api.install_error_handlers(app)
    return app
