"""The outcomes service: every platform event into its own reporting store, the measures the
users' documents name, the H-CLIC-shaped quarterly extract, charts and a monthly report."""

from __future__ import annotations

from fastapi import FastAPI

from services.outcomes import api, handlers, privacy
from services.outcomes.store import OutcomesStore
from services.outcomes.subscriptions import SUBSCRIBES, consumed_models
from shared.clock import Clock
from shared.events.base import EventData
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings

EMITS: tuple[type[EventData], ...] = (SubjectDataContributed, ErasureCarriedOut)

DESCRIPTION = (
    "Outcomes and returns: did the support work? Tenancies sustained 3, 6 and 12 months after "
    "support, arrears before and after, turnover against Derby's 10 % target, repeat "
    "presentations, time to allocation, first contact and plan, stage durations and move-on, "
    "reconnections holding at three months, demand against capacity, escalations; the "
    "H-CLIC-shaped quarterly extract with its per-case errors; charts and a monthly PDF. "
    "Built from an append-only store of every event's ids, codes, dates and amounts, never a "
    "name or contact detail, and rebuildable from the topics."
)


class OutcomesRuntime(ServiceRuntime):
    def __init__(self, settings: HearthSettings, clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.store = OutcomesStore(self.db)
        self.on_startup(self.store.ensure_indexes)


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> OutcomesRuntime:
    runtime = OutcomesRuntime(settings, clock)
    handlers.register(runtime.consumer(list(SUBSCRIBES)), runtime.store, consumed_models())
    privacy.install(runtime, runtime.store)  # subject access and erasure (issue 16)
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(runtime, "Hearth outcomes", DESCRIPTION, api.routers(), manage_runtime)
    app.state.store = runtime.store
    app.state.clock = runtime.clock
    return app
