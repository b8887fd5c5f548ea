"""The support service: staged support plans, contacts, reviews that come due by themselves,
crisis escalation (safety net) and closure."""

from __future__ import annotations

from fastapi import FastAPI

from services.support import privacy
from services.support.actions.timers import REVIEW_TIMER
from services.support.api import build_router
from services.support.casework import Casework
from services.support.handlers import register_handlers
from services.support.store import TIMERS, SupportStore
from shared.clock import Clock
from shared.events.catalogue import (
    CaseClosed,
    CaseEscalated,
    ContactLogged,
    ReviewCompleted,
    ReviewDue,
    StageChanged,
    SupportPlanAgreed,
)
from shared.http import create_http_app
from shared.record_scopes import scope_lookup
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.timers import TimerStore

EMITS = (
    SupportPlanAgreed,
    ReviewDue,
    CaseEscalated,
    StageChanged,
    CaseClosed,
    ContactLogged,
    ReviewCompleted,
)


def build_service(
    settings: HearthSettings, clock: Clock | None = None
) -> tuple[ServiceRuntime, Casework]:
    runtime = ServiceRuntime(settings, clock)
    store = SupportStore(runtime)
    runtime.record_scopes["case"] = scope_lookup(
        store.cases, "team_id", ["lead_worker_id", "crisis_worker_id"]
    )
    casework = Casework(store, runtime.clock, TimerStore(runtime.db[TIMERS]))
    runtime.scheduler(TIMERS, {REVIEW_TIMER: casework.timers.fire})
    runtime.on_startup(casework.timers.reconcile)  # after the timer indexes
    register_handlers(runtime, casework)
    privacy.register(runtime, store)
    return runtime, casework


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> ServiceRuntime:
    return build_service(settings, clock)[0]


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime, casework = build_service(settings, clock)
    app = create_http_app(
        runtime,
        "Hearth support",
        "Tenancy and floating support cases: needs assessment, staged support plans, "
        "contacts, reviews, crisis escalation and closure. Scoped to the caller's organisation.",
        [build_router(casework)],
        manage_runtime=manage_runtime,
    )
    app.state.casework = casework  # for tests driving the service beside its HTTP API
    return app
