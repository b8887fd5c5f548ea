"""The privacy service: subject access, erasure and retention for every organisation.

It asks and gathers; it reads no other service's collections. A data protection officer's
subject-access request is published as `SubjectAccessRequested` on `privacy.requests`; every
service in `PRIVACY_CONTRIBUTORS` answers on `privacy.responses` with what it holds about the
person; once all have answered the request is fulfilled (audited) and the bundle is ready as
JSON and PDF, and the consumed answers are deleted from the topic. An erasure request is
published as `ErasureRequested` and each service's `ErasureCarriedOut` recorded; erasing a
person also deletes their bundles here. Each organisation's retention schedule (default: six
years after a case closes, per record type) turns every `CaseClosed` into timers that publish
`ErasureRequested` (basis retention, scope cases) when the records fall due. Deadlines: one
calendar month from receipt (`deadlines.py`).
"""

from __future__ import annotations

from fastapi import FastAPI

from services.privacy import api, handlers
from services.privacy.service import PURGE_TIMER, RETENTION_TIMER, PrivacyService
from services.privacy.store import TIMERS, PrivacyStore
from shared.auth import RecordScope
from shared.clock import Clock
from shared.events.privacy_events import ErasureRequested, SubjectAccessRequested
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic

EMITS = (SubjectAccessRequested, ErasureRequested)

DESCRIPTION = (
    "Subject access (UK GDPR Article 15), erasure (Article 17) and retention. A data "
    "protection officer asks for everything held about a person: every service answers for "
    "what it holds, and the bundle (JSON and PDF) says what, where, since when and who it was "
    "shared with; the deadline is one calendar month. Erasure is carried out by every "
    "service; each organisation's retention schedule de-identifies a case's records a set "
    "period after it closes (default six years)."
)


class PrivacyRuntime(ServiceRuntime):
    store: PrivacyStore
    privacy: PrivacyService


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> PrivacyRuntime:
    runtime = PrivacyRuntime(settings, clock)
    store = PrivacyStore(runtime)
    service = PrivacyService(runtime, store)
    runtime.store = store
    runtime.privacy = service
    scheduler = runtime.scheduler(
        TIMERS, {RETENTION_TIMER: service.retention_due, PURGE_TIMER: service.purge_answers}
    )
    service.timers = scheduler.store
    consumer = runtime.consumer([Topic.PRIVACY_RESPONSES, Topic.CASE_EVENTS])
    service.group_id = consumer.group_id
    handlers.register(consumer, service)

    async def access_scope(organisation: str, request_id: str) -> RecordScope | None:
        found = await store.access_request(request_id, organisation)
        return None if found is None else RecordScope(None)

    async def erasure_scope(organisation: str, request_id: str) -> RecordScope | None:
        found = await store.erasure_request(request_id, organisation)
        return None if found is None else RecordScope(None)

    runtime.record_scopes["subject-access-request"] = access_scope
    runtime.record_scopes["erasure-request"] = erasure_scope
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(
        runtime,
        "Hearth privacy",
        DESCRIPTION,
        [api.access, api.erasure, api.retention],
        manage_runtime,
    )
    api.bind_service(app, runtime.privacy)
    api.install_error_handlers(app)
    return app
