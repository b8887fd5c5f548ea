"""The agreements service: data-sharing agreements between organisations as records (proposed,
accepted, declined, ended), each change published whole as `AgreementChanged` for the
replicas every other service keeps (`shared/agreement_book.py`)."""

from __future__ import annotations

from fastapi import FastAPI

from services.agreements import api, privacy
from services.agreements.service import AgreementsService
from services.agreements.store import AgreementStore
from shared.clock import Clock
from shared.events.agreement_events import AgreementChanged
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings

EMITS = (AgreementChanged, SubjectDataContributed, ErasureCarriedOut)

DESCRIPTION = (
    "Data-sharing agreements between organisations: parties, purpose (arrears prevention, "
    "tenancy data, referral status, reconnection handover, person matching, partner notices), "
    "data categories, start and end. One organisation's admin proposes, the other's accepts or "
    "declines, either ends it; every change is audited and published to every service that "
    "checks agreements before data crosses organisations."
)


class AgreementsRuntime(ServiceRuntime):
    store: AgreementStore
    agreements: AgreementsService


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> AgreementsRuntime:
    runtime = AgreementsRuntime(settings, clock)
    store = AgreementStore(runtime)
    runtime.record_scopes["agreement"] = store.scope
    runtime.store = store
    runtime.agreements = AgreementsService(runtime, store)
    privacy.install(runtime, store)  # subject access and erasure (issue 16)
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(
        runtime, "Hearth agreements", DESCRIPTION, [api.agreements], manage_runtime
    )
    api.bind_service(app, runtime.agreements)
    api.install_error_handlers(app)
    return app
