"""Carrying out decisions: load a case, let a pure function decide, then save the new state,
queue its events and schedule its timers, retrying when another writer changed the case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.reconnection.actions import involved_organisations
from services.reconnection.decisions import Decision, NotFound
from services.reconnection.model import ReconnectionCase
from services.reconnection.store import CaseStore
from shared.codes import Route
from shared.events.base import EventData
from shared.events.catalogue import CaseClosed, ReconnectionPhaseChanged
from shared.events.envelope import Envelope, follow_on, make_event
from shared.locks import KeyedLocks
from shared.runtime import ServiceRuntime
from shared.timers import TimerStore

SOURCE = "reconnection"
MAX_ATTEMPTS = 8

Decide = Callable[[ReconnectionCase | None, datetime], Decision | None]


class ConcurrentUpdate(Exception):
    """The case kept changing under us; the caller may try again (HTTP 409)."""


class ReconnectionService:
    def __init__(self, runtime: ServiceRuntime, store: CaseStore, timers: TimerStore) -> None:
        self.runtime = runtime
        self.store = store
        self.timers = timers
        self.locks = KeyedLocks()

    async def get(self, case_id: str, organisation: str) -> ReconnectionCase:
        document = await self.store.get(case_id)
        if document is None or document["organisation"] != organisation:
            raise NotFound(f"case_id: no reconnection case {case_id}")
        return self.store.load(document)

    async def apply(
        self,
        case_id: str,
        decide: Decide,
        *,
        cause: Envelope | None = None,
        organisation: str | None = None,
    ) -> ReconnectionCase | None:
        """Apply `decide` once. With `cause` (a consumed event) a missing case may be created
        and a repeat of the event changes nothing; with `organisation` the case must be theirs."""
        async with self.locks.hold(case_id):
            return await self._apply(case_id, decide, cause, organisation)

    async def _apply(
        self,
        case_id: str,
        decide: Decide,
        cause: Envelope | None,
        organisation: str | None,
    ) -> ReconnectionCase | None:
        event_id = cause.id if cause else None
        for _ in range(MAX_ATTEMPTS):
            document = await self.store.get(case_id)
            if document is None and cause is None:
                raise NotFound(f"case_id: no reconnection case {case_id}")
            if document is not None and organisation and document["organisation"] != organisation:
                raise NotFound(f"case_id: no reconnection case {case_id}")
            if document is not None and event_id and self.store.has_seen(document, event_id):
                return self.store.load(document)
            case = self.store.load(document) if document else None
            now = self.runtime.clock.now()
            decision = decide(case, now)
            if decision is None:
                return case
            envelopes = self.envelopes(decision, cause, now)
            # Timers first: a timer whose case change was lost finds nothing to do when it fires.
            for timer in decision.timers:
                await self.timers.schedule(
                    timer.timer_id, timer.due_at, timer.kind, case_id, **timer.payload
                )
            if document is None:
                saved = await self.store.create(decision.case, envelopes, event_id)
            else:
                saved = await self.store.save(
                    decision.case, document["version"], envelopes, event_id
                )
            if saved is not None:
                await self.runtime.relay.flush(self.store.cases, saved)
                if decision.closed:  # a closed case's pack and reviews are never due
                    await self.timers.cancel_for(case_id)
                return decision.case
        raise ConcurrentUpdate("case_id: the case changed concurrently; try again")

    def envelopes(
        self, decision: Decision, cause: Envelope | None, now: datetime
    ) -> list[Envelope]:
        case = decision.case
        out: list[Envelope] = []
        for previous, phase in decision.phase_changes:
            data = ReconnectionPhaseChanged(
                case_id=case.case_id,
                previous_phase=previous.value if previous else None,
                phase=phase.value,
                changed_on=now.date(),
                destination_area=case.destination_area,
            )
            out.append(self._envelope(case, data, cause, f"{previous}>{phase}", now))
        if decision.closed and case.closed is not None:
            closed = CaseClosed(
                case_id=case.case_id,
                person_id=case.person_id or case.case_id,
                route=Route.RECONNECTION,
                reason=case.closed.reason,
                closed_at=case.closed.at,
                lead_worker_id=case.lead_worker_id,
                involved_organisations=involved_organisations(case),
            )
            out.append(self._envelope(case, closed, cause, "closed", now))
        return out

    @staticmethod
    def _envelope(
        case: ReconnectionCase,
        data: EventData,
        cause: Envelope | None,
        discriminator: str,
        now: datetime,
    ) -> Envelope:
        if cause is not None:
            return follow_on(cause, data, source=SOURCE, discriminator=discriminator, time=now)
        return make_event(
            data,
            source=SOURCE,
            organisation=case.organisation,
            correlation_id=case.correlation_id,
            time=now,
        )
