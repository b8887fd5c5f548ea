"""The audit service: every organisation's audit trail as an append-only, tamper-evident hash
chain, and the auditors' API over it."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit import api, handlers, privacy
from services.audit.store import AuditStore
from shared.clock import Clock
from shared.events.base import EventData
from shared.events.privacy_events import ErasureCarriedOut, SubjectDataContributed
from shared.http import create_http_app
from shared.runtime import ServiceRuntime
from shared.settings import HearthSettings
from shared.topics import Topic

EMITS: tuple[type[EventData], ...] = (SubjectDataContributed, ErasureCarriedOut)
SUBSCRIBES = (Topic.AUDIT, Topic.REFERRAL_EVENTS, Topic.CASE_EVENTS)

DESCRIPTION = (
    "The audit trail: every look at or change of a person's record, every refused request and "
    "failed sign-in, kept per organisation as an append-only hash chain keyed with a secret "
    "(HMAC), so an entry altered or removed in the database is found. Auditors ask who has "
    "seen a person's record and when, and verify their organisation's chain."
)


class MissingChainKey(RuntimeError):
    pass


class AuditRuntime(ServiceRuntime):
    """The shared runtime plus the audit store."""

    def __init__(self, settings: HearthSettings, clock: Clock | None = None) -> None:
        super().__init__(settings, clock)
        self.store = AuditStore(self.db, settings.audit_chain_key)
        self.on_startup(self._require_key)
        self.on_startup(self.store.ensure_indexes)

    async def _require_key(self) -> None:
        # Checked at start, not at build, so contracts can be generated without a secret.
        # An empty key would make a chain anyone with database access could recompute.
        if not self.settings.audit_chain_key:
            raise MissingChainKey("HEARTH_AUDIT_CHAIN_KEY: required by the audit service")


def build_runtime(settings: HearthSettings, clock: Clock | None = None) -> AuditRuntime:
    runtime = AuditRuntime(settings, clock)
    handlers.register(runtime.consumer(list(SUBSCRIBES)), runtime.store)
    privacy.install(runtime, runtime.store)  # subject access and erasure (issue 16)
    return runtime


def create_app(
    settings: HearthSettings, clock: Clock | None = None, manage_runtime: bool = True
) -> FastAPI:
    runtime = build_runtime(settings, clock)
    app = create_http_app(runtime, "Hearth audit", DESCRIPTION, [api.router], manage_runtime)
    app.state.store = runtime.store
    return app
